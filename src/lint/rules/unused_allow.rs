//! `unused-allow`: an inline `-- cargo-migrate: allow(...)` that silences nothing.
//!
//! An allow that no longer matches a finding (the statement was changed, the comment drifted
//! away from its statement, the rule id is misspelled) gives a false sense of what was
//! reviewed, and would silently hide a future problem on whatever statement it lands on.
//! Comments that start with `cargo-migrate:` but cannot be read are reported here as well.
//!
//! Safe pattern: put the allow on the line(s) directly above the statement (no blank line in
//! between) or at the end of its last line, naming a rule that fires there; remove it
//! otherwise.
//!
//! The directives are read by the `suppress` module; this file declares the rule.

use crate::lint::config::Level;

use super::{Rule, RuleInfo, ALL_BACKENDS};

pub const ID: &str = "unused-allow";

pub struct UnusedAllow;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Warn,
    backends: ALL_BACKENDS,
    summary: "inline allow comment that silences nothing, names an unknown rule, or cannot be read",
    on_down: true,
};

impl Rule for UnusedAllow {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::lint::rules::drop_column;
    use crate::lint::testing::{at, lint_errors, Case};

    #[test]
    fn fires_on_allows_that_silence_nothing() {
        let d = Case::pg(
            "-- cargo-migrate: allow(drop-table): old\nALTER TABLE users DROP COLUMN legacy;",
        )
        .fires(ID);
        assert_eq!(at(&d[0]), (1, 1));
        // A blank line detaches the comment from the statement.
        let c = Case::pg(
            "-- cargo-migrate: allow(drop-column): old\n\nALTER TABLE users DROP COLUMN legacy;",
        );
        c.fires(ID);
        c.fires(drop_column::ID);
        let d = Case::pg("SELECT 1; -- cargo-migrate: allow(drop-colum): typo").fires(ID);
        assert!(d[0].message.contains("no known rule"));
        Case::pg("SELECT 1; -- cargo-migrate: allow drop-column").fires(ID);
    }

    #[test]
    fn quiet_when_the_allow_is_used() {
        Case::pg("-- cargo-migrate: allow(drop-column): reviewed\n-- second comment line\nALTER TABLE users DROP COLUMN legacy;\nALTER TABLE users RENAME COLUMN a TO b; -- cargo-migrate: allow(rename-column): no readers")
            .quiet(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(lint_errors(
            "-- cargo-migrate: allow(drop-table): old\nALTER TABLE users DROP COLUMN legacy;\n\
             SELECT 1; -- cargo-migrate: allow(drop-colum): typo\n\
             SELECT 2; -- cargo-migrate: allow drop-column",
            ID
        ));
    }
}
