//! SQLite: everything the tool does differently on SQLite, outside introspection.
//!
//! SQLite runs inside this process. There is no server to create scratch databases on (a
//! replay runs in memory), no session another process could end (leaving the transaction
//! uncommitted is enough: the journal undoes it at the next open), and no advisory lock: the
//! migration lock is an exclusive lock on a file (see [`lock_file_for`]).

use std::path::PathBuf;

use diesel::connection::SimpleConnection;
use diesel::sql_types::{Nullable, Text};
use diesel::{Connection as _, QueryableByName, RunQueryDsl};

use super::{one_line, ConnectOptions, DbError};
use crate::database_url::{sqlite_path, DatabaseUrl};
use crate::generate::HistoryFacts;

/// Counts diesel's versions table.
pub const MIGRATIONS_TABLE_EXISTS: &str = "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '__diesel_schema_migrations'";

/// A migration file runs as one batch: the whole migration is one transaction.
pub const RUNS_STATEMENT_BY_STATEMENT: bool = false;

/// A migration in diesel's transaction rolls back completely; without one, SQLite runs the
/// file's statements one by one in autocommit, so earlier ones stay.
pub fn may_be_partial(run_in_transaction: bool, _statement: Option<usize>) -> bool {
    !run_in_transaction
}

/// Open a SQLite database. `sqlite://x.db` and `sqlite:x.db` name the file `x.db`; `file:`
/// URIs and `:memory:` go to SQLite as written.
pub fn connect(
    url: &DatabaseUrl,
    opts: ConnectOptions,
) -> Result<diesel::SqliteConnection, DbError> {
    let raw = url.expose();
    if let Some(path) = sqlite_path(raw) {
        if !opts.create_sqlite && !path.exists() {
            return Err(DbError::SqliteMissing { path });
        }
    }
    let target = raw
        .strip_prefix("sqlite://")
        .or_else(|| raw.strip_prefix("sqlite:"))
        .unwrap_or(raw);
    let connect_err = |message: String| DbError::Connect {
        url: url.clone(),
        message: one_line(&message, url),
    };
    let mut conn =
        diesel::SqliteConnection::establish(target).map_err(|e| connect_err(e.to_string()))?;
    // Wait for other writers instead of failing with SQLITE_BUSY, and behave as diesel_cli
    // does with the system SQLite: foreign keys are not enforced unless a migration turns them
    // on (the bundled SQLite defaults to on).
    conn.batch_execute("PRAGMA busy_timeout = 30000; PRAGMA foreign_keys = OFF;")
        .map_err(|e| connect_err(e.to_string()))?;
    Ok(conn)
}

/// SQLite sessions live in this process; there is nothing to end from outside.
pub fn session_id() -> Option<i64> {
    None
}

/// The file whose exclusive lock is the migration lock of the database at `url`: in
/// `<temp>/cargo-migrate-locks/`, named after a hash of the database file's canonical path, so
/// nothing is written next to the user's database. `None` for an in-memory database, which
/// belongs to this process alone.
pub fn lock_file_for(url: &DatabaseUrl) -> Option<PathBuf> {
    let path = sqlite_path(url.expose())?;
    let canonical = path.canonicalize().unwrap_or(path);
    // FNV-1a over the path: stable across runs and processes.
    let mut hash: u64 = 0xcbf29ce484222325;
    for b in canonical.to_string_lossy().as_bytes() {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x100000001b3);
    }
    // One small file per database path, in one folder. Lock files are never deleted: removing
    // one while another process waits on it would let two processes hold "the" lock at once.
    let dir = std::env::temp_dir().join("cargo-migrate-locks");
    let _ = std::fs::create_dir_all(&dir);
    Some(dir.join(format!("{hash:016x}.lock")))
}

#[derive(QueryableByName)]
struct ObjectRow {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    table: String,
    #[diesel(sql_type = Nullable<Text>)]
    sql: Option<String>,
}

/// The `CREATE` statements of every table and of the objects on it (indexes, triggers), which
/// a table rebuild must recreate.
pub fn history_facts(conn: &mut diesel::SqliteConnection) -> diesel::QueryResult<HistoryFacts> {
    let mut facts = HistoryFacts::default();
    let rows: Vec<ObjectRow> = diesel::sql_query(
        "SELECT type AS kind, tbl_name AS \"table\", sql AS sql FROM sqlite_master \
         WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite%' ORDER BY rowid",
    )
    .load(conn)?;
    for r in rows {
        let Some(sql) = r.sql else { continue };
        if r.kind == "table" {
            facts.table_sql.insert(r.table, sql);
        } else {
            facts.table_objects.entry(r.table).or_default().push(sql);
        }
    }
    Ok(facts)
}
