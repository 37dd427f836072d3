//! Resolved settings: flags, Cargo metadata and the environment turned into plain values.
//!
//! The command line stops at `cli.rs`, which builds a [`Request`](crate::commands::Request) (what to run, with plain
//! options) and [`GlobalOptions`]. Here the workspace is discovered, the selection (`-p`,
//! `--exclude`) applied, every selected set's migrations folder loaded, and each set's
//! database URL found: `--database-url`, else the variable its `database-url-env` names, else
//! that variable in a `.env` file in the member's folder or the workspace root (a `.env` never
//! overrides the real environment). Nothing here touches a database.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::backend::Backend;
use crate::database_url::DatabaseUrl;
use crate::diagnostic::{Code, Diagnostic, Problem};
use crate::error::SetError;
use crate::migration::{load_folder, normalise_version, MigrationFolder};
use crate::workspace::{self, BackendFrom, MigrationSet, Workspace};

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Text for people, colored on a terminal.
    #[default]
    Human,
    /// One JSON document on stdout (see docs/json.md).
    Json,
    /// Human text, then GitHub workflow commands (annotations) for the findings.
    Github,
    /// One SARIF 2.1.0 log on stdout.
    Sarif,
}

/// Options every command takes, already parsed.
#[derive(Debug, Clone, Default)]
pub struct GlobalOptions {
    /// `--manifest-path`.
    pub manifest_path: Option<PathBuf>,
    /// `-p/--package`.
    pub packages: Vec<String>,
    /// `--exclude`.
    pub exclude: Vec<String>,
    /// `--database-url`.
    pub database_url: Option<String>,
    /// `--format`.
    pub format: Format,
    /// `-q`.
    pub quiet: bool,
    /// `-v` (repeatable).
    pub verbose: u8,
    /// `--scratch-url` (repeatable); `MIGRATE_SCRATCH_URL` is read in [`resolve`].
    pub scratch_urls: Vec<String>,
    /// `--bundle`: read the sets from this migration bundle instead of a workspace.
    pub bundle: Option<PathBuf>,
}

/// Where a set's URL came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum UrlSource {
    /// `--database-url`.
    Flag,
    /// The environment variable.
    Env {
        /// The variable's name.
        var: String,
    },
    /// The variable in a `.env` file.
    DotEnv {
        /// The variable's name.
        var: String,
        /// The `.env` file.
        file: PathBuf,
    },
    /// A line of a fleet's target list (`--targets`, `--targets-cmd`).
    Target {
        /// `FILE:LINE`, or the line of the command's output.
        origin: String,
    },
}

impl std::fmt::Display for UrlSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UrlSource::Flag => f.write_str("--database-url"),
            UrlSource::Env { var } => write!(f, "${var}"),
            UrlSource::DotEnv { var, file } => write!(f, "{var} in {}", file.display()),
            UrlSource::Target { origin } => f.write_str(origin),
        }
    }
}

/// A set with everything known about it offline.
#[derive(Debug, Clone)]
pub struct SetContext {
    /// The set as discovered, with its configuration resolved.
    pub set: MigrationSet,
    /// Its migrations folder, read and validated.
    pub folder: MigrationFolder,
    /// The database URL, when one is configured.
    pub url: Option<(DatabaseUrl, UrlSource)>,
    /// A URL that was found but is of another backend than the one the set's folder or file
    /// name gives (`DATABASE_URL=postgres://…` and the set `migrations/sqlite`): it belongs to
    /// another set of the layout, so this set has no database.
    pub other_backend_url: Option<(UrlSource, Backend)>,
}

/// A set's URL, and a URL found that is another backend's.
type SetUrl = (
    Option<(DatabaseUrl, UrlSource)>,
    Option<(UrlSource, Backend)>,
);

/// A set's URL, except that a URL of another backend than the one its folder or file name
/// gives is another set's (one `DATABASE_URL` for a member with a folder per backend). A
/// `--database-url` is always the set's.
fn url_of_set(
    set: &MigrationSet,
    root: &Path,
    flag: Option<&str>,
    env: &dyn Env,
) -> Result<SetUrl, UrlError> {
    let url = resolve_url(set, root, flag, env)?;
    let named = matches!(
        set.backend_from,
        Some(BackendFrom::FolderName | BackendFrom::FileName)
    );
    match (&url, set.backend) {
        (Some((u, source)), Some(backend)) if named && !matches!(source, UrlSource::Flag) => {
            match u.backend() {
                Some(other) if other != backend => Ok((None, Some((source.clone(), other)))),
                _ => Ok((url, None)),
            }
        }
        _ => Ok((url, None)),
    }
}

/// Why a set cannot reach its database. The set's name is added by [`SetError`].
#[derive(Debug, Clone, thiserror::Error)]
pub enum UrlError {
    /// No URL anywhere.
    #[error("no database URL: ${var} is not set\nhelp: set {var} in the environment or in {dotenv} (or the workspace's .env), or pass --database-url{fleet}")]
    Missing {
        /// The variable looked for.
        var: String,
        /// The member's `.env` file.
        dotenv: String,
        /// For a set with a `targets-query`: how to work on its fleet instead.
        fleet: &'static str,
    },
    /// The URL found is of another backend than the set's folder or file name gives.
    #[error("no database URL for this {backend} set: the URL from {origin} is a {url_backend} URL, not a {backend} one (the set takes its backend from its folder or file name, so that URL is for a {url_backend} set)\nhelp: select the sets of the URL's backend with -p, or set {var} to a {backend} URL to work on this set (or pass --database-url), or give the set its own variable with `database-url-env` in {table}")]
    OtherBackend {
        /// Where the URL came from.
        origin: UrlSource,
        /// Its backend.
        url_backend: Backend,
        /// The set's backend.
        backend: Backend,
        /// The variable.
        var: String,
        /// Where to configure the set.
        table: String,
    },
    /// The variable is set, or written in a `.env` file, with nothing in it.
    #[error("the database URL {origin} is set but empty (or only blanks), so there is no database to work on\nhelp: {}", blank_help(origin))]
    Blank {
        /// Where the blank value is.
        origin: UrlSource,
    },
    /// The variable's value is not text.
    #[error("${var} is set but is not valid UTF-8, so it is not a database URL\nhelp: set {var} to the database's URL, or pass --database-url")]
    NotUnicode {
        /// The variable.
        var: String,
    },
    /// A `.env` file that exists and cannot be read.
    #[error("cannot read {} while looking for {var} in it: {reason}\nhelp: fix the file (one UTF-8 `NAME=value` per line) or remove it, or set {var} in the environment or pass --database-url", file.display())]
    UnreadableDotEnv {
        /// The variable looked for.
        var: String,
        /// The file.
        file: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A libpq (or ODBC-style) `key=value` connection string where a URL belongs.
    #[error("the database URL from {origin} is a `key=value` connection string (with {}), not a URL; cargo-migrate takes URLs and never reads such a string as a SQLite file name\nhelp: write it as a URL, for example postgres://USER:PASSWORD@HOST:PORT/DBNAME (percent-encode special characters in the password)", keywords.join(", "))]
    KeywordString {
        /// Where it came from.
        origin: UrlSource,
        /// Its keywords (never its values).
        keywords: Vec<String>,
    },
    /// A scheme the tool does not speak.
    #[error("the database URL from {origin} has the scheme `{scheme}`, which is not a database URL this tool speaks (server URLs need `://` after the scheme)\nhelp: use a `postgres://`, `mysql://` (or `mariadb://`) or `sqlite://` URL, or a path to a SQLite file")]
    UnknownScheme {
        /// Where the URL came from.
        origin: UrlSource,
        /// The scheme.
        scheme: String,
    },
    /// The configured backend and the URL disagree.
    #[error("its configured backend is `{configured}` but the database URL from {origin} is a {from_url} URL\nhelp: fix `backend` in {table} or the URL")]
    BackendMismatch {
        /// From configuration.
        configured: Backend,
        /// Where the URL came from.
        origin: UrlSource,
        /// From the URL.
        from_url: Backend,
        /// The configuration table that sets the backend.
        table: String,
    },
}

fn blank_help(origin: &UrlSource) -> String {
    match origin {
        UrlSource::DotEnv { var, file } => format!(
            "write the database's URL after `{var}=` in {}, or remove the line",
            file.display()
        ),
        UrlSource::Env { var } => format!(
            "set {var} to the database's URL, or unset it (`unset {var}`) to use a .env file"
        ),
        UrlSource::Flag => "pass the database's URL".to_string(),
        UrlSource::Target { origin } => format!("write the target's URL at {origin}"),
    }
}

impl SetContext {
    /// The set's name.
    pub fn name(&self) -> &str {
        &self.set.name
    }

    /// The set's backend: configured, else from its URL.
    pub fn backend(&self) -> Option<Backend> {
        self.set
            .backend
            .or_else(|| self.url.as_ref().and_then(|(u, _)| u.backend()))
    }

    /// The URL and backend, or an error that says what to set.
    pub fn require_url(&self) -> Result<(DatabaseUrl, Backend), SetError> {
        self.url_and_backend()
            .map_err(|e| SetError::new(&self.set.name, e))
    }

    fn url_and_backend(&self) -> Result<(DatabaseUrl, Backend), UrlError> {
        let Some((url, source)) = &self.url else {
            if let (Some((origin, url_backend)), Some(backend)) =
                (&self.other_backend_url, self.set.backend)
            {
                return Err(UrlError::OtherBackend {
                    origin: origin.clone(),
                    url_backend: *url_backend,
                    backend,
                    var: self.set.database_url_env.clone(),
                    table: self.set.config_table(),
                });
            }
            return Err(UrlError::Missing {
                var: self.set.database_url_env.clone(),
                dotenv: self.set.dir.join(".env").display().to_string(),
                fleet: if self.set.targets_query.is_some() {
                    "; to work on the databases its `targets-query` lists, pass --fleet"
                } else {
                    ""
                },
            });
        };
        if crate::database_url::is_keyword_connection_string(url.expose()) {
            return Err(UrlError::KeywordString {
                origin: source.clone(),
                keywords: crate::database_url::connection_string_keywords(url.expose()),
            });
        }
        let Some(from_url) = url.backend() else {
            return Err(UrlError::UnknownScheme {
                origin: source.clone(),
                scheme: url
                    .scheme()
                    .or_else(|| url.expose().split(':').next())
                    .unwrap_or_default()
                    .to_string(),
            });
        };
        if let Some(configured) = self.set.backend {
            if configured != from_url {
                return Err(UrlError::BackendMismatch {
                    configured,
                    origin: source.clone(),
                    from_url,
                    table: self.set.config_table(),
                });
            }
        }
        Ok((url.clone(), from_url))
    }

    /// Where the URL came from, for messages (empty when there is none).
    pub fn url_origin(&self) -> String {
        self.url
            .as_ref()
            .map(|(_, s)| s.to_string())
            .unwrap_or_default()
    }
}

/// Everything a command needs, resolved.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The discovered workspace.
    pub workspace: Workspace,
    /// The selected sets, in the order they run.
    pub sets: Vec<SetContext>,
    /// Problems that span sets (two sets on one database with colliding versions).
    pub cross_set_problems: Vec<Diagnostic>,
    /// Servers for scratch databases: `--scratch-url`, then `MIGRATE_SCRATCH_URL`.
    pub scratch_urls: Vec<DatabaseUrl>,
    /// Sets left out by `-p`/`--exclude` that share a database with a selected set: their
    /// versions are theirs, not unknown ones, and they must not collide.
    pub unselected_siblings: Vec<SetContext>,
}

impl Resolved {
    /// The selection, or an error when it holds no set (for commands whose success would
    /// otherwise claim that everything was checked).
    pub fn require_sets(&self, command: &'static str) -> Result<&[SetContext], SelectionError> {
        if self.sets.is_empty() {
            return Err(SelectionError::NothingSelected {
                command,
                root: self.workspace.root.display().to_string(),
            });
        }
        Ok(&self.sets)
    }
}

/// The environment lookup, so tests can supply their own.
pub trait Env {
    /// The variable's value; `None` when unset or blank.
    fn var(&self, name: &str) -> Option<String>;

    /// The variable as set, blank or not (`Err` with the raw value when it is not valid UTF-8). Where a blank
    /// value is a mistake to report rather than "unset", this is the lookup to use.
    fn var_as_set(&self, name: &str) -> Result<Option<String>, std::ffi::OsString> {
        Ok(self.var(name))
    }
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }

    fn var_as_set(&self, name: &str) -> Result<Option<String>, std::ffi::OsString> {
        match std::env::var(name) {
            Ok(value) => Ok(Some(value)),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(raw)) => Err(raw),
        }
    }
}

/// `var` in the `.env` file `file`: `Ok(None)` when there is no such file or it does not set
/// `var`; an error when the file exists and cannot be read or parsed (a folder named `.env`,
/// bytes that are not UTF-8, a line that is not `NAME=value`), never a silent "not set".
fn dotenv_lookup(file: &Path, var: &str) -> Result<Option<String>, UrlError> {
    let unreadable = |reason: String| UrlError::UnreadableDotEnv {
        var: var.to_string(),
        file: file.to_path_buf(),
        reason,
    };
    let text = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if file.is_dir() => {
            return Err(unreadable(format!("it is a folder, not a file ({e})")))
        }
        Err(e) => return Err(unreadable(e.to_string())),
    };
    let text = String::from_utf8(text).map_err(|e| {
        unreadable(format!(
            "it is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    // A line that does not parse hides nothing when the variable is found elsewhere; when it
    // is not found, that line may be where it was meant to be, so it is the error. The line's
    // text is never shown: it may hold a password.
    let mut bad_line = None;
    for item in dotenvy::from_read_iter(text.as_bytes()) {
        match item {
            Ok((k, v)) if k == var => return Ok(Some(v)),
            Ok(_) => {}
            Err(dotenvy::Error::LineParse(line, _)) => {
                let n = text
                    .lines()
                    .position(|l| l.contains(line.trim()))
                    .map_or(0, |i| i + 1);
                bad_line.get_or_insert(format!("line {n} is not `NAME=value`"));
            }
            Err(e) => {
                bad_line.get_or_insert(crate::database_url::redact(&e.to_string()));
            }
        }
    }
    match bad_line {
        Some(reason) => Err(unreadable(reason)),
        None => Ok(None),
    }
}

/// Find a set's URL. SQLite paths from the environment or `.env` are relative to the member's
/// folder (where diesel.toml lives); a `--database-url` path is relative to the current folder.
///
/// `Ok(None)`: no URL anywhere. An error: a URL source that is there but unusable (the
/// variable, or its line in a `.env`, is blank; the variable is not UTF-8; a `.env` file
/// exists and cannot be read), which would otherwise look like "not set".
pub fn resolve_url(
    set: &MigrationSet,
    root: &Path,
    flag: Option<&str>,
    env: &dyn Env,
) -> Result<Option<(DatabaseUrl, UrlSource)>, UrlError> {
    url_in_var(set, root, &set.database_url_env, flag, env)
}

/// The URL in the variable `var` for `set`: the environment, else the member's `.env`, else
/// the workspace's, as for the set's own URL (`targets-url-env` is looked up this way too).
pub fn url_in_var(
    set: &MigrationSet,
    root: &Path,
    var: &str,
    flag: Option<&str>,
    env: &dyn Env,
) -> Result<Option<(DatabaseUrl, UrlSource)>, UrlError> {
    let var = &var.to_string();
    let (value, source) = if let Some(flag) = flag {
        (flag.to_string(), UrlSource::Flag)
    } else if let Some(value) = env
        .var_as_set(var)
        .map_err(|_| UrlError::NotUnicode { var: var.clone() })?
    {
        (value, UrlSource::Env { var: var.clone() })
    } else {
        let mut candidates = vec![set.dir.join(".env")];
        if root.join(".env") != candidates[0] {
            candidates.push(root.join(".env"));
        }
        let mut hit = None;
        for file in candidates {
            if let Some(value) = dotenv_lookup(&file, var)? {
                hit = Some((value, file));
                break;
            }
        }
        let Some((value, file)) = hit else {
            return Ok(None);
        };
        (
            value,
            UrlSource::DotEnv {
                var: var.clone(),
                file,
            },
        )
    };
    if value.trim().is_empty() {
        return Err(UrlError::Blank { origin: source });
    }
    let url = DatabaseUrl::new(value);
    let url = match url.backend() {
        Some(b) if b.is_file_database() && !matches!(source, UrlSource::Flag) => {
            crate::database_url::resolve_sqlite_url(&url, &set.dir)
        }
        _ => url,
    };
    Ok(Some((url, source)))
}

/// The selection does not fit the command.
#[derive(Debug, thiserror::Error)]
pub enum SelectionError {
    /// `--database-url ""`: what `--database-url "$VAR"` becomes when the variable is unset.
    #[error("--database-url is empty (was the variable it names unset?), so there is no database to work on\nhelp: pass the database's URL, or leave the flag out to use the set's environment variable")]
    EmptyDatabaseUrl,
    /// A one-set command with several sets selected.
    #[error("`{command}` works on one migration set at a time, and {} are selected ({})\nhelp: choose one with -p NAME", names.len(), names.join(", "))]
    OneSetOnly {
        /// The command.
        command: &'static str,
        /// The selected sets.
        names: Vec<String>,
    },
    /// A command over every set, and the selection holds none: nothing would be looked at.
    #[error("no migration set found in {root}, so `{command}` has nothing to do\nhelp: cargo-migrate looks for a `migrations/` folder (or diesel.toml's `[migrations_directory]`) next to each member's Cargo.toml, and for `migrations = \"...\"` in [package.metadata.migrate]; add one of those, or fix -p/--exclude")]
    NothingSelected {
        /// The command.
        command: &'static str,
        /// The workspace root.
        root: String,
    },
    /// A one-set command with nothing selected.
    #[error("no migration set is selected, so `{command}` has nothing to work on\nhelp: run it in a workspace whose members have diesel migrations, or fix -p/--exclude")]
    NoSet {
        /// The command.
        command: &'static str,
    },
    /// A flag that names a migration of one set, with several sets selected.
    #[error("{flag} {value} names a migration of one set, but {} sets are selected ({})\nhelp: choose the set with -p NAME", names.len(), names.join(", "))]
    VersionNeedsOneSet {
        /// The flag.
        flag: &'static str,
        /// Its value.
        value: String,
        /// The selected sets.
        names: Vec<String>,
    },
    /// The version is not a migration of the set.
    #[error("set `{set}` has no migration with the version {version} (from {flag} {value})\nhelp: `cargo migrate list -p {set}` shows its versions")]
    UnknownVersion {
        /// The set.
        set: String,
        /// The normalised version.
        version: String,
        /// The flag.
        flag: &'static str,
        /// Its value.
        value: String,
    },
    /// `--database-url` with several sets.
    #[error("--database-url names one database, but {} migration sets are selected ({})\nhelp: choose one set with -p NAME", names.len(), names.join(", "))]
    DatabaseUrlNeedsOneSet {
        /// The selected sets.
        names: Vec<String>,
    },
}

/// Discover, select, load folders and find URLs.
pub fn resolve(opts: &GlobalOptions, env: &dyn Env) -> anyhow::Result<Resolved> {
    let ws = workspace::discover(opts.manifest_path.as_deref())?;
    resolve_workspace(ws, opts, env)
}

/// The sets of a migration bundle instead of a workspace: `--bundle FILE`. The bundle's
/// checksums are verified first; `.env` files are read in the current folder.
pub fn resolve_bundle(
    path: &Path,
    opts: &GlobalOptions,
    env: &dyn Env,
) -> anyhow::Result<Resolved> {
    let bundle = crate::bundle::Bundle::read(path)?;
    let root = std::env::current_dir()?;
    let (ws, folders) = bundle.workspace(path, &root);
    resolve_with(ws, opts, env, &|set: &MigrationSet| {
        folders.get(&set.name).cloned().unwrap_or_default()
    })
}

/// Select, load folders and find URLs in a discovered workspace.
pub fn resolve_workspace(
    ws: Workspace,
    opts: &GlobalOptions,
    env: &dyn Env,
) -> anyhow::Result<Resolved> {
    resolve_with(ws, opts, env, &|set: &MigrationSet| {
        let mut folder = load_folder(&set.name, &set.migrations_dir);
        explain_missing_dir(set, &mut folder);
        folder
    })
}

/// Select, load each selected set's folder with `load` (the sets in parallel), and find URLs.
fn resolve_with(
    ws: Workspace,
    opts: &GlobalOptions,
    env: &dyn Env,
    load: &(dyn Fn(&MigrationSet) -> MigrationFolder + Sync),
) -> anyhow::Result<Resolved> {
    if opts
        .database_url
        .as_deref()
        .is_some_and(|u| u.trim().is_empty())
    {
        return Err(SelectionError::EmptyDatabaseUrl.into());
    }
    let selected = workspace::select(&ws, &opts.packages, &opts.exclude)?;
    if opts.database_url.is_some() && selected.len() > 1 {
        return Err(SelectionError::DatabaseUrlNeedsOneSet {
            names: selected.iter().map(|s| s.name.clone()).collect(),
        }
        .into());
    }
    let mut found = Vec::with_capacity(selected.len());
    for set in selected {
        let (url, other_backend_url) =
            url_of_set(&set, &ws.root, opts.database_url.as_deref(), env)
                .map_err(|e| SetError::new(&set.name, e))?;
        found.push((set, url, other_backend_url));
    }
    let folders: Vec<MigrationFolder> = std::thread::scope(|scope| {
        let handles: Vec<_> = found
            .iter()
            .map(|(set, _, _)| scope.spawn(move || load(set)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let sets: Vec<SetContext> = found
        .into_iter()
        .zip(folders)
        .map(|((set, url, other_backend_url), folder)| SetContext {
            set,
            folder,
            url,
            other_backend_url,
        })
        .collect();
    let selected_keys: BTreeSet<String> = sets.iter().filter_map(database_key).collect();
    let unselected_siblings: Vec<SetContext> = ws
        .sets
        .iter()
        .filter(|s| !sets.iter().any(|c| c.set.name == s.name))
        .filter_map(|set| {
            // An unselected set whose URL cannot be read is nobody's sibling: its own
            // commands report the problem.
            let (url, other_backend_url) = url_of_set(set, &ws.root, None, env).ok()?;
            let probe = SetContext {
                set: set.clone(),
                folder: MigrationFolder::default(),
                url,
                other_backend_url,
            };
            database_key(&probe)
                .is_some_and(|key| selected_keys.contains(&key))
                .then(|| SetContext {
                    folder: load(set),
                    ..probe
                })
        })
        .collect();
    let cross_set_problems = shared_database_collisions(sets.iter().chain(&unselected_siblings));
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

/// A missing migrations folder that a diesel config file names, when the conventional
/// `migrations/` (or the config file's own folder's `migrations/`) exists: the message names
/// both, since the usual cause is a `dir` written relative to the wrong folder.
fn explain_missing_dir(set: &MigrationSet, folder: &mut MigrationFolder) {
    let Some(config) = set.diesel_toml.as_ref() else {
        return;
    };
    if config.migrations_dir.as_deref().map(workspace::normalise)
        != Some(set.migrations_dir.clone())
    {
        return;
    }
    let conventional = [
        set.dir.join("migrations"),
        config
            .path
            .parent()
            .unwrap_or(Path::new("."))
            .join("migrations"),
    ]
    .into_iter()
    .find(|p| p.is_dir() && *p != set.migrations_dir);
    let Some(conventional) = conventional else {
        return;
    };
    for d in &mut folder.problems {
        if d.code == Code::Problem(Problem::MissingMigrationsDir) && !set.migrations_dir.exists() {
            d.message = format!(
                "the migrations folder `{}` (from `[migrations_directory] dir` in {}) does not exist, but `{}` does",
                set.migrations_dir.display(),
                config.path.display(),
                conventional.display()
            );
            d.help = Some(format!(
                "diesel resolves `dir` relative to the folder of {}; point it at `{}` if that is the set's folder, or create `{}`",
                config.path.display(),
                conventional.display(),
                set.migrations_dir.display()
            ));
        }
    }
}

/// A key naming the database a set uses: the database its URL really reaches (server, port
/// and effective database name, or the SQLite file's real path: see
/// [`DatabaseUrl::identity`]). A set without a URL has no database, so it shares none: two
/// sets share a database only when they resolve to the same one.
pub fn database_key(ctx: &SetContext) -> Option<String> {
    ctx.url
        .as_ref()
        .map(|(url, _)| format!("url:{}", url.identity()))
}

/// Two sets that share one database record their versions in one table: a version in both
/// would make one set's migration look applied for the other.
pub fn shared_database_collisions<'a>(
    sets: impl IntoIterator<Item = &'a SetContext>,
) -> Vec<Diagnostic> {
    let mut by_db: BTreeMap<String, Vec<&SetContext>> = BTreeMap::new();
    for ctx in sets {
        if let Some(key) = database_key(ctx) {
            by_db.entry(key).or_default().push(ctx);
        }
    }
    let mut out = Vec::new();
    for group in by_db.values().filter(|g| g.len() > 1) {
        for (i, a) in group.iter().enumerate() {
            for b in &group[i + 1..] {
                for m in &a.folder.migrations {
                    if let Some(other) = b.folder.find(&m.version) {
                        out.push(
                            Diagnostic::error(
                                Problem::SharedDatabaseVersionCollision,
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

    /// The names of the selected sets.
    pub fn names(&self) -> Vec<String> {
        self.sets.iter().map(|s| s.set.name.clone()).collect()
    }

    /// The one selected set, for commands that work on one set at a time.
    pub fn one_set(&self, command: &'static str) -> Result<&SetContext, SelectionError> {
        match self.sets.as_slice() {
            [one] => Ok(one),
            [] => Err(SelectionError::NoSet { command }),
            _ => Err(SelectionError::OneSetOnly {
                command,
                names: self.names(),
            }),
        }
    }

    /// A `--to`-style version: it names one migration of the one selected set. Returns the
    /// normalised version.
    pub fn target_version(
        &self,
        flag: &'static str,
        value: &str,
    ) -> Result<String, SelectionError> {
        let version = normalise_version(value);
        let [ctx] = self.sets.as_slice() else {
            return Err(SelectionError::VersionNeedsOneSet {
                flag,
                value: value.to_string(),
                names: self.names(),
            });
        };
        if ctx.folder.find(&version).is_none() {
            return Err(SelectionError::UnknownVersion {
                set: ctx.set.name.clone(),
                version,
                flag,
                value: value.to_string(),
            });
        }
        Ok(version)
    }

    /// Check every set's URL before anything runs; all problems in one error.
    pub fn require_urls(&self) -> anyhow::Result<()> {
        let errors: Vec<String> = self
            .sets
            .iter()
            .filter_map(|ctx| ctx.require_url().err().map(|e| e.to_string()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            anyhow::bail!(errors.join("\n"))
        }
    }

    /// Versions that belong to other selected sets on the same database as `ctx`.
    pub fn sibling_versions(&self, ctx: &SetContext) -> BTreeSet<String> {
        let Some(key) = database_key(ctx) else {
            return BTreeSet::new();
        };
        self.sets
            .iter()
            .chain(&self.unselected_siblings)
            .filter(|o| o.set.name != ctx.set.name && database_key(o).as_ref() == Some(&key))
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
}
