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
use crate::database_url::DatabaseUrl;

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    version: String,
    #[diesel(sql_type = Text)]
    checksum: String,
}

/// Record (`Some`) or forget (`None`) the checksums of the migrations a run just ran up or
/// down, in one transaction. Best effort: a role that may not create or write the table loses
/// only the later comparison, never the migration.
pub fn record_all(conn: &mut Connection, sums: &[(String, Option<String>)]) {
    if sums.is_empty() {
        return;
    }
    let own = super::own_tables(conn.backend());
    if conn.batch_execute(own.checksums_create).is_err() {
        return;
    }
    let began = conn.batch_execute("BEGIN").is_ok();
    for (version, sum) in sums {
        let d = diesel::sql_query(own.checksums_delete).bind::<Text, _>(version);
        let _ = with_conn!(conn, c => d.execute(c));
        if let Some(sum) = sum {
            let i = diesel::sql_query(own.checksums_insert)
                .bind::<Text, _>(version)
                .bind::<Text, _>(sum);
            let _ = with_conn!(conn, c => i.execute(c));
        }
    }
    if began {
        let _ = conn.batch_execute("COMMIT");
    }
}

/// Forget the checksum of a migration that was just reverted.
pub fn forget(conn: &mut Connection, version: &str) {
    let own = super::own_tables(conn.backend());
    let (exists, delete) = (own.checksums_exists, own.checksums_delete);
    if conn.count(exists).unwrap_or(0) == 0 {
        return;
    }
    let d = diesel::sql_query(delete).bind::<Text, _>(version);
    let _ = with_conn!(conn, c => d.execute(c));
}

/// The recorded checksums by version; empty when the table does not exist.
pub fn read(conn: &mut Connection, url: &DatabaseUrl) -> Result<BTreeMap<String, String>, DbError> {
    let own = super::own_tables(conn.backend());
    let (exists, select) = (own.checksums_exists, own.checksums_select);
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
