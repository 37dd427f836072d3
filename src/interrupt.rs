//! Ctrl-C and SIGTERM while migrations run.
//!
//! A deploy that is stopped half-way must leave the database as it was before the running
//! migration, must not leave the migration lock held, and must say what was applied and what
//! was not. While `apply`, `revert` or `redo` run, the command keeps a [`Progress`] here; the
//! signal handler (a thread of its own) then:
//! 1. ends the database session that runs the migration, from a second connection
//!    (`pg_terminate_backend` on PostgreSQL, `KILL` on MySQL): the server rolls back the open
//!    transaction and releases the session's advisory lock at once, instead of finishing a long
//!    statement first. SQLite runs inside this process: leaving the transaction uncommitted is
//!    enough, the rollback journal undoes it at the next open and the lock file is released by
//!    the operating system;
//! 2. prints what was applied and what was not (a JSON document under `--format json`);
//! 3. exits with 130.
//!
//! Scratch databases still alive (see `db::scratch`) are dropped first. Outside a migration run
//! the handler then just exits with 130.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::backend::Backend;
use crate::database_url::DatabaseUrl;
use crate::db::{ConnectOptions, Connection};
use crate::settings::Format;

/// What is running right now.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub command: &'static str,
    pub format: Option<Format>,
    pub set: String,
    /// The running session, to end it from outside.
    pub session: Option<(DatabaseUrl, Backend, i64)>,
    /// The migration running now (folder name).
    pub running: Option<String>,
    /// Done in this run, in order.
    pub done: Vec<String>,
    /// Still to do after the running one.
    pub remaining: Vec<String>,
}

static PROGRESS: Mutex<Option<Progress>> = Mutex::new(None);

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Whether a signal arrived. Ending the running session makes the running migration fail; the
/// command must then leave the report to the handler instead of calling it a failed migration.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Called by a command whose migration failed: if that failure is the handler ending the
/// session, wait for the handler to finish and exit with 130 (this never returns then).
pub fn yield_to_handler() {
    if interrupted() {
        loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
}

/// Install the handler once per process. Errors (another handler) are ignored: the default
/// behaviour, ending the process, still leaves the database consistent.
pub fn install() {
    let _ = ctrlc::set_handler(on_signal);
}

/// Update what is running.
pub fn update(f: impl FnOnce(&mut Progress)) {
    if let Ok(mut guard) = PROGRESS.lock() {
        let p = guard.get_or_insert_with(Progress::default);
        f(p);
    }
}

/// Nothing is running any more.
pub fn clear() {
    if let Ok(mut guard) = PROGRESS.lock() {
        *guard = None;
    }
}

/// The id the server knows this connection's session by.
pub fn session_id(conn: &mut Connection) -> Option<i64> {
    let sql = match conn.backend() {
        Backend::Postgres => "SELECT pg_backend_pid()::bigint AS n",
        Backend::Mysql => "SELECT CAST(CONNECTION_ID() AS SIGNED) AS n",
        Backend::Sqlite => return None,
    };
    conn.count(sql).ok()
}

fn end_session(url: &DatabaseUrl, backend: Backend, id: i64) {
    let Ok(mut conn) = Connection::establish(url, backend, ConnectOptions::default()) else {
        return;
    };
    let sql = match backend {
        Backend::Postgres => format!("SELECT pg_terminate_backend({id})"),
        Backend::Mysql => format!("KILL {id}"),
        Backend::Sqlite => return,
    };
    let _ = conn.batch_execute(&sql);
}

fn on_signal() {
    INTERRUPTED.store(true, Ordering::SeqCst);
    crate::db::scratch::drop_all_live();
    let progress = PROGRESS.lock().ok().and_then(|g| g.clone());
    let Some(p) = progress else {
        eprintln!("interrupted");
        std::process::exit(130);
    };
    if let (Some((url, backend, id)), Some(_)) = (&p.session, &p.running) {
        end_session(url, *backend, *id);
    }
    let running = p.running.clone();
    if p.format == Some(Format::Json) {
        let doc = serde_json::json!({
            "command": p.command,
            "ok": false,
            "interrupted": true,
            "set": p.set,
            "done": p.done,
            "rolled_back": running,
            "not_run": p.remaining,
        });
        let mut out = std::io::stdout().lock();
        let _ = serde_json::to_writer_pretty(&mut out, &doc);
        let _ = writeln!(out);
    }
    let mut msg = format!("interrupted: set `{}`", p.set);
    if let Some(r) = &running {
        msg.push_str(&format!(": {r} was stopped and rolled back"));
        if matches!(p.session, Some((_, Backend::Mysql, _))) {
            msg.push_str(" (MySQL commits DDL statements one by one: statements of it that ran before the stop may remain)");
        }
    }
    msg.push_str(&format!(
        "\n  done before the stop: {}\n  not run: {}",
        if p.done.is_empty() {
            "none".to_string()
        } else {
            p.done.join(", ")
        },
        if p.remaining.is_empty() && running.is_none() {
            "none".to_string()
        } else {
            running
                .iter()
                .chain(p.remaining.iter())
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        }
    ));
    msg.push_str(&format!(
        "\nhelp: {}",
        match p.command {
            "apply" => "run `cargo migrate apply` again to continue",
            _ => "`cargo migrate status` shows where the database stands; run the command again to continue",
        }
    ));
    eprintln!("{msg}");
    std::process::exit(130);
}
