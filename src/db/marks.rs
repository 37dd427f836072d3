//! Migrations marked by hand: `cargo migrate mark --applied V` / `--rolled-back V`.
//!
//! Marking changes diesel's `__diesel_schema_migrations` exactly as running the migration
//! would (the version is inserted or deleted), and keeps a record of it in our own table,
//! `__cargo_migrate_marks`, so `status` can say that a migration was marked, not run. The
//! table is created by the first mark and never by a read; its name starts with `__`, so
//! diesel's `print-schema` (and this tool's) leaves it out of schema.rs.

use std::time::SystemTime;

use diesel::sql_types::Text;
use diesel::{QueryableByName, RunQueryDsl};

use super::{with_conn, Connection, DbError};
use crate::database_url::DatabaseUrl;

/// Our table of marks.
pub const TABLE: &str = "__cargo_migrate_marks";

/// What a mark recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MarkAction {
    /// Recorded as applied without running up.sql.
    Applied,
    /// Removed from the applied versions without running down.sql.
    RolledBack,
}

impl MarkAction {
    /// The name stored in the table and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            MarkAction::Applied => "applied",
            MarkAction::RolledBack => "rolled-back",
        }
    }
}

/// One row of the marks table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Mark {
    /// The migration's version.
    pub version: String,
    /// What was marked.
    pub action: MarkAction,
    /// Why, as given with `--note`.
    pub note: String,
    /// When (UTC, `YYYY-MM-DDTHH:MM:SSZ`).
    pub marked_at: String,
}

#[derive(QueryableByName)]
struct MarkRow {
    #[diesel(sql_type = Text)]
    version: String,
    #[diesel(sql_type = Text)]
    action: String,
    #[diesel(sql_type = Text)]
    note: String,
    #[diesel(sql_type = Text)]
    marked_at: String,
}

/// Now, as `YYYY-MM-DDTHH:MM:SSZ`.
fn now_utc() -> String {
    let (year, month, day, h, m, sec) = crate::migration::utc_parts(SystemTime::now());
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{sec:02}Z")
}

/// Mark `version` as applied (insert it into diesel's versions table) or rolled back (delete
/// it), and record the mark; both in one transaction where the backend has transactional DDL.
pub fn mark(
    conn: &mut Connection,
    url: &DatabaseUrl,
    version: &str,
    action: MarkAction,
    note: &str,
) -> Result<Mark, DbError> {
    let own = super::own_tables(conn.backend());
    let (create, insert, delete) = (own.marks_create, own.marks_insert, own.versions_delete);
    let fail = |what: &str, e: diesel::result::Error| DbError::query(what.to_string(), url, &e);
    conn.ensure_migrations_table()
        .map_err(|e| fail("creating diesel's versions table", e))?;
    conn.batch_execute(create)
        .map_err(|e| fail("creating the table of marks `__cargo_migrate_marks`", e))?;
    let mark = Mark {
        version: version.to_string(),
        action,
        note: note.to_string(),
        marked_at: now_utc(),
    };
    conn.batch_execute("BEGIN")
        .map_err(|e| fail("starting the transaction of the mark", e))?;
    let result = (|| -> diesel::QueryResult<()> {
        match action {
            MarkAction::Applied => conn.record_versions(&[version])?,
            MarkAction::RolledBack => {
                let q = diesel::sql_query(delete).bind::<Text, _>(version);
                with_conn!(conn, c => q.execute(c))?;
            }
        }
        let q = diesel::sql_query(insert)
            .bind::<Text, _>(&mark.version)
            .bind::<Text, _>(action.as_str())
            .bind::<Text, _>(&mark.note)
            .bind::<Text, _>(&mark.marked_at);
        with_conn!(conn, c => q.execute(c))?;
        Ok(())
    })();
    match result {
        Ok(()) => {
            conn.batch_execute("COMMIT")
                .map_err(|e| fail("committing the mark", e))?;
            // Nothing of the folder ran: a checksum recorded before no longer describes what
            // the database holds.
            super::checksums::forget(conn, version);
        }
        Err(e) => {
            let _ = conn.batch_execute("ROLLBACK");
            return Err(fail("recording the mark", e));
        }
    }
    Ok(mark)
}

/// Forget the marks of `versions`: they have just really run (up or down), so a mark no longer
/// describes how the database got where it is (`status` also shows a mark only while it
/// agrees with the versions table, so a run cut short before this is never misreported). Best effort: without the table (or the right
/// to change it) there is nothing to forget.
pub fn forget<S: AsRef<str>>(conn: &mut Connection, versions: &[S]) {
    let own = super::own_tables(conn.backend());
    if versions.is_empty() || conn.count(own.marks_exists).unwrap_or(0) == 0 {
        return;
    }
    // Versions are letters and digits: one statement for all of them.
    let plain: Vec<&str> = versions
        .iter()
        .map(AsRef::as_ref)
        .filter(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric()))
        .collect();
    if plain.len() == versions.len() {
        let list: Vec<String> = plain.iter().map(|v| format!("'{v}'")).collect();
        let _ = conn.batch_execute(&format!(
            "DELETE FROM __cargo_migrate_marks WHERE version IN ({})",
            list.join(", ")
        ));
        return;
    }
    for version in versions {
        let q = diesel::sql_query(own.marks_delete).bind::<Text, _>(version.as_ref());
        let _ = with_conn!(conn, c => q.execute(c));
    }
}

/// The marks recorded in the database, oldest first; none when the table does not exist (it
/// is never created by a read).
pub fn read(conn: &mut Connection, url: &DatabaseUrl) -> Result<Vec<Mark>, DbError> {
    let own = super::own_tables(conn.backend());
    let fail = |e: diesel::result::Error| {
        DbError::query(
            "reading the table of marks `__cargo_migrate_marks`",
            url,
            &e,
        )
    };
    if conn.count(own.marks_exists).map_err(fail)? == 0 {
        return Ok(Vec::new());
    }
    let q = diesel::sql_query(own.marks_select);
    let rows: Vec<MarkRow> = with_conn!(conn, c => q.load(c)).map_err(fail)?;
    Ok(rows
        .into_iter()
        .map(|r| Mark {
            version: r.version,
            action: if r.action == "rolled-back" {
                MarkAction::RolledBack
            } else {
                MarkAction::Applied
            },
            note: r.note,
            marked_at: r.marked_at,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_iso() {
        let t = now_utc();
        assert_eq!(t.len(), 20, "{t}");
        assert!(t.starts_with("20") && t.ends_with('Z') && t.as_bytes()[10] == b'T');
    }
}
