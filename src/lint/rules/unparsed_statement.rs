//! `unparsed-statement`: a statement the linter could neither parse nor recognise by its
//! keywords (allowed by default).
//!
//! Such a statement is not checked by any rule, and what it creates or drops is not known to
//! the schema model, so later findings may be less precise. Turn the rule on
//! (`unparsed-statement = "warn"`) to see which statements those are.
//!
//! Statements sqlparser rejects but the linter reads by keywords (`DO`, `DROP INDEX
//! CONCURRENTLY`, `PRAGMA`, `REINDEX`, `ALTER TYPE`, …) are not reported.

use crate::lint::config::Level;

use super::{Finding, Rule, RuleInfo, StmtCx, ALL_BACKENDS};

pub const ID: &str = "unparsed-statement";

pub struct UnparsedStatement;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Allow,
    backends: ALL_BACKENDS,
    summary: "statement the linter cannot read, so no rule checks it (allowed by default)",
    on_down: true,
};

impl Rule for UnparsedStatement {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_statement(&self, cx: &StmtCx<'_>, out: &mut Vec<Finding>) {
        if cx.facts.understood {
            return;
        }
        let why = cx.facts.parse_error.as_deref().unwrap_or("unknown syntax");
        out.push(cx.finding(
            ID,
            None,
            format!("this statement could not be read ({why}), so no rule checked it"),
            "review it by hand; if it is valid for the database, nothing needs to change",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::lint::config::{Level, LintConfig};
    use crate::lint::testing::Case;

    fn on() -> LintConfig {
        let mut c = LintConfig::default();
        c.levels.insert(ID.into(), Level::Warn);
        c
    }

    #[test]
    fn fires_when_enabled() {
        let d = Case::pg("FROBNICATE THE TABLES;").config(on()).fires(ID);
        assert!(d[0].message.contains("could not be read"));
        Case::pg("FROBNICATE THE TABLES;").quiet(ID);
    }

    #[test]
    fn quiet_on_statements_read_by_keywords() {
        Case::pg("DO $$ BEGIN RAISE NOTICE 'x'; END $$;")
            .config(on())
            .quiet(ID);
        Case::sqlite("PRAGMA foreign_keys = ON;")
            .no_transaction()
            .config(on())
            .quiet(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(Case::pg("FROBNICATE THE TABLES;").config(on()).rendered(ID));
    }
}
