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

use crate::diagnostic::{Diagnostic, Problem};

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
    /// `sha256:` of what running the migration depends on: up.sql, down.sql and whether it
    /// runs in a transaction. Line endings never change it.
    pub fn checksum(&self) -> String {
        let transaction = if self.run_in_transaction { "t" } else { "f" };
        checksum_of(&[
            Some(self.up_sql.as_str()),
            self.down_sql.as_deref(),
            Some(transaction),
        ])
    }

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
    /// The migration with this version.
    pub fn find(&self, version: &str) -> Option<&Migration> {
        self.migrations.iter().find(|m| m.version == version)
    }

    #[cfg(feature = "cli")]
    /// Lint every migration of the folder, oldest first, as set `set` on `backend`.
    pub fn lint(
        &self,
        set: &str,
        backend: crate::backend::Backend,
        config: &crate::lint::LintConfig,
    ) -> Vec<Diagnostic> {
        self.lint_counted(set, backend, config).findings
    }

    #[cfg(feature = "cli")]
    /// [`Self::lint`], also counting the findings inline allow comments silenced.
    pub fn lint_counted(
        &self,
        set: &str,
        backend: crate::backend::Backend,
        config: &crate::lint::LintConfig,
    ) -> crate::lint::LintOutcome {
        use crate::lint::{MigrationInput, SqlFile};
        let paths: Vec<(PathBuf, PathBuf)> = self
            .migrations
            .iter()
            .map(|m| (m.up_path(), m.down_path()))
            .collect();
        let inputs: Vec<MigrationInput> = self
            .migrations
            .iter()
            .zip(&paths)
            .map(|(m, (up, down))| MigrationInput {
                dir_name: &m.dir_name,
                version: &m.version,
                dir: &m.dir,
                up: Some(SqlFile {
                    path: up,
                    text: &m.up_sql,
                }),
                down: m
                    .down_sql
                    .as_deref()
                    .map(|text| SqlFile { path: down, text }),
                run_in_transaction: m.run_in_transaction,
            })
            .collect();
        crate::lint::lint_set_counted(set, backend, &inputs, config)
    }
}

/// Split a folder name into diesel's version and the name, or explain why it is not one.
///
/// diesel takes the text before the first `_` as the version, or the whole name when there is
/// no `_` (`2022-12-07-110000` is a migration with that version and no name), and drops `-`.
/// A version must start with a digit and hold only letters, digits and `-`: diesel would run
/// `create_users` with the version `create`, which is never what was meant.
pub fn parse_dir_name(dir_name: &str) -> Result<(String, String), String> {
    let (raw_version, name) = dir_name.split_once('_').unwrap_or((dir_name, ""));
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
    Ok((raw_version.replace('-', ""), name.to_string()))
}

/// Normalise a version as given on the command line (`--to`): a version, or a migration folder
/// name, to diesel's version.
pub fn normalise_version(to: &str) -> String {
    let head = to.split('_').next().unwrap_or(to);
    head.replace('-', "")
}

/// Which file of a migration runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// up.sql.
    Up,
    /// down.sql.
    Down,
}

impl Direction {
    /// `up.sql` or `down.sql`.
    pub fn file_name(self) -> &'static str {
        match self {
            Direction::Up => "up.sql",
            Direction::Down => "down.sql",
        }
    }
}

/// Read `path` as UTF-8, or describe exactly what is wrong with it.
fn read_text(path: &Path, set: &str) -> Result<String, Box<Diagnostic>> {
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
                Err(Box::new(Diagnostic::error(Problem::NonUtf8File, format!("`{}` is not valid UTF-8 (byte {valid})", path.display()))
                    .with_set(set)
                    .with_file(path)
                    .with_location(line, column)
                    .with_help("save the file as UTF-8; diesel sends migration files to the database as UTF-8 text")))
            }
        },
        Err(err) => Err(Box::new(
            Diagnostic::error(
                Problem::UnreadableFile,
                format!("cannot read `{}`: {err}", path.display()),
            )
            .with_set(set)
            .with_file(path)
            .with_help("check the file's permissions"),
        )),
    }
}

#[derive(serde::Deserialize)]
struct MetadataToml {
    #[serde(default)]
    run_in_transaction: bool,
}

/// `sha256:` of a sequence of texts, each present or not, with line endings normalised to
/// `\n`: moving text from one part to the next, or dropping a part, changes it.
pub fn checksum_of(parts: &[Option<&str>]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in parts {
        match part {
            Some(text) => {
                h.update(b"1");
                h.update(text.replace("\r\n", "\n").as_bytes());
            }
            None => h.update(b"0"),
        }
        h.update([0u8]);
    }
    format!("sha256:{:x}", h.finalize())
}

/// diesel's reading of a metadata.toml's text: `run_in_transaction`, `false` when the key is
/// missing; `true` for text that is not valid (the folder loader reports that case).
pub fn run_in_transaction_of(text: &str) -> bool {
    toml::from_str::<MetadataToml>(text)
        .map(|m| m.run_in_transaction)
        .unwrap_or(true)
}

/// Load and validate one migrations folder.
pub fn load_folder(set: &str, dir: &Path) -> MigrationFolder {
    let shown_dir = dir;
    let mut folder = MigrationFolder {
        path: dir.to_path_buf(),
        ..Default::default()
    };
    // A path that is there but is not a folder (a file, a link to a file) is a problem, not
    // a folder without migrations: read_dir's "Not a directory" would hide which it is.
    if let Ok(meta) = fs::metadata(dir) {
        if !meta.is_dir() {
            folder.problems.push(
                Diagnostic::error(
                    Problem::MissingMigrationsDir,
                    format!(
                        "the migrations path `{}` is a file, not a folder",
                        shown_dir.display()
                    ),
                )
                .with_set(set)
                .with_file(shown_dir)
                .with_help("diesel migrations live in a folder of `<version>_<name>/` folders: move the file away and create the folder, or point `migrations` in [package.metadata.migrate] or `[migrations_directory] dir` in diesel.toml at the right folder"),
            );
            return folder;
        }
    }
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound && fs::symlink_metadata(dir).is_ok() => {
            let target = fs::read_link(dir)
                .map(|t| format!(" to `{}`", t.display()))
                .unwrap_or_default();
            folder.problems.push(
                Diagnostic::error(
                    Problem::MissingMigrationsDir,
                    format!(
                        "the migrations path `{}` is a link{target} that cannot be followed (its target does not exist)",
                        shown_dir.display()
                    ),
                )
                .with_set(set)
                .with_file(shown_dir)
                .with_help("fix or remove the link, or point `migrations` in [package.metadata.migrate] or `[migrations_directory] dir` in diesel.toml at the right folder"),
            );
            return folder;
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            folder.problems.push(
                Diagnostic::error(Problem::MissingMigrationsDir, format!("the migrations folder `{}` does not exist", shown_dir.display()))
                    .with_set(set)
                    .with_file(shown_dir)
                    .with_help("create it, or point `migrations` in [package.metadata.migrate] or `[migrations_directory] dir` in diesel.toml at the right folder"),
            );
            return folder;
        }
        Err(err) => {
            folder.problems.push(
                Diagnostic::error(
                    Problem::UnreadableFile,
                    format!(
                        "cannot read the migrations folder `{}`: {err}",
                        shown_dir.display()
                    ),
                )
                .with_set(set)
                .with_file(shown_dir),
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
                        Problem::UnreadableFile,
                        format!("cannot list `{}`: {err}", shown_dir.display()),
                    )
                    .with_set(set)
                    .with_file(shown_dir),
                );
                continue;
            }
        };
        let path = entry.path();
        // Files (README, .keep) and hidden folders are not migrations, as for diesel.
        if !path.is_dir() {
            // A link that cannot be followed (dangling, a loop, itself) is not a file
            // either: diesel would stop on it, so it is a folder problem, never a skip.
            let is_link = entry.file_type().map(|t| t.is_symlink()).unwrap_or(false);
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if is_link && !hidden {
                if let Err(err) = fs::metadata(&path) {
                    folder.problems.push(
                        Diagnostic::error(
                            Problem::UnreadableFile,
                            format!(
                                "the migration folder `{}` is a symbolic link that cannot be followed: {err}",
                                path.display()
                            ),
                        )
                        .with_set(set)
                        .with_file(&path)
                        .with_help("point the link at an existing migration folder, or remove it"),
                    );
                }
            }
            continue;
        }
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            folder.problems.push(
                Diagnostic::error(
                    Problem::InvalidMigrationName,
                    format!(
                        "the folder `{}` has a name that is not UTF-8",
                        path.display()
                    ),
                )
                .with_set(set)
                .with_file(&path)
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
        let shown = &path;
        let (version, name) = match parse_dir_name(&dir_name) {
            Ok(v) => v,
            Err(why) => {
                let backend_named = matches!(
                    dir_name.to_ascii_lowercase().as_str(),
                    "sqlite"
                        | "sqlite3"
                        | "postgres"
                        | "postgresql"
                        | "pg"
                        | "pgsql"
                        | "mysql"
                        | "mariadb"
                );
                let help = if backend_named {
                    format!("`{dir_name}` is named like a backend folder, but this folder also holds other folders; when every folder in it is a backend folder, each is a set of its own: move the migrations into backend folders, or describe the sets in [[package.metadata.migrate.sets]] (see docs/configuration.md)")
                } else {
                    "name migration folders `<version>_<name>`, e.g. `2024-05-01-120000_create_users`".to_string()
                };
                folder.problems.push(
                    Diagnostic::error(
                        Problem::InvalidMigrationName,
                        format!("the migration folder `{dir_name}` {why}"),
                    )
                    .with_set(set)
                    .with_file(shown)
                    .with_help(help),
                );
                continue;
            }
        };
        let up_path = path.join("up.sql");
        let mut ok = true;
        let up_sql = if up_path.is_file()
            || fs::metadata(&up_path).is_err_and(|e| e.kind() != io::ErrorKind::NotFound)
        {
            match read_text(&up_path, set) {
                Ok(text) => text,
                Err(diag) => {
                    folder.problems.push(*diag);
                    ok = false;
                    String::new()
                }
            }
        } else {
            folder.problems.push(
                Diagnostic::error(Problem::MissingUpSql, format!("the migration folder `{}` has no up.sql", shown.display()))
                    .with_set(set)
                    .with_file(shown)
                    .with_help("add an up.sql with the migration's SQL, or remove the folder; diesel refuses a migrations folder with such an entry"),
            );
            ok = false;
            String::new()
        };

        let down_path = path.join("down.sql");
        let down_sql = if down_path.is_file() {
            match read_text(&down_path, set) {
                Ok(text) => Some(text),
                Err(diag) => {
                    folder.problems.push(*diag);
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
            let shown_meta = &meta_path;
            match read_text(&meta_path, set) {
                Ok(text) => match toml::from_str::<MetadataToml>(&text) {
                    Ok(meta) => meta.run_in_transaction,
                    Err(err) => {
                        let mut diag = Diagnostic::error(
                            Problem::MalformedMetadata,
                            format!("`{}` is not valid: {}", shown_meta.display(), err.message()),
                        )
                        .with_set(set)
                        .with_file(shown_meta)
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
                    folder.problems.push(*diag);
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
                    Problem::DuplicateVersion,
                    format!("{} migrations share the version {version}: {}", names.len(), names.join(", ")),
                )
                .with_set(set)
                .with_file(shown_dir)
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

// ---------------------------------------------------------------------------------------------
// New migrations

/// Why a new migration cannot be created.
#[derive(Debug, thiserror::Error)]
pub enum NewMigrationError {
    /// The name is not snake_case.
    #[error("the migration name `{name}` is not snake_case\nhelp: write it as `{suggestion}`")]
    NotSnakeCase {
        /// The name as given.
        name: String,
        /// The name diesel would accept.
        suggestion: String,
    },
    /// The name has nothing to turn into snake_case.
    #[error("the migration name `{name}` has no letters or digits to make a snake_case name of\nhelp: name the migration after what it does, e.g. `add_users_email`")]
    EmptyName {
        /// The name as given.
        name: String,
    },
    /// The folder exists already.
    #[error("the migration folder `{}` already exists\nhelp: wait a second and run the command again, or choose another name", .0.display())]
    Exists(PathBuf),
    /// Every sub-version of this second is taken.
    #[error("every sub-version of this second is taken in `{}`\nhelp: wait a second and run the command again", .0.display())]
    NoVersionLeft(PathBuf),
    /// The folder could not be written.
    #[error("cannot write the migration `{}`: {source}\nhelp: check that the migrations folder is writable; nothing was created", path.display())]
    Write {
        /// The migration folder.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
}

#[cfg(feature = "cli")]
/// The name as diesel would accept it: lowercase snake_case of letters, digits and `_`.
pub fn check_name(name: &str) -> Result<(), NewMigrationError> {
    use heck::ToSnakeCase;
    let cleaned: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
        .collect();
    let suggestion = cleaned.to_snake_case();
    if suggestion.is_empty() {
        return Err(NewMigrationError::EmptyName {
            name: name.to_string(),
        });
    }
    if suggestion != name {
        return Err(NewMigrationError::NotSnakeCase {
            name: name.to_string(),
            suggestion,
        });
    }
    Ok(())
}

/// `now` in UTC as (year, month, day, hour, minute, second).
pub fn utc_parts(now: std::time::SystemTime) -> (i64, i64, i64, u64, u64, u64) {
    let secs = now
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    (year, month, day, rem / 3600, rem % 3600 / 60, rem % 60)
}

/// `YYYY-MM-DD-HHMMSS` in UTC for `now`.
pub fn timestamp(now: std::time::SystemTime) -> String {
    let (year, month, day, h, m, sec) = utc_parts(now);
    format!("{year:04}-{month:02}-{day:02}-{h:02}{m:02}{sec:02}")
}

/// The version diesel_cli 2.3 would pick at `now`: the timestamp plus the first `-XXXX`
/// sub-version that no name in `existing` starts with and whose diesel version (dashes removed)
/// is not in `taken`.
pub fn next_version(
    now: std::time::SystemTime,
    existing: &[String],
    taken: &std::collections::BTreeSet<String>,
) -> Option<String> {
    let stamp = timestamp(now);
    (0..=u16::MAX)
        .map(|sub| format!("{stamp}-{sub:04x}"))
        .find(|v| {
            !existing.iter().any(|e| e.starts_with(v.as_str()))
                && !taken.contains(&v.replace('-', ""))
        })
}

/// The names of the folders in `migrations` (empty when it cannot be read).
pub fn folder_names(migrations: &Path) -> Vec<String> {
    fs::read_dir(migrations)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Write `up` and `down` into `<migrations>/<dir_name>` through a hidden temporary folder
/// renamed into place, so a failure never leaves half a migration behind.
pub fn write_new(
    migrations: &Path,
    dir_name: &str,
    up: &str,
    down: Option<&str>,
) -> Result<PathBuf, NewMigrationError> {
    let target = migrations.join(dir_name);
    if target.exists() {
        return Err(NewMigrationError::Exists(target));
    }
    let tmp = migrations.join(format!(
        ".{dir_name}.cargo-migrate-{}.tmp",
        std::process::id()
    ));
    let result = (|| -> io::Result<()> {
        fs::create_dir_all(migrations)?;
        fs::create_dir(&tmp)?;
        fs::write(tmp.join("up.sql"), up)?;
        if let Some(down) = down {
            fs::write(tmp.join("down.sql"), down)?;
        }
        fs::rename(&tmp, &target)
    })();
    if let Err(source) = result {
        let _ = fs::remove_dir_all(&tmp);
        return Err(NewMigrationError::Write {
            path: target,
            source,
        });
    }
    Ok(target)
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
        // No `_`: the whole name is the version, as diesel reads it.
        assert_eq!(
            parse_dir_name("2022-12-07-110000").unwrap(),
            ("20221207110000".to_string(), String::new())
        );
        assert_eq!(parse_dir_name("2024_").unwrap().0, "2024");
        assert!(parse_dir_name("_x").is_err());
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
        let f = load_folder("app", &m);
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

    #[cfg(unix)]
    #[test]
    fn links_that_cannot_be_followed_are_folder_problems() {
        let tmp = tempfile::tempdir().unwrap();
        let m = tmp.path().join("migrations");
        write(&m, "2024-01-01-000000_real/up.sql", b"SELECT 1;");
        let unix = std::os::unix::fs::symlink;
        unix(m.join("nowhere"), m.join("2024-02-01-000000_dangling")).unwrap();
        unix(
            m.join("2024-03-01-000000_self"),
            m.join("2024-03-01-000000_self"),
        )
        .unwrap();
        unix(m.join("2024-04-01-000000_a"), m.join("2024-04-01-000000_b")).unwrap();
        unix(m.join("2024-04-01-000000_b"), m.join("2024-04-01-000000_a")).unwrap();
        unix(
            m.join("2024-01-01-000000_real"),
            m.join("2024-05-01-000000_alias"),
        )
        .unwrap();
        let f = load_folder("app", &m);
        let mut flagged: Vec<String> = f.problems.iter().map(|d| d.message.clone()).collect();
        flagged.sort();
        assert_eq!(flagged.len(), 4, "{flagged:?}");
        for (msg, name) in flagged.iter().zip([
            "2024-02-01-000000_dangling",
            "2024-03-01-000000_self",
            "2024-04-01-000000_a",
            "2024-04-01-000000_b",
        ]) {
            assert!(msg.contains(name) && msg.contains("symbolic link"), "{msg}");
        }
        let versions: Vec<_> = f.migrations.iter().map(|m| m.version.as_str()).collect();
        assert_eq!(versions, ["20240101000000", "20240501000000"]);
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
        let f = load_folder("app", &m);
        let codes: Vec<_> = f.problems.iter().map(|d| d.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "missing-up-sql",
                "non-utf8-file",
                "malformed-metadata",
                "invalid-migration-name",
                "duplicate-version"
            ]
        );
        let utf8 = &f.problems[1];
        assert_eq!(utf8.location.map(|l| (l.line, l.column)), Some((2, 9)));
        assert_eq!(
            utf8.file.as_deref(),
            Some(m.join("2024-01-04-000000_latin1/up.sql").as_path())
        );
        assert_eq!(f.problems[2].location.map(|l| l.line), Some(1));
        // Only the good migrations survive: duplicates are both dropped. A blank up.sql is
        // not a folder problem: the lint's `empty-up-sql` reports it, and `apply` refuses it
        // before the first migration of its plan runs.
        let versions: Vec<_> = f.migrations.iter().map(|m| m.version.as_str()).collect();
        assert_eq!(versions, ["20240102000000", "20240106000000"]);
    }

    #[test]
    fn missing_folder_is_a_problem() {
        let tmp = tempfile::tempdir().unwrap();
        let f = load_folder("app", &tmp.path().join("nope"));
        assert_eq!(f.problems[0].code, "missing-migrations-dir");
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\ncdé f", 9), (2, 6));
        assert_eq!(line_col("x", 0), (1, 1));
    }

    #[test]
    fn names_must_be_snake_case() {
        assert!(check_name("add_users").is_ok());
        assert!(check_name("v2_fix").is_ok());
        match check_name("AddUsers") {
            Err(NewMigrationError::NotSnakeCase { suggestion, .. }) => {
                assert_eq!(suggestion, "add_users")
            }
            other => panic!("{other:?}"),
        }
        match check_name("add users-email") {
            Err(NewMigrationError::NotSnakeCase { suggestion, .. }) => {
                assert_eq!(suggestion, "add_users_email")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            check_name("!!"),
            Err(NewMigrationError::EmptyName { .. })
        ));
    }

    #[test]
    fn versions_follow_diesel_cli() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        assert_eq!(timestamp(t), "2023-11-14-221320");
        let none = Default::default();
        assert_eq!(
            next_version(t, &[], &none).unwrap(),
            "2023-11-14-221320-0000"
        );
        let existing = vec![
            "2023-11-14-221320-0000_a".to_string(),
            "2023-11-14-221320-0001_b".to_string(),
        ];
        assert_eq!(
            next_version(t, &existing, &none).unwrap(),
            "2023-11-14-221320-0002"
        );
        let taken = ["202311142213200002".to_string()].into_iter().collect();
        assert_eq!(
            next_version(t, &existing, &taken).unwrap(),
            "2023-11-14-221320-0003"
        );
        assert_eq!(
            timestamp(std::time::UNIX_EPOCH + std::time::Duration::from_secs(951_782_400)),
            "2000-02-29-000000"
        );
    }
}
