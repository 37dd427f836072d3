//! A migration that did not run to the end, as a value, and the finding that explains it.
//!
//! The database layer fills a [`MigrationFailure`] from what the server said; everything a
//! person reads about it (which file and line, what stayed committed, what to do next) is
//! decided here, in one place, for `apply`, `revert`, `redo` and the scratch replay alike.

use std::path::PathBuf;

use serde::Serialize;

use crate::backend::Backend;
use crate::diagnostic::{Diagnostic, Problem};
use crate::lint::model::{Action, TxKind};
use crate::migration::{Direction, Migration};

/// A migration that did not run to the end.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationFailure {
    /// The migration folder's name.
    pub migration: String,
    /// Which file ran.
    pub direction: Direction,
    /// The file that failed (absolute; shown relative to the workspace).
    pub file: PathBuf,
    /// Line in that file, when the database says where (PostgreSQL) or the statement is known.
    pub line: Option<usize>,
    /// Column in that line (characters).
    pub column: Option<usize>,
    /// What the database said, on one line, without passwords.
    pub message: String,
    /// PostgreSQL's DETAIL.
    pub detail: Option<String>,
    /// PostgreSQL's HINT.
    pub hint: Option<String>,
    /// Whether earlier statements of this migration may be committed (MySQL DDL commits
    /// implicitly; SQLite and PostgreSQL roll back the whole migration).
    pub may_be_partial: bool,
    /// Which statement of the file failed (1-based), when it ran statement by statement.
    pub statement: Option<usize>,
    /// Whether the database records the migration as applied after the failure, read from
    /// `__diesel_schema_migrations` afterwards (`null` when it could not be read, and in the
    /// scratch replay).
    pub recorded: Option<bool>,
    /// The first statement of the file that ends the transaction diesel opened around it
    /// (`COMMIT`, `END`, `ROLLBACK`, or `BEGIN` on MySQL), when diesel opened one.
    #[serde(skip)]
    pub ends_transaction: Option<TransactionEnd>,
    /// For such a migration: the tables it created or dropped that stayed, read from the
    /// database before it ran and after it failed.
    #[serde(skip)]
    pub tables_left: Option<TablesLeft>,
}

/// Tables that a failed migration created or dropped and that stayed so.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TablesLeft {
    /// In the database now, not before it ran.
    pub created: Vec<String>,
    /// In the database before it ran, not now.
    pub dropped: Vec<String>,
}

impl TablesLeft {
    fn describe(&self) -> String {
        let list = |names: &[String]| {
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut parts = Vec::new();
        if !self.created.is_empty() {
            parts.push(format!(
                "the tables it created stay in the database: {}",
                list(&self.created)
            ));
        }
        if !self.dropped.is_empty() {
            parts.push(format!(
                "the tables it dropped stay dropped: {}",
                list(&self.dropped)
            ));
        }
        if parts.is_empty() {
            "no table it created or dropped stayed, but other changes it made before the failure may have".to_string()
        } else {
            parts.join("; ")
        }
    }
}

/// A statement of a migration that ends the transaction diesel runs the migration in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionEnd {
    /// The statement's first word, upper case (`COMMIT`).
    pub keyword: String,
    /// Its line in the file.
    pub line: usize,
}

/// The first statement of `text` that ends the transaction diesel opened around it: `COMMIT`
/// (or `END`) and `ROLLBACK` everywhere, `BEGIN` on MySQL (which commits implicitly). A `BEGIN`
/// on SQLite fails and one on PostgreSQL is ignored, so neither ends it.
pub fn ends_transaction(text: &str, backend: Backend) -> Option<TransactionEnd> {
    let split = crate::sql::split(text, backend).ok()?;
    split.statements.iter().find_map(|stmt| {
        let facts = crate::lint::model::facts(&split, stmt, backend);
        let ends = facts.iter().any(|a| match a {
            Action::Transaction(TxKind::Commit | TxKind::Rollback) => true,
            Action::Transaction(TxKind::Begin) => backend.begin_commits_open_transaction(),
            _ => false,
        });
        ends.then(|| TransactionEnd {
            keyword: text
                .get(stmt.bytes.clone())
                .and_then(|s| s.split_whitespace().next())
                .unwrap_or("COMMIT")
                .trim_end_matches(';')
                .to_ascii_uppercase(),
            line: stmt.start.line,
        })
    })
}

impl MigrationFailure {
    /// A failure of `migration` before the database said why.
    pub fn blank(migration: &Migration, direction: Direction, may_be_partial: bool) -> Self {
        MigrationFailure {
            migration: migration.dir_name.clone(),
            direction,
            file: migration.dir.join(direction.file_name()),
            line: None,
            column: None,
            message: String::new(),
            detail: None,
            hint: None,
            may_be_partial,
            statement: None,
            recorded: None,
            ends_transaction: None,
            tables_left: None,
        }
    }
}

/// What was going on when a migration failed; it decides the help a person gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureContext {
    /// `apply` or `revert`, with this many migrations of the run done before it.
    Run {
        /// Migrations of this run that completed before the failing one.
        earlier: usize,
    },
    /// `redo` re-applying a migration whose down.sql just ran.
    RedoReapply,
    /// The scratch replay of `check`, `schema`, `generate` and `baseline`.
    Replay,
}

/// `1 statement`, `3 statements`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

impl MigrationFailure {
    /// The finding that tells a person what failed, where, and what to do.
    pub fn diagnostic(
        &self,
        set: &str,
        migration: Option<&Migration>,
        cx: FailureContext,
    ) -> Diagnostic {
        let (code, message) = match cx {
            FailureContext::Replay => (
                Problem::ReplayFailed,
                format!(
                    "replaying the history on a scratch database failed at {}: {}",
                    self.migration, self.message
                ),
            ),
            _ => (
                Problem::MigrationFailed,
                format!("migration {} failed: {}", self.migration, self.message),
            ),
        };
        let mut d = Diagnostic::error(code, message)
            .with_set(set)
            .with_file(&self.file);
        if let (Some(line), Some(column)) = (self.line, self.column) {
            d = d.with_location(line, column);
            let text = migration.and_then(|m| match self.direction {
                Direction::Up => Some(m.up_sql.as_str()),
                Direction::Down => m.down_sql.as_deref(),
            });
            if let Some(src) = text.and_then(|t| t.lines().nth(line.saturating_sub(1))) {
                d = d.with_source_line(src, 1);
            }
        }
        d.with_help(self.help(cx))
    }

    fn help(&self, cx: FailureContext) -> String {
        if cx == FailureContext::Replay {
            return "the migrations do not run on an empty database; fix this migration (the scratch database was dropped)".to_string();
        }
        let m = &self.migration;
        let file = self.direction.file_name();
        let mut help = Vec::new();
        if let Some(detail) = &self.detail {
            help.push(format!("database detail: {detail}"));
        }
        if let Some(hint) = &self.hint {
            help.push(format!("database hint: {hint}"));
        }
        let earlier = match cx {
            FailureContext::Run { earlier } => earlier,
            _ => 0,
        };
        let kept = match earlier {
            0 => String::new(),
            1 => "; the migration before it stays applied".to_string(),
            n => format!("; the {n} migrations before it stay applied"),
        };
        let again = match (cx, self.direction) {
            (FailureContext::RedoReapply, _) | (_, Direction::Up) => "`apply`",
            (_, Direction::Down) => "`revert`",
        };
        // What the database records about the migration now, read after the failure: whether
        // the step's own bookkeeping (recording the version, or deleting it) was committed.
        let bookkeeping_done = match (self.direction, self.recorded) {
            (Direction::Up, Some(r)) => Some(r),
            (Direction::Down, Some(r)) => Some(!r),
            (_, None) => None,
        };
        let recorded_now = match self.recorded {
            Some(true) => format!("the database records {m} as applied"),
            Some(false) => format!("the database does not record {m} as applied"),
            None => format!(
                "whether the database records {m} as applied could not be read after the failure"
            ),
        };
        // The failing statement ran before the one that ends diesel's transaction: the end
        // never ran.
        let ended = self.ends_transaction.as_ref().filter(|end| {
            !(bookkeeping_done != Some(true) && self.line.is_some_and(|line| line < end.line))
        });
        let fix_tx = format!(
            "remove the transaction control from {file} (diesel runs each migration in a transaction; a migration that must manage its own sets `run_in_transaction = false` in its metadata.toml)"
        );
        if bookkeeping_done == Some(true) {
            let how = match ended {
                Some(end) => format!(
                    "{m} ended diesel's transaction itself (`{}` at line {} of {file}), so its statements and {} were committed on their own, before diesel's own commit failed",
                    end.keyword, end.line,
                    match self.direction {
                        Direction::Up => "its version",
                        Direction::Down => "the removal of its version",
                    }
                ),
                None => format!("diesel reported a failure after {file} had run and the change to its version was committed"),
            };
            let next = match self.direction {
                Direction::Up => format!(
                    "{recorded_now}, so `apply` will not run it again{kept}; check that the database holds everything {m} does, then {fix_tx}"
                ),
                Direction::Down => format!(
                    "{recorded_now} any more{kept}; check that the database no longer holds anything {m} created, then {fix_tx}"
                ),
            };
            help.push(format!("{how}: {next}"));
            return help.join("\n");
        }
        if let Some(end) = ended {
            help.push(format!(
                "{m} ended diesel's transaction itself (`{}` at line {} of {file}), so the failure did not roll back all of it: {}; {recorded_now}{kept}; inspect the database and undo what it left (or finish it by hand), then {fix_tx} and run {again} again",
                end.keyword,
                end.line,
                self.tables_left.as_ref().map_or_else(
                    || "what it ran before the failure may stay committed".to_string(),
                    TablesLeft::describe
                )
            ));
            return help.join("\n");
        }
        if cx == FailureContext::RedoReapply {
            help.push(format!(
                "{m} was reverted and then failed to apply again, so its down.sql probably does not undo its up.sql completely; fix down.sql (and undo by hand what it left), then run `apply`"
            ));
            return help.join("\n");
        }
        if self.may_be_partial {
            let which = match (self.statement, self.line) {
                (Some(n), Some(line)) => format!(
                    "statement {n} (line {line}) failed; the {} before it ran, and this database commits DDL implicitly, so their DDL stays",
                    count(n - 1, "statement")
                ),
                _ => format!(
                    "this database commits DDL statements one by one: statements of {m} before the failing one may have been committed"
                ),
            };
            help.push(format!(
                "{which}{kept}; inspect the database and undo them before running {again} again"
            ));
        } else if bookkeeping_done == Some(false) {
            help.push(format!(
                "{m} was rolled back completely{kept}; fix {file} and run {again} again"
            ));
        } else {
            help.push(format!(
                "{m} ran in a transaction that the failure rolls back, but {recorded_now}{kept}; run `cargo migrate status` to see where the database stands, fix {file} and run {again} again"
            ));
        }
        help.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_ends_diesels_transaction() {
        let text = "CREATE TABLE a (id INT);\nBEGIN;\nCREATE TABLE b (id INT);\ncommit;\n";
        let commit = Some(TransactionEnd {
            keyword: "COMMIT".to_string(),
            line: 4,
        });
        assert_eq!(ends_transaction(text, Backend::Sqlite), commit);
        assert_eq!(ends_transaction(text, Backend::Postgres), commit);
        // MySQL commits implicitly at BEGIN.
        assert_eq!(
            ends_transaction(text, Backend::Mysql).map(|e| (e.keyword, e.line)),
            Some(("BEGIN".to_string(), 2))
        );
        assert_eq!(
            ends_transaction("SELECT 1;\nROLLBACK;", Backend::Postgres).map(|e| e.line),
            Some(2)
        );
        assert_eq!(
            ends_transaction("CREATE TABLE a (id INT);", Backend::Sqlite),
            None
        );
        assert_eq!(
            ends_transaction("ROLLBACK TO SAVEPOINT s;", Backend::Postgres),
            None
        );
    }
}
