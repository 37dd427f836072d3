//! SQLite: everything the tool does differently on SQLite, outside introspection.
//!
//! SQLite runs inside this process. There is no server to create scratch databases on (a
//! replay runs in memory), no session another process could end (leaving the transaction
//! uncommitted is enough: the journal undoes it at the next open), and no advisory lock: the
//! migration lock is an exclusive lock on a file next to the database (see [`lock_file_for`]).

// Without the `sqlite` feature only what needs no driver stays: the SQL text and the rules.
#![cfg_attr(not(feature = "sqlite"), allow(unused_imports, dead_code))]

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use diesel::connection::SimpleConnection;
use diesel::Connection as _;
#[cfg(feature = "cli")]
use diesel::{
    sql_types::{Nullable, Text},
    QueryableByName, RunQueryDsl,
};

use super::{one_line, ConnectOptions, DbError};
use crate::database_url::{canonical_path, sqlite_open_target, sqlite_path, DatabaseUrl};
#[cfg(feature = "cli")]
use crate::generate::HistoryFacts;

/// Counts diesel's versions table.
pub const MIGRATIONS_TABLE_EXISTS: &str = "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '__diesel_schema_migrations'";

/// A migration in diesel's transaction runs as one batch (it rolls back whole); one without
/// runs statement by statement, since each statement commits on its own and a failure must
/// say which ones did.
pub fn runs_statement_by_statement(run_in_transaction: bool) -> bool {
    !run_in_transaction
}

/// A migration in diesel's transaction rolls back completely; without one, SQLite runs the
/// file's statements one by one in autocommit, so earlier ones stay.
pub fn may_be_partial(run_in_transaction: bool, _statement: Option<usize>) -> bool {
    !run_in_transaction
}

/// Open a SQLite database. `sqlite:x.db` names the file `x.db`; `file:` URIs, and
/// `sqlite://` ones, which diesel opens as `file:` URIs, go to SQLite with all their
/// parameters (`?mode=ro`); `:memory:` is in memory.
#[cfg(feature = "sqlite")]
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
    let target = sqlite_open_target(raw);
    let connect_err = |message: String| DbError::Connect {
        url: url.clone(),
        message: one_line(&message, url),
    };
    let mut conn =
        diesel::SqliteConnection::establish(&target).map_err(|e| connect_err(e.to_string()))?;
    // Wait for other writers instead of failing with SQLITE_BUSY, and behave as diesel_cli
    // does with the system SQLite: foreign keys are not enforced unless a migration turns them
    // on (the bundled SQLite defaults to on).
    conn.batch_execute("PRAGMA busy_timeout = 30000; PRAGMA foreign_keys = OFF;")
        .map_err(|e| connect_err(e.to_string()))?;
    Ok(conn)
}

/// The file of the connection's main database (`:memory:` for an in-memory or temporary one),
/// to name an application's own connection and to find its migration lock file.
#[cfg(feature = "sqlite")]
pub fn session_label(conn: &mut diesel::SqliteConnection) -> diesel::QueryResult<String> {
    use diesel::RunQueryDsl;
    let rows: Vec<super::NameRow> =
        diesel::sql_query("SELECT file AS name FROM pragma_database_list WHERE name = 'main'")
            .load(conn)?;
    Ok(rows
        .into_iter()
        .next()
        .map(|r| r.name)
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| ":memory:".into()))
}

/// SQLite sessions live in this process; there is nothing to end from outside.
pub fn session_id() -> Option<i64> {
    None
}

/// The file whose exclusive lock is the migration lock of the database at `url`:
/// `<database file>.cargo-migrate.lock`, next to the database's real file (symbolic links
/// resolved), so every process that reaches the same database file, by whatever path, URL
/// spelling, temporary folder or container, meets the same lock. `None` for an in-memory
/// database, which belongs to this process alone.
pub fn lock_file_for(url: &DatabaseUrl) -> Option<PathBuf> {
    let path = sqlite_path(url.expose())?;
    let real = canonical_path(&path);
    let mut name = real.file_name()?.to_os_string();
    name.push(".cargo-migrate.lock");
    Some(real.with_file_name(name))
}

/// For the length of a locked run (apply, revert, redo…), keep the rollback journal file
/// between commits (`journal_mode = PERSIST`: a commit invalidates the journal's header
/// instead of deleting the file). Each migration still commits durably in its own
/// transaction, and a run killed half-way is rolled back from the journal by the next
/// connection as before; what goes is deleting and recreating a file, with the directory
/// sync, at every commit: on 100 databases of 20 small migrations, 2.2–3.0 s down to 1.5 s.
/// Only a database in SQLite's default mode, `delete`, is switched: `wal` is stored in the
/// database file and is the application's choice, as are the others; a rollback journal's
/// mode is not stored at all, so other connections are unaffected. [`restore_journal`]
/// switches back at the end of the run, which removes the journal file (after a killed run it
/// stays, invalidated, until the next commit in `delete` mode removes it). `true` if switched.
#[cfg(feature = "sqlite")]
pub fn persist_journal(conn: &mut diesel::SqliteConnection) -> bool {
    journal_mode(conn).as_deref() == Some("delete")
        && conn.batch_execute("PRAGMA journal_mode = PERSIST").is_ok()
        && journal_mode(conn).as_deref() == Some("persist")
}

/// The connection's journal mode, lower case.
#[cfg(feature = "sqlite")]
fn journal_mode(conn: &mut diesel::SqliteConnection) -> Option<String> {
    use diesel::RunQueryDsl;
    let rows: Vec<super::NameRow> =
        diesel::sql_query("SELECT journal_mode AS name FROM pragma_journal_mode")
            .load(conn)
            .ok()?;
    rows.into_iter().next().map(|r| r.name.to_ascii_lowercase())
}

/// Undo [`persist_journal`]: back to `delete`, which removes the journal file.
#[cfg(feature = "sqlite")]
pub fn restore_journal(conn: &mut diesel::SqliteConnection) {
    let _ = conn.batch_execute("PRAGMA journal_mode = DELETE");
}

/// Open (creating it if needed) the lock file at `path`.
///
/// A new lock file gets the database file's permission bits, so every account that may use
/// the database may open it. An existing one is opened for reading: an exclusive file lock
/// needs no write access, so a lock file created by another account (whatever its umask) locks
/// out nobody who can read it. Lock files are never deleted: removing one while another
/// process waits on it would let two processes hold "the" lock at once.
pub fn open_lock_file(path: &Path) -> std::io::Result<File> {
    match OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(file) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let database = path
                    .to_string_lossy()
                    .strip_suffix(".cargo-migrate.lock")
                    .map(PathBuf::from);
                if let Some(meta) = database.and_then(|d| std::fs::metadata(d).ok()) {
                    let mode = (meta.permissions().mode() & 0o666) | 0o444;
                    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
                }
            }
            Ok(file)
        }
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            OpenOptions::new().read(true).open(path)
        }
        Err(err) => Err(err),
    }
}

#[cfg(feature = "cli")]
#[derive(QueryableByName)]
struct ObjectRow {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    table: String,
    #[diesel(sql_type = Nullable<Text>)]
    sql: Option<String>,
}

#[cfg(feature = "cli")]
/// The `CREATE` statements of every table and of the objects on it (indexes, triggers), which
/// a table rebuild must recreate.
#[cfg(feature = "sqlite")]
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

/// The tool's own tables on SQLite (see [`super::OwnTables`]); a database is a file, so there
/// is no list of databases.
pub const OWN_TABLES: super::OwnTables = super::OwnTables {
    marks_exists: "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '__cargo_migrate_marks'",
    marks_create: "CREATE TABLE IF NOT EXISTS __cargo_migrate_marks (version TEXT NOT NULL, action TEXT NOT NULL, note TEXT NOT NULL, marked_at TEXT NOT NULL)",
    marks_insert: "INSERT INTO __cargo_migrate_marks (version, action, note, marked_at) VALUES (?, ?, ?, ?)",
    marks_delete: "DELETE FROM __cargo_migrate_marks WHERE version = ?",
    marks_select: "SELECT version, action, note, marked_at FROM __cargo_migrate_marks ORDER BY marked_at, version",
    versions_delete: "DELETE FROM __diesel_schema_migrations WHERE version = ?",
    checksums_exists: "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '__cargo_migrate_checksums'",
    checksums_create: "CREATE TABLE IF NOT EXISTS __cargo_migrate_checksums (version TEXT PRIMARY KEY, checksum TEXT NOT NULL)",
    checksums_delete: "DELETE FROM __cargo_migrate_checksums WHERE version = ?",
    checksums_insert: "INSERT INTO __cargo_migrate_checksums (version, checksum) VALUES (?, ?)",
    checksums_select: "SELECT version, checksum FROM __cargo_migrate_checksums",
    databases: "",
    quote: |name| format!("\"{}\"", name.replace('"', "\"\"")),
    read_only: READ_ONLY,
    table_names: "SELECT name AS name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    #[cfg(feature = "cli")]
    scratch: None,
    partial: Some(super::partial::PartialSql {
        exists: "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '__cargo_migrate_partial'",
        create: "CREATE TABLE IF NOT EXISTS __cargo_migrate_partial (version TEXT NOT NULL, direction TEXT NOT NULL, set_name TEXT NOT NULL, sql_sha256 TEXT NOT NULL, committed_statements TEXT NOT NULL, recorded_at TEXT NOT NULL, PRIMARY KEY (version, direction))",
        replace: "INSERT OR REPLACE INTO __cargo_migrate_partial (version, direction, set_name, sql_sha256, committed_statements, recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
        select: "SELECT version, direction, set_name, sql_sha256, committed_statements, recorded_at FROM __cargo_migrate_partial ORDER BY version",
        delete: "DELETE FROM __cargo_migrate_partial WHERE version = ? AND direction = ?",
    }),
};

/// What makes a connection read only before a configured query runs, and what ends that
/// (`targets-query`): SQLite refuses every write on a `query_only` connection.
pub const READ_ONLY: (&str, &str) = ("PRAGMA query_only = ON", "");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_lock_file_per_database_file_however_it_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real dir");
        std::fs::create_dir_all(&real).unwrap();
        let db = real.join("app.db");
        std::fs::write(&db, b"").unwrap();
        let link = tmp.path().join("link");
        #[cfg(unix)]
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let expected = db
            .canonicalize()
            .unwrap()
            .with_file_name("app.db.cargo-migrate.lock");
        let plain = db.display().to_string();
        let mut spellings = vec![
            plain.clone(),
            format!("sqlite://{plain}"),
            format!("sqlite:{plain}"),
            format!("file:{}?mode=rwc", plain.replace(' ', "%20")),
        ];
        if cfg!(unix) {
            spellings.push(link.join("app.db").display().to_string());
            spellings.push(format!("sqlite://{}", link.join("app.db").display()));
        }
        for url in spellings {
            assert_eq!(
                lock_file_for(&DatabaseUrl::new(&url)).as_deref(),
                Some(expected.as_path()),
                "{url}"
            );
        }
        for memory in [
            ":memory:",
            "file::memory:",
            "file:x?mode=memory&cache=shared",
            "sqlite://:memory:",
        ] {
            assert_eq!(lock_file_for(&DatabaseUrl::new(memory)), None, "{memory}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn lock_files_follow_the_database_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("shared.db");
        std::fs::write(&db, b"").unwrap();
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o664)).unwrap();
        let lock = lock_file_for(&DatabaseUrl::new(db.display().to_string())).unwrap();
        let first = open_lock_file(&lock).unwrap();
        let mode = std::fs::metadata(&lock).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o664);
        // A second opener, even one that could not write the file, gets a lockable handle.
        std::fs::set_permissions(&lock, std::fs::Permissions::from_mode(0o444)).unwrap();
        let second = open_lock_file(&lock).unwrap();
        first.try_lock().unwrap();
        assert!(matches!(
            second.try_lock(),
            Err(std::fs::TryLockError::WouldBlock)
        ));
        first.unlock().unwrap();
        second.try_lock().unwrap();
    }
}
