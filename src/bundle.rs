//! Migration bundles: everything `apply` needs from a workspace, in one file, for hosts that
//! have no cargo, no manifests and no source tree (a release script, a container).
//!
//! `cargo migrate bundle --out FILE` writes, for each selected set, its name, backend,
//! `database-url-env`, `init-sql` and every migration (version, folder name, up.sql, down.sql,
//! metadata.toml) with a SHA-256 checksum of each, and a checksum of the whole. The same input
//! gives the same bytes. `cargo-migrate --bundle FILE apply` (and `status`, `pending`,
//! `revert`, `redo`, `mark`) reads the sets from the bundle instead of the workspace and then
//! runs exactly as in a workspace; a bundle whose checksums do not match is refused. The format
//! is described in docs/deploy.md.

#[cfg(feature = "cli")]
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::backend::Backend;
#[cfg(feature = "cli")]
use crate::init_sql::InitSql;
use crate::migration::Migration;
#[cfg(feature = "cli")]
use crate::migration::MigrationFolder;
#[cfg(feature = "cli")]
use crate::settings::Resolved;
#[cfg(feature = "cli")]
use crate::workspace::{FoundBy, MigrationSet, Workspace};

/// The format's name, in every bundle.
pub const FORMAT: &str = "cargo-migrate-bundle";
/// The version of the format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// A bundle that cannot be written or used.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("cannot read the bundle `{}`: {source}\nhelp: check the path given to --bundle (relative to the current folder); nothing was run", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{}` is not a migration bundle: {message}\nhelp: make it with `cargo migrate bundle --out FILE` in the workspace", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("the bundle `{}` has format version {found}, and this cargo-migrate reads version {FORMAT_VERSION}\nhelp: use the cargo-migrate version that made it ({tool}), or make the bundle again with this one", path.display())]
    Version {
        path: PathBuf,
        found: u32,
        tool: String,
    },
    #[error("the bundle `{}` is damaged or was edited: {what}; nothing was run\nhelp: make the bundle again with `cargo migrate bundle`; a bundle is never edited by hand", path.display())]
    Checksum { path: PathBuf, what: String },
    #[error("set `{set}` has no known backend, so it cannot be bundled\nhelp: set `backend` in its configuration")]
    UnknownBackend { set: String },
    #[error("cannot write the bundle `{}`: {source}\nhelp: check that the folder of --out exists and is writable; no bundle was written", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A bundle, as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`] of the writer.
    pub format_version: u32,
    /// The cargo-migrate version that wrote it.
    pub tool_version: String,
    /// The sets, by name.
    pub sets: Vec<BundledSet>,
    /// `sha256:` of the bundle's content (everything but this field), see [`Bundle::content_checksum`].
    pub checksum: String,
}

/// One set of a bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundledSet {
    pub name: String,
    pub backend: Backend,
    pub database_url_env: String,
    pub init_sql: Vec<String>,
    /// The set's `targets-query` and `targets-url-env`, when configured (for `--fleet`):
    /// written only when set, so a bundle of sets without them has the bytes it always had.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets_query: Option<BundledTargetsQuery>,
    pub migrations: Vec<BundledMigration>,
}

/// Where `--fleet` reads a bundled set's targets: `query`, run read-only on the database whose
/// URL is in the environment variable `url_env`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundledTargetsQuery {
    pub query: String,
    pub url_env: String,
}

/// One migration of a bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundledMigration {
    pub dir_name: String,
    pub version: String,
    pub up_sql: String,
    pub down_sql: Option<String>,
    /// metadata.toml as written, when the folder has one.
    pub metadata: Option<String>,
    /// `sha256:` of up.sql, down.sql and metadata.toml, line endings normalised.
    pub checksum: String,
}

impl BundledSet {
    /// The set's migrations, as if read from folders under `shown` (which names their files
    /// in messages: `<shown>/<folder>/up.sql`).
    pub fn migrations_at(&self, shown: &Path) -> Vec<Migration> {
        self.migrations
            .iter()
            .map(|m| Migration {
                version: m.version.clone(),
                name: m
                    .dir_name
                    .split_once('_')
                    .map(|(_, n)| n.to_string())
                    .unwrap_or_default(),
                dir_name: m.dir_name.clone(),
                dir: shown.join(&m.dir_name),
                up_sql: m.up_sql.clone(),
                down_sql: m.down_sql.clone(),
                run_in_transaction: m
                    .metadata
                    .as_deref()
                    .map(crate::migration::run_in_transaction_of)
                    .unwrap_or(true),
                has_metadata: m.metadata.is_some(),
            })
            .collect()
    }
}

impl<'de> Deserialize<'de> for Backend {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The checksum of one migration's files: line endings never change it.
pub fn migration_checksum(up: &str, down: Option<&str>, metadata: Option<&str>) -> String {
    crate::migration::checksum_of(&[Some(up), down, metadata])
}

impl Bundle {
    #[cfg(feature = "cli")]
    /// A bundle of the selected sets of a workspace.
    pub fn of(resolved: &Resolved) -> Result<Bundle, BundleError> {
        let mut sets = Vec::new();
        for ctx in &resolved.sets {
            let backend = ctx.backend().ok_or_else(|| BundleError::UnknownBackend {
                set: ctx.name().to_string(),
            })?;
            let migrations = ctx
                .folder
                .migrations
                .iter()
                .map(|m| {
                    let metadata = m
                        .has_metadata
                        .then(|| std::fs::read_to_string(m.dir.join("metadata.toml")).ok())
                        .flatten();
                    BundledMigration {
                        dir_name: m.dir_name.clone(),
                        version: m.version.clone(),
                        checksum: migration_checksum(
                            &m.up_sql,
                            m.down_sql.as_deref(),
                            metadata.as_deref(),
                        ),
                        up_sql: m.up_sql.clone(),
                        down_sql: m.down_sql.clone(),
                        metadata,
                    }
                })
                .collect();
            sets.push(BundledSet {
                name: ctx.name().to_string(),
                backend,
                database_url_env: ctx.set.database_url_env.clone(),
                init_sql: ctx.set.init_sql.statements.clone(),
                targets_query: ctx.set.targets_query.as_ref().map(|t| BundledTargetsQuery {
                    query: t.query.clone(),
                    url_env: t.url_env.clone(),
                }),
                migrations,
            });
        }
        sets.sort_by(|a, b| a.name.cmp(&b.name));
        let mut bundle = Bundle {
            format: FORMAT.to_string(),
            format_version: FORMAT_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            sets,
            checksum: String::new(),
        };
        bundle.checksum = bundle.content_checksum();
        Ok(bundle)
    }

    /// `sha256:` of the bundle without its `checksum` field, as compact JSON.
    pub fn content_checksum(&self) -> String {
        let mut copy = self.clone();
        copy.checksum = String::new();
        let bytes = serde_json::to_vec(&copy).unwrap_or_default();
        format!("sha256:{:x}", Sha256::digest(&bytes))
    }

    /// The bytes of the bundle file: pretty JSON, keys in a fixed order, a final newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// Write the bundle atomically.
    pub fn write(&self, path: &Path) -> Result<(), BundleError> {
        let fail = |source| BundleError::Write {
            path: path.to_path_buf(),
            source,
        };
        let tmp = path.with_extension(format!("cargo-migrate-{}.tmp", std::process::id()));
        std::fs::write(&tmp, self.to_bytes()).map_err(fail)?;
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            fail(e)
        })
    }

    /// Read a bundle and verify every checksum.
    pub fn read(path: &Path) -> Result<Bundle, BundleError> {
        let text = std::fs::read_to_string(path).map_err(|source| BundleError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Bundle::parse(&text, path)
    }

    /// Parse a bundle's text and verify every checksum; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Bundle, BundleError> {
        let invalid = |message: String| BundleError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| invalid(format!("not JSON ({e})")))?;
        if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(invalid(format!("it has no `\"format\": \"{FORMAT}\"`")));
        }
        let found = value
            .get("format_version")
            .and_then(|v| v.as_u64())
            .unwrap_or(0) as u32;
        if found != FORMAT_VERSION {
            return Err(BundleError::Version {
                path: path.to_path_buf(),
                found,
                tool: value
                    .get("tool_version")
                    .and_then(|v| v.as_str())
                    .unwrap_or("unknown")
                    .to_string(),
            });
        }
        let bundle: Bundle = serde_json::from_value(value).map_err(|e| invalid(format!("{e}")))?;
        let damaged = |what: String| BundleError::Checksum {
            path: path.to_path_buf(),
            what,
        };
        for set in &bundle.sets {
            for m in &set.migrations {
                let sum =
                    migration_checksum(&m.up_sql, m.down_sql.as_deref(), m.metadata.as_deref());
                if sum != m.checksum {
                    return Err(damaged(format!(
                        "migration `{}` of set `{}` does not match its checksum",
                        m.dir_name, set.name
                    )));
                }
            }
        }
        if bundle.content_checksum() != bundle.checksum {
            return Err(damaged(
                "the bundle does not match its checksum".to_string(),
            ));
        }
        Ok(bundle)
    }

    #[cfg(feature = "cli")]
    /// The bundle as a workspace rooted at `root` (the current folder: `.env` is read there),
    /// with each set's migrations as folders read from the bundle. A migration's files are
    /// shown as `<bundle>/<set>/<folder>/up.sql`.
    pub fn workspace(
        &self,
        bundle_path: &Path,
        root: &Path,
    ) -> (Workspace, BTreeMap<String, MigrationFolder>) {
        let mut sets = Vec::new();
        let mut folders = BTreeMap::new();
        for s in &self.sets {
            let shown = bundle_path.join(&s.name);
            let migrations = s.migrations_at(&shown);
            folders.insert(
                s.name.clone(),
                MigrationFolder {
                    path: shown.clone(),
                    migrations,
                    problems: Vec::new(),
                },
            );
            sets.push(MigrationSet {
                name: s.name.clone(),
                package: s.name.clone(),
                dir: root.to_path_buf(),
                manifest_path: bundle_path.to_path_buf(),
                migrations_dir: shown.clone(),
                schema_file: None,
                diesel_toml: None,
                database_url_env: s.database_url_env.clone(),
                backend: Some(s.backend),
                backend_from: None,
                found_by: FoundBy::Bundle,
                found_at: bundle_path.to_path_buf(),
                depends_on: Vec::new(),
                lint: Default::default(),
                drift_ignore: Vec::new(),
                print_schema: Vec::new(),
                format: Default::default(),
                virtual_root: false,
                table: format!("the bundle `{}`", bundle_path.display()),
                schema_check: None,
                init_sql: InitSql {
                    statements: s.init_sql.clone(),
                    manifest: bundle_path.to_path_buf(),
                    table: "the bundle",
                },
                write_schema: false,
                targets_query: s
                    .targets_query
                    .as_ref()
                    .map(|t| crate::config::TargetsQuery {
                        query: t.query.clone(),
                        url_env: t.url_env.clone(),
                    }),
            });
        }
        let ws = Workspace {
            root: root.to_path_buf(),
            target_dir: std::env::temp_dir(),
            members: sets.iter().map(|s| s.name.clone()).collect(),
            sets,
            disabled: Vec::new(),
        };
        (ws, folders)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_ignore_line_endings_and_see_everything_else() {
        let a = migration_checksum("CREATE TABLE t (id INT);\n", Some("DROP TABLE t;\n"), None);
        let b = migration_checksum(
            "CREATE TABLE t (id INT);\r\n",
            Some("DROP TABLE t;\r\n"),
            None,
        );
        assert_eq!(a, b);
        assert_ne!(
            a,
            migration_checksum("CREATE TABLE t (id INT);\n", None, None)
        );
        assert_ne!(
            a,
            migration_checksum(
                "CREATE TABLE t (id INT);\n",
                Some("DROP TABLE t;\n"),
                Some("run_in_transaction = false\n")
            )
        );
        // Moving text between files changes the checksum.
        assert_ne!(
            migration_checksum("ab", Some(""), None),
            migration_checksum("a", Some("b"), None)
        );
    }
}
