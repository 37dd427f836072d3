//! `sqlite-add-column-needs-empty-table`: a SQLite `ALTER TABLE … ADD COLUMN` that SQLite
//! accepts only while the table has no rows.
//!
//! SQLite appends a column by changing the table's definition, without touching the rows, so
//! every existing row must be able to take the column as its default. It checks that against
//! the rows: the statement fails as soon as the table holds one row for
//!
//! * a `NOT NULL` column without a non-null default ("Cannot add a NOT NULL column with default
//!   value NULL");
//! * a default that is not a constant, such as `CURRENT_TIMESTAMP` or a function call ("Cannot
//!   add a column with non-constant default");
//! * a `REFERENCES` column with a non-null default, when foreign keys are enforced (they are in
//!   the SQLite that diesel bundles): "Cannot add a REFERENCES column with non-NULL default
//!   value";
//! * a stored generated column ("cannot add a STORED column").
//!
//! Whether it fails depends on the data, so this is a warning (older SQLite releases refuse these
//! columns even on an empty table). A table created earlier in the same file has no rows yet and
//! is not reported. `PRIMARY KEY` and `UNIQUE` columns, which SQLite refuses whatever the data,
//! are reported by `sqlite-add-column-constraint`.
//!
//! Safe pattern: add the column nullable (or with a constant default) and backfill it with
//! `UPDATE`; when it must be `NOT NULL` or have a computed default, rebuild the table.

use crate::lint::config::Level;
use crate::lint::model::Action;

use super::sqlite_add_column_constraint::REBUILD;
use super::{Finding, Rule, RuleInfo, StmtCx, SQLITE};

pub const ID: &str = "sqlite-add-column-needs-empty-table";

pub struct SqliteAddColumnNeedsEmptyTable;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Warn,
    backends: SQLITE,
    summary: "SQLite ADD COLUMN that fails once the table has a row (NOT NULL without default, non-constant default, …)",
    on_down: true,
};

impl Rule for SqliteAddColumnNeedsEmptyTable {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_statement(&self, cx: &StmtCx<'_>, out: &mut Vec<Finding>) {
        for act in &cx.facts.actions {
            let Action::AddColumn { table, column: c } = &act.action else {
                continue;
            };
            if c.primary_key || c.unique || !cx.is_existing_table(table) {
                continue;
            }
            let default = c.default.as_ref().filter(|d| !d.is_null);
            let (what, sqlite_says, help) = if c.generated {
                if !c.stored {
                    continue;
                }
                (
                    "is a stored generated column".to_string(),
                    "cannot add a STORED column",
                    format!(
                        "add it as a VIRTUAL generated column, or rebuild the table: {REBUILD}"
                    ),
                )
            } else if c.not_null && default.is_none() {
                (
                    "is NOT NULL without a default".to_string(),
                    "Cannot add a NOT NULL column with default value NULL",
                    format!(
                        "give it a constant default (`NOT NULL DEFAULT ...`), or add it nullable and backfill it; \
                         to make it NOT NULL afterwards, rebuild the table: {REBUILD}"
                    ),
                )
            } else if let Some(d) = default.filter(|d| !d.constant) {
                (
                    format!("has a default that is not a constant (`{}`)", d.text),
                    "Cannot add a column with non-constant default",
                    format!(
                        "add it with a constant default (or none) and backfill it with UPDATE; \
                         for a computed default on new rows, rebuild the table: {REBUILD}"
                    ),
                )
            } else if c.references && default.is_some() {
                (
                    "references another table and has a non-null default".to_string(),
                    "Cannot add a REFERENCES column with non-NULL default value",
                    "add it without a default and backfill it with UPDATE".to_string(),
                )
            } else {
                continue;
            };
            out.push(cx.finding(
                ID,
                act.at,
                format!(
                    "new column `{table}.{}` {what}: SQLite rejects it as soon as `{table}` has a row (\"{sqlite_says}\")",
                    c.name
                ),
                help,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::lint::testing::{at, lint_errors, Case};

    #[test]
    fn fires_on_columns_existing_rows_cannot_take() {
        let d = Case::sqlite("ALTER TABLE users ADD COLUMN age INTEGER NOT NULL;").fires(ID);
        assert_eq!(at(&d[0]), (1, 30));
        assert_eq!(d[0].severity, crate::diagnostic::Severity::Warning);
        Case::sqlite("ALTER TABLE users ADD COLUMN n INTEGER NOT NULL DEFAULT NULL;").fires(ID);
        Case::sqlite("ALTER TABLE users ADD COLUMN at TEXT DEFAULT CURRENT_TIMESTAMP;").fires(ID);
        Case::sqlite("ALTER TABLE users ADD COLUMN at TEXT DEFAULT (datetime('now'));").fires(ID);
        Case::sqlite(
            "ALTER TABLE posts ADD COLUMN user_id INTEGER DEFAULT 1 REFERENCES users (id);",
        )
        .fires(ID);
        Case::sqlite("ALTER TABLE t ADD COLUMN b INTEGER AS (a * 2) STORED;").fires(ID);
    }

    #[test]
    fn quiet_on_new_tables_and_columns_rows_can_take() {
        Case::sqlite("CREATE TABLE t (a INTEGER);\nALTER TABLE t ADD COLUMN b INTEGER NOT NULL;")
            .quiet(ID);
        Case::sqlite(
            "ALTER TABLE users ADD COLUMN age INTEGER NOT NULL DEFAULT 0;\n\
             ALTER TABLE users ADD COLUMN nick TEXT NOT NULL DEFAULT \"\";\n\
             ALTER TABLE users ADD COLUMN at TEXT;\n\
             ALTER TABLE posts ADD COLUMN user_id INTEGER REFERENCES users (id);\n\
             ALTER TABLE t ADD COLUMN b INTEGER AS (a * 2);\n\
             ALTER TABLE t ADD COLUMN c INTEGER AS (a * 3) VIRTUAL;",
        )
        .quiet(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(lint_errors(
            "ALTER TABLE users ADD COLUMN age INTEGER NOT NULL;\n\
             ALTER TABLE users ADD COLUMN at TEXT DEFAULT CURRENT_TIMESTAMP;\n\
             ALTER TABLE posts ADD COLUMN user_id INTEGER DEFAULT 1 REFERENCES users (id);\n\
             ALTER TABLE t ADD COLUMN b INTEGER AS (a * 2) STORED;",
            ID
        ));
    }
}
