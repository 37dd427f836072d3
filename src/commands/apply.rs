//! `cargo migrate apply`: run pending migrations, set by set in dependency order.
//!
//! Before anything runs, every selected set's folder is validated and every URL checked, so a
//! problem in the last set stops the run before the first migration. Each set then runs under
//! its migration lock (see `db::lock`): the pending list is read *after* the lock is taken, so
//! concurrent deploys run each migration exactly once. Each migration runs through diesel's
//! harness in its own transaction (unless its metadata.toml says otherwise) and is printed with
//! its duration. The first failure stops the run.

use std::time::Duration;

use colored::Colorize;
use serde::Serialize;
use serde_json::json;

use super::{
    count, failure_diagnostic, normalise_version, require_urls, stop_on_problems, Outcome,
};
use crate::db::harness::{self, Direction, MigrationFailure};
use crate::db::lock::MigrationLock;
use crate::db::{one_line, ConnectOptions, DbError};
use crate::migration::Migration;
use crate::output::{duration, Printer};
use crate::settings::{Resolved, SetContext};

/// Options of `apply`.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Apply pending migrations up to and including this version.
    pub to: Option<String>,
    pub dry_run: bool,
    /// Retry connecting for this long (a database that is still starting).
    pub wait: Option<Duration>,
    /// How long to wait for another process's migration lock.
    pub lock_timeout: Duration,
}

#[derive(Debug, Clone, Serialize)]
struct AppliedJson {
    version: String,
    dir_name: String,
    duration_ms: f64,
}

#[derive(Debug, Clone, Serialize, Default)]
struct SetReport {
    set: String,
    database: String,
    applied: Vec<AppliedJson>,
    /// Would be applied (dry run), or are still pending after a failure.
    pending: Vec<String>,
    failure: Option<MigrationFailure>,
}

/// The migrations of `ctx` that are not in `applied`, oldest first, up to `to`.
pub fn pending<'a>(
    ctx: &'a SetContext,
    applied: &[String],
    to: Option<&str>,
) -> Vec<&'a Migration> {
    ctx.folder
        .migrations
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .filter(|m| to.is_none_or(|to| m.version.as_str() <= to))
        .collect()
}

/// Check `--to` against the selection: it names one migration of the one selected set.
pub(crate) fn check_target(
    resolved: &Resolved,
    to: Option<&str>,
    flag: &str,
) -> anyhow::Result<Option<String>> {
    let Some(to) = to else { return Ok(None) };
    let version = normalise_version(to);
    if resolved.sets.len() != 1 {
        let names: Vec<_> = resolved.sets.iter().map(|s| s.set.name.as_str()).collect();
        anyhow::bail!("{flag} {to} names a migration of one set, but {} sets are selected ({})\nhelp: choose the set with -p NAME", resolved.sets.len(), names.join(", "));
    }
    let ctx = &resolved.sets[0];
    if ctx.folder.find(&version).is_none() {
        anyhow::bail!(
            "set `{}` has no migration with the version {version} (from {flag} {to})\nhelp: `cargo migrate list -p {}` shows its versions",
            ctx.set.name,
            ctx.set.name
        );
    }
    Ok(Some(version))
}

pub fn run(resolved: &Resolved, opts: &ApplyOptions, printer: &Printer) -> anyhow::Result<Outcome> {
    if let Some(outcome) = stop_on_problems(resolved, printer, "apply") {
        return Ok(outcome);
    }
    require_urls(resolved)?;
    let to = check_target(resolved, opts.to.as_deref(), "--to")?;

    let mut reports: Vec<SetReport> = Vec::new();
    let mut outcome = Outcome::Success;
    let mut total = 0usize;
    for ctx in &resolved.sets {
        let (url, _) = ctx.require_url(&resolved.workspace.root)?;
        let mut report = SetReport {
            set: ctx.set.name.clone(),
            database: resolved.show_url(&url),
            ..Default::default()
        };
        printer.line(format!(
            "{} {}",
            ctx.set.name.bold(),
            resolved.show_url(&url).dimmed()
        ));

        let connect_opts = ConnectOptions {
            create_sqlite: !opts.dry_run,
            wait: opts.wait,
        };
        let backend = ctx.require_url(&resolved.workspace.root)?.1;
        let connected =
            crate::db::Connection::establish_waiting(&url, backend, connect_opts, || {
                printer.line(format!(
                    "  {}",
                    format!(
                        "waiting for the database to accept connections (up to {} s)...",
                        opts.wait.map(|w| w.as_secs()).unwrap_or(0)
                    )
                    .dimmed()
                ))
            });
        let mut conn = match connected {
            Ok(conn) => Some(conn),
            // A dry run against a SQLite file that does not exist yet: everything is pending.
            Err(DbError::SqliteMissing { .. }) if opts.dry_run => None,
            Err(err) => return Err(super::describe_connect_error(ctx, err)),
        };
        let query_err = |e: diesel::result::Error| {
            anyhow::anyhow!(
                "set `{}`: reading __diesel_schema_migrations on {url} failed: {}",
                ctx.set.name,
                one_line(&e.to_string(), &url)
            )
        };

        if opts.dry_run {
            let applied = match conn.as_mut() {
                Some(c) => c.applied_versions().map_err(query_err)?,
                None => Vec::new(),
            };
            let todo = pending(ctx, &applied, to.as_deref());
            warn_out_of_order(ctx, &applied, &todo, printer);
            for m in &todo {
                printer.line(format!("  {} {}", "would apply".cyan(), m.dir_name));
            }
            if todo.is_empty() {
                printer.line("  nothing to apply".dimmed().to_string());
            }
            report.pending = todo.iter().map(|m| m.version.clone()).collect();
            reports.push(report);
            continue;
        }

        let mut conn = conn.expect("connected: only dry runs skip a missing SQLite file");
        let lock = MigrationLock::acquire(&mut conn, &url, opts.lock_timeout, || {
            printer.line(format!(
                "  {}",
                "waiting for the migration lock (another process is applying migrations)..."
                    .dimmed()
            ))
        })
        .map_err(|e| anyhow::anyhow!("set `{}`: {e}", ctx.set.name))?;
        let result = apply_locked(
            resolved,
            ctx,
            &mut conn,
            &url,
            to.as_deref(),
            printer,
            &mut report,
        );
        crate::interrupt::clear();
        lock.release(&mut conn);
        match result? {
            Ok(n) => total += n,
            Err(()) => {
                outcome = Outcome::Failure;
                reports.push(report);
                break;
            }
        }
        reports.push(report);
    }

    if opts.dry_run {
        let n: usize = reports.iter().map(|r| r.pending.len()).sum();
        printer.result(format!(
            "dry run: {} would be applied; nothing was changed",
            count(n, "migration")
        ));
    } else if outcome == Outcome::Success {
        printer.result(if total == 0 {
            "nothing to apply: every migration is applied".to_string()
        } else {
            format!("applied {}", count(total, "migration"))
        });
    }
    printer.json(&json!({
        "command": "apply",
        "ok": outcome == Outcome::Success,
        "dry_run": opts.dry_run,
        "sets": reports,
    }));
    Ok(outcome)
}

/// Pending migrations older than the newest applied one were probably merged out of order:
/// they run anyway (as diesel runs them), with a warning.
fn warn_out_of_order(ctx: &SetContext, applied: &[String], todo: &[&Migration], printer: &Printer) {
    let Some(newest) = applied
        .iter()
        .filter(|v| ctx.folder.find(v).is_some())
        .max()
    else {
        return;
    };
    let older: Vec<&str> = todo
        .iter()
        .filter(|m| m.version < *newest)
        .map(|m| m.dir_name.as_str())
        .collect();
    if !older.is_empty() {
        printer.warn(format!(
            "set `{}`: {} older than the newest applied one ({newest}), probably merged out of order: {}",
            ctx.set.name,
            if older.len() == 1 { "1 pending migration is".to_string() } else { format!("{} pending migrations are", older.len()) },
            older.join(", ")
        ));
    }
}

/// Apply the pending migrations of one set while its lock is held. `Ok(Err(()))` when a
/// migration failed (already reported).
fn apply_locked(
    resolved: &Resolved,
    ctx: &SetContext,
    conn: &mut crate::db::Connection,
    url: &crate::database_url::DatabaseUrl,
    to: Option<&str>,
    printer: &Printer,
    report: &mut SetReport,
) -> anyhow::Result<Result<usize, ()>> {
    let query_err = |e: diesel::result::Error| {
        anyhow::anyhow!(
            "set `{}`: preparing __diesel_schema_migrations on {url} failed: {}",
            ctx.set.name,
            one_line(&e.to_string(), url)
        )
    };
    conn.ensure_migrations_table().map_err(query_err)?;
    let applied = conn.applied_versions().map_err(query_err)?;
    let todo = pending(ctx, &applied, to);
    warn_out_of_order(ctx, &applied, &todo, printer);
    if todo.is_empty() {
        printer.line("  nothing to apply".dimmed().to_string());
        return Ok(Ok(0));
    }
    let mut done = 0;
    let session = crate::interrupt::session_id(conn).map(|id| (url.clone(), conn.backend(), id));
    crate::interrupt::update(|p| {
        p.command = "apply";
        p.format = Some(printer.format);
        p.set = ctx.set.name.clone();
        p.session = session;
        p.done.clear();
    });
    for (i, m) in todo.iter().enumerate() {
        crate::interrupt::update(|p| {
            p.running = Some(m.dir_name.clone());
            p.remaining = todo[i + 1..].iter().map(|m| m.dir_name.clone()).collect();
        });
        let result = harness::run(conn, m, Direction::Up, url);
        crate::interrupt::update(|p| {
            p.running = None;
            if result.is_ok() {
                p.done.push(m.dir_name.clone());
            }
        });
        match result {
            Ok(took) => {
                printer.line(format!(
                    "  {} {} {}",
                    "applied".green(),
                    m.dir_name,
                    format!("({})", duration(took)).dimmed()
                ));
                report.applied.push(AppliedJson {
                    version: m.version.clone(),
                    dir_name: m.dir_name.clone(),
                    duration_ms: took.as_secs_f64() * 1000.0,
                });
                done += 1;
            }
            Err(failure) => {
                crate::interrupt::yield_to_handler();
                printer.line(format!("  {} {}", "failed ".red().bold(), m.dir_name));
                let diag = failure_diagnostic(resolved, &ctx.set.name, &failure, i);
                printer.diagnostics(&[diag], true);
                report.pending = todo[i..].iter().map(|m| m.version.clone()).collect();
                report.failure = Some(MigrationFailure {
                    file: resolved.show(&failure.file),
                    ..failure
                });
                return Ok(Err(()));
            }
        }
    }
    Ok(Ok(done))
}
