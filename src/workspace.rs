//! Workspace discovery: from `cargo metadata` to the migration sets of a workspace.
//!
//! A migration set is one folder of diesel migrations, the database it belongs to (named by
//! an environment variable) and the schema file that declares it. Sets are found per member:
//! a `diesel.toml`, else a `migrations/` folder, with `[package.metadata.migrate]` overriding
//! both and `[workspace.metadata.migrate]` giving defaults. A virtual workspace root with a
//! diesel.toml is a set too. Sets come back in workspace dependency order (a member that
//! depends on another member by path comes after it), then by name.
//!
//! This module never walks `target/` and never touches a database.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use cargo_metadata::{DependencyKind, Metadata, MetadataCommand};
use serde::Serialize;

use crate::backend::Backend;
use crate::config::{self, ConfigError, DieselToml, InitSql, PackageMigrate, WorkspaceMigrate};
use crate::lint::LintConfig;
use crate::schema::{print_schema_sections, FormatConfig, PrintSchemaOptions};

/// Why a folder is a migration set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FoundBy {
    DieselToml,
    MigrationsFolder,
    PackageMetadata,
}

/// One migration set.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationSet {
    /// The package name (or, for a virtual root, the workspace folder's name).
    pub name: String,
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
    /// The backend from configuration; otherwise it comes from the URL's scheme.
    pub backend: Option<Backend>,
    pub found_by: FoundBy,
    /// Sets this set depends on (by path dependencies, directly or through other members).
    pub depends_on: Vec<String>,
    /// The lint levels: `[workspace.metadata.migrate.lint]` with the package's table on top.
    #[serde(skip)]
    pub lint: LintConfig,
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
    /// `init-sql`: what every connection opened for the set runs first.
    #[serde(skip)]
    pub init_sql: InitSql,
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
    pub fn config_table(&self) -> &'static str {
        if self.virtual_root {
            "[workspace.metadata.migrate]"
        } else {
            "[package.metadata.migrate]"
        }
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
}

fn available_hint(available: &[String]) -> String {
    if available.is_empty() {
        "\nhelp: no member owns migrations; add a `migrations/` folder or a diesel.toml to a member"
            .to_string()
    } else {
        format!("\nhelp: the migration sets are: {}", available.join(", "))
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
    from_metadata(&metadata)
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
        let cx = SetConfig {
            ws_backend,
            default_env: &default_env,
            ws_lint: ws_cfg.lint.as_ref(),
            ws_init_sql: ws_cfg.init_sql.as_ref(),
            root: &root,
            root_manifest: &root_manifest,
            virtual_root: false,
        };
        if let Some(set) = set_for(&name, &dir, &manifest, &pkg_cfg, &cx)? {
            sets.push(set);
        }
    }

    // A virtual root (no package at the root) with its own diesel.toml.
    if !member_dirs.contains_key(&root) && root.join("diesel.toml").is_file() {
        let name = root
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("workspace")
            .to_string();
        let cx = SetConfig {
            ws_backend,
            default_env: &default_env,
            ws_lint: ws_cfg.lint.as_ref(),
            ws_init_sql: ws_cfg.init_sql.as_ref(),
            root: &root,
            root_manifest: &root_manifest,
            virtual_root: true,
        };
        if let Some(set) = set_for(
            &name,
            &root,
            &root_manifest,
            &PackageMigrate::default(),
            &cx,
        )? {
            sets.push(set);
        }
    }

    let order = dependency_order(&edges);
    let set_names: BTreeSet<String> = sets.iter().map(|s| s.name.clone()).collect();
    for set in &mut sets {
        set.depends_on = transitive(&edges, &set.name)
            .into_iter()
            .filter(|n| set_names.contains(n))
            .collect();
    }
    let rank = |name: &str| order.iter().position(|n| n == name).unwrap_or(usize::MAX);
    sets.sort_by(|a, b| {
        rank(&a.name)
            .cmp(&rank(&b.name))
            .then_with(|| a.name.cmp(&b.name))
    });

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
    root: &'a Path,
    root_manifest: &'a Path,
    virtual_root: bool,
}

fn set_for(
    name: &str,
    dir: &Path,
    manifest: &Path,
    cfg: &PackageMigrate,
    cx: &SetConfig<'_>,
) -> Result<Option<MigrationSet>, DiscoverError> {
    let diesel_path = dir.join("diesel.toml");
    let diesel_toml = if diesel_path.is_file() {
        Some(DieselToml::read(&diesel_path)?)
    } else {
        None
    };
    let default_migrations = dir.join("migrations");

    let (migrations_dir, found_by) = if let Some(m) = &cfg.migrations {
        (dir.join(m), FoundBy::PackageMetadata)
    } else if let Some(d) = &diesel_toml {
        (
            d.migrations_dir
                .clone()
                .unwrap_or_else(|| default_migrations.clone()),
            FoundBy::DieselToml,
        )
    } else if default_migrations.symlink_metadata().is_ok() {
        // Anything named `migrations` (a folder, but also a file or a broken link) makes a
        // set, so that a `migrations` that is not a folder is reported, not silently ignored.
        (default_migrations, FoundBy::MigrationsFolder)
    } else {
        return Ok(None);
    };

    let schema_file = if let Some(s) = &cfg.schema {
        Some(dir.join(s))
    } else if let Some(d) = &diesel_toml {
        d.schema_file.clone()
    } else {
        Some(dir.join("src/schema.rs")).filter(|p| p.is_file())
    };
    let backend = match &cfg.backend {
        Some(b) => Some(config::parse_backend(b, manifest)?),
        None => cx.ws_backend,
    };
    let lint = LintConfig::from_metadata(cx.ws_lint, cfg.lint.as_ref()).map_err(|message| {
        ConfigError::Invalid {
            path: manifest.to_path_buf(),
            at: String::new(),
            message,
            help: "see docs/rules/README.md for the rule ids and levels".to_string(),
        }
    })?;
    let init_sql = InitSql::resolve(
        cfg.init_sql.as_ref(),
        manifest,
        cx.ws_init_sql,
        cx.root_manifest,
    );
    let lint = LintConfig {
        init_sql: init_sql.statements.clone(),
        ..lint
    };
    let print_schema = print_schema_of(diesel_toml.as_ref(), schema_file.as_deref())?;
    let format = FormatConfig::discover(dir, cx.root).map_err(ConfigError::Format)?;
    Ok(Some(MigrationSet {
        name: name.to_string(),
        dir: dir.to_path_buf(),
        manifest_path: manifest.to_path_buf(),
        migrations_dir,
        schema_file,
        diesel_toml,
        database_url_env: cfg
            .database_url_env
            .clone()
            .unwrap_or_else(|| cx.default_env.to_string()),
        backend,
        found_by,
        depends_on: Vec::new(),
        lint,
        print_schema,
        format,
        virtual_root: cx.virtual_root,
        init_sql,
    }))
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
    for name in packages.iter().chain(exclude) {
        if !names.contains(name) {
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
        .filter(|s| packages.is_empty() || packages.contains(&s.name))
        .filter(|s| !exclude.contains(&s.name))
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
