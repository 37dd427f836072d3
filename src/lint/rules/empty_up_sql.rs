//! `empty-up-sql`: an `up.sql` with no statement in it.
//!
//! What happens depends on the backend. Diesel's file-based migrations refuse a zero-byte
//! `up.sql` ("Attempted to run an empty migration"); anything else, comments included, is sent
//! to the database as it is:
//!
//! * SQLite runs nothing and diesel records the migration as applied, so whatever the migration
//!   was meant to do never happens, and nothing says so;
//! * PostgreSQL answers with an empty-query result, which diesel turns into an error
//!   ("Received an empty query"): the migration fails, and every later one of the set waits
//!   behind it;
//! * MySQL receives a query with no statement in it, which the server rejects ("Query was
//!   empty"), with the same effect.
//!
//! Safe pattern: write the migration, or remove the folder. A migration that deliberately does
//! nothing can say so with `SELECT 1;` and a comment.

use crate::backend::Backend;
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
        let FileState::Read(file) = &cx.up else {
            return;
        };
        if !file.split.statements.is_empty() {
            return;
        }
        let outcome = match cx.backend {
            Backend::Sqlite => "on SQLite diesel runs nothing and records the migration as applied, as if it had done its work",
            Backend::Postgres => {
                "on PostgreSQL diesel fails with \"Received an empty query\", and later \
                 migrations of the set wait behind it"
            }
            Backend::Mysql => {
                "diesel sends MySQL a query with no statement, which the server rejects \
                 (\"Query was empty\"), and later migrations of the set wait behind it"
            }
        };
        out.push(cx.file_finding(
            ID,
            FileKind::Up,
            None,
            None,
            format!("up.sql holds no statement: {outcome}"),
            "write the migration's statements, or delete the folder if it is not needed; \
             a migration that deliberately does nothing can say so in a comment above `SELECT 1;`",
        ));
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
        insta::assert_snapshot!("postgres", Case::pg("-- TODO\n").rendered(ID));
        insta::assert_snapshot!("mysql", Case::mysql("/* TODO */\n").rendered(ID));
    }
}
