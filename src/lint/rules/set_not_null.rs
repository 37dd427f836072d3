//! `set-not-null`: making an existing column `NOT NULL` (PostgreSQL `SET NOT NULL`, MySQL
//! `MODIFY`/`CHANGE … NOT NULL` of a nullable column).
//!
//! PostgreSQL scans the whole table to check for nulls while holding an ACCESS EXCLUSIVE lock:
//! reads and writes wait for the scan. MySQL rebuilds the table. Either fails if a null is
//! left.
//!
//! Safe pattern (PostgreSQL 12+): `ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID`, then in
//! a later migration `VALIDATE CONSTRAINT c` (no exclusive lock), then `SET NOT NULL`, which
//! uses the validated constraint instead of scanning, and finally drop the check. A `SET NOT
//! NULL` backed by such a validated check is not reported.

use crate::lint::config::Level;
use crate::lint::model::Action;

use super::{Finding, Rule, RuleInfo, StmtCx, POSTGRES_MYSQL};

pub const ID: &str = "set-not-null";

pub struct SetNotNull;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Warn,
    backends: POSTGRES_MYSQL,
    summary: "SET NOT NULL / MODIFY … NOT NULL on an existing column scans or rebuilds the table under lock",
    on_down: false,
};

impl Rule for SetNotNull {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_statement(&self, cx: &StmtCx<'_>, out: &mut Vec<Finding>) {
        for act in &cx.facts.actions {
            match &act.action {
                Action::SetNotNull { table, column } if cx.is_existing_table(table) => {
                    let backed = cx.schema.table(table).is_some_and(|t| {
                        t.not_null_checks
                            .values()
                            .any(|(c, validated)| c == column && *validated)
                    });
                    if backed {
                        continue;
                    }
                    out.push(cx.finding(
                        ID,
                        act.at,
                        format!("SET NOT NULL on `{table}.{column}` scans the whole table under an ACCESS EXCLUSIVE lock"),
                        format!(
                            "add `CONSTRAINT {table}_{column}_not_null CHECK ({column} IS NOT NULL) NOT VALID`, \
                             VALIDATE it in a later migration, then SET NOT NULL (PostgreSQL 12+ skips the scan) \
                             and drop the check"
                        ),
                    ));
                }
                Action::ModifyColumn { table, old, column }
                    if cx.backend().redefines_columns_with_modify() =>
                {
                    let was_nullable = cx
                        .schema
                        .table(table)
                        .and_then(|t| t.column(old))
                        .is_some_and(|c| !c.not_null);
                    if column.not_null && was_nullable && cx.is_existing_table(table) {
                        out.push(cx.finding(
                            ID,
                            act.at,
                            format!("making `{table}.{old}` NOT NULL rebuilds the table and fails on any NULL left"),
                            "backfill the NULLs in batches in an earlier migration, then change the column \
                             when a table rebuild is acceptable (or with an online schema change tool)",
                        ));
                    }
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::lint::testing::{lint_errors, Case};

    #[test]
    fn fires_on_set_not_null() {
        let d = Case::pg("ALTER TABLE users ALTER COLUMN email SET NOT NULL;").fires(ID);
        assert!(d[0].message.contains("users.email"));
        Case::mysql("ALTER TABLE users MODIFY email VARCHAR(255) NOT NULL;")
            .after(&["CREATE TABLE users (id INT, email VARCHAR(255));"])
            .fires(ID);
    }

    #[test]
    fn quiet_when_backed_by_a_validated_check() {
        Case::pg("ALTER TABLE users ALTER COLUMN email SET NOT NULL;")
            .after(&[
                "CREATE TABLE users (id INT, email TEXT);",
                "ALTER TABLE users ADD CONSTRAINT email_nn CHECK (email IS NOT NULL) NOT VALID;",
                "ALTER TABLE users VALIDATE CONSTRAINT email_nn;",
            ])
            .quiet(ID);
        Case::mysql("ALTER TABLE users MODIFY email VARCHAR(255) NOT NULL;")
            .after(&["CREATE TABLE users (id INT, email VARCHAR(100) NOT NULL);"])
            .quiet(ID);
    }

    #[test]
    fn fires_when_check_not_yet_validated() {
        Case::pg("ALTER TABLE users ALTER COLUMN email SET NOT NULL;")
            .after(&[
                "CREATE TABLE users (id INT, email TEXT);",
                "ALTER TABLE users ADD CONSTRAINT email_nn CHECK (email IS NOT NULL) NOT VALID;",
            ])
            .fires(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(lint_errors(
            "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
            ID
        ));
        insta::assert_snapshot!(
            "mysql",
            Case::mysql("ALTER TABLE users MODIFY email VARCHAR(255) NOT NULL;")
                .after(&["CREATE TABLE users (id INT, email VARCHAR(255));"])
                .rendered(ID)
        );
    }
}
