//! `transaction-control`: `BEGIN`, `START TRANSACTION`, `COMMIT`, `END` or `ROLLBACK` in a
//! migration that diesel already runs in a transaction.
//!
//! Diesel opens a transaction around the migration and records the version inside it. What an
//! explicit transaction statement does then depends on the backend:
//!
//! * `BEGIN` fails on SQLite ("cannot start a transaction within a transaction"); PostgreSQL
//!   only warns and ignores it, so the `COMMIT` meant to pair with it ends diesel's transaction
//!   instead; MySQL commits diesel's transaction and opens a new one;
//! * `COMMIT` (or `END`) ends diesel's transaction early: if a later statement fails, what ran
//!   before stays applied while the migration is not recorded. On SQLite, diesel's own
//!   `COMMIT` then fails too ("no transaction is active");
//! * `ROLLBACK` undoes the statements before it, and the rest of the file runs outside any
//!   transaction.
//!
//! Whatever the data, such a migration is no longer atomic: the guarantee that a failed
//! migration leaves nothing behind and is not recorded is gone for certain, and a retry repeats
//! what already committed. So the rule is an error; a migration that means it says so with
//! `run_in_transaction = false`.
//!
//! Safe pattern: let diesel manage the transaction. If the migration really needs its own
//! transaction control, set `run_in_transaction = false` in its `metadata.toml`.

use crate::lint::config::Level;
use crate::lint::model::{Action, TxKind};

use super::{Finding, Rule, RuleInfo, StmtCx, ALL_BACKENDS};

pub const ID: &str = "transaction-control";

pub struct TransactionControl;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Deny,
    backends: ALL_BACKENDS,
    summary: "explicit BEGIN/COMMIT/ROLLBACK inside a migration diesel runs in a transaction",
    on_down: true,
};

impl Rule for TransactionControl {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_statement(&self, cx: &StmtCx<'_>, out: &mut Vec<Finding>) {
        if !cx.file.migration.run_in_transaction {
            return;
        }
        for a in cx.facts.iter() {
            let Action::Transaction(kind) = a else {
                continue;
            };
            let what = match kind {
                TxKind::Begin => cx.backend().nested_begin_effect(),
                TxKind::Commit => cx.backend().early_commit_effect(),
                TxKind::Rollback => {
                    "rolls back diesel's transaction: the statements before it are undone and the \
                     rest runs outside any transaction"
                }
            };
            out.push(cx.finding(
                ID,
                None,
                format!("this statement {what}"),
                "remove it and let diesel wrap the migration in its transaction; if the migration \
                 must manage transactions itself, set `run_in_transaction = false` in metadata.toml",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::backend::Backend;
    use crate::lint::testing::{at, lint_errors, Case};

    #[test]
    fn fires_on_explicit_transactions() {
        let d = Case::pg("BEGIN;\nCREATE TABLE t (id INT);\nCOMMIT;").fires(ID);
        assert_eq!(d.len(), 2);
        assert_eq!(at(&d[1]), (3, 1));
        Case::sqlite("BEGIN TRANSACTION;\nCREATE TABLE t (id INT);\nEND TRANSACTION;").fires(ID);
        Case::mysql("START TRANSACTION;\nCREATE TABLE t (id INT);\nROLLBACK;").fires(ID);
    }

    #[test]
    fn quiet_without_diesel_transaction_or_with_savepoints() {
        Case::pg("BEGIN;\nCREATE TABLE t (id INT);\nCOMMIT;")
            .no_transaction()
            .quiet(ID);
        Case::new(
            Backend::Postgres,
            "SAVEPOINT a;\nCREATE TABLE t (id INT);\nROLLBACK TO SAVEPOINT a;",
        )
        .quiet(ID);
        // A trigger body's BEGIN … END is not a transaction.
        Case::sqlite(
            "CREATE TRIGGER g AFTER INSERT ON t BEGIN UPDATE t SET a = 1 WHERE id = NEW.id; END;",
        )
        .quiet(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(lint_errors(
            "BEGIN;\nCREATE TABLE t (id INT);\nCOMMIT;\nROLLBACK;",
            ID
        ));
        insta::assert_snapshot!(
            "postgres",
            Case::pg("BEGIN;\nCREATE TABLE t (id INT);\nCOMMIT;").rendered(ID)
        );
        insta::assert_snapshot!(
            "mysql",
            Case::mysql("START TRANSACTION;\nCREATE TABLE t (id INT);\nCOMMIT;").rendered(ID)
        );
    }
}
