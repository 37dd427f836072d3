//! What each command reports: typed values that are the JSON contract of `docs/json.md`.
//!
//! A command builds one of these and hands it to the printer, which writes it as one JSON
//! document (`--format json`) or as text for people. Every JSON field is a field here; fields
//! marked `#[serde(skip)]` are extra facts only the human text uses. Paths are absolute here
//! and made relative to the workspace root by the printer. Documents are written with their
//! keys in alphabetical order, at every level.

use std::path::PathBuf;

use serde::Serialize;

use crate::backend::Backend;
use crate::diagnostic::Diagnostic;
use crate::failure::MigrationFailure;
use crate::generate::Note;
use crate::lint::RuleInfo;
use crate::migration::Direction;
use crate::workspace::FoundBy;

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
    /// Why it is a set.
    pub found_by: FoundBy,
    /// Sets that run before it.
    pub depends_on: Vec<String>,
    /// Its valid migrations.
    pub migrations: Vec<ListedMigration>,
    /// Where the URL came from (human text only).
    #[serde(skip)]
    pub url_origin: Option<String>,
    /// Whether its folder has problems (human text only).
    #[serde(skip)]
    pub has_problems: bool,
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

/// `status`.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// `"status"`.
    pub command: &'static str,
    /// `false` only under `--exit-code` with something pending or unknown.
    pub ok: bool,
    /// Pending migrations over all sets.
    pub pending: usize,
    /// Unknown versions over all sets.
    pub unknown: usize,
    /// One entry per set.
    pub sets: Vec<SetStatus>,
}

/// The state of one set's database.
#[derive(Debug, Clone, Serialize)]
pub struct SetStatus {
    /// The set's name.
    pub set: String,
    /// The database (password hidden).
    pub database: String,
    /// `false` when the SQLite file does not exist yet.
    pub exists: bool,
    /// Applied migrations of the folder, ascending.
    pub applied: Vec<String>,
    /// Pending migrations, ascending.
    pub pending: Vec<String>,
    /// Recorded as applied, missing from the folder (and from sets sharing the database).
    pub unknown: Vec<String>,
    /// Pending migrations older than the newest applied one.
    pub out_of_order: Vec<String>,
    /// The folder's migrations as (version, folder name), for the human listing.
    #[serde(skip)]
    pub migrations: Vec<(String, String)>,
}

/// `apply`.
#[derive(Debug, Clone, Serialize)]
pub struct ApplyReport {
    /// `"apply"`.
    pub command: &'static str,
    /// `false` when a migration failed.
    pub ok: bool,
    /// `--dry-run`.
    pub dry_run: bool,
    /// One entry per set worked on.
    pub sets: Vec<ApplySet>,
}

/// One set of `apply`.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ApplySet {
    /// The set's name.
    pub set: String,
    /// The database (password hidden).
    pub database: String,
    /// Applied by this run.
    pub applied: Vec<StepReport>,
    /// Would be applied (dry run), or still pending after a failure.
    pub pending: Vec<String>,
    /// The failure that stopped the run.
    pub failure: Option<MigrationFailure>,
}

/// One migration that ran.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// diesel's version.
    pub version: String,
    /// The folder name.
    pub dir_name: String,
    /// Which file ran (not in `apply`'s document).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// How long it took, in milliseconds.
    pub duration_ms: f64,
}

/// `revert` and `redo`.
#[derive(Debug, Clone, Serialize)]
pub struct RevertReport {
    /// `"revert"` or `"redo"`.
    pub command: &'static str,
    /// `false` when a file failed.
    pub ok: bool,
    /// `--dry-run`.
    pub dry_run: bool,
    /// The set.
    pub set: String,
    /// Dry run: the versions that would be reverted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versions: Option<Vec<String>>,
    /// What ran, in order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<StepReport>>,
    /// The failure that stopped the run (`null` when none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Option<MigrationFailure>>,
}

/// `check`.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// `"check"`.
    pub command: &'static str,
    /// `false` on an error, or a warning under `--deny warnings`.
    pub ok: bool,
    /// Errors over all sets.
    pub errors: usize,
    /// Warnings over all sets.
    pub warnings: usize,
    /// One entry per set.
    pub sets: Vec<CheckSet>,
    /// `--deny warnings` (human text only).
    #[serde(skip)]
    pub deny_warnings: bool,
}

/// What `check` found for one set.
#[derive(Debug, Clone, Serialize)]
pub struct CheckSet {
    /// The set's name.
    pub set: String,
    /// Every finding.
    pub findings: Vec<Diagnostic>,
    /// The schema files (or databases) that differ.
    pub drift: Vec<Drift>,
    /// Whether the schema was compared.
    pub schema_checked: bool,
    /// How many migrations the set has (human text only).
    #[serde(skip)]
    pub migrations: usize,
}

/// The difference between a schema and the history's.
#[derive(Debug, Clone, Serialize)]
pub struct Drift {
    /// The schema file, or the database followed by `(live)`.
    pub file: PathBuf,
    /// A unified diff, without colors.
    pub diff: String,
}

/// `schema`.
#[derive(Debug, Clone, Serialize)]
pub struct SchemaReport {
    /// `"schema"`.
    pub command: &'static str,
    /// `true`.
    pub ok: bool,
    /// `--write`.
    pub written: bool,
    /// Every section of every set.
    pub sections: Vec<SchemaSection>,
}

/// One rendered section of `schema`.
#[derive(Debug, Clone, Serialize)]
pub struct SchemaSection {
    /// The set's name.
    pub set: String,
    /// `default` or the section's name.
    pub section: String,
    /// The schema file.
    pub file: Option<PathBuf>,
    /// The schema text.
    pub schema: String,
    /// What `--write` did (human text only).
    #[serde(skip)]
    pub outcome: WriteOutcome,
}

/// What happened to a schema file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WriteOutcome {
    /// Printed, not written.
    #[default]
    Printed,
    /// The file already held this text.
    Unchanged,
    /// The file was written.
    Written,
}

/// `generate`.
#[derive(Debug, Clone, Serialize)]
pub struct GenerateReport {
    /// `"generate"`.
    pub command: &'static str,
    /// `true`.
    pub ok: bool,
    /// The set.
    pub set: String,
    /// The new migration folder; `null` when nothing was created.
    pub created: Option<PathBuf>,
    /// Its diesel version; `null` when nothing was created.
    pub version: Option<String>,
    /// The files written.
    pub files: Vec<PathBuf>,
    /// The schema changes (`--diff-schema`).
    pub changes: Vec<String>,
    /// Notes for the reviewer.
    pub notes: Vec<Note>,
    /// The schema file compared with (human text only).
    #[serde(skip)]
    pub schema_file: Option<PathBuf>,
    /// Whether `--diff-schema` ran (human text only).
    #[serde(skip)]
    pub diff_schema: bool,
}

/// `rules`.
#[derive(Debug, Clone, Serialize)]
pub struct RulesReport {
    /// `"rules"`.
    pub command: &'static str,
    /// `true`.
    pub ok: bool,
    /// Every rule.
    pub rules: Vec<RuleInfo>,
}

/// `baseline`.
#[derive(Debug, Clone, Serialize)]
pub struct BaselineReport {
    /// `"baseline"`.
    pub command: &'static str,
    /// `false` when it refused.
    pub ok: bool,
    /// The set.
    pub set: String,
    /// The version baselined to.
    pub to: String,
    /// Whether the live schema matched the history's.
    pub schema_matches: bool,
    /// The versions recorded.
    pub recorded: Vec<String>,
    /// The differences found, as unified diffs (empty when the schema matches).
    pub diffs: Vec<String>,
    /// `--force` (human text only).
    #[serde(skip)]
    pub forced: bool,
}

/// `init`.
#[derive(Debug, Clone, Serialize)]
pub struct InitReport {
    /// `"init"`.
    pub command: &'static str,
    /// `true`.
    pub ok: bool,
    /// Files written.
    pub written: Vec<PathBuf>,
    /// Files that existed and were left alone.
    pub kept: Vec<PathBuf>,
    /// Every file in the order it was looked at, and whether it was written (human text only).
    #[serde(skip)]
    pub files: Vec<(PathBuf, bool)>,
}

/// Findings that stopped a command before it ran anything.
#[derive(Debug, Clone, Serialize)]
pub struct ProblemsReport {
    /// The command that stopped.
    pub command: &'static str,
    /// `false`.
    pub ok: bool,
    /// Every finding.
    pub problems: Vec<Diagnostic>,
    /// Whether these are folder problems (so nothing was run), or a finding of the command's
    /// own work (human text only).
    #[serde(skip)]
    pub folder_problems: bool,
}

/// A run stopped by Ctrl-C or SIGTERM.
#[derive(Debug, Clone, Serialize)]
pub struct InterruptedReport {
    /// `"apply"`, `"revert"` or `"redo"`.
    pub command: &'static str,
    /// `false`.
    pub ok: bool,
    /// `true`.
    pub interrupted: bool,
    /// The set that was running.
    pub set: String,
    /// Finished before the stop.
    pub done: Vec<String>,
    /// The migration that was running and was rolled back.
    pub rolled_back: Option<String>,
    /// Not started.
    pub not_run: Vec<String>,
    /// Whether the backend commits DDL implicitly (human text only).
    #[serde(skip)]
    pub partial_possible: bool,
}

/// An error that stopped a command.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorReport {
    /// The command.
    pub command: &'static str,
    /// `false`.
    pub ok: bool,
    /// The message and its causes, joined by `: `.
    pub error: String,
    /// The message and its causes, one per entry (human text only).
    #[serde(skip)]
    pub chain: Vec<String>,
}

/// Any report.
#[derive(Debug, Clone, Copy)]
pub enum Report<'a> {
    /// `list`.
    List(&'a ListReport),
    /// `status`.
    Status(&'a StatusReport),
    /// `apply`.
    Apply(&'a ApplyReport),
    /// `revert`, `redo`.
    Revert(&'a RevertReport),
    /// `check`.
    Check(&'a CheckReport),
    /// `schema`.
    Schema(&'a SchemaReport),
    /// `generate`.
    Generate(&'a GenerateReport),
    /// `rules`.
    Rules(&'a RulesReport),
    /// `baseline`.
    Baseline(&'a BaselineReport),
    /// `init`.
    Init(&'a InitReport),
    /// Findings that stopped a command.
    Problems(&'a ProblemsReport),
    /// An interrupted run.
    Interrupted(&'a InterruptedReport),
    /// An error.
    Error(&'a ErrorReport),
}

impl Report<'_> {
    /// The JSON document.
    pub fn to_json(&self) -> serde_json::Value {
        let value = match self {
            Report::List(r) => serde_json::to_value(r),
            Report::Status(r) => serde_json::to_value(r),
            Report::Apply(r) => serde_json::to_value(r),
            Report::Revert(r) => serde_json::to_value(r),
            Report::Check(r) => serde_json::to_value(r),
            Report::Schema(r) => serde_json::to_value(r),
            Report::Generate(r) => serde_json::to_value(r),
            Report::Rules(r) => serde_json::to_value(r),
            Report::Baseline(r) => serde_json::to_value(r),
            Report::Init(r) => serde_json::to_value(r),
            Report::Problems(r) => serde_json::to_value(r),
            Report::Interrupted(r) => serde_json::to_value(r),
            Report::Error(r) => serde_json::to_value(r),
        };
        // Serializing these plain structs cannot fail (no maps with non-string keys).
        value.unwrap_or(serde_json::Value::Null)
    }
}
