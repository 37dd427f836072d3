//! `cargo migrate baseline --to VERSION [--force]`: adopt an existing database.
//!
//! A database created by hand, by another tool or by an older system already has the effect of
//! some migrations. `baseline` records the set's migrations up to VERSION as applied without
//! running them, but only after comparing the live schema with the schema the history produces
//! at VERSION (replayed on a scratch database): on any difference it refuses and shows the
//! diff; `--force` records them anyway, with a warning. Nothing is ever marked applied silently.

use super::{open, read_state, stop_on_problems, Opened, Outcome};
use crate::db::run;
use crate::db::{ConnectOptions, DbError};
use crate::error::SetError;
use crate::events::{Event, Progress};
use crate::history::{SetHistory, Upto};
use crate::output::Printer;
use crate::report::{BaselineReport, Report};
use crate::settings::{BaselineOptions, Resolved};

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
    let history = SetHistory::new(resolved, ctx).map_err(|e| SetError::new(set, e))?;

    let report = run::locked(&mut conn, &url, opts.lock_timeout, printer, |conn| {
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
        // Verify: the live schema must be the schema of the history up to VERSION.
        let expected = history.render(Upto::Version(&to), true).map_err(|e| {
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
        let schema_matches = diffs.is_empty();
        let mut report = BaselineReport {
            command: "baseline",
            ok: schema_matches || opts.force,
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
    printer.report(Report::Baseline(&report));
    Ok(if report.ok {
        Outcome::Success
    } else {
        Outcome::Failure
    })
}
