//! PostgreSQL: everything the tool does differently on PostgreSQL, outside introspection.
//!
//! DDL is transactional, so a migration runs as one batch inside diesel's transaction and a
//! failure rolls all of it back. The migration lock is a session advisory lock (advisory locks
//! are per database, so sets on other databases never wait for each other); the interrupt
//! handler ends a running migration with `pg_terminate_backend` from a second connection.

// Without the `postgres` feature only what needs no driver stays: the SQL text and the rules.
#![cfg_attr(not(feature = "postgres"), allow(unused_imports, dead_code))]

use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Bool, Nullable, Text};
use diesel::{Connection as _, QueryableByName, RunQueryDsl};

#[cfg(feature = "cli")]
use super::scratch::{ScratchServer, StateSql};
use super::{lock, one_line, DbError, NameRow, Privilege, TableAccess, VERSIONS_PRIVILEGES};
use crate::database_url::DatabaseUrl;
#[cfg(feature = "cli")]
use crate::generate::HistoryFacts;

/// Whether diesel's versions table is found the way diesel finds it (unqualified, through the
/// search path) and which privileges this role has on it. `to_regclass` reads `pg_class`,
/// which shows every table whatever the role's privileges (`information_schema.tables` hides
/// tables the role has no privilege on, which made an unreadable table look missing).
/// A schema of the search path that the role may not use drops out of the effective path, so
/// a versions table in it is looked for there too (`hidden`).
const VERSIONS_TABLE_ACCESS: &str = "SELECT (t.oid IS NOT NULL) AS present, \
     COALESCE(has_table_privilege(t.oid, 'SELECT'), false) AS can_select, \
     COALESCE(has_table_privilege(t.oid, 'INSERT'), false) AS can_insert, \
     COALESCE(has_table_privilege(t.oid, 'DELETE'), false) AS can_delete, \
     EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
       WHERE c.relname = '__diesel_schema_migrations' AND n.nspname = ANY(SEARCH_PATH) \
       AND NOT has_schema_privilege(n.oid, 'USAGE')) AS hidden \
     FROM (SELECT to_regclass('__diesel_schema_migrations')::oid AS oid) t";

/// The schemas named in `search_path`, `$user` resolved (before PostgreSQL drops the ones the
/// role may not use).
const SEARCH_PATH: &str = "string_to_array(regexp_replace(replace(current_setting('search_path'), '\"$user\"', current_user::text), '\\s', '', 'g'), ',')";

/// The first schema of the search path that holds a versions table this role may not see.
const HIDDEN_SCHEMA: &str = "SELECT n.nspname::text AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     WHERE c.relname = '__diesel_schema_migrations' AND n.nspname = ANY(SEARCH_PATH) \
     AND NOT has_schema_privilege(n.oid, 'USAGE') LIMIT 1";

/// The declared length of `__diesel_schema_migrations.version` (`VARCHAR(n)`: `atttypmod` is
/// n + 4), 0 for a type without one. Read from `pg_attribute`, which does not depend on
/// privileges.
pub const VERSION_COLUMN_LENGTH: &str = "SELECT CAST(CASE WHEN a.atttypmod > 4 THEN a.atttypmod - 4 ELSE 0 END AS BIGINT) AS n \
     FROM pg_catalog.pg_attribute a \
     WHERE a.attrelid = to_regclass('__diesel_schema_migrations') AND a.attname = 'version' AND NOT a.attisdropped";

#[derive(QueryableByName)]
struct AccessRow {
    #[diesel(sql_type = Bool)]
    present: bool,
    #[diesel(sql_type = Bool)]
    can_select: bool,
    #[diesel(sql_type = Bool)]
    can_insert: bool,
    #[diesel(sql_type = Bool)]
    can_delete: bool,
    #[diesel(sql_type = Bool)]
    hidden: bool,
}

/// Whether the versions table exists and which of `needs` this role lacks on it.
#[cfg(feature = "postgres")]
pub fn versions_table_access(
    conn: &mut diesel::PgConnection,
    needs: &[Privilege],
) -> diesel::QueryResult<TableAccess> {
    let rows: Vec<AccessRow> =
        diesel::sql_query(VERSIONS_TABLE_ACCESS.replace("SEARCH_PATH", SEARCH_PATH)).load(conn)?;
    let Some(row) = rows.first() else {
        return Ok(TableAccess::Missing);
    };
    if !row.present && row.hidden {
        // In a schema this role may not use: nothing of it can be read.
        let mut lacking = vec![Privilege::Select];
        lacking.extend(needs.iter().copied().filter(|p| *p != Privilege::Select));
        return Ok(TableAccess::Lacking(lacking));
    }
    if !row.present {
        return Ok(TableAccess::Missing);
    }
    let lacking: Vec<Privilege> = needs
        .iter()
        .copied()
        .filter(|p| match p {
            Privilege::Select => !row.can_select,
            Privilege::Insert => !row.can_insert,
            Privilege::Delete => !row.can_delete,
        })
        .collect();
    Ok(if lacking.is_empty() {
        TableAccess::Usable
    } else {
        TableAccess::Lacking(lacking)
    })
}

/// This session's role and the statement that gives it what the tool needs on the versions
/// table.
#[cfg(feature = "postgres")]
pub fn versions_grant(conn: &mut diesel::PgConnection) -> diesel::QueryResult<(String, String)> {
    let rows: Vec<NameRow> = diesel::sql_query("SELECT current_user::text AS name").load(conn)?;
    let role = rows.first().map(|r| r.name.clone()).unwrap_or_default();
    let tables: Vec<NameRow> = diesel::sql_query(
        "SELECT COALESCE(to_regclass('__diesel_schema_migrations')::text, '__diesel_schema_migrations') AS name",
    )
    .load(conn)?;
    let table = tables
        .first()
        .map(|r| r.name.clone())
        .unwrap_or_else(|| "__diesel_schema_migrations".to_string());
    let privileges = VERSIONS_PRIVILEGES.map(Privilege::sql).join(", ");
    let hidden: Vec<NameRow> =
        diesel::sql_query(HIDDEN_SCHEMA.replace("SEARCH_PATH", SEARCH_PATH)).load(conn)?;
    let grant = match hidden.first() {
        Some(schema) => {
            let schema = quote_ident(&schema.name);
            format!(
                "GRANT USAGE ON SCHEMA {schema} TO {0}; GRANT {privileges} ON {schema}.__diesel_schema_migrations TO {0}",
                quote_ident(&role)
            )
        }
        None => format!("GRANT {privileges} ON {table} TO {}", quote_ident(&role)),
    };
    Ok((format!("`{role}`"), grant))
}

/// A role or schema name as a grant needs it: bare when PostgreSQL would not fold or reject it.
fn quote_ident(role: &str) -> String {
    let plain = role
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && role
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        role.to_string()
    } else {
        quote(role)
    }
}

/// A migration file runs as one batch: DDL is transactional.
pub fn runs_statement_by_statement(_run_in_transaction: bool) -> bool {
    false
}

/// This session's id.
pub const SESSION_ID: &str = "SELECT pg_backend_pid()::bigint AS n";

/// End session `id` (its transaction rolls back, its advisory locks are released).
pub fn end_session_sql(id: i64) -> String {
    format!("SELECT pg_terminate_backend({id})")
}

#[derive(QueryableByName)]
struct LockRow {
    #[diesel(sql_type = Nullable<BigInt>)]
    n: Option<i64>,
}

/// The advisory lock key of the connected database: a hash of its name (advisory locks are
/// per database already; the hash keeps the key apart from other tools' keys too).
#[cfg(feature = "postgres")]
pub fn migration_lock_key(conn: &mut diesel::PgConnection) -> diesel::QueryResult<i64> {
    let rows: Vec<NameRow> =
        diesel::sql_query("SELECT current_database()::text AS name").load(conn)?;
    let database = rows.first().map(|r| r.name.as_str()).unwrap_or_default();
    Ok(lock::lock_key("migrate", database))
}

/// DDL is transactional, and a batch of statements sent without a transaction is still one
/// implicit transaction: a failure leaves nothing of the migration.
pub fn may_be_partial(_run_in_transaction: bool, _statement: Option<usize>) -> bool {
    false
}

/// Open a connection.
#[cfg(feature = "postgres")]
pub fn connect(url: &DatabaseUrl) -> Result<diesel::PgConnection, DbError> {
    let mut conn = diesel::PgConnection::establish(url.expose()).map_err(|e| DbError::Connect {
        url: url.clone(),
        message: one_line(&e.to_string(), url),
    })?;
    // PostgreSQL 14+: notice a vanished client (a killed deploy) within a second even during a
    // long statement, so its transaction and advisory lock end at once. Older servers do not
    // know the setting; that error is ignored.
    let _ = conn.batch_execute("SET client_connection_check_interval = 1000");
    Ok(conn)
}

/// Who and where the session is (user, server address and port, database), to name an
/// application's own connection in messages.
#[cfg(feature = "postgres")]
pub fn session_label(conn: &mut diesel::PgConnection) -> diesel::QueryResult<String> {
    let rows: Vec<super::SessionRow> = diesel::sql_query(
        "SELECT current_user::text AS user, COALESCE(host(inet_server_addr()), 'localhost') AS host, \
         COALESCE(inet_server_port(), 5432)::bigint AS port, current_database()::text AS database",
    )
    .load(conn)?;
    Ok(rows
        .first()
        .map(|r| r.label("postgres"))
        .unwrap_or_else(|| "postgres://(application connection)".into()))
}

/// Try to take the migration lock once.
#[cfg(feature = "postgres")]
pub fn try_lock(conn: &mut diesel::PgConnection, key: i64) -> diesel::QueryResult<bool> {
    let rows: Vec<LockRow> = diesel::sql_query(format!(
        "SELECT CASE WHEN pg_try_advisory_lock({key}) THEN 1::bigint ELSE 0::bigint END AS n"
    ))
    .load(conn)?;
    Ok(rows.first().and_then(|r| r.n) == Some(1))
}

/// Release the migration lock.
#[cfg(feature = "postgres")]
pub fn unlock(conn: &mut diesel::PgConnection, key: i64) {
    let _ = conn.batch_execute(&format!("SELECT pg_advisory_unlock({key})"));
}

pub(crate) fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(feature = "cli")]
/// Scratch databases on a PostgreSQL server.
pub const SCRATCH: ScratchServer = ScratchServer {
    scheme: "postgres",
    admin_database: "postgres",
    list: "SELECT datname::text AS name FROM pg_database WHERE datname LIKE 'cargo\\_migrate\\_scratch\\_%'",
    create: |name| format!("CREATE DATABASE {}", quote(name)),
    // PostgreSQL before 13 has no `WITH (FORCE)`: fall back to the plain statement (our own
    // sessions are closed by then).
    drop: |name| {
        vec![
            format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote(name)),
            format!("DROP DATABASE IF EXISTS {}", quote(name)),
        ]
    },
    // Durability is for databases that are kept; a commit need not wait for the WAL flush.
    replay_session: "SET synchronous_commit = off",
    // Only ever called with a connection of this backend.
    drop_if_abandoned: |conn, name| {
        let super::Connection::Postgres(c) = conn else {
            return false;
        };
        drop_if_abandoned(c, name)
    },
    // A session connected to the database is what marks it as in use.
    mark_in_use: |_, _| Ok(()),
    states: Some(StateSql {
        list: "SELECT datname::text AS name FROM pg_database WHERE datname LIKE 'cargo\\_migrate\\_state\\_%'",
        copy: |name, template| {
            format!(
                "CREATE DATABASE {} TEMPLATE {}",
                quote(name),
                quote(template)
            )
        },
        rename: |from, to| format!("ALTER DATABASE {} RENAME TO {}", quote(from), quote(to)),
        drop: |name| format!("DROP DATABASE IF EXISTS {}", quote(name)),
        // Deferred constraints are checked now, as the migration's own COMMIT would.
        trial_end: "SET CONSTRAINTS ALL IMMEDIATE",
    }),
};

/// Drop the leftover scratch database `name` if no session is connected to it. The plain
/// `DROP DATABASE` (without `FORCE`) fails if a session connects in between, so a database in
/// use is never dropped.
#[cfg(feature = "postgres")]
pub fn drop_if_abandoned(conn: &mut diesel::PgConnection, name: &str) -> bool {
    let sessions: Result<Vec<LockRow>, _> =
        diesel::sql_query("SELECT COUNT(*)::bigint AS n FROM pg_stat_activity WHERE datname = $1")
            .bind::<Text, _>(name)
            .load(conn);
    match sessions {
        Ok(rows) if rows.first().and_then(|r| r.n) == Some(0) => conn
            .batch_execute(&format!("DROP DATABASE IF EXISTS {}", quote(name)))
            .is_ok(),
        _ => false,
    }
}

#[cfg(feature = "cli")]
#[derive(QueryableByName)]
struct FactRow {
    #[diesel(sql_type = Text)]
    a: String,
    #[diesel(sql_type = Text)]
    b: String,
    #[diesel(sql_type = Nullable<Text>)]
    c: Option<String>,
}

#[cfg(feature = "cli")]
/// Existing type names and the names of primary and foreign keys, so generated SQL refers to
/// the constraints the history really created.
#[cfg(feature = "postgres")]
pub fn history_facts(conn: &mut diesel::PgConnection) -> diesel::QueryResult<HistoryFacts> {
    let mut facts = HistoryFacts::default();
    let types: Vec<FactRow> = diesel::sql_query(
        "SELECT n.nspname::text AS a, t.typname::text AS b, NULL::text AS c \
         FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace",
    )
    .load(conn)?;
    for r in types {
        facts.existing_types.insert(format!("{}.{}", r.a, r.b));
    }
    let constraints = "FROM pg_constraint con JOIN pg_class cl ON cl.oid = con.conrelid \
         JOIN pg_namespace n ON n.oid = cl.relnamespace WHERE n.nspname = current_schema()";
    let first_column = "(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = con.conrelid AND a.attnum = con.conkey[1])";
    let foreign: Vec<FactRow> = diesel::sql_query(format!(
        "SELECT con.conname::text AS a, cl.relname::text AS b, {first_column} AS c {constraints} \
         AND con.contype = 'f' AND array_length(con.conkey, 1) = 1"
    ))
    .load(conn)?;
    for r in foreign {
        if let Some(col) = r.c {
            facts.foreign_key_names.insert((r.b, col), r.a);
        }
    }
    let primary: Vec<FactRow> = diesel::sql_query(format!(
        "SELECT con.conname::text AS a, cl.relname::text AS b, NULL::text AS c {constraints} AND con.contype = 'p'"
    ))
    .load(conn)?;
    for r in primary {
        facts.primary_key_names.insert(r.b, r.a);
    }
    Ok(facts)
}

/// The tool's own tables on PostgreSQL (see [`super::OwnTables`]).
pub const OWN_TABLES: super::OwnTables = super::OwnTables {
    marks_exists: "SELECT COUNT(*)::bigint AS n FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace s ON s.oid = c.relnamespace WHERE c.relname = '__cargo_migrate_marks' AND s.nspname = current_schema()",
    marks_create: "CREATE TABLE IF NOT EXISTS __cargo_migrate_marks (version VARCHAR(255) NOT NULL, action VARCHAR(20) NOT NULL, note TEXT NOT NULL, marked_at VARCHAR(32) NOT NULL)",
    marks_insert: "INSERT INTO __cargo_migrate_marks (version, action, note, marked_at) VALUES ($1, $2, $3, $4)",
    marks_delete: "DELETE FROM __cargo_migrate_marks WHERE version = $1",
    marks_select: "SELECT version, action, note, marked_at FROM __cargo_migrate_marks ORDER BY marked_at, version",
    versions_delete: "DELETE FROM __diesel_schema_migrations WHERE version = $1",
    checksums_exists: "SELECT COUNT(*)::bigint AS n FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace s ON s.oid = c.relnamespace WHERE c.relname = '__cargo_migrate_checksums' AND s.nspname = current_schema()",
    checksums_create: "CREATE TABLE IF NOT EXISTS __cargo_migrate_checksums (version VARCHAR(255) PRIMARY KEY, checksum VARCHAR(80) NOT NULL)",
    checksums_delete: "DELETE FROM __cargo_migrate_checksums WHERE version = $1",
    checksums_insert: "INSERT INTO __cargo_migrate_checksums (version, checksum) VALUES ($1, $2)",
    checksums_select: "SELECT version, checksum FROM __cargo_migrate_checksums",
    databases: "SELECT datname::text AS name FROM pg_database",
    quote,
    read_only: READ_ONLY,
    table_names: "SELECT table_name::text AS name FROM information_schema.tables WHERE table_schema = current_schema()",
    #[cfg(feature = "cli")]
    scratch: Some(&SCRATCH),
    partial: None,
};

/// What makes a connection read only before a configured query runs, and what ends that
/// (`targets-query`): a read-only transaction, rolled back.
pub const READ_ONLY: (&str, &str) = ("BEGIN TRANSACTION READ ONLY", "ROLLBACK");
