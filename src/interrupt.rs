//! Ctrl-C and SIGTERM while migrations run.
//!
//! A deploy that is stopped half-way must leave the database as it was before the running
//! migration, must not leave the migration lock held, and must say what was applied and what
//! was not. While a migration run is in progress, the runner ([`crate::db::run`]) keeps its
//! [`Progress`] here; the signal handler (a thread of its own) then:
//! 1. ends the database session that runs the migration, from a second connection: the server
//!    rolls back the open transaction and releases the session's lock at once, instead of
//!    finishing a long statement first. SQLite runs inside this process: leaving the
//!    transaction uncommitted is enough, the rollback journal undoes it at the next open and the
//!    lock file is released by the operating system;
//! 2. reports what was applied and what was not, through the printer;
//! 3. exits with 130.
//!
//! Scratch databases still alive (see `db::scratch`) are dropped first. Outside a migration run
//! the handler then just exits with 130.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
#[cfg(feature = "cli")]
use std::sync::OnceLock;

use crate::backend::Backend;
use crate::database_url::DatabaseUrl;
#[cfg(feature = "cli")]
use crate::db::{ConnectOptions, Connection};
#[cfg(feature = "cli")]
use crate::output::Printer;
#[cfg(feature = "cli")]
use crate::report::InterruptedReport;

/// What is running right now.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    /// The command (`apply`, `revert`, `redo`).
    pub command: &'static str,
    /// The set.
    pub set: String,
    /// The running session, to end it from outside.
    pub session: Option<(DatabaseUrl, Backend, i64)>,
    /// Whether a migration stopped half-way may leave statements committed.
    pub partial_possible: bool,
    /// Every step of the run, as labels, in order.
    pub steps: Vec<String>,
    /// The database the run migrates, to read back after the stop what the running step left.
    pub target: Option<(DatabaseUrl, Backend)>,
    /// The set's `init-sql`, run on the connection that reads the target back (a
    /// `search_path` decides which versions table it reads).
    pub init_sql: crate::init_sql::InitSql,
    /// Per step: its version, and whether it applies (`true`) or reverts it.
    pub effects: Vec<(String, bool)>,
    /// The step running now.
    pub running: Option<usize>,
    /// How many steps are done.
    pub done: usize,
    /// Per step, where statements can stay committed (MySQL/MariaDB): the text of the file it
    /// runs, and whether diesel runs it in a transaction. Empty elsewhere.
    pub texts: Vec<(String, bool)>,
    /// The statement (1-based) of the running step's file that is running now, when the file
    /// runs statement by statement.
    pub statement: Option<usize>,
}

static PROGRESS: Mutex<Option<Progress>> = Mutex::new(None);

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

#[cfg(feature = "cli")]
static PRINTER: OnceLock<&'static Printer> = OnceLock::new();

/// Whether a signal arrived. Ending the running session makes the running migration fail; the
/// command must then leave the report to the handler instead of calling it a failed migration.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Called by a runner whose migration failed: if that failure is the handler ending the
/// session, wait for the handler to finish and exit with 130 (this never returns then).
pub fn yield_to_handler() {
    if interrupted() {
        loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
}

#[cfg(feature = "cli")]
/// Install the handler once per process, reporting through `printer`. Errors (another
/// handler) are ignored: the default behaviour, ending the process, still leaves the database
/// consistent.
pub fn install(printer: &'static Printer) {
    let _ = PRINTER.set(printer);
    let _ = ctrlc::set_handler(on_signal);
}

/// A run begins.
pub fn begin(progress: Progress) {
    if let Ok(mut guard) = PROGRESS.lock() {
        *guard = Some(progress);
    }
}

/// Step `i` starts (`Some`), or the running one ended (`None`, with `finished` telling
/// whether it completed).
pub fn step(i: Option<usize>, finished: bool) {
    if let Ok(mut guard) = PROGRESS.lock() {
        if let Some(p) = guard.as_mut() {
            if i.is_none() && finished {
                p.done += 1;
            }
            p.running = i;
            p.statement = None;
        }
    }
}

/// Statement `n` (1-based) of the running step's file starts.
pub fn statement(n: usize) {
    if let Ok(mut guard) = PROGRESS.lock() {
        if let Some(p) = guard.as_mut() {
            p.statement = Some(n);
        }
    }
}

/// Nothing is running any more.
pub fn clear() {
    if let Ok(mut guard) = PROGRESS.lock() {
        *guard = None;
    }
}

#[cfg(feature = "cli")]
fn end_session(url: &DatabaseUrl, backend: Backend, id: i64) {
    if let Ok(mut conn) = Connection::establish(url, backend, ConnectOptions::default()) {
        conn.end_session(id);
    }
}

#[cfg(feature = "cli")]
/// Whether step `i` of `p` is in effect in the database (applied: its version recorded;
/// reverted: its version gone), read over a new connection; `None` when it cannot be read.
fn finished_in_database(p: &Progress, i: usize) -> Option<bool> {
    let (url, backend) = p.target.as_ref()?;
    let (version, up) = p.effects.get(i)?;
    let mut conn =
        Connection::establish_for_set(url, *backend, ConnectOptions::default(), &p.init_sql, || {})
            .ok()?;
    let applied = conn.applied_versions(url).ok()?;
    Some(applied.contains(version) == *up)
}

#[cfg(feature = "cli")]
fn on_signal() {
    INTERRUPTED.store(true, Ordering::SeqCst);
    crate::db::scratch::drop_all_live();
    let progress = PROGRESS.lock().ok().and_then(|g| g.clone());
    let printer = PRINTER.get().copied();
    let Some(p) = progress else {
        if let Some(printer) = printer {
            printer.stop_message("interrupted");
        }
        std::process::exit(130);
    };
    let mut p = p;
    if let (Some((url, backend, id)), Some(_)) = (&p.session, p.running) {
        end_session(url, *backend, *id);
    }
    settle(&mut p);
    let mut report = report_of(&p);
    record_partial(&p, &mut report);
    if let Some(printer) = printer {
        printer.report(&report);
    }
    std::process::exit(130);
}

#[cfg(feature = "cli")]
/// The running step may have committed just before its session ended: what the report says
/// about it is read from the database, not assumed.
fn settle(p: &mut Progress) {
    if let Some(i) = p.running {
        if finished_in_database(p, i) == Some(true) {
            p.done = i + 1;
            p.running = None;
        }
    }
}

#[cfg(feature = "cli")]
/// The running step was stopped at a known statement of a file whose statements can stay
/// committed (MySQL/MariaDB): say which did, and record them so that `apply` does not run
/// them a second time.
fn record_partial(p: &Progress, report: &mut InterruptedReport) {
    let (Some(i), Some(n)) = (p.running, p.statement) else {
        return;
    };
    let (Some((text, in_tx)), Some((version, up)), Some((url, backend))) =
        (p.texts.get(i), p.effects.get(i), p.target.as_ref())
    else {
        return;
    };
    let Some(outcome) =
        crate::lint::implicit_commit::after_failure(text, *backend, *in_tx, n, true)
    else {
        return;
    };
    report.stopped_at = outcome.failed.clone();
    if outcome.committed.is_empty() {
        return;
    }
    let numbers: Vec<usize> = outcome.committed.iter().map(|s| s.statement).collect();
    report.partial_recorded = Some(
        Connection::establish_for_set(url, *backend, ConnectOptions::default(), &p.init_sql, || {})
            .ok()
            .is_some_and(|mut conn| {
                conn.record_partial(
                    &p.set,
                    version,
                    if *up {
                        crate::migration::Direction::Up
                    } else {
                        crate::migration::Direction::Down
                    },
                    &crate::db::partial::sql_hash(text),
                    &numbers,
                )
                .is_ok()
            }),
    );
    report.committed_statements = outcome.committed;
    report.version = Some(version.clone());
}

#[cfg(feature = "cli")]
fn report_of(p: &Progress) -> InterruptedReport {
    let after = p.running.map(|i| i + 1).unwrap_or(p.done);
    InterruptedReport {
        command: p.command,
        ok: false,
        interrupted: true,
        set: p.set.clone(),
        done: p.steps.iter().take(p.done).cloned().collect(),
        rolled_back: p.running.and_then(|i| p.steps.get(i).cloned()),
        not_run: p.steps.iter().skip(after).cloned().collect(),
        partial_possible: p.partial_possible,
        committed_statements: Vec::new(),
        stopped_at: None,
        partial_recorded: None,
        version: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A step that committed before the stop is reported as done, from the database.
    #[test]
    fn the_report_reads_the_running_step_from_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.db");
        let url = DatabaseUrl::new(path.to_str().unwrap());
        let mut conn = Connection::establish(
            &url,
            Backend::Sqlite,
            ConnectOptions {
                create_sqlite: true,
                ..ConnectOptions::default()
            },
        )
        .unwrap();
        conn.batch_execute(
            "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP); INSERT INTO __diesel_schema_migrations (version) VALUES ('1');",
        )
        .unwrap();
        let progress = |running| Progress {
            command: "apply",
            set: "app".into(),
            session: None,
            partial_possible: false,
            steps: vec!["1_a".into(), "2_b".into()],
            target: Some((url.clone(), Backend::Sqlite)),
            init_sql: Default::default(),
            effects: vec![("1".into(), true), ("2".into(), true)],
            running: Some(running),
            done: running,
            texts: Vec::new(),
            statement: None,
        };
        // Step 1 ran to its commit: done, nothing rolled back.
        let mut p = progress(0);
        settle(&mut p);
        let r = report_of(&p);
        assert_eq!(r.done, vec!["1_a".to_string()]);
        assert_eq!(r.rolled_back, None);
        assert_eq!(r.not_run, vec!["2_b".to_string()]);
        // Step 2 did not: rolled back, as the database says.
        let mut p = progress(1);
        settle(&mut p);
        let r = report_of(&p);
        assert_eq!(r.rolled_back, Some("2_b".to_string()));
        // The connection that reads it back runs the set's init-sql first: when that fails,
        // nothing is read and nothing is claimed.
        let mut p = progress(0);
        p.init_sql.statements = vec!["SELECT no_such_function()".into()];
        assert_eq!(finished_in_database(&p, 0), None);
        p.init_sql.statements = vec!["CREATE TEMP TABLE t (x INTEGER)".into()];
        assert_eq!(finished_in_database(&p, 0), Some(true));
    }
}
