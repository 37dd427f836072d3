//! Fleets: the targets of one migration set (a database per tenant, shards, a file per device),
//! read from `--targets FILE` (one URL per line, `#` comments) or `--targets-cmd "CMD"` (a
//! command whose output is that list, the usual way to read a tenant registry).

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
    /// Where the targets come from.
    pub targets: TargetList,
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
    #[error("{what} lists no target, so there is nothing to work on\nhelp: list one database URL per line (`#` starts a comment)")]
    Empty { what: String },
    #[error("{origin}: a target line holds one database URL, or a PostgreSQL URL and a schema name, and this one has {words} words\nhelp: write one target per line: `URL` or `postgres://… SCHEMA`")]
    Malformed { origin: String, words: usize },
    #[error("{origin}: a schema name is for a PostgreSQL target (schema per tenant), and this URL is not one\nhelp: list the target's URL alone")]
    SchemaNeedsPostgres { origin: String },
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
        let mut targets: Vec<Target> = Vec::new();
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
                [url, schema] => {
                    let url = DatabaseUrl::new(*url);
                    if url.backend() != Some(crate::backend::Backend::Postgres) {
                        return Err(TargetsError::SchemaNeedsPostgres {
                            origin: origin(i + 1),
                        });
                    }
                    (url, Some(schema.to_string()))
                }
                _ => {
                    return Err(TargetsError::Malformed {
                        origin: origin(i + 1),
                        words: words.len(),
                    })
                }
            };
            if targets
                .iter()
                .any(|t| t.url.identity() == url.identity() && t.schema == schema)
            {
                continue;
            }
            targets.push(Target {
                url,
                schema,
                origin: origin(i + 1),
            });
        }
        if targets.is_empty() {
            return Err(TargetsError::Empty { what });
        }
        Ok(targets)
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
