//! Drift between two schema texts, shown as a unified diff (the `similar` crate).
//!
//! Two texts agree when their lines agree: line endings (`\n` or `\r\n`) and a final newline
//! are not differences, as in diesel's own `--locked-schema` comparison.

use similar::TextDiff;

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

/// Count of added and removed lines of a unified diff made by [`unified`].
pub fn stats(diff: &str) -> (usize, usize) {
    let mut added = 0;
    let mut removed = 0;
    // The two header lines come before the first hunk; a removed line may itself start with
    // `--`, so only lines inside hunks are counted.
    let hunks = diff.lines().skip_while(|l| !l.starts_with("@@"));
    for line in hunks {
        if line.starts_with('+') {
            added += 1;
        } else if line.starts_with('-') {
            removed += 1;
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
        assert_eq!(stats(&unified("a\nb\n", "a\nc\nd\n", "x", "y")), (2, 1));
        assert_eq!(stats(&unified("-- x\n", "-- y\n", "x", "y")), (1, 1));
    }
}
