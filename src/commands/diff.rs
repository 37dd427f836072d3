//! `cargo migrate diff [--to VERSION] [--base REF] [--sql]`: the catalog difference between a
//! set's database and its history (all of it, or up to VERSION), object by object; with
//! `--base REF`, between the history at the git revision REF and the working tree's, without
//! any database.
//!
//! The history is replayed on a scratch database (or its catalog taken from the cache) and both
//! catalogs are compared as `check` compares them for live drift (see [`crate::catalog`]).
//! The human text reads like a review: `+` for what only the database (or the base revision's
//! history) has, `-` for what only the history has, `~` for what differs. `--sql` prints instead
//! the statements that turn the database (or the base revision's schema) into what the history
//! says. Exit 0 when they match, 1
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
    /// `--base REF`: compare with the history at this git revision instead of a database
    /// (`Some("")`: the merge base with the main branch).
    pub base: Option<String>,
    /// `--drift-privileges`: owners and granted privileges are compared too.
    pub drift_privileges: bool,
}

/// `diff`.
pub fn run(resolved: &Resolved, opts: &DiffOptions, printer: &Printer) -> anyhow::Result<Outcome> {
    if let Some(outcome) = stop_on_problems(resolved, printer, "diff") {
        return Ok(outcome);
    }
    let ctx = resolved.one_set("diff")?;
    let set = ctx.name();
    let to = match &opts.to {
        Some(v) => Some(resolved.target_version("--to", v)?),
        None => None,
    };
    let history = SetHistory::new(resolved, ctx).map_err(|e| SetError::new(set, e))?;
    let upto = match &to {
        Some(v) => Upto::Version(v),
        None => Upto::All,
    };
    let (_, expected) = history
        .expected(upto, !opts.no_cache, false)
        .map_err(|e| SetError::new(set, e.diagnostic(set).message))?;
    let (live, database, base) = match &opts.base {
        Some(base) => {
            let (repo, commit, label) = super::base_revision(resolved, base)?;
            let into = resolved
                .workspace
                .target_dir
                .join("cargo-migrate")
                .join("base")
                .join(crate::cache::safe_name(set));
            let folder = crate::released::folder_at(&repo, &commit, ctx, &into)
                .map_err(|e| SetError::new(set, e))?;
            if let Some(problem) = folder
                .problems
                .iter()
                .find(|d| d.severity == crate::diagnostic::Severity::Error)
            {
                return Err(SetError::new(set, format!(
                    "the migrations folder at {label} cannot be replayed: {}\nhelp: compare with a revision whose migrations folder is well formed",
                    problem.message
                ))
                .into());
            }
            let catalog = history.catalog_of(&folder.migrations).map_err(|e| {
                SetError::new(
                    set,
                    format!("the history at {label}: {}", e.diagnostic(set).message),
                )
            })?;
            (catalog, None, Some(label))
        }
        None => {
            resolved.require_urls()?;
            let (opened, url) = open(ctx, ConnectOptions::default(), &crate::events::Silent)?;
            let mut conn = match opened {
                Opened::Connected(conn) => conn,
                Opened::Missing(path) => {
                    return Err(SetError::new(set, format!(
                        "the SQLite database `{}` does not exist, so there is nothing to compare\nhelp: `cargo migrate apply` creates it from the migrations, or compare with another revision's history with --base REF",
                        path.display()
                    ))
                    .into())
                }
            };
            let catalog = conn
                .catalog()
                .map_err(|e| SetError::new(set, DbError::query("reading the catalog", &url, &e)))?;
            (catalog, Some(url.to_string()), None)
        }
    };
    let history_label = match &to {
        Some(v) => format!("the history up to {v}"),
        None => "the history".to_string(),
    };
    // Against a database: `---` is the history, `+++` the database, and the SQL turns the
    // database into the history. Against a base revision it reads like a code review: `---` is
    // the base, `+++` the working tree's history, and the SQL turns the base's schema into the
    // working tree's (what the new migrations amount to).
    let (old, new, new_header, review, fixes) = match (&base, &database) {
        (Some(label), _) => (
            format!("the history at {label}"),
            history_label.clone(),
            history_label,
            crate::catalog::diff(&live, &expected),
            crate::catalog::diff(&expected, &live),
        ),
        (None, db) => (
            history_label,
            "the database".to_string(),
            format!("{} (live)", db.as_deref().unwrap_or("the database")),
            crate::catalog::diff(&expected, &live),
            Vec::new(),
        ),
    };
    let compared = |diffs| crate::catalog::leave_out_privileges(diffs, opts.drift_privileges);
    let (differences, ignored) =
        crate::catalog::apply_ignores(compared(review), &ctx.set.drift_ignore);
    let sql = if base.is_some() {
        sql_script(&crate::catalog::apply_ignores(compared(fixes), &ctx.set.drift_ignore).0)
    } else {
        sql_script(&differences)
    };
    let report = DiffReport {
        old,
        new,
        new_header,
        command: "diff",
        ok: differences.is_empty(),
        set: set.to_string(),
        database,
        base,
        to,
        sql,
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
    /// The database (password hidden); `null` with `--base`.
    pub database: Option<String>,
    /// `--base`: the revision whose history was compared instead of a database.
    pub base: Option<String>,
    /// `--to`: the version the history was taken up to (`null`: all of it).
    pub to: Option<String>,
    /// One entry per object that differs (as `check`'s `catalog_drift`): `expected` is the
    /// history's value and `actual` the database's; with `--base`, `expected` is the base
    /// revision's and `actual` the working tree's.
    pub differences: Vec<Difference>,
    /// How many differences `drift-ignore` patterns left out.
    pub ignored: usize,
    /// The statements that turn the database into what the history says.
    pub sql: String,
    /// `--sql` (human text only).
    #[serde(skip)]
    pub sql_only: bool,
    /// What the `---` side is (human text only).
    #[serde(skip)]
    pub old: String,
    /// What the `+++` side is, in a sentence and as a header (human text only).
    #[serde(skip)]
    pub new: String,
    #[serde(skip)]
    pub new_header: String,
}

impl Render for DiffReport {
    fn human(&self, p: &Human<'_>) {
        let r = self;
        if r.sql_only {
            p.raw(&r.sql);
            return;
        }
        let (history, other, other_header) = (&r.old, &r.new, &r.new_header);
        p.line(format!("--- {history}\n+++ {other_header}").dim());
        for d in &r.differences {
            let what = format!("{} `{}`", d.kind, d.name);
            match &d.change {
                Change::Extra => p.result(format!("+ {what} (only in {other})").good()),
                Change::Missing => p.result(format!("- {what} (only in {history})").bad()),
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
                                history,
                                other_header,
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
            format!("{other} matches {history}{ignored}").good().strong().to_string()
        } else {
            format!(
                "{} between {history} and {other}{ignored}; `--sql` prints the statements that turn {other} into {history}",
                count(r.differences.len(), "difference")
            )
            .bad()
            .strong()
            .to_string()
        });
    }
}
