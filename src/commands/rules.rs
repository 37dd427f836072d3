//! `cargo migrate rules`: the lint rules, their ids, default levels and backends.

use colored::Colorize;
use serde_json::json;

use super::Outcome;
use crate::lint::{self, Level};
use crate::output::Printer;

pub fn run(printer: &Printer) -> anyhow::Result<Outcome> {
    let rules = lint::rules();
    let width = rules.iter().map(|r| r.id.len()).max().unwrap_or(0);
    for r in &rules {
        let level = match r.default_level {
            Level::Deny => "deny ".red().to_string(),
            Level::Warn => "warn ".yellow().to_string(),
            Level::Allow => "allow".dimmed().to_string(),
        };
        let backends: Vec<&str> = r.backends.iter().map(|b| b.as_str()).collect();
        printer.line(format!(
            "{:width$}  {level}  {}  {}",
            r.id,
            r.summary,
            format!("[{}]", backends.join(", ")).dimmed()
        ));
    }
    printer.line(format!("\n{} rules; docs/rules/<id>.md explains each. Levels are set in [workspace.metadata.migrate.lint] or [package.metadata.migrate.lint].", rules.len()));
    printer.json(&json!({ "command": "rules", "ok": true, "rules": rules }));
    Ok(Outcome::Success)
}
