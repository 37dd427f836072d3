//! Fleets: the targets of one migration set (a database per tenant, shards, a file per device),
//! read from `--targets FILE` (one URL per line, `#` comments) or `--targets-cmd "CMD"` (a
//! command whose output is that list, the usual way to read a tenant registry), or, with
//! `--fleet`, from the set's `targets-query` run read only on the database in its
//! `targets-url-env`: one row per target, a URL and optionally a schema name (a NULL URL is
//! the set's own database).

use std::path::PathBuf;

use crate::database_url::DatabaseUrl;

/// Where a fleet's targets come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetList {
    /// `--targets FILE`.
    File(PathBuf),
    /// `--targets-cmd CMD`, run with `sh -c`.
    Command(String),
}

/// How a command works through a fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fleet {
    /// Where the targets come from; `None` (`--fleet`): the set's `targets-query`.
    pub targets: Option<TargetList>,
    /// How many targets are worked on at once (each under its own lock).
    pub jobs: usize,
    /// Stop starting targets after the first failure.
    pub fail_fast: bool,
    /// `--canary K`: migrate the first K targets one at a time first, and stop if any fails.
    pub canary: usize,
}

/// One target of a fleet.
#[derive(Debug, Clone)]
pub struct Target {
    /// Its database.
    pub url: DatabaseUrl,
    /// Schema-per-tenant on PostgreSQL: the schema every connection to the target works in
    /// (`SET search_path`, after the set's init-sql); diesel's versions table lives there.
    pub schema: Option<String>,
    /// Where it was listed, for messages: `FILE:LINE` or `line N of the output of CMD`.
    pub origin: String,
}

impl Target {
    /// The target as shown: its URL (password hidden), and its schema when it has one.
    pub fn shown(&self) -> String {
        match &self.schema {
            Some(schema) => format!("{} schema {schema}", self.url),
            None => self.url.to_string(),
        }
    }
}

/// A target list that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TargetsError {
    #[error("cannot read the targets file `{}`: {source}\nhelp: check the path given to --targets (relative to the current folder); nothing was migrated", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot run the targets command `{command}`: {source}\nhelp: it runs with `sh -c`, so `sh` must be on PATH; nothing was migrated")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
    #[error("the targets command `{command}` failed ({status}): {stderr}\nhelp: run it by hand to see why; nothing was migrated")]
    Failed {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("{what} lists no target, so there is nothing to work on\nhelp: {help}")]
    Empty { what: String, help: &'static str },
    #[error("{origin}: a target line holds one database URL, or a PostgreSQL URL and a schema name, and this one has {words} words\nhelp: write one target per line: `URL` or `postgres://… SCHEMA`")]
    Malformed { origin: String, words: usize },
    #[error("{origin}: a schema name is for a PostgreSQL target (schema per tenant), and this URL is not one\nhelp: list the target's URL alone")]
    SchemaNeedsPostgres { origin: String },
    #[error("set `{set}` has no `targets-query`, so --fleet has no targets to read\nhelp: add `targets-query` and `targets-url-env` to {table} in `{}` (see docs/configuration.md), or list the targets with --targets FILE or --targets-cmd CMD", manifest.display())]
    NotConfigured {
        set: String,
        manifest: PathBuf,
        table: String,
    },
    #[error("set `{set}`: `targets-url-env = \"{var}\"` in {table} of `{}` names the database `targets-query` runs on, and {reason}; nothing was migrated\nhelp: set {var} to the URL of the database that lists the targets (the tenant registry)", manifest.display())]
    ControlUrl {
        set: String,
        manifest: PathBuf,
        table: String,
        var: String,
        reason: String,
    },
    #[error(transparent)]
    Query(Box<QueryFailed>),
    #[error("{origin}: a row of `targets-query` holds a target's URL, or its URL and a schema name, and this one has {columns} columns; nothing was migrated\nhelp: select one or two text columns, e.g. `SELECT url FROM tenants WHERE active` or `SELECT url, schema_name FROM tenants`")]
    Columns { origin: String, columns: usize },
    #[error("{origin}: the URL is NULL (or empty), which stands for the set's own database, and the set has none: {reason}; nothing was migrated\nhelp: give the set its database URL for schema-per-tenant rows (`SELECT NULL, schema_name …`), or select each target's URL")]
    NoOwnUrl { origin: String, reason: String },
}

/// A set's `targets-query` that could not be run.
#[derive(Debug, thiserror::Error)]
#[error("set `{set}`: cannot read its targets: `targets-query` in {table} of `{}` failed on {url} (${var}): {message}; nothing was migrated\nhelp: {help}", manifest.display())]
pub struct QueryFailed {
    pub set: String,
    pub manifest: PathBuf,
    pub table: String,
    pub var: String,
    /// The control database (password hidden).
    pub url: String,
    pub message: String,
    pub help: String,
}

/// One row of a set's `targets-query`, as read: its cells as text.
pub type QueryRow = Vec<Option<String>>;

/// The targets of a set's `targets-query` rows: the first column is a URL (NULL or empty: the
/// set's own, `own`), the second, when there is one, a schema name (NULL or empty: none).
/// `origin(n)` names row `n` for messages.
pub fn from_rows(
    rows: &[QueryRow],
    own: Result<&DatabaseUrl, String>,
    what: &str,
    origin: &dyn Fn(usize) -> String,
) -> Result<Vec<Target>, TargetsError> {
    let blank = |c: Option<&Option<String>>| {
        c.and_then(|v| v.as_deref())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let mut listed = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        if !(1..=2).contains(&row.len()) {
            return Err(TargetsError::Columns {
                origin: origin(i + 1),
                columns: row.len(),
            });
        }
        let url = match (blank(row.first()), &own) {
            (Some(url), _) => DatabaseUrl::new(url),
            (None, Ok(own)) => (*own).clone(),
            (None, Err(reason)) => {
                return Err(TargetsError::NoOwnUrl {
                    origin: origin(i + 1),
                    reason: reason.clone(),
                })
            }
        };
        listed.push((origin(i + 1), url, blank(row.get(1))));
    }
    collect(listed, what)
}

/// The targets listed, in order: a schema only on PostgreSQL, each target once, at least one.
fn collect(
    listed: Vec<(String, DatabaseUrl, Option<String>)>,
    what: &str,
) -> Result<Vec<Target>, TargetsError> {
    let mut targets: Vec<Target> = Vec::new();
    // Each target's identity once (a SQLite one resolves its path on disk), in a set: a list
    // of thousands costs as many look-ups, not their square.
    let mut seen: std::collections::HashSet<(String, Option<String>)> =
        std::collections::HashSet::new();
    for (origin, url, schema) in listed {
        if schema.is_some() && url.backend() != Some(crate::backend::Backend::Postgres) {
            return Err(TargetsError::SchemaNeedsPostgres { origin });
        }
        if !seen.insert((url.identity(), schema.clone())) {
            continue;
        }
        targets.push(Target {
            url,
            schema,
            origin,
        });
    }
    if targets.is_empty() {
        return Err(TargetsError::Empty {
            what: what.to_string(),
            help: if what.starts_with("`targets-query`") {
                "check the query's WHERE clause, or run it by hand on the database in `targets-url-env`; it must return one row per target"
            } else {
                "list one database URL per line (`#` starts a comment)"
            },
        });
    }
    Ok(targets)
}

impl TargetList {
    /// The targets, in the order listed (a URL listed twice is kept once).
    pub fn read(&self) -> Result<Vec<Target>, TargetsError> {
        let (text, what, origin): (String, String, Box<dyn Fn(usize) -> String>) = match self {
            TargetList::File(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| TargetsError::Read {
                    path: path.clone(),
                    source,
                })?;
                let shown = path.display().to_string();
                (
                    text,
                    format!("the targets file `{shown}`"),
                    Box::new(move |n| format!("{shown}:{n}")),
                )
            }
            TargetList::Command(command) => {
                let out = std::process::Command::new("sh")
                    .arg("-c")
                    .arg(command)
                    .output()
                    .map_err(|source| TargetsError::Spawn {
                        command: command.clone(),
                        source,
                    })?;
                if !out.status.success() {
                    return Err(TargetsError::Failed {
                        command: command.clone(),
                        status: out.status.to_string(),
                        // The command may echo a URL: hide every password in it.
                        stderr: String::from_utf8_lossy(&out.stderr)
                            .split_whitespace()
                            .map(crate::database_url::redact)
                            .collect::<Vec<_>>()
                            .join(" "),
                    });
                }
                let c = command.clone();
                (
                    String::from_utf8_lossy(&out.stdout).into_owned(),
                    format!("the output of `{command}`"),
                    Box::new(move |n| format!("line {n} of the output of `{c}`")),
                )
            }
        };
        let mut listed = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line
                .split_once('#')
                .map_or(line, |(before, _)| before)
                .trim();
            if line.is_empty() {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            let (url, schema) = match words.as_slice() {
                [url] => (DatabaseUrl::new(*url), None),
                [url, schema] => (DatabaseUrl::new(*url), Some(schema.to_string())),
                _ => {
                    return Err(TargetsError::Malformed {
                        origin: origin(i + 1),
                        words: words.len(),
                    })
                }
            };
            listed.push((origin(i + 1), url, schema));
        }
        collect(listed, &what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_url_per_line_comments_and_duplicates() {
        let dir = std::env::temp_dir().join(format!("cm-targets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("targets.txt");
        std::fs::write(
            &file,
            "# tenants\npostgres://u@h/t1\n\n  postgres://u@h/t2  # second\npostgres://u@h/t1\n",
        )
        .unwrap();
        let t = TargetList::File(file.clone()).read().unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[1].url.expose(), "postgres://u@h/t2");
        assert!(t[1].origin.ends_with("targets.txt:4"), "{}", t[1].origin);
        std::fs::write(&file, "# none\n").unwrap();
        assert!(matches!(
            TargetList::File(file.clone()).read(),
            Err(TargetsError::Empty { .. })
        ));
        std::fs::write(
            &file,
            "postgres://u@h/t1 tenant_a\npostgres://u@h/t1 tenant_b\n",
        )
        .unwrap();
        let t = TargetList::File(file.clone()).read().unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[1].schema.as_deref(), Some("tenant_b"));
        std::fs::write(&file, "app.db tenant_a\n").unwrap();
        assert!(matches!(
            TargetList::File(file.clone()).read(),
            Err(TargetsError::SchemaNeedsPostgres { .. })
        ));
        std::fs::write(&file, "postgres://u@h/t1 a b\n").unwrap();
        assert!(matches!(
            TargetList::File(file).read(),
            Err(TargetsError::Malformed { words: 3, .. })
        ));
        let out = TargetList::Command("printf 'a.db\\nb.db\\n'".into())
            .read()
            .unwrap();
        assert_eq!(out.len(), 2);
        assert!(matches!(
            TargetList::Command("exit 3".into()).read(),
            Err(TargetsError::Failed { .. })
        ));
    }
}
