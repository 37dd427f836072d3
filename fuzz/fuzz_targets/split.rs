//! The SQL statement splitter must never panic, and its statements must be in order, inside the
//! text, and on character boundaries, for any input on every backend.
#![no_main]

use cargo_migrate::backend::Backend;
use cargo_migrate::sql::split;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for backend in Backend::ALL {
        if let Ok(file) = split(text, backend) {
            let mut last_end = 0;
            for stmt in &file.statements {
                assert!(stmt.bytes.start <= stmt.bytes.end && stmt.bytes.end <= text.len());
                assert!(stmt.bytes.start >= last_end, "statements overlap or go backwards");
                assert!(text.is_char_boundary(stmt.bytes.start) && text.is_char_boundary(stmt.bytes.end));
                assert!(stmt.start.line >= 1 && stmt.start.column >= 1);
                last_end = stmt.bytes.end;
            }
        }
    }
});
