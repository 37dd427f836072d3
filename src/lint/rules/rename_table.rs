//! `rename-table`: renaming an existing table (`ALTER TABLE … RENAME TO`, MySQL `RENAME
//! TABLE`).
//!
//! Like a column rename, it is instant in the database but breaks every running instance of
//! the application that still queries the old name, until all of them are redeployed.
//!
//! Not reported: renaming a table created in the same file, and the renames of a table
//! rebuild, where the rows are copied into a new table that ends up with the old name (the
//! name code uses does not change).
//!
//! Safe pattern: create the new table, write to both and backfill, move reads, then drop the
//! old one later. On PostgreSQL, renaming and leaving an updatable view under the old name
//! (`CREATE VIEW old AS SELECT * FROM new`) bridges the deploy.

use crate::lint::config::Level;
use crate::lint::model::Action;

use super::{Finding, Rule, RuleInfo, StmtCx, ALL_BACKENDS};

pub const ID: &str = "rename-table";

pub struct RenameTable;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Warn,
    backends: ALL_BACKENDS,
    summary: "renaming a table breaks code that still uses the old name",
    on_down: false,
};

impl Rule for RenameTable {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_statement(&self, cx: &StmtCx<'_>, out: &mut Vec<Finding>) {
        for act in &cx.facts.actions {
            let Action::RenameTable { from, to } = &act.action else {
                continue;
            };
            if !cx.is_existing_table(from) || cx.file.is_rebuilt(cx.index, from) {
                continue;
            }
            out.push(cx.finding(
                ID,
                act.at,
                format!("renaming table `{from}` to `{to}` breaks every running query that still uses `{from}`"),
                format!(
                    "create `{to}`, write to both and backfill, move reads, and drop `{from}` in a later migration; \
                     on PostgreSQL a view named `{from}` over `{to}` can bridge the deploy"
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::lint::testing::{lint_errors, Case};

    #[test]
    fn fires_on_rename() {
        let d = Case::pg("ALTER TABLE users RENAME TO accounts;").fires(ID);
        assert!(d[0].message.contains("`users` to `accounts`"));
        Case::mysql("RENAME TABLE users TO accounts;").fires(ID);
    }

    #[test]
    fn quiet_on_tables_created_here() {
        Case::sqlite(
            "CREATE TABLE new_users (id INTEGER);\nALTER TABLE new_users RENAME TO accounts;",
        )
        .quiet(ID);
    }

    /// Regression: the renames of a table rebuild keep the name code uses.
    #[test]
    fn quiet_on_table_rebuilds() {
        Case::sqlite("CREATE TABLE new_t (id INTEGER PRIMARY KEY);\nINSERT INTO new_t SELECT id FROM t;\nDROP TABLE t;\nALTER TABLE new_t RENAME TO t;")
            .quiet(ID);
        Case::sqlite("ALTER TABLE t RENAME TO t_old;\nCREATE TABLE t (id INTEGER PRIMARY KEY);\nINSERT INTO t SELECT id FROM t_old;\nDROP TABLE t_old;")
            .quiet(ID);
        Case::mysql("CREATE TABLE t_new LIKE t;\nINSERT INTO t_new SELECT * FROM t;\nRENAME TABLE t TO t_old, t_new TO t;\nDROP TABLE t_old;")
            .quiet(ID);
    }

    #[test]
    fn fires_when_the_old_name_is_not_restored() {
        // Copied into a new table that keeps its own name: code using `t` breaks.
        Case::sqlite("ALTER TABLE t RENAME TO t_old;\nCREATE TABLE t2 (id INTEGER);\nINSERT INTO t2 SELECT id FROM t_old;")
            .fires(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(lint_errors("ALTER TABLE users RENAME TO accounts;", ID));
    }
}
