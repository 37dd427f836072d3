//! `drop-table`: dropping an existing table.
//!
//! All its rows are lost, and running code that still queries it fails. With `CASCADE`,
//! PostgreSQL also drops the views and foreign keys that depend on it.
//!
//! Not reported:
//!
//! * a table rebuild: the rows of the dropped table are copied into a table created in the
//!   same file (`INSERT INTO new_t SELECT … FROM t`, or `CREATE TABLE new_t AS SELECT`), which
//!   carries the dropped table's name by the end of the file (SQLite's recipe `CREATE TABLE
//!   new_t …; INSERT INTO new_t SELECT … FROM t; DROP TABLE t; ALTER TABLE new_t RENAME TO t;`,
//!   the rename-first variant, or the round trip through a backup table of SQLite's FAQ).
//!   Without the copy the rows are lost, and it is reported;
//! * `DROP TABLE IF EXISTS t` in a file that creates `t` afterwards, when no earlier
//!   migration of the set created `t`: a create written to be re-runnable, not a drop of data.
//!
//! Safe pattern: stop using the table in code and deploy first; drop it in a later migration,
//! after a backup if its data may be needed again.

use crate::lint::config::Level;
use crate::lint::model::Action;

use super::{Finding, Rule, RuleInfo, StmtCx, ALL_BACKENDS};

pub const ID: &str = "drop-table";

pub struct DropTable;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Warn,
    backends: ALL_BACKENDS,
    summary: "dropping a table loses its data and breaks code that still uses it",
    on_down: false,
};

impl Rule for DropTable {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_statement(&self, cx: &StmtCx<'_>, out: &mut Vec<Finding>) {
        for act in &cx.facts.actions {
            let Action::DropTable {
                table,
                cascade,
                if_exists,
            } = &act.action
            else {
                continue;
            };
            if !cx.is_existing_table(table)
                || cx.file.is_rebuilt(cx.index, table)
                || (*if_exists && recreated_fresh(cx, table))
            {
                continue;
            }
            let extra = if *cascade {
                "; CASCADE also drops the views and foreign keys that depend on it"
            } else {
                ""
            };
            out.push(cx.finding(
                ID,
                act.at,
                format!("dropping table `{table}` deletes all its rows, and code built before this migration still uses it{extra}"),
                "stop using the table in code and deploy first, then drop it in a later migration (after a backup)",
            ));
        }
    }
}

/// `DROP TABLE IF EXISTS t` before a `CREATE TABLE t` of the same file, for a table no earlier
/// migration created: the file makes sure it can create `t`, it does not drop known data.
fn recreated_fresh(cx: &StmtCx<'_>, table: &str) -> bool {
    cx.schema.table(table).is_none()
        && cx.file.facts[cx.index + 1..]
            .iter()
            .flat_map(|f| f.iter())
            .any(|a| matches!(a, Action::CreateTable { table: t, .. } if t == table))
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::lint::testing::{lint_errors, lint_ok, Case};

    #[test]
    fn fires_on_drop() {
        let d = Case::pg("DROP TABLE IF EXISTS sessions CASCADE;").fires(ID);
        assert!(d[0].message.contains("CASCADE"));
        Case::mysql("DROP TABLE a, b;").fires(ID);
    }

    #[test]
    fn quiet_on_tables_created_here() {
        lint_ok("CREATE TABLE tmp (id INTEGER);\nDROP TABLE tmp;", ID);
    }

    /// SQLite's table rebuild: the rows are copied into the new table, which takes the old
    /// name. Written with quoted names, a column list and the foreign-key pragmas around it.
    #[test]
    fn quiet_on_a_table_rebuild() {
        const HISTORY: &[&str] = &["CREATE TABLE t (id INTEGER, legacy TEXT);"];
        lint_ok(
            "CREATE TABLE new_t (id INTEGER PRIMARY KEY);\nINSERT INTO new_t SELECT id FROM t;\nDROP TABLE t;\nALTER TABLE new_t RENAME TO t;",
            ID,
        );
        Case::sqlite("PRAGMA foreign_keys = OFF;\nBEGIN;\nCREATE TABLE \"t_new\" (id INTEGER PRIMARY KEY);\nINSERT INTO \"t_new\" (id) SELECT id FROM \"t\";\nDROP TABLE \"t\";\nALTER TABLE \"t_new\" RENAME TO \"t\";\nCOMMIT;\nPRAGMA foreign_keys = ON;")
            .after(HISTORY)
            .no_transaction()
            .quiet(ID);
        Case::sqlite("CREATE TABLE new_t AS SELECT id FROM t;\nDROP TABLE t;\nALTER TABLE new_t RENAME TO t;")
            .after(HISTORY)
            .quiet(ID);
    }

    /// Regression: the rename-first rebuild and MySQL's atomic swap were reported as data loss.
    #[test]
    fn quiet_on_rename_first_rebuilds() {
        Case::sqlite("ALTER TABLE t RENAME TO t_old;\nCREATE TABLE t (id INTEGER PRIMARY KEY);\nINSERT INTO t SELECT id FROM t_old;\nDROP TABLE t_old;")
            .quiet(ID);
        Case::mysql("CREATE TABLE t_new LIKE t;\nINSERT INTO t_new SELECT * FROM t;\nRENAME TABLE t TO t_old, t_new TO t;\nDROP TABLE t_old;")
            .quiet(ID);
    }

    /// Regression: the SQLite FAQ's recipe, a round trip through a backup table, was reported
    /// as data loss.
    #[test]
    fn quiet_on_a_round_trip_through_a_backup_table() {
        const HISTORY: &[&str] = &["CREATE TABLE t (id INTEGER, legacy TEXT);"];
        Case::sqlite("CREATE TEMPORARY TABLE t_backup (id INTEGER);\nINSERT INTO t_backup SELECT id FROM t;\nDROP TABLE t;\nCREATE TABLE t (id INTEGER PRIMARY KEY);\nINSERT INTO t SELECT id FROM t_backup;\nDROP TABLE t_backup;")
            .after(HISTORY)
            .quiet(ID);
        Case::sqlite("CREATE TABLE t_backup AS SELECT * FROM t;\nDROP TABLE t;\nCREATE TABLE t (id INTEGER PRIMARY KEY);\nINSERT OR IGNORE INTO t (id) SELECT id FROM t_backup;\nDROP TABLE t_backup;")
            .after(HISTORY)
            .quiet(ID);
        // Backed up, but never copied back: the rows of `t` are gone.
        Case::sqlite("CREATE TABLE t_backup AS SELECT * FROM t;\nDROP TABLE t;\nCREATE TABLE t (id INTEGER PRIMARY KEY);")
            .after(HISTORY)
            .fires(ID);
    }

    #[test]
    fn fires_when_the_rows_are_not_copied() {
        // The new table takes the name, but nothing was copied into it.
        Case::sqlite("CREATE TABLE new_t (id INTEGER PRIMARY KEY);\nDROP TABLE t;\nALTER TABLE new_t RENAME TO t;")
            .fires(ID);
        // Copied, but the copy does not take the old name.
        Case::sqlite("CREATE TABLE archive (id INTEGER);\nINSERT INTO archive SELECT id FROM t;\nDROP TABLE t;")
            .fires(ID);
        // Copied from another table.
        Case::sqlite("CREATE TABLE new_t (id INTEGER);\nINSERT INTO new_t SELECT id FROM other;\nDROP TABLE t;\nALTER TABLE new_t RENAME TO t;")
            .fires(ID);
    }

    /// Regression: a create written to be re-runnable was reported as dropping data.
    #[test]
    fn quiet_on_drop_if_exists_before_a_fresh_create() {
        lint_ok(
            "DROP TABLE IF EXISTS audit_log;\nCREATE TABLE audit_log (id INTEGER PRIMARY KEY, event TEXT);",
            ID,
        );
    }

    #[test]
    fn fires_on_drop_if_exists_of_a_table_with_history() {
        // An earlier migration created the table: dropping and recreating it loses its rows.
        Case::pg("DROP TABLE IF EXISTS audit_log;\nCREATE TABLE audit_log (id INT);")
            .after(&["CREATE TABLE audit_log (id INT, event TEXT);"])
            .fires(ID);
        // Without a create after it, IF EXISTS changes nothing.
        Case::pg("DROP TABLE IF EXISTS audit_log;").fires(ID);
        Case::pg("CREATE TABLE audit_log (id INT);\nDROP TABLE IF EXISTS audit_log_old;").fires(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(lint_errors("DROP TABLE sessions;", ID));
        insta::assert_snapshot!(
            "cascade",
            Case::pg("DROP TABLE sessions CASCADE;").rendered(ID)
        );
    }
}
