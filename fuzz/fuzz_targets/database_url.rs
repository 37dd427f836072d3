//! The URL parser and redactor must never panic, never show a password, and a derived scratch
//! URL must reach the database it names and no other, for any input.
#![no_main]

use std::path::Path;

use cargo_migrate::backend::Backend;
use cargo_migrate::database_url::{
    is_keyword_connection_string, redact, resolve_sqlite_url, sqlite_open_target, sqlite_path,
    DatabaseUrl,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let url = DatabaseUrl::new(text);
    let _ = redact(text);
    let _ = url.to_string();
    let _ = url.database_name();
    let _ = url.identity();
    let _ = sqlite_path(text);
    let _ = sqlite_open_target(text);
    let _ = resolve_sqlite_url(&url, Path::new("/base dir"));
    if is_keyword_connection_string(text) {
        assert_eq!(Backend::from_url(text), None);
    }
    // Everything between `://` and the last `@` is credentials: a password never shows
    // (unless the rest of the URL spells it too, as a host named like it would).
    for pw in ["S3cr#t/x?y", "p%40ss"] {
        let with = format!("postgres://u:{pw}@{text}");
        if !text.contains('@') && !text.contains(pw) {
            assert!(!redact(&with).contains(pw), "{with}");
        }
    }
    // A derived URL reaches the database it names, whatever parameters the server URL had.
    if matches!(url.backend(), Some(Backend::Postgres | Backend::Mysql)) {
        if let Some(derived) = url.with_database("cargo_migrate_scratch_1") {
            assert_eq!(
                derived.database_name().as_deref(),
                Some("cargo_migrate_scratch_1"),
                "{text} -> {}",
                derived.expose()
            );
        }
    }
});
