//! Report types more than one command shares: a migration that ran, a drift, findings that
//! stopped a command, an interrupted run, an error.
//!
//! Each command's own report type lives in its file under `commands/`; like these, it is a
//! `Serialize` struct whose fields are the JSON contract of `docs/json.md` (fields marked
//! `#[serde(skip)]` are facts only the human text uses), with a [`Render`] impl for the human
//! text. Paths are absolute here and made relative to the workspace root by the printer.

use std::path::PathBuf;

use serde::Serialize;

use crate::diagnostic::Diagnostic;
use crate::migration::Direction;
use crate::output::{count, Human, Paint, Render};

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

/// The difference between a schema and the history's.
#[derive(Debug, Clone, Serialize)]
pub struct Drift {
    /// The schema file, or the database followed by `(live)`.
    pub file: PathBuf,
    /// A unified diff, without colors.
    pub diff: String,
}

/// `cache clean`.
#[derive(Debug, Clone, Serialize)]
pub struct CacheCleanReport {
    /// `"cache clean"`.
    pub command: &'static str,
    /// `true`.
    pub ok: bool,
    /// The cache folder.
    pub dir: PathBuf,
    /// Files deleted.
    pub files: usize,
    /// Bytes freed.
    pub bytes: u64,
    /// Saved replay states dropped on scratch servers (databases).
    pub state_databases: usize,
    /// Scratch servers whose saved states could not be dropped, with the error.
    pub unreachable: Vec<String>,
}

impl Render for CacheCleanReport {
    fn human(&self, p: &Human<'_>) {
        for error in &self.unreachable {
            p.warn(format!(
                "saved replay states stay on a scratch server: {error}\nhelp: run `cargo migrate cache clean` again when the server is up"
            ));
        }
        let states = if self.state_databases > 0 {
            format!(
                " and {} from scratch servers",
                crate::output::count(self.state_databases, "saved replay state")
            )
        } else {
            String::new()
        };
        p.result(format!(
            "deleted {} ({} bytes) from {}{states}",
            crate::output::count(self.files, "cached file"),
            self.bytes,
            self.dir.display()
        ));
    }
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
    /// MySQL/MariaDB: the statements of the stopped migration that stayed committed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub committed_statements: Vec<crate::lint::implicit_commit::StatementRef>,
    /// The statement that was running when the session was ended, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<crate::lint::implicit_commit::StatementRef>,
    /// Whether the committed statements were recorded in `__cargo_migrate_partial`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial_recorded: Option<bool>,
    /// The stopped migration's version, when statements of it stayed committed.
    #[serde(skip)]
    pub version: Option<String>,
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

impl Render for ProblemsReport {
    fn findings(&self) -> Vec<&Diagnostic> {
        self.problems.iter().collect()
    }

    fn human(&self, p: &Human<'_>) {
        let r = self;
        p.diagnostics(&r.problems);
        if r.folder_problems {
            p.stderr(&format!(
                "{} {} in migration folders; nothing was run\nhelp: fix the files named above, then run `cargo migrate {}` again\n",
                "error:".bad().strong(),
                count(r.problems.len(), "problem"),
                r.command
            ),
        );
        }
    }
}

impl Render for InterruptedReport {
    fn human(&self, p: &Human<'_>) {
        let r = self;
        let mut msg = format!("interrupted: set `{}`", r.set);
        if let Some(running) = &r.rolled_back {
            if !r.committed_statements.is_empty() {
                let list = r
                    .committed_statements
                    .iter()
                    .map(|s| format!("statement {} (line {}) `{}`", s.statement, s.line, s.text))
                    .collect::<Vec<_>>()
                    .join(", ");
                msg.push_str(&format!(
                    ": {running} was stopped part way{}; its open transaction was rolled back, but these statements of it stay committed (MySQL commits DDL implicitly, and with it every change before it): {list}",
                    r.stopped_at
                        .as_ref()
                        .map(|s| format!(" at statement {} (line {}), whose own effect is not known", s.statement, s.line))
                        .unwrap_or_default()
                ));
            } else {
                msg.push_str(&format!(": {running} was stopped and rolled back"));
                if r.partial_possible && r.stopped_at.is_none() {
                    msg.push_str(" (MySQL commits DDL statements one by one: statements of it that ran before the stop may remain)");
                }
            }
        }
        let not_run: Vec<String> = r.rolled_back.iter().chain(&r.not_run).cloned().collect();
        msg.push_str(&format!(
            "\n  done before the stop: {}\n  not run: {}",
            if r.done.is_empty() {
                "none".to_string()
            } else {
                r.done.join(", ")
            },
            if not_run.is_empty() {
                "none".to_string()
            } else {
                not_run.join(", ")
            }
        ));
        let partial_help = match (&r.version, r.partial_recorded) {
            (Some(v), Some(true)) => Some(format!(
                "`apply` refuses the stopped migration while its up.sql is unchanged (the committed statements are recorded in `__cargo_migrate_partial`): edit up.sql so that it holds only what was not committed, or finish it by hand and record it with `INSERT INTO __diesel_schema_migrations (version) VALUES ('{v}'); DELETE FROM __cargo_migrate_partial WHERE version = '{v}';`"
            )),
            (Some(_), _) => Some("running the stopped migration again would run the committed statements a second time, and recording them failed: edit its up.sql so that it holds only what was not committed before running `apply` again".to_string()),
            _ => None,
        };
        if let Some(help) = partial_help {
            msg.push_str(&format!("\nhelp: {help}\n"));
            p.always(&msg);
            return;
        }
        msg.push_str(&format!(
        "\nhelp: {}\n",
        match r.command {
            "apply" => "run `cargo migrate apply` again to continue",
            _ => "`cargo migrate status` shows where the database stands; run the command again to continue",
        }
    ));
        p.always(&msg);
    }

    fn explains_in_json(&self) -> bool {
        true
    }
}

impl Render for ErrorReport {
    fn human(&self, p: &Human<'_>) {
        let r = self;
        let mut text = String::new();
        let mut chain = r.chain.iter();
        if let Some(first) = chain.next() {
            text.push_str(&format!(
                "{} {}",
                "error:".bad().strong(),
                crate::output::human::paint_help(first)
            ));
        }
        let causes: Vec<&String> = chain.collect();
        if !causes.is_empty() {
            text.push_str("\n\nCaused by:");
            for c in causes {
                text.push_str(&format!("\n    {}", crate::output::human::paint_help(c)));
            }
        }
        text.push('\n');
        p.always(&text);
    }

    fn explains_in_json(&self) -> bool {
        true
    }
}

/// One `catalog-drift` error per difference between a live database (`database`) and its
/// history, with the fix-up SQL as help, and a diff for each value too long for one line.
pub fn catalog_findings(
    set: &str,
    database: &str,
    diffs: &[crate::catalog::Difference],
) -> (Vec<crate::diagnostic::Diagnostic>, Vec<Drift>) {
    let mut findings = Vec::new();
    let mut drift = Vec::new();
    for d in diffs {
        let help = match (&d.fix, &d.note) {
            (Some(fix), note) => format!(
                "to bring the database back in line, run:\n{}{}\nor, if the change is wanted, put it in a migration",
                fix.lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n"),
                note.as_ref().map(|n| format!("\n({n})")).unwrap_or_default()
            ),
            (None, Some(note)) => note.clone(),
            (None, None) => "put the change in a migration, or undo it on the database".to_string(),
        };
        findings.push(
            crate::diagnostic::Diagnostic::error(
                crate::diagnostic::Problem::CatalogDrift,
                d.summary(database),
            )
            .with_set(set)
            .with_help(help),
        );
        for (field, expected, actual) in d.long_fields() {
            drift.push(Drift {
                file: std::path::PathBuf::from(format!("{database} (live): {} {}", d.kind, d.name)),
                diff: crate::diff::unified(
                    expected,
                    actual,
                    &format!("{} {} {field} (applied migrations)", d.kind, d.name),
                    &format!("{} {} {field} ({database}, live)", d.kind, d.name),
                ),
            });
        }
    }
    (findings, drift)
}
