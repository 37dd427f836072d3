//! `unresolved-todo`: a `-- cargo-migrate: todo: …` marker is still in `up.sql` or `down.sql`.
//!
//! `cargo migrate generate --diff-schema` writes this marker wherever it leaves a decision to a
//! person: the labels of a new enum type, whether a dropped and an added column are a rename,
//! how existing rows get a value for a new NOT NULL column, the defaults and checks a SQLite
//! rebuild would lose. The SQL next to a marker is a guess, so the marker is an error that no
//! configuration lowers and no `allow(...)` comment silences, and `cargo migrate apply` refuses
//! a pending migration whose `up.sql` holds one (before anything runs). Where a guess would
//! still be valid SQL (an enum with no labels), the marker sits inside the statement so that it
//! does not run either.
//!
//! The marker is a comment whose text starts with `cargo-migrate: todo` (`-- cargo-migrate:
//! todo: what to decide`, also in `/* … */` and MySQL `#` comments), anywhere on a line.
//!
//! Safe pattern: make the decision, change the SQL to match, and delete the marker line.
//!
//! The lint reads the markers of every migration, also those older than `lint-after`.

use crate::lint::config::Level;
use crate::sql::Pos;

use super::{FileKind, Finding, MigrationCx, Rule, RuleInfo, ALL_BACKENDS};

pub const ID: &str = "unresolved-todo";

pub struct UnresolvedTodo;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Deny,
    backends: ALL_BACKENDS,
    summary: "a `cargo-migrate: todo` marker is left in the SQL (cannot be lowered or allowed)",
    on_down: true,
};

/// One `cargo-migrate: todo` marker in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TodoMarker {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters) of the comment that holds it.
    pub column: usize,
    /// Characters from the comment's start to the end of the line.
    pub width: usize,
    /// What is to be decided: the marker's text after `todo:` (may be empty).
    pub what: String,
}

const MARK: &str = "cargo-migrate:";

/// Every `cargo-migrate: todo` marker of a migration file, in line order (at most one per
/// line). Pure text: a marker is found in any comment opener (`--`, `/*`, `#`), so a marker
/// written inside a string literal counts too, which errs on the side of refusing.
pub fn todo_markers(text: &str) -> Vec<TodoMarker> {
    let mut out = Vec::new();
    for (n, line) in text.split('\n').enumerate() {
        let line = line.trim_end_matches('\r');
        let lower = line.to_ascii_lowercase();
        let mut from = 0;
        while let Some(found) = lower[from..].find(MARK) {
            let i = from + found;
            from = i + MARK.len();
            let before = line[..i].trim_end();
            let opener = ["--", "/*", "#"]
                .iter()
                .find(|o| before.ends_with(**o))
                .map(|o| before.len() - o.len());
            let Some(opener) = opener else { continue };
            let after = line[from..].trim_start();
            let Some(rest) = after
                .get(..4)
                .filter(|w| w.eq_ignore_ascii_case("todo"))
                .map(|_| &after[4..])
            else {
                continue;
            };
            if !(rest.is_empty() || rest.starts_with(':') || rest.starts_with(char::is_whitespace))
            {
                continue;
            }
            let what = rest.trim_start().trim_start_matches(':').trim();
            let what = what.strip_suffix("*/").unwrap_or(what).trim().to_string();
            out.push(TodoMarker {
                line: n + 1,
                column: line[..opener].chars().count() + 1,
                width: line[opener..].chars().count(),
                what,
            });
            break;
        }
    }
    out
}

impl Rule for UnresolvedTodo {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_migration(&self, cx: &MigrationCx<'_>, out: &mut Vec<Finding>) {
        let files = [
            (FileKind::Up, cx.migration.up),
            (FileKind::Down, cx.migration.down),
        ];
        for (kind, file) in files {
            let Some(file) = file else { continue };
            for m in todo_markers(file.text) {
                let what = if m.what.is_empty() {
                    "a decision is left open".to_string()
                } else {
                    m.what.clone()
                };
                let help = match kind {
                    FileKind::Up => "decide, change the SQL to match and delete the marker; until then `check` fails and `apply` refuses this migration",
                    FileKind::Down => "decide, change the SQL to match and delete the marker; until then `check` fails",
                };
                // No statement: an allow comment never reaches it.
                out.push(cx.file_finding(
                    ID,
                    kind,
                    None,
                    Some((Pos::new(m.line, m.column), m.width.max(1))),
                    format!("unresolved todo in {}: {what}", kind.file_name()),
                    help,
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{todo_markers, ID};
    use crate::lint::config::{Level, LintConfig};
    use crate::lint::rules::unused_allow;
    use crate::lint::testing::{at, lint_errors, Case};

    #[test]
    fn finds_markers_in_every_comment_form() {
        let text = "SELECT 1;\n-- cargo-migrate: todo: list the labels\nCREATE TYPE m AS ENUM ( -- cargo-migrate: todo: labels\n);\n/* cargo-migrate: TODO pick one */\n# cargo-migrate:todo\r\n";
        let m = todo_markers(text);
        assert_eq!(
            m.iter().map(|m| (m.line, m.column)).collect::<Vec<_>>(),
            vec![(2, 1), (3, 25), (5, 1), (6, 1)]
        );
        assert_eq!(m[0].what, "list the labels");
        assert_eq!(m[0].width, "-- cargo-migrate: todo: list the labels".len());
        assert_eq!(m[2].what, "pick one");
        assert_eq!(m[3].what, "");
    }

    #[test]
    fn other_comments_are_not_markers() {
        for text in [
            "-- TODO: later",
            "-- cargo-migrate: allow(drop-table): gone",
            "-- resolve every cargo-migrate: todo marker",
            "-- cargo-migrate: todos are fine",
            "SELECT 'cargo-migrate: todo';",
        ] {
            assert!(todo_markers(text).is_empty(), "{text}");
        }
    }

    #[test]
    fn fires_in_up_and_down() {
        let d = Case::sqlite(
            "SELECT 1;\n-- cargo-migrate: todo: give existing rows a value\nSELECT 2;",
        )
        .down(Some("SELECT 1; -- cargo-migrate: todo: re-create it"))
        .fires(ID);
        assert_eq!(d.len(), 2);
        assert_eq!(at(&d[0]), (2, 1));
        assert_eq!(at(&d[1]), (1, 11));
        assert_eq!(d[0].severity, crate::diagnostic::Severity::Error);
        // Also in a file that cannot be split.
        Case::pg("-- cargo-migrate: todo: x\nSELECT 'open").fires(ID);
    }

    #[test]
    fn quiet_without_markers() {
        Case::pg("-- TODO: later\nSELECT 1;").quiet(ID);
    }

    #[test]
    fn allow_comments_do_not_silence_it() {
        let c = Case::sqlite("-- cargo-migrate: allow(unresolved-todo): decided elsewhere\nSELECT 1; -- cargo-migrate: todo: x");
        c.fires(ID);
        let unused = c.fires(unused_allow::ID);
        assert!(
            unused[0].message.contains("cannot be allowed"),
            "{}",
            unused[0].message
        );
    }

    #[test]
    fn lint_after_does_not_hide_it() {
        let config = LintConfig {
            lint_after: Some("20990101000000".into()),
            ..LintConfig::default()
        };
        Case::sqlite("SELECT 1; -- cargo-migrate: todo: x")
            .config(config)
            .fires(ID);
    }

    #[test]
    fn its_level_cannot_be_lowered() {
        for level in ["warn", "allow"] {
            let e =
                LintConfig::from_metadata(None, Some(&serde_json::json!({ID: level}))).unwrap_err();
            assert!(e.contains("cannot be lowered"), "{e}");
        }
        let c = LintConfig::from_metadata(None, Some(&serde_json::json!({ID: "deny"}))).unwrap();
        assert_eq!(c.level(ID), Level::Deny);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(lint_errors(
            "CREATE TYPE \"mood\" AS ENUM (\n    -- cargo-migrate: todo: list the labels of `mood`\n);",
            ID
        ));
    }
}
