//! `cargo migrate revert` and `cargo migrate redo`: run down.sql, newest first.
//!
//! Reverting is deliberate: it works on one set at a time, checks before running anything that
//! every migration it would revert is in the folder and has a down.sql, and holds the same lock
//! as `apply`. `redo` reverts and re-applies, which tests that a migration's down.sql really
//! undoes its up.sql.

use super::{open, read_state, stop_on_problems, Opened, Outcome};
use crate::db::run::{self, RunKind, Step};
use crate::db::{ConnectOptions, DbError, Privilege};
use crate::error::SetError;
use crate::events::{Event, Progress};
use crate::migration::{Direction, Migration};
use crate::output::Printer;

use crate::diagnostic::Diagnostic;
use crate::failure::MigrationFailure;
use crate::output::{count, Human, Render};
use crate::report::{ProblemsReport, StepReport};
use crate::settings::Resolved;
pub use crate::state::RevertTarget;
use serde::Serialize;
use std::time::Duration;

/// Options of `revert` and `redo`.
#[derive(Debug, Clone)]
pub struct RevertOptions {
    /// What to revert.
    pub target: RevertTarget,
    /// Print what would run and change nothing.
    pub dry_run: bool,
    /// Apply the reverted migrations again (`redo`).
    pub redo: bool,
    /// How long to wait for another process's migration lock.
    pub lock_timeout: Duration,
}

/// Refuse the run (exit 2): files that hold no statement, and nothing was run.
fn refuse(command: &'static str, problems: Vec<Diagnostic>, printer: &Printer) -> Outcome {
    printer.report(&ProblemsReport {
        command,
        ok: false,
        problems,
        folder_problems: true,
    });
    Outcome::Unusable
}

/// `revert` and `redo`.
pub fn run(
    resolved: &Resolved,
    opts: &RevertOptions,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    let kind = if opts.redo {
        RunKind::Redo
    } else {
        RunKind::Revert
    };
    let command = kind.command();
    if let Some(outcome) = stop_on_problems(resolved, printer, command) {
        return Ok(outcome);
    }
    let ctx = resolved.one_set(command)?;
    resolved.require_urls()?;
    let target = match &opts.target {
        RevertTarget::To(v) => RevertTarget::To(resolved.target_version("--to", v)?),
        other => other.clone(),
    };
    let set = ctx.name();
    let (url, _) = ctx.require_url()?;
    printer.event(Event::SetStarted {
        set,
        database: &url,
    });
    let mut conn = match open(ctx, ConnectOptions::default(), printer)? {
        (Opened::Connected(conn), _) => conn,
        (Opened::Missing(path), _) => {
            return Err(SetError::new(
                set,
                format!(
                    "the SQLite database `{}` does not exist, so nothing is applied to revert",
                    path.display()
                ),
            )
            .into())
        }
    };
    let siblings = resolved.sibling_versions(ctx);

    if opts.dry_run {
        let state = read_state(resolved, ctx, Some(&mut conn), &url)?;
        let todo = state
            .revert_plan(&ctx.folder, &siblings, &target)
            .map_err(|e| SetError::new(set, e))?;
        let steps = plan_steps(&todo, opts.redo);
        super::refuse_markers(set, kind, &steps)?;
        let refused = run::refuse_empty(set, conn.backend(), &steps);
        if !refused.is_empty() {
            return Ok(refuse(command, refused, printer));
        }
        for m in &todo {
            printer.event(Event::WouldRun {
                dir_name: &m.dir_name,
                direction: Direction::Down,
            });
        }
        if opts.redo {
            for m in todo.iter().rev() {
                printer.event(Event::WouldRun {
                    dir_name: &m.dir_name,
                    direction: Direction::Up,
                });
            }
        }
        printer.report(&RevertReport {
            command,
            ok: true,
            dry_run: true,
            set: set.to_string(),
            versions: Some(todo.iter().map(|m| m.version.clone()).collect()),
            steps: None,
            failure: None,
        });
        return Ok(Outcome::Success);
    }

    let outcome = run::locked(&mut conn, &url, opts.lock_timeout, printer, |conn| {
        // Before anything runs: down.sql must not run when its version cannot be removed.
        let needs: &[Privilege] = if opts.redo {
            &[Privilege::Select, Privilege::Delete, Privilege::Insert]
        } else {
            &[Privilege::Select, Privilege::Delete]
        };
        conn.versions_table(&url, needs)
            .map_err(|e| SetError::new(set, e).with_origin(ctx.url_origin()))?;
        let state = read_state(resolved, ctx, Some(conn), &url)?;
        let todo = state
            .revert_plan(&ctx.folder, &siblings, &target)
            .map_err(|e| SetError::new(set, e))?;
        if todo.is_empty() {
            printer.event(Event::NothingToRun(Direction::Down));
        }
        let steps = plan_steps(&todo, opts.redo);
        super::refuse_markers(set, kind, &steps)?;
        Ok::<_, SetError>(run::run_steps(
            conn,
            &url,
            set,
            &ctx.set.init_sql,
            kind,
            &steps,
            printer,
        ))
    })
    .map_err(|e: DbError| SetError::new(set, e))??;
    if !outcome.refused.is_empty() {
        return Ok(refuse(command, outcome.refused, printer));
    }

    let ok = outcome.failed.is_none();
    printer.report(&RevertReport {
        command,
        ok,
        dry_run: false,
        set: set.to_string(),
        versions: None,
        steps: Some(
            outcome
                .done
                .iter()
                .map(|d| StepReport {
                    version: d.version.clone(),
                    dir_name: d.dir_name.clone(),
                    direction: Some(d.direction),
                    duration_ms: d.took.as_secs_f64() * 1000.0,
                })
                .collect(),
        ),
        failure: Some(outcome.failed.map(|f| f.failure)),
    });
    Ok(if ok {
        Outcome::Success
    } else {
        Outcome::Failure
    })
}

// ---------------------------------------------------------------------------------------------
// The report

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

impl Render for RevertReport {
    fn human(&self, p: &Human<'_>) {
        let r = self;
        let redo = r.command == "redo";
        if let Some(versions) = &r.versions {
            p.result(format!(
                "dry run: {} would be {}; nothing was changed",
                count(versions.len(), "migration"),
                if redo { "redone" } else { "reverted" }
            ));
        } else if r.ok {
            let reverted = r
                .steps
                .iter()
                .flatten()
                .filter(|s| s.direction == Some(Direction::Down))
                .count();
            p.result(if redo {
                format!("redid {}", count(reverted, "migration"))
            } else {
                format!("reverted {}", count(reverted, "migration"))
            });
        }
    }
}

/// The steps of a revert plan: each migration's down.sql, newest first; for `redo`, then
/// their up.sql again, oldest first.
fn plan_steps<'m>(todo: &[&'m Migration], redo: bool) -> Vec<Step<'m>> {
    let mut steps: Vec<Step> = todo
        .iter()
        .map(|m| Step {
            migration: m,
            direction: Direction::Down,
        })
        .collect();
    if redo {
        steps.extend(todo.iter().rev().map(|m| Step {
            migration: m,
            direction: Direction::Up,
        }));
    }
    steps
}
