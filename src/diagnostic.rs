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

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Stable kebab-case id: a lint rule id or a folder/drift check id.
    pub code: String,
    pub severity: Severity,
    /// The migration set (its package name), when the finding belongs to one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set: Option<String>,
    /// The file, as shown to the user (relative to the workspace root where possible).
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
    pub fn new(code: impl Into<String>, severity: Severity, message: impl Into<String>) -> Self {
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

    pub fn error(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Error, message)
    }

    pub fn warning(code: impl Into<String>, message: impl Into<String>) -> Self {
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
        let d = Diagnostic::warning(
            "create-index-non-concurrently",
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
        let d = Diagnostic::error("missing-up-sql", "no up.sql").with_file("migrations/1_x");
        assert_eq!(
            d.render(),
            "error[missing-up-sql]: no up.sql\n --> migrations/1_x\n"
        );
        let d = Diagnostic::error("x", "y").with_set("api");
        assert_eq!(d.render(), "error[x]: y (set `api`)\n");
    }

    #[test]
    fn counts_by_severity() {
        let ds = [
            Diagnostic::error("a", "a"),
            Diagnostic::warning("b", "b"),
            Diagnostic::warning("c", "c"),
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
}
