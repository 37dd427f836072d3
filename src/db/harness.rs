//! Running one migration through diesel_migrations' harness.
//!
//! The stock `FileBasedMigrations` hides the failing migration behind a private error type.
//! Here each migration of our model is handed to the harness as a `diesel::migration::Migration`
//! of our own, whose `run`/`revert` return a [`SqlFailed`] value; the harness passes it through
//! unchanged (inside its own transaction when `run_in_transaction` is on, and records or
//! deletes the version in `__diesel_schema_migrations` in that same transaction), so the
//! caller gets back the file, the database's message and, on PostgreSQL, the position.

use std::cell::RefCell;
use std::error::Error;
use std::fmt;
use std::time::{Duration, Instant};

use super::{one_line, with_conn, Connection};
use crate::backend::Backend;
use crate::database_url::DatabaseUrl;
use crate::failure::MigrationFailure;
use crate::migration::{Direction, Migration};
use diesel::backend::Backend as DieselBackend;
use diesel::connection::BoxableConnection;
use diesel::migration::{
    Migration as DieselMigration, MigrationMetadata, MigrationName, MigrationVersion,
};
use diesel::result::Error as DieselError;
use diesel_migrations::MigrationHarness;

/// The SQL of a migration file failed; carried through the harness as a boxed error.
#[derive(Debug)]
pub struct SqlFailed {
    pub direction: Direction,
    pub source: DieselError,
    /// When the file ran statement by statement: which statement (1-based) and where it starts.
    pub statement: Option<(usize, usize, usize)>,
}

/// One statement of a file, for backends where statements run one at a time.
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "statements"), allow(dead_code))]
struct Piece {
    sql: String,
    line: usize,
    column: usize,
}

/// MySQL commits DDL statement by statement, so a failure must name its statement: split the
/// file with the lint's tokenizer and run the statements one at a time (inside the same
/// transaction the harness opened, so the effect is that of one batch). Files with compound
/// bodies (triggers, procedures, functions, events) and files the tokenizer cannot read run
/// as one batch, exactly as diesel runs them.
/// Without the `statements` feature every file runs as one batch.
#[cfg(not(feature = "statements"))]
fn pieces(_text: &str, _by_statement: bool, _backend: Backend) -> Option<Vec<Piece>> {
    None
}

#[cfg(feature = "statements")]
fn pieces(text: &str, by_statement: bool, backend: Backend) -> Option<Vec<Piece>> {
    if !by_statement {
        return None;
    }
    let split = crate::sql::split(text, backend).ok()?;
    let mut out = Vec::new();
    for stmt in &split.statements {
        let sql = text.get(stmt.bytes.clone())?.to_string();
        let head: Vec<String> = sql
            .split_whitespace()
            .take(6)
            .map(|w| w.to_ascii_uppercase())
            .collect();
        if head.first().is_some_and(|w| w == "CREATE")
            && head
                .iter()
                .any(|w| matches!(w.as_str(), "TRIGGER" | "PROCEDURE" | "FUNCTION" | "EVENT"))
        {
            return None;
        }
        out.push(Piece {
            sql,
            line: stmt.start.line,
            column: stmt.start.column,
        });
    }
    Some(out)
}

impl fmt::Display for SqlFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: {}", self.direction.file_name(), self.source)?;
        if let Some((n, line, _)) = self.statement {
            write!(f, " (statement {n}, line {line})")?;
        }
        Ok(())
    }
}

impl Error for SqlFailed {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

struct Name<'a> {
    dir_name: &'a str,
    version: &'a str,
}

impl fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.dir_name)
    }
}

impl MigrationName for Name<'_> {
    fn version(&self) -> MigrationVersion<'_> {
        MigrationVersion::from(self.version)
    }
}

struct Meta(bool);

impl MigrationMetadata for Meta {
    fn run_in_transaction(&self) -> bool {
        self.0
    }
}

/// One of our migrations, as diesel's harness sees it.
struct Runnable<'a> {
    migration: &'a Migration,
    name: Name<'a>,
    meta: Meta,
    up: Option<Vec<Piece>>,
    down: Option<Vec<Piece>>,
    /// The file's own failure, kept here as well: when diesel's rollback fails after it (a
    /// migration that ended diesel's transaction itself), the harness returns the rollback's
    /// error instead, and the file's error would be lost.
    failed: RefCell<Option<SqlFailed>>,
}

/// What the harness gets back when the file failed; the failure itself stays in
/// [`Runnable::failed`].
#[derive(Debug)]
struct FileFailed(String);

impl fmt::Display for FileFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for FileFailed {}

impl<'a> Runnable<'a> {
    fn new(migration: &'a Migration, conn: &Connection) -> Self {
        let by_statement = conn.runs_statement_by_statement(migration.run_in_transaction);
        let backend = conn.backend();
        Runnable {
            migration,
            name: Name {
                dir_name: &migration.dir_name,
                version: &migration.version,
            },
            meta: Meta(migration.run_in_transaction),
            up: pieces(&migration.up_sql, by_statement, backend),
            down: migration
                .down_sql
                .as_deref()
                .and_then(|d| pieces(d, by_statement, backend)),
            failed: RefCell::new(None),
        }
    }

    fn keep(&self, result: diesel::migration::Result<()>) -> diesel::migration::Result<()> {
        result.map_err(|err| match err.downcast::<SqlFailed>() {
            Ok(sql) => {
                let text = sql.to_string();
                *self.failed.borrow_mut() = Some(*sql);
                Box::new(FileFailed(text)) as BoxErr
            }
            Err(other) => other,
        })
    }
}

fn execute<DB: DieselBackend>(
    conn: &mut dyn BoxableConnection<DB>,
    text: &str,
    pieces: Option<&[Piece]>,
    direction: Direction,
) -> diesel::migration::Result<()> {
    match pieces {
        None => conn.batch_execute(text).map_err(|source| {
            Box::new(SqlFailed {
                direction,
                source,
                statement: None,
            }) as BoxErr
        }),
        Some(pieces) => {
            for (i, p) in pieces.iter().enumerate() {
                crate::interrupt::statement(i + 1);
                conn.batch_execute(&p.sql).map_err(|source| {
                    Box::new(SqlFailed {
                        direction,
                        source,
                        statement: Some((i + 1, p.line, p.column)),
                    }) as BoxErr
                })?;
            }
            Ok(())
        }
    }
}

type BoxErr = Box<dyn Error + Send + Sync>;

impl<DB: DieselBackend> DieselMigration<DB> for Runnable<'_> {
    fn run(&self, conn: &mut dyn BoxableConnection<DB>) -> diesel::migration::Result<()> {
        self.keep(execute(
            conn,
            &self.migration.up_sql,
            self.up.as_deref(),
            Direction::Up,
        ))
    }

    fn revert(&self, conn: &mut dyn BoxableConnection<DB>) -> diesel::migration::Result<()> {
        let sql = self.migration.down_sql.as_deref().unwrap_or_default();
        self.keep(execute(conn, sql, self.down.as_deref(), Direction::Down))
    }

    fn metadata(&self) -> &dyn MigrationMetadata {
        &self.meta
    }

    fn name(&self) -> &dyn MigrationName {
        &self.name
    }
}

/// Line and column of a 1-based character position.
pub fn char_position(text: &str, position: usize) -> (usize, usize) {
    let mut line = 1;
    let mut column = 1;
    for (i, ch) in text.chars().enumerate() {
        if i + 1 >= position {
            break;
        }
        if ch == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    (line, column)
}

fn failure_from(
    err: BoxErr,
    file_failed: Option<SqlFailed>,
    migration: &Migration,
    direction: Direction,
    conn: &Connection,
    url: &DatabaseUrl,
) -> MigrationFailure {
    let statement = file_failed
        .as_ref()
        .and_then(|sql| sql.statement.map(|(n, _, _)| n));
    let partial = conn.may_be_partial(migration.run_in_transaction, statement);
    let mut failure = MigrationFailure::blank(migration, direction, partial);
    failure.message = one_line(&err.to_string(), url);
    if let Some(sql) = &file_failed {
        if let Some((n, line, column)) = sql.statement {
            failure.statement = Some(n);
            failure.line = Some(line);
            failure.column = Some(column);
        }
        describe_database_error(&mut failure, &sql.source, migration, url, 0);
        // The file failed, and then diesel's own rollback did too.
        if err.downcast_ref::<FileFailed>().is_none() {
            failure.message = format!(
                "{}; then diesel could not roll back: {}",
                failure.message,
                one_line(&err.to_string(), url)
            );
        }
    }
    failure
}

/// Fill in the database's message, detail, hint and (PostgreSQL) position. `offset` is how
/// many characters were sent before the file's own text.
pub(crate) fn describe_database_error(
    failure: &mut MigrationFailure,
    err: &DieselError,
    migration: &Migration,
    url: &DatabaseUrl,
    offset: usize,
) {
    failure.message = one_line(&err.to_string(), url);
    if let DieselError::DatabaseError(_, info) = err {
        failure.message = one_line(info.message(), url);
        failure.detail = info.details().map(|d| one_line(d, url));
        failure.hint = info.hint().map(|h| one_line(h, url));
        if let Some(pos) = info.statement_position() {
            let text = match failure.direction {
                Direction::Up => migration.up_sql.as_str(),
                Direction::Down => migration.down_sql.as_deref().unwrap_or_default(),
            };
            let pos = (pos.max(1) as usize).saturating_sub(offset).max(1);
            let (line, column) = char_position(text, pos);
            failure.line = Some(line);
            failure.column = Some(column);
        }
    }
}

/// Apply (`Up`) or revert (`Down`) one migration through diesel's harness, which records or
/// removes its version in the same transaction. Returns how long it took.
pub fn run(
    conn: &mut Connection,
    migration: &Migration,
    direction: Direction,
    url: &DatabaseUrl,
) -> Result<Duration, Box<MigrationFailure>> {
    let runnable = Runnable::new(migration, conn);
    let start = Instant::now();
    let result: Result<(), BoxErr> = match direction {
        Direction::Up => with_conn!(conn, c => c.run_migration(&runnable).map(|_| ())),
        Direction::Down => with_conn!(conn, c => c.revert_migration(&runnable).map(|_| ())),
    };
    let file_failed = runnable.failed.take();
    result.map(|()| start.elapsed()).map_err(|err| {
        Box::new(failure_from(
            err,
            file_failed,
            migration,
            direction,
            conn,
            url,
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_characters() {
        let text = "CREATE TABLE é (id INT);\nINSERT INTO nope VALUES (1);";
        assert_eq!(char_position(text, 1), (1, 1));
        assert_eq!(char_position(text, 26), (2, 1));
        assert_eq!(char_position(text, 38), (2, 13));
    }
}
