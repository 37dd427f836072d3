//! `empty-down-sql`: a `down.sql` with no statement in it.
//!
//! Run as it is, such a file records the migration as undone while leaving its changes in place
//! on SQLite (and on MySQL/MariaDB when it holds comments), so the next `up` fails because the
//! tables or columns already exist; PostgreSQL rejects it ("Received an empty query").
//! `cargo migrate revert` and `redo` refuse it before anything runs.
//!
//! Safe pattern: write the statements that undo `up.sql`. If the migration cannot be undone,
//! make that explicit: a comment saying why, and silence the rule in configuration.

use crate::lint::config::Level;

use super::{FileKind, FileState, Finding, MigrationCx, Rule, RuleInfo, ALL_BACKENDS};

pub const ID: &str = crate::db::run::EMPTY_DOWN_SQL;

pub struct EmptyDownSql;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Warn,
    backends: ALL_BACKENDS,
    summary: "down.sql holds no statement, so reverting changes nothing",
    on_down: false,
};

impl Rule for EmptyDownSql {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_migration(&self, cx: &MigrationCx<'_>, out: &mut Vec<Finding>) {
        if let FileState::Read(file) = &cx.down {
            if file.split.statements.is_empty() {
                let outcome = cx.backend.runs_statementless_down_sql();
                out.push(cx.file_finding(
                    ID,
                    FileKind::Down,
                    None,
                    None,
                    format!(
                        "down.sql holds no statement: {outcome}; `cargo migrate revert` refuses it"
                    ),
                    "write the statements that undo up.sql",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::lint::testing::Case;

    #[test]
    fn fires_on_empty_down() {
        let d = Case::mysql("CREATE TABLE t (id INT);")
            .down(Some("-- This file should undo anything in `up.sql`\n"))
            .fires(ID);
        assert!(d[0].file.as_ref().unwrap().ends_with("down.sql"));
    }

    #[test]
    fn quiet_on_real_down() {
        Case::mysql("CREATE TABLE t (id INT);")
            .down(Some("DROP TABLE t;"))
            .quiet(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(Case::sqlite("CREATE TABLE t (id INT);")
            .down(Some("-- This file should undo anything in `up.sql`\n"))
            .rendered(ID));
    }
}
