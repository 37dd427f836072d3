//! Database connections: the only part of the crate that talks to a database.
//!
//! One [`Connection`] enum covers the three backends: diesel's own `SqliteConnection` and
//! `PgConnection` (libsqlite3 and libpq are bundled), and MySQL/MariaDB through diesel-async's
//! `AsyncConnectionWrapper` over the pure-Rust mysql_async client, so no libmysqlclient is
//! needed. Migrations run through diesel_migrations' harness with our own `Migration` impl
//! ([`harness`]), and versions are recorded in diesel's `__diesel_schema_migrations` table, so
//! diesel_cli and this tool can take turns on one database.
//!
//! # One file per backend
//!
//! Everything that differs between backends, outside introspection, lives in one file each:
//! [`sqlite`], [`postgres`] and [`mysql`]. Each has the same set of functions, and this file
//! dispatches to them with exhaustive `match`es, so the compiler names every place a new
//! backend must fill in. A backend file provides:
//!
//! - `connect(url, opts)`: open a connection, with the session settings the tool relies on;
//! - `versions_table_access` / `versions_grant` (SQLite: `MIGRATIONS_TABLE_EXISTS`): whether
//!   diesel's versions table exists and what this role may do with it, by lookups that do not
//!   depend on privileges, and the grant that fixes a missing privilege;
//! - `try_lock` / `unlock`: the migration lock (see [`lock`]);
//! - `session_id` / `end_session`: how the interrupt handler ends a running migration;
//! - `admin_url`, `create_database`, `drop_database`, `SCRATCH_DATABASES`: scratch databases
//!   (see [`scratch`]);
//! - `runs_statement_by_statement` and `may_be_partial`: whether a migration file runs one
//!   statement at a time (so a failure can name its statement), and what of a failed migration
//!   may have stayed committed;
//! - `history_facts`: the catalog facts `generate --diff-schema` needs beyond the schema model.
//!
//! Introspection into the schema model is in [`introspect`], one file per backend as well, and
//! so is reading the whole catalog (every index, constraint, type, view, function, trigger…)
//! into [`crate::catalog::Catalog`], in [`catalog`].
//!
//! # Adding a backend
//!
//! Every `match` over [`Backend`] is exhaustive, so a new variant
//! makes the compiler name each place to fill in; nothing falls through to another backend's
//! path. What a backend *is* outside this folder (URL rules, the lexicon its statements are
//! split with, diesel's SQL types on it, the facts the lint and `generate` ask about) is in
//! `backend.rs`, one method per fact; what it *does* with a connection is in its own file here.
//! Measured by adding a dummy variant to `Backend` (2026-12-04, `cargo check --lib`): the
//! compiler points at `backend.rs` and this file only. A fourth backend therefore touches 6
//! source files: `backend.rs`; this file (its `Connection` variant, `with_conn!` and the
//! dispatch to its files, including [`own_tables`]); `lock.rs` (the variant of a held lock);
//! and three new ones, `db/<backend>.rs` (connect, lock, versions table, session kill,
//! scratch server, `OWN_TABLES`), `db/introspect/<backend>.rs` and `db/catalog/<backend>.rs`.
//! (Its driver is a dependency in `Cargo.toml`.) No code compares a backend with `==`.

// A build with fewer than the three backends (the embedded runner with some of the `sqlite`,
// `postgres` and `mysql` features) leaves matches with one arm, a catch-all that nothing
// reaches, or a variable only another backend's arm reads. The full build keeps every lint.
#![cfg_attr(
    not(all(feature = "sqlite", feature = "postgres", feature = "mysql")),
    allow(
        unreachable_patterns,
        unreachable_code,
        irrefutable_let_patterns,
        unused_variables,
        unused_imports,
        clippy::drop_non_drop
    )
)]

#[cfg(feature = "cli")]
pub mod catalog;
pub mod checksums;
pub mod engine;
pub mod harness;
#[cfg(feature = "cli")]
pub mod introspect;
#[cfg(feature = "cli")]
pub mod lifecycle;
pub mod lock;
pub mod marks;
pub mod mysql;
pub mod partial;
pub mod postgres;
pub mod rows;
pub mod run;
#[cfg(feature = "cli")]
pub mod scratch;
pub mod sqlite;
#[cfg(feature = "cli")]
pub mod states;

use std::path::PathBuf;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Text};
use diesel::{QueryableByName, RunQueryDsl};
#[cfg(feature = "mysql")]
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
#[cfg(feature = "mysql")]
use diesel_async::AsyncMysqlConnection;

use crate::backend::Backend;
use crate::database_url::{redact_text, DatabaseUrl};
#[cfg(feature = "cli")]
use crate::generate::HistoryFacts;
use crate::init_sql::InitSql;
#[cfg(feature = "cli")]
use crate::schema::{PrintSchemaOptions, Schema};

pub use crate::database_url::{resolve_sqlite_url, sqlite_path};

/// MySQL/MariaDB through the pure-Rust client.
#[cfg(feature = "mysql")]
pub type MysqlConnection = AsyncConnectionWrapper<AsyncMysqlConnection>;

/// A live connection to one of the three backends.
pub enum Connection {
    /// SQLite (bundled libsqlite3).
    #[cfg(feature = "sqlite")]
    Sqlite(diesel::SqliteConnection),
    /// PostgreSQL (bundled libpq).
    #[cfg(feature = "postgres")]
    Postgres(diesel::PgConnection),
    /// MySQL/MariaDB (mysql_async).
    #[cfg(feature = "mysql")]
    Mysql(MysqlConnection),
}

/// Run the same expression on whichever connection is inside.
macro_rules! with_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            #[cfg(feature = "sqlite")]
            $crate::db::Connection::Sqlite($c) => $body,
            #[cfg(feature = "postgres")]
            $crate::db::Connection::Postgres($c) => $body,
            #[cfg(feature = "mysql")]
            $crate::db::Connection::Mysql($c) => $body,
        }
    };
}
pub(crate) use with_conn;

/// The SQL of the tool's own tables (`__cargo_migrate_marks`, `__cargo_migrate_checksums`),
/// of listing databases and tables, and the scratch server, in one backend's dialect: each backend file defines one
/// (`OWN_TABLES`), so what a backend says is in its own file.
pub struct OwnTables {
    /// `n`: whether the marks table exists (without creating it).
    pub marks_exists: &'static str,
    pub marks_create: &'static str,
    /// Binds version, action, note, marked_at.
    pub marks_insert: &'static str,
    /// Binds version.
    pub marks_delete: &'static str,
    /// Columns version, action, note, marked_at, as text.
    pub marks_select: &'static str,
    /// Binds version: the row of diesel's versions table.
    pub versions_delete: &'static str,
    /// `n`: whether the checksums table exists.
    pub checksums_exists: &'static str,
    pub checksums_create: &'static str,
    /// Binds version.
    pub checksums_delete: &'static str,
    /// Binds version, checksum.
    pub checksums_insert: &'static str,
    /// Columns version, checksum, as text.
    pub checksums_select: &'static str,
    /// Column `name`: every database of the server (empty for a file database).
    pub databases: &'static str,
    /// Column `name`: every table of the connection's current schema.
    pub table_names: &'static str,
    /// What makes a connection read only before a configured query runs (`targets-query`),
    /// and what ends that (`""`: nothing).
    pub read_only: (&'static str, &'static str),
    /// How scratch databases are created and dropped (`None`: the history replays in memory).
    #[cfg(feature = "cli")]
    pub scratch: Option<&'static scratch::ScratchServer>,
    /// The records of partially applied migrations (`None`: a failed migration always rolls
    /// back whole), see [`partial`].
    pub partial: Option<partial::PartialSql>,
    /// A name as a quoted identifier.
    pub quote: fn(&str) -> String,
}

/// The [`OwnTables`] of a backend.
pub fn own_tables(backend: Backend) -> &'static OwnTables {
    match backend {
        Backend::Sqlite => &sqlite::OWN_TABLES,
        Backend::Postgres => &postgres::OWN_TABLES,
        Backend::Mysql => &mysql::OWN_TABLES,
    }
}

/// What went wrong talking to a database (not a failing migration: see [`harness`]).
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL's scheme is not a database this tool speaks.
    #[error("the database URL {url} has the scheme `{scheme}`, which is not a database this tool speaks\nhelp: use a `postgres://`, `mysql://` (or `mariadb://`) or `sqlite://` URL, or a path to a SQLite file")]
    UnknownScheme {
        /// The URL.
        url: DatabaseUrl,
        /// Its scheme.
        scheme: String,
    },
    /// This build of the library was made without the backend's feature.
    #[error("{url} is a {backend} database, and this build of cargo-migrate was made without {backend} support; nothing was run\nhelp: enable the library's `{backend}` feature (`cargo-migrate = {{ …, features = [\"{backend}\"] }}`)")]
    BackendNotBuilt {
        /// The URL.
        url: DatabaseUrl,
        /// Its backend.
        backend: Backend,
    },
    /// An application's connection handed to the runner is inside a transaction.
    #[error("the application's connection to {url} is inside a transaction; nothing was run\nhelp: migrations run there would commit only with that transaction, so none could be called applied; pass a connection outside any transaction (before `begin_test_transaction`, or a new one)")]
    InTransaction {
        /// The connection's label.
        url: DatabaseUrl,
    },
    /// An application's MySQL/MariaDB connection with no default database.
    #[error("the application's connection to {url} has no database selected; nothing was run\nhelp: connect with the database in the URL (`mysql://user@host/DATABASE`), or run `USE database` on the connection first")]
    NoDatabaseSelected {
        /// The connection's label.
        url: DatabaseUrl,
    },
    /// The connection could not be opened.
    #[error("cannot connect to {url}: {message}")]
    Connect {
        /// The URL.
        url: DatabaseUrl,
        /// What the driver said, without passwords.
        message: String,
    },
    /// A SQLite file that does not exist (and was not to be created).
    #[error("the SQLite database `{}` does not exist", path.display())]
    SqliteMissing {
        /// The file.
        path: PathBuf,
    },
    /// A query failed.
    #[error("{what} failed on {url}: {message}")]
    Query {
        /// What was being done.
        what: String,
        /// The database.
        url: DatabaseUrl,
        /// What the database said, without passwords.
        message: String,
    },
    /// Another process held the migration lock for too long.
    #[error("gave up after {seconds} s waiting for the migration lock on {url}: another `cargo migrate` (or deploy) is applying migrations\nhelp: wait for it to finish, or pass a longer --lock-timeout")]
    LockTimeout {
        /// The database.
        url: DatabaseUrl,
        /// How long it waited.
        seconds: u64,
    },
    /// The SQLite lock file could not be opened or locked.
    #[error("cannot take the migration lock of {url}: the lock file `{}` cannot be used: {message}\nhelp: the lock file sits next to the database; make it readable by every account that migrates this database (or delete it while no migration runs)", path.display())]
    LockFile {
        /// The database.
        url: DatabaseUrl,
        /// The lock file.
        path: PathBuf,
        /// What the operating system said.
        message: String,
    },
    /// The versions table exists (or, on MySQL, may exist) but this role lacks privileges on
    /// it: never taken for "nothing applied".
    #[error("the role {role} lacks {} on diesel's versions table `__diesel_schema_migrations` in {url}, so {}; nothing was changed\nhelp: have the table's owner (or an administrator) run `{grant}`, or connect as a role that has these privileges", privilege_list(lacking), what_is_blocked(lacking))]
    VersionsTableDenied {
        /// The database.
        url: DatabaseUrl,
        /// The role, as the server names it.
        role: String,
        /// The privileges it lacks.
        lacking: Vec<Privilege>,
        /// The statement that gives it what the tool needs.
        grant: String,
    },
    /// The versions table is missing and this role cannot create it.
    #[error("cannot create diesel's versions table `__diesel_schema_migrations` in {url}: {message}; nothing was changed\nhelp: create it once as a role that may (the first `cargo migrate apply` as the database's owner does), or give this role the privilege to create tables there")]
    VersionsTableCreate {
        /// The database.
        url: DatabaseUrl,
        /// What the database said, without passwords.
        message: String,
    },
    /// The server is a distributed engine the tool does not run migrations on.
    #[error("{url} is {} ({version}), which cargo migrate does not run migrations on: {}; nothing was changed\nhelp: see docs/scale.md for what each engine needs and how to migrate it today", engine.name(), engine.why())]
    UnsupportedEngine {
        url: DatabaseUrl,
        engine: engine::Engine,
        version: String,
    },
    /// A statement of a set's `init-sql` failed right after connecting: nothing else ran on
    /// that connection.
    #[error("init-sql statement {number} (`{statement}`), configured in {table} of `{}`, failed on {on}: {message}; nothing else ran\nhelp: fix or remove that statement of `init-sql`; it runs first on every connection cargo migrate opens for this set (apply, revert, redo, baseline, status, check and the scratch replay)", manifest.display())]
    InitSql {
        /// The database (its URL, or which scratch database).
        on: String,
        /// The manifest that configures it.
        manifest: PathBuf,
        /// The table it is in.
        table: &'static str,
        /// Which entry of `init-sql`, from 1.
        number: usize,
        /// The entry, shortened to one line.
        statement: String,
        /// What the database said, without passwords.
        message: String,
    },
    /// A server backend's replay without a server for scratch databases.
    #[error("a {backend} scratch database needs a server\nhelp: pass --scratch-url {scheme}://… or set MIGRATE_SCRATCH_URL, or give the set its database URL (its server is used)")]
    NoScratchServer {
        /// The backend.
        backend: Backend,
        /// The URL scheme to suggest.
        scheme: &'static str,
    },
    /// A scratch server URL that cannot be used to create databases.
    #[error("cannot use the scratch server URL {url}: {reason}")]
    ScratchUrl {
        /// The URL.
        url: DatabaseUrl,
        /// Why not.
        reason: String,
    },
}

impl DbError {
    /// A failed query on `url`, with the message folded to one line and passwords removed.
    pub fn query(
        what: impl Into<String>,
        url: &DatabaseUrl,
        err: &dyn std::fmt::Display,
    ) -> DbError {
        DbError::Query {
            what: what.into(),
            url: url.clone(),
            message: one_line(&err.to_string(), url),
        }
    }
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

/// A statement on one line, shortened for a message.
fn excerpt(statement: &str) -> String {
    let line = statement.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(60) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line,
    }
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

/// The length of the `version` column diesel creates (`VARCHAR(50)` on every backend).
pub const DIESEL_VERSION_LENGTH: usize = 50;

/// A privilege on diesel's versions table that a command needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privilege {
    /// Reading which migrations are applied (every command that looks at a database).
    Select,
    /// Recording applied migrations (`apply`, `redo`, `baseline`).
    Insert,
    /// Removing reverted migrations (`revert`, `redo`).
    Delete,
}

impl Privilege {
    /// The privilege's SQL name.
    pub fn sql(self) -> &'static str {
        match self {
            Privilege::Select => "SELECT",
            Privilege::Insert => "INSERT",
            Privilege::Delete => "DELETE",
        }
    }
}

/// What a session may do with the versions table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableAccess {
    /// The table does not exist.
    Missing,
    /// It exists and this role has every privilege asked for.
    Usable,
    /// This role lacks these privileges on it (on MySQL the table may also not exist: the
    /// server does not tell a role without privileges on a table whether it exists).
    Lacking(Vec<Privilege>),
}

/// The privileges the tool needs on the versions table, in the grant it suggests.
pub const VERSIONS_PRIVILEGES: [Privilege; 3] =
    [Privilege::Select, Privilege::Insert, Privilege::Delete];

fn what_is_blocked(lacking: &[Privilege]) -> &'static str {
    match lacking.first() {
        Some(Privilege::Insert) => "applied migrations cannot be recorded",
        Some(Privilege::Delete) => "reverted migrations cannot be removed from it",
        _ => "which migrations are applied cannot be read",
    }
}

fn privilege_list(lacking: &[Privilege]) -> String {
    lacking
        .iter()
        .map(|p| p.sql())
        .collect::<Vec<_>>()
        .join(", ")
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

    /// Open a connection for a migration set: [`Connection::establish_waiting`], then the
    /// set's `init-sql`, before anything else runs on it. Every connection to a set's database
    /// (its own, or a scratch database its history replays on) is opened here, so no command
    /// can skip the set's session SQL.
    pub fn establish_for_set(
        url: &DatabaseUrl,
        backend: Backend,
        opts: ConnectOptions,
        init_sql: &InitSql,
        on_wait: impl FnMut(),
    ) -> Result<Connection, DbError> {
        let mut conn = Self::establish_waiting(url, backend, opts, on_wait)?;
        conn.refuse_distributed_engine(url)?;
        conn.run_init_sql(url, init_sql)?;
        Ok(conn)
    }

    /// Take over a connection an application opened itself, for one set: the URL that names
    /// it in messages (read from the session: user, server, database; never a password; see
    /// [`DatabaseUrl::of_application_connection`]), after the checks and the set's `init-sql`
    /// that every connection of the tool gets. Refused while the connection is inside a
    /// transaction: migrations run there would commit only with the application's own
    /// transaction, so "applied" could not be said of them.
    pub fn adopt_application_connection(
        &mut self,
        init_sql: &InitSql,
    ) -> Result<DatabaseUrl, DbError> {
        fn depth<C: diesel::Connection>(c: &mut C) -> u32 {
            use diesel::connection::TransactionManager;
            C::TransactionManager::transaction_manager_status_mut(c)
                .transaction_depth()
                .map_or(1, |d| d.map_or(0, |d| d.get()))
        }
        let label = |e: diesel::result::Error| DbError::Query {
            what: "reading which database the application's connection is on".into(),
            url: DatabaseUrl::of_application_connection(UNLABELLED_APPLICATION_CONNECTION),
            message: e.to_string(),
        };
        let text = match self {
            #[cfg(feature = "sqlite")]
            Connection::Sqlite(c) => sqlite::session_label(c).map_err(label)?,
            #[cfg(feature = "postgres")]
            Connection::Postgres(c) => postgres::session_label(c).map_err(label)?,
            #[cfg(feature = "mysql")]
            Connection::Mysql(c) => mysql::session_label(c).map_err(label)?,
        };
        let url = DatabaseUrl::of_application_connection(text);
        if with_conn!(self, c => depth(c)) > 0 {
            return Err(DbError::InTransaction { url });
        }
        #[cfg(feature = "mysql")]
        if let Connection::Mysql(c) = self {
            if !mysql::has_current_database(c) {
                return Err(DbError::NoDatabaseSelected { url });
            }
        }
        self.refuse_distributed_engine(&url)?;
        self.run_init_sql(&url, init_sql)?;
        Ok(url)
    }

    /// Refuse a server whose version string names a distributed engine (see [`engine`]).
    fn refuse_distributed_engine(&mut self, url: &DatabaseUrl) -> Result<(), DbError> {
        use diesel::RunQueryDsl;
        let query = diesel::sql_query("SELECT version() AS version");
        let rows: Vec<ServerVersionRow> = match self {
            #[cfg(feature = "sqlite")]
            Connection::Sqlite(_) => return Ok(()),
            #[cfg(feature = "postgres")]
            Connection::Postgres(c) => query.load(c).unwrap_or_default(),
            #[cfg(feature = "mysql")]
            Connection::Mysql(c) => diesel::sql_query("SELECT CAST(VERSION() AS CHAR) AS version")
                .load(c)
                .unwrap_or_default(),
        };
        let Some(version) = rows.into_iter().next().map(|r| r.version) else {
            return Ok(());
        };
        match engine::detect(&version) {
            Some(engine) => Err(DbError::UnsupportedEngine {
                url: url.clone(),
                engine,
                version: version.chars().take(60).collect(),
            }),
            None => Ok(()),
        }
    }

    /// Run each entry of `init_sql` as one batch, in order; the first failure stops.
    fn run_init_sql(&mut self, url: &DatabaseUrl, init_sql: &InitSql) -> Result<(), DbError> {
        for (i, statement) in init_sql.statements.iter().enumerate() {
            self.batch_execute(statement)
                .map_err(|e| DbError::InitSql {
                    on: url.to_string(),
                    manifest: init_sql.manifest.clone(),
                    table: init_sql.table,
                    number: i + 1,
                    statement: excerpt(statement),
                    message: one_line(&e.to_string(), url),
                })?;
        }
        Ok(())
    }

    // `opts` is SQLite's alone.
    #[cfg_attr(not(feature = "sqlite"), allow(unused_variables))]
    fn establish_once(
        url: &DatabaseUrl,
        backend: Backend,
        opts: ConnectOptions,
    ) -> Result<Connection, DbError> {
        if url.is_application_connection() {
            return Err(DbError::Connect {
                url: url.clone(),
                message: "this is the application's own connection, which only the application can open again".into(),
            });
        }
        match backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => sqlite::connect(url, opts).map(Connection::Sqlite),
            #[cfg(feature = "postgres")]
            Backend::Postgres => postgres::connect(url).map(Connection::Postgres),
            #[cfg(feature = "mysql")]
            Backend::Mysql => mysql::connect(url).map(Connection::Mysql),
            #[allow(unreachable_patterns)]
            backend => Err(DbError::BackendNotBuilt {
                url: url.clone(),
                backend,
            }),
        }
    }

    /// The backend of this connection.
    pub fn backend(&self) -> Backend {
        match self {
            #[cfg(feature = "sqlite")]
            Connection::Sqlite(_) => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            Connection::Postgres(_) => Backend::Postgres,
            #[cfg(feature = "mysql")]
            Connection::Mysql(_) => Backend::Mysql,
        }
    }

    /// Open a transaction through diesel's transaction manager, so that what runs inside it
    /// with diesel's own transactions (a migration through the harness) runs as savepoints.
    pub fn begin_transaction(&mut self) -> diesel::QueryResult<()> {
        fn begin<C: diesel::Connection>(c: &mut C) -> diesel::QueryResult<()> {
            <C::TransactionManager as diesel::connection::TransactionManager<C>>::begin_transaction(
                c,
            )
        }
        with_conn!(self, c => begin(c))
    }

    /// Roll back the transaction [`begin_transaction`](Self::begin_transaction) opened.
    pub fn rollback_transaction(&mut self) -> diesel::QueryResult<()> {
        fn rollback<C: diesel::Connection>(c: &mut C) -> diesel::QueryResult<()> {
            <C::TransactionManager as diesel::connection::TransactionManager<C>>::rollback_transaction(c)
        }
        with_conn!(self, c => rollback(c))
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

    /// Whether diesel's `__diesel_schema_migrations` table exists (without creating it), by a
    /// lookup that does not depend on this role's privileges on it.
    pub fn has_migrations_table(&mut self) -> diesel::QueryResult<bool> {
        Ok(!matches!(
            self.versions_table_access(&[])?,
            TableAccess::Missing
        ))
    }

    /// What this session may do with the versions table, for the privileges in `needs`.
    fn versions_table_access(&mut self, needs: &[Privilege]) -> diesel::QueryResult<TableAccess> {
        match self {
            #[cfg(feature = "sqlite")]
            Connection::Sqlite(_) => {
                let exists = self.count(sqlite::MIGRATIONS_TABLE_EXISTS)? > 0;
                Ok(if exists {
                    TableAccess::Usable
                } else {
                    TableAccess::Missing
                })
            }
            #[cfg(feature = "postgres")]
            Connection::Postgres(c) => postgres::versions_table_access(c, needs),
            #[cfg(feature = "mysql")]
            Connection::Mysql(c) => mysql::versions_table_access(c, needs),
        }
    }

    /// Whether the versions table exists, after making sure this role has the privileges in
    /// `needs` on it. A table this role cannot use is a [`DbError::VersionsTableDenied`]
    /// naming the grant, never taken for a missing one (catalog views such as
    /// `information_schema.tables` hide tables a role has no privilege on).
    pub fn versions_table(
        &mut self,
        url: &DatabaseUrl,
        needs: &[Privilege],
    ) -> Result<bool, DbError> {
        let what = "looking up __diesel_schema_migrations";
        match self
            .versions_table_access(needs)
            .map_err(|e| DbError::query(what, url, &e))?
        {
            TableAccess::Missing => Ok(false),
            TableAccess::Usable => Ok(true),
            TableAccess::Lacking(lacking) => {
                let grant: Option<diesel::QueryResult<(String, String)>> = match self {
                    #[cfg(feature = "sqlite")]
                    Connection::Sqlite(_) => None,
                    #[cfg(feature = "postgres")]
                    Connection::Postgres(c) => Some(postgres::versions_grant(c)),
                    #[cfg(feature = "mysql")]
                    Connection::Mysql(c) => Some(mysql::versions_grant(c)),
                };
                let (role, grant) = grant
                    .transpose()
                    .map_err(|e| DbError::query(what, url, &e))?
                    .unwrap_or_default();
                Err(DbError::VersionsTableDenied {
                    url: url.clone(),
                    role,
                    lacking,
                    grant,
                })
            }
        }
    }

    /// The versions recorded as applied, ascending; empty when the table does not exist.
    /// Reads only: the table is never created here, so `status` and `--dry-run` change nothing.
    /// A table this role cannot read is an error, not an empty history.
    pub fn applied_versions(&mut self, url: &DatabaseUrl) -> Result<Vec<String>, DbError> {
        if !self.versions_table(url, &[Privilege::Select])? {
            return Ok(Vec::new());
        }
        self.recorded_versions(url)
    }

    /// The versions recorded as applied, ascending, from a versions table the caller has just
    /// found (with [`Connection::versions_table`] or [`Connection::prepare_versions_table`])
    /// to exist and to be readable by this role: one query, no second look-up.
    pub fn recorded_versions(&mut self, url: &DatabaseUrl) -> Result<Vec<String>, DbError> {
        let q = diesel::sql_query(
            "SELECT version AS version FROM __diesel_schema_migrations ORDER BY version",
        );
        let rows: Vec<VersionRow> = with_conn!(self, c => q.load(c))
            .map_err(|e| DbError::query("reading __diesel_schema_migrations", url, &e))?;
        Ok(rows.into_iter().map(|r| r.version).collect())
    }

    /// The longest version diesel's versions table holds, in characters: read from the
    /// table's `version` column when the table exists, otherwise diesel's own definition
    /// (`VARCHAR(50)`), which `apply` will create. `None` when there is no limit: SQLite does
    /// not enforce a `VARCHAR` length, and a `TEXT` column has none.
    pub fn version_limit(&mut self, url: &DatabaseUrl) -> Result<Option<usize>, DbError> {
        let sql = match self.backend() {
            Backend::Sqlite => return Ok(None),
            Backend::Postgres => postgres::VERSION_COLUMN_LENGTH,
            Backend::Mysql => mysql::VERSION_COLUMN_LENGTH,
        };
        let exists = self
            .has_migrations_table()
            .map_err(|e| DbError::query("looking up __diesel_schema_migrations", url, &e))?;
        self.version_limit_of(url, sql, exists)
    }

    /// [`Connection::version_limit`] when the caller knows whether the versions table exists.
    pub fn version_limit_known(
        &mut self,
        url: &DatabaseUrl,
        exists: bool,
    ) -> Result<Option<usize>, DbError> {
        let sql = match self.backend() {
            Backend::Sqlite => return Ok(None),
            Backend::Postgres => postgres::VERSION_COLUMN_LENGTH,
            Backend::Mysql => mysql::VERSION_COLUMN_LENGTH,
        };
        self.version_limit_of(url, sql, exists)
    }

    fn version_limit_of(
        &mut self,
        url: &DatabaseUrl,
        sql: &str,
        exists: bool,
    ) -> Result<Option<usize>, DbError> {
        if !exists {
            return Ok(Some(DIESEL_VERSION_LENGTH));
        }
        let q = diesel::sql_query(sql);
        let rows: Vec<CountRow> = with_conn!(self, c => q.load(c)).map_err(|e| {
            DbError::query(
                "reading the type of __diesel_schema_migrations.version",
                url,
                &e,
            )
        })?;
        Ok(rows
            .first()
            .and_then(|r| usize::try_from(r.n).ok())
            .filter(|n| *n > 0))
    }

    /// Make sure the versions table exists and that this role has the privileges in `needs`
    /// on it, before anything runs: an existing table is checked, never re-created (on MySQL
    /// `CREATE TABLE IF NOT EXISTS` needs the CREATE privilege even when the table exists);
    /// a missing one is created as diesel does.
    pub fn prepare_versions_table(
        &mut self,
        url: &DatabaseUrl,
        needs: &[Privilege],
    ) -> Result<(), DbError> {
        if self.versions_table(url, needs)? {
            return Ok(());
        }
        self.ensure_migrations_table()
            .map_err(|e| DbError::VersionsTableCreate {
                url: url.clone(),
                message: one_line(&e.to_string(), url),
            })
    }

    /// Create `__diesel_schema_migrations` exactly as diesel does, if it is missing.
    pub fn ensure_migrations_table(&mut self) -> diesel::QueryResult<()> {
        use diesel::migration::MigrationConnection;
        with_conn!(self, c => c.setup().map(|_| ()))
    }

    /// Record versions as applied without running anything (`baseline`). Versions are letters
    /// and digits only (checked when the folder was read), so they are written inline.
    pub fn record_versions(&mut self, versions: &[&str]) -> diesel::QueryResult<()> {
        if versions.is_empty() {
            return Ok(());
        }
        self.ensure_migrations_table()?;
        let values: Vec<String> = versions.iter().map(|v| format!("('{v}')")).collect();
        self.batch_execute(&format!(
            "INSERT INTO __diesel_schema_migrations (version) VALUES {}",
            values.join(", ")
        ))?;
        // Recorded as applied now: a record of an earlier partial run no longer stops `apply`.
        for v in versions {
            self.clear_partial(v, crate::migration::Direction::Up)?;
        }
        Ok(())
    }

    /// The id the server knows this connection's session by (`None` for SQLite, which runs
    /// inside this process).
    pub fn session_id(&mut self) -> Option<i64> {
        match self {
            #[cfg(feature = "sqlite")]
            Connection::Sqlite(_) => sqlite::session_id(),
            #[cfg(feature = "postgres")]
            Connection::Postgres(_) => self.count(postgres::SESSION_ID).ok(),
            #[cfg(feature = "mysql")]
            Connection::Mysql(_) => self.count(mysql::SESSION_ID).ok(),
        }
    }

    /// End another session of this server (its open transaction is rolled back).
    pub fn end_session(&mut self, id: i64) {
        let sql: String = match self {
            #[cfg(feature = "sqlite")]
            Connection::Sqlite(_) => return,
            #[cfg(feature = "postgres")]
            Connection::Postgres(_) => postgres::end_session_sql(id),
            #[cfg(feature = "mysql")]
            Connection::Mysql(_) => mysql::end_session_sql(id),
        };
        let _ = self.batch_execute(&sql);
    }

    #[cfg(feature = "cli")]
    /// Read a schema into the model, as `diesel print-schema` would with `opts`.
    pub fn introspect(
        &mut self,
        opts: &PrintSchemaOptions,
    ) -> Result<Schema, introspect::IntrospectError> {
        match self {
            #[cfg(feature = "sqlite")]
            Connection::Sqlite(c) => introspect::sqlite(c, opts),
            #[cfg(feature = "postgres")]
            Connection::Postgres(c) => introspect::postgres(c, opts),
            #[cfg(feature = "mysql")]
            Connection::Mysql(c) => introspect::mysql(c, opts),
        }
    }

    #[cfg(feature = "cli")]
    /// Read the whole catalog (every object a migration can create), for drift beyond what
    /// `table!` shows.
    pub fn catalog(&mut self) -> Result<crate::catalog::Catalog, catalog::CatalogError> {
        match self {
            #[cfg(feature = "sqlite")]
            Connection::Sqlite(c) => catalog::sqlite(c),
            #[cfg(feature = "postgres")]
            Connection::Postgres(c) => catalog::postgres(c),
            #[cfg(feature = "mysql")]
            Connection::Mysql(c) => catalog::mysql(c),
        }
    }

    #[cfg(feature = "cli")]
    /// What `generate --diff-schema` needs to know about a replayed history beyond the model.
    pub fn history_facts(&mut self, url: &DatabaseUrl) -> Result<HistoryFacts, DbError> {
        let facts = match self {
            #[cfg(feature = "sqlite")]
            Connection::Sqlite(c) => sqlite::history_facts(c),
            #[cfg(feature = "postgres")]
            Connection::Postgres(c) => postgres::history_facts(c),
            #[cfg(feature = "mysql")]
            Connection::Mysql(c) => mysql::history_facts(c),
        };
        facts.map_err(|e| DbError::query("reading the replayed catalog", url, &e))
    }

    /// Whether statements of a failed migration before the failing one (statement `statement`
    /// of its file, when known) may have stayed committed.
    pub fn may_be_partial(&self, run_in_transaction: bool, statement: Option<usize>) -> bool {
        match self {
            #[cfg(feature = "sqlite")]
            Connection::Sqlite(_) => sqlite::may_be_partial(run_in_transaction, statement),
            #[cfg(feature = "postgres")]
            Connection::Postgres(_) => postgres::may_be_partial(run_in_transaction, statement),
            #[cfg(feature = "mysql")]
            Connection::Mysql(_) => mysql::may_be_partial(run_in_transaction, statement),
        }
    }

    /// Whether a migration file on this connection runs statement by statement, given
    /// whether diesel runs it in a transaction.
    pub fn runs_statement_by_statement(&self, run_in_transaction: bool) -> bool {
        match self {
            #[cfg(feature = "sqlite")]
            Connection::Sqlite(_) => sqlite::runs_statement_by_statement(run_in_transaction),
            #[cfg(feature = "postgres")]
            Connection::Postgres(_) => postgres::runs_statement_by_statement(run_in_transaction),
            #[cfg(feature = "mysql")]
            Connection::Mysql(_) => mysql::runs_statement_by_statement(run_in_transaction),
        }
    }
}

/// A row of one text column named `name`, for catalog queries.
#[derive(QueryableByName)]
pub(crate) struct NameRow {
    #[diesel(sql_type = Text)]
    pub(crate) name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn messages_fold_to_one_line_without_password() {
        let url = DatabaseUrl::new("postgres://u:topsecret@h/db");
        let msg = "connection failed\n  FATAL: password authentication failed (topsecret)\n";
        assert_eq!(
            one_line(msg, &url),
            "connection failed FATAL: password authentication failed (***)"
        );
    }

    #[test]
    fn init_sql_runs_first_and_its_failure_names_the_statement() {
        let url = DatabaseUrl::new(":memory:");
        let init = InitSql {
            statements: vec![
                "CREATE TEMP TABLE seen (n INTEGER); INSERT INTO seen VALUES (1)".into(),
                "INSERT INTO seen VALUES (2)".into(),
            ],
            manifest: PathBuf::from("/ws/app/Cargo.toml"),
            table: "[package.metadata.migrate]",
        };
        let mut conn = Connection::establish_for_set(
            &url,
            Backend::Sqlite,
            ConnectOptions::default(),
            &init,
            || {},
        )
        .unwrap();
        assert_eq!(conn.count("SELECT COUNT(*) AS n FROM seen").unwrap(), 2);
        let bad = InitSql {
            statements: vec!["SELECT 1".into(), "SET nothing   TO\n 1".into()],
            ..init
        };
        let err = Connection::establish_for_set(
            &url,
            Backend::Sqlite,
            ConnectOptions::default(),
            &bad,
            || {},
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            err.starts_with("init-sql statement 2 (`SET nothing TO 1`), configured in [package.metadata.migrate] of `/ws/app/Cargo.toml`, failed on :memory:: "),
            "{err}"
        );
        assert!(err.contains("syntax error"), "{err}");
        assert_eq!(excerpt(&"x".repeat(70)), format!("{}…", "x".repeat(60)));
    }

    #[test]
    fn sqlite_roundtrip_in_memory() {
        let url = DatabaseUrl::new(":memory:");
        let mut conn =
            Connection::establish(&url, Backend::Sqlite, ConnectOptions::default()).unwrap();
        assert!(conn.applied_versions(&url).unwrap().is_empty());
        assert!(!conn.has_migrations_table().unwrap());
        conn.ensure_migrations_table().unwrap();
        conn.record_versions(&["2", "1"]).unwrap();
        assert_eq!(conn.applied_versions(&url).unwrap(), ["1", "2"]);
    }
}

/// What a session says of itself, for [`DatabaseUrl::of_application_connection`].
#[cfg(any(feature = "postgres", feature = "mysql"))]
#[derive(QueryableByName)]
pub(crate) struct SessionRow {
    #[diesel(sql_type = Text)]
    pub(crate) user: String,
    #[diesel(sql_type = Text)]
    pub(crate) host: String,
    #[diesel(sql_type = BigInt)]
    pub(crate) port: i64,
    #[diesel(sql_type = Text)]
    pub(crate) database: String,
}

#[cfg(any(feature = "postgres", feature = "mysql"))]
impl SessionRow {
    /// `scheme://user@host:port/database`, each part percent-encoded where needed.
    pub(crate) fn label(&self, scheme: &str) -> String {
        let Ok(mut url) = url::Url::parse(&format!("{scheme}://localhost/")) else {
            return format!("{scheme}://(application connection)");
        };
        let _ = url.set_host(Some(&self.host));
        let _ = url.set_username(&self.user);
        let _ = url.set_port(u16::try_from(self.port).ok());
        url.set_path(&self.database);
        url.to_string()
    }
}

/// The label of an application's connection that could not tell where it is.
const UNLABELLED_APPLICATION_CONNECTION: &str = "(the application's connection)";

/// The server a connection talks to, for reports.
#[derive(diesel::QueryableByName)]
struct ServerVersionRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    version: String,
}

impl Connection {
    /// The server's product and version (`PostgreSQL 15.20`, `MariaDB 10.11.19`, `MySQL 8.0.36`,
    /// `SQLite 3.46.0`), read from the database; `None` when it cannot be read.
    pub fn server_version(&mut self) -> Option<String> {
        use diesel::RunQueryDsl;
        let (sql, product) = match self {
            #[cfg(feature = "sqlite")]
            Connection::Sqlite(_) => ("SELECT sqlite_version() AS version", "SQLite"),
            #[cfg(feature = "postgres")]
            Connection::Postgres(_) => ("SHOW server_version", "PostgreSQL"),
            #[cfg(feature = "mysql")]
            Connection::Mysql(_) => ("SELECT VERSION() AS version", "MySQL"),
        };
        #[cfg_attr(
            not(any(feature = "sqlite", feature = "mysql")),
            allow(unused_variables)
        )]
        let query = diesel::sql_query(sql);
        let rows: Vec<ServerVersionRow> = match self {
            #[cfg(feature = "sqlite")]
            Connection::Sqlite(c) => query.load(c).ok()?,
            #[cfg(feature = "postgres")]
            Connection::Postgres(c) => {
                // SHOW's column is named after the setting.
                diesel::sql_query("SELECT current_setting('server_version') AS version")
                    .load(c)
                    .ok()?
            }
            #[cfg(feature = "mysql")]
            Connection::Mysql(c) => query.load(c).ok()?,
        };
        let raw = rows.into_iter().next()?.version;
        // `15.20 (Debian 15.20-0+deb12u1)`, `10.11.19-MariaDB-0+deb12u1`, `8.0.36`.
        let number = raw.split([' ', '-']).next().unwrap_or(&raw).to_string();
        let product = if raw.to_ascii_lowercase().contains("mariadb") {
            "MariaDB"
        } else {
            product
        };
        Some(format!("{product} {number}"))
    }
}
