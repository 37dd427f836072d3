//! The locked migration runner that `apply`, `revert`, `redo` and `baseline` share.
//!
//! [`locked`] takes the set's migration lock, lets the caller read the database's state and
//! plan under it (so two deploys never plan the same migration), and releases the lock
//! afterwards, whatever happened. [`run_steps`] runs a plan through diesel's harness, one
//! migration at a time, keeps the interrupt handler informed of what is running, and tells a
//! [`Progress`] about each migration as it finishes. The first failure stops the run; it comes
//! back as a value with the finding that explains it.

use std::collections::BTreeSet;
use std::time::Duration;

use super::lock::MigrationLock;
use super::{harness, partial, with_conn, ConnectOptions, Connection, DbError};
use crate::backend::Backend;
use crate::database_url::DatabaseUrl;
use crate::diagnostic::{Diagnostic, Severity};
use crate::events::{Event, Progress};
use crate::failure::ends_transaction;
use crate::failure::{FailureContext, MigrationFailure, TablesLeft};
use crate::interrupt;
#[cfg(feature = "statements")]
use crate::lint::implicit_commit::after_failure;
use crate::migration::{Direction, Migration};

/// Which command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    /// `apply`: up.sql files, oldest first.
    Apply,
    /// `revert`: down.sql files, newest first.
    Revert,
    /// `redo`: down.sql files newest first, then the same up.sql files oldest first.
    Redo,
}

impl RunKind {
    /// The command's name.
    pub fn command(self) -> &'static str {
        match self {
            RunKind::Apply => "apply",
            RunKind::Revert => "revert",
            RunKind::Redo => "redo",
        }
    }

    fn mixed(self) -> bool {
        self != RunKind::Apply
    }
}

/// One migration to run, in one direction.
#[derive(Debug, Clone, Copy)]
pub struct Step<'a> {
    /// The migration.
    pub migration: &'a Migration,
    /// Which file.
    pub direction: Direction,
}

/// A step that ran.
#[derive(Debug, Clone)]
pub struct Done {
    /// diesel's version.
    pub version: String,
    /// The folder name.
    pub dir_name: String,
    /// Which file ran.
    pub direction: Direction,
    /// How long it took, recording its version included.
    pub took: Duration,
}

/// A step that failed.
#[derive(Debug, Clone)]
pub struct Failed {
    /// Its index in the plan.
    pub index: usize,
    /// What the database said.
    pub failure: MigrationFailure,
    /// The finding that explains it (already shown to the [`Progress`]).
    pub diagnostic: Diagnostic,
}

/// How a run ended.
#[derive(Debug, Clone, Default)]
pub struct RunOutcome {
    /// The steps that ran, in order.
    pub done: Vec<Done>,
    /// The step that stopped the run.
    pub failed: Option<Failed>,
    /// Files of the plan that hold no statement: when there is one, nothing ran (see
    /// [`refuse_empty`]).
    pub refused: Vec<Diagnostic>,
}

/// The lint rule (and finding code) of an up.sql that holds no statement.
pub const EMPTY_UP_SQL: &str = "empty-up-sql";
/// The lint rule (and finding code) of a down.sql that holds no statement.
pub const EMPTY_DOWN_SQL: &str = "empty-down-sql";

/// Without the `statements` feature no file runs statement by statement, so no failure names
/// a statement and there is nothing to read.
#[cfg(not(feature = "statements"))]
fn after_failure(
    _text: &str,
    _backend: Backend,
    _run_in_transaction: bool,
    _failed: usize,
    _failed_statement_ran: bool,
) -> Option<crate::failure::CommitOutcome> {
    None
}

/// Whether `text` holds no statement for `backend`: blank, or only comments and `;`. A file
/// the tokenizer cannot read holds something; the database decides about it.
#[cfg(feature = "statements")]
pub fn holds_no_statement(text: &str, backend: Backend) -> bool {
    crate::sql::split(text, backend).is_ok_and(|split| split.statements.is_empty())
}

/// Whether `text` holds no statement for `backend`, without the tokenizer (the `statements`
/// feature): only whitespace, `;` and comments.
#[cfg(not(feature = "statements"))]
pub fn holds_no_statement(text: &str, backend: Backend) -> bool {
    only_comments(text, backend)
}

/// Whether `text` is only whitespace, `;` and comments: `-- …` (on MySQL/MariaDB only with
/// whitespace after the dashes, as the server reads it), `# …` on MySQL/MariaDB, and `/* … */`
/// (nested on PostgreSQL). Anything else, and a comment that is never closed, is something the
/// database decides about.
#[cfg(any(test, not(feature = "statements")))]
fn only_comments(text: &str, backend: Backend) -> bool {
    let b = text.as_bytes();
    let lex = backend.lexicon();
    let line_end = |from: usize| {
        b[from..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(b.len(), |n| from + n + 1)
    };
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let next = b.get(i + 1).copied();
        if c.is_ascii_whitespace() || c == b';' {
            i += 1;
        } else if (c == b'-'
            && next == Some(b'-')
            && (!lex.dash_comment_needs_space
                || b.get(i + 2).is_some_and(|c| c.is_ascii_whitespace())))
            || (c == b'#' && lex.hash_comments)
        {
            i = line_end(i);
        } else if c == b'/' && next == Some(b'*') {
            let nested = lex.nested_block_comments;
            let mut depth = 1;
            i += 2;
            while depth > 0 {
                match (b.get(i), b.get(i + 1)) {
                    (Some(b'*'), Some(b'/')) => {
                        depth -= 1;
                        i += 2;
                    }
                    (Some(b'/'), Some(b'*')) if nested => {
                        depth += 1;
                        i += 2;
                    }
                    (Some(_), _) => i += 1,
                    (None, _) => return false,
                }
            }
        } else {
            return false;
        }
    }
    true
}

/// One finding for every file of the plan that holds no statement. Diesel would run such a
/// file as it is: SQLite runs nothing and records the migration as applied (or, for a down.sql,
/// as reverted) while nothing changed; PostgreSQL and MySQL reject the empty query. Either way
/// the plan is refused before its first migration runs.
pub fn refuse_empty(set: &str, backend: Backend, steps: &[Step<'_>]) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = Vec::new();
    for step in steps {
        let m = step.migration;
        let file = m.dir.join(step.direction.file_name());
        let text = match step.direction {
            Direction::Up => m.up_sql.as_str(),
            Direction::Down => m.down_sql.as_deref().unwrap_or_default(),
        };
        if !holds_no_statement(text, backend) || out.iter().any(|d| d.file.as_ref() == Some(&file))
        {
            continue;
        }
        // No statement, but more than whitespace and `;`: comments, which MySQL accepts.
        let comments = text.chars().any(|c| !c.is_whitespace() && c != ';');
        let recorded = match step.direction {
            Direction::Up => "diesel would record the migration as applied while nothing ran",
            Direction::Down => {
                "diesel would record the migration as reverted while its changes stay"
            }
        };
        let outcome = backend.statementless_outcome(comments, recorded);
        let file_name = step.direction.file_name();
        let message = format!(
            "{}: {file_name} holds no statement (it is blank or only comments): {outcome}; cargo migrate refuses to run it",
            m.dir_name,
        );
        let (rule, help) = match step.direction {
            Direction::Up => (
                EMPTY_UP_SQL,
                "write the migration's SQL in up.sql, or delete the folder if the migration is not needed (a migration that deliberately does nothing can say so in a comment above `SELECT 1;`)",
            ),
            Direction::Down => (
                EMPTY_DOWN_SQL,
                "write the SQL that undoes up.sql in down.sql; a migration that cannot be undone can say so with a statement that fails, with a comment saying why",
            ),
        };
        out.push(
            Diagnostic::lint(rule, Severity::Error, message)
                .with_set(set)
                .with_file(file)
                .with_help(help),
        );
    }
    out
}

/// Take the migration lock on `conn`, run `f` under it, release it.
pub fn locked<T>(
    conn: &mut Connection,
    url: &DatabaseUrl,
    timeout: Duration,
    progress: &dyn Progress,
    f: impl FnOnce(&mut Connection) -> T,
) -> Result<T, DbError> {
    let lock =
        MigrationLock::acquire(conn, url, timeout, || progress.event(Event::WaitingForLock))?;
    let out = f(conn);
    interrupt::clear();
    lock.release(conn);
    Ok(out)
}

fn label(kind: RunKind, step: &Step<'_>) -> String {
    match kind {
        RunKind::Apply => step.migration.dir_name.clone(),
        RunKind::Revert | RunKind::Redo => format!(
            "{} ({})",
            step.migration.dir_name,
            step.direction.file_name()
        ),
    }
}

#[derive(diesel::QueryableByName)]
struct TableRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

impl Connection {
    /// The tables of the database (its current schema, the tool's own left out); `None` when
    /// they cannot be read.
    pub fn table_names(&mut self) -> Option<BTreeSet<String>> {
        table_names(self)
    }
}

/// The tables of the database (its current schema), to tell afterwards what a migration that
/// ended diesel's transaction itself left behind. `None` when they cannot be read.
fn table_names(conn: &mut Connection) -> Option<BTreeSet<String>> {
    use diesel::RunQueryDsl;
    let sql = super::own_tables(conn.backend()).table_names;
    let q = diesel::sql_query(sql);
    let rows: Vec<TableRow> = with_conn!(conn, c => q.load(c)).ok()?;
    Some(
        rows.into_iter()
            .map(|r| r.name)
            .filter(|n| n != partial::TABLE)
            .collect(),
    )
}

/// Run `steps` of set `set` (whose `init_sql` the interrupt handler's own connection runs
/// too) in order, stopping at the first failure. Call it under [`locked`]. A plan with a file that holds no statement runs nothing (see
/// [`refuse_empty`]). After a failure the database's versions are read again, so that what
/// the finding says about the failed migration is what the database records.
pub fn run_steps(
    conn: &mut Connection,
    url: &DatabaseUrl,
    set: &str,
    init_sql: &crate::init_sql::InitSql,
    kind: RunKind,
    steps: &[Step<'_>],
    progress: &dyn Progress,
) -> RunOutcome {
    let refused = refuse_empty(set, conn.backend(), steps);
    if !refused.is_empty() {
        return RunOutcome {
            refused,
            ..RunOutcome::default()
        };
    }
    // Nothing to run: nothing to tell the interrupt handler, no marks or checksums to touch.
    if steps.is_empty() {
        return RunOutcome::default();
    }
    let session = conn
        .session_id()
        .map(|id| (url.clone(), conn.backend(), id));
    interrupt::begin(interrupt::Progress {
        command: kind.command(),
        set: set.to_string(),
        session,
        partial_possible: conn.may_be_partial(true, None),
        steps: steps.iter().map(|s| label(kind, s)).collect(),
        target: Some((url.clone(), conn.backend())),
        init_sql: init_sql.clone(),
        effects: steps
            .iter()
            .map(|s| (s.migration.version.clone(), s.direction == Direction::Up))
            .collect(),
        running: None,
        done: 0,
        texts: if steps
            .iter()
            .any(|s| conn.runs_statement_by_statement(s.migration.run_in_transaction))
        {
            steps
                .iter()
                .map(|s| {
                    let text = match s.direction {
                        Direction::Up => s.migration.up_sql.clone(),
                        Direction::Down => s.migration.down_sql.clone().unwrap_or_default(),
                    };
                    (text, s.migration.run_in_transaction)
                })
                .collect()
        } else {
            Vec::new()
        },
        statement: None,
    });
    let mut outcome = RunOutcome::default();
    // Checksums of what ran, written together after the loop (one commit, not two per
    // migration): a run cut short by a kill leaves its migrations unverified, never wrong.
    let mut sums: Vec<(String, Option<String>)> = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let m = step.migration;
        let text = match step.direction {
            Direction::Up => m.up_sql.as_str(),
            Direction::Down => m.down_sql.as_deref().unwrap_or_default(),
        };
        let ends = m
            .run_in_transaction
            .then(|| ends_transaction(text, conn.backend()))
            .flatten();
        // What a failure may leave behind is read from the database, not assumed: its tables
        // before the migration runs, where statements can stay committed.
        let tables_before = (ends.is_some()
            || conn.runs_statement_by_statement(m.run_in_transaction))
        .then(|| table_names(conn))
        .flatten();
        interrupt::step(Some(i), false);
        let result = harness::run(conn, m, step.direction, url);
        interrupt::step(None, result.is_ok());
        match result {
            Ok(took) => {
                // The migration really ran now: an earlier partial run is no longer a reason
                // to stop (an earlier mark and checksum are replaced after the loop).
                sums.push((
                    m.version.clone(),
                    matches!(step.direction, Direction::Up).then(|| m.checksum()),
                ));
                let _ = conn.clear_partial(&m.version, step.direction);
                progress.event(Event::Ran {
                    dir_name: &m.dir_name,
                    direction: step.direction,
                    took,
                    mixed: kind.mixed(),
                });
                outcome.done.push(Done {
                    version: m.version.clone(),
                    dir_name: m.dir_name.clone(),
                    direction: step.direction,
                    took,
                });
            }
            Err(mut failure) => {
                // A failure caused by the interrupt handler ending the session is reported
                // by the handler, which exits.
                interrupt::yield_to_handler();
                let cause = crate::cause::classify(&failure.message);
                failure.cause = cause.code();
                if cause == crate::cause::Cause::ConnectionLost {
                    // Whatever the old session did, a new one reads what the database holds.
                    let backend = conn.backend();
                    // A restarting server is given a few seconds to come back.
                    let wait = ConnectOptions {
                        wait: Some(Duration::from_secs(5)),
                        ..ConnectOptions::default()
                    };
                    match Connection::establish_for_set(url, backend, wait, init_sql, || {}) {
                        Ok(fresh) => {
                            *conn = fresh;
                            failure.reconnected = Some(true);
                        }
                        Err(_) => failure.reconnected = Some(false),
                    }
                }
                failure.recorded = if failure.reconnected == Some(false) {
                    None
                } else {
                    conn.applied_versions(url)
                        .ok()
                        .map(|versions| versions.contains(&m.version))
                };
                if let (true, Some(n)) = (
                    conn.runs_statement_by_statement(m.run_in_transaction),
                    failure.statement,
                ) {
                    // A statement the server could not parse never ran, so it committed nothing.
                    let ran = cause != crate::cause::Cause::Syntax;
                    if let Some(outcome) =
                        after_failure(text, conn.backend(), m.run_in_transaction, n, ran)
                    {
                        let mut not = outcome.rolled_back.clone();
                        not.extend(outcome.failed.iter().cloned());
                        not.extend(outcome.not_run.iter().cloned());
                        not.sort_by_key(|s| s.statement);
                        failure.committed_statements = Some(outcome.committed.clone());
                        failure.not_committed_statements = Some(not);
                        // The step's own bookkeeping did not happen: an up.sql not recorded, a
                        // down.sql whose version is still recorded.
                        let unfinished = match step.direction {
                            Direction::Up => failure.recorded == Some(false),
                            Direction::Down => failure.recorded == Some(true),
                        };
                        if !outcome.committed.is_empty() && unfinished {
                            let numbers: Vec<usize> =
                                outcome.committed.iter().map(|s| s.statement).collect();
                            failure.partial_recorded = Some(
                                conn.record_partial(
                                    set,
                                    &m.version,
                                    step.direction,
                                    &partial::sql_hash(text),
                                    &numbers,
                                )
                                .is_ok(),
                            );
                        }
                        failure.commit_outcome = Some(outcome);
                    }
                }
                failure.ends_transaction = ends;
                if let (Some(before), Some(after)) = (tables_before, table_names(conn)) {
                    failure.tables_left = Some(TablesLeft {
                        created: after.difference(&before).cloned().collect(),
                        dropped: before.difference(&after).cloned().collect(),
                    });
                }
                let cx = match (kind, step.direction) {
                    (RunKind::Apply, _) => FailureContext::Run { earlier: i },
                    (RunKind::Redo, Direction::Up) => FailureContext::RedoReapply,
                    (RunKind::Revert | RunKind::Redo, _) => FailureContext::Run { earlier: 0 },
                };
                let diagnostic = failure.diagnostic(set, Some(m), cx);
                progress.event(Event::Failed {
                    dir_name: &m.dir_name,
                    diagnostic: &diagnostic,
                    mixed: kind.mixed(),
                });
                outcome.failed = Some(Failed {
                    index: i,
                    failure: *failure,
                    diagnostic,
                });
                break;
            }
        }
    }
    // What ran really ran: marks of it no longer describe it.
    let ran: Vec<&str> = sums.iter().map(|(v, _)| v.as_str()).collect();
    super::marks::forget(conn, &ran);
    super::checksums::record_all(conn, &sums);
    outcome
}

#[cfg(all(test, feature = "statements"))]
mod tests {
    use super::*;

    /// The comment rules used without the tokenizer give the tokenizer's answer.
    #[test]
    fn only_comments_agrees_with_the_tokenizer() {
        let texts = [
            "",
            "  \n\t;;\n",
            "-- nothing yet\n",
            "-- nothing\n;\n/* later */\n",
            "/* outer /* inner */ still a comment */",
            "/* never closed",
            "# a MySQL comment\n",
            "--no space\n",
            "SELECT 1;",
            "-- a comment\nCREATE TABLE t (id INT);",
            "/* a */ SELECT 1 /* b */;",
            ";-- x\n; # y",
            "--",
            "-- é\n",
        ];
        for backend in [Backend::Sqlite, Backend::Postgres, Backend::Mysql] {
            for text in texts {
                assert_eq!(
                    only_comments(text, backend),
                    holds_no_statement(text, backend),
                    "{backend:?}: {text:?}"
                );
            }
        }
    }
}
