//! Saved states of a history's prefix, so a `check` after a new or edited newest migration
//! replays only what changed.
//!
//! After a replay, the scratch database of the whole history is kept as a *state*, and so is
//! the one of the history without its newest migration. The next replay looks for the longest
//! prefix of its own history that has a state, starts from a copy of it and replays only the
//! rest. A state is found by a key: a hash of the tool's version, the backend, the server's
//! version, the set's `init-sql` and every migration of the prefix (folder name, up.sql,
//! transaction setting), so an edited older migration, another server version or another
//! tool version never finds one, and the replay is a full one.
//!
//! Where states live:
//! - SQLite: files `target/cargo-migrate/states/<set tag>_<length>_<key>.sqlite` (written with
//!   `VACUUM INTO`); a replay copies one to a temporary file beside it and opens that.
//! - PostgreSQL: databases named `cargo_migrate_state_<unix seconds>_<set tag>_<length>_<key>` on the
//!   scratch server; a replay creates its scratch database with `CREATE DATABASE … TEMPLATE`
//!   of one (nothing ever connects to a state, which a template needs), and the scratch
//!   database of a finished replay becomes a state by a rename.
//! - MySQL/MariaDB have no way to copy a database: every replay is a full one.
//!
//! Bounds: a save drops the set's other states of the same length (the newest migration as it
//! was before an edit); beyond that [`PER_SET`] states per set and [`PER_SERVER`] per server
//! (a save drops a surplus of as many again, the oldest first), none older than [`MAX_AGE`];
//! `cargo migrate cache clean` removes them all, and `--no-cache` neither reads nor writes
//! them. Only names of this exact shape are ever dropped.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

/// The prefix of every saved state's database name.
pub const PREFIX: &str = "cargo_migrate_state_";

/// States kept per set: once a set has twice as many, a save drops all but the newest.
pub const PER_SET: usize = 3;

/// States kept on one server, of every set and workspace: once there are [`PER_SET`] more, a
/// save drops the oldest.
pub const PER_SERVER: usize = 32;

/// States older than this are dropped when any state is saved.
pub const MAX_AGE: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Hex digits of a key in a state's name.
const KEY_LEN: usize = 16;

/// Where one set's states are kept and how its names are told apart from other sets'.
#[derive(Debug, Clone)]
pub struct StateStore {
    /// The folder of SQLite state files.
    pub dir: PathBuf,
    /// Eight hex digits naming the set (its workspace and name).
    pub set_tag: String,
}

impl StateStore {
    /// The store of set `set` of the workspace at `root`, with files under `target_dir`.
    pub fn new(target_dir: &Path, root: &Path, set: &str) -> StateStore {
        let mut h = Sha256::new();
        h.update(root.to_string_lossy().as_bytes());
        h.update([0]);
        h.update(set.as_bytes());
        let tag = format!("{:x}", h.finalize())[..8].to_string();
        StateStore {
            dir: states_dir(target_dir),
            set_tag: tag,
        }
    }

    /// The key of a prefix in names: its history key mixed with the server's version.
    pub fn name_key(history_key: &str, server_version: &str) -> String {
        let mut h = Sha256::new();
        h.update(history_key.as_bytes());
        h.update([0]);
        h.update(server_version.as_bytes());
        format!("{:x}", h.finalize())[..KEY_LEN].to_string()
    }

    /// A new database name for the state of the first `len` migrations, keyed `name_key`.
    pub fn database_name(&self, len: usize, name_key: &str) -> String {
        format!("{PREFIX}{}_{}_{len}_{name_key}", now_secs(), self.set_tag)
    }

    /// The file of the SQLite state of the first `len` migrations, keyed `name_key`.
    pub fn file(&self, len: usize, name_key: &str) -> PathBuf {
        self.dir
            .join(format!("{}_{len}_{name_key}.sqlite", self.set_tag))
    }

    /// Of `names` (databases on a server), the one holding the longest prefix of `keys`
    /// (`keys[k]`: the name key of the first `k` migrations), with `k`; `k` is at least 1.
    pub fn find<'n>(&self, names: &'n [String], keys: &[String]) -> Option<(usize, &'n str)> {
        (1..keys.len()).rev().find_map(|k| {
            names
                .iter()
                .find(|n| {
                    parse(n)
                        .is_some_and(|s| s.tag == self.set_tag && s.len == k && s.key == keys[k])
                })
                .map(|n| (k, n.as_str()))
        })
    }

    /// Of `names`, the states to drop after `saved` was saved: this set's others of the same
    /// length (the history's newest migration as it was before an edit: superseded), this
    /// set's beyond the newest [`PER_SET`], any set's older than [`MAX_AGE`], and the oldest
    /// beyond [`PER_SERVER`].
    pub fn evictable(&self, names: &[String], now: SystemTime, saved: &str) -> Vec<String> {
        let mut ours: Vec<(u64, &String)> = Vec::new();
        let mut theirs: Vec<(u64, &String)> = Vec::new();
        let mut out = Vec::new();
        let saved_len = parse(saved).map(|s| s.len);
        for name in names {
            let Some(state) = parse(name) else { continue };
            if state.tag == self.set_tag && Some(state.len) == saved_len && name != saved {
                out.push(name.clone());
                continue;
            }
            let old = UNIX_EPOCH
                .checked_add(Duration::from_secs(state.secs))
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|age| age > MAX_AGE);
            if old {
                out.push(name.clone());
            } else if state.tag == self.set_tag {
                ours.push((state.secs, name));
            } else {
                theirs.push((state.secs, name));
            }
        }
        let newest_first =
            |a: &(u64, &String), b: &(u64, &String)| b.0.cmp(&a.0).then_with(|| b.1.cmp(a.1));
        ours.sort_by(newest_first);
        // Dropping a database takes a while: a surplus is dropped only once it is large, so
        // most saves drop nothing.
        if ours.len() >= 2 * PER_SET {
            out.extend(ours.iter().skip(PER_SET).map(|(_, n)| (*n).clone()));
        }
        // What stays of this set counts against the server's bound first.
        theirs.sort_by(newest_first);
        let room = PER_SERVER.saturating_sub(ours.len().min(PER_SET));
        if theirs.len() >= room + PER_SET {
            out.extend(theirs.iter().skip(room).map(|(_, n)| (*n).clone()));
        }
        out
    }

    /// After the file `saved` was written: drop this set's other SQLite state files of the
    /// same length, those beyond the newest [`PER_SET`] and any older than [`MAX_AGE`] (by
    /// modification time).
    pub fn evict_files(&self, saved: &Path) {
        let length_of = |name: &str| {
            name.strip_prefix(&format!("{}_", self.set_tag))
                .and_then(|rest| rest.split('_').next())
                .and_then(|n| n.parse::<usize>().ok())
        };
        let saved_name = saved
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let saved_len = length_of(&saved_name);
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let now = SystemTime::now();
        let mut ours = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let half_written = name.ends_with(".tmp");
            if !name.ends_with(".sqlite") && !half_written {
                continue;
            }
            let Ok(modified) = entry.metadata().and_then(|m| m.modified()) else {
                continue;
            };
            let age = now.duration_since(modified).unwrap_or_default();
            // A replay's own copy, and a state being written, are gone when the run ends; one
            // left by a crash goes in an hour.
            let leftover =
                (half_written || name.starts_with("replay-")) && age > Duration::from_secs(60 * 60);
            if half_written && !leftover {
                continue;
            }
            let sibling =
                name != saved_name && saved_len.is_some() && length_of(&name) == saved_len;
            if leftover || sibling || age > MAX_AGE {
                let _ = std::fs::remove_file(entry.path());
            } else if name.starts_with(&format!("{}_", self.set_tag)) {
                ours.push((modified, entry.path()));
            }
        }
        ours.sort_by_key(|o| std::cmp::Reverse(o.0));
        for (_, path) in ours.into_iter().skip(PER_SET) {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The folder of SQLite states under a target directory.
pub fn states_dir(target_dir: &Path) -> PathBuf {
    target_dir.join("cargo-migrate").join("states")
}

/// The parts of a state's database name.
#[derive(Debug, PartialEq)]
struct Parsed<'a> {
    secs: u64,
    tag: &'a str,
    len: usize,
    key: &'a str,
}

/// A name of exactly the shape [`StateStore::database_name`] makes, or `None`.
fn parse(name: &str) -> Option<Parsed<'_>> {
    let rest = name.strip_prefix(PREFIX)?;
    let mut parts = rest.split('_');
    let (secs, tag, len, key) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex_of = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if parts.next().is_some()
        || !digits(secs)
        || !digits(len)
        || !hex_of(tag, 8)
        || !hex_of(key, KEY_LEN)
    {
        return None;
    }
    Some(Parsed {
        secs: secs.parse().ok()?,
        tag,
        len: len.parse().ok()?,
        key,
    })
}

/// The set tag of a saved state's database name, or `None` for any other name.
pub fn tag_of(name: &str) -> Option<&str> {
    parse(name).map(|s| s.tag)
}

/// Whether `name` is a saved state's database (so it may be dropped by `cache clean`).
pub fn is_state(name: &str) -> bool {
    parse(name).is_some()
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> StateStore {
        StateStore::new(Path::new("/t"), Path::new("/w"), "app")
    }

    #[test]
    fn names_parse_back_and_nothing_else_does() {
        let s = store();
        let key = StateStore::name_key("abc", "15.4");
        let name = s.database_name(999_999, &key);
        assert!(name.len() <= 63, "{name}");
        let name = s.database_name(12, &key);
        let parsed = parse(&name).unwrap();
        assert_eq!((parsed.tag, parsed.key), (s.set_tag.as_str(), key.as_str()));
        for other in [
            "production",
            "cargo_migrate_scratch_1_2_3",
            "cargo_migrate_state_1_2_3",
            &format!("cargo_migrate_state_1_{}_x_{key}", s.set_tag),
            &format!("{name}_x"),
            &format!("x{name}"),
        ] {
            assert!(!is_state(other), "{other}");
        }
    }

    #[test]
    fn the_longest_prefix_is_found() {
        let s = store();
        let keys: Vec<String> = (0..5)
            .map(|k| StateStore::name_key(&k.to_string(), "v"))
            .collect();
        let names = vec![
            s.database_name(2, &keys[2]),
            s.database_name(3, &keys[3]),
            StateStore::new(Path::new("/t"), Path::new("/w"), "other").database_name(4, &keys[4]),
            // A key at another length is not that prefix.
            s.database_name(4, &keys[3]),
        ];
        assert_eq!(s.find(&names, &keys), Some((3, names[1].as_str())));
        // The empty prefix is never a state.
        assert_eq!(s.find(&[s.database_name(0, &keys[0])], &keys), None);
    }

    #[test]
    fn eviction_keeps_the_newest_of_a_set_and_drops_the_old_of_any() {
        let s = store();
        let other = StateStore::new(Path::new("/t"), Path::new("/w"), "other");
        let now = UNIX_EPOCH + Duration::from_secs(2_000_000_000);
        // Each at its own length (the number of migrations it holds): no siblings.
        let at = |store: &StateStore, secs: u64| {
            format!(
                "{PREFIX}{secs}_{}_{}_{}",
                store.set_tag,
                secs % 1000,
                "0".repeat(KEY_LEN)
            )
        };
        let mut names = vec![at(&other, 1_999_999_000), at(&other, 1_000_000_000)];
        for secs in 1_999_999_990..1_999_999_995 {
            names.push(at(&s, secs));
        }
        let newest = names.last().unwrap().clone();
        // Five of this set: only the one too old goes.
        assert_eq!(s.evictable(&names, now, &newest), vec![names[1].clone()]);
        // Six: the set is brought back to the newest PER_SET.
        names.push(at(&s, 1_999_999_995));
        let newest = names.last().unwrap().clone();
        let evict = s.evictable(&names, now, &newest);
        assert_eq!(
            evict,
            [&names[1], &names[4], &names[3], &names[2]].map(|n| n.clone())
        );
        // However many sets there are, a server keeps at most PER_SERVER states.
        let many: Vec<String> = (0..(PER_SERVER + PER_SET) as u64)
            .map(|i| {
                let store = StateStore::new(Path::new("/t"), Path::new("/w"), &format!("s{i}"));
                at(&store, 1_999_999_000 + i)
            })
            .collect();
        let evict = s.evictable(&many, now, &at(&s, 1_999_999_999));
        assert_eq!(evict.len(), PER_SET);
        assert!(evict.contains(&many[0]) && !evict.contains(&many[PER_SERVER]));
    }

    #[test]
    fn a_save_drops_the_states_it_supersedes_and_keeps_the_shorter_ones() {
        let s = store();
        let now = UNIX_EPOCH + Duration::from_secs(2_000_000_000);
        let key = |k: &str| StateStore::name_key(k, "v");
        // The history without its newest migration (9), and two edits of the newest (10).
        let before_newest = format!("{PREFIX}1999999000_{}_9_{}", s.set_tag, key("a"));
        let first_edit = format!("{PREFIX}1999999001_{}_10_{}", s.set_tag, key("b"));
        let second_edit = format!("{PREFIX}1999999002_{}_10_{}", s.set_tag, key("c"));
        let names = vec![before_newest, first_edit.clone(), second_edit.clone()];
        assert_eq!(s.evictable(&names, now, &second_edit), vec![first_edit]);
    }
}
