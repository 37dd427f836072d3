//! `sqlite-pragma-in-transaction`: `PRAGMA foreign_keys = …` in a SQLite migration that runs in
//! a transaction.
//!
//! SQLite ignores changes to `foreign_keys` inside a transaction, without an error. The usual
//! table-rebuild recipe turns foreign keys off first; inside diesel's transaction that does
//! nothing, so `DROP TABLE` of the old table still enforces the references to it: it fails, or
//! deletes the rows that reference it through `ON DELETE CASCADE`, when such rows exist.
//!
//! The pragma is certainly without effect, but whether that hurts depends on the data (rows
//! that reference the rebuilt table) and on what the rest of the file does, so this is a
//! warning.
//!
//! Safe pattern: set `run_in_transaction = false` in `metadata.toml` and write the transaction
//! yourself: `PRAGMA foreign_keys = OFF; BEGIN; …; PRAGMA foreign_key_check; COMMIT;
//! PRAGMA foreign_keys = ON;`.

use crate::lint::config::Level;
use crate::lint::model::Action;

use super::{Finding, Rule, RuleInfo, StmtCx, SQLITE};

pub const ID: &str = "sqlite-pragma-in-transaction";

pub struct SqlitePragmaInTransaction;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Warn,
    backends: SQLITE,
    summary: "PRAGMA foreign_keys inside a transaction, where SQLite ignores it",
    on_down: true,
};

impl Rule for SqlitePragmaInTransaction {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_statement(&self, cx: &StmtCx<'_>, out: &mut Vec<Finding>) {
        if !cx.file.migration.run_in_transaction {
            return;
        }
        for a in cx.facts.iter() {
            let Action::Pragma {
                name,
                value: Some(value),
            } = a
            else {
                continue;
            };
            if name != "foreign_keys" {
                continue;
            }
            out.push(cx.finding(
                ID,
                None,
                format!("`PRAGMA foreign_keys = {value}` does nothing here: diesel runs this migration in a transaction, where SQLite ignores it"),
                "set `run_in_transaction = false` in metadata.toml and manage the transaction in the file: \
                 PRAGMA foreign_keys = OFF; BEGIN; ...; PRAGMA foreign_key_check; COMMIT; PRAGMA foreign_keys = ON;",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::lint::testing::{at, lint_errors, Case};

    #[test]
    fn fires_inside_diesel_transaction() {
        let d = Case::sqlite("CREATE TABLE x (id INT);\nPRAGMA foreign_keys = OFF;").fires(ID);
        assert_eq!(at(&d[0]), (2, 1));
        Case::sqlite("PRAGMA foreign_keys=0;").fires(ID);
    }

    #[test]
    fn quiet_outside_transaction_or_for_reads() {
        Case::sqlite(
            "PRAGMA foreign_keys = OFF;\nBEGIN;\nDROP TABLE x;\nCOMMIT;\nPRAGMA foreign_keys = ON;",
        )
        .no_transaction()
        .quiet(ID);
        Case::sqlite("PRAGMA foreign_key_check;").quiet(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(lint_errors("PRAGMA foreign_keys = OFF;", ID));
    }
}
