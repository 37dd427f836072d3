//! `drop-index-non-concurrently`: `DROP INDEX` without `CONCURRENTLY` on PostgreSQL, for an
//! index not created earlier in the same file.
//!
//! A plain `DROP INDEX` takes an ACCESS EXCLUSIVE lock on the index's table: every read and
//! write of the table waits until the drop is done, and the drop itself waits for every
//! transaction already using the table, while the queries queued behind it wait too.
//!
//! Not reported: an index created earlier in the same file (there is nothing old to drop), and
//! `DROP INDEX CONCURRENTLY` (which `concurrently-in-transaction` checks is run alone and
//! outside a transaction).
//!
//! Safe pattern: `DROP INDEX CONCURRENTLY`, alone in its `up.sql`, with
//! `run_in_transaction = false`.

use crate::lint::config::Level;
use crate::lint::model::Action;

use super::{Finding, Rule, RuleInfo, StmtCx, POSTGRES};

pub const ID: &str = "drop-index-non-concurrently";

pub struct DropIndexNonConcurrently;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Warn,
    backends: POSTGRES,
    summary: "DROP INDEX without CONCURRENTLY locks the table against reads and writes",
    on_down: false,
};

impl Rule for DropIndexNonConcurrently {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_statement(&self, cx: &StmtCx<'_>, out: &mut Vec<Finding>) {
        for act in &cx.facts.actions {
            let Action::DropIndex {
                name,
                concurrently: false,
            } = &act.action
            else {
                continue;
            };
            if cx.created.indexes.contains(name) {
                continue;
            }
            out.push(cx.finding(
                ID,
                act.at,
                format!(
                    "DROP INDEX `{name}` takes an ACCESS EXCLUSIVE lock on its table, blocking \
                     every read and write until it is done"
                ),
                "use DROP INDEX CONCURRENTLY, alone in its own migration with \
                 `run_in_transaction = false` in metadata.toml",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::lint::testing::{at, lint_errors, Case};

    #[test]
    fn fires_on_a_plain_drop() {
        let d = Case::pg("DROP INDEX users_email;")
            .after(&["CREATE TABLE users (id INT, email TEXT);\nCREATE INDEX users_email ON users (email);"])
            .fires(ID);
        assert_eq!(at(&d[0]), (1, 12));
        let d = Case::pg("DROP INDEX IF EXISTS public.a, b CASCADE;").fires(ID);
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn quiet_concurrently_created_here_or_allowed() {
        Case::pg("DROP INDEX CONCURRENTLY users_email;")
            .no_transaction()
            .quiet(ID);
        Case::pg("DROP INDEX CONCURRENTLY IF EXISTS users_email;")
            .no_transaction()
            .quiet(ID);
        Case::pg("CREATE TABLE t (id INT);\nCREATE INDEX t_id ON t (id);\nDROP INDEX t_id;")
            .quiet(ID);
        Case::pg("-- cargo-migrate: allow(drop-index-non-concurrently): the table is tiny\nDROP INDEX users_email;")
            .quiet(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(lint_errors("DROP INDEX users_email;", ID));
    }
}
