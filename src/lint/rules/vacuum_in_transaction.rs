//! `vacuum-in-transaction`: `VACUUM` (or `CLUSTER` without a table) where PostgreSQL will run
//! it inside a transaction.
//!
//! PostgreSQL refuses `VACUUM` in a transaction block, and `CLUSTER` with no table named too:
//! the migration fails with "VACUUM cannot run inside a transaction block". Diesel runs a
//! migration in a transaction unless its `metadata.toml` says `run_in_transaction = false`, and
//! even then sends the whole file as one batch, which PostgreSQL runs as one implicit
//! transaction when it holds more than one statement.
//!
//! Not reported: `CLUSTER table`, which may run in a transaction (its lock is
//! `vacuum-full-or-cluster`'s finding).
//!
//! Safe pattern: the statement alone in its `up.sql`, with `run_in_transaction = false`; or,
//! better, routine maintenance outside migrations.

use crate::lint::config::Level;
use crate::lint::model::Action;

use super::{Finding, Rule, RuleInfo, StmtCx, POSTGRES};

pub const ID: &str = "vacuum-in-transaction";

pub struct VacuumInTransaction;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Deny,
    backends: POSTGRES,
    summary: "VACUUM inside a transaction or not alone in its file, which PostgreSQL refuses",
    on_down: true,
};

impl Rule for VacuumInTransaction {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_statement(&self, cx: &StmtCx<'_>, out: &mut Vec<Finding>) {
        let what = cx.facts.iter().find_map(|a| match a {
            Action::Vacuum { .. } => Some("VACUUM"),
            Action::Cluster { table: None } => Some("CLUSTER without a table"),
            _ => None,
        });
        let Some(what) = what else { return };
        let file = cx.file.kind.file_name();
        let message = if cx.file.migration.run_in_transaction {
            format!("{what} cannot run inside a transaction, and diesel runs this migration in one")
        } else if cx.file.split.statements.len() > 1 {
            format!(
                "{what} is not alone in {file}: diesel sends the file as one batch, which \
                 PostgreSQL runs as a single transaction, where it cannot run"
            )
        } else {
            return;
        };
        out.push(cx.finding(
            ID,
            None,
            message,
            "put the statement alone in its own migration and add `run_in_transaction = false` \
             to that migration's metadata.toml",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::lint::testing::{at, lint_errors, Case};

    #[test]
    fn fires_in_a_transaction_or_batch() {
        let d = Case::pg("VACUUM ANALYZE events;").fires(ID);
        assert_eq!(at(&d[0]), (1, 1));
        assert_eq!(d[0].severity, crate::diagnostic::Severity::Error);
        Case::pg("CLUSTER;").fires(ID);
        let d = Case::pg("SELECT 1;\nVACUUM FULL events;")
            .no_transaction()
            .fires(ID);
        assert!(d[0].message.contains("not alone"));
        Case::pg("SELECT 1;").down(Some("VACUUM events;")).fires(ID);
    }

    #[test]
    fn quiet_alone_outside_a_transaction() {
        Case::pg("VACUUM (FULL) events;").no_transaction().quiet(ID);
        Case::pg("CLUSTER events USING events_at;").quiet(ID);
        Case::pg("-- cargo-migrate: allow(vacuum-in-transaction): checked by hand\nVACUUM events;")
            .quiet(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(lint_errors("VACUUM ANALYZE events;", ID));
    }
}
