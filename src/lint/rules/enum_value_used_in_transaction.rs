//! `enum-value-used-in-transaction`: a PostgreSQL enum label used in the same migration that
//! adds it with `ALTER TYPE … ADD VALUE`.
//!
//! PostgreSQL lets `ADD VALUE` run in a transaction (since version 12), but the new label cannot
//! be used until that transaction commits: the statement that uses it fails with
//! "unsafe use of new value". A file with several statements always runs as one transaction
//! under diesel, with or without `run_in_transaction = false`.
//!
//! Safe pattern: add the value in one migration, use it (defaults, backfills, checks) in a
//! later one.

use crate::lint::config::Level;
use crate::lint::model::{string_literals, token_pos, Action};

use super::{Finding, Rule, RuleInfo, StmtCx, POSTGRES};

pub const ID: &str = "enum-value-used-in-transaction";

pub struct EnumValueUsedInTransaction;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Deny,
    backends: POSTGRES,
    summary: "enum value added with ALTER TYPE … ADD VALUE is used in the same transaction",
    on_down: true,
};

impl Rule for EnumValueUsedInTransaction {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_statement(&self, cx: &StmtCx<'_>, out: &mut Vec<Finding>) {
        for (_, facts) in cx.earlier() {
            for a in facts.iter() {
                let Action::EnumAddValue { name, value } = a else {
                    continue;
                };
                if let Some(tok) = string_literals(cx.file.split, cx.stmt, value).next() {
                    out.push(cx.finding(
                        ID,
                        Some(token_pos(tok)),
                        format!(
                            "'{value}' is used in the same transaction that adds it to enum `{name}`; \
                             PostgreSQL rejects this (\"unsafe use of new value\")"
                        ),
                        format!(
                            "keep `ALTER TYPE {name} ADD VALUE '{value}'` in its own migration and \
                             use the value in a later one"
                        ),
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::lint::testing::{at, Case};

    const HISTORY: &[&str] =
        &["CREATE TYPE mood AS ENUM ('happy', 'sad');\nCREATE TABLE people (id INT, m mood);"];

    #[test]
    fn fires_on_use_after_add() {
        let d = Case::pg(
            "ALTER TYPE mood ADD VALUE 'meh';\nUPDATE people SET m = 'meh' WHERE m = 'sad';",
        )
        .after(HISTORY)
        .fires(ID);
        assert_eq!(at(&d[0]), (2, 23));
        // run_in_transaction = false does not help: the batch is one implicit transaction.
        Case::pg("ALTER TYPE mood ADD VALUE IF NOT EXISTS 'meh';\nALTER TABLE people ALTER COLUMN m SET DEFAULT 'meh';")
            .after(HISTORY)
            .no_transaction()
            .fires(ID);
    }

    #[test]
    fn quiet_when_used_in_a_later_migration() {
        Case::pg("UPDATE people SET m = 'meh' WHERE m = 'sad';")
            .after(&[HISTORY[0], "ALTER TYPE mood ADD VALUE 'meh';"])
            .quiet(ID);
        Case::pg(
            "ALTER TYPE mood ADD VALUE 'meh';\nUPDATE people SET m = 'happy' WHERE m = 'sad';",
        )
        .after(HISTORY)
        .quiet(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(Case::pg(
            "ALTER TYPE mood ADD VALUE 'meh';\nUPDATE people SET m = 'meh' WHERE m = 'sad';"
        )
        .after(HISTORY)
        .rendered(ID));
    }
}
