//! `cargo migrate baseline --to VERSION [--force]`: adopt an existing database.
//!
//! A database created by hand, by another tool or by an older system already has the effect of
//! some migrations. `baseline` records the set's migrations up to VERSION as applied without
//! running them, but only after comparing the live schema with the schema the history produces
//! at VERSION (replayed on a scratch database), and the whole catalog (indexes, constraints,
//! types, views, functions, triggers, … see [`crate::catalog`]) with that replay's: on any
//! difference it refuses and shows the diff and one finding per differing object; `--force` records them anyway, with a warning. Nothing is ever marked applied silently.

use super::{open, read_state, stop_on_problems, Opened, Outcome};
use crate::db::run;
use crate::db::{ConnectOptions, DbError, Privilege};
use crate::error::SetError;
use crate::events::{Event, Progress};
use crate::history::{SetHistory, Upto};
use crate::output::Printer;

use crate::output::{count, Human, Paint, Render};
use crate::settings::Resolved;
use serde::Serialize;
use std::time::Duration;

/// Options of `baseline`.
#[derive(Debug, Clone)]
pub struct BaselineOptions {
    /// The newest migration the database already has.
    pub to: String,
    /// Record even when the schema differs.
    pub force: bool,
    /// `--drift-privileges`: owners and granted privileges must match too.
    pub drift_privileges: bool,
    /// How long to wait for another process's migration lock.
    pub lock_timeout: Duration,
}

/// `baseline`.
pub fn run(
    resolved: &Resolved,
    opts: &BaselineOptions,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    if let Some(outcome) = stop_on_problems(resolved, printer, "baseline") {
        return Ok(outcome);
    }
    let ctx = resolved.one_set("baseline")?;
    resolved.require_urls()?;
    let to = resolved.target_version("--to", &opts.to)?;
    let set = ctx.name();
    let mut conn = match open(ctx, ConnectOptions::default(), printer)? {
        (Opened::Connected(conn), _) => conn,
        (Opened::Missing(path), _) => {
            return Err(SetError::new(set, format!(
                "the SQLite database `{}` does not exist, so there is nothing to baseline\nhelp: `cargo migrate apply` creates a new database from the migrations",
                path.display()
            ))
            .into())
        }
    };
    let (url, _) = ctx.require_url()?;
    let step = |done: usize, total: usize| {
        printer.progress(&format!("{set}: replaying {done}/{total}"));
    };
    let history = SetHistory::new(resolved, ctx)
        .map_err(|e| SetError::new(set, e))?
        .with_progress(&step);

    let report = run::locked(&mut conn, &url, opts.lock_timeout, printer, |conn| {
        // Before the schema is verified: versions this role cannot record stop it here.
        conn.versions_table(&url, &[Privilege::Select, Privilege::Insert])
            .map_err(|e| SetError::new(set, e).with_origin(ctx.url_origin()))?;
        let state = read_state(resolved, ctx, Some(conn), &url)?;
        let newer: Vec<&str> = state
            .recorded
            .iter()
            .filter(|v| v.as_str() > to.as_str())
            .map(String::as_str)
            .collect();
        if !newer.is_empty() {
            return Err(SetError::new(set, format!(
                "{url} already records migrations newer than {to} as applied ({})\nhelp: baseline only adopts a database that is behind; use `apply` or `revert` on it instead",
                newer.join(", ")
            )));
        }
        printer.event(Event::SetStarted {
            set,
            database: &url,
        });
        // Verify: the live schema and catalog must be those of the history up to VERSION.
        let (expected, expected_catalog) = history
            .expected(Upto::Version(&to), true, true)
            .map_err(|e| {
                SetError::new(set, format!(
                    "could not render the schema of the history up to {to}: {}",
                    e.diagnostic(set).message
                ))
            })?;
        let live = history
            .render_live(conn)
            .map_err(|e| SetError::new(set, e))?;
        let diffs: Vec<String> = expected
            .iter()
            .zip(&live)
            .filter(|(want, have)| !crate::diff::same(&want.text, &have.text))
            .map(|(want, have)| {
                crate::diff::unified(
                    &want.text,
                    &have.text,
                    &format!("history up to {to}"),
                    &format!("{url} (live)"),
                )
            })
            .collect();
        let live_catalog = conn
            .catalog()
            .map_err(|e| SetError::new(set, DbError::query("reading the catalog", &url, &e)))?;
        let catalog_drift = crate::catalog::leave_out_privileges(
            crate::catalog::diff(&expected_catalog, &live_catalog),
            opts.drift_privileges,
        );
        let (findings, catalog_diffs) =
            crate::report::catalog_findings(set, &url.to_string(), &catalog_drift);
        let schema_matches = diffs.is_empty() && catalog_drift.is_empty();
        let mut report = BaselineReport {
            command: "baseline",
            ok: schema_matches || opts.force,
            catalog_drift,
            findings,
            catalog_diffs: catalog_diffs.into_iter().map(|d| d.diff).collect(),
            set: set.to_string(),
            to: to.clone(),
            schema_matches,
            recorded: Vec::new(),
            diffs,
            forced: opts.force,
        };
        if !report.ok {
            return Ok(report);
        }
        let to_mark: Vec<&crate::migration::Migration> = history
            .migrations(Upto::Version(&to))
            .into_iter()
            .filter(|m| !state.recorded.contains(&m.version))
            .collect();
        let versions: Vec<&str> = to_mark.iter().map(|m| m.version.as_str()).collect();
        conn.record_versions(&versions).map_err(|e| {
            SetError::new(set, DbError::query("recording the versions", &url, &e))
        })?;
        for m in &to_mark {
            printer.event(Event::Recorded {
                dir_name: &m.dir_name,
            });
        }
        report.recorded = versions.iter().map(|v| v.to_string()).collect();
        Ok(report)
    })
    .map_err(|e| SetError::new(set, e))??;
    printer.report(&report);
    Ok(if report.ok {
        Outcome::Success
    } else {
        Outcome::Failure
    })
}

// ---------------------------------------------------------------------------------------------
// The report

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
    /// Whether the live schema and catalog matched the history's.
    pub schema_matches: bool,
    /// Every object of the live catalog that differs from the history's up to the version.
    pub catalog_drift: Vec<crate::catalog::Difference>,
    /// The same differences as findings (human text only).
    #[serde(skip)]
    pub findings: Vec<crate::diagnostic::Diagnostic>,
    /// Diffs of the differing values too long for one line (human text only).
    #[serde(skip)]
    pub catalog_diffs: Vec<String>,
    /// The versions recorded.
    pub recorded: Vec<String>,
    /// The differences found, as unified diffs (empty when the schema matches).
    pub diffs: Vec<String>,
    /// `--force` (human text only).
    #[serde(skip)]
    pub forced: bool,
}

impl Render for BaselineReport {
    fn human(&self, p: &Human<'_>) {
        let r = self;
        for diff in &r.diffs {
            p.stderr_diff(diff);
        }
        p.diagnostics(&r.findings);
        for diff in &r.catalog_diffs {
            p.stderr_diff(diff);
        }
        let set = &r.set;
        let to = &r.to;
        if !r.ok {
            p.stderr(&format!(
                "{} set `{set}`: the database's schema differs from the schema of the history up to {to} ({}above); nothing was recorded\n{} make the database match (or choose the VERSION it matches), or pass --force to record the migrations anyway\n",
                "error:".bad().strong(),
                match (r.diffs.is_empty(), r.catalog_drift.len()) {
                    (true, n) => format!("{} ", count(n, "catalog difference")),
                    (false, 0) => "diff ".to_string(),
                    (false, n) => format!("diff and {} ", count(n, "catalog difference")),
                },
                "help:".note().strong()
            ),
        );
            return;
        }
        if r.forced && !r.schema_matches {
            p.warn(format!(
                "set `{set}`: recording migrations although the schema differs (--force)"
            ));
        }
        p.result(format!(
            "baseline: recorded {} as applied without running {}",
            count(r.recorded.len(), "migration"),
            if r.recorded.len() == 1 { "it" } else { "them" }
        ));
    }
}
