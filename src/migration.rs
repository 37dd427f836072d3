//! The migration model: one folder of diesel migrations, read and validated.
//!
//! A folder is read completely before anything runs, and every problem in it becomes a
//! [`Diagnostic`] rather than an early return, so a user sees all of them at once: a folder
//! without `up.sql`, an empty `up.sql`, a name that is not `<version>_<name>`, two migrations
//! with one version, files that cannot be read or are not UTF-8, a malformed `metadata.toml`.
//!
//! Versions and their order are diesel's own: the version is the folder name up to the first
//! `_` with every `-` removed, and versions compare as strings. So a database migrated by
//! diesel_cli is read correctly, and the other way round.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::diagnostic::Diagnostic;

/// One migration folder: `<version>_<name>/` with `up.sql`, optional `down.sql` and optional
/// `metadata.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Migration {
    /// diesel's version: the folder name up to the first `_`, `-` removed.
    pub version: String,
    /// The part of the folder name after the first `_`.
    pub name: String,
    /// The folder name, as diesel prints it (`2024-01-01-000000_create_users`).
    pub dir_name: String,
    /// The folder, absolute.
    #[serde(skip)]
    pub dir: PathBuf,
    #[serde(skip)]
    pub up_sql: String,
    #[serde(skip)]
    pub down_sql: Option<String>,
    /// diesel's reading of `metadata.toml`: `true` without the file; the value of
    /// `run_in_transaction` with it (and `false` when the file lacks the key, as diesel does).
    pub run_in_transaction: bool,
    #[serde(skip)]
    pub has_metadata: bool,
}

impl Migration {
    pub fn up_path(&self) -> PathBuf {
        self.dir.join("up.sql")
    }

    pub fn down_path(&self) -> PathBuf {
        self.dir.join("down.sql")
    }

    pub fn has_down(&self) -> bool {
        self.down_sql.is_some()
    }
}

/// A whole migrations folder: its migrations sorted by version, and what is wrong with it.
#[derive(Debug, Clone, Default)]
pub struct MigrationFolder {
    pub path: PathBuf,
    pub migrations: Vec<Migration>,
    /// Errors that stop `apply`, `revert` and friends (exit 2) and fail `check` (exit 1).
    pub problems: Vec<Diagnostic>,
}

impl MigrationFolder {
    pub fn find(&self, version: &str) -> Option<&Migration> {
        self.migrations.iter().find(|m| m.version == version)
    }
}

/// Split a folder name into diesel's version and the name, or explain why it is not one.
pub fn parse_dir_name(dir_name: &str) -> Result<(String, String), String> {
    let Some((raw_version, name)) = dir_name.split_once('_') else {
        return Err("has no `_` between a version and a name".to_string());
    };
    if raw_version.is_empty() {
        return Err("starts with `_`, so it has no version".to_string());
    }
    // diesel_cli 2.3 writes `2024-01-01-120000-0a1b`: a timestamp, then 4 hex digits.
    if !raw_version.starts_with(|c: char| c.is_ascii_digit())
        || !raw_version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(format!("has the version `{raw_version}`, which does not start with a digit or has characters other than letters, digits and `-`"));
    }
    if name.is_empty() {
        return Err("has no name after the `_`".to_string());
    }
    Ok((raw_version.replace('-', ""), name.to_string()))
}

/// How paths are shown to the user (relative to the workspace root where possible).
pub fn display_path(path: &Path, root: &Path) -> PathBuf {
    match path.strip_prefix(root) {
        Ok(rel) if rel.as_os_str().is_empty() => PathBuf::from("."),
        Ok(rel) => rel.to_path_buf(),
        Err(_) => path.to_path_buf(),
    }
}

/// Read `path` as UTF-8, or describe exactly what is wrong with it.
fn read_text(path: &Path, shown: &Path, set: &str) -> Result<String, Diagnostic> {
    match fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Ok(text
                .strip_prefix('\u{feff}')
                .map(str::to_string)
                .unwrap_or(text)),
            Err(err) => {
                let valid = err.utf8_error().valid_up_to();
                let bytes = err.as_bytes();
                let line = bytes[..valid].iter().filter(|b| **b == b'\n').count() + 1;
                let line_start = bytes[..valid]
                    .iter()
                    .rposition(|b| *b == b'\n')
                    .map(|i| i + 1)
                    .unwrap_or(0);
                let column = String::from_utf8_lossy(&bytes[line_start..valid])
                    .chars()
                    .count()
                    + 1;
                Err(Diagnostic::error("non-utf8-file", format!("`{}` is not valid UTF-8 (byte {valid})", shown.display()))
                    .with_set(set)
                    .with_file(shown)
                    .with_location(line, column)
                    .with_help("save the file as UTF-8; diesel sends migration files to the database as UTF-8 text"))
            }
        },
        Err(err) => Err(Diagnostic::error(
            "unreadable-file",
            format!("cannot read `{}`: {err}", shown.display()),
        )
        .with_set(set)
        .with_file(shown)
        .with_help("check the file's permissions")),
    }
}

#[derive(serde::Deserialize)]
struct MetadataToml {
    #[serde(default)]
    run_in_transaction: bool,
}

/// Load and validate one migrations folder. `root` is what shown paths are relative to.
pub fn load_folder(set: &str, dir: &Path, root: &Path) -> MigrationFolder {
    let shown_dir = display_path(dir, root);
    let mut folder = MigrationFolder {
        path: dir.to_path_buf(),
        ..Default::default()
    };
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            folder.problems.push(
                Diagnostic::error("missing-migrations-dir", format!("the migrations folder `{}` does not exist", shown_dir.display()))
                    .with_set(set)
                    .with_file(&shown_dir)
                    .with_help("create it, or point `migrations` in [package.metadata.migrate] or `[migrations_directory] dir` in diesel.toml at the right folder"),
            );
            return folder;
        }
        Err(err) => {
            folder.problems.push(
                Diagnostic::error(
                    "unreadable-file",
                    format!(
                        "cannot read the migrations folder `{}`: {err}",
                        shown_dir.display()
                    ),
                )
                .with_set(set)
                .with_file(&shown_dir),
            );
            return folder;
        }
    };

    let mut dirs: Vec<(String, PathBuf)> = Vec::new();
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(err) => {
                folder.problems.push(
                    Diagnostic::error(
                        "unreadable-file",
                        format!("cannot list `{}`: {err}", shown_dir.display()),
                    )
                    .with_set(set)
                    .with_file(&shown_dir),
                );
                continue;
            }
        };
        let path = entry.path();
        // Files (README, .keep) and hidden folders are not migrations, as for diesel.
        if !path.is_dir() {
            continue;
        }
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            folder.problems.push(
                Diagnostic::error(
                    "invalid-migration-name",
                    format!(
                        "the folder `{}` has a name that is not UTF-8",
                        path.display()
                    ),
                )
                .with_set(set)
                .with_file(display_path(&path, root))
                .with_help("rename it to `<version>_<name>`"),
            );
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        dirs.push((name, path));
    }
    dirs.sort();

    let mut by_version: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (dir_name, path) in dirs {
        let shown = display_path(&path, root);
        let (version, name) = match parse_dir_name(&dir_name) {
            Ok(v) => v,
            Err(why) => {
                folder.problems.push(
                    Diagnostic::error("invalid-migration-name", format!("the migration folder `{dir_name}` {why}"))
                        .with_set(set)
                        .with_file(&shown)
                        .with_help("name migration folders `<version>_<name>`, e.g. `2024-05-01-120000_create_users`"),
                );
                continue;
            }
        };
        let up_path = path.join("up.sql");
        let shown_up = display_path(&up_path, root);
        let mut ok = true;
        let up_sql = if up_path.is_file() {
            match read_text(&up_path, &shown_up, set) {
                Ok(text) => {
                    if text.trim().is_empty() {
                        folder.problems.push(
                            Diagnostic::error("empty-up-sql", format!("`{}` is empty", shown_up.display()))
                                .with_set(set)
                                .with_file(&shown_up)
                                .with_help("write the migration's SQL into it, or delete the migration folder; diesel refuses to run an empty migration"),
                        );
                        ok = false;
                    }
                    text
                }
                Err(diag) => {
                    folder.problems.push(diag);
                    ok = false;
                    String::new()
                }
            }
        } else {
            folder.problems.push(
                Diagnostic::error("missing-up-sql", format!("the migration folder `{}` has no up.sql", shown.display()))
                    .with_set(set)
                    .with_file(&shown)
                    .with_help("add an up.sql with the migration's SQL, or remove the folder; diesel refuses a migrations folder with such an entry"),
            );
            ok = false;
            String::new()
        };

        let down_path = path.join("down.sql");
        let down_sql = if down_path.is_file() {
            match read_text(&down_path, &display_path(&down_path, root), set) {
                Ok(text) => Some(text),
                Err(diag) => {
                    folder.problems.push(diag);
                    ok = false;
                    None
                }
            }
        } else {
            None
        };

        let meta_path = path.join("metadata.toml");
        let has_metadata = meta_path.is_file();
        let run_in_transaction = if has_metadata {
            let shown_meta = display_path(&meta_path, root);
            match read_text(&meta_path, &shown_meta, set) {
                Ok(text) => match toml::from_str::<MetadataToml>(&text) {
                    Ok(meta) => meta.run_in_transaction,
                    Err(err) => {
                        let mut diag = Diagnostic::error(
                            "malformed-metadata",
                            format!("`{}` is not valid: {}", shown_meta.display(), err.message()),
                        )
                        .with_set(set)
                        .with_file(&shown_meta)
                        .with_help("the only key diesel reads is `run_in_transaction = false`; diesel would silently ignore this file and run the migration in a transaction");
                        if let Some(span) = err.span() {
                            let (line, column) = line_col(&text, span.start);
                            diag = diag.with_location(line, column);
                            if let Some(src) = text.lines().nth(line - 1) {
                                diag = diag.with_source_line(src, 1);
                            }
                        }
                        folder.problems.push(diag);
                        ok = false;
                        true
                    }
                },
                Err(diag) => {
                    folder.problems.push(diag);
                    ok = false;
                    true
                }
            }
        } else {
            true
        };

        by_version
            .entry(version.clone())
            .or_default()
            .push(dir_name.clone());
        if ok {
            folder.migrations.push(Migration {
                version,
                name,
                dir_name,
                dir: path,
                up_sql,
                down_sql,
                run_in_transaction,
                has_metadata,
            });
        }
    }

    for (version, names) in &by_version {
        if names.len() > 1 {
            folder.problems.push(
                Diagnostic::error(
                    "duplicate-version",
                    format!("{} migrations share the version {version}: {}", names.len(), names.join(", ")),
                )
                .with_set(set)
                .with_file(&shown_dir)
                .with_help("give each migration its own version (rename all but one folder with a new timestamp); diesel records migrations by version only"),
            );
        }
    }
    // Both copies of a duplicated version are unusable: which one ran is unknowable.
    folder
        .migrations
        .retain(|m| by_version.get(&m.version).is_none_or(|n| n.len() == 1));
    folder.migrations.sort_by(|a, b| a.version.cmp(&b.version));
    folder
}

/// 1-based line and character column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    (line, before[line_start..].chars().count() + 1)
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &[u8]) {
        let path = dir.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn versions_follow_diesel() {
        assert_eq!(
            parse_dir_name("2024-01-01-000000_create_users").unwrap(),
            ("20240101000000".to_string(), "create_users".to_string())
        );
        assert_eq!(
            parse_dir_name("2024-01-01-120000-0a1b_x").unwrap().0,
            "202401011200000a1b"
        );
        assert!(parse_dir_name("v1.2_x").is_err());
        assert_eq!(
            parse_dir_name("00000000000000_diesel_initial_setup")
                .unwrap()
                .0,
            "00000000000000"
        );
        assert!(parse_dir_name("create_users").is_err());
        assert!(parse_dir_name("20240101").is_err());
        assert!(parse_dir_name("2024_").is_err());
    }

    #[test]
    fn loads_sorted_with_metadata_semantics() {
        let tmp = tempfile::tempdir().unwrap();
        let m = tmp.path().join("migrations");
        write(
            &m,
            "2024-02-01-000000_b/up.sql",
            b"CREATE TABLE b (id INT);",
        );
        write(
            &m,
            "2024-02-01-000000_b/metadata.toml",
            b"run_in_transaction = false\n",
        );
        write(
            &m,
            "2024-01-01-000000_a/up.sql",
            b"CREATE TABLE a (id INT);",
        );
        write(&m, "2024-01-01-000000_a/down.sql", b"DROP TABLE a;");
        write(&m, "2024-03-01-000000_c/up.sql", b"SELECT 1;");
        write(&m, "2024-03-01-000000_c/metadata.toml", b"# no key\n");
        write(&m, ".keep", b"");
        write(&m, "README.md", b"notes");
        let f = load_folder("app", &m, tmp.path());
        assert!(f.problems.is_empty(), "{:?}", f.problems);
        let names: Vec<_> = f
            .migrations
            .iter()
            .map(|m| (m.version.as_str(), m.run_in_transaction, m.has_down()))
            .collect();
        assert_eq!(
            names,
            [
                ("20240101000000", true, true),
                ("20240201000000", false, false),
                ("20240301000000", false, false)
            ]
        );
    }

    #[test]
    fn reports_every_problem() {
        let tmp = tempfile::tempdir().unwrap();
        let m = tmp.path().join("migrations");
        write(&m, "2024-01-01-000000_no_up/down.sql", b"DROP TABLE x;");
        write(&m, "2024-01-02-000000_empty/up.sql", b"  \n\t\n");
        write(&m, "create_users/up.sql", b"CREATE TABLE u (id INT);");
        write(&m, "2024-01-03-000000_a/up.sql", b"SELECT 1;");
        write(&m, "20240103000000_b/up.sql", b"SELECT 2;");
        write(
            &m,
            "2024-01-04-000000_latin1/up.sql",
            b"SELECT 1;\nSELECT '\xe9';",
        );
        write(&m, "2024-01-05-000000_meta/up.sql", b"SELECT 1;");
        write(
            &m,
            "2024-01-05-000000_meta/metadata.toml",
            b"run_in_transaction = nope\n",
        );
        write(&m, "2024-01-06-000000_good/up.sql", b"SELECT 1;");
        let f = load_folder("app", &m, tmp.path());
        let codes: Vec<_> = f.problems.iter().map(|d| d.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "missing-up-sql",
                "empty-up-sql",
                "non-utf8-file",
                "malformed-metadata",
                "invalid-migration-name",
                "duplicate-version"
            ]
        );
        let utf8 = &f.problems[2];
        assert_eq!(utf8.location.map(|l| (l.line, l.column)), Some((2, 9)));
        assert_eq!(
            utf8.file.as_deref(),
            Some(Path::new("migrations/2024-01-04-000000_latin1/up.sql"))
        );
        assert_eq!(f.problems[3].location.map(|l| l.line), Some(1));
        // Only the good migration survives: duplicates are both dropped.
        let versions: Vec<_> = f.migrations.iter().map(|m| m.version.as_str()).collect();
        assert_eq!(versions, ["20240106000000"]);
    }

    #[test]
    fn missing_folder_is_a_problem() {
        let tmp = tempfile::tempdir().unwrap();
        let f = load_folder("app", &tmp.path().join("nope"), tmp.path());
        assert_eq!(f.problems[0].code, "missing-migrations-dir");
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\ncdé f", 9), (2, 6));
        assert_eq!(line_col("x", 0), (1, 1));
    }
}
