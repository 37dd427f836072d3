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
    // Versions are letters and digits and checksums `sha256:` and hex, so they are written
    // inline and the whole record, the table created first if need be, is one batch: one
    // round trip however many migrations ran. A table that cannot be created stops the batch
    // before the transaction begins.
    if let Some(batch) = inline_batch(sums) {
        if conn
            .batch_execute(&format!("{};\n{batch}", own.checksums_create))
            .is_err()
        {
            let _ = conn.batch_execute("ROLLBACK");
        }
        return;
    }
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

/// The SQL of [`record_all`] as one transaction in one batch (the same on every backend), or
/// `None` when a value holds anything but letters, digits, `:`, `_` and `-` (then each row is
/// bound instead).
fn inline_batch(sums: &[(String, Option<String>)]) -> Option<String> {
    let plain = |v: &str| {
        !v.is_empty()
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-'))
    };
    if !sums
        .iter()
        .all(|(v, sum)| plain(v) && sum.as_deref().is_none_or(plain))
    {
        return None;
    }
    let versions: Vec<String> = sums.iter().map(|(v, _)| format!("'{v}'")).collect();
    let rows: Vec<String> = sums
        .iter()
        .filter_map(|(v, sum)| sum.as_ref().map(|s| format!("('{v}', '{s}')")))
        .collect();
    let mut batch = format!(
        "BEGIN;\nDELETE FROM __cargo_migrate_checksums WHERE version IN ({});\n",
        versions.join(", ")
    );
    if !rows.is_empty() {
        batch.push_str(&format!(
            "INSERT INTO __cargo_migrate_checksums (version, checksum) VALUES {};\n",
            rows.join(", ")
        ));
    }
    batch.push_str("COMMIT;");
    Some(batch)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_batch_for_plain_values_and_bound_rows_otherwise() {
        let sums = vec![
            (
                "20240101000000".to_string(),
                Some("sha256:ab12".to_string()),
            ),
            ("20240102000000".to_string(), None),
        ];
        let batch = inline_batch(&sums).unwrap();
        assert!(batch.contains("WHERE version IN ('20240101000000', '20240102000000')"));
        assert!(batch.contains("VALUES ('20240101000000', 'sha256:ab12');"));
        assert!(batch.starts_with("BEGIN;") && batch.ends_with("COMMIT;"));
        let forget_only = inline_batch(&sums[1..]).unwrap();
        assert!(!forget_only.contains("INSERT"));
        assert!(inline_batch(&[("1'; DROP TABLE x; --".to_string(), None)]).is_none());
    }

    #[test]
    fn sqlite_records_and_forgets_in_one_go() {
        let mut conn = Connection::establish(
            &DatabaseUrl::new(":memory:"),
            crate::backend::Backend::Sqlite,
            Default::default(),
        )
        .unwrap();
        let url = DatabaseUrl::new(":memory:");
        record_all(
            &mut conn,
            &[
                ("1".into(), Some("sha256:aa".into())),
                ("2".into(), Some("sha256:bb".into())),
            ],
        );
        record_all(
            &mut conn,
            &[("2".into(), Some("sha256:cc".into())), ("1".into(), None)],
        );
        let read = read(&mut conn, &url).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read["2"], "sha256:cc");
    }
}
