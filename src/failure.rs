//! A migration that did not run to the end, as a value, and the finding that explains it.
//!
//! The database layer fills a [`MigrationFailure`] from what the server said; everything a
//! person reads about it (which file and line, what stayed committed, what to do next) is
//! decided here, in one place, for `apply`, `revert`, `redo` and the scratch replay alike.

use std::path::PathBuf;

use serde::Serialize;

use crate::backend::Backend;
use crate::cause::Cause;
use crate::diagnostic::{Diagnostic, Problem};
#[cfg(feature = "statements")]
use crate::lint::model::{Action, TxKind};
use crate::migration::{Direction, Migration};

/// A migration that did not run to the end.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationFailure {
    /// The migration folder's name.
    pub migration: String,
    /// Its version, as diesel records it.
    #[serde(skip)]
    pub version: String,
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
    /// For such a migration, and any on MySQL/MariaDB: the tables it created or dropped that
    /// stayed, read from the database before it ran and after it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tables_left: Option<TablesLeft>,
    /// MySQL/MariaDB, when the file ran statement by statement: the statements that stayed
    /// committed (implicitly committing statements, and every change that ran before one of
    /// them or in autocommit mode after it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub committed_statements: Option<Vec<StatementRef>>,
    /// The other statements of the file: rolled back, the failing one, and those never run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_committed_statements: Option<Vec<StatementRef>>,
    /// Whether the committed statements were recorded in `__cargo_migrate_partial`, so that
    /// `apply` refuses to run them again (`null` when there was nothing to record).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial_recorded: Option<bool>,
    /// Why it failed, when it is not the SQL itself: `connection_lost`, `permission`,
    /// `syntax`, `missing_extension`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<&'static str>,
    /// After a lost connection: whether a new connection could be opened to read what the
    /// database records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reconnected: Option<bool>,
    /// The split of `not_committed_statements` for the human report.
    #[serde(skip)]
    pub commit_outcome: Option<CommitOutcome>,
}

/// Tables that a failed migration created or dropped and that stayed so.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
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
            parts.join("\n")
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

/// One statement of a file, as a report names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementRef {
    /// Its number in the file (1-based).
    pub statement: usize,
    /// The line it starts on.
    pub line: usize,
    /// Its text on one line, shortened.
    pub text: String,
}

/// What of a MySQL file that failed at one statement stayed committed (see
/// `lint::implicit_commit::after_failure`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CommitOutcome {
    /// Statements that ran and are committed: implicitly committing statements, and every
    /// statement that ran before one of them or in autocommit mode after it.
    pub committed: Vec<StatementRef>,
    /// Statements that ran but were rolled back with diesel's transaction (or by a `ROLLBACK`).
    pub rolled_back: Vec<StatementRef>,
    /// The statement that failed.
    pub failed: Option<StatementRef>,
    /// The statements after it, which never ran.
    pub not_run: Vec<StatementRef>,
}

/// The first statement of `text` that ends the transaction diesel opened around it: `COMMIT`
/// (or `END`) and `ROLLBACK` everywhere, `BEGIN` on MySQL (which commits implicitly). A `BEGIN`
/// on SQLite fails and one on PostgreSQL is ignored, so neither ends it.
#[cfg(feature = "statements")]
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

/// Without the `statements` feature the file's statements are not read: `None`.
#[cfg(not(feature = "statements"))]
pub fn ends_transaction(_text: &str, _backend: Backend) -> Option<TransactionEnd> {
    None
}

impl MigrationFailure {
    /// A failure of `migration` before the database said why.
    pub fn blank(migration: &Migration, direction: Direction, may_be_partial: bool) -> Self {
        MigrationFailure {
            migration: migration.dir_name.clone(),
            version: migration.version.clone(),
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
            committed_statements: None,
            not_committed_statements: None,
            partial_recorded: None,
            cause: None,
            reconnected: None,
            commit_outcome: None,
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
        let cause = crate::cause::classify(&self.message);
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
        if cause == Cause::ConnectionLost {
            help.push(self.connection_lost_help(&recorded_now, &kept, again));
            return help.join("\n");
        }
        // What to do about the file itself: only an SQL fault is fixed in it.
        let fix = match &cause {
            Cause::Permission => format!(
                "have {} granted to the role that runs migrations (or run them as a role that has it; {file} itself may be fine)",
                crate::cause::privilege(&self.message)
            ),
            Cause::MissingExtension { name } => format!(
                "install the extension `{name}` on the server (the migration itself may be fine)"
            ),
            _ => format!("fix {file}"),
        };
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
            if let Some(outcome) = self
                .commit_outcome
                .as_ref()
                .filter(|o| self.may_be_partial && !o.committed.is_empty())
            {
                help.push(self.partial_help(outcome, &recorded_now, &kept, &fix, again));
            }
            return help.join("\n");
        }
        if let (true, Some(outcome)) = (self.may_be_partial, &self.commit_outcome) {
            if outcome.committed.is_empty() {
                help.push(format!(
                    "no statement of {m} commits implicitly before the failing one, so diesel's transaction rolled all of it back{kept}; {fix} and run {again} again"
                ));
            } else {
                help.push(self.partial_help(outcome, &recorded_now, &kept, &fix, again));
            }
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
        } else if bookkeeping_done == Some(false)
            && self.statement.is_some()
            && self.direction == Direction::Up
            && already_exists(&self.message)
        {
            // MySQL, where DDL commits implicitly: what the first statement creates is there
            // already, most likely left by an earlier run of this migration that was stopped.
            help.push(format!(
                "nothing of this attempt stayed{kept}, but the database already holds what statement {} creates: on this database DDL commits implicitly, so an earlier run of {m} that was stopped (a killed process, a lost connection) may have left it; check what of {m} is already in the database, then edit {file} so that it holds only what is missing (or undo the leftovers by hand) and run {again} again",
                self.statement.unwrap_or(1)
            ));
        } else if bookkeeping_done == Some(false) {
            help.push(format!(
                "{m} was rolled back completely{kept}; {fix} and run {again} again"
            ));
        } else {
            help.push(format!(
                "{m} ran in a transaction that the failure rolls back, but {recorded_now}{kept}; run `cargo migrate status` to see where the database stands, {fix} and run {again} again"
            ));
        }
        help.join("\n")
    }
}

/// Whether the database says that what a statement creates exists already (MySQL/MariaDB:
/// `Table 'x' already exists`, `Duplicate column name`, `Duplicate key name`; PostgreSQL:
/// `relation "x" already exists`).
fn already_exists(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    lower.contains("already exists")
        || lower.starts_with("duplicate column name")
        || lower.starts_with("duplicate key name")
}

/// `statement 1 (line 1) `UPDATE …``, joined.
fn list_statements(list: &[StatementRef], note: impl Fn(&StatementRef) -> &'static str) -> String {
    list.iter()
        .map(|s| {
            format!(
                "statement {} (line {}{}) `{}`",
                s.statement,
                s.line,
                note(s),
                s.text
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl MigrationFailure {
    /// A MySQL/MariaDB migration that stayed partly committed: which statements are in the
    /// database, which are not, what the database shows, and the ways forward.
    fn partial_help(
        &self,
        outcome: &CommitOutcome,
        recorded_now: &str,
        kept: &str,
        fix: &str,
        again: &str,
    ) -> String {
        let m = &self.migration;
        let file = self.direction.file_name();
        let mut parts = Vec::new();
        if let Some(failed) = &outcome.failed {
            parts.push(format!(
                "statement {} (line {}) failed; the {} before it ran, and this database commits DDL implicitly (and with it every change made before it in the transaction)",
                failed.statement,
                failed.line,
                count(failed.statement - 1, "statement")
            ));
        }
        parts.push(format!(
            "committed, and in the database now: {}",
            list_statements(&outcome.committed, |_| "")
        ));
        let failed_no = outcome.failed.as_ref().map(|f| f.statement);
        let mut not: Vec<StatementRef> = outcome.rolled_back.clone();
        not.extend(outcome.failed.iter().cloned());
        not.extend(outcome.not_run.iter().cloned());
        if !not.is_empty() {
            parts.push(format!(
                "not committed: {}",
                list_statements(&not, |s| if Some(s.statement) == failed_no {
                    ", failed"
                } else if outcome.not_run.iter().any(|n| n.statement == s.statement) {
                    ", not run"
                } else {
                    ", rolled back"
                })
            ));
        }
        if let Some(tables) = self
            .tables_left
            .as_ref()
            .filter(|t| !t.created.is_empty() || !t.dropped.is_empty())
        {
            parts.push(format!(
                "read from the database after the failure: {}",
                tables.describe()
            ));
        }
        parts.push(format!("{recorded_now}{kept}"));
        let remaining = format!(
            "{} {}",
            if not.len() == 1 {
                "statement"
            } else {
                "statements"
            },
            not.iter()
                .map(|s| s.statement.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let v = &self.version;
        let next = match (self.direction, self.partial_recorded) {
            (Direction::Up, Some(true)) => format!(
                "running {file} again would run the committed statements a second time, so `apply` refuses {m} while its {file} is unchanged (the committed statements are recorded in `__cargo_migrate_partial`)\nto go on, either edit {file} so that it holds only what was not committed ({remaining}), with the failure fixed{and_fix}, and run `apply` again\nor finish those statements by hand and record the migration as applied: `INSERT INTO __diesel_schema_migrations (version) VALUES ('{v}'); DELETE FROM __cargo_migrate_partial WHERE version = '{v}';`",
                and_fix = if fix.starts_with("fix ") { String::new() } else { format!(" ({fix})") },
            ),
            (Direction::Down, Some(true)) => format!(
                "running {file} again would run the committed statements a second time, so `revert` refuses {m} while its {file} is unchanged (the committed statements are recorded in `__cargo_migrate_partial`)\nto go on, either edit {file} so that it holds only what was not committed ({remaining}), with the failure fixed{and_fix}, and run `revert` again\nor finish those statements by hand and record the migration as reverted: `DELETE FROM __diesel_schema_migrations WHERE version = '{v}'; DELETE FROM __cargo_migrate_partial WHERE version = '{v}';`",
                and_fix = if fix.starts_with("fix ") { String::new() } else { format!(" ({fix})") },
            ),
            (Direction::Up, Some(false)) => format!(
                "running {file} again would run the committed statements a second time, and recording them in `__cargo_migrate_partial` failed, so nothing will stop that: edit {file} so that it holds only what was not committed ({remaining}) before you run {again} again, or undo the committed statements by hand"
            ),
            _ => format!(
                "running {file} again would run the committed statements a second time: edit {file} so that it holds only what was not committed ({remaining}), or undo the committed statements by hand, before you run {again} again"
            ),
        };
        parts.push(next);
        parts.join("\n")
    }

    /// The connection was lost while the migration ran: say what the database records now,
    /// read over a new connection, and never "fix up.sql".
    fn connection_lost_help(&self, recorded_now: &str, kept: &str, again: &str) -> String {
        let m = &self.migration;
        let file = self.direction.file_name();
        let read = match self.reconnected {
            Some(true) => format!("read again over a new connection: {recorded_now}"),
            Some(false) => format!(
                "no new connection could be opened (the embedded runner never reopens an application's own connection), so what the database records about {m} is not known"
            ),
            None => recorded_now.to_string(),
        };
        let mut parts = vec![format!(
            "the connection to the database server was lost while {m} ran (a server restart, a terminated session or a network failure): the server never said whether the statement that was running finished; {read}{kept}"
        )];
        match (&self.committed_statements, self.may_be_partial) {
            (Some(committed), _) if !committed.is_empty() => parts.push(format!(
                "committed before the connection was lost: {}; what the statement that was running did is not known",
                list_statements(committed, |_| "")
            )),
            (_, false) if self.recorded == Some(false) => parts.push(format!(
                "{file} ran in a transaction, which the server rolls back when the session ends, so nothing of it stayed"
            )),
            (_, false) if self.recorded.is_none() => parts.push(format!(
                "{file} ran in a transaction: either it committed as a whole, with its version, or the server rolled all of it back; `cargo migrate status` tells which once the server answers"
            )),
            (_, true) => parts.push(format!(
                "this database commits DDL statement by statement, so statements of {m} may have stayed committed"
            )),
            _ => {}
        }
        let v = &self.version;
        parts.push(if self.partial_recorded == Some(true) {
            format!(
                "check that the server is up and run `cargo migrate status` to see where the database stands; `apply` refuses {m} while its {file} is unchanged (the committed statements are recorded in `__cargo_migrate_partial`): edit {file} so that it holds only what was not committed, or finish it by hand and record it with `INSERT INTO __diesel_schema_migrations (version) VALUES ('{v}'); DELETE FROM __cargo_migrate_partial WHERE version = '{v}';`"
            )
        } else {
            format!(
                "check that the server is up, run `cargo migrate status` to see where the database stands, then run {again} again; the migration itself may be fine"
            )
        });
        parts.join("\n")
    }
}

#[cfg(all(test, feature = "statements"))]
mod tests {
    use super::*;

    fn migration(up: &str) -> Migration {
        Migration {
            version: "20240102000000".into(),
            name: "credit".into(),
            dir_name: "2024-01-02-000000_credit".into(),
            dir: PathBuf::from("/w/migrations/2024-01-02-000000_credit"),
            up_sql: up.into(),
            down_sql: None,
            run_in_transaction: true,
            has_metadata: false,
        }
    }

    fn help_of(f: &MigrationFailure) -> String {
        f.help(FailureContext::Run { earlier: 1 })
    }

    #[test]
    fn a_lost_connection_is_never_blamed_on_the_sql() {
        let m =
            migration("CREATE TABLE a (id INT);\nSELECT pg_terminate_backend(pg_backend_pid());");
        let mut f = MigrationFailure::blank(&m, Direction::Up, false);
        f.message = "terminating connection due to administrator command".into();
        f.recorded = Some(false);
        f.reconnected = Some(true);
        let help = help_of(&f);
        assert!(
            help.contains("the connection to the database server was lost"),
            "{help}"
        );
        assert!(
            help.contains("read again over a new connection: the database does not record 2024-01-02-000000_credit as applied"),
            "{help}"
        );
        assert!(!help.contains("fix up.sql"), "{help}");
        assert!(!help.contains("rolled back completely"), "{help}");
        // Could not reconnect: nothing is claimed about what is recorded.
        f.reconnected = Some(false);
        f.recorded = None;
        let help = help_of(&f);
        assert!(help.contains("is not known"), "{help}");
        assert!(!help.contains("nothing of it stayed"), "{help}");
    }

    #[test]
    fn a_mysql_leftover_of_an_earlier_run_is_not_blamed_on_the_sql() {
        let m = migration("CREATE TABLE b (id INT);\nINSERT INTO b VALUES (1);");
        let mut f = MigrationFailure::blank(&m, Direction::Up, false);
        f.message = "Table 'b' already exists".into();
        f.statement = Some(1);
        f.line = Some(1);
        f.recorded = Some(false);
        let help = help_of(&f);
        assert!(
            help.contains("the database already holds what statement 1 creates"),
            "{help}"
        );
        assert!(
            help.contains("an earlier run of 2024-01-02-000000_credit that was stopped"),
            "{help}"
        );
        assert!(!help.contains("rolled back completely"), "{help}");
        // PostgreSQL (no statement numbers): the file rolled back whole, the SQL is at fault.
        f.statement = None;
        f.message = "relation \"b\" already exists".into();
        assert!(help_of(&f).contains("rolled back completely"));
    }

    #[test]
    fn a_permission_failure_names_the_privilege() {
        let m = migration("CREATE TABLE a (id INT);");
        let mut f = MigrationFailure::blank(&m, Direction::Up, false);
        f.message = "permission denied for schema public".into();
        f.recorded = Some(false);
        let help = help_of(&f);
        assert!(
            help.contains("have the CREATE (or USAGE) privilege on schema public granted"),
            "{help}"
        );
        assert!(!help.contains("fix up.sql"), "{help}");
    }

    #[test]
    fn a_partial_mysql_failure_lists_committed_and_not_committed_statements() {
        let up = "UPDATE acct SET balance = balance + 100;\nCREATE TABLE b (id INT PRIMARY KEY);\nINSERT INTO nope VALUES (1);\n";
        let m = migration(up);
        let mut f = MigrationFailure::blank(&m, Direction::Up, true);
        f.message = "Table 'd.nope' doesn't exist".into();
        f.statement = Some(3);
        f.line = Some(3);
        f.recorded = Some(false);
        f.partial_recorded = Some(true);
        f.commit_outcome =
            crate::lint::implicit_commit::after_failure(up, Backend::Mysql, true, 3, true);
        let help = help_of(&f);
        assert!(help.contains("committed, and in the database now: statement 1 (line 1) `UPDATE acct SET balance = balance + 100`, statement 2 (line 2) `CREATE TABLE b (id INT PRIMARY KEY)`"), "{help}");
        assert!(
            help.contains("not committed: statement 3 (line 3, failed)"),
            "{help}"
        );
        assert!(
            help.contains("`apply` refuses 2024-01-02-000000_credit while its up.sql is unchanged"),
            "{help}"
        );
        assert!(help.contains("VALUES ('20240102000000')"), "{help}");
        assert!(!help.contains("their DDL stays"), "{help}");
    }

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
