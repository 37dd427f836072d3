//! `cargo migrate rules`: the lint rules, their ids, default levels and backends.

use super::Outcome;
use crate::lint;
use crate::output::Printer;

use crate::lint::{Level, RuleInfo};
use crate::output::{Human, Paint, Render};
use serde::Serialize;

/// `rules`.
pub fn run(printer: &Printer) -> anyhow::Result<Outcome> {
    printer.report(&RulesReport {
        command: "rules",
        ok: true,
        rules: lint::rules(),
    });
    Ok(Outcome::Success)
}

// ---------------------------------------------------------------------------------------------
// The report

/// `rules`.
#[derive(Debug, Clone, Serialize)]
pub struct RulesReport {
    /// `"rules"`.
    pub command: &'static str,
    /// `true`.
    pub ok: bool,
    /// Every rule.
    pub rules: Vec<RuleInfo>,
}

impl Render for RulesReport {
    fn human(&self, p: &Human<'_>) {
        let r = self;
        let width = r.rules.iter().map(|r| r.id.len()).max().unwrap_or(0);
        for rule in &r.rules {
            let level = match rule.default_level {
                Level::Deny => "deny ".bad().to_string(),
                Level::Warn => "warn ".caution().to_string(),
                Level::Allow => "allow".dim().to_string(),
            };
            let backends: Vec<&str> = rule.backends.iter().map(|b| b.as_str()).collect();
            p.line(format!(
                "{:width$}  {level}  {}  {}",
                rule.id,
                rule.summary,
                format!("[{}]", backends.join(", ")).dim()
            ));
        }
        p.line(format!("\n{} rules; docs/rules/<id>.md explains each. Levels are set in [workspace.metadata.migrate.lint] or [package.metadata.migrate.lint].", r.rules.len()));
    }
}
