//! `sqlite-add-column-constraint`: a SQLite `ALTER TABLE … ADD COLUMN` that SQLite rejects.
//!
//! SQLite can only append plain columns. It refuses, at run time, a new column that is
//! `PRIMARY KEY` or `UNIQUE`, `NOT NULL` without a non-null default, one whose default is not a
//! constant (`CURRENT_TIMESTAMP`, a function call; a literal, signed or in parentheses, is one,
//! and so is a bare or double-quoted word, which SQLite reads as a string: `DEFAULT ""`), a
//! `REFERENCES` column with a non-null default, or a stored generated column.
//!
//! Safe pattern: add the column nullable or with a constant default, and enforce uniqueness
//! with `CREATE UNIQUE INDEX`; for anything else rebuild the table (create the new shape,
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
    summary: "SQLite ADD COLUMN with PRIMARY KEY, UNIQUE, NOT NULL without default, or a non-constant default",
    on_down: true,
};

const REBUILD: &str =
    "SQLite can only add plain columns. Add it nullable or with a constant default \
    (and a CREATE UNIQUE INDEX for uniqueness), or rebuild the table: CREATE TABLE new_t (...); \
    INSERT INTO new_t SELECT ... FROM t; DROP TABLE t; ALTER TABLE new_t RENAME TO t;";

impl Rule for SqliteAddColumnConstraint {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_statement(&self, cx: &StmtCx<'_>, out: &mut Vec<Finding>) {
        for act in &cx.facts.actions {
            let Action::AddColumn { table, column: c } = &act.action else {
                continue;
            };
            let default_non_null = c.default.as_ref().is_some_and(|d| !d.is_null);
            let problem = if c.primary_key {
                "a PRIMARY KEY column"
            } else if c.unique {
                "a UNIQUE column"
            } else if c.not_null && !default_non_null {
                "a NOT NULL column without a non-null default"
            } else if c
                .default
                .as_ref()
                .is_some_and(|d| !d.constant && !d.is_null)
            {
                "a column whose default is not a constant"
            } else if c.references && default_non_null {
                "a REFERENCES column with a non-null default"
            } else if c.generated && c.ty.contains("stored") {
                "a stored generated column"
            } else {
                continue;
            };
            out.push(cx.finding(
                ID,
                act.at,
                format!(
                    "SQLite cannot add {problem}: `ALTER TABLE {table} ADD COLUMN {}` fails",
                    c.name
                ),
                REBUILD,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::lint::testing::{at, lint_errors, Case};

    #[test]
    fn fires_on_rejected_columns() {
        let d = Case::sqlite("ALTER TABLE users ADD COLUMN age INTEGER NOT NULL;").fires(ID);
        assert_eq!(at(&d[0]), (1, 30));
        assert!(d[0].message.contains("NOT NULL"));
        Case::sqlite("ALTER TABLE users ADD COLUMN code TEXT UNIQUE;").fires(ID);
        Case::sqlite("ALTER TABLE users ADD COLUMN id2 INTEGER PRIMARY KEY;").fires(ID);
        Case::sqlite("ALTER TABLE users ADD COLUMN at TEXT DEFAULT CURRENT_TIMESTAMP;").fires(ID);
        Case::sqlite("ALTER TABLE users ADD COLUMN n INTEGER NOT NULL DEFAULT NULL;").fires(ID);
    }

    #[test]
    fn quiet_on_plain_columns() {
        Case::sqlite("ALTER TABLE users ADD COLUMN age INTEGER NOT NULL DEFAULT 0;\nALTER TABLE users ADD COLUMN nick TEXT;\nALTER TABLE users ADD COLUMN neg INTEGER DEFAULT -1;")
            .quiet(ID);
        Case::sqlite("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE);")
            .quiet(ID);
    }

    /// Regression: SQLite reads a double-quoted token (or a bare word) after DEFAULT as a
    /// string literal, and a literal in parentheses is still a constant.
    #[test]
    fn quiet_on_constant_defaults_sqlite_reads_as_strings() {
        Case::sqlite(
            "ALTER TABLE users ADD COLUMN nick TEXT NOT NULL DEFAULT \"\";\n\
             ALTER TABLE users ADD COLUMN state TEXT NOT NULL DEFAULT \"active\";\n\
             ALTER TABLE users ADD COLUMN kind TEXT DEFAULT plain;\n\
             ALTER TABLE users ADD COLUMN n INTEGER NOT NULL DEFAULT (0);\n\
             ALTER TABLE users ADD COLUMN m INTEGER NOT NULL DEFAULT -(1);",
        )
        .quiet(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(lint_errors(
            "ALTER TABLE users ADD COLUMN age INTEGER NOT NULL;\n\
             ALTER TABLE users ADD COLUMN code TEXT UNIQUE;\n\
             ALTER TABLE users ADD COLUMN id2 INTEGER PRIMARY KEY;\n\
             ALTER TABLE users ADD COLUMN at TEXT DEFAULT CURRENT_TIMESTAMP;",
            ID
        ));
    }
}
