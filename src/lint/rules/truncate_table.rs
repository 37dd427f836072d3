//! `truncate-table`: `TRUNCATE` of a table not created earlier in the same file.
//!
//! `TRUNCATE` deletes every row of the table at once, with no `WHERE` to narrow it and, on
//! MySQL, no way back (it commits). On PostgreSQL it takes an ACCESS EXCLUSIVE lock on the
//! table, which blocks every read and write of it until the migration's transaction ends;
//! with `CASCADE` it also empties every table with a foreign key to it.
//!
//! Not reported: a table created earlier in the same file.
//!
//! Safe pattern: keep deleting data out of schema migrations; when the table really must be
//! emptied as part of a release, say why with an allow comment.

use crate::lint::config::Level;
use crate::lint::model::Action;

use super::{Finding, Rule, RuleInfo, StmtCx, POSTGRES_MYSQL};

pub const ID: &str = "truncate-table";

pub struct TruncateTable;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Warn,
    backends: POSTGRES_MYSQL,
    summary: "TRUNCATE deletes every row of an existing table",
    on_down: false,
};

impl Rule for TruncateTable {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_statement(&self, cx: &StmtCx<'_>, out: &mut Vec<Finding>) {
        for act in &cx.facts.actions {
            let Action::Truncate { table, cascade } = &act.action else {
                continue;
            };
            if !cx.is_existing_table(table) {
                continue;
            }
            let lock = cx.backend().truncate_lock();
            let cascade = if *cascade {
                "; CASCADE also empties every table with a foreign key to it"
            } else {
                ""
            };
            out.push(cx.finding(
                ID,
                act.at,
                format!("TRUNCATE deletes every row of `{table}`{lock}{cascade}"),
                "keep data deletion out of schema migrations; if the rows must go with this \
                 release, back them up and say why with \
                 `-- cargo-migrate: allow(truncate-table): <reason>`",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::lint::testing::{at, lint_errors, lint_ok, Case};

    #[test]
    fn fires_on_existing_tables() {
        let d = Case::pg("TRUNCATE sessions;").fires(ID);
        assert_eq!(at(&d[0]), (1, 10));
        assert!(d[0].message.contains("ACCESS EXCLUSIVE"));
        let d = Case::pg("TRUNCATE TABLE a, b RESTART IDENTITY CASCADE;").fires(ID);
        assert_eq!(d.len(), 2);
        assert!(d[0].message.contains("CASCADE"));
        let d = Case::mysql("TRUNCATE TABLE sessions;").fires(ID);
        assert!(!d[0].message.contains("ACCESS EXCLUSIVE"));
    }

    #[test]
    fn quiet_on_new_tables_or_allowed() {
        lint_ok("CREATE TABLE tmp (id INT);\nTRUNCATE tmp;", ID);
        lint_ok(
            "-- cargo-migrate: allow(truncate-table): cache table, rebuilt on start\nTRUNCATE TABLE cache;",
            ID,
        );
        lint_ok("DELETE FROM sessions WHERE id = 1;", ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(lint_errors("TRUNCATE TABLE sessions;", ID));
    }
}
