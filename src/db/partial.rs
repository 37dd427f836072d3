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
//! SQLite does the same for a migration without diesel's transaction
//! (`run_in_transaction = false`): its statements run one at a time, each committing on its
//! own. PostgreSQL never creates the table: it rolls a failed migration back as a whole (a
//! file without a transaction runs as one implicit transaction there).

use diesel::sql_types::{BigInt, Text};
use diesel::{QueryableByName, RunQueryDsl};
use sha2::{Digest, Sha256};

use super::{with_conn, Connection, DbError};
use crate::database_url::DatabaseUrl;
use crate::migration::Direction;

/// The table's name.
pub const TABLE: &str = "__cargo_migrate_partial";

/// The SQL of the records in one backend's dialect (see [`super::OwnTables`]).
pub struct PartialSql {
    /// `n`: whether the table exists.
    pub exists: &'static str,
    pub create: &'static str,
    /// Binds version, direction, set_name, sql_sha256, committed_statements, recorded_at
    /// (`YYYY-MM-DD HH:MM:SS`, UTC); replaces the record of the same file.
    pub replace: &'static str,
    /// Columns version, direction, set_name, sql_sha256, committed_statements and
    /// recorded_at (`YYYY-MM-DD HH:MM:SS`), as text, by version.
    pub select: &'static str,
    /// Binds version, direction.
    pub delete: &'static str,
}

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
    format!("{:x}", Sha256::digest(text.as_bytes()))
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
    /// The SQL of the records, where this backend can leave a migration partially applied.
    fn partial_sql(&self) -> Option<&'static PartialSql> {
        super::own_tables(self.backend()).partial.as_ref()
    }

    /// Whether this backend can leave a migration partially applied (and so keeps records).
    fn keeps_partial_records(&self) -> bool {
        self.partial_sql().is_some()
    }

    fn has_partial_table(&mut self) -> diesel::QueryResult<bool> {
        let Some(sql) = self.partial_sql() else {
            return Ok(false);
        };
        let q = diesel::sql_query(sql.exists);
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
        let Some(sql) = self.partial_sql() else {
            return Ok(Vec::new());
        };
        let q = diesel::sql_query(sql.select);
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
        let Some(sql) = self.partial_sql() else {
            return Ok(());
        };
        self.batch_execute(sql.create)?;
        let list = committed
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let (year, month, day, h, m, sec) =
            crate::migration::utc_parts(std::time::SystemTime::now());
        let now = format!("{year:04}-{month:02}-{day:02} {h:02}:{m:02}:{sec:02}");
        let q = diesel::sql_query(sql.replace)
            .bind::<Text, _>(version)
            .bind::<Text, _>(direction_name(direction))
            .bind::<Text, _>(set)
            .bind::<Text, _>(hash)
            .bind::<Text, _>(list)
            .bind::<Text, _>(now);
        with_conn!(self, c => q.execute(c)).map(|_| ())
    }

    /// Forget the record of the `direction` file of `version` (it has now run in full, or
    /// its committed part was dealt with). Nothing happens when there is none.
    pub fn clear_partial(
        &mut self,
        version: &str,
        direction: Direction,
    ) -> diesel::QueryResult<()> {
        let Some(sql) = self.partial_sql() else {
            return Ok(());
        };
        if !self.has_partial_table()? {
            return Ok(());
        }
        let q = diesel::sql_query(sql.delete)
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
