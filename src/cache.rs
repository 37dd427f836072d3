//! The rendered-schema cache, so a warm `check` answers without replaying anything.
//!
//! Beside each entry's sections, `<set>.catalog.json` keeps the catalog of the same replay
//! (see [`crate::catalog`]), under the same key, for live drift.
//!
//! Entries live under `target/cargo-migrate/schema/<set>.json`, one per set, keyed by a SHA-256
//! of everything the rendered text depends on: the tool's version, the backend, every
//! migration's folder name, up.sql and transaction setting, the diesel.toml text, the schema
//! file paths, the rustfmt settings in effect and any patch file. An entry is used only when its
//! key matches exactly; anything else is a miss, so a stale entry is never trusted.

use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::backend::Backend;
use crate::catalog::Catalog;
use crate::diagnostic::{Code, Diagnostic, Location, Problem, Severity};
use crate::migration::Migration;
use crate::schema::RenderedSection;
use crate::workspace::MigrationSet;

/// Where cache entries live.
#[derive(Debug, Clone)]
pub struct SchemaCache {
    dir: PathBuf,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct CatalogEntry {
    key: String,
    catalog: Catalog,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Entry {
    key: String,
    sections: Vec<RenderedSection>,
}

/// The cache key of a set's rendered schema.
pub fn key(set: &MigrationSet, backend: Backend, migrations: &[&Migration]) -> String {
    let mut h = Sha256::new();
    field(&mut h, env!("CARGO_PKG_VERSION").as_bytes());
    field(&mut h, backend.as_str().as_bytes());
    for m in migrations {
        field(&mut h, m.dir_name.as_bytes());
        field(&mut h, m.up_sql.as_bytes());
        field(&mut h, &[u8::from(m.run_in_transaction)]);
    }
    match &set.diesel_toml {
        Some(d) => field(&mut h, fs::read(&d.path).unwrap_or_default().as_slice()),
        None => field(&mut h, b"no diesel.toml"),
    }
    for (name, opts) in &set.print_schema {
        field(&mut h, name.as_bytes());
        field(&mut h, format!("{:?}", opts.file).as_bytes());
        if let Some(patch) = &opts.patch_file {
            field(&mut h, fs::read(patch).unwrap_or_default().as_slice());
        }
    }
    field(&mut h, format!("{:?}", set.format).as_bytes());
    // init-sql runs on the scratch database before the history (a search_path changes where
    // the tables go).
    for statement in &set.init_sql.statements {
        field(&mut h, statement.as_bytes());
    }
    format!("{:x}", h.finalize())
}

/// The cache key of a set's lint: everything [`crate::lint::lint_set_counted`] reads (the
/// tool's version, the set's name and backend, its lint configuration, and each migration's
/// folder, version, files and transaction setting).
pub fn lint_key(
    set: &str,
    backend: Backend,
    config: &crate::lint::LintConfig,
    migrations: &[Migration],
) -> String {
    let mut h = Sha256::new();
    field(&mut h, env!("CARGO_PKG_VERSION").as_bytes());
    field(&mut h, b"lint");
    field(&mut h, set.as_bytes());
    field(&mut h, backend.as_str().as_bytes());
    let mut levels: Vec<String> = config
        .levels
        .iter()
        .map(|(rule, level)| format!("{rule}={level:?}"))
        .collect();
    levels.sort();
    for level in &levels {
        field(&mut h, level.as_bytes());
    }
    field(&mut h, format!("{:?}", config.lint_after).as_bytes());
    for statement in &config.init_sql {
        field(&mut h, statement.as_bytes());
    }
    for m in migrations {
        field(&mut h, m.dir.as_os_str().as_encoded_bytes());
        field(&mut h, m.dir_name.as_bytes());
        field(&mut h, m.version.as_bytes());
        field(&mut h, m.up_sql.as_bytes());
        match &m.down_sql {
            Some(down) => field(&mut h, down.as_bytes()),
            None => field(&mut h, b"no down.sql"),
        }
        field(&mut h, &[u8::from(m.run_in_transaction)]);
    }
    format!("{:x}", h.finalize())
}

/// Feed one length-prefixed field to a hash, so that fields never run into each other.
pub(crate) fn field(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

/// A set's name as a file name: letters, digits, `-` and `_` kept, anything else `_`.
pub fn safe_name(set: &str) -> String {
    set.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl SchemaCache {
    /// The cache under a workspace's target directory.
    pub fn new(target_dir: &Path) -> SchemaCache {
        SchemaCache {
            dir: target_dir.join("cargo-migrate").join("schema"),
        }
    }

    fn path(&self, set: &str) -> PathBuf {
        self.path_with(set, "json")
    }

    /// Delete every cached entry (`cargo migrate cache clean`): how many files and bytes
    /// were removed. A cache that does not exist is already clean.
    pub fn clean(&self) -> std::io::Result<(usize, u64)> {
        let (mut files, mut bytes) = (0, 0);
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((0, 0)),
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let meta = entry.metadata()?;
            if meta.is_file() {
                bytes += meta.len();
                files += 1;
                std::fs::remove_file(entry.path())?;
            }
        }
        Ok((files, bytes))
    }

    /// Where the cache lives.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_with(&self, set: &str, ext: &str) -> PathBuf {
        self.dir.join(format!("{}.{ext}", safe_name(set)))
    }

    /// The cached sections of `set` if they were stored under exactly `key`.
    pub fn get(&self, set: &str, key: &str) -> Option<Vec<RenderedSection>> {
        let text = fs::read_to_string(self.path(set)).ok()?;
        let entry: Entry = serde_json::from_str(&text).ok()?;
        (entry.key == key).then_some(entry.sections)
    }

    /// Store sections (best effort: a cache that cannot be written is just not used).
    pub fn put(&self, set: &str, key: &str, sections: &[RenderedSection]) {
        let entry = Entry {
            key: key.to_string(),
            sections: sections.to_vec(),
        };
        self.write(&self.path(set), &entry);
    }

    /// The cached catalog of `set` (an entry of [`SchemaCache::get`]'s kind) if it was stored
    /// under exactly `key`.
    pub fn get_catalog(&self, set: &str, key: &str) -> Option<Catalog> {
        let text = fs::read_to_string(self.path_with(set, "catalog.json")).ok()?;
        let entry: CatalogEntry = serde_json::from_str(&text).ok()?;
        (entry.key == key).then_some(entry.catalog)
    }

    /// Store a catalog (best effort, as [`SchemaCache::put`]).
    pub fn put_catalog(&self, set: &str, key: &str, catalog: &Catalog) {
        let entry = CatalogEntry {
            key: key.to_string(),
            catalog: catalog.clone(),
        };
        self.write(&self.path_with(set, "catalog.json"), &entry);
    }

    /// The cached lint of `set` if it was stored under exactly `key` (and every finding's
    /// rule is still known).
    pub fn get_lint(&self, set: &str, key: &str) -> Option<crate::lint::LintOutcome> {
        let text = fs::read_to_string(self.path_with(set, "lint.json")).ok()?;
        let entry: LintEntry = serde_json::from_str(&text).ok()?;
        if entry.key != key {
            return None;
        }
        let findings = entry
            .findings
            .into_iter()
            .map(CachedFinding::into_diagnostic)
            .collect::<Option<Vec<_>>>()?;
        Some(crate::lint::LintOutcome {
            findings,
            allowed: entry.allowed,
        })
    }

    /// Store a set's lint (best effort, as [`SchemaCache::put`]).
    pub fn put_lint(&self, set: &str, key: &str, lint: &crate::lint::LintOutcome) {
        let entry = LintEntry {
            key: key.to_string(),
            allowed: lint.allowed,
            findings: lint.findings.iter().map(CachedFinding::from).collect(),
        };
        self.write(&self.path_with(set, "lint.json"), &entry);
    }

    fn write(&self, path: &Path, entry: &impl serde::Serialize) {
        if fs::create_dir_all(&self.dir).is_err() {
            return;
        }
        let Ok(text) = serde_json::to_string(entry) else {
            return;
        };
        let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
        if fs::write(&tmp, text).is_ok() && fs::rename(&tmp, path).is_err() {
            let _ = fs::remove_file(&tmp);
        }
    }
}

/// A set's lint as cached.
#[derive(serde::Serialize, serde::Deserialize)]
struct LintEntry {
    key: String,
    allowed: usize,
    findings: Vec<CachedFinding>,
}

/// One finding as cached: its code by id, read back through the rule registry.
#[derive(serde::Serialize, serde::Deserialize)]
struct CachedFinding {
    code: String,
    severity: String,
    set: Option<String>,
    file: Option<PathBuf>,
    location: Option<(usize, usize)>,
    source_line: Option<String>,
    width: usize,
    message: String,
    help: Option<String>,
}

impl From<&Diagnostic> for CachedFinding {
    fn from(d: &Diagnostic) -> Self {
        CachedFinding {
            code: d.code.as_str().to_string(),
            severity: d.severity.as_str().to_string(),
            set: d.set.clone(),
            file: d.file.clone(),
            location: d.location.map(|l| (l.line, l.column)),
            source_line: d.source_line.clone(),
            width: d.width,
            message: d.message.clone(),
            help: d.help.clone(),
        }
    }
}

impl CachedFinding {
    fn into_diagnostic(self) -> Option<Diagnostic> {
        let code = crate::lint::rules::all()
            .iter()
            .map(|r| r.info().id)
            .find(|id| *id == self.code)
            .map(Code::Rule)
            .or_else(|| {
                Problem::ALL
                    .iter()
                    .find(|p| p.id() == self.code)
                    .map(|p| Code::Problem(*p))
            })?;
        let severity = [Severity::Error, Severity::Warning, Severity::Info]
            .into_iter()
            .find(|s| s.as_str() == self.severity)?;
        Some(Diagnostic {
            code,
            severity,
            set: self.set,
            file: self.file,
            location: self
                .location
                .map(|(line, column)| Location { line, column }),
            source_line: self.source_line,
            width: self.width,
            message: self.message,
            help: self.help,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(dir: &Path) -> MigrationSet {
        MigrationSet {
            name: "app".into(),
            package: "app".into(),
            dir: dir.to_path_buf(),
            manifest_path: dir.join("Cargo.toml"),
            migrations_dir: dir.join("migrations"),
            schema_file: Some(dir.join("src/schema.rs")),
            diesel_toml: None,
            database_url_env: "DATABASE_URL".into(),
            backend: None,
            backend_from: None,
            found_by: crate::workspace::FoundBy::MigrationsFolder,
            found_at: dir.join("migrations"),
            depends_on: vec![],
            lint: Default::default(),
            drift_ignore: Vec::new(),
            print_schema: vec![("default".to_string(), Default::default())],
            format: Default::default(),
            virtual_root: false,
            table: "[package.metadata.migrate]".into(),
            schema_check: None,
            init_sql: Default::default(),
            write_schema: false,
            targets_query: None,
        }
    }

    fn migration(up: &str) -> Migration {
        Migration {
            version: "1".into(),
            name: "a".into(),
            dir_name: "1_a".into(),
            dir: PathBuf::from("/x/1_a"),
            up_sql: up.into(),
            down_sql: None,
            run_in_transaction: true,
            has_metadata: false,
        }
    }

    #[test]
    fn any_input_change_is_a_new_key_and_old_entries_miss() {
        let tmp = tempfile::tempdir().unwrap();
        let s = set(tmp.path());
        let (a, b) = (
            migration("CREATE TABLE a (id INT);"),
            migration("CREATE TABLE a (id BIGINT);"),
        );
        let k1 = key(&s, Backend::Sqlite, &[&a]);
        let k2 = key(&s, Backend::Sqlite, &[&b]);
        let k3 = key(&s, Backend::Postgres, &[&a]);
        assert_ne!(k1, k2);
        assert_ne!(k1, k3);
        let mut with_init = set(tmp.path());
        with_init.init_sql.statements = vec!["SET search_path = app".into()];
        assert_ne!(k1, key(&with_init, Backend::Sqlite, &[&a]));
        let cache = SchemaCache::new(tmp.path());
        let rendered = vec![RenderedSection {
            replayed_on: None,
            key: "default".into(),
            file: None,
            text: "x".into(),
        }];
        cache.put("app", &k1, &rendered);
        assert_eq!(cache.get("app", &k1), Some(rendered));
        assert_eq!(cache.get("app", &k2), None);
        // The catalog is kept beside the sections, under the same key rules.
        let mut catalog = Catalog::new();
        catalog.insert(crate::catalog::Object {
            kind: crate::catalog::Kind::Index,
            name: "t_a".into(),
            attrs: [(
                "definition".to_string(),
                "CREATE INDEX t_a ON t (a)".to_string(),
            )]
            .into(),
            sql: Default::default(),
        });
        cache.put_catalog("app", &k1, &catalog);
        assert_eq!(cache.get_catalog("app", &k1), Some(catalog));
        assert_eq!(cache.get_catalog("app", &k2), None);
        assert!(cache.get("app", &k1).is_some());
    }
}
