//! `cargo migrate revert` and `cargo migrate redo`: run down.sql, newest first.
//!
//! Reverting is deliberate: it works on one set at a time, checks before running anything that
//! every migration it would revert is in the folder and has a down.sql, and holds the same lock
//! as `apply`. `redo` reverts and re-applies, which tests that a migration's down.sql really
//! undoes its up.sql.

use std::time::Duration;

use colored::Colorize;
use serde::Serialize;
use serde_json::json;

use super::apply::check_target;
use super::{count, failure_diagnostic, require_urls, stop_on_problems, Outcome};
use crate::db::harness::{self, Direction, MigrationFailure};
use crate::db::lock::MigrationLock;
use crate::db::{one_line, ConnectOptions, DbError};
use crate::migration::Migration;
use crate::output::{duration, Printer};
use crate::settings::{Resolved, SetContext};

/// How far to revert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevertTarget {
    Steps(usize),
    /// Keep this version applied; revert everything newer.
    To(String),
    All,
}

/// Options of `revert` and `redo`.
#[derive(Debug, Clone)]
pub struct RevertOptions {
    pub target: RevertTarget,
    pub dry_run: bool,
    /// Apply the reverted migrations again (`redo`).
    pub redo: bool,
    pub lock_timeout: Duration,
}

#[derive(Debug, Clone, Serialize)]
struct Step {
    version: String,
    dir_name: String,
    direction: Direction,
    duration_ms: f64,
}

/// The applied migrations of the set to revert, newest first, or an error naming what blocks it.
fn plan<'a>(
    ctx: &'a SetContext,
    applied: &[String],
    siblings: &std::collections::BTreeSet<String>,
    target: &RevertTarget,
) -> anyhow::Result<Vec<&'a Migration>> {
    let mut mine: Vec<&String> = applied.iter().filter(|v| !siblings.contains(*v)).collect();
    mine.sort();
    mine.reverse();
    let chosen: Vec<&String> = match target {
        RevertTarget::Steps(n) => mine.iter().take(*n).copied().collect(),
        RevertTarget::To(v) => mine
            .iter()
            .filter(|a| a.as_str() > v.as_str())
            .copied()
            .collect(),
        RevertTarget::All => mine.clone(),
    };
    let mut out = Vec::new();
    let mut blockers = Vec::new();
    for v in chosen {
        match ctx.folder.find(v) {
            Some(m) if m.has_down() => out.push(m),
            Some(m) => blockers.push(format!("{} has no down.sql", m.dir_name)),
            None => blockers.push(format!(
                "{v} is recorded as applied but is not in the folder"
            )),
        }
    }
    if !blockers.is_empty() {
        anyhow::bail!(
            "set `{}`: cannot revert, nothing was changed:\n  {}\nhelp: add the missing down.sql files (or restore the missing folders) first; a migration without down.sql can only be undone by hand",
            ctx.set.name,
            blockers.join("\n  ")
        );
    }
    Ok(out)
}

pub fn run(
    resolved: &Resolved,
    opts: &RevertOptions,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    let command = if opts.redo { "redo" } else { "revert" };
    if let Some(outcome) = stop_on_problems(resolved, printer, command) {
        return Ok(outcome);
    }
    if resolved.sets.len() != 1 {
        let names: Vec<_> = resolved.sets.iter().map(|s| s.set.name.as_str()).collect();
        anyhow::bail!(
            "`{command}` works on one migration set at a time, and {} are selected ({})\nhelp: choose one with -p NAME",
            resolved.sets.len(),
            names.join(", ")
        );
    }
    require_urls(resolved)?;
    let target = match &opts.target {
        RevertTarget::To(v) => {
            RevertTarget::To(check_target(resolved, Some(v), "--to")?.unwrap_or_default())
        }
        other => other.clone(),
    };
    let ctx = &resolved.sets[0];
    let (url, _) = ctx.require_url(&resolved.workspace.root)?;
    printer.line(format!(
        "{} {}",
        ctx.set.name.bold(),
        resolved.show_url(&url).dimmed()
    ));
    let mut conn = match super::connect_raw(resolved, ctx, ConnectOptions::default()) {
        Ok(c) => c,
        Err(DbError::SqliteMissing { path }) => {
            anyhow::bail!("set `{}`: the SQLite database `{}` does not exist, so nothing is applied to revert", ctx.set.name, path.display())
        }
        Err(err) => return Err(super::describe_connect_error(ctx, err)),
    };
    let query_err = |e: diesel::result::Error| {
        anyhow::anyhow!(
            "set `{}`: reading __diesel_schema_migrations on {url} failed: {}",
            ctx.set.name,
            one_line(&e.to_string(), &url)
        )
    };
    let siblings = resolved.sibling_versions(ctx);

    if opts.dry_run {
        let applied = conn.applied_versions().map_err(query_err)?;
        let todo = plan(ctx, &applied, &siblings, &target)?;
        for m in &todo {
            printer.line(format!("  {} {}", "would revert".cyan(), m.dir_name));
        }
        if opts.redo {
            for m in todo.iter().rev() {
                printer.line(format!("  {} {}", "would apply".cyan(), m.dir_name));
            }
        }
        printer.result(format!(
            "dry run: {} would be {}; nothing was changed",
            count(todo.len(), "migration"),
            if opts.redo { "redone" } else { "reverted" }
        ));
        printer.json(&json!({ "command": command, "ok": true, "dry_run": true, "set": ctx.set.name, "versions": todo.iter().map(|m| &m.version).collect::<Vec<_>>() }));
        return Ok(Outcome::Success);
    }

    let lock = MigrationLock::acquire(&mut conn, &url, opts.lock_timeout, || {
        printer.line(format!(
            "  {}",
            "waiting for the migration lock (another process is applying migrations)...".dimmed()
        ))
    })
    .map_err(|e| anyhow::anyhow!("set `{}`: {e}", ctx.set.name))?;
    let result = (|| -> anyhow::Result<(Vec<Step>, Option<MigrationFailure>)> {
        let applied = conn.applied_versions().map_err(query_err)?;
        let todo = plan(ctx, &applied, &siblings, &target)?;
        let mut steps = Vec::new();
        if todo.is_empty() {
            printer.line("  nothing to revert".dimmed().to_string());
        }
        let mut runs: Vec<(&Migration, Direction)> =
            todo.iter().map(|m| (*m, Direction::Down)).collect();
        if opts.redo {
            runs.extend(todo.iter().rev().map(|m| (*m, Direction::Up)));
        }
        let session =
            crate::interrupt::session_id(&mut conn).map(|id| (url.clone(), conn.backend(), id));
        crate::interrupt::update(|p| {
            p.command = command;
            p.format = Some(printer.format);
            p.set = ctx.set.name.clone();
            p.session = session;
        });
        for (i, (m, dir)) in runs.iter().enumerate() {
            crate::interrupt::update(|p| {
                p.running = Some(format!("{} ({})", m.dir_name, dir.file_name()));
                p.remaining = runs[i + 1..]
                    .iter()
                    .map(|(m, d)| format!("{} ({})", m.dir_name, d.file_name()))
                    .collect();
            });
            let result = harness::run(&mut conn, m, *dir, &url);
            crate::interrupt::update(|p| {
                p.running = None;
                if result.is_ok() {
                    p.done.push(format!("{} ({})", m.dir_name, dir.file_name()));
                }
            });
            match result {
                Ok(took) => {
                    let word = if *dir == Direction::Down {
                        "reverted".yellow()
                    } else {
                        "applied ".green()
                    };
                    printer.line(format!(
                        "  {word} {} {}",
                        m.dir_name,
                        format!("({})", duration(took)).dimmed()
                    ));
                    steps.push(Step {
                        version: m.version.clone(),
                        dir_name: m.dir_name.clone(),
                        direction: *dir,
                        duration_ms: took.as_secs_f64() * 1000.0,
                    });
                }
                Err(failure) => {
                    crate::interrupt::yield_to_handler();
                    printer.line(format!("  {} {}", "failed  ".red().bold(), m.dir_name));
                    let mut diag = failure_diagnostic(resolved, &ctx.set.name, &failure, 0);
                    if *dir == Direction::Up {
                        // redo: up.sql ran fine before its down.sql did; failing now means the
                        // down.sql left something behind (or removed too much).
                        diag.help = Some(format!(
                            "{m} was reverted and then failed to apply again, so its down.sql probably does not undo its up.sql completely; fix down.sql (and undo by hand what it left), then run `apply`",
                            m = m.dir_name
                        ));
                    }
                    printer.diagnostics(&[diag], true);
                    return Ok((
                        steps,
                        Some(MigrationFailure {
                            file: resolved.show(&failure.file),
                            ..failure
                        }),
                    ));
                }
            }
        }
        Ok((steps, None))
    })();
    crate::interrupt::clear();
    lock.release(&mut conn);
    let (steps, failure) = result?;
    let ok = failure.is_none();
    if ok {
        let reverted = steps
            .iter()
            .filter(|s| s.direction == Direction::Down)
            .count();
        printer.result(if opts.redo {
            format!("redid {}", count(reverted, "migration"))
        } else {
            format!("reverted {}", count(reverted, "migration"))
        });
    }
    printer.json(&json!({ "command": command, "ok": ok, "dry_run": false, "set": ctx.set.name, "steps": steps, "failure": failure }));
    Ok(if ok {
        Outcome::Success
    } else {
        Outcome::Failure
    })
}
