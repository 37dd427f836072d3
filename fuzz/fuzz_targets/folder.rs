//! The migration folder loader must never panic: any folder names, any file contents (UTF-8 or
//! not), any metadata.toml. The input is a tiny archive: entries separated by 0xFF, each
//! `name 0x00 content`, where a name is `<folder>/<file>`.
#![no_main]

use cargo_migrate::migration::load_folder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(tmp) = tempfile::tempdir() else { return };
    let root = tmp.path().join("migrations");
    let _ = std::fs::create_dir_all(&root);
    for entry in data.split(|b| *b == 0xFF).take(16) {
        let mut parts = entry.splitn(2, |b| *b == 0);
        let (Some(name), Some(content)) = (parts.next(), parts.next()) else { continue };
        let Ok(name) = std::str::from_utf8(name) else { continue };
        let mut segs = name.splitn(2, '/');
        let (Some(dir), Some(file)) = (segs.next(), segs.next()) else { continue };
        // Stay inside the temporary folder: plain names only.
        let plain = |s: &str| !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\\', '\0']);
        if !plain(dir) || !plain(file) {
            continue;
        }
        let folder = root.join(dir);
        let _ = std::fs::create_dir_all(&folder);
        let _ = std::fs::write(folder.join(file), content);
    }
    let loaded = load_folder("fuzz", &root, tmp.path());
    for m in &loaded.migrations {
        assert!(!m.version.is_empty());
        assert!(loaded.migrations.iter().filter(|o| o.version == m.version).count() == 1, "duplicate versions survived");
    }
    for d in &loaded.problems {
        let _ = d.render();
    }
});
