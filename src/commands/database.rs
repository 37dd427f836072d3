//! `cargo migrate database create|drop|reset` and `cargo migrate setup`: development
//! databases, as `diesel setup` / `diesel database reset` and `sqlx database …` make them.
//!
//! `create` makes each selected set's database when it is missing (a SQLite file, or a
//! database on the set's server) and leaves an existing one alone. `drop` deletes it; `reset`
//! is `drop`, `create` and `apply`, and `setup` is `create` and `apply` (both run as `apply`,
//! see [`Prepare`]). Dropping needs a confirmation: a yes on a terminal, `--yes` anywhere else;
//! and it is refused for a database that is not on this machine unless `--allow-remote` is
//! given. Only the database the set's URL names is touched.

use super::{prepare_databases, stop_on_problems, DatabaseChange, Outcome, Prepare};
use crate::output::{Human, Paint, Printer, Render};
use crate::settings::Resolved;
use serde::Serialize;

/// `database create` or `database drop` (`reset` runs as `apply`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseAction {
    /// Create each selected set's database when missing.
    Create,
    /// Drop each selected set's database.
    Drop,
}

/// Options of `database create|drop`.
#[derive(Debug, Clone)]
pub struct DatabaseOptions {
    /// What to do.
    pub action: DatabaseAction,
    /// `--yes`: drop without asking.
    pub yes: bool,
    /// `--allow-remote`: a database on another machine may be dropped.
    pub allow_remote: bool,
}

/// `database create|drop`.
pub fn run(
    resolved: &Resolved,
    opts: &DatabaseOptions,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    let command = match opts.action {
        DatabaseAction::Create => "database create",
        DatabaseAction::Drop => "database drop",
    };
    if let Some(outcome) = stop_on_problems(resolved, printer, "database") {
        return Ok(outcome);
    }
    resolved.require_sets("database")?;
    resolved.require_urls()?;
    let prepare = match opts.action {
        DatabaseAction::Create => Prepare::Create,
        DatabaseAction::Drop => Prepare::Drop {
            yes: opts.yes,
            allow_remote: opts.allow_remote,
        },
    };
    let Some(databases) = prepare_databases(resolved, &prepare, printer)? else {
        return Ok(Outcome::Unusable);
    };
    printer.report(&DatabaseReport {
        command,
        ok: true,
        databases,
    });
    Ok(Outcome::Success)
}

/// `database create|drop`.
#[derive(Debug, Clone, Serialize)]
pub struct DatabaseReport {
    /// `"database create"` or `"database drop"`.
    pub command: &'static str,
    /// `true`.
    pub ok: bool,
    /// What was done to each set's database.
    pub databases: Vec<DatabaseChange>,
}

impl Render for DatabaseReport {
    fn human(&self, p: &Human<'_>) {
        for change in &self.databases {
            p.result(change.describe());
        }
        if self.databases.is_empty() {
            p.result("no database to work on".dim());
        }
    }
}
