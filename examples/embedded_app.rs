//! An application that brings its database up to date at startup, from a bundle compiled
//! into its binary.
//!
//! The bundle next to this file is written from `fixtures/embedded-app` with
//! `cargo migrate bundle --out ../../examples/embedded_app.bundle.json`. Run it against an
//! empty PostgreSQL database:
//!
//! ```text
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/shop cargo run --example embedded_app
//! ```
//!
//! An application needs only the runner: `cargo-migrate = { version = "…", default-features =
//! false }`.

// An example program: its output is the terminal.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use cargo_migrate::embedded::{Bundle, Migrator};

static BUNDLE: &[u8] = include_bytes!("embedded_app.bundle.json");

/// The application's logger: here, each record on stderr.
struct Stderr;

impl log::Log for Stderr {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Info
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!("[{} {}] {}", record.level(), record.target(), record.args());
        }
    }

    fn flush(&self) {}
}

fn migrate(url: &str) -> Result<(), cargo_migrate::embedded::Error> {
    let bundle = Bundle::from_bytes(BUNDLE)?;
    let report = Migrator::new(&bundle, "shop")?.run(url)?;
    println!(
        "database ready: {} migration(s) applied now, {} already applied",
        report.applied.len(),
        report.already_applied
    );
    for m in &report.applied {
        println!("  {} ({} ms)", m.name, m.took.as_millis());
    }
    Ok(())
}

fn main() -> ExitCode {
    let _ = log::set_logger(&Stderr).map(|()| log::set_max_level(log::LevelFilter::Info));
    let Ok(url) = std::env::var("DATABASE_URL") else {
        eprintln!("error: DATABASE_URL is not set\nhelp: set it to the application's PostgreSQL database, e.g. postgres://postgres@127.0.0.1:5432/shop");
        return ExitCode::from(2);
    };
    match migrate(&url) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
