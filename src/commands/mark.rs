//! `cargo migrate mark --applied VERSION` / `--rolled-back VERSION`: record that a migration
//! was run (or undone) by hand, as `prisma migrate resolve` and `flyway repair` do.
//!
//! One set at a time, under the migration lock, and only what is consistent with the database:
//! a version is marked applied only when it is a migration of the set that the database does
//! not record yet, and rolled back only when the database records it. Nothing of up.sql or
//! down.sql runs. The mark is kept in our own table (see [`crate::db::marks`]), so `status`
//! shows that the migration was marked, not run.

use super::{open, read_state, stop_on_problems, Opened, Outcome};
use crate::db::marks::{self, Mark, MarkAction};
use crate::db::run;
use crate::db::{ConnectOptions, DbError, Privilege};
use crate::error::SetError;
use crate::migration::normalise_version;
use crate::output::{Human, Paint, Printer, Render};
use crate::settings::Resolved;
use serde::Serialize;
use std::time::Duration;

/// Options of `mark`.
#[derive(Debug, Clone)]
pub struct MarkOptions {
    /// The version to mark.
    pub version: String,
    /// What to mark it as.
    pub action: MarkAction,
    /// Why (kept with the mark).
    pub note: Option<String>,
    /// How long to wait for another process's migration lock.
    pub lock_timeout: Duration,
}

/// `mark`.
pub fn run(resolved: &Resolved, opts: &MarkOptions, printer: &Printer) -> anyhow::Result<Outcome> {
    if let Some(outcome) = stop_on_problems(resolved, printer, "mark") {
        return Ok(outcome);
    }
    resolved.require_sets("mark")?;
    let flag = match opts.action {
        MarkAction::Applied => "--applied",
        MarkAction::RolledBack => "--rolled-back",
    };
    // A version to mark applied must be a migration of the set; one to mark rolled back only
    // has to be recorded (a migration deleted from the folder can be unmarked too).
    let version = match opts.action {
        MarkAction::Applied => resolved.target_version(flag, &opts.version)?,
        MarkAction::RolledBack => resolved.target_version(flag, &opts.version).or_else(|e| {
            let v = normalise_version(&opts.version);
            if resolved.sets.len() == 1 && !v.is_empty() {
                Ok(v)
            } else {
                Err(e)
            }
        })?,
    };
    if !version.chars().all(|c| c.is_ascii_alphanumeric()) {
        anyhow::bail!("`{}` is not a migration version\nhelp: give the version or the folder name of a migration, e.g. `{flag} 2024-01-01-000000_create_users`", opts.version);
    }
    let [ctx] = resolved.sets.as_slice() else {
        anyhow::bail!("mark works on one set at a time\nhelp: choose it with -p NAME");
    };
    let set = ctx.name();
    let (url, _) = ctx.require_url()?;
    let mut conn = match open(ctx, ConnectOptions::default(), printer)? {
        (Opened::Connected(conn), _) => conn,
        (Opened::Missing(path), _) => {
            return Err(SetError::new(
                set,
                format!(
                    "the database file `{}` does not exist, so nothing can be marked in it\nhelp: `cargo migrate apply -p {set}` creates it",
                    path.display()
                ),
            )
            .into())
        }
    };
    let note = opts
        .note
        .clone()
        .unwrap_or_else(|| "marked by hand".to_string());
    let mark = run::locked(&mut conn, &url, opts.lock_timeout, printer, |conn| {
        let needs: &[Privilege] = match opts.action {
            MarkAction::Applied => &[Privilege::Select, Privilege::Insert],
            MarkAction::RolledBack => &[Privilege::Select, Privilege::Delete],
        };
        if conn.has_migrations_table().unwrap_or(false) {
            conn.versions_table(&url, needs)
                .map_err(|e| SetError::new(set, e).with_origin(ctx.url_origin()))?;
        }
        let state = read_state(resolved, ctx, Some(conn), &url)?;
        let recorded = state.applied.contains(&version) || state.unknown.contains(&version);
        let dir_name = ctx
            .folder
            .find(&version)
            .map(|m| m.dir_name.clone())
            .unwrap_or_else(|| version.clone());
        match (opts.action, recorded) {
            (MarkAction::Applied, true) => {
                return Err(SetError::new(
                    set,
                    format!("`{dir_name}` is already recorded as applied in {url}; nothing was marked"),
                ))
            }
            (MarkAction::RolledBack, false) => {
                return Err(SetError::new(
                    set,
                    format!("`{dir_name}` is not recorded as applied in {url}, so there is nothing to mark rolled back\nhelp: `cargo migrate status -p {set}` shows what the database records"),
                ))
            }
            _ => {}
        }
        marks::mark(conn, &url, &version, opts.action, &note)
            .map_err(|e: DbError| SetError::new(set, e))
    })
    .map_err(|e: DbError| SetError::new(set, e))??;
    let dir_name = ctx
        .folder
        .find(&version)
        .map(|m| m.dir_name.clone())
        .unwrap_or_else(|| version.clone());
    printer.report(&MarkReport {
        command: "mark",
        ok: true,
        set: set.to_string(),
        database: url.to_string(),
        dir_name,
        mark,
    });
    Ok(Outcome::Success)
}

/// `mark`.
#[derive(Debug, Clone, Serialize)]
pub struct MarkReport {
    /// `"mark"`.
    pub command: &'static str,
    /// `true`.
    pub ok: bool,
    /// The set.
    pub set: String,
    /// The database (password hidden).
    pub database: String,
    /// The migration's folder name (its version when the folder is gone).
    pub dir_name: String,
    /// What was recorded.
    pub mark: Mark,
}

impl Render for MarkReport {
    fn human(&self, p: &Human<'_>) {
        let (what, file) = match self.mark.action {
            MarkAction::Applied => ("applied", "up.sql"),
            MarkAction::RolledBack => ("rolled back", "down.sql"),
        };
        p.result(format!(
            "{} {} marked {what} in {} ({file} did not run; `status` shows it as marked)",
            self.set.strong(),
            self.dir_name,
            self.database
        ));
    }
}
