//! `cargo migrate status`: per set, which migrations are applied, which are pending, and which
//! the database records as applied although the folder no longer has them. Reads only: the
//! database (and a missing SQLite file) is left exactly as it was.

use super::{open, read_state, stop_on_problems, Opened, Outcome};
use crate::db::ConnectOptions;
use crate::error::SetError;
use crate::output::Printer;

use crate::output::{count, Human, Paint, Render};
use crate::settings::{Resolved, SetContext};
use serde::Serialize;

/// Options of `status`.
#[derive(Debug, Clone, Default)]
pub struct StatusOptions {
    /// `--exit-code`: exit 1 when anything is pending or unknown.
    pub exit_code: bool,
    /// `pending`: list only what is not applied yet (diesel's `migration pending`).
    pub pending_only: bool,
}

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
    let command = if opts.pending_only {
        "pending"
    } else {
        "status"
    };
    if let Some(outcome) = stop_on_problems(resolved, printer, command) {
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
    printer.report(&StatusReport {
        command,
        pending_only: opts.pending_only,
        ok: outcome == Outcome::Success,
        pending,
        unknown,
        sets,
    });
    Ok(outcome)
}

// ---------------------------------------------------------------------------------------------
// The report

/// `status`.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// `"status"`, or `"pending"`.
    pub command: &'static str,
    /// `pending`: the human listing shows only what is not applied.
    #[serde(skip)]
    pub pending_only: bool,
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

impl StatusReport {
    /// `pending`: per set, the migrations not applied yet, in the order `apply` runs them.
    fn human_pending(&self, p: &Human<'_>) {
        for st in &self.sets {
            let summary = if st.pending.is_empty() {
                "nothing pending".to_string()
            } else {
                format!("{} pending", st.pending.len())
            };
            p.result(format!(
                "{} {} {}",
                st.set.strong(),
                st.database.dim(),
                format!("({summary})").dim()
            ));
            for (version, dir_name) in &st.migrations {
                if st.pending.contains(version) {
                    p.result(format!("  {dir_name}"));
                }
            }
        }
    }
}

impl Render for StatusReport {
    fn human(&self, p: &Human<'_>) {
        if self.pending_only {
            return self.human_pending(p);
        }
        let r = self;
        for st in &r.sets {
            let summary = format!(
                "{} applied, {} pending{}",
                st.applied.len(),
                st.pending.len(),
                if st.unknown.is_empty() {
                    String::new()
                } else {
                    format!(", {} unknown", st.unknown.len())
                }
            );
            p.result(format!(
                "{} {} {}",
                st.set.strong(),
                st.database.dim(),
                format!("({summary})").dim()
            ));
            if !st.exists {
                p.line(
                    "  the database file does not exist yet; `cargo migrate apply` creates it"
                        .dim()
                        .to_string(),
                );
            }
            for (version, dir_name) in &st.migrations {
                let out_of_order = st.out_of_order.contains(version);
                let painted = if st.applied.contains(version) {
                    "applied".good().to_string()
                } else if out_of_order {
                    "pending".caution().strong().to_string()
                } else {
                    "pending".caution().to_string()
                };
                let note = if out_of_order {
                    "  (older than the newest applied migration)"
                        .caution()
                        .to_string()
                } else {
                    String::new()
                };
                p.line(format!("  {painted}  {dir_name}{note}"));
            }
            for v in &st.unknown {
                p.line(format!(
                    "  {}  {v}  {}",
                    "unknown".bad(),
                    "(applied in the database, missing from the folder)".dim()
                ));
            }
        }
        if !r.sets.is_empty() {
            let mut summary = if r.pending == 0 {
                "everything is applied".to_string()
            } else {
                format!("{} pending", count(r.pending, "migration"))
            };
            if r.unknown > 0 {
                summary.push_str(&format!(
                    "; {} recorded as applied but missing from the folder",
                    count(r.unknown, "migration")
                ));
            }
            p.line(summary);
        }
    }
}
