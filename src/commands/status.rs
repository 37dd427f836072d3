//! `cargo migrate status`: per set, which migrations are applied, which are pending, and which
//! the database records as applied although the folder no longer has them. Reads only: the
//! database (and a missing SQLite file) is left exactly as it was.

use super::{open, read_state, stop_on_problems, Opened, Outcome};
use crate::db::ConnectOptions;
use crate::error::SetError;
use crate::output::Printer;
use crate::report::{Report, SetStatus, StatusReport};
use crate::settings::{Resolved, SetContext, StatusOptions};

/// Read the state of one set's database.
fn status_of(resolved: &Resolved, ctx: &SetContext) -> Result<SetStatus, SetError> {
    let (opened, url) = open(ctx, ConnectOptions::default(), &crate::events::Silent)?;
    let state = match opened {
        Opened::Connected(mut conn) => read_state(resolved, ctx, Some(&mut conn), &url)?,
        Opened::Missing(_) => read_state(resolved, ctx, None, &url)?,
    };
    Ok(SetStatus {
        set: ctx.name().to_string(),
        database: url.to_string(),
        exists: state.exists,
        applied: state.applied,
        pending: state.pending,
        unknown: state.unknown,
        out_of_order: state.out_of_order,
        migrations: ctx
            .folder
            .migrations
            .iter()
            .map(|m| (m.version.clone(), m.dir_name.clone()))
            .collect(),
    })
}

/// `status`.
pub fn run(
    resolved: &Resolved,
    opts: &StatusOptions,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    if let Some(outcome) = stop_on_problems(resolved, printer, "status") {
        return Ok(outcome);
    }
    resolved.require_urls()?;
    let sets = resolved
        .sets
        .iter()
        .map(|ctx| status_of(resolved, ctx))
        .collect::<Result<Vec<_>, _>>()?;
    let pending: usize = sets.iter().map(|s| s.pending.len()).sum();
    let unknown: usize = sets.iter().map(|s| s.unknown.len()).sum();
    // `--exit-code`: anything that needs attention (pending, or recorded but unknown) is exit 1.
    let outcome = if opts.exit_code && (pending > 0 || unknown > 0) {
        Outcome::Failure
    } else {
        Outcome::Success
    };
    printer.report(Report::Status(&StatusReport {
        command: "status",
        ok: outcome == Outcome::Success,
        pending,
        unknown,
        sets,
    }));
    Ok(outcome)
}
