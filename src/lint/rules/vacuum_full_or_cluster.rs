//! `vacuum-full-or-cluster`: `VACUUM FULL` or `CLUSTER` of a PostgreSQL table not created
//! earlier in the same file (or of every table, when none is named).
//!
//! Both rewrite the whole table and its indexes into new files while holding an ACCESS
//! EXCLUSIVE lock on it: every read and write of the table waits for the rewrite, which on a
//! large table takes minutes to hours and needs as much free disk as the table takes.
//!
//! Not reported: plain `VACUUM` and `VACUUM ANALYZE` (SHARE UPDATE EXCLUSIVE, which blocks no
//! reads or writes), and a table created earlier in the same file. That `VACUUM` cannot run
//! in a transaction at all is `vacuum-in-transaction`'s finding.
//!
//! Safe pattern: reclaim space outside migrations, with `pg_repack` or `pg_squeeze`, which
//! rebuild the table while it stays usable; or run plain `VACUUM` and let the space be
//! reused.

use crate::lint::config::Level;
use crate::lint::model::Action;

use super::{Finding, Rule, RuleInfo, StmtCx, POSTGRES};

pub const ID: &str = "vacuum-full-or-cluster";

pub struct VacuumFullOrCluster;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Warn,
    backends: POSTGRES,
    summary: "VACUUM FULL or CLUSTER rewrites a table under an ACCESS EXCLUSIVE lock",
    on_down: false,
};

impl Rule for VacuumFullOrCluster {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_statement(&self, cx: &StmtCx<'_>, out: &mut Vec<Finding>) {
        for act in &cx.facts.actions {
            let (what, table) = match &act.action {
                Action::Vacuum { full: true, table } => ("VACUUM FULL", table),
                Action::Cluster { table } => ("CLUSTER", table),
                _ => continue,
            };
            let target = match table {
                Some(t) if !cx.is_existing_table(t) => continue,
                Some(t) => format!("`{t}`"),
                None => "every table it covers".to_string(),
            };
            out.push(cx.finding(
                ID,
                act.at,
                format!(
                    "{what} rewrites {target} under an ACCESS EXCLUSIVE lock, blocking every \
                     read and write until it is done"
                ),
                "reclaim space outside migrations with pg_repack or pg_squeeze, which keep the \
                 table usable, or run a plain VACUUM",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::lint::testing::{at, lint_errors, Case};

    #[test]
    fn fires_on_full_and_cluster() {
        let d = Case::pg("VACUUM FULL events;").no_transaction().fires(ID);
        assert_eq!(at(&d[0]), (1, 13));
        Case::pg("VACUUM (FULL, ANALYZE) events;")
            .no_transaction()
            .fires(ID);
        Case::pg("CLUSTER events USING events_at;").fires(ID);
        let d = Case::pg("CLUSTER;").no_transaction().fires(ID);
        assert!(d[0].message.contains("every table"));
    }

    #[test]
    fn quiet_on_plain_vacuum_new_tables_or_allowed() {
        Case::pg("VACUUM ANALYZE events;")
            .no_transaction()
            .quiet(ID);
        Case::pg("VACUUM (FULL false) events;")
            .no_transaction()
            .quiet(ID);
        Case::pg("CREATE TABLE t (id INT);\nCREATE INDEX t_id ON t (id);\nCLUSTER t USING t_id;")
            .quiet(ID);
        Case::pg("-- cargo-migrate: allow(vacuum-full-or-cluster): 20 rows, done at night\nCLUSTER events USING events_at;")
            .quiet(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(lint_errors("CLUSTER events USING events_at;\nCLUSTER;", ID));
    }
}
