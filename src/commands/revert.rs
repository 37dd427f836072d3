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
use crate::settings::{Resolved, SetContext};
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
    /// `--write-schema`: rewrite the set's schema file from the migrated database.
    pub write_schema: bool,
    /// `revert --targets` / `--targets-cmd` / `--fleet`: revert the one selected set on each
    /// of these databases.
    pub fleet: Option<crate::targets::Fleet>,
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

/// What reverting one set's database did, or in a dry run would do.
#[derive(Debug, Default)]
struct Reverted {
    /// Dry run: the versions that would be reverted.
    versions: Vec<String>,
    /// What ran, in order.
    steps: Vec<StepReport>,
    /// The file that failed.
    failure: Option<MigrationFailure>,
    /// Files that hold no statement: nothing ran.
    refused: Vec<Diagnostic>,
}

/// Why a set's database was not reverted.
enum Stopped {
    /// It could not be opened.
    Unreachable(SetError),
    /// Opened, and refused before anything ran (the plan, a privilege, the lock).
    Refused(SetError),
}

impl From<Stopped> for SetError {
    fn from(s: Stopped) -> SetError {
        match s {
            Stopped::Unreachable(e) | Stopped::Refused(e) => e,
        }
    }
}

/// Revert (or redo) `target` on one set's database, under its migration lock; in a dry run,
/// say what would run.
fn revert_set(
    resolved: &Resolved,
    ctx: &SetContext,
    opts: &RevertOptions,
    target: &RevertTarget,
    printer: &Printer,
) -> Result<Reverted, Stopped> {
    let kind = if opts.redo {
        RunKind::Redo
    } else {
        RunKind::Revert
    };
    let set = ctx.name();
    let (url, _) = ctx.require_url().map_err(Stopped::Unreachable)?;
    printer.event(Event::SetStarted {
        set,
        database: &url,
    });
    let mut conn = match open(ctx, ConnectOptions::default(), printer) {
        Ok((Opened::Connected(conn), _)) => conn,
        Ok((Opened::Missing(path), _)) => {
            return Err(Stopped::Unreachable(SetError::new(
                set,
                format!(
                    "the SQLite database `{}` does not exist, so nothing is applied to revert",
                    path.display()
                ),
            )))
        }
        Err(e) => return Err(Stopped::Unreachable(e)),
    };
    let siblings = resolved.sibling_versions(ctx);
    let refused = Stopped::Refused;

    if opts.dry_run {
        let state = read_state(resolved, ctx, Some(&mut conn), &url).map_err(refused)?;
        let todo = state
            .revert_plan(&ctx.folder, &siblings, target)
            .map_err(|e| refused(SetError::new(set, e)))?;
        let steps = plan_steps(&todo, opts.redo);
        super::refuse_markers(set, kind, &steps).map_err(refused)?;
        let empty = run::refuse_empty(set, conn.backend(), &steps);
        if !empty.is_empty() {
            return Ok(Reverted {
                refused: empty,
                ..Default::default()
            });
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
        return Ok(Reverted {
            versions: todo.iter().map(|m| m.version.clone()).collect(),
            ..Default::default()
        });
    }

    let outcome = run::locked(&mut conn, &url, opts.lock_timeout, printer, |conn| {
        // Before anything runs: down.sql must not run when its version cannot be removed.
        let needs: &[Privilege] = if opts.redo {
            &[Privilege::Select, Privilege::Delete, Privilege::Insert]
        } else {
            &[Privilege::Select, Privilege::Delete]
        };
        let exists = conn
            .versions_table(&url, needs)
            .map_err(|e| SetError::new(set, e).with_origin(ctx.url_origin()))?;
        let state = super::read_checked_state(resolved, ctx, conn, &url, exists)?;
        let todo = state
            .revert_plan(&ctx.folder, &siblings, target)
            .map_err(|e| SetError::new(set, e))?;
        // A down.sql that stopped part way before is not run again unchanged (MySQL).
        let records = conn
            .partial_records(&url)
            .map_err(|e| SetError::new(set, e).with_origin(ctx.url_origin()))?;
        super::refuse_partial(ctx, conn, &todo, Direction::Down, &records, printer)?;
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
    .map_err(|e: DbError| refused(SetError::new(set, e)))?
    .map_err(refused)?;
    Ok(Reverted {
        versions: Vec::new(),
        steps: outcome
            .done
            .iter()
            .map(|d| StepReport {
                version: d.version.clone(),
                dir_name: d.dir_name.clone(),
                direction: Some(d.direction),
                duration_ms: d.took.as_secs_f64() * 1000.0,
            })
            .collect(),
        failure: outcome.failed.map(|f| f.failure),
        refused: outcome.refused,
    })
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
    let target = match &opts.target {
        RevertTarget::To(v) => RevertTarget::To(resolved.target_version("--to", v)?),
        other => other.clone(),
    };
    // A fleet's URLs are its targets: the set's own URL is not needed.
    if let Some(fleet) = &opts.fleet {
        return run_fleet(resolved, opts, &target, fleet, printer);
    }
    let ctx = resolved.one_set(command)?;
    resolved.require_urls()?;
    let set = ctx.name();
    let reverted = revert_set(resolved, ctx, opts, &target, printer).map_err(SetError::from)?;
    if !reverted.refused.is_empty() {
        return Ok(refuse(command, reverted.refused, printer));
    }
    if opts.dry_run {
        printer.report(&RevertReport {
            command,
            ok: true,
            dry_run: true,
            set: set.to_string(),
            versions: Some(reverted.versions),
            steps: None,
            failure: None,
            schema_files: Vec::new(),
        });
        return Ok(Outcome::Success);
    }
    let ok = reverted.failure.is_none();
    let mut schema_files = Vec::new();
    // Only when asked: after a revert the schema file is expected to differ until the
    // migrations are applied again, so saying so would be noise.
    if ok && (opts.write_schema || ctx.set.write_schema) {
        match super::schema_after_migrating(resolved, ctx, true) {
            Ok(updates) => schema_files = updates,
            Err(e) => printer.warn(format!("the schema file was not compared: {e}")),
        }
    }
    printer.report(&RevertReport {
        schema_files,
        command,
        ok,
        dry_run: false,
        set: set.to_string(),
        versions: None,
        steps: Some(reverted.steps),
        failure: Some(reverted.failure),
    });
    Ok(if ok {
        Outcome::Success
    } else {
        Outcome::Failure
    })
}

/// `revert --targets`: the one selected set reverted on every target, `fleet.jobs` at a time,
/// each under its own migration lock, exactly as a single `revert` runs it (`-n N`, `--to`,
/// `--all` count on each target). Failures do not stop the other targets unless
/// `--fail-fast` is given; any failure is exit 1.
fn run_fleet(
    resolved: &Resolved,
    opts: &RevertOptions,
    target: &RevertTarget,
    fleet: &crate::targets::Fleet,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    use super::fleet::{Change, FleetTarget};
    let (ctx, targets) = super::fleet_set(resolved, fleet, "revert --targets")?;
    let quiet = Printer::sink();
    let work = |one: &SetContext, listed: &crate::targets::Target| match revert_set(
        resolved, one, opts, target, &quiet,
    ) {
        Ok(r) if !r.refused.is_empty() => FleetTarget::stopped(
            listed,
            "failed",
            r.refused
                .iter()
                .map(|d| d.message.clone())
                .collect::<Vec<_>>()
                .join("; "),
        ),
        // A dry run reports what would be reverted as if it were.
        Ok(r) if opts.dry_run => {
            FleetTarget::ran(Change::Revert, listed, versions_of(one, &r.versions), None)
        }
        Ok(r) => FleetTarget::ran(
            Change::Revert,
            listed,
            r.steps.iter().map(|s| s.dir_name.clone()).collect(),
            r.failure,
        ),
        Err(Stopped::Unreachable(e)) => FleetTarget::stopped(listed, "unreachable", e.to_string()),
        Err(Stopped::Refused(e)) => FleetTarget::stopped(listed, "failed", e.to_string()),
    };
    Ok(super::fleet::change_each_target(
        Change::Revert,
        ctx,
        &targets,
        fleet,
        &work,
        printer,
    ))
}

/// The folder names of `versions` in the set.
fn versions_of(ctx: &SetContext, versions: &[String]) -> Vec<String> {
    versions
        .iter()
        .map(|v| {
            ctx.folder
                .find(v)
                .map_or_else(|| v.clone(), |m| m.dir_name.clone())
        })
        .collect()
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
    /// The schema file, when it differs from the migrated database: rewritten
    /// (`--write-schema`) or left as it is.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub schema_files: Vec<super::SchemaFileUpdate>,
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
            for f in &r.schema_files {
                p.line(super::schema_file_line(&r.set, f, r.command));
            }
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
