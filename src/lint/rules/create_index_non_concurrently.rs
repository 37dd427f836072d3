//! `create-index-non-concurrently`: building an index on an existing PostgreSQL table without
//! `CONCURRENTLY` (plain `CREATE INDEX`, or `ADD CONSTRAINT … UNIQUE / PRIMARY KEY`, which
//! builds one).
//!
//! A plain index build takes a SHARE lock: every `INSERT`, `UPDATE` and `DELETE` on the table
//! waits until the index is built, which on a large table means minutes of failed writes.
//! Indexes on a table created earlier in the same migration are fine.
//!
//! Safe pattern: `CREATE INDEX CONCURRENTLY`, alone in its `up.sql`, with
//! `run_in_transaction = false`. For a unique constraint, build the unique index concurrently
//! and attach it with `ADD CONSTRAINT … UNIQUE USING INDEX`.

use crate::lint::config::Level;
use crate::lint::model::{Action, ConstraintKind};

use super::{Finding, Rule, RuleInfo, StmtCx, POSTGRES};

pub const ID: &str = "create-index-non-concurrently";

pub struct CreateIndexNonConcurrently;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Warn,
    backends: POSTGRES,
    summary: "index built without CONCURRENTLY on an existing table blocks writes",
    on_down: false,
};

impl Rule for CreateIndexNonConcurrently {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_statement(&self, cx: &StmtCx<'_>, out: &mut Vec<Finding>) {
        for act in &cx.facts.actions {
            match &act.action {
                Action::CreateIndex { table, concurrently: false, .. } if cx.is_existing_table(table) => {
                    out.push(cx.finding(
                        ID,
                        act.at,
                        format!("CREATE INDEX blocks writes to `{table}` while it builds"),
                        "use CREATE INDEX CONCURRENTLY with `run_in_transaction = false`, alone in its file",
                    ))
                }
                Action::AddConstraint { table, kind: kind @ (ConstraintKind::Unique | ConstraintKind::PrimaryKey), .. }
                    if cx.is_existing_table(table) =>
                {
                    let what = if *kind == ConstraintKind::Unique { "UNIQUE" } else { "PRIMARY KEY" };
                    out.push(cx.finding(
                        ID,
                        act.at,
                        format!("adding a {what} constraint builds an index on `{table}` and blocks writes while it builds"),
                        format!(
                            "create the unique index with CREATE UNIQUE INDEX CONCURRENTLY in its own migration \
                             (`run_in_transaction = false`), then `ALTER TABLE {table} ADD CONSTRAINT ... {what} USING INDEX ...`"
                        ),
                    ))
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::lint::testing::{at, lint_errors, Case};

    #[test]
    fn fires_on_existing_table() {
        let d = Case::pg("SELECT 1;\n  CREATE UNIQUE INDEX users_email ON users (email);")
            .after(&["CREATE TABLE users (id INT, email TEXT);"])
            .fires(ID);
        assert_eq!(at(&d[0]), (2, 3));
        assert_eq!(d[0].width, 13);
        Case::pg("ALTER TABLE users ADD CONSTRAINT u UNIQUE (email);").fires(ID);
    }

    #[test]
    fn quiet_on_new_table_or_concurrently() {
        Case::pg(
            "CREATE TABLE users (id INT, email TEXT);\nCREATE INDEX users_email ON users (email);",
        )
        .quiet(ID);
        Case::pg("CREATE INDEX CONCURRENTLY users_email ON users (email);")
            .no_transaction()
            .quiet(ID);
        Case::pg("ALTER TABLE users ADD CONSTRAINT u UNIQUE USING INDEX users_email;").quiet(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(lint_errors(
            "CREATE INDEX users_email ON users (email);\nALTER TABLE users ADD CONSTRAINT u UNIQUE (email);",
            ID
        ));
    }
}
