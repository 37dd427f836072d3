//! Migrations that failed half way: the statements of theirs that stayed committed.
//!
//! On MySQL and MariaDB a failed migration can leave statements committed (DDL commits
//! implicitly, and with it every data change before it). Running the same file again would run
//! those statements a second time: an `UPDATE acct SET balance = balance + 100` credits again.
//! So after such a failure the tool records, in a small table of its own next to diesel's
//! (`__cargo_migrate_partial`, hidden from `print-schema` like every `__` table), which
//! statements of which migration file are committed and a hash of the file that ran; `apply`
//! (for an up.sql) and `revert`/`redo` (for a down.sql) refuse to run that file again while it
//! is unchanged, and `status` shows the migration as partially applied or reverted. The record
//! goes away when the file later runs in full.
//!
//! Only MySQL/MariaDB ever create the table: SQLite and PostgreSQL roll a failed migration
//! back as a whole.

use diesel::sql_types::{BigInt, Text};
use diesel::{QueryableByName, RunQueryDsl};
use sha2::{Digest, Sha256};

use super::{with_conn, Connection, DbError};
use crate::backend::Backend;
use crate::database_url::DatabaseUrl;
use crate::migration::Direction;

/// The table's name.
pub const TABLE: &str = "__cargo_migrate_partial";

const CREATE: &str = "CREATE TABLE IF NOT EXISTS __cargo_migrate_partial (\
     version VARCHAR(255) NOT NULL, \
     direction VARCHAR(4) NOT NULL, \
     set_name VARCHAR(255) NOT NULL, \
     sql_sha256 CHAR(64) NOT NULL, \
     committed_statements VARCHAR(2048) NOT NULL, \
     recorded_at DATETIME NOT NULL, \
     PRIMARY KEY (version, direction))";

const EXISTS: &str = "SELECT COUNT(*) AS n FROM information_schema.tables \
     WHERE table_schema = DATABASE() AND table_name = '__cargo_migrate_partial'";

/// One migration known to be partially applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartialRecord {
    /// diesel's version of the migration.
    pub version: String,
    /// Which file ran: up.sql (`apply`, `redo`) or down.sql (`revert`, `redo`).
    pub direction: Direction,
    /// The set it belongs to.
    pub set: String,
    /// SHA-256 (hex) of the file that ran.
    pub sql_sha256: String,
    /// The statements of that file (1-based) that are committed.
    pub committed: Vec<usize>,
    /// When the failure happened (UTC, `YYYY-MM-DD HH:MM:SS`).
    pub recorded_at: String,
}

fn direction_name(direction: Direction) -> &'static str {
    match direction {
        Direction::Up => "up",
        Direction::Down => "down",
    }
}

/// SHA-256 (hex) of a migration file's text.
pub fn sql_hash(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(QueryableByName)]
struct RecordRow {
    #[diesel(sql_type = Text)]
    version: String,
    #[diesel(sql_type = Text)]
    direction: String,
    #[diesel(sql_type = Text)]
    set_name: String,
    #[diesel(sql_type = Text)]
    sql_sha256: String,
    #[diesel(sql_type = Text)]
    committed_statements: String,
    #[diesel(sql_type = Text)]
    recorded_at: String,
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

impl Connection {
    /// Whether this backend can leave a migration partially applied (and so keeps records).
    fn keeps_partial_records(&self) -> bool {
        self.backend() == Backend::Mysql
    }

    fn has_partial_table(&mut self) -> diesel::QueryResult<bool> {
        let q = diesel::sql_query(EXISTS);
        let rows: Vec<CountRow> = with_conn!(self, c => q.load(c))?;
        Ok(rows.first().is_some_and(|r| r.n > 0))
    }

    /// The migrations recorded as partially applied, by version; empty on backends that roll
    /// back whole and when the table does not exist. Reads only.
    pub fn partial_records(&mut self, url: &DatabaseUrl) -> Result<Vec<PartialRecord>, DbError> {
        if !self.keeps_partial_records() {
            return Ok(Vec::new());
        }
        let what = "reading __cargo_migrate_partial";
        if !self
            .has_partial_table()
            .map_err(|e| DbError::query(what, url, &e))?
        {
            return Ok(Vec::new());
        }
        let q = diesel::sql_query(
            "SELECT CAST(version AS CHAR) AS version, CAST(direction AS CHAR) AS direction, \
             CAST(set_name AS CHAR) AS set_name, CAST(sql_sha256 AS CHAR) AS sql_sha256, \
             CAST(committed_statements AS CHAR) AS committed_statements, \
             CAST(DATE_FORMAT(recorded_at, '%Y-%m-%d %H:%i:%s') AS CHAR) AS recorded_at \
             FROM __cargo_migrate_partial ORDER BY version",
        );
        let rows: Vec<RecordRow> =
            with_conn!(self, c => q.load(c)).map_err(|e| DbError::query(what, url, &e))?;
        Ok(rows
            .into_iter()
            .map(|r| PartialRecord {
                version: r.version,
                direction: if r.direction == "down" {
                    Direction::Down
                } else {
                    Direction::Up
                },
                set: r.set_name,
                sql_sha256: r.sql_sha256,
                committed: r
                    .committed_statements
                    .split(',')
                    .filter_map(|n| n.trim().parse().ok())
                    .collect(),
                recorded_at: r.recorded_at,
            })
            .collect())
    }

    /// Record that statements `committed` of the `direction` file of migration `version`
    /// (whose text hashes to `hash`) stayed committed after it failed. Replaces an earlier
    /// record of the same file.
    pub fn record_partial(
        &mut self,
        set: &str,
        version: &str,
        direction: Direction,
        hash: &str,
        committed: &[usize],
    ) -> diesel::QueryResult<()> {
        if !self.keeps_partial_records() {
            return Ok(());
        }
        self.batch_execute(CREATE)?;
        let list = committed
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let q = diesel::sql_query(
            "REPLACE INTO __cargo_migrate_partial \
             (version, direction, set_name, sql_sha256, committed_statements, recorded_at) \
             VALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP())",
        )
        .bind::<Text, _>(version)
        .bind::<Text, _>(direction_name(direction))
        .bind::<Text, _>(set)
        .bind::<Text, _>(hash)
        .bind::<Text, _>(list);
        with_conn!(self, c => q.execute(c)).map(|_| ())
    }

    /// Forget the record of the `direction` file of `version` (it has now run in full, or
    /// its committed part was dealt with). Nothing happens when there is none.
    pub fn clear_partial(
        &mut self,
        version: &str,
        direction: Direction,
    ) -> diesel::QueryResult<()> {
        if !self.keeps_partial_records() || !self.has_partial_table()? {
            return Ok(());
        }
        let q = diesel::sql_query(
            "DELETE FROM __cargo_migrate_partial WHERE version = ? AND direction = ?",
        )
        .bind::<Text, _>(version)
        .bind::<Text, _>(direction_name(direction));
        with_conn!(self, c => q.execute(c)).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_sha256_hex() {
        assert_eq!(
            sql_hash(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_ne!(sql_hash("SELECT 1;"), sql_hash("SELECT 1; "));
    }
}
