//! `cargo migrate status`: per set, which migrations are applied, which are pending, and which
//! the database records as applied although the folder no longer has them. Reads only: the
//! database (and a missing SQLite file) is left exactly as it was.

use std::collections::BTreeSet;

use colored::Colorize;
use serde::Serialize;
use serde_json::json;

use super::{connect_raw, count, describe_connect_error, require_urls, stop_on_problems, Outcome};
use crate::db::{ConnectOptions, DbError};
use crate::output::Printer;
use crate::settings::{Resolved, SetContext};

/// The state of one set's database.
#[derive(Debug, Clone, Serialize)]
pub struct SetStatus {
    pub set: String,
    pub database: String,
    /// `false` when the SQLite file does not exist yet.
    pub exists: bool,
    pub applied: Vec<String>,
    pub pending: Vec<String>,
    /// Recorded as applied, missing from the folder (and from sets sharing the database).
    pub unknown: Vec<String>,
    /// Pending migrations older than the newest applied one (usually an out-of-order merge).
    pub out_of_order: Vec<String>,
}

/// Read the state of a set's database.
pub fn read(resolved: &Resolved, ctx: &SetContext) -> anyhow::Result<SetStatus> {
    let (url, _) = ctx.require_url(&resolved.workspace.root)?;
    let (applied_db, exists) = match connect_raw(resolved, ctx, ConnectOptions::default()) {
        Ok(mut conn) => {
            let versions = conn.applied_versions().map_err(|e| {
                anyhow::anyhow!(
                    "set `{}`: reading __diesel_schema_migrations on {url} failed: {}",
                    ctx.set.name,
                    crate::db::one_line(&e.to_string(), &url)
                )
            })?;
            (versions, true)
        }
        Err(DbError::SqliteMissing { .. }) => (Vec::new(), false),
        Err(err) => return Err(describe_connect_error(ctx, err)),
    };
    Ok(compute(
        resolved,
        ctx,
        resolved.show_url(&url),
        exists,
        applied_db,
    ))
}

fn compute(
    resolved: &Resolved,
    ctx: &SetContext,
    database: String,
    exists: bool,
    applied_db: Vec<String>,
) -> SetStatus {
    let applied_set: BTreeSet<&str> = applied_db.iter().map(String::as_str).collect();
    let siblings = resolved.sibling_versions(ctx);
    let folder: BTreeSet<&str> = ctx
        .folder
        .migrations
        .iter()
        .map(|m| m.version.as_str())
        .collect();
    let mut applied = Vec::new();
    let mut pending = Vec::new();
    for m in &ctx.folder.migrations {
        if applied_set.contains(m.version.as_str()) {
            applied.push(m.version.clone());
        } else {
            pending.push(m.version.clone());
        }
    }
    let unknown: Vec<String> = applied_db
        .iter()
        .filter(|v| !folder.contains(v.as_str()) && !siblings.contains(*v))
        .cloned()
        .collect();
    let newest_applied = applied.iter().max().cloned();
    let out_of_order = pending
        .iter()
        .filter(|v| newest_applied.as_ref().is_some_and(|n| *v < n))
        .cloned()
        .collect();
    SetStatus {
        set: ctx.set.name.clone(),
        database,
        exists,
        applied,
        pending,
        unknown,
        out_of_order,
    }
}

pub fn run(resolved: &Resolved, printer: &Printer, exit_code: bool) -> anyhow::Result<Outcome> {
    if let Some(outcome) = stop_on_problems(resolved, printer, "status") {
        return Ok(outcome);
    }
    require_urls(resolved)?;
    let mut statuses = Vec::new();
    for ctx in &resolved.sets {
        let st = read(resolved, ctx)?;
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
        printer.result(format!(
            "{} {} {}",
            ctx.set.name.bold(),
            st.database.dimmed(),
            format!("({summary})").dimmed()
        ));
        if !st.exists {
            printer.line(
                "  the database file does not exist yet; `cargo migrate apply` creates it"
                    .dimmed()
                    .to_string(),
            );
        }
        for m in &ctx.folder.migrations {
            let painted = if st.applied.contains(&m.version) {
                "applied".green().to_string()
            } else if st.out_of_order.contains(&m.version) {
                "pending".yellow().bold().to_string()
            } else {
                "pending".yellow().to_string()
            };
            let note = if st.out_of_order.contains(&m.version) {
                "  (older than the newest applied migration)"
                    .yellow()
                    .to_string()
            } else {
                String::new()
            };
            printer.line(format!("  {painted}  {}{note}", m.dir_name));
        }
        for v in &st.unknown {
            printer.line(format!(
                "  {}  {v}  {}",
                "unknown".red(),
                "(applied in the database, missing from the folder)".dimmed()
            ));
        }
        statuses.push(st);
    }
    let pending: usize = statuses.iter().map(|s| s.pending.len()).sum();
    let unknown: usize = statuses.iter().map(|s| s.unknown.len()).sum();
    if !statuses.is_empty() && printer.human() && !printer.quiet {
        let mut summary = if pending == 0 {
            "everything is applied".to_string()
        } else {
            format!("{} pending", count(pending, "migration"))
        };
        if unknown > 0 {
            summary.push_str(&format!(
                "; {} recorded as applied but missing from the folder",
                count(unknown, "migration")
            ));
        }
        println!("{summary}");
    }
    // `--exit-code`: anything that needs attention (pending, or recorded but unknown) is exit 1.
    let outcome = if exit_code && (pending > 0 || unknown > 0) {
        Outcome::Failure
    } else {
        Outcome::Success
    };
    printer.json(&json!({ "command": "status", "ok": outcome == Outcome::Success, "pending": pending, "unknown": unknown, "sets": statuses }));
    Ok(outcome)
}
