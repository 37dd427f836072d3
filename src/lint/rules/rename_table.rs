//! `rename-table`: renaming an existing table (`ALTER TABLE … RENAME TO`, MySQL `RENAME
//! TABLE`).
//!
//! Like a column rename, it is instant in the database but breaks every running instance of
//! the application that still queries the old name, until all of them are redeployed.
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
            if !cx.is_existing_table(from) {
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
        Case::sqlite("CREATE TABLE new_users (id INTEGER);\nDROP TABLE users;\nALTER TABLE new_users RENAME TO users;")
            .quiet(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(lint_errors("ALTER TABLE users RENAME TO accounts;", ID));
    }
}
