//! `drop-column`: dropping a column of an existing table.
//!
//! The data is gone for good, and running code that still selects the column fails. Diesel
//! selects every column listed in `table!`, so an application built before the migration
//! breaks on every query of that table, not only the ones that use the column.
//!
//! Safe pattern: remove the column from `schema.rs` and the code first and deploy that; drop
//! it in a later migration, once nothing reads it (and after a backup, if the data might be
//! needed).

use crate::lint::config::Level;
use crate::lint::model::Action;

use super::{Finding, Rule, RuleInfo, StmtCx, ALL_BACKENDS};

pub const ID: &str = "drop-column";

pub struct DropColumn;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Warn,
    backends: ALL_BACKENDS,
    summary: "dropping a column loses its data and breaks code that still selects it",
    on_down: false,
};

impl Rule for DropColumn {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_statement(&self, cx: &StmtCx<'_>, out: &mut Vec<Finding>) {
        for act in &cx.facts.actions {
            let Action::DropColumn { table, column } = &act.action else {
                continue;
            };
            if !cx.is_existing_table(table)
                || cx
                    .created
                    .columns
                    .contains(&(table.clone(), column.clone()))
            {
                continue;
            }
            out.push(cx.finding(
                ID,
                act.at,
                format!("dropping `{table}.{column}` deletes its data, and code built before this migration still selects it"),
                "remove the column from schema.rs and the code, deploy, and drop it in a later migration",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::lint::testing::{at, lint_errors, Case};

    #[test]
    fn fires_on_drop() {
        let d = Case::pg("ALTER TABLE users DROP COLUMN legacy;").fires(ID);
        assert_eq!(at(&d[0]), (1, 31));
        Case::mysql("ALTER TABLE users DROP COLUMN a, DROP COLUMN b;").fires(ID);
        Case::sqlite("ALTER TABLE users DROP COLUMN legacy;").fires(ID);
    }

    #[test]
    fn quiet_when_created_here_or_silenced() {
        Case::pg("ALTER TABLE users ADD COLUMN tmp INT;\nALTER TABLE users DROP COLUMN tmp;")
            .quiet(ID);
        Case::pg("-- cargo-migrate: allow(drop-column): unused since 2023, backed up\nALTER TABLE users DROP COLUMN legacy;")
            .quiet(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(lint_errors("ALTER TABLE users DROP COLUMN legacy;", ID));
    }
}
