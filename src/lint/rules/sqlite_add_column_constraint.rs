//! `sqlite-add-column-constraint`: a SQLite `ALTER TABLE … ADD COLUMN` of a `PRIMARY KEY` or
//! `UNIQUE` column, which SQLite always rejects.
//!
//! SQLite appends a column without rebuilding the table or its indexes, so it refuses a new
//! column that would need an index: "Cannot add a PRIMARY KEY column", "Cannot add a UNIQUE
//! column". The check does not look at the rows: the statement fails on an empty table too.
//!
//! Columns SQLite accepts only while the table is empty (`NOT NULL` without a default, a
//! default that is not a constant, a `REFERENCES` column with a default, a stored generated
//! column) are reported by `sqlite-add-column-needs-empty-table`, as warnings.
//!
//! Safe pattern: add the column without the constraint and enforce uniqueness with
//! `CREATE UNIQUE INDEX`; for a new primary key, rebuild the table (create the new shape,
//! copy the rows, drop the old table, rename the new one).

use crate::lint::config::Level;
use crate::lint::model::Action;

use super::{Finding, Rule, RuleInfo, StmtCx, SQLITE};

pub const ID: &str = "sqlite-add-column-constraint";

pub struct SqliteAddColumnConstraint;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Deny,
    backends: SQLITE,
    summary: "SQLite ADD COLUMN of a PRIMARY KEY or UNIQUE column, which SQLite always rejects",
    on_down: true,
};

/// SQLite's table-rebuild recipe, for help texts.
pub const REBUILD: &str = "CREATE TABLE new_t (...); INSERT INTO new_t SELECT ... FROM t; \
                           DROP TABLE t; ALTER TABLE new_t RENAME TO t;";

impl Rule for SqliteAddColumnConstraint {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_statement(&self, cx: &StmtCx<'_>, out: &mut Vec<Finding>) {
        for act in &cx.facts.actions {
            let Action::AddColumn { table, column: c } = &act.action else {
                continue;
            };
            let (what, help) = if c.primary_key {
                (
                    "a PRIMARY KEY column",
                    format!("rebuild the table with the new primary key: {REBUILD}"),
                )
            } else if c.unique {
                (
                    "a UNIQUE column",
                    format!(
                        "add the column without UNIQUE, then `CREATE UNIQUE INDEX {table}_{} ON {table} ({})`",
                        c.name, c.name
                    ),
                )
            } else {
                continue;
            };
            out.push(cx.finding(
                ID,
                act.at,
                format!(
                    "SQLite cannot add {what}: `ALTER TABLE {table} ADD COLUMN {}` fails, whatever the table holds",
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
    use crate::lint::rules::sqlite_add_column_needs_empty_table;
    use crate::lint::testing::{at, lint_errors, Case};

    #[test]
    fn fires_on_primary_key_and_unique_columns() {
        let d = Case::sqlite("ALTER TABLE users ADD COLUMN code TEXT UNIQUE;").fires(ID);
        assert_eq!(at(&d[0]), (1, 30));
        assert_eq!(d[0].severity, crate::diagnostic::Severity::Error);
        Case::sqlite("ALTER TABLE users ADD COLUMN id2 INTEGER PRIMARY KEY;").fires(ID);
        // Even on a table created a moment before: SQLite does not look at the rows.
        Case::sqlite("CREATE TABLE t (a INTEGER);\nALTER TABLE t ADD COLUMN b TEXT UNIQUE;")
            .fires(ID);
        // A primary key is NOT NULL too; it is reported once, here.
        Case::sqlite("ALTER TABLE users ADD COLUMN id2 INTEGER PRIMARY KEY;")
            .quiet(sqlite_add_column_needs_empty_table::ID);
    }

    /// Regression: what fails only on a table with rows is a warning of
    /// `sqlite-add-column-needs-empty-table`, not an error here.
    #[test]
    fn quiet_on_columns_that_depend_on_the_rows() {
        Case::sqlite(
            "ALTER TABLE users ADD COLUMN age INTEGER NOT NULL;\n\
             ALTER TABLE users ADD COLUMN at TEXT DEFAULT CURRENT_TIMESTAMP;\n\
             ALTER TABLE users ADD COLUMN n INTEGER NOT NULL DEFAULT NULL;",
        )
        .quiet(ID);
    }

    #[test]
    fn quiet_on_plain_columns() {
        Case::sqlite("ALTER TABLE users ADD COLUMN age INTEGER NOT NULL DEFAULT 0;\nALTER TABLE users ADD COLUMN nick TEXT;\nALTER TABLE users ADD COLUMN neg INTEGER DEFAULT -1;")
            .quiet(ID);
        Case::sqlite("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE);")
            .quiet(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(lint_errors(
            "ALTER TABLE users ADD COLUMN code TEXT UNIQUE;\n\
             ALTER TABLE users ADD COLUMN id2 INTEGER PRIMARY KEY;",
            ID
        ));
    }
}
