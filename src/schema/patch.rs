//! Applying a `patch_file` to generated `schema.rs` text.
//!
//! diesel applies the unified diff named by `patch_file` to its formatted output. This module
//! parses such a diff and applies it with the same rules: lines keep their line endings, each
//! hunk is looked for first at the line its `+` range names and then at the nearest lines
//! before and after (alternating), context must match exactly, and a line already changed by an
//! earlier hunk cannot be matched again.

use std::path::{Path, PathBuf};

/// Errors while reading, parsing or applying a patch file.
#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    /// The patch file could not be read.
    #[error(
        "cannot read patch_file {path}: {source}; check the `patch_file` option in diesel.toml"
    )]
    Read {
        /// The patch file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The patch is not a valid unified diff.
    #[error("patch_file {path} is not a valid unified diff: {message}")]
    Parse {
        /// The patch file (empty when parsing text directly).
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A hunk's context was not found in the generated schema.
    #[error("patch_file {path}: hunk #{hunk} does not apply to the generated schema; regenerate the patch against the current output")]
    Apply {
        /// The patch file (empty when applying text directly).
        path: PathBuf,
        /// 1-based number of the failing hunk.
        hunk: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Context,
    Delete,
    Insert,
}

#[derive(Debug)]
struct Hunk<'a> {
    old_start: usize,
    old_len: usize,
    new_start: usize,
    new_len: usize,
    lines: Vec<(Kind, &'a str)>,
}

/// Splits text into lines that keep their `\n`.
fn lines_with_endings(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest.find('\n').map(|i| i + 1).unwrap_or(rest.len());
        out.push(&rest[..end]);
        rest = &rest[end..];
    }
    out
}

fn parse_range(s: &str) -> Option<(usize, usize)> {
    match s.split_once(',') {
        Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
        None => Some((s.parse().ok()?, 1)),
    }
}

fn parse(patch: &str) -> Result<Vec<Hunk<'_>>, String> {
    let lines = lines_with_endings(patch);
    let mut i = 0;
    // Anything before the first `---`, `+++` or `@@ ` line is preamble.
    while i < lines.len()
        && !(lines[i].starts_with("--- ")
            || lines[i].starts_with("+++ ")
            || lines[i].starts_with("@@ "))
    {
        i += 1;
    }
    let (mut seen_old, mut seen_new) = (false, false);
    while i < lines.len() {
        let l = lines[i];
        if l.starts_with("--- ") {
            if seen_old {
                return Err("multiple '---' lines".into());
            }
            seen_old = true;
        } else if l.starts_with("+++ ") {
            if seen_new {
                return Err("multiple '+++' lines".into());
            }
            seen_new = true;
        } else {
            break;
        }
        if !l.ends_with('\n') {
            return Err("file name line is not terminated".into());
        }
        i += 1;
    }
    let mut hunks: Vec<Hunk<'_>> = Vec::new();
    while i < lines.len() {
        let header = lines[i];
        let body = header
            .strip_prefix("@@ ")
            .ok_or_else(|| format!("expected a hunk header, found `{}`", header.trim_end()))?;
        let (ranges, _) = body
            .split_once(" @@")
            .ok_or_else(|| "hunk header is not terminated by ` @@`".to_string())?;
        let (old, new) = ranges
            .split_once(' ')
            .ok_or_else(|| "cannot parse hunk header".to_string())?;
        let (old_start, old_len) = old
            .strip_prefix('-')
            .and_then(parse_range)
            .ok_or_else(|| "cannot parse hunk range".to_string())?;
        let (new_start, new_len) = new
            .strip_prefix('+')
            .and_then(parse_range)
            .ok_or_else(|| "cannot parse hunk range".to_string())?;
        i += 1;
        let mut body: Vec<(Kind, &str)> = Vec::new();
        let mut closed = [false; 3];
        while i < lines.len() && !lines[i].starts_with('@') {
            let l = lines[i];
            if closed[0] {
                return Err("expected end of hunk after a context line without newline".into());
            }
            let entry = if let Some(rest) = l.strip_prefix(' ') {
                (Kind::Context, rest)
            } else if l.starts_with('\n') {
                (Kind::Context, l)
            } else if let Some(rest) = l.strip_prefix('-') {
                if closed[1] {
                    return Err("deleted line after `\\ No newline at end of file`".into());
                }
                (Kind::Delete, rest)
            } else if let Some(rest) = l.strip_prefix('+') {
                if closed[2] {
                    return Err("inserted line after `\\ No newline at end of file`".into());
                }
                (Kind::Insert, rest)
            } else if l.starts_with("\\ No newline at end of file") {
                let (kind, text) = body
                    .pop()
                    .ok_or_else(|| "unexpected `\\ No newline at end of file`".to_string())?;
                let stripped = text.strip_suffix('\n').ok_or_else(|| {
                    "line before `\\ No newline at end of file` has no newline".to_string()
                })?;
                closed[kind as usize] = true;
                (kind, stripped)
            } else {
                return Err(format!("unexpected line in hunk body: `{}`", l.trim_end()));
            };
            body.push(entry);
            i += 1;
        }
        let old_count = body.iter().filter(|(k, _)| *k != Kind::Insert).count();
        let new_count = body.iter().filter(|(k, _)| *k != Kind::Delete).count();
        if old_count != old_len || new_count != new_len {
            return Err("hunk header does not match hunk".into());
        }
        hunks.push(Hunk {
            old_start,
            old_len,
            new_start,
            new_len,
            lines: body,
        });
    }
    for w in hunks.windows(2) {
        if w[0].old_start + w[0].old_len > w[1].old_start
            || w[0].new_start + w[0].new_len > w[1].new_start
        {
            return Err("hunks not in order or overlap".into());
        }
    }
    Ok(hunks)
}

/// Applies the unified diff `patch` to `text`.
pub fn apply_patch(text: &str, patch: &str) -> Result<String, PatchError> {
    apply_named(text, patch, Path::new(""))
}

/// Reads the patch file at `path` and applies it to `text`.
pub fn apply_patch_file(text: &str, path: &Path) -> Result<String, PatchError> {
    let patch = std::fs::read_to_string(path).map_err(|source| PatchError::Read {
        path: path.to_owned(),
        source,
    })?;
    apply_named(text, &patch, path)
}

fn apply_named(text: &str, patch: &str, path: &Path) -> Result<String, PatchError> {
    let hunks = parse(patch).map_err(|message| PatchError::Parse {
        path: path.to_owned(),
        message,
    })?;
    // (line, already patched)
    let mut image: Vec<(&str, bool)> = lines_with_endings(text)
        .into_iter()
        .map(|l| (l, false))
        .collect();
    for (n, hunk) in hunks.iter().enumerate() {
        let pre: Vec<&str> = hunk
            .lines
            .iter()
            .filter(|(k, _)| *k != Kind::Insert)
            .map(|(_, l)| *l)
            .collect();
        let post: Vec<(&str, bool)> = hunk
            .lines
            .iter()
            .filter(|(k, _)| *k != Kind::Delete)
            .map(|(_, l)| (*l, true))
            .collect();
        let matches_at = |pos: usize| -> bool {
            match image.get(pos..pos + pre.len()) {
                Some(slice) => {
                    slice.iter().all(|(_, patched)| !patched)
                        && slice.iter().map(|(l, _)| *l).eq(pre.iter().copied())
                }
                None => false,
            }
        };
        let start = hunk.new_start.saturating_sub(1).min(image.len());
        let mut found = None;
        if matches_at(start) {
            found = Some(start);
        } else {
            let mut back = (0..start).rev();
            let mut fwd = start + 1..image.len();
            loop {
                let b = back.next();
                if let Some(p) = b {
                    if matches_at(p) {
                        found = Some(p);
                        break;
                    }
                }
                let f = fwd.next();
                if let Some(p) = f {
                    if matches_at(p) {
                        found = Some(p);
                        break;
                    }
                }
                if b.is_none() && f.is_none() {
                    break;
                }
            }
        }
        let pos = found.ok_or_else(|| PatchError::Apply {
            path: path.to_owned(),
            hunk: n + 1,
        })?;
        image.splice(pos..pos + pre.len(), post);
    }
    Ok(image.into_iter().map(|(l, _)| l).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "a\nb\nc\nd\ne\n";

    #[test]
    fn applies_a_simple_hunk() {
        let p = "--- a/schema.rs\n+++ b/schema.rs\n@@ -2,3 +2,3 @@\n b\n-c\n+C\n d\n";
        assert_eq!(apply_patch(BASE, p).unwrap(), "a\nb\nC\nd\ne\n");
    }

    #[test]
    fn finds_a_shifted_hunk() {
        // The header says line 1, the context is at line 3.
        let p = "@@ -1,2 +1,3 @@\n c\n+x\n d\n";
        assert_eq!(apply_patch(BASE, p).unwrap(), "a\nb\nc\nx\nd\ne\n");
    }

    #[test]
    fn handles_missing_final_newline() {
        let p = "@@ -5 +5 @@\n-e\n+E\n\\ No newline at end of file\n";
        assert_eq!(apply_patch(BASE, p).unwrap(), "a\nb\nc\nd\nE");
    }

    #[test]
    fn reports_hunks_that_do_not_apply() {
        let p = "@@ -1,1 +1,1 @@\n-zzz\n+y\n";
        match apply_patch(BASE, p) {
            Err(PatchError::Apply { hunk, .. }) => assert_eq!(hunk, 1),
            other => panic!("unexpected {other:?}"),
        }
        let bad = "@@ -1,2 +1,2 @@\n-a\n";
        assert!(matches!(
            apply_patch(BASE, bad),
            Err(PatchError::Parse { .. })
        ));
    }
}
