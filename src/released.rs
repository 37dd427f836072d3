//! Released history is immutable: `check --base REF`.
//!
//! A migration that exists at the base revision has been released: some database has run it,
//! and editing it changes nothing there while making every new database different. So every
//! migration present at the base that was edited (up.sql, down.sql, metadata.toml), renamed or
//! deleted since is an error; line endings do not count. A new migration whose version sorts
//! before the newest released one is a warning: databases that already ran the newer one will
//! run it out of order.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::diagnostic::{Diagnostic, Problem};
use crate::git::{GitError, Repo};
use crate::migration::parse_dir_name;
use crate::settings::SetContext;

const TRACKED: [&str; 3] = ["up.sql", "down.sql", "metadata.toml"];

/// Why the migrations folder at a revision could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FolderAtError {
    /// git failed.
    #[error(transparent)]
    Git(#[from] GitError),
    /// The copy could not be written.
    #[error("cannot write the migrations of the base revision to `{}`: {source}\nhelp: make the target directory writable", path.display())]
    Write {
        /// Where.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
}

/// The set's migrations folder as it is at the revision `base`: its tracked files are written
/// under `into` (emptied first) and read back as any folder is, so that a history of the past
/// replays exactly as the working tree's does.
pub fn folder_at(
    repo: &Repo,
    base: &str,
    ctx: &SetContext,
    into: &std::path::Path,
) -> Result<crate::migration::MigrationFolder, FolderAtError> {
    let write_err = |path: &std::path::Path| {
        let path = path.to_path_buf();
        move |source| FolderAtError::Write { path, source }
    };
    let dir = ctx
        .folder
        .path
        .canonicalize()
        .unwrap_or_else(|_| ctx.folder.path.clone());
    let repo_root = repo
        .root
        .canonicalize()
        .unwrap_or_else(|_| repo.root.clone());
    let rel = dir.strip_prefix(&repo_root).unwrap_or(&dir).to_path_buf();
    let files = repo.files_at(base, &rel)?;
    let mut wanted: Vec<(PathBuf, String)> = Vec::new();
    for (path, blob) in files {
        let Ok(inner) = path.strip_prefix(&rel) else {
            continue;
        };
        let parts: Vec<String> = inner
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if parts.len() == 2 && TRACKED.contains(&parts[1].as_str()) {
            wanted.push((inner.to_path_buf(), blob));
        }
    }
    let ids: Vec<String> = wanted.iter().map(|(_, b)| b.clone()).collect();
    let blobs = repo.blobs(&ids)?;
    if into.exists() {
        std::fs::remove_dir_all(into).map_err(write_err(into))?;
    }
    std::fs::create_dir_all(into).map_err(write_err(into))?;
    for (inner, blob) in &wanted {
        let path = into.join(inner);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(write_err(parent))?;
        }
        let bytes = blobs.get(blob).map(Vec::as_slice).unwrap_or_default();
        std::fs::write(&path, bytes).map_err(write_err(&path))?;
    }
    Ok(crate::migration::load_folder(&ctx.set.name, into))
}

fn normalise(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    text.replace("\r\n", "\n")
        .trim_end_matches('\n')
        .to_string()
}

/// First line where two texts differ (1-based).
fn first_difference(a: &str, b: &str) -> usize {
    a.lines()
        .zip(b.lines())
        .position(|(x, y)| x != y)
        .unwrap_or_else(|| a.lines().count().min(b.lines().count()))
        + 1
}

/// Findings for one set against the base revision `base` (shown as `label`).
pub fn check(
    repo: &Repo,
    base: &str,
    label: &str,
    ctx: &SetContext,
) -> Result<Vec<Diagnostic>, GitError> {
    let set = &ctx.set.name;
    let dir = ctx
        .folder
        .path
        .canonicalize()
        .unwrap_or_else(|_| ctx.folder.path.clone());
    let repo_root = repo
        .root
        .canonicalize()
        .unwrap_or_else(|_| repo.root.clone());
    let Ok(rel) = dir.strip_prefix(&repo_root) else {
        return Ok(Vec::new());
    };
    let files = repo.files_at(base, rel)?;

    // migration folder -> file name -> blob id, at the base.
    let mut released: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (path, blob) in files {
        let Ok(inner) = path.strip_prefix(rel) else {
            continue;
        };
        let parts: Vec<String> = inner
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if parts.len() == 2
            && TRACKED.contains(&parts[1].as_str())
            && parse_dir_name(&parts[0]).is_ok()
        {
            released
                .entry(parts[0].clone())
                .or_default()
                .insert(parts[1].clone(), blob);
        }
    }
    let ids: Vec<String> = released
        .values()
        .flat_map(|f| f.values().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let blobs = repo.blobs(&ids)?;

    let mut out = Vec::new();
    // Migration folders in the work tree now (also those with problems), by name.
    let current: BTreeMap<String, PathBuf> = std::fs::read_dir(&ctx.folder.path)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .filter_map(|e| e.file_name().to_str().map(|n| (n.to_string(), e.path())))
                .collect()
        })
        .unwrap_or_default();
    let help_edit = "released migrations have already run somewhere; revert this edit and put the change in a new migration (`cargo migrate generate NAME`)";
    for (name, files) in &released {
        let Some(now_dir) = current.get(name.as_str()) else {
            let version = parse_dir_name(name).map(|(v, _)| v).unwrap_or_default();
            let renamed_to = ctx
                .folder
                .migrations
                .iter()
                .find(|m| m.version == version)
                .map(|m| m.dir_name.clone());
            let shown = ctx.folder.path.join(name);
            let diag = match renamed_to {
                Some(new) => Diagnostic::error(Problem::ReleasedMigrationRenamed, format!("released migration `{name}` (at {label}) was renamed to `{new}`"))
                    .with_help("diesel records versions, not names, but tools and people match by folder name; rename it back"),
                None => Diagnostic::error(Problem::ReleasedMigrationDeleted, format!("released migration `{name}` (at {label}) was deleted"))
                    .with_help("databases that ran it still record it as applied; restore the folder, and undo its effect with a new migration if needed"),
            };
            out.push(diag.with_set(set).with_file(shown));
            continue;
        };
        for file in TRACKED {
            let path = now_dir.join(file);
            let shown = &path;
            let now = std::fs::read(&path).ok();
            match (files.get(file), now) {
                (Some(blob), Some(now)) => {
                    let before = normalise(blobs.get(blob).map(Vec::as_slice).unwrap_or_default());
                    let after = normalise(&now);
                    if before != after {
                        let line = first_difference(&before, &after);
                        let mut d = Diagnostic::error(
                            Problem::ReleasedMigrationEdited,
                            format!(
                                "`{file}` of released migration `{name}` was edited since {label}"
                            ),
                        )
                        .with_set(set)
                        .with_file(shown)
                        .with_location(line, 1)
                        .with_help(help_edit);
                        if let Some(src) = after.lines().nth(line - 1) {
                            d = d.with_source_line(src, src.chars().count().max(1));
                        }
                        out.push(d);
                    }
                }
                (Some(_), None) => out.push(
                    Diagnostic::error(
                        Problem::ReleasedMigrationEdited,
                        format!(
                            "`{file}` of released migration `{name}` was deleted since {label}"
                        ),
                    )
                    .with_set(set)
                    .with_file(shown)
                    .with_help(help_edit),
                ),
                (None, Some(_)) if file != "down.sql" => out.push(
                    Diagnostic::error(
                        Problem::ReleasedMigrationEdited,
                        format!("`{file}` was added to released migration `{name}` since {label}"),
                    )
                    .with_set(set)
                    .with_file(shown)
                    .with_help(help_edit),
                ),
                _ => {}
            }
        }
    }
    let newest = released
        .keys()
        .filter_map(|n| parse_dir_name(n).ok().map(|(v, _)| v))
        .max();
    if let Some(newest) = newest {
        for m in &ctx.folder.migrations {
            if !released.contains_key(&m.dir_name) && m.version < newest {
                out.push(
                    Diagnostic::warning(
                        Problem::NewMigrationOutOfOrder,
                        format!("new migration `{}` sorts before the newest released one ({newest} at {label})", m.dir_name),
                    )
                    .with_set(set)
                    .with_file(&m.dir)
                    .with_help("databases that already ran the newer migration will run this one out of order; give it a version after the newest released one"),
                );
            }
        }
    }
    Ok(out)
}
