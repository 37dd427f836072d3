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
use std::sync::{Mutex, OnceLock};

use crate::backend::Backend;
use crate::database_url::DatabaseUrl;
use crate::db::{ConnectOptions, Connection};
use crate::output::Printer;
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
    /// The step running now.
    pub running: Option<usize>,
    /// How many steps are done.
    pub done: usize,
}

static PROGRESS: Mutex<Option<Progress>> = Mutex::new(None);

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

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
        }
    }
}

/// Nothing is running any more.
pub fn clear() {
    if let Ok(mut guard) = PROGRESS.lock() {
        *guard = None;
    }
}

fn end_session(url: &DatabaseUrl, backend: Backend, id: i64) {
    if let Ok(mut conn) = Connection::establish(url, backend, ConnectOptions::default()) {
        conn.end_session(id);
    }
}

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
    if let (Some((url, backend, id)), Some(_)) = (&p.session, p.running) {
        end_session(url, *backend, *id);
    }
    let after = p.running.map(|i| i + 1).unwrap_or(p.done);
    let report = InterruptedReport {
        command: p.command,
        ok: false,
        interrupted: true,
        set: p.set.clone(),
        done: p.steps.iter().take(p.done).cloned().collect(),
        rolled_back: p.running.and_then(|i| p.steps.get(i).cloned()),
        not_run: p.steps.iter().skip(after).cloned().collect(),
        partial_possible: p.partial_possible,
    };
    if let Some(printer) = printer {
        printer.report(&report);
    }
    std::process::exit(130);
}
