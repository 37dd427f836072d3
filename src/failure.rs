//! A migration that did not run to the end, as a value, and the finding that explains it.
//!
//! The database layer fills a [`MigrationFailure`] from what the server said; everything a
//! person reads about it (which file and line, what stayed committed, what to do next) is
//! decided here, in one place, for `apply`, `revert`, `redo` and the scratch replay alike.

use std::path::PathBuf;

use serde::Serialize;

use crate::diagnostic::{Diagnostic, Problem};
use crate::migration::{Direction, Migration};

/// A migration that did not run to the end.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationFailure {
    /// The migration folder's name.
    pub migration: String,
    /// Which file ran.
    pub direction: Direction,
    /// The file that failed (absolute; shown relative to the workspace).
    pub file: PathBuf,
    /// Line in that file, when the database says where (PostgreSQL) or the statement is known.
    pub line: Option<usize>,
    /// Column in that line (characters).
    pub column: Option<usize>,
    /// What the database said, on one line, without passwords.
    pub message: String,
    /// PostgreSQL's DETAIL.
    pub detail: Option<String>,
    /// PostgreSQL's HINT.
    pub hint: Option<String>,
    /// Whether earlier statements of this migration may be committed (MySQL DDL commits
    /// implicitly; SQLite and PostgreSQL roll back the whole migration).
    pub may_be_partial: bool,
    /// Which statement of the file failed (1-based), when it ran statement by statement.
    pub statement: Option<usize>,
}

impl MigrationFailure {
    /// A failure of `migration` before the database said why.
    pub fn blank(migration: &Migration, direction: Direction, may_be_partial: bool) -> Self {
        MigrationFailure {
            migration: migration.dir_name.clone(),
            direction,
            file: migration.dir.join(direction.file_name()),
            line: None,
            column: None,
            message: String::new(),
            detail: None,
            hint: None,
            may_be_partial,
            statement: None,
        }
    }
}

/// What was going on when a migration failed; it decides the help a person gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureContext {
    /// `apply` or `revert`, with this many migrations of the run done before it.
    Run {
        /// Migrations of this run that completed before the failing one.
        earlier: usize,
    },
    /// `redo` re-applying a migration whose down.sql just ran.
    RedoReapply,
    /// The scratch replay of `check`, `schema`, `generate` and `baseline`.
    Replay,
}

/// `1 statement`, `3 statements`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

impl MigrationFailure {
    /// The finding that tells a person what failed, where, and what to do.
    pub fn diagnostic(
        &self,
        set: &str,
        migration: Option<&Migration>,
        cx: FailureContext,
    ) -> Diagnostic {
        let (code, message) = match cx {
            FailureContext::Replay => (
                Problem::ReplayFailed,
                format!(
                    "replaying the history on a scratch database failed at {}: {}",
                    self.migration, self.message
                ),
            ),
            _ => (
                Problem::MigrationFailed,
                format!("migration {} failed: {}", self.migration, self.message),
            ),
        };
        let mut d = Diagnostic::error(code, message)
            .with_set(set)
            .with_file(&self.file);
        if let (Some(line), Some(column)) = (self.line, self.column) {
            d = d.with_location(line, column);
            let text = migration.and_then(|m| match self.direction {
                Direction::Up => Some(m.up_sql.as_str()),
                Direction::Down => m.down_sql.as_deref(),
            });
            if let Some(src) = text.and_then(|t| t.lines().nth(line.saturating_sub(1))) {
                d = d.with_source_line(src, 1);
            }
        }
        d.with_help(self.help(cx))
    }

    fn help(&self, cx: FailureContext) -> String {
        match cx {
            FailureContext::Replay => {
                return "the migrations do not run on an empty database; fix this migration (the scratch database was dropped)".to_string();
            }
            FailureContext::RedoReapply => {
                return format!(
                    "{m} was reverted and then failed to apply again, so its down.sql probably does not undo its up.sql completely; fix down.sql (and undo by hand what it left), then run `apply`",
                    m = self.migration
                );
            }
            FailureContext::Run { .. } => {}
        }
        let earlier = match cx {
            FailureContext::Run { earlier } => earlier,
            _ => 0,
        };
        let mut help = Vec::new();
        if let Some(detail) = &self.detail {
            help.push(format!("database detail: {detail}"));
        }
        if let Some(hint) = &self.hint {
            help.push(format!("database hint: {hint}"));
        }
        let kept = match earlier {
            0 => String::new(),
            1 => "; the migration before it stays applied".to_string(),
            n => format!("; the {n} migrations before it stay applied"),
        };
        let again = match self.direction {
            Direction::Up => "`apply`",
            Direction::Down => "`revert`",
        };
        if self.may_be_partial {
            let which = match (self.statement, self.line) {
                (Some(n), Some(line)) => format!(
                    "statement {n} (line {line}) failed; the {} before it ran, and this database commits DDL implicitly, so their DDL stays",
                    count(n - 1, "statement")
                ),
                _ => format!(
                    "this database commits DDL statements one by one: statements of {} before the failing one may have been committed",
                    self.migration
                ),
            };
            help.push(format!(
                "{which}{kept}; inspect the database and undo them before running {again} again"
            ));
        } else {
            help.push(format!(
                "{} was rolled back completely{kept}; fix {} and run {again} again",
                self.migration,
                self.direction.file_name()
            ));
        }
        help.join("\n")
    }
}
