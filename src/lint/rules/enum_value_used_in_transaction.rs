//! `enum-value-used-in-transaction`: a PostgreSQL enum label used in the same migration that
//! adds it with `ALTER TYPE … ADD VALUE`.
//!
//! PostgreSQL lets `ADD VALUE` run in a transaction (since version 12), but the new label cannot
//! be used until that transaction commits: the statement that uses it fails with
//! "unsafe use of new value". A file with several statements always runs as one transaction
//! under diesel, with or without `run_in_transaction = false`.
//!
//! A literal is taken as a use of the label only when its statement also names the enum type
//! (a cast such as `'meh'::mood`, a column definition) or a table that has a column of that
//! type: the same string written into an unrelated text column is no use of the enum, and the
//! rule does not guess. Other `ALTER TYPE … ADD VALUE` statements (`ADD VALUE 'b' AFTER 'meh'`)
//! are not uses either.
//!
//! Safe pattern: add the value in one migration, use it (defaults, backfills, checks) in a
//! later one.

use sqlparser::tokenizer::Token;

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
        if cx
            .facts
            .iter()
            .any(|a| matches!(a, Action::EnumAddValue { .. }))
        {
            return;
        }
        for (_, facts) in cx.earlier() {
            for a in facts.iter() {
                let Action::EnumAddValue { name, value } = a else {
                    continue;
                };
                if !involves_type(cx, name) {
                    continue;
                }
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

/// Whether the statement names enum type `ty`, or a table with a column of that type.
fn involves_type(cx: &StmtCx<'_>, ty: &str) -> bool {
    let tables: Vec<String> = cx
        .schema
        .columns_of_type(ty)
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    cx.file.split.significant(cx.stmt).any(|t| match &t.token {
        Token::Word(w) => {
            let word = w.value.to_lowercase();
            word == ty || tables.contains(&word)
        }
        _ => false,
    })
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
    fn fires_on_casts_and_new_columns_of_the_type() {
        Case::pg("ALTER TYPE mood ADD VALUE 'meh';\nSELECT 'meh'::mood;")
            .after(HISTORY)
            .fires(ID);
        Case::pg("ALTER TYPE mood ADD VALUE 'meh';\nCREATE TABLE votes (id INT, m mood NOT NULL DEFAULT 'meh');")
            .after(HISTORY)
            .fires(ID);
    }

    /// Regression: the same string in a statement that has nothing to do with the enum is not
    /// a use of the new label.
    #[test]
    fn quiet_when_the_literal_is_not_about_the_enum() {
        Case::pg("ALTER TYPE mood ADD VALUE 'meh';\nINSERT INTO audit_log (note) VALUES ('meh');")
            .after(&[HISTORY[0], "CREATE TABLE audit_log (id INT, note TEXT);"])
            .quiet(ID);
        Case::pg("ALTER TYPE mood ADD VALUE 'meh';\nALTER TYPE mood ADD VALUE 'ok' AFTER 'meh';")
            .after(HISTORY)
            .quiet(ID);
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
