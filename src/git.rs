//! The few git questions `check --base` asks, through the `git` command.
//!
//! Released migrations are the ones that exist at a base revision (a tag, `origin/main`, or by
//! default the merge base of `HEAD` with the repository's main branch). This module lists the
//! files of a folder at that revision and reads their contents in one `git cat-file --batch`
//! process, so comparing a thousand migrations costs a handful of processes.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A git command failed.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("`git {args}` failed: {message}")]
    Failed { args: String, message: String },
    #[error("cannot run git: {0}\nhelp: install git, or leave out --base")]
    Missing(std::io::Error),
    #[error("no main branch found to compare with (tried {tried})\nhelp: name the released revision, e.g. `--base origin/main` or `--base v1.4.0`")]
    NoMainBranch { tried: String },
}

/// A git work tree.
#[derive(Debug, Clone)]
pub struct Repo {
    pub root: PathBuf,
}

fn git(dir: &Path, args: &[&str]) -> Result<String, GitError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(GitError::Missing)?;
    if !out.status.success() {
        return Err(GitError::Failed {
            args: args.join(" "),
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
}

impl Repo {
    /// The work tree containing `dir`, if any.
    pub fn discover(dir: &Path) -> Option<Repo> {
        git(dir, &["rev-parse", "--show-toplevel"])
            .ok()
            .map(|r| Repo {
                root: PathBuf::from(r),
            })
    }

    /// The merge base of `HEAD` with the main branch (`origin/HEAD`, `origin/main`, `main`,
    /// `origin/master`, `master`: the first that exists).
    pub fn default_base(&self) -> Result<String, GitError> {
        let candidates = [
            "origin/HEAD",
            "origin/main",
            "main",
            "origin/master",
            "master",
        ];
        for c in candidates {
            if git(
                &self.root,
                &[
                    "rev-parse",
                    "--verify",
                    "--quiet",
                    &format!("{c}^{{commit}}"),
                ],
            )
            .is_ok()
            {
                return git(&self.root, &["merge-base", "HEAD", c]);
            }
        }
        Err(GitError::NoMainBranch {
            tried: candidates.join(", "),
        })
    }

    /// The commit a revision names.
    pub fn resolve(&self, rev: &str) -> Result<String, GitError> {
        git(
            &self.root,
            &["rev-parse", "--verify", &format!("{rev}^{{commit}}")],
        )
    }

    /// Files under `dir` (relative to the repository root) at `rev`: (path, blob id).
    pub fn files_at(&self, rev: &str, dir: &Path) -> Result<Vec<(PathBuf, String)>, GitError> {
        let dir = dir.to_string_lossy().replace('\\', "/");
        let out = git(
            &self.root,
            &["ls-tree", "-r", "-z", "--full-tree", rev, "--", &dir],
        )?;
        Ok(out
            .split('\0')
            .filter(|l| !l.is_empty())
            .filter_map(|line| {
                let (meta, path) = line.split_once('\t')?;
                let blob = meta.split_whitespace().nth(2)?;
                Some((PathBuf::from(path), blob.to_string()))
            })
            .collect())
    }

    /// The contents of many blobs, read by one `git cat-file --batch`.
    pub fn blobs(&self, ids: &[String]) -> Result<HashMap<String, Vec<u8>>, GitError> {
        let mut child = Command::new("git")
            .arg("-C")
            .arg(&self.root)
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(GitError::Missing)?;
        let pipe_missing = || {
            GitError::Missing(std::io::Error::other(
                "git cat-file started without its pipes",
            ))
        };
        let mut stdin = child.stdin.take().ok_or_else(pipe_missing)?;
        let input: String = ids.iter().map(|id| format!("{id}\n")).collect();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(input.as_bytes());
        });
        let mut out = Vec::new();
        child
            .stdout
            .take()
            .ok_or_else(pipe_missing)?
            .read_to_end(&mut out)
            .map_err(GitError::Missing)?;
        let _ = writer.join();
        let _ = child.wait();
        let mut blobs = HashMap::new();
        let mut rest = &out[..];
        while let Some(nl) = rest.iter().position(|b| *b == b'\n') {
            let header = String::from_utf8_lossy(&rest[..nl]).to_string();
            rest = &rest[nl + 1..];
            let mut parts = header.split_whitespace();
            let (Some(id), Some(kind), Some(size)) = (parts.next(), parts.next(), parts.next())
            else {
                break;
            };
            let Ok(size) = size.parse::<usize>() else {
                break;
            };
            if rest.len() < size {
                break;
            }
            if kind == "blob" {
                blobs.insert(id.to_string(), rest[..size].to_vec());
            }
            rest = &rest[(size + 1).min(rest.len())..];
        }
        Ok(blobs)
    }
}
