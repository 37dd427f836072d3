//! The locked migration runner that `apply`, `revert`, `redo` and `baseline` share.
//!
//! [`locked`] takes the set's migration lock, lets the caller read the database's state and
//! plan under it (so two deploys never plan the same migration), and releases the lock
//! afterwards, whatever happened. [`run_steps`] runs a plan through diesel's harness, one
//! migration at a time, keeps the interrupt handler informed of what is running, and tells a
//! [`Progress`] about each migration as it finishes. The first failure stops the run; it comes
//! back as a value with the finding that explains it.

use std::time::Duration;

use super::lock::MigrationLock;
use super::{harness, Connection, DbError};
use crate::database_url::DatabaseUrl;
use crate::diagnostic::Diagnostic;
use crate::events::{Event, Progress};
use crate::failure::{FailureContext, MigrationFailure};
use crate::interrupt;
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

/// Run `steps` of set `set` in order, stopping at the first failure. Call it under
/// [`locked`].
pub fn run_steps(
    conn: &mut Connection,
    url: &DatabaseUrl,
    set: &str,
    kind: RunKind,
    steps: &[Step<'_>],
    progress: &dyn Progress,
) -> RunOutcome {
    let session = conn
        .session_id()
        .map(|id| (url.clone(), conn.backend(), id));
    interrupt::begin(interrupt::Progress {
        command: kind.command(),
        set: set.to_string(),
        session,
        partial_possible: conn.may_be_partial(true, None),
        steps: steps.iter().map(|s| label(kind, s)).collect(),
        running: None,
        done: 0,
    });
    let mut outcome = RunOutcome::default();
    for (i, step) in steps.iter().enumerate() {
        let m = step.migration;
        interrupt::step(Some(i), false);
        let result = harness::run(conn, m, step.direction, url);
        interrupt::step(None, result.is_ok());
        match result {
            Ok(took) => {
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
            Err(failure) => {
                // A failure caused by the interrupt handler ending the session is reported
                // by the handler, which exits.
                interrupt::yield_to_handler();
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
    outcome
}
