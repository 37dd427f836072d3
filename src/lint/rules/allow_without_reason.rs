//! `allow-without-reason`: an inline `-- cargo-migrate: allow(rule-id)` without a reason.
//!
//! Silencing a rule is a decision someone else will have to trust later. Without the reason
//! ("the table has 40 rows", "column unused since v2.3"), a reviewer cannot tell a checked
//! exception from a hushed warning. The allow still takes effect; only the missing reason is
//! reported.
//!
//! Safe pattern: `-- cargo-migrate: allow(rule-id): why this is safe here`.
//!
//! The directives are read by the `suppress` module; this file declares the rule.

use crate::lint::config::Level;

use super::{Rule, RuleInfo, ALL_BACKENDS};

pub const ID: &str = "allow-without-reason";

pub struct AllowWithoutReason;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Warn,
    backends: ALL_BACKENDS,
    summary: "inline allow comment without a reason",
    on_down: true,
};

impl Rule for AllowWithoutReason {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::lint::rules::{drop_column, unused_allow};
    use crate::lint::testing::{at, lint_errors, Case};

    #[test]
    fn fires_without_reason_but_still_silences() {
        let c = Case::pg("SELECT 1;\n-- cargo-migrate: allow(drop-column)\nALTER TABLE users DROP COLUMN legacy;");
        let d = c.fires(ID);
        assert_eq!(at(&d[0]), (2, 1));
        c.quiet(drop_column::ID);
        c.quiet(unused_allow::ID);
    }

    #[test]
    fn quiet_with_reason() {
        Case::pg("ALTER TABLE users DROP COLUMN legacy; -- cargo-migrate: allow(drop-column): unused since 2022")
            .quiet(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(lint_errors(
            "-- cargo-migrate: allow(drop-column, rename-column)\nALTER TABLE users DROP COLUMN legacy;",
            ID
        ));
    }
}
