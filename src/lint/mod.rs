//! The SQL migration linter.
//!
//! [`lint_set`] reads every migration of one set, oldest first. Each `up.sql` is split into
//! statements ([`split`]), each statement is parsed and reduced to the actions the rules care
//! about ([`model`]), and the actions are replayed into a model of the schema ([`schema`]) so
//! that every rule sees a statement in its place: which tables existed before it, which enum
//! types and labels, which columns use them. `down.sql` is read against the schema `up.sql`
//! left behind.
//!
//! Findings become [`Diagnostic`]s after three filters: inline
//! `-- cargo-migrate: allow(rule-id): reason` comments ([`suppress`]), the per-rule levels of
//! [`LintConfig`] (`deny` gives errors, `warn` warnings, `allow` drops them), and
//! `lint-after`, which keeps older migrations out of the report while still replaying them.
//!
//! The rules live one per file under [`rules`](mod@rules); [`rules()`] lists them.

use std::path::Path;

use crate::backend::Backend;
use crate::diagnostic::Diagnostic;

pub mod config;
pub mod implicit_commit;
pub mod model;
pub mod rules;
pub mod schema;

pub mod suppress;

#[cfg(test)]
mod rules_docs;
#[cfg(test)]
pub(crate) mod testing;

pub use config::{Level, LintConfig};
pub use rules::unresolved_todo::{todo_markers, TodoMarker};
pub use rules::RuleInfo;

use crate::sql::{self as split, SplitFile};
use model::Facts;
use rules::{Created, EndCx, FileCx, FileKind, FileState, Finding, MigrationCx, StmtCx};
use schema::Schema;

/// A migration file: its path as shown to the user and its text.
#[derive(Debug, Clone, Copy)]
pub struct SqlFile<'a> {
    pub path: &'a Path,
    pub text: &'a str,
}

/// One migration folder, as the linter needs it.
#[derive(Debug, Clone, Copy)]
pub struct MigrationInput<'a> {
    /// e.g. `2024-01-01-000000_create_users`.
    pub dir_name: &'a str,
    /// Diesel's version: the folder name up to the first `_`, dashes removed.
    pub version: &'a str,
    /// The folder as shown to the user, for folder-level findings.
    pub dir: &'a Path,
    pub up: Option<SqlFile<'a>>,
    pub down: Option<SqlFile<'a>>,
    /// From `metadata.toml`, with diesel's semantics.
    pub run_in_transaction: bool,
}

/// Every rule: id, default level, backends, summary.
pub fn rules() -> Vec<RuleInfo> {
    rules::all().iter().map(|r| r.info().clone()).collect()
}

/// A file split and read, or why it could not be.
enum Read<'t> {
    Missing,
    Unreadable(split::SplitError),
    Parsed(SplitFile<'t>, Vec<Facts>),
}

fn read<'t>(file: Option<&SqlFile<'t>>, backend: Backend) -> Read<'t> {
    let Some(file) = file else {
        return Read::Missing;
    };
    match split::split(file.text, backend) {
        Err(e) => Read::Unreadable(e),
        Ok(s) => {
            let facts = s
                .statements
                .iter()
                .map(|st| model::facts(&s, st, backend))
                .collect();
            Read::Parsed(s, facts)
        }
    }
}

/// What the lint of one set found.
#[derive(Debug, Clone, Default)]
pub struct LintOutcome {
    /// The findings, after allow comments and levels.
    pub findings: Vec<Diagnostic>,
    /// Findings silenced by inline `allow(...)` comments (and not dropped by a level anyway).
    pub allowed: usize,
}

/// Lint every migration of one set, oldest first (the caller sorts them by version).
pub fn lint_set(
    set: &str,
    backend: Backend,
    migrations: &[MigrationInput],
    config: &LintConfig,
) -> Vec<Diagnostic> {
    lint_set_counted(set, backend, migrations, config).findings
}

/// [`lint_set`], also counting the findings that allow comments silenced.
pub fn lint_set_counted(
    set: &str,
    backend: Backend,
    migrations: &[MigrationInput],
    config: &LintConfig,
) -> LintOutcome {
    let active_rules: Vec<&'static dyn rules::Rule> = rules::all()
        .iter()
        .copied()
        .filter(|r| r.info().backends.contains(&backend))
        .collect();
    // Todo markers are not a judgment about the SQL: they are read even where `lint-after`
    // skips the other rules.
    let always: [&'static dyn rules::Rule; 1] = [&rules::unresolved_todo::UnresolvedTodo];
    let mut schema = Schema::default();
    let mut out = Vec::new();
    let mut allowed = 0;
    for m in migrations {
        let active = config.lints_version(m.version);
        let mut findings = Vec::new();
        if !active {
            let rules: &[&dyn rules::Rule] = &[];
            if let Read::Parsed(split, facts) = &read(m.up.as_ref(), backend) {
                let cx = FileCx {
                    kind: FileKind::Up,
                    backend,
                    migration: m,
                    split,
                    facts,
                    config,
                };
                run_file(&cx, &mut schema, true, rules, &mut findings);
            }
            let mcx = MigrationCx {
                backend,
                migration: m,
                up: FileState::Missing,
                down: FileState::Missing,
                up_created: &Created::default(),
            };
            for r in always {
                r.check_migration(&mcx, &mut findings);
            }
            out.extend(
                findings
                    .into_iter()
                    .filter_map(|f| to_diagnostic(set, m, f, config)),
            );
            continue;
        }
        let rules: &[&dyn rules::Rule] = &active_rules;

        let up = read(m.up.as_ref(), backend);
        let mut up_created = Created::default();
        if let Read::Parsed(split, facts) = &up {
            let cx = FileCx {
                kind: FileKind::Up,
                backend,
                migration: m,
                split,
                facts,
                config,
            };
            up_created = run_file(&cx, &mut schema, true, rules, &mut findings);
        }
        let down = read(m.down.as_ref(), backend);
        let down_cx = match &down {
            Read::Parsed(split, facts) => {
                let cx = FileCx {
                    kind: FileKind::Down,
                    backend,
                    migration: m,
                    split,
                    facts,
                    config,
                };
                // down.sql is read against the schema up.sql left, without changing it.
                run_down(&cx, &schema, rules, &mut findings);
                Some(cx)
            }
            _ => None,
        };
        let up_cx = match &up {
            Read::Parsed(split, facts) => Some(FileCx {
                kind: FileKind::Up,
                backend,
                migration: m,
                split,
                facts,
                config,
            }),
            _ => None,
        };
        let up_state = match (&up, &up_cx) {
            (Read::Unreadable(e), _) => FileState::Unreadable(e),
            (Read::Parsed(..), Some(cx)) => FileState::Read(cx),
            _ => FileState::Missing,
        };
        let down_state = match (&down, &down_cx) {
            (Read::Unreadable(e), _) => FileState::Unreadable(e),
            (Read::Parsed(..), Some(cx)) => FileState::Read(cx),
            _ => FileState::Missing,
        };
        let mcx = MigrationCx {
            backend,
            migration: m,
            up: up_state,
            down: down_state,
            up_created: &up_created,
        };
        for r in rules {
            r.check_migration(&mcx, &mut findings);
        }

        // Inline suppressions, then levels.
        let mut meta = Vec::new();
        let before = findings.clone();
        let mut silenced = 0;
        if let Read::Parsed(split, _) = &up {
            meta.extend(suppress::apply(
                split,
                FileKind::Up,
                &mut findings,
                &mut silenced,
            ));
        }
        if let Read::Parsed(split, _) = &down {
            meta.extend(suppress::apply(
                split,
                FileKind::Down,
                &mut findings,
                &mut silenced,
            ));
        }
        if silenced > 0 {
            // Count only what a level would have reported.
            allowed += before
                .iter()
                .filter(|f| !findings.contains(f))
                .filter(|f| config.level(f.rule).severity().is_some())
                .count();
        }
        findings.extend(meta);
        for f in findings {
            if let Some(d) = to_diagnostic(set, m, f, config) {
                out.push(d);
            }
        }
    }
    LintOutcome {
        findings: out,
        allowed,
    }
}

/// Run statement and end-of-file rules over `up.sql`, replaying it into `schema`.
fn run_file(
    cx: &FileCx<'_>,
    schema: &mut Schema,
    replay: bool,
    rules: &[&dyn rules::Rule],
    out: &mut Vec<Finding>,
) -> Created {
    let mut created = Created::default();
    for (index, stmt) in cx.split.statements.iter().enumerate() {
        let facts = &cx.facts[index];
        if !rules.is_empty() {
            let scx = StmtCx {
                file: cx,
                index,
                stmt,
                facts,
                schema,
                created: &created,
            };
            for r in rules {
                if cx.kind == FileKind::Up || r.info().on_down {
                    r.check_statement(&scx, out);
                }
            }
        }
        for act in &facts.actions {
            if replay {
                schema.apply(&act.action);
            }
            created.note(&act.action);
        }
    }
    if !rules.is_empty() && cx.kind == FileKind::Up {
        let ecx = EndCx {
            file: cx,
            schema,
            created: &created,
        };
        for r in rules {
            r.check_file_end(&ecx, out);
        }
    }
    created
}

/// Run the rules that apply to `down.sql`, against the schema `up.sql` left.
fn run_down(cx: &FileCx<'_>, schema: &Schema, rules: &[&dyn rules::Rule], out: &mut Vec<Finding>) {
    let mut created = Created::default();
    for (index, stmt) in cx.split.statements.iter().enumerate() {
        let facts = &cx.facts[index];
        let scx = StmtCx {
            file: cx,
            index,
            stmt,
            facts,
            schema,
            created: &created,
        };
        for r in rules.iter().filter(|r| r.info().on_down) {
            r.check_statement(&scx, out);
        }
        for act in &facts.actions {
            created.note(&act.action);
        }
    }
}

fn line_of(text: &str, line: usize) -> &str {
    text.split('\n')
        .nth(line.saturating_sub(1))
        .unwrap_or("")
        .trim_end_matches('\r')
}

fn to_diagnostic(
    set: &str,
    m: &MigrationInput<'_>,
    f: Finding,
    config: &LintConfig,
) -> Option<Diagnostic> {
    let severity = config.level(f.rule).severity()?;
    let mut d = Diagnostic::lint(f.rule, severity, f.message).with_set(set);
    if !f.help.is_empty() {
        d = d.with_help(f.help);
    }
    let file = match f.place.file {
        None => None,
        Some(FileKind::Up) => m.up.as_ref(),
        Some(FileKind::Down) => m.down.as_ref(),
    };
    match file {
        None => d = d.with_file(m.dir),
        Some(file) => {
            d = d.with_file(file.path);
            if let Some((pos, width)) = f.place.at {
                d = d
                    .with_location(pos.line, pos.column)
                    .with_source_line(line_of(file.text, pos.line), width);
            }
        }
    }
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::rules::{
        create_index_non_concurrently, drop_column, drop_table, unsafe_enum_change,
    };
    use super::testing::Case;
    use super::*;

    #[test]
    fn never_panics_on_odd_input() {
        let inputs = [
            "", ";", "'", "\"", "$$", "$a$ x", "/* open", "--", "CREATE", "ALTER TABLE", "ALTER TYPE x ADD VALUE",
            "DROP INDEX CONCURRENTLY", "END IF; END; END CASE;", "CREATE TRIGGER t BEGIN CASE END END END;",
            "é ü 漢字 'é;'; \u{0}", "ALTER TABLE t ADD COLUMN", "UPDATE", "DELETE FROM", "PRAGMA", "RENAME TABLE a TO",
            "CREATE TYPE m AS ENUM (); ALTER TABLE t ALTER COLUMN c TYPE m USING c::text::m; DROP TYPE m;",
            "\r\nSELECT 1;\r\nDROP TABLE x;\r\n", "\t\tALTER TABLE t DROP COLUMN c; -- cargo-migrate: allow(",
        ];
        for backend in Backend::ALL {
            for sql in inputs {
                let _ = Case::new(backend, sql).down(Some(sql)).lint();
            }
        }
    }

    #[test]
    fn levels_turn_findings_into_errors_or_drop_them() {
        let mut config = LintConfig::default();
        config.levels.insert(drop_column::ID.into(), Level::Deny);
        let d = Case::pg("ALTER TABLE users DROP COLUMN a;")
            .config(config.clone())
            .fires(drop_column::ID);
        assert_eq!(d[0].severity, crate::diagnostic::Severity::Error);
        config.levels.insert(drop_column::ID.into(), Level::Allow);
        Case::pg("ALTER TABLE users DROP COLUMN a;")
            .config(config)
            .quiet(drop_column::ID);
    }

    #[test]
    fn lint_after_skips_old_migrations_but_keeps_their_history() {
        let config = LintConfig {
            lint_after: Some("20240101000000".into()),
            ..LintConfig::default()
        };
        // The only migration is version 20240101000000: not linted.
        Case::pg("ALTER TABLE users DROP COLUMN a;")
            .config(config.clone())
            .quiet(drop_column::ID);
        // The table created by the skipped migration is still known (index on an existing table).
        let d = Case::pg("CREATE INDEX i ON users (email);")
            .after(&["CREATE TABLE users (id INT, email TEXT);\nDROP TABLE nothing_here;"])
            .config(config)
            .lint();
        assert!(d
            .iter()
            .any(|d| d.code == create_index_non_concurrently::ID));
        assert!(!d.iter().any(|d| d.code == drop_table::ID));
    }

    #[test]
    fn findings_render_with_file_line_and_help() {
        let d = Case::pg("SELECT 1;\nCREATE INDEX users_email ON users (email);")
            .fires(create_index_non_concurrently::ID);
        let text = d[0].render();
        assert!(
            text.starts_with(
                "warning[create-index-non-concurrently]: CREATE INDEX blocks writes to `users`"
            ),
            "{text}"
        );
        assert!(text.contains("up.sql:2:1"), "{text}");
        assert!(text.contains("^^^^^^^^^^^^\n"), "{text}");
        assert!(
            text.contains("= help: use CREATE INDEX CONCURRENTLY"),
            "{text}"
        );
        assert_eq!(d[0].set.as_deref(), Some("test"));
    }

    #[test]
    fn rules_lists_every_rule() {
        let r = rules();
        // Exactly one rule per file under src/lint/rules/ (mod.rs aside): a rule file left out
        // of the registry, or registered twice, changes the count.
        let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/lint/rules"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.ends_with(".rs") && name != "mod.rs"
            })
            .count();
        assert_eq!(r.len(), files);
        assert!(r
            .iter()
            .any(|r| r.id == unsafe_enum_change::ID && r.default_level == Level::Warn));
    }
}
