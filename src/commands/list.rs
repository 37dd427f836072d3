//! `cargo migrate list`: the migration sets of the workspace and their migrations, offline.

use super::Outcome;
use crate::output::Printer;

use crate::backend::Backend;
use crate::diagnostic::Diagnostic;
use crate::output::{Human, Paint, Render};
use crate::settings::Resolved;
use crate::workspace::{BackendFrom, FoundBy};
use serde::Serialize;
use std::path::PathBuf;

/// `list`.
pub fn run(resolved: &Resolved, printer: &Printer) -> anyhow::Result<Outcome> {
    let problems = resolved.problems();
    let root = &resolved.workspace.root;
    let sets = resolved
        .sets
        .iter()
        .map(|ctx| {
            let set = &ctx.set;
            ListedSet {
                name: set.name.clone(),
                package: set.package.clone(),
                dir: if &set.dir == root {
                    ".".into()
                } else {
                    set.dir.clone()
                },
                backend: ctx.backend(),
                migrations_dir: set.migrations_dir.clone(),
                schema_file: set.schema_file.clone(),
                database_url_env: set.database_url_env.clone(),
                database: ctx.url.as_ref().map(|(u, _)| u.to_string()),
                backend_from: set.backend_from.map(ListedBackendFrom::from).or_else(|| {
                    ctx.url
                        .as_ref()
                        .and_then(|(u, _)| u.backend())
                        .map(|_| ListedBackendFrom::DatabaseUrl)
                }),
                found_by: set.found_by,
                found_at: set.found_at.clone(),
                depends_on: set.depends_on.clone(),
                migrations: ctx
                    .folder
                    .migrations
                    .iter()
                    .map(|m| ListedMigration {
                        version: m.version.clone(),
                        name: m.name.clone(),
                        dir_name: m.dir_name.clone(),
                        has_down: m.has_down(),
                        run_in_transaction: m.run_in_transaction,
                    })
                    .collect(),
                url_origin: ctx.url.as_ref().map(|(_, s)| s.to_string()),
                backend_hint: ctx.backend().is_none().then(|| {
                    format!(
                        "unknown: add `backend = \"sqlite\"` (or postgres, mysql) to {} in {}, or set {}",
                        set.config_table(),
                        set.manifest_path.display(),
                        set.database_url_env
                    )
                }),
                other_backend_url: ctx.other_backend_url.as_ref().map(|(source, b)| {
                    format!("none: the URL from {source} is a {b} URL, for a {b} set")
                }),
                has_problems: !ctx.folder.problems.is_empty(),
            }
        })
        .collect();
    let ok = problems.is_empty();
    printer.report(&ListReport {
        command: "list",
        ok,
        workspace_root: root.clone(),
        sets,
        problems,
    });
    Ok(if ok {
        Outcome::Success
    } else {
        Outcome::Unusable
    })
}

// ---------------------------------------------------------------------------------------------
// The report

/// `list`.
#[derive(Debug, Clone, Serialize)]
pub struct ListReport {
    /// `"list"`.
    pub command: &'static str,
    /// `false` when a folder has problems.
    pub ok: bool,
    /// The workspace root, absolute.
    pub workspace_root: PathBuf,
    /// The selected sets.
    pub sets: Vec<ListedSet>,
    /// Folder problems.
    pub problems: Vec<Diagnostic>,
}

/// One set of `list`.
#[derive(Debug, Clone, Serialize)]
pub struct ListedSet {
    /// The set's name.
    pub name: String,
    /// The package that owns it (`-p` takes either).
    pub package: String,
    /// The package folder (`.` for the workspace root).
    pub dir: PathBuf,
    /// The backend, when known.
    pub backend: Option<Backend>,
    /// The migrations folder.
    pub migrations_dir: PathBuf,
    /// The schema file.
    pub schema_file: Option<PathBuf>,
    /// The variable its URL is read from.
    pub database_url_env: String,
    /// The URL in use (password hidden).
    pub database: Option<String>,
    /// Where the backend came from.
    pub backend_from: Option<ListedBackendFrom>,
    /// Why it is a set.
    pub found_by: FoundBy,
    /// The file or folder that made it a set.
    pub found_at: PathBuf,
    /// Sets that run before it.
    pub depends_on: Vec<String>,
    /// Its valid migrations.
    pub migrations: Vec<ListedMigration>,
    /// Where the URL came from (human text only).
    #[serde(skip)]
    pub url_origin: Option<String>,
    /// What to write when the backend is unknown (human text only).
    #[serde(skip)]
    pub backend_hint: Option<String>,
    /// Why a URL that was found is not this set's (human text only).
    #[serde(skip)]
    pub other_backend_url: Option<String>,
    /// Whether its folder has problems (human text only).
    #[serde(skip)]
    pub has_problems: bool,
}

/// Where a listed set's backend came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ListedBackendFrom {
    /// A `backend` key.
    Configured,
    /// The migrations folder's name.
    FolderName,
    /// The diesel config file's name.
    FileName,
    /// The package's diesel dependency features.
    DieselFeatures,
    /// `[workspace.metadata.migrate] backend`.
    Workspace,
    /// The database URL's scheme.
    DatabaseUrl,
}

impl From<BackendFrom> for ListedBackendFrom {
    fn from(b: BackendFrom) -> Self {
        match b {
            BackendFrom::Configured => ListedBackendFrom::Configured,
            BackendFrom::FolderName => ListedBackendFrom::FolderName,
            BackendFrom::FileName => ListedBackendFrom::FileName,
            BackendFrom::DieselFeatures => ListedBackendFrom::DieselFeatures,
            BackendFrom::Workspace => ListedBackendFrom::Workspace,
        }
    }
}

fn found_text(set: &ListedSet) -> String {
    let kind = match set.found_by {
        FoundBy::DieselToml => "",
        FoundBy::MigrationsFolder => "migrations folder",
        FoundBy::PackageMetadata => "[package.metadata.migrate]",
        FoundBy::BackendFolder => "backend folder",
        FoundBy::DieselConfigFile => "diesel config file",
        FoundBy::DieselConfigFileEnv => "DIESEL_CONFIG_FILE",
        FoundBy::SetsTable => "sets entry in",
        FoundBy::Bundle => "bundle",
    };
    let backend = match set.backend_from {
        Some(ListedBackendFrom::FolderName) => "; backend from the folder name",
        Some(ListedBackendFrom::FileName) => "; backend from the file name",
        Some(ListedBackendFrom::DieselFeatures) => {
            "; backend from the diesel dependency's features"
        }
        Some(ListedBackendFrom::Workspace) => "; backend from [workspace.metadata.migrate]",
        Some(ListedBackendFrom::DatabaseUrl) => "; backend from the database URL",
        Some(ListedBackendFrom::Configured) | None => "",
    };
    let at = set.found_at.display();
    if kind.is_empty() {
        format!("{at}{backend}")
    } else {
        format!("{kind} {at}{backend}")
    }
}

/// One migration of `list`.
#[derive(Debug, Clone, Serialize)]
pub struct ListedMigration {
    /// diesel's version.
    pub version: String,
    /// The name after the first `_`.
    pub name: String,
    /// The folder name.
    pub dir_name: String,
    /// Whether it has a down.sql.
    pub has_down: bool,
    /// From its metadata.toml.
    pub run_in_transaction: bool,
}

impl Render for ListReport {
    fn findings(&self) -> Vec<&crate::diagnostic::Diagnostic> {
        self.problems.iter().collect()
    }

    fn human(&self, p: &Human<'_>) {
        let r = self;
        if r.sets.is_empty() {
            p.line("no migration sets in this workspace (no member has a diesel.toml or a migrations/ folder)",
        );
        }
        for set in &r.sets {
            let backend = set
                .backend
                .map(|b| b.to_string())
                .unwrap_or_else(|| "backend unknown".to_string());
            let url = match (&set.database, &set.url_origin) {
                (Some(url), Some(origin)) => format!("{url} (from {origin})"),
                (Some(url), None) => url.clone(),
                (None, _) => set
                    .other_backend_url
                    .clone()
                    .unwrap_or_else(|| format!("${} not set", set.database_url_env)),
            };
            p.result(format!(
                "{} {}",
                set.name.strong(),
                format!("[{backend}]").dim()
            ));
            p.line(format!("  found by:   {}", found_text(set)));
            if let Some(hint) = &set.backend_hint {
                p.line(format!("  backend:    {hint}"));
            }
            p.line(format!("  migrations: {}", set.migrations_dir.display()));
            if let Some(schema) = &set.schema_file {
                p.line(format!("  schema:     {}", schema.display()));
            }
            p.line(format!("  database:   {url}"));
            if !set.depends_on.is_empty() {
                p.line(format!("  after:      {}", set.depends_on.join(", ")));
            }
            for m in &set.migrations {
                let mut notes = Vec::new();
                if !m.has_down {
                    notes.push("no down.sql");
                }
                if !m.run_in_transaction {
                    notes.push("no transaction");
                }
                let notes = if notes.is_empty() {
                    String::new()
                } else {
                    format!("  ({})", notes.join(", "))
                };
                p.line(format!("    {}{}", m.dir_name, notes.dim()));
            }
            if set.migrations.is_empty() && !set.has_problems {
                p.line("    (no migrations yet)".dim().to_string());
            }
        }
        if !r.problems.is_empty() {
            p.diagnostics(&r.problems);
        }
    }
}
