//! Drift between two schema texts, shown as a unified diff (the `similar` crate).
//!
//! Two texts agree when their lines agree: line endings (`\n` or `\r\n`) and a final newline
//! are not differences, as in diesel's own `--locked-schema` comparison.

use similar::{ChangeTag, TextDiff};

/// Whether the texts agree line by line.
pub fn same(a: &str, b: &str) -> bool {
    a.lines().eq(b.lines())
}

fn normalise(text: &str) -> String {
    let mut out: String = text.lines().collect::<Vec<_>>().join("\n");
    out.push('\n');
    out
}

/// A unified diff from `old` (labelled `old_label`) to `new`, with 3 lines of context.
/// Line endings are normalised first so they never show up as changes.
pub fn unified(old: &str, new: &str, old_label: &str, new_label: &str) -> String {
    let old = normalise(old);
    let new = normalise(new);
    TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header(old_label, new_label)
        .to_string()
}

/// Color a unified diff line by line (the newline stays outside the color codes).
pub fn paint(diff: &str) -> String {
    use colored::Colorize;
    let mut out = String::with_capacity(diff.len() + 64);
    for line in diff.lines() {
        let painted = if line.starts_with("+++") || line.starts_with("---") {
            line.bold().to_string()
        } else if line.starts_with("@@") {
            line.cyan().to_string()
        } else if line.starts_with('+') {
            line.green().to_string()
        } else if line.starts_with('-') {
            line.red().to_string()
        } else {
            line.to_string()
        };
        out.push_str(&painted);
        out.push('\n');
    }
    out
}

/// Count of added and removed lines.
pub fn stats(old: &str, new: &str) -> (usize, usize) {
    let old = normalise(old);
    let new = normalise(new);
    let diff = TextDiff::from_lines(&old, &new);
    let mut added = 0;
    let mut removed = 0;
    for change in diff.iter_all_changes() {
        match change.tag() {
            ChangeTag::Insert => added += 1,
            ChangeTag::Delete => removed += 1,
            ChangeTag::Equal => {}
        }
    }
    (added, removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings_and_final_newline_are_not_drift() {
        assert!(same("a\nb\n", "a\r\nb"));
        assert!(!same("a\nb\n", "a\nc\n"));
    }

    #[test]
    fn unified_diff_has_headers_and_hunks() {
        let d = unified(
            "a\nb\nc\n",
            "a\nB\nc\n",
            "src/schema.rs (committed)",
            "src/schema.rs (from migrations)",
        );
        assert_eq!(
            d,
            "--- src/schema.rs (committed)\n+++ src/schema.rs (from migrations)\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"
        );
        assert_eq!(stats("a\nb\n", "a\nc\nd\n"), (2, 1));
    }
}
