//! The URL parser and the redactor: no input panics them, and a password never survives
//! redaction, whatever characters it holds and wherever the URL puts it.
#![no_main]

use cargo_migrate::database_url::{redact, redact_text, sqlite_path, DatabaseUrl};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // Any text as a URL: parsing never panics.
    let url = DatabaseUrl::new(text);
    let _ = url.backend();
    let _ = url.database_name();
    let _ = url.with_database("cargo_migrate_scratch_1");
    let _ = url.redacted();
    let _ = sqlite_path(text);
    let _ = redact_text(text, &url);

    // The input split in two: a password, and the rest of a URL around it.
    let (pw, rest) = text.split_at(text.len() / 2);
    let (pw, rest) = match (text.is_char_boundary(pw.len()), pw.len() >= 6) {
        (true, true) => (pw, rest),
        _ => return,
    };
    // A password that also spells the user, host, database or a parameter name could be
    // shown for those; only check ones that are not part of the URL's other text.
    let forms = [
        format!("postgres://user:{pw}@host:5432/db{rest}"),
        format!("mysql://user:{pw}@host/db?x=1{rest}"),
        format!("postgres://host/db?password={pw}"),
        format!("postgres://host/db?sslmode=require&PassWord={pw}"),
        format!("host=h user=u password={pw} dbname=d"),
    ];
    for raw in forms {
        let others = raw.replacen(pw, "", 1);
        if others.contains(pw) || pw.contains(['&', ' ', '#', '\'', '"', '\\']) {
            continue;
        }
        let url = DatabaseUrl::new(raw.clone());
        for shown in [url.to_string(), redact(&raw), url.redacted()] {
            assert!(!shown.contains(pw), "password shown: {shown:?} for {raw:?}");
        }
        let message = format!("could not connect to {raw}: failed");
        let shown = redact_text(&message, &url);
        assert!(!shown.contains(pw), "password shown in a message: {shown:?}");
    }
});
