//! Inline suppressions: `-- cargo-migrate: allow(rule-id, other-id): reason`.
//!
//! A directive applies to one statement: the statement that directly follows the comment
//! (only comment lines in between, no blank line), the statement the comment sits inside, or
//! the statement that ends on the comment's line. It silences those rules' findings on that
//! statement. A directive without a reason still silences, but is reported under
//! `allow-without-reason`; one that silences nothing, names an unknown rule or cannot be read is
//! reported under `unused-allow`.

use super::rules::{self, FileKind, Finding, Place};
use crate::sql::{Comment, Pos, SplitFile};

const PREFIX: &str = "cargo-migrate:";

/// A parsed directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    pub pos: Pos,
    pub width: usize,
    pub rules: Vec<String>,
    pub reason: Option<String>,
    /// The statement it applies to.
    pub stmt: Option<usize>,
    /// Rules (by position in `rules`) that silenced something.
    pub used: Vec<bool>,
}

/// Rule ids and the reason, if any, of an allow comment.
pub type Allow = (Vec<String>, Option<String>);

/// Parse the text after `--`. `Ok(None)`: not a directive. `Err`: a directive that cannot be
/// read, with what is wrong.
pub fn parse(comment: &str) -> Result<Option<Allow>, String> {
    let text = comment.trim();
    let Some(rest) = text.strip_prefix(PREFIX) else {
        return Ok(None);
    };
    let rest = rest.trim_start();
    if super::rules::unresolved_todo::todo_markers(&format!("--{text}")).len() == 1 {
        // A todo marker, not a directive: `unresolved-todo` reports it.
        return Ok(None);
    }
    let Some(rest) = rest.strip_prefix("allow") else {
        return Err("only `allow(...)` and `todo: …` are understood after `cargo-migrate:`".into());
    };
    let rest = rest.trim_start();
    let Some(rest) = rest.strip_prefix('(') else {
        return Err("expected `(` after `allow`".into());
    };
    let Some(close) = rest.find(')') else {
        return Err("missing `)` after the rule ids".into());
    };
    let ids: Vec<String> = rest[..close]
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if ids.is_empty() {
        return Err("no rule id between the parentheses".into());
    }
    let after = rest[close + 1..].trim();
    let reason = after.strip_prefix(':').map(str::trim).unwrap_or(after);
    let reason = (!reason.is_empty()).then(|| reason.to_string());
    Ok(Some((ids, reason)))
}

/// The statement a comment applies to.
fn target(file: &SplitFile<'_>, c: &Comment) -> Option<usize> {
    // Inside a statement, or trailing the line it ends on.
    for (i, s) in file.statements.iter().enumerate() {
        if s.start <= c.pos && (c.pos.line <= s.end.line) {
            return Some(i);
        }
    }
    if !c.own_line {
        return None;
    }
    // The next statement, with only comment lines in between.
    let next = file
        .statements
        .iter()
        .position(|s| s.start.line > c.pos.line)?;
    let start = file.statements[next].start.line;
    for line in c.pos.line + 1..start {
        let text = file.line_text(line).trim_start();
        let comment_only =
            !file.has_code(line) && (text.starts_with("--") || text.starts_with('#'));
        if !comment_only {
            return None;
        }
    }
    Some(next)
}

/// Apply the directives of one file to its findings: drop silenced findings (adding how many
/// to `silenced`), and return the findings about the directives themselves. `unresolved-todo`
/// is never silenced.
pub fn apply(
    file: &SplitFile<'_>,
    kind: FileKind,
    findings: &mut Vec<Finding>,
    silenced: &mut usize,
) -> Vec<Finding> {
    let mut meta = Vec::new();
    let mut directives = Vec::new();
    for c in &file.comments {
        let width = c.text.chars().count() + 2;
        let pos = Pos::new(c.pos.line, c.pos.column);
        match parse(&c.text) {
            Ok(None) => {}
            Err(problem) => meta.push(Finding {
                rule: rules::unused_allow::ID,
                message: format!("this allow comment cannot be read: {problem}"),
                help: "write it as `-- cargo-migrate: allow(rule-id): reason`".into(),
                place: Place {
                    file: Some(kind),
                    stmt: None,
                    at: Some((pos, width)),
                },
            }),
            Ok(Some((ids, reason))) => {
                let used = vec![false; ids.len()];
                directives.push(Directive {
                    pos,
                    width,
                    rules: ids,
                    reason,
                    stmt: target(file, c),
                    used,
                });
            }
        }
    }
    if directives.is_empty() {
        return meta;
    }
    let before = findings.len();
    findings.retain(|f| {
        if f.place.file != Some(kind) || f.rule == rules::unresolved_todo::ID {
            return true;
        }
        let Some(stmt) = f.place.stmt else {
            return true;
        };
        let mut silenced = false;
        for d in directives.iter_mut().filter(|d| d.stmt == Some(stmt)) {
            if let Some(k) = d.rules.iter().position(|r| r == f.rule) {
                d.used[k] = true;
                silenced = true;
            }
        }
        !silenced
    });
    *silenced += before - findings.len();
    for d in &directives {
        let place = Place {
            file: Some(kind),
            stmt: None,
            at: Some((d.pos, d.width)),
        };
        if d.reason.is_none() {
            meta.push(Finding {
                rule: rules::allow_without_reason::ID,
                message: format!("`allow({})` gives no reason", d.rules.join(", ")),
                help: "say why the statement is safe here, after a colon: \
                       `-- cargo-migrate: allow(rule-id): the table has 12 rows`"
                    .into(),
                place,
            });
        }
        for (rule, used) in d.rules.iter().zip(&d.used) {
            if *used {
                continue;
            }
            let message = if rule == rules::unresolved_todo::ID {
                format!("`allow({rule})` has no effect: a todo marker cannot be allowed")
            } else if rules::find(rule).is_none() {
                format!("`allow({rule})` names no known rule")
            } else if d.stmt.is_none() {
                format!("`allow({rule})` is not attached to any statement")
            } else {
                format!(
                    "`allow({rule})` silences nothing: the rule reports nothing on this statement"
                )
            };
            let help = if rule == rules::unresolved_todo::ID {
                "make the decision the marker asks for, then delete the marker and this comment"
                    .to_string()
            } else if rules::find(rule).is_none() {
                "check the spelling; `cargo migrate rules` lists the rule ids".to_string()
            } else {
                "remove the comment, or put it on the line directly above the statement it is meant for"
                    .to_string()
            };
            meta.push(Finding {
                rule: rules::unused_allow::ID,
                message,
                help,
                place,
            });
        }
    }
    meta
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_directives() {
        assert_eq!(parse(" plain comment"), Ok(None));
        assert_eq!(
            parse(" cargo-migrate: allow(drop-column, drop-table): legacy data, checked"),
            Ok(Some((
                vec!["drop-column".to_string(), "drop-table".to_string()],
                Some("legacy data, checked".to_string())
            )))
        );
        assert_eq!(
            parse("cargo-migrate: allow(drop-column)"),
            Ok(Some((vec!["drop-column".into()], None)))
        );
        assert!(parse("cargo-migrate: deny(x)").is_err());
        assert_eq!(parse(" cargo-migrate: todo: list the labels"), Ok(None));
        assert!(parse("cargo-migrate: allow(x").is_err());
        assert!(parse("cargo-migrate: allow(): why").is_err());
    }
}
