//! What each statement of a MySQL/MariaDB file does to the transaction diesel opens around a
//! migration: which statements commit implicitly (DDL, `LOCK TABLES`, `BEGIN`, …), which end
//! it as written, which change data.
//!
//! One model, shared by the lint rule `mysql-data-change-with-ddl` (which warns before a
//! migration runs) and by the failure report of `apply`/`revert` (which says, after a failure,
//! exactly which statements stayed committed). Pure: it reads the file, not the database.

use sqlparser::tokenizer::Token;

use crate::backend::Backend;
pub use crate::failure::{CommitOutcome, StatementRef};
use crate::lint::model::{Action, Facts};
use crate::sql::SplitFile;

/// What a statement does to the transaction, on MySQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxEffect {
    /// Commits implicitly before it runs, and leaves the session in autocommit mode.
    Commits,
    /// `BEGIN` / `START TRANSACTION`: commits implicitly, then opens a transaction.
    Begins,
    /// `COMMIT`: ends the transaction, keeping its changes.
    Commit,
    /// `ROLLBACK` (not `ROLLBACK TO`): ends the transaction, discarding its changes.
    Rollback,
    /// `INSERT`, `UPDATE`, `DELETE`, `REPLACE`, `LOAD DATA`.
    DataChange,
    /// Anything else (`SELECT`, `SET`, `DO`, …).
    None,
}

impl TxEffect {
    /// `COMMIT` or `ROLLBACK`.
    pub fn ends(self) -> bool {
        matches!(self, TxEffect::Commit | TxEffect::Rollback)
    }
}

/// The leading words of statement `index`, lower case (quoted identifiers are not words).
pub fn words(split: &SplitFile<'_>, index: usize) -> Vec<String> {
    let Some(stmt) = split.statements.get(index) else {
        return Vec::new();
    };
    split
        .significant(stmt)
        .take(4)
        .map(|t| match &t.token {
            Token::Word(w) if w.quote_style.is_none() => w.value.to_ascii_lowercase(),
            _ => String::new(),
        })
        .collect()
}

/// What statement `index` (whose facts are `facts`) does to the transaction.
pub fn effect(split: &SplitFile<'_>, index: usize, facts: &Facts) -> TxEffect {
    let w = words(split, index);
    let w0 = w.first().map(String::as_str).unwrap_or("");
    let w1 = w.get(1).map(String::as_str).unwrap_or("");
    match w0 {
        // CREATE/DROP TEMPORARY TABLE do not commit; a loadable function (`… SONAME`) neither.
        "create" | "drop" if w1 == "temporary" => TxEffect::None,
        "create" | "drop" if w.iter().any(|w| w == "soname") => TxEffect::None,
        "create" | "alter" | "drop" | "rename" | "truncate" | "grant" | "revoke" | "analyze"
        | "optimize" | "repair" | "flush" | "reset" | "install" | "uninstall" => TxEffect::Commits,
        "lock" | "unlock" if w1 == "tables" || w1 == "table" => TxEffect::Commits,
        "check" | "cache" if w1 == "table" || w1 == "index" => TxEffect::Commits,
        "load" if w1 == "index" => TxEffect::Commits,
        "set" if w1 == "password" => TxEffect::Commits,
        "begin" => TxEffect::Begins,
        "start" if w1 == "transaction" => TxEffect::Begins,
        "commit" => TxEffect::Commit,
        "rollback" if !w.iter().any(|w| w == "to") => TxEffect::Rollback,
        _ if facts.iter().any(|a| {
            matches!(
                a,
                Action::Insert { .. } | Action::Update { .. } | Action::Delete { .. }
            )
        }) =>
        {
            TxEffect::DataChange
        }
        _ => TxEffect::None,
    }
}

/// How a statement is named in a message: its leading keywords up to the kind of object
/// (`CREATE TABLE`, `CREATE UNIQUE INDEX`, `LOCK TABLES`), or its first keyword.
pub fn label(split: &SplitFile<'_>, index: usize) -> String {
    const KINDS: &[&str] = &[
        "table",
        "tables",
        "index",
        "view",
        "trigger",
        "procedure",
        "function",
        "event",
        "database",
        "schema",
        "user",
        "role",
        "server",
        "tablespace",
        "sequence",
        "transaction",
    ];
    let w = words(split, index);
    let end = w
        .iter()
        .take_while(|w| !w.is_empty())
        .position(|w| KINDS.contains(&w.as_str()))
        .map_or(1, |i| i + 1);
    w[..end.min(w.len())].join(" ").to_ascii_uppercase()
}

/// A statement's text on one line, at most 80 characters.
pub fn short_text(text: &str) -> String {
    let one: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() <= 80 {
        one
    } else {
        let cut: String = one.chars().take(77).collect();
        format!("{}...", cut.trim_end())
    }
}

/// Statements `numbers` (1-based) of `text`, as a report names them; numbers the file does
/// not have are left out.
pub fn statement_refs(text: &str, backend: Backend, numbers: &[usize]) -> Vec<StatementRef> {
    let Ok(split) = crate::sql::split(text, backend) else {
        return Vec::new();
    };
    numbers
        .iter()
        .filter_map(|&n| {
            let stmt = split.statements.get(n.checked_sub(1)?)?;
            Some(StatementRef {
                statement: n,
                line: stmt.start.line,
                text: short_text(split.stmt_text(stmt)),
            })
        })
        .collect()
}

/// The tables statements `numbers` (1-based) of `text` create (`true`) or drop (`false`), so
/// that a report can read whether they are still so.
pub fn tables_changed(text: &str, backend: Backend, numbers: &[usize]) -> Vec<(String, bool)> {
    let Ok(split) = crate::sql::split(text, backend) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for &n in numbers {
        let Some(stmt) = n.checked_sub(1).and_then(|i| split.statements.get(i)) else {
            continue;
        };
        for action in crate::lint::model::facts(&split, stmt, backend).iter() {
            match action {
                Action::CreateTable { table, .. } => out.push((table.clone(), true)),
                Action::DropTable { table, .. } => out.push((table.clone(), false)),
                Action::RenameTable { from, to } => {
                    out.push((from.clone(), false));
                    out.push((to.clone(), true));
                }
                _ => {}
            }
        }
    }
    out
}

/// For a file `text` run statement by statement (MySQL/MariaDB always, SQLite without
/// diesel's transaction) that failed at statement
/// `failed` (1-based): which of the statements before it are committed and which were rolled
/// back. `run_in_transaction` is whether diesel opened a transaction around the file;
/// `failed_statement_ran` is whether the server started running the failing statement (not
/// when it could not parse it): an implicitly committing statement commits before it runs,
/// even when it then fails. `None` when the file cannot be split.
pub fn after_failure(
    text: &str,
    backend: Backend,
    run_in_transaction: bool,
    failed: usize,
    failed_statement_ran: bool,
) -> Option<CommitOutcome> {
    let split = crate::sql::split(text, backend).ok()?;
    let refs = |k: usize| {
        let stmt = &split.statements[k];
        StatementRef {
            statement: k + 1,
            line: stmt.start.line,
            text: short_text(split.stmt_text(stmt)),
        }
    };
    let mut out = CommitOutcome::default();
    let mut in_tx = run_in_transaction;
    // Ran inside the open transaction, not committed yet.
    let mut open: Vec<usize> = Vec::new();
    let last = failed.min(split.statements.len());
    for k in 0..last {
        let facts = crate::lint::model::facts(&split, &split.statements[k], backend);
        let e = match effect(&split, k, &facts) {
            // Where DDL is transactional (SQLite), it is a change like any other.
            TxEffect::Commits if !backend.ddl_commits_implicitly() => TxEffect::DataChange,
            e => e,
        };
        let is_failing = k + 1 == failed;
        match e {
            TxEffect::Commits | TxEffect::Begins | TxEffect::Commit => {
                // The implicit (or explicit) commit happens before the statement itself.
                if !is_failing || failed_statement_ran {
                    out.committed.extend(open.drain(..).map(refs));
                }
                if is_failing {
                    break;
                }
                in_tx = e == TxEffect::Begins;
                if e == TxEffect::Commits {
                    out.committed.push(refs(k));
                }
            }
            TxEffect::Rollback => {
                if is_failing {
                    break;
                }
                out.rolled_back.extend(open.drain(..).map(refs));
                in_tx = false;
            }
            TxEffect::DataChange | TxEffect::None => {
                if is_failing {
                    break;
                }
                if in_tx {
                    open.push(k);
                } else if e == TxEffect::DataChange {
                    out.committed.push(refs(k));
                }
            }
        }
    }
    // Diesel rolls back what is still open after the failure.
    out.rolled_back.extend(open.into_iter().map(refs));
    if failed >= 1 && failed <= split.statements.len() {
        out.failed = Some(refs(failed - 1));
        out.not_run = (failed..split.statements.len()).map(refs).collect();
    }
    out.committed.sort_by_key(|s| s.statement);
    out.rolled_back.sort_by_key(|s| s.statement);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(v: &[StatementRef]) -> Vec<usize> {
        v.iter().map(|s| s.statement).collect()
    }

    #[test]
    fn dml_before_ddl_is_committed_by_it() {
        let text = "UPDATE acct SET balance = balance + 100;\nCREATE TABLE b (id INT PRIMARY KEY);\nINSERT INTO nope VALUES (1);\n";
        let out = after_failure(text, Backend::Mysql, true, 3, true).unwrap();
        assert_eq!(numbers(&out.committed), [1, 2]);
        assert!(out.rolled_back.is_empty());
        assert_eq!(out.committed[0].line, 1);
        assert_eq!(
            out.committed[0].text,
            "UPDATE acct SET balance = balance + 100"
        );
        assert_eq!(out.committed[1].text, "CREATE TABLE b (id INT PRIMARY KEY)");
        assert_eq!(out.failed.map(|s| s.statement), Some(3));
        assert!(out.not_run.is_empty());
        let out = after_failure(text, Backend::Mysql, true, 2, true).unwrap();
        assert_eq!(numbers(&out.committed), [1]);
        assert_eq!(numbers(&out.not_run), [3]);
    }

    #[test]
    fn dml_after_the_last_commit_is_rolled_back_in_a_transaction() {
        // After the CREATE the session is in autocommit mode: the INSERT commits at once.
        let text =
            "CREATE TABLE b (id INT);\nINSERT INTO b VALUES (1);\nINSERT INTO nope VALUES (1);";
        let out = after_failure(text, Backend::Mysql, true, 3, true).unwrap();
        assert_eq!(numbers(&out.committed), [1, 2]);
        // No DDL: diesel's transaction covers everything.
        let text = "UPDATE a SET n = 1;\nINSERT INTO nope VALUES (1);";
        let out = after_failure(text, Backend::Mysql, true, 2, true).unwrap();
        assert!(out.committed.is_empty());
        assert_eq!(numbers(&out.rolled_back), [1]);
        // Without diesel's transaction each data change commits on its own.
        let out = after_failure(text, Backend::Mysql, false, 2, true).unwrap();
        assert_eq!(numbers(&out.committed), [1]);
    }

    #[test]
    fn a_failing_ddl_statement_commits_what_came_before_unless_it_never_ran() {
        let text = "UPDATE a SET n = 1;\nCREATE TABLE a (id INT);";
        assert_eq!(
            numbers(
                &after_failure(text, Backend::Mysql, true, 2, true)
                    .unwrap()
                    .committed
            ),
            [1]
        );
        // A statement the server could not parse never ran, so it committed nothing.
        let out = after_failure(text, Backend::Mysql, true, 2, false).unwrap();
        assert!(out.committed.is_empty());
        assert_eq!(numbers(&out.rolled_back), [1]);
    }

    #[test]
    fn explicit_transaction_control() {
        let text = "START TRANSACTION;\nUPDATE a SET n = 1;\nROLLBACK;\nUPDATE a SET n = 2;\nCOMMIT;\nINSERT INTO nope VALUES (1);";
        let out = after_failure(text, Backend::Mysql, false, 6, true).unwrap();
        assert_eq!(numbers(&out.committed), [4]);
        assert_eq!(numbers(&out.rolled_back), [2]);
    }

    #[test]
    fn tables_of_committed_statements() {
        let text =
            "UPDATE a SET n = 1;\nCREATE TABLE b (id INT);\nDROP TABLE c;\nRENAME TABLE d TO e;";
        assert_eq!(
            tables_changed(text, Backend::Mysql, &[1, 2, 3, 4]),
            [
                ("b".to_string(), true),
                ("c".to_string(), false),
                ("d".to_string(), false),
                ("e".to_string(), true)
            ]
        );
    }

    #[test]
    fn long_statements_are_shortened() {
        let long = format!("INSERT INTO t VALUES ({})", "1, ".repeat(40));
        let s = short_text(&long);
        assert!(s.ends_with("...") && s.chars().count() <= 80, "{s}");
        assert_eq!(short_text("SELECT\n   1"), "SELECT 1");
    }
}
