//! The whole lint (splitter, parser fallback, history replay, every rule, inline allows) must
//! never panic, whatever a migration contains.
#![no_main]

use std::path::Path;

use cargo_migrate::backend::Backend;
use cargo_migrate::lint::{lint_set, LintConfig, MigrationInput, SqlFile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // Up to three migrations separated by a NUL-free marker; the last byte picks the settings.
    let parts: Vec<&str> = text.splitn(3, "\u{1}").collect();
    let in_tx = data.last().is_none_or(|b| b & 1 == 0);
    let dirs: Vec<String> = (0..parts.len()).map(|i| format!("2024-01-0{}-000000_m{i}", i + 1)).collect();
    let versions: Vec<String> = (0..parts.len()).map(|i| format!("2024010{}000000", i + 1)).collect();
    let up = Path::new("up.sql");
    let down = Path::new("down.sql");
    let inputs: Vec<MigrationInput> = parts
        .iter()
        .enumerate()
        .map(|(i, sql)| MigrationInput {
            dir_name: &dirs[i],
            version: &versions[i],
            dir: Path::new("migrations"),
            up: Some(SqlFile { path: up, text: sql }),
            down: (i % 2 == 0).then_some(SqlFile { path: down, text: sql }),
            run_in_transaction: in_tx,
        })
        .collect();
    for backend in Backend::ALL {
        for d in lint_set("fuzz", backend, &inputs, &LintConfig::default()) {
            assert!(!d.code.is_empty() && !d.message.is_empty());
            let _ = d.render();
        }
    }
});
