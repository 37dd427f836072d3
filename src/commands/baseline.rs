//! `cargo migrate baseline --to VERSION [--force]`: adopt an existing database.
//!
//! A database created by hand, by another tool or by an older system already has the effect of
//! some migrations. `baseline` records the set's migrations up to VERSION as applied without
//! running them, but only after comparing the live schema with the schema the history produces
//! at VERSION (replayed on a scratch database): on any difference it refuses and shows the
//! diff; `--force` records them anyway, with a warning. Nothing is ever marked applied silently.

use colored::Colorize;
use serde_json::json;

use super::apply::check_target;
use super::{count, require_urls, stop_on_problems, Outcome};
use crate::db::lock::MigrationLock;
use crate::db::{one_line, ConnectOptions, DbError};
use crate::output::Printer;
use crate::settings::Resolved;

/// Options of `baseline`.
#[derive(Debug, Clone)]
pub struct BaselineOptions {
    pub to: String,
    pub force: bool,
    pub lock_timeout: std::time::Duration,
}

pub fn run(
    resolved: &Resolved,
    opts: &BaselineOptions,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    if let Some(outcome) = stop_on_problems(resolved, printer, "baseline") {
        return Ok(outcome);
    }
    require_urls(resolved)?;
    let to = check_target(resolved, Some(&opts.to), "--to")?.unwrap_or_default();
    let ctx = &resolved.sets[0];
    let set = &ctx.set.name;
    let (url, _) = ctx.require_url(&resolved.workspace.root)?;
    let mut conn = match super::connect_raw(resolved, ctx, ConnectOptions::default()) {
        Ok(c) => c,
        Err(DbError::SqliteMissing { path }) => {
            anyhow::bail!("set `{set}`: the SQLite database `{}` does not exist, so there is nothing to baseline\nhelp: `cargo migrate apply` creates a new database from the migrations", path.display())
        }
        Err(err) => return Err(super::describe_connect_error(ctx, err)),
    };
    let query_err = |e: diesel::result::Error| {
        anyhow::anyhow!(
            "set `{set}`: reading {url} failed: {}",
            one_line(&e.to_string(), &url)
        )
    };
    let lock = MigrationLock::acquire(&mut conn, &url, opts.lock_timeout, || {
        printer.line(format!(
            "  {}",
            "waiting for the migration lock (another process is applying migrations)...".dimmed()
        ))
    })
    .map_err(|e| anyhow::anyhow!("set `{set}`: {e}"))?;

    let result = (|| -> anyhow::Result<Outcome> {
        let applied = conn.applied_versions().map_err(query_err)?;
        let newer: Vec<&String> = applied
            .iter()
            .filter(|v| v.as_str() > to.as_str())
            .collect();
        if !newer.is_empty() {
            anyhow::bail!(
                "set `{set}`: {url} already records migrations newer than {to} as applied ({})\nhelp: baseline only adopts a database that is behind; use `apply` or `revert` on it instead",
                newer.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            );
        }
        let upto: Vec<crate::migration::Migration> = ctx
            .folder
            .migrations
            .iter()
            .filter(|m| m.version <= to)
            .cloned()
            .collect();
        let to_mark: Vec<&crate::migration::Migration> = upto
            .iter()
            .filter(|m| !applied.contains(&m.version))
            .collect();
        printer.line(format!(
            "{} {}",
            set.bold(),
            resolved.show_url(&url).dimmed()
        ));

        // Verify: the live schema must be the schema of the history up to VERSION.
        let expected = super::schema::rendered_for(resolved, ctx, &upto, true, "baseline")
            .map_err(|e| {
                anyhow::anyhow!(
                    "set `{set}`: could not render the schema of the history up to {to}: {}",
                    super::schema::history_diagnostic(resolved, ctx, &e).message
                )
            })?;
        let sections = crate::db::history::sections(&ctx.set)?;
        let fmt = crate::db::history::format_config(&ctx.set, &resolved.workspace.root)?;
        let live = crate::db::history::render_live(&mut conn, &sections, &fmt)?;
        let mut differs = false;
        for (want, have) in expected.iter().zip(&live) {
            if !crate::diff::same(&want.text, &have.text) {
                differs = true;
                let diff = crate::diff::unified(
                    &want.text,
                    &have.text,
                    &format!("history up to {to}"),
                    &format!("{url} (live)"),
                );
                if printer.human() && !printer.quiet {
                    eprint!("{}", crate::diff::paint(&diff));
                }
            }
        }
        if differs && !opts.force {
            if printer.human() {
                eprintln!(
                    "{} set `{set}`: the database's schema differs from the schema of the history up to {to} (diff above); nothing was recorded\n{} make the database match (or choose the VERSION it matches), or pass --force to record the migrations anyway",
                    "error:".red().bold(),
                    "help:".cyan().bold()
                );
            }
            printer.json(&json!({ "command": "baseline", "ok": false, "set": set, "to": to, "schema_matches": false, "recorded": [] }));
            return Ok(Outcome::Failure);
        }
        if differs {
            printer.warn(format!(
                "set `{set}`: recording migrations although the schema differs (--force)"
            ));
        }
        if !to_mark.is_empty() {
            conn.ensure_migrations_table().map_err(query_err)?;
            // Versions are letters and digits only (checked when the folder was read).
            let values: Vec<String> = to_mark
                .iter()
                .map(|m| format!("('{}')", m.version))
                .collect();
            conn.batch_execute(&format!(
                "INSERT INTO __diesel_schema_migrations (version) VALUES {}",
                values.join(", ")
            ))
            .map_err(query_err)?;
        }
        for m in &to_mark {
            printer.line(format!("  {} {}", "recorded".cyan(), m.dir_name));
        }
        printer.result(format!(
            "baseline: recorded {} as applied without running {}",
            count(to_mark.len(), "migration"),
            if to_mark.len() == 1 { "it" } else { "them" }
        ));
        printer.json(&json!({
            "command": "baseline",
            "ok": true,
            "set": set,
            "to": to,
            "schema_matches": !differs,
            "recorded": to_mark.iter().map(|m| &m.version).collect::<Vec<_>>(),
        }));
        Ok(Outcome::Success)
    })();
    lock.release(&mut conn);
    result
}
