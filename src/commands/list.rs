//! `cargo migrate list`: the migration sets of the workspace and their migrations, offline.

use colored::Colorize;
use serde_json::json;

use super::Outcome;
use crate::output::Printer;
use crate::settings::Resolved;

pub fn run(resolved: &Resolved, printer: &Printer) -> anyhow::Result<Outcome> {
    let problems = resolved.problems();
    let mut sets_json = Vec::new();
    if resolved.sets.is_empty() {
        printer.line("no migration sets in this workspace (no member has a diesel.toml or a migrations/ folder)");
    }
    for ctx in &resolved.sets {
        let set = &ctx.set;
        let backend = ctx
            .backend()
            .map(|b| b.to_string())
            .unwrap_or_else(|| "backend unknown".to_string());
        let url = match &ctx.url {
            Some((url, source)) => format!("{} (from {source})", resolved.show_url(url)),
            None => format!("${} not set", set.database_url_env),
        };
        printer.result(format!(
            "{} {}",
            set.name.bold(),
            format!("[{backend}]").dimmed()
        ));
        printer.line(format!(
            "  migrations: {}",
            resolved.show(&set.migrations_dir).display()
        ));
        if let Some(schema) = &set.schema_file {
            printer.line(format!("  schema:     {}", resolved.show(schema).display()));
        }
        printer.line(format!("  database:   {url}"));
        if !set.depends_on.is_empty() {
            printer.line(format!("  after:      {}", set.depends_on.join(", ")));
        }
        for m in &ctx.folder.migrations {
            let mut notes = Vec::new();
            if !m.has_down() {
                notes.push("no down.sql");
            }
            if !m.run_in_transaction {
                notes.push("no transaction");
            }
            let notes = if notes.is_empty() {
                String::new()
            } else {
                format!("  ({})", notes.join(", "))
            };
            printer.line(format!("    {}{}", m.dir_name, notes.dimmed()));
        }
        if ctx.folder.migrations.is_empty() && ctx.folder.problems.is_empty() {
            printer.line("    (no migrations yet)".dimmed().to_string());
        }
        sets_json.push(json!({
            "name": set.name,
            "dir": resolved.show(&set.dir),
            "backend": ctx.backend(),
            "migrations_dir": resolved.show(&set.migrations_dir),
            "schema_file": set.schema_file.as_ref().map(|s| resolved.show(s)),
            "database_url_env": set.database_url_env,
            "database": ctx.url.as_ref().map(|(u, _)| resolved.show_url(u)),
            "found_by": set.found_by,
            "depends_on": set.depends_on,
            "migrations": ctx.folder.migrations.iter().map(|m| json!({
                "version": m.version,
                "name": m.name,
                "dir_name": m.dir_name,
                "has_down": m.has_down(),
                "run_in_transaction": m.run_in_transaction,
            })).collect::<Vec<_>>(),
        }));
    }
    if !problems.is_empty() {
        printer.diagnostics(&problems, true);
    }
    printer.json(&json!({
        "command": "list",
        "ok": problems.is_empty(),
        "workspace_root": resolved.workspace.root,
        "sets": sets_json,
        "problems": problems,
    }));
    Ok(if problems.is_empty() {
        Outcome::Success
    } else {
        Outcome::Unusable
    })
}
