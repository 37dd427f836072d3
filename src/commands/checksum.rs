//! `cargo migrate checksum [--record]`: the checksums of a set's applied migrations.
//!
//! `apply` records the checksum of every migration it runs (see [`crate::db::checksums`]);
//! migrations applied by diesel_cli, by hand or by an older cargo-migrate have none, and
//! `status` and `check` call them unverified. This command lists, per selected set, how many
//! applied migrations are verified, unverified and changed since they were applied. With
//! `--record` it records the current files' checksums of the unverified ones, under the
//! migration lock: the files as they are now are declared to be what ran. Changed migrations
//! are never overwritten: their record is evidence, and the fix is to restore the file.

use super::{applied_checksums, open, read_state, stop_on_problems, Opened, Outcome};
use crate::db::{checksums, run, ConnectOptions, DbError, Privilege};
use crate::error::SetError;
use crate::output::{Human, Paint, Printer, Render};
use crate::settings::Resolved;
use serde::Serialize;
use std::time::Duration;

/// Options of `checksum`.
#[derive(Debug, Clone)]
pub struct ChecksumOptions {
    /// `--record`: record the checksums of applied migrations that have none.
    pub record: bool,
    /// How long to wait for another process's migration lock.
    pub lock_timeout: Duration,
}

/// `checksum`.
pub fn run(
    resolved: &Resolved,
    opts: &ChecksumOptions,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    if let Some(outcome) = stop_on_problems(resolved, printer, "checksum") {
        return Ok(outcome);
    }
    resolved.require_sets("checksum")?;
    let mut sets = Vec::new();
    for ctx in &resolved.sets {
        let set = ctx.name();
        let (url, _) = ctx.require_url()?;
        let mut conn = match open(ctx, ConnectOptions::default(), printer)? {
            (Opened::Connected(conn), _) => conn,
            (Opened::Missing(path), _) => {
                return Err(SetError::new(
                    set,
                    format!(
                        "the database file `{}` does not exist, so no migration of it is applied\nhelp: `cargo migrate apply -p {set}` creates it",
                        path.display()
                    ),
                )
                .into())
            }
        };
        let report = run::locked(&mut conn, &url, opts.lock_timeout, printer, |conn| {
            if conn.has_migrations_table().unwrap_or(false) {
                conn.versions_table(&url, &[Privilege::Select])
                    .map_err(|e| SetError::new(set, e).with_origin(ctx.url_origin()))?;
            }
            let state = read_state(resolved, ctx, Some(conn), &url)?;
            let (changed, unverified) = applied_checksums(ctx, conn, &url, &state.applied);
            let mut recorded = Vec::new();
            if opts.record && !unverified.is_empty() {
                let sums: Vec<(String, Option<String>)> = unverified
                    .iter()
                    .filter_map(|v| ctx.folder.find(v).map(|m| (v.clone(), Some(m.checksum()))))
                    .collect();
                checksums::record_all(conn, &sums);
                // What is recorded is read back, never assumed.
                let now = checksums::read(conn, &url).map_err(|e| SetError::new(set, e))?;
                recorded = sums
                    .iter()
                    .filter(|(v, sum)| now.get(v) == sum.as_ref())
                    .map(|(v, _)| v.clone())
                    .collect();
                if recorded.len() < sums.len() {
                    return Err(SetError::new(
                        set,
                        format!(
                            "{} of {} checksums could not be recorded in {url} (the role may not create or write the table `__cargo_migrate_checksums`)\nhelp: grant the role CREATE on the database (or run this as its owner), then run `cargo migrate checksum --record -p {set}` again",
                            sums.len() - recorded.len(),
                            sums.len()
                        ),
                    ));
                }
            }
            let dir = |v: &String| {
                ctx.folder
                    .find(v)
                    .map(|m| m.dir_name.clone())
                    .unwrap_or_else(|| v.clone())
            };
            Ok(SetChecksums {
                set: set.to_string(),
                database: url.to_string(),
                applied: state.applied.len(),
                verified: state.applied.len() - changed.len() - unverified.len() + recorded.len(),
                unverified: unverified
                    .iter()
                    .filter(|v| !recorded.contains(v))
                    .map(dir)
                    .collect(),
                recorded: recorded.iter().map(dir).collect(),
                changed: changed.iter().map(dir).collect(),
            })
        })
        .map_err(|e: DbError| SetError::new(set, e))??;
        sets.push(report);
    }
    let ok = sets.iter().all(|s| s.changed.is_empty());
    printer.report(&ChecksumReport {
        command: "checksum",
        ok,
        sets,
    });
    Ok(if ok {
        Outcome::Success
    } else {
        Outcome::Failure
    })
}

/// `checksum`.
#[derive(Debug, Clone, Serialize)]
pub struct ChecksumReport {
    /// `"checksum"`.
    pub command: &'static str,
    /// No applied migration changed since it was applied.
    pub ok: bool,
    /// One entry per selected set.
    pub sets: Vec<SetChecksums>,
}

/// The checksums of one set's applied migrations.
#[derive(Debug, Clone, Serialize)]
pub struct SetChecksums {
    /// The set.
    pub set: String,
    /// The database (password hidden).
    pub database: String,
    /// How many migrations the database records as applied.
    pub applied: usize,
    /// How many of them have a recorded checksum equal to their files' (this run's records
    /// included).
    pub verified: usize,
    /// Applied migrations without a recorded checksum (still, after `--record`: none).
    pub unverified: Vec<String>,
    /// Applied migrations whose checksum this run recorded.
    pub recorded: Vec<String>,
    /// Applied migrations whose files changed since they were applied (left as recorded).
    pub changed: Vec<String>,
}

impl Render for ChecksumReport {
    fn human(&self, p: &Human<'_>) {
        for s in &self.sets {
            p.result(format!(
                "{} {}: {} applied, {} verified, {} recorded now, {} unverified, {} changed",
                s.set.strong(),
                s.database,
                s.applied,
                s.verified,
                s.recorded.len(),
                s.unverified.len(),
                s.changed.len()
            ));
            for m in &s.recorded {
                p.line(format!("  recorded    {m}"));
            }
            for m in &s.unverified {
                p.line(format!("  unverified  {m}"));
            }
            for m in &s.changed {
                p.line(format!("  changed     {m}"));
            }
            if !s.unverified.is_empty() {
                p.line(format!("  `cargo migrate checksum --record -p {}` records the files as they are now as what ran (check them against your history first)", s.set));
            }
            if !s.changed.is_empty() {
                p.line("  a changed migration never runs again, so its edit reaches no database: restore the file as it was applied and put the change in a new migration");
            }
        }
    }
}
