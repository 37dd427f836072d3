//! `unreadable-sql`: a migration file that cannot be tokenized.
//!
//! An unterminated string literal, quoted identifier, dollar-quoted body or block comment
//! swallows the rest of the file, and the linter cannot find statement boundaries after it
//! either. The database rejects the file, except in one case: SQLite reads an unterminated
//! block comment as running to the end of the input, so it runs the statements before it and
//! silently skips everything after. The finding points at the opening quote, and nothing else
//! in that file is checked.
//!
//! Safe pattern: close the quote. Inside a string, write a single quote twice (`'it''s'`).

use crate::lint::config::Level;

use super::{FileKind, FileState, Finding, MigrationCx, Rule, RuleInfo, ALL_BACKENDS};

pub const ID: &str = "unreadable-sql";

pub struct UnreadableSql;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Deny,
    backends: ALL_BACKENDS,
    summary:
        "up.sql or down.sql cannot be tokenized (unterminated string, identifier or dollar quote)",
    on_down: true,
};

impl Rule for UnreadableSql {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_migration(&self, cx: &MigrationCx<'_>, out: &mut Vec<Finding>) {
        for (kind, state) in [(FileKind::Up, &cx.up), (FileKind::Down, &cx.down)] {
            if let FileState::Unreadable(e) = state {
                let effect = if cx.backend.unterminated_comment_swallows_rest()
                    && e.message.contains("comment")
                {
                    "; SQLite takes the rest of the file as a comment and never runs it"
                } else {
                    ""
                };
                out.push(cx.file_finding(
                    ID,
                    kind,
                    None,
                    Some((e.pos, 1)),
                    format!(
                        "{} cannot be read: {} starting here never ends{effect}",
                        kind.file_name(),
                        e.message
                    ),
                    "close it (inside a string, write a quote twice: 'it''s'); \
                     nothing after this point in the file was checked",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::lint::testing::{at, lint_errors, Case};

    #[test]
    fn fires_at_the_opening_quote() {
        let d = Case::pg("CREATE TABLE t (id INT);\nINSERT INTO t VALUES ('oops);\n").fires(ID);
        assert_eq!(at(&d[0]), (2, 23));
        assert_eq!(d[0].severity, crate::diagnostic::Severity::Error);
        assert!(d[0].message.contains("string literal"), "{}", d[0].message);
        let d = Case::pg("SELECT 1;").down(Some("DO $$ BEGIN")).fires(ID);
        assert!(d[0].file.as_ref().unwrap().ends_with("down.sql"));
        assert!(d[0].message.contains("dollar"), "{}", d[0].message);
    }

    #[test]
    fn quiet_on_closed_quotes() {
        Case::pg("INSERT INTO t VALUES ('it''s; fine', $$a;b$$);").quiet(ID);
        Case::mysql("INSERT INTO t VALUES ('it\\'s');").quiet(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(lint_errors(
            "CREATE TABLE t (id INT);\nINSERT INTO t VALUES ('oops);\n",
            ID
        ));
        insta::assert_snapshot!(
            "sqlite_comment",
            lint_errors("CREATE TABLE t (id INT);\n/* later:\nDROP TABLE t;\n", ID)
        );
    }
}
