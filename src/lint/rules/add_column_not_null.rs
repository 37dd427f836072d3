//! `add-column-not-null`: adding a `NOT NULL` column without a default to a table that may
//! already hold rows (PostgreSQL, MySQL).
//!
//! On PostgreSQL the statement fails as soon as the table has a row. MySQL accepts it and
//! silently fills existing rows with the type's implicit value (`0`, `''`, a zero date), which
//! is rarely what the data means. (On SQLite it fails once the table has a row; see
//! `sqlite-add-column-needs-empty-table`.)
//!
//! Safe pattern: add the column with a default (constant defaults are instant on PostgreSQL 11+
//! and MySQL 8), or add it nullable, backfill it in batches, and set `NOT NULL` later.

use crate::backend::Backend;
use crate::lint::config::Level;
use crate::lint::model::Action;

use super::{Finding, Rule, RuleInfo, StmtCx, POSTGRES_MYSQL};

pub const ID: &str = "add-column-not-null";

pub struct AddColumnNotNull;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Warn,
    backends: POSTGRES_MYSQL,
    summary: "NOT NULL column without a default added to an existing table",
    on_down: false,
};

impl Rule for AddColumnNotNull {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_statement(&self, cx: &StmtCx<'_>, out: &mut Vec<Finding>) {
        for act in &cx.facts.actions {
            let Action::AddColumn { table, column: c } = &act.action else {
                continue;
            };
            let has_default = c.default.as_ref().is_some_and(|d| !d.is_null)
                || c.generated
                || c.ty.contains("serial")
                || c.ty.contains("auto_increment");
            if !c.not_null || has_default || !cx.is_existing_table(table) {
                continue;
            }
            let effect = match cx.backend() {
                Backend::Mysql => {
                    "MySQL fills existing rows with the type's implicit value (0, '', a zero date)"
                }
                _ => "the statement fails as soon as the table has a row",
            };
            out.push(cx.finding(
                ID,
                act.at,
                format!("NOT NULL column `{}` is added to existing table `{table}` without a default: {effect}", c.name),
                format!(
                    "add it with a default (`ADD COLUMN {} {} NOT NULL DEFAULT ...`), or add it nullable, \
                     backfill it in batches, and set NOT NULL in a later migration",
                    c.name, c.ty
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
    fn fires_on_existing_tables() {
        let d = Case::pg("ALTER TABLE users ADD COLUMN age INT NOT NULL;").fires(ID);
        assert_eq!(at(&d[0]), (1, 30));
        let d = Case::mysql("ALTER TABLE users ADD COLUMN age INT NOT NULL;")
            .after(&["CREATE TABLE users (id INT PRIMARY KEY);"])
            .fires(ID);
        assert!(d[0].message.contains("implicit value"));
    }

    #[test]
    fn quiet_with_default_or_new_table() {
        Case::pg("ALTER TABLE users ADD COLUMN age INT NOT NULL DEFAULT 0;\nALTER TABLE users ADD COLUMN nick TEXT;")
            .quiet(ID);
        Case::pg("CREATE TABLE users (id INT);\nALTER TABLE users ADD COLUMN age INT NOT NULL;")
            .quiet(ID);
        Case::pg("ALTER TABLE users ADD COLUMN id2 BIGSERIAL NOT NULL;").quiet(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(lint_errors(
            "ALTER TABLE users ADD COLUMN age INT NOT NULL;",
            ID
        ));
        insta::assert_snapshot!(
            "mysql",
            Case::mysql("ALTER TABLE users ADD COLUMN age INT NOT NULL;").rendered(ID)
        );
    }
}
