//! `mysql-data-change-with-ddl`: on MySQL/MariaDB, a data change (`INSERT`, `UPDATE`,
//! `DELETE`, `REPLACE`, `LOAD DATA`) in a migration that also holds a statement which commits
//! implicitly (`CREATE`, `ALTER`, `DROP`, `RENAME` or `TRUNCATE` of tables, indexes, views,
//! triggers, procedures, functions, events or databases; `LOCK TABLES`; `START TRANSACTION`;
//! `GRANT`; …), placed where that commit makes it permanent before the migration ends.
//!
//! Diesel runs a migration inside a transaction it opened with `BEGIN`, and records the
//! version in that transaction. MySQL cannot roll DDL back: such a statement commits the open
//! transaction before it runs (even when it then fails), and the session is back in autocommit
//! mode afterwards, since a transaction started with `BEGIN` ends at any commit. Two things
//! are therefore certain, whatever the data:
//!
//! * a data change followed by such a statement is committed when that statement starts;
//! * a data change after such a statement commits as soon as it has run.
//!
//! If any later statement of the file fails, the change stays while diesel records nothing,
//! and running the migration again (once the failure is fixed) applies the change a second
//! time: `UPDATE acct SET balance = balance + 100; CREATE TABLE b (…); INSERT INTO nope …`
//! credits every account twice on the retry. That is an error, not a judgement call.
//!
//! Not reported, because a failure cannot leave the change behind:
//!
//! * a file with no implicitly committing statement: diesel's transaction covers all of it;
//! * a data change that is the last statement of the file, after the implicit commits: if it
//!   fails, MySQL rolls that one statement back, and nothing runs after it;
//! * a data change on a table created earlier in the same file: running the migration again
//!   has to create that table anew, which discards the rows;
//! * a data change that is not inside a transaction to begin with (`run_in_transaction =
//!   false`, or after an explicit `COMMIT`): the file chose to run it on its own.
//!
//! Safe pattern: put the data change in a migration of its own, with no DDL, so that diesel's
//! transaction covers all of it; or make it idempotent, so that running it twice does no harm
//! (a `WHERE` that skips rows already changed, `INSERT IGNORE`, `ON DUPLICATE KEY UPDATE`).

use crate::lint::config::Level;
use crate::lint::implicit_commit::{self, TxEffect};
use crate::lint::model::Action;

use super::{FileCx, Finding, Rule, RuleInfo, StmtCx, MYSQL};

pub const ID: &str = "mysql-data-change-with-ddl";

pub struct MysqlDataChangeWithDdl;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Deny,
    backends: MYSQL,
    summary:
        "MySQL data change committed early by DDL in the same migration, so a retry repeats it",
    on_down: true,
};

const HELP: &str = "put the data change in a migration of its own, with no DDL, so that diesel's \
                    transaction covers it; or make it idempotent (a WHERE that skips rows already \
                    changed, INSERT IGNORE, ON DUPLICATE KEY UPDATE)";

fn words(file: &FileCx<'_>, index: usize) -> Vec<String> {
    implicit_commit::words(file.split, index)
}

fn effect(file: &FileCx<'_>, index: usize) -> TxEffect {
    implicit_commit::effect(file.split, index, &file.facts[index])
}

fn label(file: &FileCx<'_>, index: usize) -> String {
    implicit_commit::label(file.split, index)
}

/// The data change of a statement: verb and table.
fn data_change(file: &FileCx<'_>, index: usize) -> Option<(String, String)> {
    let w0 = words(file, index).into_iter().next().unwrap_or_default();
    file.facts[index].iter().find_map(|a| match a {
        Action::Insert { table, .. } => {
            let verb = match w0.as_str() {
                "replace" => "REPLACE",
                "load" => "LOAD DATA",
                _ => "INSERT",
            };
            Some((verb.to_string(), table.clone()))
        }
        Action::Update { table, .. } => Some(("UPDATE".to_string(), table.clone())),
        Action::Delete { table, .. } => Some(("DELETE".to_string(), table.clone())),
        _ => None,
    })
}

impl Rule for MysqlDataChangeWithDdl {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_statement(&self, cx: &StmtCx<'_>, out: &mut Vec<Finding>) {
        let file = cx.file;
        if effect(file, cx.index) != TxEffect::DataChange {
            return;
        }
        let Some((verb, table)) = data_change(file, cx.index) else {
            return;
        };
        if !table.is_empty() && cx.created.tables.contains(&table) {
            return;
        }
        // Replay the transaction state up to this statement. `Some(None)`: autocommit the file
        // chose; `Some(Some(k))`: autocommit since statement k committed implicitly.
        let mut autocommit: Option<Option<usize>> =
            (!file.migration.run_in_transaction).then_some(None);
        for k in 0..cx.index {
            match effect(file, k) {
                TxEffect::Commits => autocommit = Some(Some(k)),
                TxEffect::Begins => autocommit = None,
                TxEffect::Commit | TxEffect::Rollback => autocommit = Some(None),
                _ => {}
            }
        }
        let line = |k: usize| file.split.statements[k].start.line;
        let what = if table.is_empty() {
            format!("this {verb}")
        } else {
            format!("this {verb} on `{table}`")
        };
        let consequence = "if a later statement of the file fails, the change stays while the \
                           migration is not recorded, and a retry that gets this far applies it again";
        let message = match autocommit {
            Some(None) => return,
            Some(Some(c)) => {
                if cx.index + 1 == file.split.statements.len() {
                    return;
                }
                format!(
                    "{what} runs after `{}` on line {} ended the migration's transaction, so MySQL \
                     commits it at once: {consequence}",
                    label(file, c),
                    line(c)
                )
            }
            None => {
                let committed_by = (cx.index + 1..file.split.statements.len())
                    .map(|k| (k, effect(file, k)))
                    .take_while(|(_, e)| !e.ends())
                    .find(|(_, e)| matches!(e, TxEffect::Commits | TxEffect::Begins));
                let Some((c, _)) = committed_by else {
                    return;
                };
                format!(
                    "{what} is committed by `{}` on line {}, which MySQL cannot run inside a \
                     transaction: {consequence}",
                    label(file, c),
                    line(c)
                )
            }
        };
        out.push(cx.finding(ID, None, message, HELP));
    }
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::lint::testing::{at, lint_errors, lint_ok, Case};

    #[test]
    fn fires_on_data_changes_committed_by_later_ddl() {
        let d = Case::mysql(
            "UPDATE acct SET balance = balance + 100;\nCREATE TABLE b (id INT);\nINSERT INTO nope VALUES (1);",
        )
        .fires(ID);
        assert_eq!(d.len(), 1);
        assert_eq!(at(&d[0]), (1, 1));
        assert_eq!(d[0].severity, crate::diagnostic::Severity::Error);
        assert!(
            d[0].message.contains("`CREATE TABLE` on line 2"),
            "{}",
            d[0].message
        );
        // The commit happens even when the DDL is the last statement (and fails).
        Case::mysql(
            "DELETE FROM sessions WHERE expired = 1;\nCREATE UNIQUE INDEX u ON users (email);",
        )
        .fires(ID);
        Case::mysql("INSERT INTO settings VALUES ('a', 1);\nLOCK TABLES users WRITE;").fires(ID);
        Case::mysql("REPLACE INTO settings VALUES ('a', 1);\nTRUNCATE TABLE cache;").fires(ID);
        Case::mysql("LOAD DATA INFILE '/tmp/x.csv' INTO TABLE prices;\nDROP VIEW v;").fires(ID);
        // START TRANSACTION commits implicitly too.
        Case::mysql("UPDATE acct SET n = 1 WHERE id = 2;\nSTART TRANSACTION;\nSELECT 1;").fires(ID);
    }

    #[test]
    fn fires_on_data_changes_after_ddl_that_are_not_last() {
        let d = Case::mysql(
            "ALTER TABLE acct ADD COLUMN bonus INT;\nUPDATE acct SET bonus = 1 WHERE id < 10;\nUPDATE acct SET bonus = 2 WHERE id >= 10;",
        )
        .fires(ID);
        assert_eq!(d.len(), 1);
        assert_eq!(at(&d[0]), (2, 1));
        assert!(
            d[0].message.contains("after `ALTER TABLE` on line 1"),
            "{}",
            d[0].message
        );
    }

    #[test]
    fn fires_in_down_sql_too() {
        Case::mysql("SELECT 1;")
            .down(Some(
                "UPDATE acct SET n = 0 WHERE id = 1;\nALTER TABLE acct DROP COLUMN n;",
            ))
            .fires(ID);
    }

    #[test]
    fn quiet_without_implicit_commits() {
        lint_ok(
            "UPDATE acct SET n = 1 WHERE id = 1;\nINSERT INTO log VALUES (1);\nDELETE FROM queue WHERE done = 1;",
            ID,
        );
        // Temporary tables do not commit.
        lint_ok(
            "CREATE TEMPORARY TABLE tmp (id INT);\nINSERT INTO tmp SELECT id FROM acct;\nUPDATE acct SET n = 1 WHERE id IN (SELECT id FROM tmp);\nDROP TEMPORARY TABLE tmp;",
            ID,
        );
    }

    #[test]
    fn quiet_when_a_failure_cannot_leave_the_change_behind() {
        // The last statement, after the DDL: if it fails, MySQL rolls it back, and nothing
        // runs after it.
        lint_ok(
            "CREATE TABLE b (id INT);\nALTER TABLE acct ADD COLUMN bonus INT;\nUPDATE acct SET bonus = 0 WHERE bonus IS NULL;",
            ID,
        );
        // Rows of a table this file creates go away with the table before any retry.
        lint_ok(
            "CREATE TABLE roles (id INT PRIMARY KEY, name TEXT);\nINSERT INTO roles VALUES (1, 'admin');\nINSERT INTO roles VALUES (2, 'user');\nCREATE INDEX roles_name ON roles (name(10));",
            ID,
        );
        // SQLite's rebuild recipe, written for MySQL.
        lint_ok(
            "CREATE TABLE new_t (id INT);\nINSERT INTO new_t SELECT id FROM t;\nDROP TABLE t;\nRENAME TABLE new_t TO t;",
            ID,
        );
    }

    #[test]
    fn quiet_outside_a_transaction_by_choice() {
        Case::mysql("UPDATE acct SET n = 1 WHERE id = 1;\nCREATE TABLE b (id INT);")
            .no_transaction()
            .quiet(ID);
        // An explicit COMMIT ends the transaction before the DDL does.
        Case::mysql("START TRANSACTION;\nUPDATE acct SET n = 1 WHERE id = 1;\nCOMMIT;\nCREATE TABLE b (id INT);")
            .no_transaction()
            .quiet(ID);
        // But a transaction the file opens itself is committed by the DDL all the same.
        Case::mysql("START TRANSACTION;\nUPDATE acct SET n = 1 WHERE id = 1;\nCREATE TABLE b (id INT);\nCOMMIT;")
            .no_transaction()
            .fires(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(lint_errors(
            "UPDATE acct SET balance = balance + 100;\nCREATE TABLE b (id INT);\nINSERT INTO b VALUES (1);\nDELETE FROM sessions WHERE id = 1;\nINSERT INTO nope VALUES (1);",
            ID
        ));
    }
}
