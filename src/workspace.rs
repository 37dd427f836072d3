//! Workspace discovery: from `cargo metadata` to the migration sets of a workspace.
//!
//! A migration set is one folder of diesel migrations, the database it belongs to (named by
//! an environment variable) and the schema file that declares it. Sets are found per member
//! (and for a virtual workspace root): `[[package.metadata.migrate.sets]]` entries, else
//! `migrations`/`config-file` in `[package.metadata.migrate]`, else the file
//! `DIESEL_CONFIG_FILE` names, else the diesel config files next to the manifest (diesel.toml,
//! `diesel_*.toml`, `diesel-*.toml`, and TOML files with only diesel's sections), else a
//! `migrations/` folder. A migrations folder whose folders are all named after backends is one
//! set per backend. `[workspace.metadata.migrate]` gives defaults. Set names are unique and
//! derived from files, never from the checkout's folder. Sets come back in workspace
//! dependency order (a member that depends on another member by path comes after it), then by
//! name. docs/configuration.md describes the rules.
//!
//! This module never walks `target/` and never touches a database.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use cargo_metadata::{DependencyKind, Metadata, MetadataCommand};
use serde::Serialize;

use crate::backend::Backend;
use crate::config::{
    self, ConfigError, DieselToml, InitSql, PackageMigrate, SchemaCheck, SetTable, WorkspaceMigrate,
};
use crate::lint::LintConfig;
use crate::schema::{print_schema_sections, FormatConfig, PrintSchemaOptions};

/// Why a folder is a migration set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FoundBy {
    /// The member's `diesel.toml`.
    DieselToml,
    /// A `migrations/` folder next to the member's Cargo.toml.
    MigrationsFolder,
    /// `migrations` or `config-file` in `[package.metadata.migrate]`.
    PackageMetadata,
    /// A backend-named folder (`sqlite`, `mysql`, `postgres`, `postgresql`, `pg`) in the
    /// migrations folder.
    BackendFolder,
    /// A diesel config file other than diesel.toml next to the manifest.
    DieselConfigFile,
    /// The file `DIESEL_CONFIG_FILE` names.
    DieselConfigFileEnv,
    /// A `[[package.metadata.migrate.sets]]` (or workspace) entry.
    SetsTable,
    /// A migration bundle (`--bundle FILE`).
    Bundle,
}

/// Where a set's backend came from, when it came from configuration or names (the URL's
/// scheme is the last resort, at run time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendFrom {
    /// A `backend` key of the set (or its package).
    Configured,
    /// The name of its migrations folder (`migrations/sqlite`).
    FolderName,
    /// The name of its diesel config file (`diesel_postgres.toml`).
    FileName,
    /// The package's diesel dependency enables exactly one backend feature.
    DieselFeatures,
    /// `backend` in `[workspace.metadata.migrate]`.
    Workspace,
}

/// One migration set.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationSet {
    /// The set's name: the package name for a member's one set; `<package>-<folder>` for a
    /// backend folder, `<package>-<suffix>` for a diesel config file `diesel_<suffix>.toml`;
    /// the `name` of a `sets` entry; `root` (or `[workspace.metadata.migrate] name`) for a
    /// virtual root.
    pub name: String,
    /// The package that owns it (for a virtual root, the root set's name).
    pub package: String,
    /// The package folder.
    pub dir: PathBuf,
    #[serde(skip)]
    pub manifest_path: PathBuf,
    pub migrations_dir: PathBuf,
    pub schema_file: Option<PathBuf>,
    #[serde(skip)]
    pub diesel_toml: Option<DieselToml>,
    /// The environment variable holding this set's database URL.
    pub database_url_env: String,
    /// The backend from configuration or names; otherwise it comes from the URL's scheme.
    pub backend: Option<Backend>,
    /// Where `backend` came from.
    pub backend_from: Option<BackendFrom>,
    pub found_by: FoundBy,
    /// The file or folder that made it a set, for `list`.
    pub found_at: PathBuf,
    /// Sets this set depends on (by path dependencies, directly or through other members).
    pub depends_on: Vec<String>,
    /// The lint levels: `[workspace.metadata.migrate.lint]` with the package's table on top.
    #[serde(skip)]
    pub lint: LintConfig,
    /// Catalog objects live drift leaves out: `drift-ignore` of
    /// `[workspace.metadata.migrate]` and then of the package.
    #[serde(skip)]
    pub drift_ignore: Vec<crate::catalog::IgnorePattern>,
    /// The `[print_schema]` sections of its diesel.toml (one default section without one),
    /// with the set's schema file on the default section; sorted by name, as diesel prints
    /// them.
    #[serde(skip)]
    pub print_schema: Vec<(String, PrintSchemaOptions)>,
    /// The rustfmt settings that apply to its schema file.
    #[serde(skip)]
    pub format: FormatConfig,
    /// Whether the set belongs to a virtual workspace root (configured in
    /// `[workspace.metadata.migrate]`, since there is no package table).
    #[serde(skip)]
    pub virtual_root: bool,
    /// The configuration that configures this set, for help texts.
    #[serde(skip)]
    pub table: String,
    /// `schema-check`, when configured.
    #[serde(skip)]
    pub schema_check: Option<SchemaCheck>,
    /// `init-sql`: what every connection opened for the set runs first.
    #[serde(skip)]
    pub init_sql: InitSql,
    /// `write-schema`: `apply`, `revert` and `redo` rewrite the schema file from the migrated
    /// database, as `--write-schema` does.
    #[serde(skip)]
    pub write_schema: bool,
    /// `targets-query` and `targets-url-env`: where `--fleet` reads the set's targets.
    #[serde(skip)]
    pub targets_query: Option<crate::config::TargetsQuery>,
}

impl MigrationSet {
    /// Whether the set declares a schema to compare with: a schema file, or `[print_schema]`.
    pub fn has_schema(&self) -> bool {
        self.schema_file.is_some()
            || self
                .diesel_toml
                .as_ref()
                .is_some_and(|d| d.print_schema.is_some())
    }

    /// The configuration table that configures this set, for help texts.
    pub fn config_table(&self) -> String {
        self.table.clone()
    }
}

/// A discovered workspace.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub root: PathBuf,
    pub target_dir: PathBuf,
    pub sets: Vec<MigrationSet>,
    /// Every member's package name, with or without migrations.
    pub members: Vec<String>,
    /// Members whose `[package.metadata.migrate]` says `enabled = false`.
    pub disabled: Vec<String>,
}

/// Discovery could not run.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("`cargo metadata` failed{}: {message}", manifest.as_ref().map(|m| format!(" for `{}`", m.display())).unwrap_or_default())]
    Metadata {
        manifest: Option<PathBuf>,
        message: String,
    },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(
        "no package or migration set named `{name}` in this workspace{}",
        available_hint(available)
    )]
    UnknownPackage {
        name: String,
        available: Vec<String>,
    },
    #[error("the package `{name}` has no migrations\nhelp: add a `migrations/` folder or a diesel.toml to it, or set `migrations` in its [package.metadata.migrate]")]
    PackageWithoutMigrations { name: String },
    #[error("the package `{name}` turns its migrations off (`enabled = false` in its [package.metadata.migrate])\nhelp: remove that line to include it")]
    PackageDisabled { name: String },
    /// Two sets with one name: `-p NAME` could not tell them apart.
    #[error("two migration sets are named `{name}`: one from {}, one from {}\nhelp: give one of them another `name` in a [[package.metadata.migrate.sets]] entry (set names are unique in the workspace)", first.display(), second.display())]
    DuplicateSetName {
        name: String,
        first: PathBuf,
        second: PathBuf,
    },
    /// A layout that could mean two things.
    #[error("{}: {message}\nhelp: {help}", path.display())]
    Ambiguous {
        path: PathBuf,
        message: String,
        help: String,
    },
    /// `DIESEL_CONFIG_FILE` names a file that cannot be used.
    #[error("DIESEL_CONFIG_FILE is `{}`, {why}\nhelp: {help}", path.display())]
    DieselConfigFileEnv {
        path: PathBuf,
        why: String,
        help: String,
    },
}

fn available_hint(available: &[String]) -> String {
    if available.is_empty() {
        "\nhelp: no member owns migrations; add a `migrations/` folder or a diesel.toml to a member"
            .to_string()
    } else {
        format!("\nhelp: the migration sets are: {}", available.join(", "))
    }
}

/// What discovery reads from outside the manifests.
#[derive(Debug, Clone, Default)]
pub struct DiscoverOptions {
    /// `DIESEL_CONFIG_FILE`, absolute (relative to the current folder, as diesel_cli reads
    /// it).
    pub diesel_config_file: Option<PathBuf>,
}

impl DiscoverOptions {
    /// From the process environment.
    pub fn from_env() -> DiscoverOptions {
        let diesel_config_file = std::env::var_os("DIESEL_CONFIG_FILE")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .map(|p| {
                if p.is_absolute() {
                    p
                } else {
                    std::env::current_dir().unwrap_or_default().join(p)
                }
            });
        DiscoverOptions { diesel_config_file }
    }
}

/// Run `cargo metadata --no-deps` (fast, offline, writes no lock file) and discover the sets.
pub fn discover(manifest_path: Option<&Path>) -> Result<Workspace, DiscoverError> {
    let mut cmd = MetadataCommand::new();
    cmd.no_deps();
    if let Some(path) = manifest_path {
        cmd.manifest_path(path);
    }
    let metadata = cmd.exec().map_err(|err| DiscoverError::Metadata {
        manifest: manifest_path.map(Path::to_path_buf),
        message: clean_cargo_error(&err),
    })?;
    from_metadata_with(&metadata, &DiscoverOptions::from_env())
}

fn clean_cargo_error(err: &cargo_metadata::Error) -> String {
    match err {
        cargo_metadata::Error::CargoMetadata { stderr } => {
            stderr.trim().trim_start_matches("error: ").to_string()
        }
        other => other.to_string(),
    }
}

/// Discover the sets of already-loaded metadata. Pure but for reading config files.
pub fn from_metadata(metadata: &Metadata) -> Result<Workspace, DiscoverError> {
    from_metadata_with(metadata, &DiscoverOptions::default())
}

/// The backend a word names: a folder or file name part.
fn backend_word(word: &str) -> Option<Backend> {
    match word.to_ascii_lowercase().as_str() {
        "sqlite" | "sqlite3" => Some(Backend::Sqlite),
        "postgres" | "postgresql" | "pg" | "pgsql" => Some(Backend::Postgres),
        "mysql" | "mariadb" => Some(Backend::Mysql),
        _ => None,
    }
}

/// The one backend the words of `name` name (`diesel_postgres` → PostgreSQL), if exactly one.
fn backend_in_name(name: &str) -> Option<Backend> {
    let found: BTreeSet<Backend> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter_map(backend_word)
        .collect();
    match found.len() {
        1 => found.into_iter().next(),
        _ => None,
    }
}

/// The one backend the package's diesel dependencies enable, if exactly one.
fn backend_from_features(package: &cargo_metadata::Package) -> Option<Backend> {
    let found: BTreeSet<Backend> = package
        .dependencies
        .iter()
        .filter(|d| {
            matches!(
                d.name.as_str(),
                "diesel" | "diesel_migrations" | "diesel-async"
            )
        })
        .flat_map(|d| d.features.iter())
        .filter_map(|f| match f.as_str() {
            "sqlite" | "returning_clauses_for_sqlite_3_35" => Some(Backend::Sqlite),
            "postgres" => Some(Backend::Postgres),
            "mysql" => Some(Backend::Mysql),
            _ => None,
        })
        .collect();
    match found.len() {
        1 => found.into_iter().next(),
        _ => None,
    }
}

/// Discover the sets with explicit options.
pub fn from_metadata_with(
    metadata: &Metadata,
    opts: &DiscoverOptions,
) -> Result<Workspace, DiscoverError> {
    let root = metadata.workspace_root.clone().into_std_path_buf();
    let root_manifest = root.join("Cargo.toml");
    let ws_cfg: WorkspaceMigrate =
        config::migrate_metadata(&metadata.workspace_metadata, &root_manifest, "workspace")?;
    let ws_backend = ws_cfg
        .backend
        .as_deref()
        .map(|b| config::parse_backend(b, &root_manifest))
        .transpose()?;
    let default_env = ws_cfg
        .database_url_env
        .clone()
        .unwrap_or_else(|| "DATABASE_URL".to_string());

    let packages = metadata.workspace_packages();
    let mut sets: Vec<MigrationSet> = Vec::new();
    let mut disabled: Vec<String> = Vec::new();
    // Dependency edges among members, by name: member -> members it depends on by path.
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let member_dirs: BTreeMap<PathBuf, String> = packages
        .iter()
        .filter_map(|p| {
            Some((
                p.manifest_path.parent()?.as_std_path().to_path_buf(),
                p.name.to_string(),
            ))
        })
        .collect();
    let virtual_root = !member_dirs.contains_key(&root);

    // DIESEL_CONFIG_FILE replaces the diesel.toml of the member whose folder holds it.
    let env_config = match &opts.diesel_config_file {
        None => None,
        Some(path) => {
            if !path.is_file() {
                return Err(DiscoverError::DieselConfigFileEnv {
                    path: path.clone(),
                    why: "which is not a file".to_string(),
                    help: "point it at the diesel config file to use, or unset it to use each member's diesel.toml".to_string(),
                });
            }
            let owner = path
                .ancestors()
                .skip(1)
                .find(|d| member_dirs.contains_key(*d) || (virtual_root && *d == root))
                .map(Path::to_path_buf);
            let Some(owner) = owner else {
                return Err(DiscoverError::DieselConfigFileEnv {
                    path: path.clone(),
                    why: "which is outside every member of this workspace".to_string(),
                    help: "unset it, or point it at a config file in a member's folder".to_string(),
                });
            };
            Some((owner, path.clone()))
        }
    };

    for package in &packages {
        let manifest = package.manifest_path.as_std_path().to_path_buf();
        let dir = manifest.parent().unwrap_or(Path::new(".")).to_path_buf();
        let name = package.name.to_string();
        let deps = edges.entry(name.clone()).or_default();
        for dep in &package.dependencies {
            if matches!(dep.kind, DependencyKind::Development) {
                continue;
            }
            if let Some(path) = &dep.path {
                if let Some(member) = member_dirs.get(path.as_std_path()) {
                    if *member != name {
                        deps.insert(member.clone());
                    }
                }
            }
        }
        let pkg_cfg: PackageMigrate =
            config::migrate_metadata(&package.metadata, &manifest, "package")?;
        if pkg_cfg.enabled == Some(false) {
            disabled.push(name);
            continue;
        }
        let member = Member {
            package: name.clone(),
            dir: dir.clone(),
            manifest: manifest.clone(),
            cfg: pkg_cfg,
            features_backend: backend_from_features(package),
            virtual_root: false,
            env_config: env_config
                .as_ref()
                .filter(|(owner, _)| *owner == dir)
                .map(|(_, p)| p.clone()),
        };
        let cx = SetConfig {
            ws_backend,
            default_env: &default_env,
            ws_lint: ws_cfg.lint.as_ref(),
            ws_init_sql: ws_cfg.init_sql.as_ref(),
            ws_write_schema: ws_cfg.write_schema,
            ws_drift_ignore: ws_cfg.drift_ignore.as_deref().unwrap_or_default(),
            root: &root,
            root_manifest: &root_manifest,
        };
        sets.extend(member.sets(&cx)?);
    }

    // A virtual root (no package at the root): its sets, or its own diesel config.
    if virtual_root {
        let name = ws_cfg.name.clone().unwrap_or_else(|| "root".to_string());
        let member = Member {
            package: name.clone(),
            dir: root.clone(),
            manifest: root_manifest.clone(),
            cfg: PackageMigrate {
                sets: ws_cfg.sets.clone(),
                ..PackageMigrate::default()
            },
            features_backend: None,
            virtual_root: true,
            env_config: env_config
                .as_ref()
                .filter(|(owner, _)| *owner == root)
                .map(|(_, p)| p.clone()),
        };
        let cx = SetConfig {
            ws_backend,
            default_env: &default_env,
            ws_lint: ws_cfg.lint.as_ref(),
            ws_init_sql: ws_cfg.init_sql.as_ref(),
            ws_write_schema: ws_cfg.write_schema,
            ws_drift_ignore: ws_cfg.drift_ignore.as_deref().unwrap_or_default(),
            root: &root,
            root_manifest: &root_manifest,
        };
        sets.extend(member.sets(&cx)?);
        edges.entry(name).or_default();
    }

    // Set names are unique: `-p NAME` must name one thing.
    let mut seen: BTreeMap<&str, &MigrationSet> = BTreeMap::new();
    for set in &sets {
        if let Some(first) = seen.insert(&set.name, set) {
            return Err(DiscoverError::DuplicateSetName {
                name: set.name.clone(),
                first: first.found_at.clone(),
                second: set.found_at.clone(),
            });
        }
    }

    let order = dependency_order(&edges);
    let by_package: Vec<(String, String)> = sets
        .iter()
        .map(|s| (s.package.clone(), s.name.clone()))
        .collect();
    for set in &mut sets {
        let packages = transitive(&edges, &set.package);
        set.depends_on = by_package
            .iter()
            .filter(|(p, _)| packages.contains(p))
            .map(|(_, n)| n.clone())
            .collect();
    }
    let rank = |name: &str| order.iter().position(|n| n == name).unwrap_or(usize::MAX);
    sets.sort_by(|a, b| {
        rank(&a.package)
            .cmp(&rank(&b.package))
            .then_with(|| a.name.cmp(&b.name))
    });
    let sorted: Vec<String> = sets.iter().map(|s| s.name.clone()).collect();
    for set in &mut sets {
        set.depends_on
            .sort_by_key(|n| sorted.iter().position(|s| s == n));
    }

    Ok(Workspace {
        root,
        target_dir: metadata.target_directory.clone().into_std_path_buf(),
        sets,
        members: packages.iter().map(|p| p.name.to_string()).collect(),
        disabled,
    })
}

/// What the workspace gives every set.
struct SetConfig<'a> {
    ws_backend: Option<Backend>,
    default_env: &'a str,
    ws_lint: Option<&'a serde_json::Value>,
    ws_init_sql: Option<&'a config::InitSqlList>,
    ws_write_schema: Option<bool>,
    ws_drift_ignore: &'a [String],
    root: &'a Path,
    root_manifest: &'a Path,
}

/// A member (or the virtual root) whose sets are being found.
struct Member {
    package: String,
    dir: PathBuf,
    manifest: PathBuf,
    cfg: PackageMigrate,
    features_backend: Option<Backend>,
    virtual_root: bool,
    /// `DIESEL_CONFIG_FILE`, when it names a file of this member.
    env_config: Option<PathBuf>,
}

/// A set found, before the workspace's defaults are applied.
struct Candidate {
    name: String,
    keys: SetTable,
    diesel_toml: Option<DieselToml>,
    migrations_dir: PathBuf,
    found_by: FoundBy,
    found_at: PathBuf,
    /// A backend from a folder or file name.
    named_backend: Option<(Backend, BackendFrom)>,
    table: String,
}

/// Whether a file next to a manifest is a diesel config file: `diesel_*.toml` or
/// `diesel-*.toml` (always, so that a broken one is reported), or any other TOML file whose
/// only sections are diesel's and that has `[migrations_directory]`.
fn diesel_config_files(dir: &Path) -> Result<Vec<(PathBuf, DieselToml)>, ConfigError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".toml") && n != "diesel.toml" && n != "Cargo.toml")
        .collect();
    names.sort();
    let mut out = Vec::new();
    for name in names {
        let path = dir.join(&name);
        let named = name.starts_with("diesel_") || name.starts_with("diesel-");
        if named {
            let cfg = DieselToml::read(&path)?;
            if cfg.migrations_dir.is_some() {
                out.push((path, cfg));
            }
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(table) = toml::from_str::<toml::Table>(&text) else {
            continue;
        };
        let diesel_like = table.contains_key("migrations_directory")
            && table
                .keys()
                .all(|k| k == "migrations_directory" || k == "print_schema");
        if diesel_like {
            out.push((path.clone(), DieselToml::parse(&text, &path)?));
        }
    }
    Ok(out)
}

/// The set name a config file gives: the package and the file name without `diesel_` and
/// `.toml` (`diesel_postgres.toml` in `app` → `app-postgres`).
fn config_suffix(path: &Path) -> String {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("config");
    stem.strip_prefix("diesel_")
        .or_else(|| stem.strip_prefix("diesel-"))
        .unwrap_or(stem)
        .to_string()
}

/// The backend-named folders of a migrations folder, when every folder in it is one (hidden
/// folders aside): `migrations/{sqlite,postgres}`. `None` for an ordinary migrations folder.
fn backend_folders(migrations: &Path) -> Option<Vec<(String, Backend)>> {
    let entries = std::fs::read_dir(migrations).ok()?;
    let mut folders = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        if !entry.path().is_dir() {
            continue;
        }
        let name = entry.file_name().into_string().ok()?;
        if name.starts_with('.') {
            continue;
        }
        folders.push((name.clone(), backend_word(&name)?));
    }
    folders.sort();
    (!folders.is_empty()).then_some(folders)
}

impl Member {
    fn table(&self) -> &'static str {
        if self.virtual_root {
            "[workspace.metadata.migrate]"
        } else {
            "[package.metadata.migrate]"
        }
    }

    fn sets_table(&self) -> &'static str {
        if self.virtual_root {
            "[[workspace.metadata.migrate.sets]]"
        } else {
            "[[package.metadata.migrate.sets]]"
        }
    }

    fn read_config(&self, rel: &Path) -> Result<DieselToml, DiscoverError> {
        let path = self.dir.join(rel);
        if !path.is_file() {
            return Err(ConfigError::Invalid {
                path: self.manifest.clone(),
                at: format!(" ({} config-file)", self.table()),
                message: format!("`config-file` names `{}`, which is not a file", path.display()),
                help: "name a diesel config file relative to the package, e.g. `config-file = \"diesel_sqlite.toml\"`".to_string(),
            }
            .into());
        }
        Ok(DieselToml::read(&path)?)
    }

    /// Every set of the member, before workspace defaults.
    fn candidates(&self) -> Result<Vec<Candidate>, DiscoverError> {
        let own = self.cfg.own_set();
        if let Some(entries) = self.cfg.sets.as_deref().filter(|e| !e.is_empty()) {
            for (key, set) in [
                ("migrations", own.migrations.is_some()),
                ("schema", own.schema.is_some()),
                ("config-file", own.config_file.is_some()),
            ] {
                if set {
                    return Err(ConfigError::Invalid {
                        path: self.manifest.clone(),
                        at: format!(" ({} {key})", self.table()),
                        message: format!("`{key}` is set for the whole member and the member also lists its `sets`, so it is unclear which set it belongs to"),
                        help: format!("move `{key}` into the {} entry it belongs to", self.sets_table()),
                    }
                    .into());
                }
            }
            let mut out = Vec::new();
            for entry in entries {
                let name = entry.name.clone().unwrap_or_default().trim().to_string();
                let diesel_toml = entry
                    .config_file
                    .as_deref()
                    .map(|f| self.read_config(f))
                    .transpose()?;
                let migrations_dir = match (&entry.migrations, &diesel_toml) {
                    (Some(m), _) => self.dir.join(m),
                    (None, Some(d)) => d
                        .migrations_dir
                        .clone()
                        .unwrap_or_else(|| self.dir.join("migrations")),
                    (None, None) => {
                        return Err(ConfigError::Invalid {
                            path: self.manifest.clone(),
                            at: format!(" ({} name = \"{name}\")", self.sets_table()),
                            message: "the set has neither `migrations` nor `config-file`, so it has no migrations folder".to_string(),
                            help: "add `migrations = \"migrations/<folder>\"` (relative to the package) to the entry".to_string(),
                        }
                        .into())
                    }
                };
                let named_backend = name_backend(&migrations_dir, None);
                out.push(Candidate {
                    keys: SetTable {
                        backend: entry.backend.clone().or(own.backend.clone()),
                        database_url_env: entry
                            .database_url_env
                            .clone()
                            .or(own.database_url_env.clone()),
                        lint: entry.lint.clone().or(own.lint.clone()),
                        schema_check: entry.schema_check.or(own.schema_check),
                        init_sql: entry.init_sql.clone().or(own.init_sql.clone()),
                        write_schema: entry.write_schema.or(own.write_schema),
                        drift_ignore: entry.drift_ignore.clone().or(own.drift_ignore.clone()),
                        ..entry.clone()
                    },
                    diesel_toml,
                    migrations_dir,
                    found_by: FoundBy::SetsTable,
                    found_at: self.manifest.clone(),
                    named_backend,
                    table: format!("the {} entry named `{name}`", self.sets_table()),
                    name,
                });
            }
            return Ok(out);
        }

        let diesel_path = self.dir.join("diesel.toml");
        let table = self.table().to_string();
        let single = |name: String,
                      diesel_toml: Option<DieselToml>,
                      migrations_dir: PathBuf,
                      found_by: FoundBy,
                      found_at: PathBuf| Candidate {
            name,
            keys: own.clone(),
            diesel_toml,
            named_backend: name_backend(&migrations_dir, None),
            migrations_dir,
            found_by,
            found_at,
            table: table.clone(),
        };
        let mut found: Vec<Candidate> = Vec::new();
        if own.migrations.is_some() || own.config_file.is_some() {
            let diesel_toml = match &own.config_file {
                Some(f) => Some(self.read_config(f)?),
                None if diesel_path.is_file() => Some(DieselToml::read(&diesel_path)?),
                None => None,
            };
            let migrations_dir = match (&own.migrations, &diesel_toml) {
                (Some(m), _) => self.dir.join(m),
                (None, Some(d)) => d
                    .migrations_dir
                    .clone()
                    .unwrap_or_else(|| self.dir.join("migrations")),
                (None, None) => self.dir.join("migrations"),
            };
            found.push(single(
                self.package.clone(),
                diesel_toml,
                migrations_dir,
                FoundBy::PackageMetadata,
                self.manifest.clone(),
            ));
        } else if let Some(path) = &self.env_config {
            let d = DieselToml::read(path)?;
            let migrations_dir = d
                .migrations_dir
                .clone()
                .unwrap_or_else(|| self.dir.join("migrations"));
            let mut c = single(
                self.package.clone(),
                Some(d),
                migrations_dir,
                FoundBy::DieselConfigFileEnv,
                path.clone(),
            );
            c.named_backend = name_backend(&c.migrations_dir, Some(path));
            found.push(c);
        } else {
            if diesel_path.is_file() {
                let d = DieselToml::read(&diesel_path)?;
                let migrations_dir = d
                    .migrations_dir
                    .clone()
                    .unwrap_or_else(|| self.dir.join("migrations"));
                found.push(single(
                    self.package.clone(),
                    Some(d),
                    migrations_dir,
                    FoundBy::DieselToml,
                    diesel_path.clone(),
                ));
            }
            for (path, d) in diesel_config_files(&self.dir)? {
                let migrations_dir = d.migrations_dir.clone().unwrap_or_default();
                let suffix = config_suffix(&path);
                let mut c = single(
                    format!("{}-{suffix}", self.package),
                    Some(d),
                    migrations_dir,
                    FoundBy::DieselConfigFile,
                    path.clone(),
                );
                c.named_backend = name_backend(&c.migrations_dir, Some(&path));
                c.table = format!(
                    "a {} entry with `config-file = \"{}\"` (entries replace discovery, so give each of the member's sets one; or name the backend in the file name, e.g. `diesel_sqlite.toml`)",
                    self.sets_table(),
                    path.file_name()
                        .and_then(|n| n.to_str())
                        .unwrap_or_default()
                );
                found.push(c);
            }
            if found.is_empty() {
                let default = self.dir.join("migrations");
                // Anything named `migrations` (a folder, but also a file or a broken link)
                // makes a set, so that a `migrations` that is not a folder is reported, not
                // silently ignored.
                if default.symlink_metadata().is_ok() {
                    found.push(single(
                        self.package.clone(),
                        None,
                        default.clone(),
                        FoundBy::MigrationsFolder,
                        default,
                    ));
                }
            }
            // Two config files on one migrations folder: which one describes it?
            for (i, a) in found.iter().enumerate() {
                if let Some(b) = found[i + 1..]
                    .iter()
                    .find(|b| same_dir(&b.migrations_dir, &a.migrations_dir))
                {
                    return Err(DiscoverError::Ambiguous {
                        path: b.found_at.clone(),
                        message: format!(
                            "{} and {} both name the migrations folder {}, so it is unclear which one's [print_schema] applies",
                            a.found_at.display(),
                            b.found_at.display(),
                            a.migrations_dir.display()
                        ),
                        help: format!(
                            "say which one describes the set: add `config-file = \"{}\"` to {} in {}",
                            b.found_at.file_name().and_then(|n| n.to_str()).unwrap_or_default(),
                            self.table(),
                            self.manifest.display()
                        ),
                    });
                }
            }
        }

        // A migrations folder of backend folders: one set per folder.
        let mut out = Vec::new();
        for c in found {
            let Some(folders) = backend_folders(&c.migrations_dir) else {
                out.push(c);
                continue;
            };
            if let Some(configured) = &c.keys.backend {
                let configured = config::parse_backend(configured, &self.manifest)?;
                if let Some((folder, b)) = folders.iter().find(|(_, b)| *b != configured) {
                    return Err(ConfigError::Invalid {
                        path: self.manifest.clone(),
                        at: format!(" ({} backend)", self.table()),
                        message: format!(
                            "`backend = \"{configured}\"` is set for the whole member, but its migrations folder holds the {b} folder {}",
                            c.migrations_dir.join(folder).display()
                        ),
                        help: format!("remove `backend` (each backend folder names its backend), or describe the sets one by one in {}", self.sets_table()),
                    }
                    .into());
                }
            }
            for (folder, backend) in folders {
                let dir = c.migrations_dir.join(&folder);
                out.push(Candidate {
                    name: format!("{}-{folder}", c.name),
                    keys: c.keys.clone(),
                    diesel_toml: c.diesel_toml.clone(),
                    migrations_dir: dir.clone(),
                    found_by: FoundBy::BackendFolder,
                    found_at: dir,
                    named_backend: Some((backend, BackendFrom::FolderName)),
                    table: format!(
                        "a {} entry with `migrations = \"{}\"`",
                        self.sets_table(),
                        relative_to(&c.migrations_dir.join(&folder), &self.dir).display()
                    ),
                });
            }
        }
        Ok(out)
    }

    fn sets(&self, cx: &SetConfig<'_>) -> Result<Vec<MigrationSet>, DiscoverError> {
        self.candidates()?
            .into_iter()
            .map(|c| self.set(c, cx))
            .collect()
    }

    fn set(&self, c: Candidate, cx: &SetConfig<'_>) -> Result<MigrationSet, DiscoverError> {
        let dir = &self.dir;
        let schema_file = if let Some(s) = &c.keys.schema {
            Some(dir.join(s))
        } else if let Some(d) = &c.diesel_toml {
            d.schema_file.clone()
        } else {
            Some(dir.join("src/schema.rs")).filter(|p| p.is_file())
        };
        let (backend, backend_from) = match &c.keys.backend {
            Some(b) => (
                Some(config::parse_backend(b, &self.manifest)?),
                Some(BackendFrom::Configured),
            ),
            None => match c.named_backend {
                Some((b, from)) => (Some(b), Some(from)),
                None => match (self.features_backend, cx.ws_backend) {
                    (Some(b), _) => (Some(b), Some(BackendFrom::DieselFeatures)),
                    (None, Some(b)) => (Some(b), Some(BackendFrom::Workspace)),
                    (None, None) => (None, None),
                },
            },
        };
        let lint =
            LintConfig::from_metadata(cx.ws_lint, c.keys.lint.as_ref()).map_err(|message| {
                ConfigError::Invalid {
                    path: self.manifest.clone(),
                    at: String::new(),
                    message,
                    help: "see docs/rules/README.md for the rule ids and levels".to_string(),
                }
            })?;
        let drift_ignore = cx
            .ws_drift_ignore
            .iter()
            .chain(c.keys.drift_ignore.iter().flatten())
            .map(|p| crate::catalog::IgnorePattern::parse(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|message| ConfigError::Invalid {
                path: self.manifest.clone(),
                at: " (drift-ignore)".to_string(),
                message,
                help:
                    "write each entry as KIND:PATTERN, e.g. `drift-ignore = [\"index:public.tmp_*\"]`"
                        .to_string(),
            })?;
        let init_sql = InitSql::resolve(
            c.keys.init_sql.as_ref(),
            &self.manifest,
            cx.ws_init_sql,
            cx.root_manifest,
        );
        // A `lock_timeout` in init-sql counts for the lint as one set in the migration.
        let lint = LintConfig {
            init_sql: init_sql.statements.clone(),
            ..lint
        };
        let print_schema = print_schema_of(c.diesel_toml.as_ref(), schema_file.as_deref())?;
        let format = FormatConfig::discover(dir, cx.root).map_err(ConfigError::Format)?;
        Ok(MigrationSet {
            name: c.name,
            package: self.package.clone(),
            dir: dir.clone(),
            manifest_path: self.manifest.clone(),
            migrations_dir: normalise(&c.migrations_dir),
            schema_file: schema_file.map(|p| normalise(&p)),
            diesel_toml: c.diesel_toml,
            database_url_env: c
                .keys
                .database_url_env
                .clone()
                .unwrap_or_else(|| cx.default_env.to_string()),
            backend,
            backend_from,
            found_by: c.found_by,
            found_at: c.found_at,
            depends_on: Vec::new(),
            lint,
            print_schema,
            format,
            virtual_root: self.virtual_root,
            table: c.table,
            schema_check: c.keys.schema_check,
            init_sql,
            write_schema: c.keys.write_schema.or(cx.ws_write_schema).unwrap_or(false),
            drift_ignore,
            targets_query: match (c.keys.targets_query, c.keys.targets_url_env) {
                (Some(query), Some(url_env)) => {
                    Some(crate::config::TargetsQuery { query, url_env })
                }
                _ => None,
            },
        })
    }
}

/// The backend a set gets from names: its migrations folder's name (`migrations/sqlite`,
/// `migrations_pg`), else its config file's (`diesel_postgres.toml`).
fn name_backend(migrations: &Path, file: Option<&Path>) -> Option<(Backend, BackendFrom)> {
    migrations
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(backend_in_name)
        .map(|b| (b, BackendFrom::FolderName))
        .or_else(|| {
            file?
                .file_stem()
                .and_then(|n| n.to_str())
                .and_then(backend_in_name)
                .map(|b| (b, BackendFrom::FileName))
        })
}

fn same_dir(a: &Path, b: &Path) -> bool {
    normalise(a) == normalise(b)
}

/// `path` without `.` and with `..` folded where it follows a folder name, as written (no
/// links are followed): `db-mysql/../migrations/mysql` is `migrations/mysql`.
pub fn normalise(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn relative_to(path: &Path, base: &Path) -> PathBuf {
    path.strip_prefix(base).unwrap_or(path).to_path_buf()
}

/// The print-schema sections of a set, with the set's schema file on the default section.
fn print_schema_of(
    diesel_toml: Option<&DieselToml>,
    schema_file: Option<&Path>,
) -> Result<Vec<(String, PrintSchemaOptions)>, ConfigError> {
    let mut sections = match diesel_toml {
        Some(d) => {
            let empty = toml::Value::Table(Default::default());
            let value = d.print_schema.as_ref().unwrap_or(&empty);
            let dir = d.path.parent().unwrap_or(Path::new("."));
            print_schema_sections(value, dir).map_err(|source| ConfigError::PrintSchema {
                path: d.path.clone(),
                source,
            })?
        }
        None => vec![("default".to_string(), PrintSchemaOptions::default())],
    };
    if let Some((_, default)) = sections.iter_mut().find(|(k, _)| k == "default") {
        if let Some(file) = schema_file {
            default.file = Some(file.to_path_buf());
        }
    }
    Ok(sections)
}

impl Workspace {
    /// `path` relative to the workspace root when it is inside it (`.` for the root itself),
    /// for text the tool writes into files.
    pub fn relative(&self, path: &Path) -> PathBuf {
        match path.strip_prefix(&self.root) {
            Ok(rel) if rel.as_os_str().is_empty() => PathBuf::from("."),
            Ok(rel) => rel.to_path_buf(),
            Err(_) => path.to_path_buf(),
        }
    }
}

/// Kahn's algorithm over member names; among members that are ready, by name. Members in a
/// cycle (which cargo forbids for normal dependencies) are appended by name.
fn dependency_order(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut remaining: BTreeMap<&str, BTreeSet<&str>> = edges
        .iter()
        .map(|(k, v)| {
            (
                k.as_str(),
                v.iter()
                    .map(String::as_str)
                    .filter(|d| edges.contains_key(*d))
                    .collect(),
            )
        })
        .collect();
    let mut order = Vec::new();
    loop {
        let ready: Vec<&str> = remaining
            .iter()
            .filter(|(_, deps)| deps.is_empty())
            .map(|(k, _)| *k)
            .collect();
        let Some(next) = ready.first().copied() else {
            break;
        };
        remaining.remove(next);
        for deps in remaining.values_mut() {
            deps.remove(next);
        }
        order.push(next.to_string());
    }
    order.extend(remaining.keys().map(|k| k.to_string()));
    order
}

fn transitive(edges: &BTreeMap<String, BTreeSet<String>>, start: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<&str> = edges
        .get(start)
        .map(|d| d.iter().map(String::as_str).collect())
        .unwrap_or_default();
    while let Some(n) = stack.pop() {
        if seen.insert(n.to_string()) {
            if let Some(d) = edges.get(n) {
                stack.extend(d.iter().map(String::as_str));
            }
        }
    }
    seen
}

/// Narrow the sets to `-p` (all when empty) minus `--exclude`. Unknown names are errors.
pub fn select(
    ws: &Workspace,
    packages: &[String],
    exclude: &[String],
) -> Result<Vec<MigrationSet>, DiscoverError> {
    let names: Vec<String> = ws.sets.iter().map(|s| s.name.clone()).collect();
    let named =
        |s: &MigrationSet, list: &[String]| list.contains(&s.name) || list.contains(&s.package);
    for name in packages.iter().chain(exclude) {
        if !ws
            .sets
            .iter()
            .any(|s| s.name == *name || s.package == *name)
        {
            if ws.disabled.contains(name) {
                return Err(DiscoverError::PackageDisabled { name: name.clone() });
            }
            if ws.members.contains(name) {
                return Err(DiscoverError::PackageWithoutMigrations { name: name.clone() });
            }
            return Err(DiscoverError::UnknownPackage {
                name: name.clone(),
                available: names,
            });
        }
    }
    Ok(ws
        .sets
        .iter()
        .filter(|s| packages.is_empty() || named(s, packages))
        .filter(|s| !named(s, exclude))
        .cloned()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edges(pairs: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn names_give_backends_only_when_they_name_one() {
        assert_eq!(backend_in_name("diesel_postgres"), Some(Backend::Postgres));
        assert_eq!(backend_in_name("migrations_pg"), Some(Backend::Postgres));
        assert_eq!(backend_in_name("diesel-sqlite"), Some(Backend::Sqlite));
        assert_eq!(backend_in_name("MariaDB"), Some(Backend::Mysql));
        assert_eq!(backend_in_name("diesel_local"), None);
        assert_eq!(
            backend_in_name("pg_to_mysql"),
            None,
            "two backends: neither"
        );
        assert_eq!(backend_in_name("migrations"), None);
        assert_eq!(
            config_suffix(Path::new("/a/diesel_postgres.toml")),
            "postgres"
        );
        assert_eq!(config_suffix(Path::new("/a/diesel-pg.toml")), "pg");
        assert_eq!(config_suffix(Path::new("/a/mysql.toml")), "mysql");
    }

    #[test]
    fn paths_are_shown_normalised() {
        assert_eq!(
            normalise(Path::new("/ws/db-mysql/../migrations/./mysql")),
            Path::new("/ws/migrations/mysql")
        );
        assert_eq!(normalise(Path::new("../x/./y")), Path::new("../x/y"));
    }

    #[test]
    fn dependency_order_then_name() {
        let e = edges(&[
            ("web", &["core"]),
            ("core", &[]),
            ("billing", &["core"]),
            ("admin", &["web"]),
        ]);
        assert_eq!(dependency_order(&e), ["core", "billing", "web", "admin"]);
        assert_eq!(
            transitive(&e, "admin").into_iter().collect::<Vec<_>>(),
            ["core", "web"]
        );
    }
}
