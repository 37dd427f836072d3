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

/// `[package.metadata.migrate]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PackageMigrate {
    /// The migrations folder, relative to the package.
    pub migrations: Option<PathBuf>,
    /// The schema file, relative to the package.
    pub schema: Option<PathBuf>,
    /// The environment variable that holds the database URL.
    pub database_url_env: Option<String>,
    pub backend: Option<String>,
    /// `false` turns discovery off for this package.
    pub enabled: Option<bool>,
    /// Lint levels; read by the lint module.
    pub lint: Option<serde_json::Value>,
    /// `KIND:PATTERN`s of catalog objects live drift leaves out (see `catalog::IgnorePattern`).
    pub drift_ignore: Option<Vec<String>>,
}

/// `[workspace.metadata.migrate]`: defaults for every set.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct WorkspaceMigrate {
    pub database_url_env: Option<String>,
    pub backend: Option<String>,
    pub lint: Option<serde_json::Value>,
    /// `KIND:PATTERN`s every set's live drift leaves out (the package's are added).
    pub drift_ignore: Option<Vec<String>>,
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

impl Validate for PackageMigrate {
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
        .or_else(|| self.database_url_env.as_deref().and_then(url_env_problem))
    }
}

impl Validate for WorkspaceMigrate {
    fn unusable(&self) -> Option<Unusable> {
        self.database_url_env.as_deref().and_then(url_env_problem)
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
                "the keys of [workspace.metadata.migrate] are `database-url-env`, `backend` and `lint` (see docs/configuration.md)".to_string()
            } else {
                "the keys of [package.metadata.migrate] are `migrations`, `schema`, `database-url-env`, `backend`, `enabled` and `lint` (see docs/configuration.md)".to_string()
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
                "[workspace.metadata.migrate] are `database-url-env`, `backend` and `lint`"
            ),
            "{err}"
        );
    }
}
