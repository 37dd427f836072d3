//! Findings as values.
//!
//! Everything that `check`, folder validation and lint find is a [`Diagnostic`]: a stable code,
//! a severity, where it is (set, file, line, column) and what to do about it. Commands collect
//! them, keep going, and hand them to the output layer at the end, so one bad migration never
//! hides the next. Rendering to text happens here, into a `String`, so it can be snapshot-tested;
//! nothing in this module prints.

use std::fmt::{self, Write as _};
use std::path::PathBuf;

use serde::Serialize;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Fails `check` (exit 1).
    Error,
    /// Reported; fails `check` only under `--deny warnings`.
    Warning,
    /// Informational; never fails anything.
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A 1-based position in a file. `column` counts characters, not bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

/// A check that is not a lint rule: folder problems, drift, database state, released history.
///
/// Lint findings carry their rule's id instead ([`Code::Rule`]); the two never share an id
/// (a unit test holds every [`Problem`] id against the lint registry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Problem {
    /// The migrations folder does not exist.
    MissingMigrationsDir,
    /// A file or folder cannot be read.
    UnreadableFile,
    /// A file is not UTF-8.
    NonUtf8File,
    /// A folder name is not `<version>_<name>`.
    InvalidMigrationName,
    /// A migration folder without up.sql.
    MissingUpSql,
    /// A malformed metadata.toml.
    MalformedMetadata,
    /// Two migrations with one version.
    DuplicateVersion,
    /// Two sets on one database with one version.
    SharedDatabaseVersionCollision,
    /// A set whose backend is not known.
    UnknownBackend,
    /// A migration failed while it ran.
    MigrationFailed,
    /// The history does not replay on a scratch database.
    ReplayFailed,
    /// The schema file differs from the history's schema.
    SchemaDrift,
    /// A live database differs from its applied history's schema.
    LiveDrift,
    /// An object of a live database's catalog differs from its applied history's.
    CatalogDrift,
    /// The set's database does not exist yet.
    DatabaseMissing,
    /// A migration is not applied to the set's database.
    PendingMigration,
    /// The database records a version the folder does not have.
    UnknownAppliedMigration,
    /// A pending migration is older than the newest applied one.
    OutOfOrderMigration,
    /// A pending migration failed part way and left statements committed (MySQL/MariaDB).
    PartiallyAppliedMigration,
    /// An applied migration's files changed since it was applied.
    AppliedMigrationChanged,
    /// A released migration was edited.
    ReleasedMigrationEdited,
    /// A released migration was renamed.
    ReleasedMigrationRenamed,
    /// A released migration was deleted.
    ReleasedMigrationDeleted,
    /// A new migration sorts before the newest released one.
    NewMigrationOutOfOrder,
}

impl Problem {
    /// Every problem, in a stable order.
    pub const ALL: &'static [Problem] = &[
        Problem::MissingMigrationsDir,
        Problem::UnreadableFile,
        Problem::NonUtf8File,
        Problem::InvalidMigrationName,
        Problem::MissingUpSql,
        Problem::MalformedMetadata,
        Problem::DuplicateVersion,
        Problem::SharedDatabaseVersionCollision,
        Problem::UnknownBackend,
        Problem::MigrationFailed,
        Problem::ReplayFailed,
        Problem::SchemaDrift,
        Problem::LiveDrift,
        Problem::CatalogDrift,
        Problem::DatabaseMissing,
        Problem::PendingMigration,
        Problem::UnknownAppliedMigration,
        Problem::OutOfOrderMigration,
        Problem::PartiallyAppliedMigration,
        Problem::AppliedMigrationChanged,
        Problem::ReleasedMigrationEdited,
        Problem::ReleasedMigrationRenamed,
        Problem::ReleasedMigrationDeleted,
        Problem::NewMigrationOutOfOrder,
    ];

    /// The stable kebab-case id shown in output and JSON.
    pub fn id(self) -> &'static str {
        match self {
            Problem::MissingMigrationsDir => "missing-migrations-dir",
            Problem::UnreadableFile => "unreadable-file",
            Problem::NonUtf8File => "non-utf8-file",
            Problem::InvalidMigrationName => "invalid-migration-name",
            Problem::MissingUpSql => "missing-up-sql",
            Problem::MalformedMetadata => "malformed-metadata",
            Problem::DuplicateVersion => "duplicate-version",
            Problem::SharedDatabaseVersionCollision => "shared-database-version-collision",
            Problem::UnknownBackend => "unknown-backend",
            Problem::MigrationFailed => "migration-failed",
            Problem::ReplayFailed => "replay-failed",
            Problem::SchemaDrift => "schema-drift",
            Problem::LiveDrift => "live-drift",
            Problem::CatalogDrift => "catalog-drift",
            Problem::DatabaseMissing => "database-missing",
            Problem::PendingMigration => "pending-migration",
            Problem::UnknownAppliedMigration => "unknown-applied-migration",
            Problem::OutOfOrderMigration => "out-of-order-migration",
            Problem::PartiallyAppliedMigration => "partially-applied-migration",
            Problem::AppliedMigrationChanged => "applied-migration-changed",
            Problem::ReleasedMigrationEdited => "released-migration-edited",
            Problem::ReleasedMigrationRenamed => "released-migration-renamed",
            Problem::ReleasedMigrationDeleted => "released-migration-deleted",
            Problem::NewMigrationOutOfOrder => "new-migration-out-of-order",
        }
    }
}

/// What kind of finding a diagnostic is: a lint rule's (its id) or one of the [`Problem`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Code {
    /// A lint rule, by its id (see `lint::rules`).
    Rule(&'static str),
    /// A check of the tool's own.
    Problem(Problem),
}

impl Code {
    /// The stable kebab-case id.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Rule(id) => id,
            Code::Problem(p) => p.id(),
        }
    }
}

impl From<Problem> for Code {
    fn from(p: Problem) -> Self {
        Code::Problem(p)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// What kind of finding this is (its stable id).
    pub code: Code,
    pub severity: Severity,
    /// The migration set (its package name), when the finding belongs to one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set: Option<String>,
    /// The file. Absolute inside the tool; the printer shows it relative to the workspace root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// The text of the line at `location`, shown under the message with a marker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_line: Option<String>,
    /// How many characters the marker under `source_line` spans (at least 1).
    #[serde(skip_serializing_if = "is_zero")]
    pub width: usize,
    /// What happened.
    pub message: String,
    /// What to do next.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Diagnostic {
    /// A finding of a check of the tool's own.
    pub fn new(code: impl Into<Code>, severity: Severity, message: impl Into<String>) -> Self {
        Diagnostic {
            code: code.into(),
            severity,
            set: None,
            file: None,
            location: None,
            source_line: None,
            width: 0,
            message: message.into(),
            help: None,
        }
    }

    /// A lint rule's finding.
    pub fn lint(rule: &'static str, severity: Severity, message: impl Into<String>) -> Self {
        Self::new(Code::Rule(rule), severity, message)
    }

    /// An error.
    pub fn error(code: impl Into<Code>, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Error, message)
    }

    /// A warning.
    pub fn warning(code: impl Into<Code>, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Warning, message)
    }

    pub fn with_set(mut self, set: impl Into<String>) -> Self {
        self.set = Some(set.into());
        self
    }

    pub fn with_file(mut self, file: impl Into<PathBuf>) -> Self {
        self.file = Some(file.into());
        self
    }

    pub fn with_location(mut self, line: usize, column: usize) -> Self {
        self.location = Some(Location { line, column });
        self
    }

    /// Attach the source line under the location, with a marker `width` characters wide.
    pub fn with_source_line(mut self, text: impl Into<String>, width: usize) -> Self {
        self.source_line = Some(text.into());
        self.width = width.max(1);
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// `file:line:col`, `file:line`, `file`, or nothing.
    pub fn position(&self) -> Option<String> {
        let file = self.file.as_ref()?.display().to_string();
        Some(match self.location {
            Some(Location { line, column }) if column > 0 => format!("{file}:{line}:{column}"),
            Some(Location { line, .. }) => format!("{file}:{line}"),
            None => file,
        })
    }

    /// Render as a compiler-style block of plain text (no colors), ending in a newline:
    ///
    /// ```text
    /// warning[create-index-non-concurrently]: CREATE INDEX blocks writes to `users` while it builds
    ///   --> crates/api/migrations/2024-01-02-000000_idx/up.sql:3:1
    ///    |
    ///  3 | CREATE INDEX users_email ON users (email);
    ///    | ^^^^^^^^^^^^
    ///    = help: use CREATE INDEX CONCURRENTLY with `run_in_transaction = false`, alone in its file
    /// ```
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = write!(out, "{}[{}]: {}", self.severity, self.code, self.message);
        if let Some(set) = &self.set {
            if self.file.is_none() {
                let _ = write!(out, " (set `{set}`)");
            }
        }
        out.push('\n');
        let gutter = self
            .location
            .map(|l| l.line.to_string().len())
            .unwrap_or(1)
            .max(1);
        let pad = " ".repeat(gutter);
        if let Some(pos) = self.position() {
            let _ = writeln!(out, "{pad}--> {pos}");
        }
        if let (Some(text), Some(loc)) = (&self.source_line, self.location) {
            let text = text.trim_end_matches(['\r', '\n']);
            let _ = writeln!(out, "{pad} |");
            let _ = writeln!(out, "{:>gutter$} | {}", loc.line, text);
            let col = loc.column.max(1) - 1;
            let prefix: String = text
                .chars()
                .take(col)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let _ = writeln!(out, "{pad} | {prefix}{}", "^".repeat(self.width.max(1)));
        }
        if let Some(help) = &self.help {
            let mut lines = help.lines();
            if let Some(first) = lines.next() {
                let _ = writeln!(out, "{pad} = help: {first}");
            }
            for line in lines {
                let _ = writeln!(out, "{pad}         {line}");
            }
        }
        out
    }
}

/// Counts of findings by severity, for summaries and exit codes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

impl Counts {
    pub fn of<'a>(diags: impl IntoIterator<Item = &'a Diagnostic>) -> Self {
        let mut c = Counts::default();
        for d in diags {
            match d.severity {
                Severity::Error => c.errors += 1,
                Severity::Warning => c.warnings += 1,
                Severity::Info => c.infos += 1,
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_a_compiler() {
        let d = Diagnostic::lint(
            "create-index-non-concurrently",
            Severity::Warning,
            "CREATE INDEX blocks writes",
        )
        .with_set("api")
        .with_file("migrations/1_x/up.sql")
        .with_location(3, 5)
        .with_source_line("    CREATE INDEX i ON t (a);", 12)
        .with_help("use CONCURRENTLY\nalone in its file");
        let text = d.render();
        assert_eq!(
            text,
            "warning[create-index-non-concurrently]: CREATE INDEX blocks writes\n \
             --> migrations/1_x/up.sql:3:5\n  |\n3 |     CREATE INDEX i ON t (a);\n  |     ^^^^^^^^^^^^\n  \
             = help: use CONCURRENTLY\n          alone in its file\n"
        );
    }

    #[test]
    fn renders_without_location() {
        let d = Diagnostic::error(Problem::MissingUpSql, "no up.sql").with_file("migrations/1_x");
        assert_eq!(
            d.render(),
            "error[missing-up-sql]: no up.sql\n --> migrations/1_x\n"
        );
        let d = Diagnostic::error(Problem::SchemaDrift, "y").with_set("api");
        assert_eq!(d.render(), "error[schema-drift]: y (set `api`)\n");
    }

    #[test]
    fn counts_by_severity() {
        let ds = [
            Diagnostic::error(Problem::SchemaDrift, "a"),
            Diagnostic::warning(Problem::OutOfOrderMigration, "b"),
            Diagnostic::lint("drop-column", Severity::Warning, "c"),
        ];
        assert_eq!(
            Counts::of(&ds),
            Counts {
                errors: 1,
                warnings: 2,
                infos: 0
            }
        );
    }

    #[test]
    fn problem_ids_are_unique_and_never_a_rule_id() {
        let mut seen = std::collections::BTreeSet::new();
        for p in Problem::ALL {
            assert!(seen.insert(p.id()), "{} is used twice", p.id());
            assert!(
                crate::lint::rules::find(p.id()).is_none(),
                "`{}` is both a problem id and a lint rule id",
                p.id()
            );
        }
    }
}
