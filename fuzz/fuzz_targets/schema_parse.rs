//! The schema.rs parser must never panic: any text, valid Rust or not, either parses or gives
//! an error that names a line inside the text; a parsed schema converts to the model for every
//! backend (or errors) without panicking.
#![no_main]

use std::path::Path;

use cargo_migrate::backend::Backend;
use cargo_migrate::schema::parse::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match parse(text, Path::new("src/schema.rs")) {
        Ok(parsed) => {
            for backend in Backend::ALL {
                let _ = parsed.to_model(backend);
            }
        }
        Err(err) => {
            let _ = err.to_string();
        }
    }
});
