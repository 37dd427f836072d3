//! Configuration files: `diesel.toml`, `[package.metadata.migrate]` and
//! `[workspace.metadata.migrate]`.
//!
//! diesel.toml is read as diesel_cli reads it: `[migrations_directory] dir` (relative to the
//! file's folder, default `migrations`) and `[print_schema]` (kept as a TOML value for the
//! schema module, which knows its keys). The cargo metadata tables come from cargo_metadata as
//! JSON; unknown keys are errors that name the key, so a typo never silently falls back to a
//! default.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::backend::Backend;

/// A configuration file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read `{path}`: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{path}` is not valid{at}: {message}\nhelp: {help}")]
    Invalid {
        path: PathBuf,
        at: String,
        message: String,
        help: String,
    },
    /// A `[print_schema]` option that diesel would not accept.
    #[error("{path}: {source}")]
    PrintSchema {
        path: PathBuf,
        source: crate::schema::options::OptionsError,
    },
    /// rustfmt settings that rustfmt would not accept.
    #[error(transparent)]
    Format(crate::schema::FormatError),
}

/// The parts of a diesel.toml this tool uses.
#[derive(Debug, Clone, Default)]
pub struct DieselToml {
    pub path: PathBuf,
    /// `[migrations_directory] dir`, resolved against the file's folder.
    pub migrations_dir: Option<PathBuf>,
    /// The whole `[print_schema]` item, for the schema module.
    pub print_schema: Option<toml::Value>,
    /// `[print_schema] file` (or `[print_schema.default] file`), resolved.
    pub schema_file: Option<PathBuf>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl DieselToml {
    pub fn read(path: &Path) -> Result<DieselToml, ConfigError> {
        let text = fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<DieselToml, ConfigError> {
        let invalid = |at: String, message: String, help: &str| ConfigError::Invalid {
            path: path.to_path_buf(),
            at,
            message,
            help: help.to_string(),
        };
        let table: toml::Table = toml::from_str(text).map_err(|err| {
            let at = err
                .span()
                .map(|s| format!(" (line {})", line_of(text, s.start)))
                .unwrap_or_default();
            invalid(
                at,
                err.message().to_string(),
                "fix the TOML syntax; diesel_cli cannot read this file either",
            )
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut out = DieselToml {
            path: path.to_path_buf(),
            ..Default::default()
        };
        for (key, value) in &table {
            match key.as_str() {
                "migrations_directory" => {
                    let dir = value
                        .as_table()
                        .and_then(|t| t.get("dir"))
                        .ok_or_else(|| invalid(String::new(), "`[migrations_directory]` has no `dir`".into(), "write `dir = \"migrations\"` under [migrations_directory]"))?;
                    let dir = dir
                        .as_str()
                        .ok_or_else(|| invalid(String::new(), "`[migrations_directory] dir` is not a string".into(), "write the folder as a string, e.g. `dir = \"migrations\"`"))?;
                    if let Some(extra) = value.as_table().and_then(|t| t.keys().find(|k| *k != "dir")) {
                        return Err(invalid(String::new(), format!("unknown key `{extra}` in [migrations_directory]"), "the only key is `dir`"));
                    }
                    out.migrations_dir = Some(base.join(dir));
                }
                "print_schema" => {
                    let section = value.as_table().ok_or_else(|| {
                        invalid(String::new(), "`print_schema` is not a table".into(), "write it as a `[print_schema]` section")
                    })?;
                    let file = section
                        .get("file")
                        .and_then(|f| f.as_str())
                        .or_else(|| section.get("default").and_then(|d| d.get("file")).and_then(|f| f.as_str()));
                    out.schema_file = file.map(|f| base.join(f));
                    out.print_schema = Some(value.clone());
                }
                other => {
                    return Err(invalid(
                        String::new(),
                        format!("unknown section `{other}`"),
                        "diesel.toml knows `[print_schema]` and `[migrations_directory]`; diesel_cli rejects other sections too",
                    ))
                }
            }
        }
        Ok(out)
    }
}

/// The keys of one migration set, written once: they make [`SetTable`] (one
/// `[[package.metadata.migrate.sets]]` entry) and the set keys of [`PackageMigrate`] (a
/// member's one set). A key added here is a key of both, and [`PackageMigrate::own_set`] and
/// [`SET_KEYS`] follow.
macro_rules! set_keys {
    ($($(#[$meta:meta])* $field:ident: $ty:ty,)*) => {
        /// One `[[package.metadata.migrate.sets]]` (or `[[workspace.metadata.migrate.sets]]`)
        /// entry: one migration set of the member.
        #[derive(Debug, Clone, Default, Deserialize, PartialEq)]
        #[serde(deny_unknown_fields, rename_all = "kebab-case")]
        pub struct SetTable {
            /// The set's name, unique in the workspace (required in a `sets` entry).
            pub name: Option<String>,
            $($(#[$meta])* pub $field: $ty,)*
        }

        /// `[package.metadata.migrate]`.
        #[derive(Debug, Clone, Default, Deserialize, PartialEq)]
        #[serde(deny_unknown_fields, rename_all = "kebab-case")]
        pub struct PackageMigrate {
            /// `false` turns discovery off for this package.
            pub enabled: Option<bool>,
            /// Several sets in this member.
            pub sets: Option<Vec<SetTable>>,
            $($(#[$meta])* pub $field: $ty,)*
        }

        impl PackageMigrate {
            /// The set keys written at the top of the table, as one set.
            pub fn own_set(&self) -> SetTable {
                SetTable {
                    name: None,
                    $($field: self.$field.clone(),)*
                }
            }
        }

        /// The keys of a set, as written in Cargo.toml.
        pub const SET_KEYS: &[&str] = &[$(stringify!($field)),*];
    };
}

set_keys! {
    /// The migrations folder, relative to the package.
    migrations: Option<PathBuf>,
    /// The schema file, relative to the package.
    schema: Option<PathBuf>,
    /// The environment variable that holds the database URL.
    database_url_env: Option<String>,
    /// `sqlite`, `postgres` or `mysql`.
    backend: Option<String>,
    /// A diesel config file (relative to the package) whose `[print_schema]` and
    /// `[migrations_directory]` apply to the set, as `diesel --config-file` would use it.
    config_file: Option<PathBuf>,
    /// Lint levels; read by the lint module.
    lint: Option<serde_json::Value>,
    /// How `check` compares the schema file: `bytes` (default) or `semantic`.
    schema_check: Option<SchemaCheck>,
    /// SQL run first on every connection opened for the set (replaces the workspace's).
    init_sql: Option<InitSqlList>,
    /// `apply`, `revert` and `redo` rewrite the schema file from the migrated database.
    write_schema: Option<bool>,
    /// `KIND:PATTERN`s of catalog objects live drift leaves out (see `catalog::IgnorePattern`).
    drift_ignore: Option<Vec<String>>,
    /// A query on a control database listing the set's fleet (`--fleet`): one row per target,
    /// its URL, and optionally a schema name (see [`crate::targets`]).
    targets_query: Option<String>,
    /// The environment variable that holds the URL of the database `targets-query` reads.
    targets_url_env: Option<String>,
}

/// A set's fleet as configured: `targets-query`, run on the database whose URL is in the
/// variable `targets-url-env`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetsQuery {
    /// `targets-query`.
    pub query: String,
    /// `targets-url-env`.
    pub url_env: String,
}

/// `schema-check`: how `check` compares a schema file with the history's schema.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum SchemaCheck {
    /// Byte for byte, as `diesel print-schema` writes it (the default for a file one set owns).
    #[default]
    Bytes,
    /// By declaration: tables, columns, types (by the Rust type diesel maps them to),
    /// nullability, primary keys, `joinable!`.
    Semantic,
}

/// The set keys as written in Cargo.toml (`database-url-env`), in backticks, for help texts.
pub fn set_keys_list() -> String {
    SET_KEYS
        .iter()
        .map(|k| format!("`{}`", k.replace('_', "-")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `[workspace.metadata.migrate]`: defaults for every set, and the virtual root's sets.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct WorkspaceMigrate {
    pub database_url_env: Option<String>,
    pub backend: Option<String>,
    pub lint: Option<serde_json::Value>,
    /// The name of a virtual root's set (default `root`).
    pub name: Option<String>,
    /// A virtual root's sets.
    pub sets: Option<Vec<SetTable>>,
    /// The default `init-sql` of every set.
    pub init_sql: Option<InitSqlList>,
    /// The default `write-schema` of every set.
    pub write_schema: Option<bool>,
    /// `KIND:PATTERN`s every set's live drift leaves out (the package's are added).
    pub drift_ignore: Option<Vec<String>>,
}

pub use crate::init_sql::{InitSql, InitSqlList};

/// An `init-sql` entry that runs nothing.
fn init_sql_problem(list: Option<&InitSqlList>) -> Option<Unusable> {
    let list = list?;
    let (i, _) = list
        .0
        .iter()
        .enumerate()
        .find(|(_, s)| s.trim().is_empty())?;
    let message = if list.0.len() == 1 {
        "`init-sql` is empty, so it runs nothing".to_string()
    } else {
        format!("entry {} of `init-sql` is empty, so it runs nothing", i + 1)
    };
    Some(Unusable {
        key: "init-sql",
        message,
        help: "write the SQL every connection of the set runs first, e.g. `init-sql = \"SET lock_timeout = '5s'\"`, remove the empty entry, or write `init-sql = []` for none",
    })
}

/// A value that parses but names nothing: the key, what is wrong, what to write instead.
pub struct Unusable {
    key: &'static str,
    message: String,
    help: &'static str,
}

/// Metadata tables whose values are checked beyond their types.
pub trait Validate {
    /// The first value that names nothing, if any.
    fn unusable(&self) -> Option<Unusable>;
}

const URL_ENV_HELP: &str = "name the environment variable that holds the database URL, e.g. `database-url-env = \"DATABASE_URL\"`, or remove the key to use DATABASE_URL";

/// Why `name` cannot name an environment variable, if it cannot.
fn url_env_problem(name: &str) -> Option<Unusable> {
    let message = if name.trim().is_empty() {
        "`database-url-env` is empty, so it names no environment variable".to_string()
    } else if name.contains(['=', '\0']) || name != name.trim() {
        format!("`database-url-env = {name:?}` cannot be the name of an environment variable (it contains `=`, NUL or surrounding spaces)")
    } else {
        return None;
    };
    Some(Unusable {
        key: "database-url-env",
        message,
        help: URL_ENV_HELP,
    })
}

fn empty_path(key: &'static str, path: Option<&Path>, help: &'static str) -> Option<Unusable> {
    path.filter(|p| p.as_os_str().is_empty()).map(|_| Unusable {
        key,
        message: format!("`{key}` is empty, so it names no path"),
        help,
    })
}

impl Validate for SetTable {
    fn unusable(&self) -> Option<Unusable> {
        empty_path(
            "migrations",
            self.migrations.as_deref(),
            "name the migrations folder relative to the package, e.g. `migrations = \"migrations\"`, or remove the key",
        )
        .or_else(|| {
            empty_path(
                "schema",
                self.schema.as_deref(),
                "name the schema file relative to the package, e.g. `schema = \"src/schema.rs\"`, or remove the key",
            )
        })
        .or_else(|| {
            empty_path(
                "config-file",
                self.config_file.as_deref(),
                "name the diesel config file relative to the package, e.g. `config-file = \"diesel_sqlite.toml\"`, or remove the key",
            )
        })
        .or_else(|| self.database_url_env.as_deref().and_then(url_env_problem))
        .or_else(|| init_sql_problem(self.init_sql.as_ref()))
        .or_else(|| targets_problem(self.targets_query.as_deref(), self.targets_url_env.as_deref()))
    }
}

const TARGETS_HELP: &str = "write both keys, e.g. `targets-url-env = \"CONTROL_DATABASE_URL\"` and `targets-query = \"SELECT url FROM tenants WHERE active\"` (see docs/configuration.md), or neither";

/// `targets-query` and `targets-url-env` come together: the query needs a database to run on,
/// and the variable names nothing without a query.
fn targets_problem(query: Option<&str>, env: Option<&str>) -> Option<Unusable> {
    let (key, message) = match (query, env) {
        (None, None) => return None,
        (Some(_), None) => (
            "targets-query",
            "`targets-query` is set without `targets-url-env`, so there is no database to run it on".to_string(),
        ),
        (None, Some(_)) => (
            "targets-url-env",
            "`targets-url-env` is set without `targets-query`, so nothing is read from that database".to_string(),
        ),
        (Some(q), Some(_)) if q.trim().is_empty() => (
            "targets-query",
            "`targets-query` is empty, so it lists no target".to_string(),
        ),
        (Some(_), Some(e)) if e.trim().is_empty() || e.contains(['=', '\0']) || e != e.trim() => (
            "targets-url-env",
            format!("`targets-url-env = {e:?}` cannot be the name of an environment variable (it is empty, or contains `=`, NUL or surrounding spaces)"),
        ),
        (Some(_), Some(_)) => return None,
    };
    Some(Unusable {
        key,
        message,
        help: TARGETS_HELP,
    })
}

fn sets_unusable(sets: Option<&[SetTable]>) -> Option<Unusable> {
    for set in sets.unwrap_or_default() {
        match set.name.as_deref().map(str::trim) {
            None => {
                return Some(Unusable {
                    key: "sets",
                    message: "a `sets` entry has no `name`".to_string(),
                    help: "give every [[…metadata.migrate.sets]] entry a `name`, unique in the workspace, e.g. `name = \"app-sqlite\"`",
                })
            }
            Some("") => {
                return Some(Unusable {
                    key: "sets",
                    message: "a `sets` entry has an empty `name`".to_string(),
                    help: "give every [[…metadata.migrate.sets]] entry a `name`, unique in the workspace, e.g. `name = \"app-sqlite\"`",
                })
            }
            Some(_) => {}
        }
        if let Some(problem) = set.unusable() {
            return Some(problem);
        }
    }
    None
}

impl Validate for PackageMigrate {
    fn unusable(&self) -> Option<Unusable> {
        self.own_set()
            .unusable()
            .or_else(|| sets_unusable(self.sets.as_deref()))
    }
}

impl Validate for WorkspaceMigrate {
    fn unusable(&self) -> Option<Unusable> {
        self.database_url_env
            .as_deref()
            .and_then(url_env_problem)
            .or_else(|| sets_unusable(self.sets.as_deref()))
            .or_else(|| init_sql_problem(self.init_sql.as_ref()))
    }
}

/// Deserialize the `migrate` key of a metadata table, naming the manifest on error.
pub fn migrate_metadata<T: for<'de> Deserialize<'de> + Default + Validate>(
    metadata: &serde_json::Value,
    manifest: &Path,
    table: &str,
) -> Result<T, ConfigError> {
    let parsed: T = parse_migrate_metadata(metadata, manifest, table)?;
    match parsed.unusable() {
        None => Ok(parsed),
        Some(Unusable { key, message, help }) => Err(ConfigError::Invalid {
            path: manifest.to_path_buf(),
            at: format!(" ([{table}.metadata.migrate] {key})"),
            message,
            help: help.to_string(),
        }),
    }
}

fn parse_migrate_metadata<T: for<'de> Deserialize<'de> + Default>(
    metadata: &serde_json::Value,
    manifest: &Path,
    table: &str,
) -> Result<T, ConfigError> {
    match metadata.get("migrate") {
        None | Some(serde_json::Value::Null) => Ok(T::default()),
        Some(value) => serde_json::from_value(value.clone()).map_err(|err| ConfigError::Invalid {
            path: manifest.to_path_buf(),
            at: format!(" ([{table}.metadata.migrate])"),
            message: err.to_string(),
            help: if table == "workspace" {
                format!("the keys of [workspace.metadata.migrate] are `database-url-env`, `backend`, `lint`, `init-sql`, `write-schema`, `drift-ignore`, `name` and `sets`; a [[workspace.metadata.migrate.sets]] entry takes `name`, {} (see docs/configuration.md)", set_keys_list())
            } else {
                format!("the keys of [package.metadata.migrate] are {}, `enabled` and `sets`; a [[package.metadata.migrate.sets]] entry takes `name` and the same set keys (see docs/configuration.md)", set_keys_list())
            },
        }),
    }
}

/// Parse a configured backend name, naming the manifest on error.
pub fn parse_backend(name: &str, manifest: &Path) -> Result<Backend, ConfigError> {
    name.parse().map_err(|message| ConfigError::Invalid {
        path: manifest.to_path_buf(),
        at: " (metadata.migrate.backend)".to_string(),
        message,
        help: "write `backend = \"sqlite\"`, `\"postgres\"` or `\"mysql\"`".to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_diesel_toml_like_diesel() {
        let cfg = DieselToml::parse(
            "[print_schema]\nfile = \"src/schema.rs\"\ncustom_type_derives = [\"Clone\"]\n\n[migrations_directory]\ndir = \"db/migrations\"\n",
            Path::new("/ws/api/diesel.toml"),
        )
        .unwrap();
        assert_eq!(
            cfg.migrations_dir.as_deref(),
            Some(Path::new("/ws/api/db/migrations"))
        );
        assert_eq!(
            cfg.schema_file.as_deref(),
            Some(Path::new("/ws/api/src/schema.rs"))
        );
        assert!(cfg
            .print_schema
            .unwrap()
            .get("custom_type_derives")
            .is_some());
    }

    #[test]
    fn multiple_print_schema_sections_use_default_file() {
        let cfg = DieselToml::parse(
            "[print_schema.default]\nfile = \"src/schema.rs\"\n[print_schema.other]\nfile = \"src/other.rs\"\n",
            Path::new("/ws/diesel.toml"),
        )
        .unwrap();
        assert_eq!(
            cfg.schema_file.as_deref(),
            Some(Path::new("/ws/src/schema.rs"))
        );
    }

    #[test]
    fn diesel_toml_errors_name_the_line() {
        let err =
            DieselToml::parse("[print_schema]\nfile = \n", Path::new("diesel.toml")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("`diesel.toml` is not valid (line 2)"),
            "{err}"
        );
        let err = DieselToml::parse(
            "[migration_directory]\ndir = \"m\"\n",
            Path::new("diesel.toml"),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("unknown section `migration_directory`"),
            "{err}"
        );
    }

    #[test]
    fn package_metadata_rejects_unknown_keys() {
        let meta =
            serde_json::json!({"migrate": {"migrations": "db/m", "database-url-env": "API_DB"}});
        let m: PackageMigrate =
            migrate_metadata(&meta, Path::new("Cargo.toml"), "package").unwrap();
        assert_eq!(m.migrations.as_deref(), Some(Path::new("db/m")));
        assert_eq!(m.database_url_env.as_deref(), Some("API_DB"));
        let meta = serde_json::json!({"migrate": {"migration": "db/m"}});
        let err = migrate_metadata::<PackageMigrate>(&meta, Path::new("Cargo.toml"), "package")
            .unwrap_err();
        assert!(
            err.to_string().contains("unknown field `migration`"),
            "{err}"
        );
        // The workspace table lists its own keys, not the package's.
        let meta = serde_json::json!({"migrate": {"migrations": "db/m"}});
        let err = migrate_metadata::<WorkspaceMigrate>(&meta, Path::new("Cargo.toml"), "workspace")
            .unwrap_err();
        assert!(
            err.to_string().contains(
                "[workspace.metadata.migrate] are `database-url-env`, `backend`, `lint`, `init-sql`, `write-schema`, `drift-ignore`, `name` and `sets`"
            ),
            "{err}"
        );
    }

    #[test]
    fn init_sql_is_a_string_or_a_list_and_never_empty() {
        let read = |v: serde_json::Value| {
            migrate_metadata::<PackageMigrate>(
                &serde_json::json!({ "migrate": { "init-sql": v } }),
                Path::new("Cargo.toml"),
                "package",
            )
        };
        let one = read(serde_json::json!("SET a = 1; SET b = 2")).unwrap();
        assert_eq!(one.init_sql.unwrap().0, ["SET a = 1; SET b = 2"]);
        let two = read(serde_json::json!(["SET a = 1", "SET b = 2"])).unwrap();
        assert_eq!(two.init_sql.unwrap().0, ["SET a = 1", "SET b = 2"]);
        assert_eq!(
            read(serde_json::json!([]))
                .unwrap()
                .init_sql
                .unwrap()
                .0
                .len(),
            0
        );
        let err = read(serde_json::json!(" ")).unwrap_err().to_string();
        assert!(
            err.contains("([package.metadata.migrate] init-sql)")
                && err.contains("`init-sql` is empty"),
            "{err}"
        );
        let err = read(serde_json::json!(["SET a = 1", ""]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("entry 2 of `init-sql` is empty"), "{err}");
        let err = read(serde_json::json!(3)).unwrap_err().to_string();
        assert!(err.contains("a string or a list of strings"), "{err}");
        let err = read(serde_json::json!(["SET a = 1", 3]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid type"), "{err}");
        // The workspace table knows the key too, and checks it the same way.
        let err = migrate_metadata::<WorkspaceMigrate>(
            &serde_json::json!({ "migrate": { "init-sql": [""] } }),
            Path::new("Cargo.toml"),
            "workspace",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("([workspace.metadata.migrate] init-sql)"),
            "{err}"
        );
    }

    #[test]
    fn a_package_init_sql_replaces_the_workspace_one() {
        let p = InitSqlList(vec!["SET p = 1".into()]);
        let w = InitSqlList(vec!["SET w = 1".into()]);
        let (pm, wm) = (Path::new("/ws/app/Cargo.toml"), Path::new("/ws/Cargo.toml"));
        let both = InitSql::resolve(Some(&p), pm, Some(&w), wm);
        assert_eq!(both.statements, ["SET p = 1"]);
        assert_eq!(both.manifest, pm);
        assert_eq!(both.table, "[package.metadata.migrate]");
        let ws = InitSql::resolve(None, pm, Some(&w), wm);
        assert_eq!(ws.statements, ["SET w = 1"]);
        assert_eq!(ws.table, "[workspace.metadata.migrate]");
        let none = InitSql::resolve(Some(&InitSqlList::default()), pm, Some(&w), wm);
        assert!(none.statements.is_empty());
    }
}
