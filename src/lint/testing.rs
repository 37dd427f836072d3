//! Test helpers shared by the rule tests: build a small migration set, lint it, and look at one
//! rule's findings.
//!
//! ```ignore
//! use super::ID;
//! Case::pg("CREATE INDEX i ON users (email);").fires(ID);
//! Case::pg("CREATE TABLE users (id INT);\nCREATE INDEX i ON users (id);").quiet(ID);
//! insta::assert_snapshot!(lint_errors("CREATE INDEX i ON users (email);", ID));
//! ```
//!
//! Every helper that takes a rule id panics on an id no rule has, and on a backend the rule
//! does not run on: `quiet("drop-colum")` or a PostgreSQL-only rule checked on SQLite would
//! otherwise pass without testing anything.

use std::path::PathBuf;

use crate::backend::Backend;
use crate::diagnostic::Diagnostic;

use super::rules::{self, Rule};
use super::{lint_set, LintConfig, MigrationInput, SqlFile};

/// The registered rule with this id; panics with the known ids otherwise.
#[track_caller]
pub fn rule(id: &str) -> &'static dyn Rule {
    match rules::find(id) {
        Some(r) => r,
        None => {
            let ids: Vec<&str> = rules::all().iter().map(|r| r.info().id).collect();
            panic!(
                "`{id}` is not a registered rule id (a typo would make the test pass without \
                 checking anything); known ids: {}",
                ids.join(", ")
            )
        }
    }
}

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

    /// The findings of one rule. Panics when no rule has this id, or when the rule does not
    /// run on this case's backend.
    #[track_caller]
    pub fn findings(&self, id: &str) -> Vec<Diagnostic> {
        let r = rule(id);
        assert!(
            r.info().backends.contains(&self.backend),
            "`{id}` does not run on {}: checking it there cannot fail",
            self.backend.as_str()
        );
        self.lint().into_iter().filter(|d| d.code == id).collect()
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

    /// Assert the rule fires; returns its findings rendered as `check` prints them (no
    /// colors), one block after another, for a snapshot of the messages and help.
    #[track_caller]
    pub fn rendered(&self, rule: &str) -> String {
        render(&self.fires(rule))
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

/// Render diagnostics as `check` prints them, with `/` as the path separator on every OS.
pub fn render(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|d| {
            let mut d = d.clone();
            d.file = d
                .file
                .map(|f| PathBuf::from(f.to_string_lossy().replace('\\', "/")));
            d.render()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The findings of rule `id` on a single migration `sql`, rendered (see [`Case::rendered`]).
/// The migration is read on the first backend the rule lists; asserts that the rule fires.
#[track_caller]
pub fn lint_errors(sql: &str, id: &str) -> String {
    let backend = rule(id).info().backends[0];
    Case::new(backend, sql).rendered(id)
}

/// Assert rule `id` is quiet on a single migration `sql`, read on every backend the rule
/// lists.
#[track_caller]
pub fn lint_ok(sql: &str, id: &str) {
    for backend in rule(id).info().backends {
        Case::new(*backend, sql).quiet(id)
    }
}

/// The (line, column) of a diagnostic.
pub fn at(d: &Diagnostic) -> (usize, usize) {
    d.location.map(|l| (l.line, l.column)).unwrap_or((0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::rules::volatile_default;

    #[test]
    #[should_panic(expected = "`drop-colum` is not a registered rule id")]
    fn unknown_ids_are_rejected() {
        Case::pg("SELECT 1;").quiet("drop-colum");
    }

    #[test]
    #[should_panic(expected = "`volatile-default` does not run on sqlite")]
    fn rules_of_other_backends_are_rejected() {
        Case::sqlite("SELECT 1;").quiet(volatile_default::ID);
    }

    #[test]
    fn lint_errors_renders_every_finding_of_the_rule() {
        let text = lint_errors(
            "ALTER TABLE users DROP COLUMN a;\nALTER TABLE users DROP COLUMN b;",
            "drop-column",
        );
        assert_eq!(text.matches("warning[drop-column]").count(), 2, "{text}");
        assert!(
            text.contains("--> migrations/2024-01-01-000000_m0/up.sql:2:31"),
            "{text}"
        );
    }
}
