//! Database connections: the only part of the crate that talks to a database.
//!
//! One [`Connection`] enum covers the three backends: diesel's own `SqliteConnection` and
//! `PgConnection` (libsqlite3 and libpq are bundled), and MySQL/MariaDB through diesel-async's
//! `AsyncConnectionWrapper` over the pure-Rust mysql_async client, so no libmysqlclient is
//! needed. Migrations run through diesel_migrations' harness with our own `Migration` impl
//! ([`harness`]), which keeps the failing file and the database's error as typed values, and
//! versions are recorded in diesel's `__diesel_schema_migrations` table, so diesel_cli and this
//! tool can take turns on one database.

pub mod harness;
pub mod history;
pub mod introspect;
pub mod lock;
pub mod scratch;

use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Text};
use diesel::{Connection as _, QueryableByName, RunQueryDsl};
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::AsyncMysqlConnection;

use crate::backend::Backend;
use crate::database_url::{redact_text, DatabaseUrl};

/// MySQL/MariaDB through the pure-Rust client.
pub type MysqlConnection = AsyncConnectionWrapper<AsyncMysqlConnection>;

/// A live connection to one of the three backends.
pub enum Connection {
    Sqlite(diesel::SqliteConnection),
    Postgres(diesel::PgConnection),
    Mysql(MysqlConnection),
}

/// Run the same expression on whichever connection is inside.
#[macro_export]
#[doc(hidden)]
macro_rules! with_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::db::Connection::Sqlite($c) => $body,
            $crate::db::Connection::Postgres($c) => $body,
            $crate::db::Connection::Mysql($c) => $body,
        }
    };
}

/// What went wrong talking to a database (not a failing migration: see [`harness`]).
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("the database URL {url} has the scheme `{scheme}`, which is not a database this tool speaks\nhelp: use a `postgres://`, `mysql://` (or `mariadb://`) or `sqlite://` URL, or a path to a SQLite file")]
    UnknownScheme { url: DatabaseUrl, scheme: String },
    #[error("cannot connect to {url}: {message}")]
    Connect { url: DatabaseUrl, message: String },
    #[error("the SQLite database `{path}` does not exist")]
    SqliteMissing { path: PathBuf },
    #[error("{what} failed on {url}: {message}")]
    Query {
        what: String,
        url: DatabaseUrl,
        message: String,
    },
    #[error("{0}")]
    Config(String),
    #[error("gave up after {seconds} s waiting for the migration lock on {url}: another `cargo migrate` (or deploy) is applying migrations\nhelp: wait for it to finish, or pass a longer --lock-timeout")]
    LockTimeout { url: DatabaseUrl, seconds: u64 },
}

/// Fold a multi-line driver message into one line, with any password removed.
pub fn one_line(message: &str, url: &DatabaseUrl) -> String {
    let redacted = redact_text(message, url);
    redacted
        .split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether a connection error means the server is not (yet) accepting connections, as opposed
/// to one that waiting cannot fix (authentication, a missing database, a bad URL).
pub fn is_transient(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "connection refused",
        "could not connect",
        "can't connect",
        "no such file or directory",
        "timed out",
        "timeout",
        "the database system is starting up",
        "the database system is shutting down",
        "network is unreachable",
        "connection reset",
        "broken pipe",
        "server closed the connection",
        "no route to host",
        "temporary failure in name resolution",
        "is the server running",
    ]
    .iter()
    .any(|needle| m.contains(needle))
}

/// The filesystem path of a SQLite URL (`None` for in-memory databases and `file:` URIs).
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    // `file:` URIs: the path is what comes before the query (`file::memory:` is in memory).
    let path = match path.strip_prefix("file:") {
        Some(uri) => uri
            .split(['?', '#'])
            .next()
            .unwrap_or_default()
            .trim_start_matches("//"),
        None => path,
    };
    if path == ":memory:" || path.is_empty() {
        None
    } else {
        Some(PathBuf::from(path))
    }
}

/// mysql_async only accepts `mysql://`; diesel users also write `mariadb://`.
fn mysql_url(url: &str) -> String {
    if let Some(rest) = url.strip_prefix("mariadb://") {
        format!("mysql://{rest}")
    } else {
        url.to_string()
    }
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct VersionRow {
    #[diesel(sql_type = Text)]
    version: String,
}

/// How a connection is opened.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConnectOptions {
    /// For SQLite: create the file when it does not exist (only `apply` does).
    pub create_sqlite: bool,
    /// Retry the connection until it succeeds or this much time has passed.
    pub wait: Option<Duration>,
}

impl Connection {
    /// Connect to `url`, whose backend is `backend`.
    pub fn establish(
        url: &DatabaseUrl,
        backend: Backend,
        opts: ConnectOptions,
    ) -> Result<Connection, DbError> {
        Self::establish_waiting(url, backend, opts, || {})
    }

    /// Like [`Connection::establish`]; with `opts.wait`, errors that mean "not up yet" (refused,
    /// unreachable, starting up) are retried until the time is over, and `on_wait` is called
    /// once when the first attempt fails. Errors that waiting cannot fix (a wrong password, a
    /// missing database) are returned at once.
    pub fn establish_waiting(
        url: &DatabaseUrl,
        backend: Backend,
        opts: ConnectOptions,
        mut on_wait: impl FnMut(),
    ) -> Result<Connection, DbError> {
        let start = std::time::Instant::now();
        let mut waited = false;
        loop {
            match Self::establish_once(url, backend, opts) {
                Err(DbError::Connect { message, .. })
                    if opts.wait.is_some_and(|w| start.elapsed() < w) && is_transient(&message) =>
                {
                    if !waited {
                        on_wait();
                        waited = true;
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
                Err(DbError::Connect { url, message }) if waited => {
                    return Err(DbError::Connect {
                        url,
                        message: format!(
                            "{message} (gave up after waiting {} s)",
                            start.elapsed().as_secs()
                        ),
                    })
                }
                other => return other,
            }
        }
    }

    fn establish_once(
        url: &DatabaseUrl,
        backend: Backend,
        opts: ConnectOptions,
    ) -> Result<Connection, DbError> {
        let raw = url.expose();
        let connect_err = |e: diesel::ConnectionError| DbError::Connect {
            url: url.clone(),
            message: one_line(&e.to_string(), url),
        };
        match backend {
            Backend::Sqlite => {
                if let Some(path) = sqlite_path(raw) {
                    if !opts.create_sqlite && !path.exists() {
                        return Err(DbError::SqliteMissing { path });
                    }
                }
                // `sqlite://x.db` and `sqlite:x.db` name the file `x.db`; `file:` URIs and
                // `:memory:` go to SQLite as written.
                let target = match raw
                    .strip_prefix("sqlite://")
                    .or_else(|| raw.strip_prefix("sqlite:"))
                {
                    Some(rest) => rest,
                    None => raw,
                };
                let mut conn = diesel::SqliteConnection::establish(target).map_err(connect_err)?;
                // Wait for other writers instead of failing with SQLITE_BUSY, and behave as
                // diesel_cli does with the system SQLite: foreign keys are not enforced
                // unless a migration turns them on (the bundled SQLite defaults to on).
                conn.batch_execute("PRAGMA busy_timeout = 30000; PRAGMA foreign_keys = OFF;")
                    .map_err(|e| DbError::Connect {
                        url: url.clone(),
                        message: one_line(&e.to_string(), url),
                    })?;
                Ok(Connection::Sqlite(conn))
            }
            Backend::Postgres => {
                let mut conn = diesel::PgConnection::establish(raw).map_err(connect_err)?;
                // PostgreSQL 14+: notice a vanished client (a killed deploy) within a second even
                // during a long statement, so its transaction and advisory lock end at once.
                // Older servers do not know the setting; that error is ignored.
                let _ = conn.batch_execute("SET client_connection_check_interval = 1000");
                Ok(Connection::Postgres(conn))
            }
            Backend::Mysql => Ok(Connection::Mysql(
                MysqlConnection::establish(&mysql_url(raw)).map_err(connect_err)?,
            )),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Connection::Sqlite(_) => Backend::Sqlite,
            Connection::Postgres(_) => Backend::Postgres,
            Connection::Mysql(_) => Backend::Mysql,
        }
    }

    /// Run SQL text (one or more statements) as one batch.
    pub fn batch_execute(&mut self, sql: &str) -> diesel::QueryResult<()> {
        with_conn!(self, c => c.batch_execute(sql))
    }

    /// Run a query returning one `BIGINT` column named `n`.
    pub fn count(&mut self, sql: &str) -> diesel::QueryResult<i64> {
        let q = diesel::sql_query(sql);
        let rows: Vec<CountRow> = with_conn!(self, c => q.load(c))?;
        Ok(rows.first().map(|r| r.n).unwrap_or(0))
    }

    /// Whether diesel's `__diesel_schema_migrations` table exists (without creating it).
    pub fn has_migrations_table(&mut self) -> diesel::QueryResult<bool> {
        let sql = match self.backend() {
            Backend::Sqlite => "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '__diesel_schema_migrations'",
            Backend::Postgres => "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_name = '__diesel_schema_migrations' AND table_schema = ANY(current_schemas(false))",
            Backend::Mysql => "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '__diesel_schema_migrations'",
        };
        Ok(self.count(sql)? > 0)
    }

    /// The versions recorded as applied, ascending; empty when the table does not exist.
    /// Reads only: the table is never created here, so `status` and `--dry-run` change nothing.
    pub fn applied_versions(&mut self) -> diesel::QueryResult<Vec<String>> {
        if !self.has_migrations_table()? {
            return Ok(Vec::new());
        }
        let q = diesel::sql_query(
            "SELECT version AS version FROM __diesel_schema_migrations ORDER BY version",
        );
        let rows: Vec<VersionRow> = with_conn!(self, c => q.load(c))?;
        Ok(rows.into_iter().map(|r| r.version).collect())
    }

    /// Create `__diesel_schema_migrations` exactly as diesel does, if it is missing.
    pub fn ensure_migrations_table(&mut self) -> diesel::QueryResult<()> {
        use diesel::migration::MigrationConnection;
        with_conn!(self, c => c.setup().map(|_| ()))
    }
}

/// Where a relative SQLite path is resolved: against `base` (the package folder).
pub fn resolve_sqlite_url(url: &DatabaseUrl, base: &Path) -> DatabaseUrl {
    let raw = url.expose();
    match sqlite_path(raw) {
        Some(path) if path.is_relative() => {
            DatabaseUrl::new(base.join(path).to_string_lossy().into_owned())
        }
        _ => url.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths() {
        assert_eq!(
            sqlite_path("sqlite://dev.db"),
            Some(PathBuf::from("dev.db"))
        );
        assert_eq!(sqlite_path("/tmp/x.db"), Some(PathBuf::from("/tmp/x.db")));
        assert_eq!(sqlite_path(":memory:"), None);
        assert_eq!(
            sqlite_path("file:x.db?mode=ro"),
            Some(PathBuf::from("x.db"))
        );
        assert_eq!(sqlite_path("file::memory:?cache=shared"), None);
        assert_eq!(sqlite_path("sqlite:rel.db"), Some(PathBuf::from("rel.db")));
    }

    #[test]
    fn only_unreachable_servers_are_waited_for() {
        assert!(is_transient("connection to server at \"127.0.0.1\", port 5432 failed: Connection refused Is the server running on that host"));
        assert!(is_transient("FATAL: the database system is starting up"));
        assert!(!is_transient(
            "FATAL: password authentication failed for user \"app\""
        ));
        assert!(!is_transient("FATAL: database \"nope\" does not exist"));
        assert!(!is_transient(
            "Access denied for user 'root'@'localhost' (using password: YES)"
        ));
    }

    #[test]
    fn mariadb_scheme_becomes_mysql() {
        assert_eq!(mysql_url("mariadb://root@h/db"), "mysql://root@h/db");
        assert_eq!(mysql_url("mysql://root@h/db"), "mysql://root@h/db");
    }

    #[test]
    fn messages_fold_to_one_line_without_password() {
        let url = DatabaseUrl::new("postgres://u:topsecret@h/db");
        let msg = "connection failed\n  FATAL: password authentication failed (topsecret)\n";
        assert_eq!(
            one_line(msg, &url),
            "connection failed FATAL: password authentication failed (***)"
        );
    }

    #[test]
    fn sqlite_roundtrip_in_memory() {
        let url = DatabaseUrl::new(":memory:");
        let mut conn =
            Connection::establish(&url, Backend::Sqlite, ConnectOptions::default()).unwrap();
        assert!(conn.applied_versions().unwrap().is_empty());
        assert!(!conn.has_migrations_table().unwrap());
        conn.ensure_migrations_table().unwrap();
        conn.batch_execute("INSERT INTO __diesel_schema_migrations (version) VALUES ('2'), ('1')")
            .unwrap();
        assert_eq!(conn.applied_versions().unwrap(), ["1", "2"]);
    }
}
