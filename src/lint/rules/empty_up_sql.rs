//! `empty-up-sql`: an `up.sql` with no statement in it.
//!
//! Diesel refuses to run a migration whose `up.sql` is empty or holds only comments, and stops
//! there: every later migration of the set is blocked until it is fixed.
//!
//! Safe pattern: write the migration, or remove the folder. A migration that deliberately does
//! nothing can say so with `SELECT 1;` and a comment.

use crate::lint::config::Level;

use super::{FileKind, FileState, Finding, MigrationCx, Rule, RuleInfo, ALL_BACKENDS};

pub const ID: &str = "empty-up-sql";

pub struct EmptyUpSql;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Deny,
    backends: ALL_BACKENDS,
    summary: "up.sql holds no statement (only whitespace or comments)",
    on_down: false,
};

impl Rule for EmptyUpSql {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_migration(&self, cx: &MigrationCx<'_>, out: &mut Vec<Finding>) {
        if let FileState::Read(file) = &cx.up {
            if file.split.statements.is_empty() {
                out.push(cx.file_finding(
                    ID,
                    FileKind::Up,
                    None,
                    None,
                    "up.sql is empty: diesel refuses to run an empty migration",
                    "write the migration's statements, or delete the folder if it is not needed",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::lint::testing::{lint_errors, Case};

    #[test]
    fn fires_on_whitespace_and_comments() {
        Case::sqlite("  \n-- TODO\n/* later */\n").fires(ID);
        Case::pg(";\n").fires(ID);
    }

    #[test]
    fn quiet_with_a_statement() {
        Case::sqlite("-- intentionally nothing\nSELECT 1;").quiet(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(lint_errors("-- TODO: write the migration\n", ID));
    }
}
