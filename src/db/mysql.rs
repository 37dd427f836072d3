//! MySQL and MariaDB: everything the tool does differently there, outside introspection.
//!
//! DDL commits implicitly, so a migration cannot be rolled back as a whole: each file runs
//! statement by statement (see `harness`), so that a failure names the statement and the
//! report can say what stayed committed. The migration lock is `GET_LOCK` on a name derived
//! from a hash of the database name (MySQL's lock names are server-wide); the interrupt handler ends a
//! running migration with `KILL`. mysql_async only accepts `mysql://`; `mariadb://` is
//! rewritten.

// Without the `mysql` feature only what needs no driver stays: the SQL text and the rules.
#![cfg_attr(not(feature = "mysql"), allow(unused_imports, dead_code))]

use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::{Connection as _, QueryableByName, RunQueryDsl};

#[cfg(feature = "cli")]
use super::scratch::ScratchServer;
#[cfg(feature = "mysql")]
use super::MysqlConnection;
use super::{lock, one_line, DbError, NameRow, Privilege, TableAccess, VERSIONS_PRIVILEGES};
use crate::database_url::DatabaseUrl;
#[cfg(feature = "cli")]
use crate::generate::HistoryFacts;

/// Statements that need one privilege on the versions table and change nothing. MySQL and
/// MariaDB hide tables a role has no privilege on from `information_schema.tables` and
/// `SHOW TABLES`, and answer a statement on such a table with error 1142 ("command denied")
/// whether it exists or not; only a role that may see it gets 1146 ("doesn't exist"). So the
/// statements themselves are the lookup.
fn probe(privilege: Privilege) -> &'static str {
    match privilege {
        Privilege::Select => "SELECT version FROM __diesel_schema_migrations LIMIT 0",
        Privilege::Insert => {
            "INSERT INTO __diesel_schema_migrations (version) SELECT 'x' FROM DUAL WHERE 1 = 0"
        }
        Privilege::Delete => "DELETE FROM __diesel_schema_migrations WHERE 1 = 0",
    }
}

/// "command denied" (error 1142, table level; 1143, column level). diesel-async passes on
/// only the server's message, not its number, so the message is read (in the server's
/// default English; a server with other `lc_messages` gets the plain error instead, which
/// still stops the command).
fn is_denied(err: &diesel::result::Error) -> bool {
    err.to_string().contains(" command denied to user ")
}

/// "Table … doesn't exist" (error 1146).
fn is_missing(err: &diesel::result::Error) -> bool {
    let message = err.to_string();
    message.starts_with("Table '") && message.ends_with("' doesn't exist")
}

/// Whether the versions table exists and which of `needs` this role lacks on it.
#[cfg(feature = "mysql")]
pub fn versions_table_access(
    conn: &mut MysqlConnection,
    needs: &[Privilege],
) -> diesel::QueryResult<TableAccess> {
    let mut lacking = Vec::new();
    match conn.batch_execute(probe(Privilege::Select)) {
        Ok(()) => {}
        Err(e) if is_missing(&e) => return Ok(TableAccess::Missing),
        // Denied: whether the table exists, the server does not say to this role; either
        // way what is applied cannot be read.
        Err(e) if is_denied(&e) => lacking.push(Privilege::Select),
        Err(e) => return Err(e),
    }
    for &privilege in needs {
        if privilege == Privilege::Select {
            continue;
        }
        match conn.batch_execute(probe(privilege)) {
            Ok(()) => {}
            Err(e) if is_denied(&e) => lacking.push(privilege),
            Err(e) if is_missing(&e) => return Ok(TableAccess::Missing),
            Err(e) => return Err(e),
        }
    }
    Ok(if lacking.is_empty() {
        TableAccess::Usable
    } else {
        TableAccess::Lacking(lacking)
    })
}

/// The declared length of `__diesel_schema_migrations.version` in characters (0 when unknown).
pub const VERSION_COLUMN_LENGTH: &str = "SELECT CAST(COALESCE(MAX(character_maximum_length), 0) AS SIGNED) AS n \
     FROM information_schema.columns \
     WHERE table_schema = DATABASE() AND table_name = '__diesel_schema_migrations' AND column_name = 'version'";

/// This session's account and the statement that gives it what the tool needs on the
/// versions table.
#[cfg(feature = "mysql")]
pub fn versions_grant(conn: &mut MysqlConnection) -> diesel::QueryResult<(String, String)> {
    let rows: Vec<NameRow> =
        diesel::sql_query("SELECT CAST(CURRENT_USER() AS CHAR) AS name").load(conn)?;
    let account = rows.first().map(|r| r.name.clone()).unwrap_or_default();
    let (user, host) = account.rsplit_once('@').unwrap_or((account.as_str(), "%"));
    let account = format!(
        "'{}'@'{}'",
        user.replace('\'', "''"),
        host.replace('\'', "''")
    );
    let database = current_database(conn)?;
    let database = database.as_str();
    let privileges = VERSIONS_PRIVILEGES.map(Privilege::sql).join(", ");
    let grant = format!(
        "GRANT {privileges} ON {}.__diesel_schema_migrations TO {account}",
        quote(database)
    );
    Ok((account, grant))
}

/// DDL commits implicitly: files run one statement at a time so a failure can name its
/// statement.
pub fn runs_statement_by_statement(_run_in_transaction: bool) -> bool {
    true
}

/// This session's id.
pub const SESSION_ID: &str = "SELECT CAST(CONNECTION_ID() AS SIGNED) AS n";

/// End session `id`.
pub fn end_session_sql(id: i64) -> String {
    format!("KILL {id}")
}

#[derive(QueryableByName)]
struct LockRow {
    #[diesel(sql_type = Nullable<BigInt>)]
    n: Option<i64>,
}

/// mysql_async only accepts `mysql://`; diesel users also write `mariadb://`.
fn mysql_url(url: &str) -> String {
    if let Some(rest) = url.strip_prefix("mariadb://") {
        format!("mysql://{rest}")
    } else {
        url.to_string()
    }
}

/// DDL commits implicitly: statements before the failing one may stay, unless the failing
/// statement is known to be the file's first.
pub fn may_be_partial(_run_in_transaction: bool, statement: Option<usize>) -> bool {
    statement.is_none_or(|n| n > 1)
}

/// Open a connection.
#[cfg(feature = "mysql")]
pub fn connect(url: &DatabaseUrl) -> Result<MysqlConnection, DbError> {
    MysqlConnection::establish(&mysql_url(url.expose())).map_err(|e| DbError::Connect {
        url: url.clone(),
        message: one_line(&e.to_string(), url),
    })
}

/// Who and where the session is (user, server host and port, database), to name an
/// application's own connection in messages.
#[cfg(feature = "mysql")]
pub fn session_label(conn: &mut MysqlConnection) -> diesel::QueryResult<String> {
    let rows: Vec<super::SessionRow> = diesel::sql_query(
        "SELECT CAST(SUBSTRING_INDEX(CURRENT_USER(), '@', 1) AS CHAR) AS user, \
         CAST(@@hostname AS CHAR) AS host, CAST(@@port AS SIGNED) AS port, \
         CAST(COALESCE(DATABASE(), '') AS CHAR) AS `database`",
    )
    .load(conn)?;
    Ok(rows
        .first()
        .map(|r| r.label("mysql"))
        .unwrap_or_else(|| "mysql://(application connection)".into()))
}

/// The session's default database (the one its versions table is in); empty when none is
/// selected.
#[cfg(feature = "mysql")]
pub fn current_database(conn: &mut MysqlConnection) -> diesel::QueryResult<String> {
    let rows: Vec<NameRow> =
        diesel::sql_query("SELECT CAST(COALESCE(DATABASE(), '') AS CHAR) AS name").load(conn)?;
    Ok(rows.into_iter().next().map(|r| r.name).unwrap_or_default())
}

/// Whether the session has a default database.
#[cfg(feature = "mysql")]
pub fn has_current_database(conn: &mut MysqlConnection) -> bool {
    current_database(conn).is_ok_and(|d| !d.is_empty())
}

/// The migration lock's name for the connected database. Lock names are server-wide and
/// MariaDB keeps only 64 characters of one, so the name carries a hash of the whole database
/// name (see [`lock::lock_name`]).
#[cfg(feature = "mysql")]
pub fn migration_lock_name(conn: &mut MysqlConnection) -> diesel::QueryResult<String> {
    Ok(lock::lock_name("migrate", &current_database(conn)?))
}

/// Try to take the lock `name` once, without waiting.
#[cfg(feature = "mysql")]
pub fn try_lock(conn: &mut MysqlConnection, name: &str) -> diesel::QueryResult<bool> {
    let rows: Vec<LockRow> = diesel::sql_query("SELECT GET_LOCK(?, 0) AS n")
        .bind::<Text, _>(name)
        .load(conn)?;
    Ok(rows.first().and_then(|r| r.n) == Some(1))
}

/// Release the lock `name`.
#[cfg(feature = "mysql")]
pub fn unlock(conn: &mut MysqlConnection, name: &str) {
    let _ = diesel::sql_query("DO RELEASE_LOCK(?)")
        .bind::<Text, _>(name)
        .execute(conn);
}

pub(crate) fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

#[cfg(feature = "cli")]
/// Scratch databases on a MySQL/MariaDB server.
pub const SCRATCH: ScratchServer = ScratchServer {
    scheme: "mysql",
    admin_database: "",
    list: "SELECT CAST(schema_name AS CHAR) AS name FROM information_schema.schemata WHERE schema_name LIKE 'cargo\\_migrate\\_scratch\\_%'",
    create: |name| format!("CREATE DATABASE {}", quote(name)),
    drop: |name| vec![format!("DROP DATABASE IF EXISTS {}", quote(name))],
    replay_session: "",
    // Both only ever called with a connection of this backend.
    drop_if_abandoned: |conn, name| {
        let super::Connection::Mysql(c) = conn else {
            return false;
        };
        drop_if_abandoned(c, name)
    },
    mark_in_use: |conn, name| {
        let super::Connection::Mysql(c) = conn else {
            return Ok(());
        };
        hold_scratch_lock(c, name)
    },
    // No way to copy a database: every replay is a full one.
    states: None,
};

/// The named lock that marks the scratch database `name` as in use.
pub fn scratch_lock_name(name: &str) -> String {
    lock::lock_name("scratch", name)
}

/// Take the lock that marks the scratch database `name` as in use, for as long as this
/// session lives.
#[cfg(feature = "mysql")]
pub fn hold_scratch_lock(conn: &mut MysqlConnection, name: &str) -> diesel::QueryResult<()> {
    if try_lock(conn, &scratch_lock_name(name))? {
        Ok(())
    } else {
        Err(diesel::result::Error::QueryBuilderError(
            format!(
                "the lock {} is held by another session",
                scratch_lock_name(name)
            )
            .into(),
        ))
    }
}

/// Drop the leftover scratch database `name` if its creator's lock is free: the lock is taken
/// for the drop, so the owner cannot be alive meanwhile.
#[cfg(feature = "mysql")]
pub fn drop_if_abandoned(conn: &mut MysqlConnection, name: &str) -> bool {
    let lock = scratch_lock_name(name);
    if !matches!(try_lock(conn, &lock), Ok(true)) {
        return false;
    }
    let dropped = conn
        .batch_execute(&format!("DROP DATABASE IF EXISTS {}", quote(name)))
        .is_ok();
    unlock(conn, &lock);
    dropped
}

#[cfg(feature = "cli")]
#[derive(QueryableByName)]
struct ForeignKeyRow {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    table: String,
    #[diesel(sql_type = Nullable<Text>)]
    column: Option<String>,
}

#[cfg(feature = "cli")]
/// The names of foreign keys, so generated SQL drops the constraints the history created.
#[cfg(feature = "mysql")]
pub fn history_facts(conn: &mut MysqlConnection) -> diesel::QueryResult<HistoryFacts> {
    let mut facts = HistoryFacts::default();
    let rows: Vec<ForeignKeyRow> = diesel::sql_query(
        "SELECT CAST(constraint_name AS CHAR) AS name, CAST(table_name AS CHAR) AS `table`, \
         CAST(column_name AS CHAR) AS `column` FROM information_schema.key_column_usage \
         WHERE table_schema = DATABASE() AND referenced_table_name IS NOT NULL",
    )
    .load(conn)?;
    for r in rows {
        if let Some(col) = r.column {
            facts.foreign_key_names.insert((r.table, col), r.name);
        }
    }
    Ok(facts)
}

/// The tool's own tables on MySQL/MariaDB (see [`super::OwnTables`]); text is cast to CHAR,
/// which the client hands over as text.
pub const OWN_TABLES: super::OwnTables = super::OwnTables {
    marks_exists: "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '__cargo_migrate_marks'",
    marks_create: "CREATE TABLE IF NOT EXISTS __cargo_migrate_marks (version VARCHAR(255) NOT NULL, action VARCHAR(20) NOT NULL, note TEXT NOT NULL, marked_at VARCHAR(32) NOT NULL)",
    marks_insert: "INSERT INTO __cargo_migrate_marks (version, action, note, marked_at) VALUES (?, ?, ?, ?)",
    marks_delete: "DELETE FROM __cargo_migrate_marks WHERE version = ?",
    marks_select: "SELECT CAST(version AS CHAR(255)) AS version, CAST(action AS CHAR(20)) AS action, CAST(note AS CHAR(2000)) AS note, CAST(marked_at AS CHAR(32)) AS marked_at FROM __cargo_migrate_marks ORDER BY marked_at, version",
    versions_delete: "DELETE FROM __diesel_schema_migrations WHERE version = ?",
    checksums_exists: "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '__cargo_migrate_checksums'",
    checksums_create: "CREATE TABLE IF NOT EXISTS __cargo_migrate_checksums (version VARCHAR(255) PRIMARY KEY, checksum VARCHAR(80) NOT NULL)",
    checksums_delete: "DELETE FROM __cargo_migrate_checksums WHERE version = ?",
    checksums_insert: "INSERT INTO __cargo_migrate_checksums (version, checksum) VALUES (?, ?)",
    checksums_select: "SELECT CAST(version AS CHAR) AS version, CAST(checksum AS CHAR) AS checksum FROM __cargo_migrate_checksums",
    databases: "SELECT CAST(schema_name AS CHAR) AS name FROM information_schema.schemata",
    quote,
    read_only: READ_ONLY,
    table_names: "SELECT CAST(table_name AS CHAR) AS name FROM information_schema.tables WHERE table_schema = DATABASE()",
    #[cfg(feature = "cli")]
    scratch: Some(&SCRATCH),
    partial: Some(super::partial::PartialSql {
        exists: "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '__cargo_migrate_partial'",
        create: "CREATE TABLE IF NOT EXISTS __cargo_migrate_partial (version VARCHAR(255) NOT NULL, direction VARCHAR(4) NOT NULL, set_name VARCHAR(255) NOT NULL, sql_sha256 CHAR(64) NOT NULL, committed_statements VARCHAR(2048) NOT NULL, recorded_at DATETIME NOT NULL, PRIMARY KEY (version, direction))",
        replace: "REPLACE INTO __cargo_migrate_partial (version, direction, set_name, sql_sha256, committed_statements, recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
        select: "SELECT CAST(version AS CHAR) AS version, CAST(direction AS CHAR) AS direction, CAST(set_name AS CHAR) AS set_name, CAST(sql_sha256 AS CHAR) AS sql_sha256, CAST(committed_statements AS CHAR) AS committed_statements, CAST(DATE_FORMAT(recorded_at, '%Y-%m-%d %H:%i:%s') AS CHAR) AS recorded_at FROM __cargo_migrate_partial ORDER BY version",
        delete: "DELETE FROM __cargo_migrate_partial WHERE version = ? AND direction = ?",
    }),
};

/// What makes a connection read only before a configured query runs, and what ends that
/// (`targets-query`): a read-only transaction, rolled back.
pub const READ_ONLY: (&str, &str) = ("START TRANSACTION READ ONLY", "ROLLBACK");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denied_and_missing_tables_are_told_apart() {
        use diesel::result::{DatabaseErrorKind, Error};
        let error =
            |m: &str| Error::DatabaseError(DatabaseErrorKind::Unknown, Box::new(m.to_string()));
        let denied = error("SELECT command denied to user 'r'@'127.0.0.1' for table `d`.`__diesel_schema_migrations`");
        let missing = error("Table 'd.__diesel_schema_migrations' doesn't exist");
        assert!(is_denied(&denied) && !is_missing(&denied));
        assert!(is_missing(&missing) && !is_denied(&missing));
    }

    #[test]
    fn mariadb_scheme_becomes_mysql() {
        assert_eq!(mysql_url("mariadb://root@h/db"), "mysql://root@h/db");
        assert_eq!(mysql_url("mysql://root@h/db"), "mysql://root@h/db");
    }
}
