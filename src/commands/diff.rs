//! `cargo migrate diff [--to VERSION] [--sql]`: the catalog difference between a set's database
//! and its history (all of it, or up to VERSION), object by object.
//!
//! The history is replayed on a scratch database (or its catalog taken from the cache) and both
//! catalogs are compared as `check` compares them for live drift (see [`crate::catalog`]).
//! The human text reads like a review: `+` for what only the database has, `-` for what the
//! history creates and the database lacks, `~` for what differs. `--sql` prints instead the
//! statements that turn the database into what the history says. Exit 0 when they match, 1
//! when they differ. Reads only: nothing is changed.

use super::{open, stop_on_problems, Opened, Outcome};
use crate::catalog::{Change, Difference};
use crate::db::{ConnectOptions, DbError};
use crate::error::SetError;
use crate::history::{SetHistory, Upto};
use crate::output::{count, Human, Paint, Printer, Render};
use crate::settings::Resolved;
use serde::Serialize;

/// Options of `diff`.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// Compare with the history up to this version instead of all of it.
    pub to: Option<String>,
    /// Print the fix-up SQL instead of the review.
    pub sql: bool,
    /// Replay even when the cache has a fresh entry.
    pub no_cache: bool,
}

/// `diff`.
pub fn run(resolved: &Resolved, opts: &DiffOptions, printer: &Printer) -> anyhow::Result<Outcome> {
    if let Some(outcome) = stop_on_problems(resolved, printer, "diff") {
        return Ok(outcome);
    }
    let ctx = resolved.one_set("diff")?;
    resolved.require_urls()?;
    let set = ctx.name();
    let to = match &opts.to {
        Some(v) => Some(resolved.target_version("--to", v)?),
        None => None,
    };
    let (opened, url) = open(ctx, ConnectOptions::default(), &crate::events::Silent)?;
    let mut conn = match opened {
        Opened::Connected(conn) => conn,
        Opened::Missing(path) => {
            return Err(SetError::new(set, format!(
                "the SQLite database `{}` does not exist, so there is nothing to compare\nhelp: `cargo migrate apply` creates it from the migrations",
                path.display()
            ))
            .into())
        }
    };
    let history = SetHistory::new(resolved, ctx).map_err(|e| SetError::new(set, e))?;
    let upto = match &to {
        Some(v) => Upto::Version(v),
        None => Upto::All,
    };
    let (_, expected) = history
        .expected(upto, !opts.no_cache, false)
        .map_err(|e| SetError::new(set, e.diagnostic(set).message))?;
    let live = conn
        .catalog()
        .map_err(|e| SetError::new(set, DbError::query("reading the catalog", &url, &e)))?;
    let (differences, ignored) = crate::catalog::apply_ignores(
        crate::catalog::diff(&expected, &live),
        &ctx.set.drift_ignore,
    );
    let report = DiffReport {
        command: "diff",
        ok: differences.is_empty(),
        set: set.to_string(),
        database: url.to_string(),
        to,
        sql: sql_script(&differences),
        differences,
        ignored,
        sql_only: opts.sql,
    };
    printer.report(&report);
    Ok(if report.ok {
        Outcome::Success
    } else {
        Outcome::Failure
    })
}

/// The fix-ups of `differences` as one script; a difference without one is a comment.
fn sql_script(differences: &[Difference]) -> String {
    let mut out = String::new();
    for d in differences {
        out.push_str(&format!("-- {} `{}`\n", d.kind, d.name));
        match &d.fix {
            Some(fix) => {
                out.push_str(fix);
                out.push('\n');
            }
            None => out.push_str(&format!(
                "-- {}\n",
                d.note.as_deref().unwrap_or("no statement can be derived")
            )),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The report

/// `diff`.
#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    /// `"diff"`.
    pub command: &'static str,
    /// `true` when the database's catalog is the history's.
    pub ok: bool,
    /// The set.
    pub set: String,
    /// The database (password hidden).
    pub database: String,
    /// `--to`: the version the history was taken up to (`null`: all of it).
    pub to: Option<String>,
    /// One entry per object that differs (as `check`'s `catalog_drift`).
    pub differences: Vec<Difference>,
    /// How many differences `drift-ignore` patterns left out.
    pub ignored: usize,
    /// The statements that turn the database into what the history says.
    pub sql: String,
    /// `--sql` (human text only).
    #[serde(skip)]
    pub sql_only: bool,
}

impl Render for DiffReport {
    fn human(&self, p: &Human<'_>) {
        let r = self;
        if r.sql_only {
            p.raw(&r.sql);
            return;
        }
        let history = match &r.to {
            Some(v) => format!("the history up to {v}"),
            None => "the history".to_string(),
        };
        p.line(format!("--- {history}\n+++ {} (live)", r.database).dim());
        for d in &r.differences {
            let what = format!("{} `{}`", d.kind, d.name);
            match &d.change {
                Change::Extra => p.result(format!("+ {what} (in the database only)").good()),
                Change::Missing => p.result(
                    format!("- {what} (created by the migrations, not in the database)").bad(),
                ),
                Change::Changed { fields } => {
                    p.result(format!("~ {what}").caution());
                    for f in fields {
                        let v = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
                        if f.expected.as_deref().unwrap_or("").contains('\n')
                            || f.actual.as_deref().unwrap_or("").contains('\n')
                        {
                            p.result(format!("    {}:", f.field));
                            p.diff(&crate::diff::unified(
                                &v(&f.expected),
                                &v(&f.actual),
                                &history,
                                &format!("{} (live)", r.database),
                            ));
                        } else {
                            p.result(format!(
                                "    {}: {} -> {}",
                                f.field,
                                v(&f.expected),
                                v(&f.actual)
                            ));
                        }
                    }
                }
            }
        }
        let ignored = if r.ignored > 0 {
            format!(
                " ({} ignored by drift-ignore)",
                count(r.ignored, "difference")
            )
        } else {
            String::new()
        };
        p.result(if r.ok {
            format!("the database matches {history}{ignored}").good().strong().to_string()
        } else {
            format!(
                "{} between {history} and the database{ignored}; `--sql` prints the statements that bring the database in line",
                count(r.differences.len(), "difference")
            )
            .bad()
            .strong()
            .to_string()
        });
    }
}
