//! `concurrently-in-transaction`: `CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY` or
//! `REINDEX … CONCURRENTLY` where PostgreSQL will run it inside a transaction.
//!
//! PostgreSQL refuses these statements inside a transaction block. Diesel wraps a migration in
//! one unless its `metadata.toml` says `run_in_transaction = false`; and even then it sends the
//! whole file as one batch, which PostgreSQL runs as one implicit transaction when it holds
//! more than one statement. Either way the migration fails with
//! "cannot run inside a transaction block".
//!
//! Safe pattern: one concurrent statement alone in its `up.sql`, with
//! `run_in_transaction = false` in `metadata.toml`.

use crate::lint::config::Level;
use crate::lint::model::{token_pos, Action};
use crate::sql::is_word;

use super::{Finding, Rule, RuleInfo, StmtCx, POSTGRES};

pub const ID: &str = "concurrently-in-transaction";

pub struct ConcurrentlyInTransaction;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Deny,
    backends: POSTGRES,
    summary: "CONCURRENTLY index operation inside a transaction or not alone in its file",
    on_down: true,
};

const HELP: &str =
    "put the statement alone in its own migration and add `run_in_transaction = false` \
                    to that migration's metadata.toml";

impl Rule for ConcurrentlyInTransaction {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_statement(&self, cx: &StmtCx<'_>, out: &mut Vec<Finding>) {
        if !cx.backend().has_concurrent_index_builds() {
            return;
        }
        let what = cx.facts.iter().find_map(|a| match a {
            Action::CreateIndex {
                concurrently: true, ..
            } => Some("CREATE INDEX CONCURRENTLY"),
            Action::DropIndex {
                concurrently: true, ..
            } => Some("DROP INDEX CONCURRENTLY"),
            Action::Reindex { concurrently: true } => Some("REINDEX CONCURRENTLY"),
            _ => None,
        });
        let Some(what) = what else { return };
        let at = cx
            .file
            .split
            .significant(cx.stmt)
            .find(|t| is_word(&t.token, "concurrently"))
            .map(token_pos);
        let file = cx.file.kind.file_name();
        let message = if cx.file.migration.run_in_transaction {
            format!("{what} cannot run inside a transaction, and diesel runs this migration in one")
        } else if cx.file.split.statements.len() > 1 {
            format!(
                "{what} is not alone in {file}: diesel sends the file as one batch, which \
                 PostgreSQL runs as a single transaction"
            )
        } else {
            return;
        };
        out.push(cx.finding(ID, at, message, HELP));
    }
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::lint::testing::{at, lint_errors, Case};

    #[test]
    fn fires_in_a_transactional_migration() {
        let d = Case::pg("CREATE INDEX CONCURRENTLY i ON users (email);").fires(ID);
        assert_eq!(at(&d[0]), (1, 14));
        assert_eq!(d[0].severity, crate::diagnostic::Severity::Error);
        Case::pg("DROP INDEX CONCURRENTLY i;").fires(ID);
        Case::pg("REINDEX INDEX CONCURRENTLY i;").fires(ID);
    }

    #[test]
    fn fires_when_not_alone_even_without_transaction() {
        let d = Case::pg("CREATE INDEX CONCURRENTLY i ON users (email);\nSELECT 1;")
            .no_transaction()
            .fires(ID);
        assert!(d[0].message.contains("not alone"));
    }

    #[test]
    fn fires_in_down_sql_too() {
        Case::pg("CREATE INDEX CONCURRENTLY i ON users (email);")
            .no_transaction()
            .down(Some("DROP INDEX CONCURRENTLY i;\nSELECT 1;"))
            .fires(ID);
    }

    #[test]
    fn quiet_alone_and_outside_a_transaction() {
        Case::pg("-- build without blocking writes\nCREATE INDEX CONCURRENTLY IF NOT EXISTS i ON users (email);")
            .no_transaction()
            .down(Some("DROP INDEX CONCURRENTLY IF EXISTS i;"))
            .quiet(ID);
        Case::pg("CREATE INDEX i ON users (email);").quiet(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(lint_errors(
            "CREATE INDEX CONCURRENTLY i ON users (email);",
            ID
        ));
        insta::assert_snapshot!(
            "not_alone",
            Case::pg("CREATE INDEX CONCURRENTLY i ON users (email);\nSELECT 1;")
                .no_transaction()
                .rendered(ID)
        );
    }
}
