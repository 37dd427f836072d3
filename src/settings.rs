//! Resolved settings: flags, Cargo metadata and the environment turned into plain values.
//!
//! Nothing below this module sees clap. Here the workspace is discovered, the selection
//! (`-p`, `--exclude`) applied, every selected set's migrations folder loaded, and each set's
//! database URL found: `--database-url`, else the variable its `database-url-env` names, else
//! that variable in a `.env` file in the member's folder or the workspace root (a `.env` never
//! overrides the real environment).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::backend::Backend;
use crate::database_url::DatabaseUrl;
use crate::diagnostic::Diagnostic;
use crate::migration::{display_path, load_folder, MigrationFolder};
use crate::workspace::{self, MigrationSet, Workspace};

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Human,
    Json,
}

/// Options every command takes, already parsed.
#[derive(Debug, Clone, Default)]
pub struct GlobalOptions {
    pub manifest_path: Option<PathBuf>,
    pub packages: Vec<String>,
    pub exclude: Vec<String>,
    pub database_url: Option<String>,
    pub format: Format,
    pub quiet: bool,
    pub verbose: u8,
    /// `--scratch-url` (repeatable); `MIGRATE_SCRATCH_URL` is read in [`resolve`].
    pub scratch_urls: Vec<String>,
}

/// Where a set's URL came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum UrlSource {
    /// `--database-url`.
    Flag,
    /// The environment variable.
    Env { var: String },
    /// The variable in a `.env` file.
    DotEnv { var: String, file: PathBuf },
}

impl std::fmt::Display for UrlSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UrlSource::Flag => f.write_str("--database-url"),
            UrlSource::Env { var } => write!(f, "${var}"),
            UrlSource::DotEnv { var, file } => write!(f, "{var} in {}", file.display()),
        }
    }
}

/// A set with everything known about it offline.
#[derive(Debug, Clone)]
pub struct SetContext {
    pub set: MigrationSet,
    pub folder: MigrationFolder,
    /// The database URL, when one is configured.
    pub url: Option<(DatabaseUrl, UrlSource)>,
}

/// Why a set cannot reach its database.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UrlError {
    #[error("set `{set}`: no database URL: ${var} is not set\nhelp: set {var} in the environment or in {dotenv} (or the workspace's .env), or pass --database-url")]
    Missing {
        set: String,
        var: String,
        dotenv: String,
    },
    #[error("set `{set}`: the database URL from {origin} has the scheme `{scheme}`, which is not a database this tool speaks\nhelp: use a `postgres://`, `mysql://` (or `mariadb://`) or `sqlite://` URL, or a path to a SQLite file")]
    UnknownScheme {
        set: String,
        origin: UrlSource,
        scheme: String,
    },
    #[error("set `{set}`: its configured backend is `{configured}` but the database URL from {origin} is a {from_url} URL\nhelp: fix `backend` in [package.metadata.migrate] or the URL")]
    BackendMismatch {
        set: String,
        configured: Backend,
        origin: UrlSource,
        from_url: Backend,
    },
}

impl SetContext {
    /// The set's backend: configured, else from its URL.
    pub fn backend(&self) -> Option<Backend> {
        self.set
            .backend
            .or_else(|| self.url.as_ref().and_then(|(u, _)| u.backend()))
    }

    /// The URL and backend, or a one-line error that says what to set.
    pub fn require_url(&self, root: &Path) -> Result<(DatabaseUrl, Backend), UrlError> {
        let Some((url, source)) = &self.url else {
            let member_env = display_path(&self.set.dir.join(".env"), root);
            return Err(UrlError::Missing {
                set: self.set.name.clone(),
                var: self.set.database_url_env.clone(),
                dotenv: member_env.display().to_string(),
            });
        };
        let Some(from_url) = url.backend() else {
            return Err(UrlError::UnknownScheme {
                set: self.set.name.clone(),
                origin: source.clone(),
                scheme: url.scheme().unwrap_or_default().to_string(),
            });
        };
        if let Some(configured) = self.set.backend {
            if configured != from_url {
                return Err(UrlError::BackendMismatch {
                    set: self.set.name.clone(),
                    configured,
                    origin: source.clone(),
                    from_url,
                });
            }
        }
        Ok((url.clone(), from_url))
    }
}

/// Everything a command needs, resolved.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub workspace: Workspace,
    pub sets: Vec<SetContext>,
    /// Problems that span sets (two sets on one database with colliding versions).
    pub cross_set_problems: Vec<Diagnostic>,
    /// Servers for scratch databases: `--scratch-url`, then `MIGRATE_SCRATCH_URL`.
    pub scratch_urls: Vec<DatabaseUrl>,
    /// Sets left out by `-p`/`--exclude` that share a database with a selected set: their
    /// versions are theirs, not unknown ones, and they must not collide.
    pub unselected_siblings: Vec<SetContext>,
}

/// The environment lookup, so tests can supply their own.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

fn dotenv_lookup(file: &Path, var: &str) -> Option<String> {
    let iter = dotenvy::from_path_iter(file).ok()?;
    iter.filter_map(Result::ok)
        .find(|(k, _)| k == var)
        .map(|(_, v)| v)
        .filter(|v| !v.trim().is_empty())
}

/// Find a set's URL. SQLite paths from the environment or `.env` are relative to the member's
/// folder (where diesel.toml lives); a `--database-url` path is relative to the current folder.
pub fn resolve_url(
    set: &MigrationSet,
    root: &Path,
    flag: Option<&str>,
    env: &dyn Env,
) -> Option<(DatabaseUrl, UrlSource)> {
    let var = &set.database_url_env;
    let (url, source) = if let Some(flag) = flag {
        (DatabaseUrl::new(flag), UrlSource::Flag)
    } else if let Some(value) = env.var(var) {
        (DatabaseUrl::new(value), UrlSource::Env { var: var.clone() })
    } else {
        let candidates = [set.dir.join(".env"), root.join(".env")];
        let (file, value) = candidates
            .iter()
            .find_map(|f| dotenv_lookup(f, var).map(|v| (f.clone(), v)))?;
        (
            DatabaseUrl::new(value),
            UrlSource::DotEnv {
                var: var.clone(),
                file: display_path(&file, root),
            },
        )
    };
    let url = match (&source, url.backend()) {
        (UrlSource::Flag, _) | (_, Some(Backend::Postgres | Backend::Mysql) | None) => url,
        (_, Some(Backend::Sqlite)) => crate::db::resolve_sqlite_url(&url, &set.dir),
    };
    Some((url, source))
}

/// Discover, select, load folders and find URLs.
pub fn resolve(opts: &GlobalOptions, env: &dyn Env) -> anyhow::Result<Resolved> {
    let ws = workspace::discover(opts.manifest_path.as_deref())?;
    resolve_workspace(ws, opts, env)
}

pub fn resolve_workspace(
    ws: Workspace,
    opts: &GlobalOptions,
    env: &dyn Env,
) -> anyhow::Result<Resolved> {
    let selected = workspace::select(&ws, &opts.packages, &opts.exclude)?;
    if opts.database_url.is_some() && selected.len() > 1 {
        let names: Vec<_> = selected.iter().map(|s| s.name.as_str()).collect();
        anyhow::bail!(
            "--database-url names one database, but {} migration sets are selected ({})\nhelp: choose one set with -p NAME",
            selected.len(),
            names.join(", ")
        );
    }
    let sets: Vec<SetContext> = selected
        .into_iter()
        .map(|set| {
            let folder = load_folder(&set.name, &set.migrations_dir, &ws.root);
            let url = resolve_url(&set, &ws.root, opts.database_url.as_deref(), env);
            SetContext { set, folder, url }
        })
        .collect();
    let selected_keys: std::collections::BTreeSet<String> = sets.iter().map(database_key).collect();
    let unselected_siblings: Vec<SetContext> = ws
        .sets
        .iter()
        .filter(|s| !sets.iter().any(|c| c.set.name == s.name))
        .filter_map(|set| {
            let url = resolve_url(set, &ws.root, None, env);
            let probe = SetContext {
                set: set.clone(),
                folder: MigrationFolder::default(),
                url,
            };
            selected_keys
                .contains(&database_key(&probe))
                .then(|| SetContext {
                    folder: load_folder(&set.name, &set.migrations_dir, &ws.root),
                    ..probe
                })
        })
        .collect();
    let all: Vec<SetContext> = sets.iter().chain(&unselected_siblings).cloned().collect();
    let cross_set_problems = shared_database_collisions(&all);
    let mut scratch_urls: Vec<DatabaseUrl> =
        opts.scratch_urls.iter().map(DatabaseUrl::new).collect();
    if let Some(env_urls) = env.var("MIGRATE_SCRATCH_URL") {
        scratch_urls.extend(env_urls.split_whitespace().map(DatabaseUrl::new));
    }
    Ok(Resolved {
        workspace: ws,
        sets,
        cross_set_problems,
        scratch_urls,
        unselected_siblings,
    })
}

/// A key naming the database a set uses: its URL when known, else its variable and backend.
pub fn database_key(ctx: &SetContext) -> String {
    match &ctx.url {
        Some((url, _)) => format!("url:{}", url.expose()),
        None => format!(
            "env:{}:{}",
            ctx.set.database_url_env,
            ctx.set.backend.map(|b| b.as_str()).unwrap_or("?")
        ),
    }
}

/// Two sets that share one database record their versions in one table: a version in both
/// would make one set's migration look applied for the other.
pub fn shared_database_collisions(sets: &[SetContext]) -> Vec<Diagnostic> {
    let mut by_db: BTreeMap<String, Vec<&SetContext>> = BTreeMap::new();
    for ctx in sets {
        by_db.entry(database_key(ctx)).or_default().push(ctx);
    }
    let mut out = Vec::new();
    for group in by_db.values().filter(|g| g.len() > 1) {
        for (i, a) in group.iter().enumerate() {
            for b in &group[i + 1..] {
                for m in &a.folder.migrations {
                    if let Some(other) = b.folder.find(&m.version) {
                        out.push(
                            Diagnostic::error(
                                "shared-database-version-collision",
                                format!(
                                    "sets `{}` and `{}` share one database (${}), and both have version {}: `{}` and `{}`",
                                    a.set.name, b.set.name, a.set.database_url_env, m.version, m.dir_name, other.dir_name
                                ),
                            )
                            .with_set(&a.set.name)
                            .with_help("diesel records applied migrations by version only; give one of them a new version, or give each set its own database (database-url-env)"),
                        );
                    }
                }
            }
        }
    }
    out
}

impl Resolved {
    /// All folder problems of the selected sets plus cross-set ones.
    pub fn problems(&self) -> Vec<Diagnostic> {
        self.sets
            .iter()
            .flat_map(|s| s.folder.problems.iter().cloned())
            .chain(self.cross_set_problems.iter().cloned())
            .collect()
    }

    /// Versions that belong to other selected sets on the same database as `ctx`.
    pub fn sibling_versions(&self, ctx: &SetContext) -> std::collections::BTreeSet<String> {
        let key = database_key(ctx);
        self.sets
            .iter()
            .chain(&self.unselected_siblings)
            .filter(|o| o.set.name != ctx.set.name && database_key(o) == key)
            .flat_map(|o| o.folder.migrations.iter().map(|m| m.version.clone()))
            .collect()
    }

    /// The server to create `ctx`'s scratch databases on: the first scratch URL of its backend,
    /// else the server of its own database URL. SQLite needs none.
    pub fn scratch_server(&self, ctx: &SetContext, backend: Backend) -> Option<DatabaseUrl> {
        self.scratch_urls
            .iter()
            .find(|u| u.backend() == Some(backend))
            .cloned()
            .or_else(|| {
                ctx.url
                    .as_ref()
                    .filter(|(u, _)| u.backend() == Some(backend))
                    .map(|(u, _)| u.clone())
            })
    }

    /// A database URL as shown to the user: password hidden, and a SQLite file inside the
    /// workspace relative to its root.
    pub fn show_url(&self, url: &DatabaseUrl) -> String {
        if url.backend() == Some(Backend::Sqlite) {
            if let Some(path) = crate::db::sqlite_path(url.expose()) {
                if path.is_absolute() && path.starts_with(&self.workspace.root) {
                    return display_path(&path, &self.workspace.root)
                        .display()
                        .to_string();
                }
            }
        }
        url.to_string()
    }

    /// A path as shown to the user.
    pub fn show(&self, path: &Path) -> PathBuf {
        display_path(path, &self.workspace.root)
    }
}
