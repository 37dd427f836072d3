//! Test helpers shared by the rule tests: build a small migration set, lint it, and look at one
//! rule's findings.
//!
//! ```ignore
//! Case::pg("CREATE INDEX i ON users (email);").fires("create-index-non-concurrently");
//! Case::pg("CREATE INDEX i ON users (email);").after(&["CREATE TABLE users (id INT);"]) ...
//! ```

use std::path::PathBuf;

use crate::backend::Backend;
use crate::diagnostic::Diagnostic;

use super::{lint_set, LintConfig, MigrationInput, SqlFile};

/// One migration set under test: earlier migrations (`after`) and the migration being looked at.
pub struct Case {
    pub backend: Backend,
    pub history: Vec<String>,
    pub up: Option<String>,
    pub down: Option<String>,
    pub run_in_transaction: bool,
    pub config: LintConfig,
}

impl Case {
    pub fn new(backend: Backend, up: &str) -> Case {
        Case {
            backend,
            history: Vec::new(),
            up: Some(up.to_string()),
            down: Some("-- nothing to undo\nSELECT 1;\n".to_string()),
            run_in_transaction: true,
            config: LintConfig::default(),
        }
    }
    pub fn pg(up: &str) -> Case {
        Case::new(Backend::Postgres, up)
    }
    pub fn mysql(up: &str) -> Case {
        Case::new(Backend::Mysql, up)
    }
    pub fn sqlite(up: &str) -> Case {
        Case::new(Backend::Sqlite, up)
    }
    /// Earlier migrations' `up.sql`, oldest first.
    pub fn after(mut self, history: &[&str]) -> Case {
        self.history = history.iter().map(|s| s.to_string()).collect();
        self
    }
    pub fn down(mut self, down: Option<&str>) -> Case {
        self.down = down.map(str::to_string);
        self
    }
    /// `run_in_transaction = false`.
    pub fn no_transaction(mut self) -> Case {
        self.run_in_transaction = false;
        self
    }
    pub fn config(mut self, config: LintConfig) -> Case {
        self.config = config;
        self
    }

    /// Lint the set; returns every diagnostic of the last migration.
    pub fn lint(&self) -> Vec<Diagnostic> {
        let names: Vec<(String, String, PathBuf, PathBuf, PathBuf)> = (0..=self.history.len())
            .map(|i| {
                let version = format!("2024010100{:04}", i);
                let dir_name = format!("2024-01-01-00{:04}_m{i}", i);
                let dir = PathBuf::from("migrations").join(&dir_name);
                (
                    dir_name,
                    version,
                    dir.join("up.sql"),
                    dir.join("down.sql"),
                    dir,
                )
            })
            .collect();
        let history_down = "SELECT 1;".to_string();
        let mut inputs = Vec::new();
        for (i, (dir_name, version, up, down, dir)) in names.iter().enumerate() {
            let last = i == self.history.len();
            let up_text = if last {
                self.up.as_ref()
            } else {
                Some(&self.history[i])
            };
            let down_text = if last {
                self.down.as_ref()
            } else {
                Some(&history_down)
            };
            inputs.push(MigrationInput {
                dir_name,
                version,
                dir,
                up: up_text.map(|t| SqlFile { path: up, text: t }),
                down: down_text.map(|t| SqlFile {
                    path: down,
                    text: t,
                }),
                run_in_transaction: if last { self.run_in_transaction } else { true },
            });
        }
        let last_dir = &names[self.history.len()].4;
        lint_set("test", self.backend, &inputs, &self.config)
            .into_iter()
            .filter(|d| d.file.as_ref().is_some_and(|f| f.starts_with(last_dir)))
            .collect()
    }

    /// The findings of one rule.
    pub fn findings(&self, rule: &str) -> Vec<Diagnostic> {
        self.lint().into_iter().filter(|d| d.code == rule).collect()
    }

    /// Assert the rule fires; returns its findings.
    #[track_caller]
    pub fn fires(&self, rule: &str) -> Vec<Diagnostic> {
        let found = self.findings(rule);
        assert!(
            !found.is_empty(),
            "expected `{rule}` to fire, got: {:#?}",
            self.lint().iter().map(|d| d.render()).collect::<Vec<_>>()
        );
        for d in &found {
            assert!(
                d.help.as_ref().is_some_and(|h| !h.is_empty()),
                "`{rule}` finding without help"
            );
        }
        found
    }

    /// Assert the rule stays quiet.
    #[track_caller]
    pub fn quiet(&self, rule: &str) {
        let found = self.findings(rule);
        assert!(
            found.is_empty(),
            "expected `{rule}` to stay quiet, got: {:#?}",
            found.iter().map(|d| d.render()).collect::<Vec<_>>()
        );
    }
}

/// Findings of `rule` for a single PostgreSQL/MySQL/SQLite migration (shorthand).
#[track_caller]
pub fn lint_errors(sql: &str, backend: Backend, rule: &str) -> Vec<Diagnostic> {
    Case::new(backend, sql).fires(rule)
}

/// Assert `rule` is quiet on a single migration.
#[track_caller]
pub fn lint_ok(sql: &str, backend: Backend, rule: &str) {
    Case::new(backend, sql).quiet(rule)
}

/// The (line, column) of a diagnostic.
pub fn at(d: &Diagnostic) -> (usize, usize) {
    d.location.map(|l| (l.line, l.column)).unwrap_or((0, 0))
}
