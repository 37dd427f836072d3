//! `rename-column`: renaming a column of an existing table (`RENAME COLUMN`, or a MySQL
//! `CHANGE` with a new name).
//!
//! The rename is instant, but every running instance of the application still uses the old
//! name until it is redeployed: its queries fail from the moment the migration commits.
//!
//! Safe pattern: expand and contract. Add the new column, write both, backfill, switch reads to
//! the new column, stop writing the old one, and drop it in a later migration. (Or keep the old
//! name and map it in diesel with `#[diesel(column_name = ...)]`.)

use crate::lint::config::Level;
use crate::lint::model::Action;

use super::{Finding, Rule, RuleInfo, StmtCx, ALL_BACKENDS};

pub const ID: &str = "rename-column";

pub struct RenameColumn;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Warn,
    backends: ALL_BACKENDS,
    summary: "renaming a column breaks code that still uses the old name",
    on_down: false,
};

impl Rule for RenameColumn {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_statement(&self, cx: &StmtCx<'_>, out: &mut Vec<Finding>) {
        for act in &cx.facts.actions {
            let (table, from, to) = match &act.action {
                Action::RenameColumn { table, from, to } => (table, from, to),
                Action::ModifyColumn { table, old, column } if *old != column.name => {
                    (table, old, &column.name)
                }
                _ => continue,
            };
            if !cx.is_existing_table(table)
                || cx.created.columns.contains(&(table.clone(), from.clone()))
            {
                continue;
            }
            out.push(cx.finding(
                ID,
                act.at,
                format!("renaming `{table}.{from}` to `{to}` breaks every running query that still uses `{from}`"),
                format!(
                    "add `{to}`, write both columns, backfill, move reads to `{to}`, then drop `{from}` in a later \
                     migration; or keep the name and map it in diesel with #[diesel(column_name = {from})]"
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::lint::testing::{at, lint_errors, Case};

    #[test]
    fn fires_on_rename() {
        let d = Case::pg("ALTER TABLE users RENAME COLUMN name TO full_name;").fires(ID);
        assert_eq!(at(&d[0]), (1, 33));
        Case::mysql("ALTER TABLE users CHANGE name full_name VARCHAR(100);").fires(ID);
        Case::sqlite("ALTER TABLE users RENAME name TO full_name;").fires(ID);
    }

    #[test]
    fn quiet_on_new_tables_and_same_name() {
        Case::pg(
            "CREATE TABLE users (name TEXT);\nALTER TABLE users RENAME COLUMN name TO full_name;",
        )
        .quiet(ID);
        Case::mysql("ALTER TABLE users CHANGE name name VARCHAR(200);").quiet(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(lint_errors(
            "ALTER TABLE users RENAME COLUMN name TO full_name;",
            ID
        ));
    }
}
