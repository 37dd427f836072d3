//! The rendered-schema cache, so a warm `check` answers without replaying anything.
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
use crate::migration::Migration;
use crate::schema::RenderedSection;
use crate::workspace::MigrationSet;

/// Where cache entries live.
#[derive(Debug, Clone)]
pub struct SchemaCache {
    dir: PathBuf,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Entry {
    key: String,
    sections: Vec<RenderedSection>,
}

/// The cache key of a set's rendered schema.
pub fn key(set: &MigrationSet, backend: Backend, migrations: &[&Migration]) -> String {
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    field(env!("CARGO_PKG_VERSION").as_bytes());
    field(backend.as_str().as_bytes());
    for m in migrations {
        field(m.dir_name.as_bytes());
        field(m.up_sql.as_bytes());
        field(&[u8::from(m.run_in_transaction)]);
    }
    match &set.diesel_toml {
        Some(d) => field(fs::read(&d.path).unwrap_or_default().as_slice()),
        None => field(b"no diesel.toml"),
    }
    for (name, opts) in &set.print_schema {
        field(name.as_bytes());
        field(format!("{:?}", opts.file).as_bytes());
        if let Some(patch) = &opts.patch_file {
            field(fs::read(patch).unwrap_or_default().as_slice());
        }
    }
    field(format!("{:?}", set.format).as_bytes());
    // init-sql runs on the scratch database before the history (a search_path changes where
    // the tables go).
    for statement in &set.init_sql.statements {
        field(statement.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl SchemaCache {
    /// The cache under a workspace's target directory.
    pub fn new(target_dir: &Path) -> SchemaCache {
        SchemaCache {
            dir: target_dir.join("cargo-migrate").join("schema"),
        }
    }

    fn path(&self, set: &str) -> PathBuf {
        let safe: String = set
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.dir.join(format!("{safe}.json"))
    }

    /// The cached sections of `set` if they were stored under exactly `key`.
    pub fn get(&self, set: &str, key: &str) -> Option<Vec<RenderedSection>> {
        let text = fs::read_to_string(self.path(set)).ok()?;
        let entry: Entry = serde_json::from_str(&text).ok()?;
        (entry.key == key).then_some(entry.sections)
    }

    /// Store sections (best effort: a cache that cannot be written is just not used).
    pub fn put(&self, set: &str, key: &str, sections: &[RenderedSection]) {
        if fs::create_dir_all(&self.dir).is_err() {
            return;
        }
        let entry = Entry {
            key: key.to_string(),
            sections: sections.to_vec(),
        };
        let Ok(text) = serde_json::to_string(&entry) else {
            return;
        };
        let path = self.path(set);
        let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
        if fs::write(&tmp, text).is_ok() && fs::rename(&tmp, &path).is_err() {
            let _ = fs::remove_file(&tmp);
        }
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
            print_schema: vec![("default".to_string(), Default::default())],
            format: Default::default(),
            virtual_root: false,
            table: "[package.metadata.migrate]".into(),
            schema_check: None,
            init_sql: Default::default(),
            write_schema: false,
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
    }
}
