//! `cargo migrate rules`: the lint rules, their ids, default levels and backends.

use super::Outcome;
use crate::lint;
use crate::output::Printer;
use crate::report::{Report, RulesReport};

/// `rules`.
pub fn run(printer: &Printer) -> anyhow::Result<Outcome> {
    printer.report(Report::Rules(&RulesReport {
        command: "rules",
        ok: true,
        rules: lint::rules(),
    }));
    Ok(Outcome::Success)
}
