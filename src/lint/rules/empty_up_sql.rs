//! `empty-up-sql`: an `up.sql` with no statement in it.
//!
//! Diesel's file-based migrations (diesel_cli, `embed_migrations!`) refuse a zero-byte `up.sql`
//! ("Attempted to run an empty migration"); anything else, comments included, is sent to the
//! database as it is, and what happens then depends on the backend:
//!
//! * SQLite runs nothing and diesel records the migration as applied, so whatever the migration
//!   was meant to do never happens, SQL written into it later never runs, and nothing says so;
//! * PostgreSQL answers any such text with an empty-query result, which diesel turns into an
//!   error ("Received an empty query"): the migration fails, and every later one of the set
//!   waits behind it;
//! * MySQL and MariaDB accept a query of only comments, so diesel records the migration as
//!   applied as on SQLite; a file of only whitespace (or `;`) is rejected ("Query was empty").
//!
//! `cargo migrate apply` (and `revert`/`redo` for `down.sql`) refuses such a file on every
//! backend before the first migration of the plan runs, so the rule is an error.
//!
//! Safe pattern: write the migration, or remove the folder. A migration that deliberately does
//! nothing can say so with `SELECT 1;` and a comment.

use crate::lint::config::Level;

use super::{FileKind, FileState, Finding, MigrationCx, Rule, RuleInfo, ALL_BACKENDS};

pub const ID: &str = crate::db::run::EMPTY_UP_SQL;

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
        let zero_bytes = file.split.text.is_empty();
        // No statement, but more than whitespace and `;`: comments.
        let comments = file
            .split
            .text
            .chars()
            .any(|c| !c.is_whitespace() && c != ';');
        let outcome = if zero_bytes {
            "diesel refuses a zero-byte up.sql (\"Attempted to run an empty migration\")"
        } else {
            cx.backend.runs_statementless_up_sql(comments)
        };
        out.push(cx.file_finding(
            ID,
            FileKind::Up,
            None,
            None,
            format!("up.sql holds no statement: {outcome}; `cargo migrate apply` refuses it"),
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
        Case::mysql("").fires(ID);
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
        insta::assert_snapshot!("mysql_blank", Case::mysql("  \n").rendered(ID));
        insta::assert_snapshot!("zero_bytes", Case::sqlite("").rendered(ID));
    }
}
