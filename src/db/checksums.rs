//! Checksums of applied migrations, in our own table `__cargo_migrate_checksums` next to
//! diesel's versions table (which is never altered, so diesel_cli keeps working on the same
//! database).
//!
//! Every migration `apply` (or `redo`) runs has its [`Migration::checksum`] recorded in the
//! same step; `revert` removes it. `status` and live `check` compare them with the folder: an
//! applied migration whose files changed since is reported, and one applied without a record
//! (by diesel_cli, or before this table existed) is reported as unverified. The table is
//! created by the first record, never by a read; diesel's print-schema leaves `__` tables out.
//!
//! [`Migration::checksum`]: crate::migration::Migration::checksum

use std::collections::BTreeMap;

use diesel::sql_types::Text;
use diesel::{QueryableByName, RunQueryDsl};

use super::{with_conn, Connection, DbError};
use crate::backend::Backend;
use crate::database_url::DatabaseUrl;

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    version: String,
    #[diesel(sql_type = Text)]
    checksum: String,
}

/// (exists, create, delete, insert, select) for a backend.
fn sql(backend: Backend) -> [&'static str; 5] {
    match backend {
        Backend::Postgres => [
            "SELECT COUNT(*)::bigint AS n FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace s ON s.oid = c.relnamespace WHERE c.relname = '__cargo_migrate_checksums' AND s.nspname = current_schema()",
            "CREATE TABLE IF NOT EXISTS __cargo_migrate_checksums (version VARCHAR(255) PRIMARY KEY, checksum VARCHAR(80) NOT NULL)",
            "DELETE FROM __cargo_migrate_checksums WHERE version = $1",
            "INSERT INTO __cargo_migrate_checksums (version, checksum) VALUES ($1, $2)",
            "SELECT version, checksum FROM __cargo_migrate_checksums",
        ],
        Backend::Mysql => [
            "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '__cargo_migrate_checksums'",
            "CREATE TABLE IF NOT EXISTS __cargo_migrate_checksums (version VARCHAR(255) PRIMARY KEY, checksum VARCHAR(80) NOT NULL)",
            "DELETE FROM __cargo_migrate_checksums WHERE version = ?",
            "INSERT INTO __cargo_migrate_checksums (version, checksum) VALUES (?, ?)",
            "SELECT CAST(version AS CHAR) AS version, CAST(checksum AS CHAR) AS checksum FROM __cargo_migrate_checksums",
        ],
        Backend::Sqlite => [
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '__cargo_migrate_checksums'",
            "CREATE TABLE IF NOT EXISTS __cargo_migrate_checksums (version TEXT PRIMARY KEY, checksum TEXT NOT NULL)",
            "DELETE FROM __cargo_migrate_checksums WHERE version = ?",
            "INSERT INTO __cargo_migrate_checksums (version, checksum) VALUES (?, ?)",
            "SELECT version, checksum FROM __cargo_migrate_checksums",
        ],
    }
}

/// Record the checksum of a migration that just ran up. Best effort: a role that may not
/// create or write the table loses only the later comparison, never the migration.
pub fn record(conn: &mut Connection, version: &str, checksum: &str) {
    let [_, create, delete, insert, _] = sql(conn.backend());
    if conn.batch_execute(create).is_err() {
        return;
    }
    let d = diesel::sql_query(delete).bind::<Text, _>(version);
    let _ = with_conn!(conn, c => d.execute(c));
    let i = diesel::sql_query(insert)
        .bind::<Text, _>(version)
        .bind::<Text, _>(checksum);
    let _ = with_conn!(conn, c => i.execute(c));
}

/// Forget the checksum of a migration that was just reverted.
pub fn forget(conn: &mut Connection, version: &str) {
    let [exists, _, delete, _, _] = sql(conn.backend());
    if conn.count(exists).unwrap_or(0) == 0 {
        return;
    }
    let d = diesel::sql_query(delete).bind::<Text, _>(version);
    let _ = with_conn!(conn, c => d.execute(c));
}

/// The recorded checksums by version; empty when the table does not exist.
pub fn read(conn: &mut Connection, url: &DatabaseUrl) -> Result<BTreeMap<String, String>, DbError> {
    let [exists, _, _, _, select] = sql(conn.backend());
    let fail = |e: diesel::result::Error| {
        DbError::query(
            "reading the checksums in `__cargo_migrate_checksums`",
            url,
            &e,
        )
    };
    if conn.count(exists).map_err(fail)? == 0 {
        return Ok(BTreeMap::new());
    }
    let q = diesel::sql_query(select);
    let rows: Vec<Row> = with_conn!(conn, c => q.load(c)).map_err(fail)?;
    Ok(rows.into_iter().map(|r| (r.version, r.checksum)).collect())
}
