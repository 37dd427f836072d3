//! print-schema parity, measured: every case under `fixtures/print_schema/` is replayed through
//! `cargo migrate schema` (its schema.sql as the only migration) and the output compared byte
//! for byte with what the real `diesel print-schema` printed for it (see that folder's README).
//! The same cases are then applied to a real database and read back with `cargo migrate
//! print-schema`, which must print the same bytes from the live database.

use std::path::Path;

use crate::common::{fixtures_dir, Server, TestDb};

fn cases(backend: &str) -> Vec<String> {
    let root = fixtures_dir().join("print_schema");
    let mut cases: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().join(backend).join("schema.sql").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    cases.sort();
    cases
}

/// Turn a case into a one-package workspace whose only migration is the case's schema.sql.
fn package_for(case: &str, backend: &str, into: &Path) {
    let case_dir = fixtures_dir().join("print_schema").join(case);
    std::fs::create_dir_all(into.join("src")).unwrap();
    for entry in std::fs::read_dir(&case_dir).unwrap().filter_map(Result::ok) {
        if entry.path().is_file() {
            std::fs::copy(entry.path(), into.join(entry.file_name())).unwrap();
        }
    }
    std::fs::write(
        into.join("Cargo.toml"),
        format!("[package]\nname = \"parity\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[package.metadata.migrate]\nbackend = \"{backend}\"\n\n[workspace]\n"),
    )
    .unwrap();
    std::fs::write(into.join("src/lib.rs"), "").unwrap();
    let m = into.join("migrations/00000000000001_fixture");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::copy(case_dir.join(backend).join("schema.sql"), m.join("up.sql")).unwrap();
    // The expected output was produced after loading schema.sql outside a transaction.
    std::fs::write(m.join("metadata.toml"), "run_in_transaction = false\n").unwrap();
}

/// Where the schema comes from: a scratch replay (`schema`) or a database `apply` migrated
/// (`print-schema`).
#[derive(Clone, Copy, PartialEq)]
enum Source {
    Replay,
    Live,
}

fn parity(backend: &str, scratch: Option<String>) {
    compare(backend, scratch, Source::Replay);
}

fn compare(backend: &str, scratch: Option<String>, source: Source) {
    let mut failures = Vec::new();
    let cases = cases(backend);
    assert!(cases.len() >= 15, "only {} {backend} cases", cases.len());
    for case in &cases {
        let tmp = tempfile::tempdir().unwrap();
        let pkg = tmp.path().join(case);
        package_for(case, backend, &pkg);
        let command = |args: &[&str]| {
            let mut cmd = std::process::Command::new(crate::common::BIN);
            cmd.arg("migrate")
                .args(args)
                .current_dir(&pkg)
                .env_remove("DATABASE_URL")
                .env_remove("MIGRATE_SCRATCH_URL");
            cmd
        };
        // The database of a live comparison, dropped at the end of the case.
        let mut db = None;
        let out = match source {
            Source::Replay => {
                let mut cmd = command(&["schema", "--no-cache"]);
                if let Some(url) = &scratch {
                    cmd.args(["--scratch-url", url]);
                }
                cmd.output().unwrap()
            }
            Source::Live => {
                let url = match scratch.as_ref().and_then(|_| {
                    let server = if backend == "postgres" {
                        Server::Postgres
                    } else {
                        Server::Mysql
                    };
                    TestDb::create(server, "pschema")
                }) {
                    Some(test_db) => {
                        let url = test_db.url.clone();
                        db = Some(test_db);
                        url
                    }
                    None => pkg.join("live.db").display().to_string(),
                };
                let applied = command(&["apply", "--database-url", &url])
                    .output()
                    .unwrap();
                assert!(
                    applied.status.success(),
                    "{case}: apply failed: {}",
                    String::from_utf8_lossy(&applied.stderr)
                );
                command(&["print-schema", "--database-url", &url])
                    .output()
                    .unwrap()
            }
        };
        let expected = std::fs::read_to_string(
            fixtures_dir()
                .join("print_schema")
                .join(case)
                .join(backend)
                .join("expected.rs"),
        )
        .unwrap();
        let actual = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            failures.push(format!(
                "{case}: exit {:?}: {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            ));
        } else if actual != expected {
            failures.push(format!(
                "{case}: output differs\n{}",
                cargo_migrate::diff::unified(
                    &expected,
                    &actual,
                    "expected.rs",
                    "cargo migrate schema"
                )
            ));
        }
        drop(db);
    }
    assert!(
        failures.is_empty(),
        "{} of {} {backend} cases fail:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn sqlite_print_schema_parity() {
    parity("sqlite", None);
}

#[test]
fn postgres_print_schema_parity() {
    let Some(url) = Server::Postgres.url() else {
        return;
    };
    parity("postgres", Some(url));
}

#[test]
fn mysql_print_schema_parity() {
    let Some(url) = Server::Mysql.url() else {
        return;
    };
    parity("mysql", Some(url));
}

#[test]
fn sqlite_print_schema_of_a_live_database() {
    compare("sqlite", None, Source::Live);
}

#[test]
fn postgres_print_schema_of_a_live_database() {
    let Some(url) = Server::Postgres.url() else {
        return;
    };
    compare("postgres", Some(url), Source::Live);
}

#[test]
fn mysql_print_schema_of_a_live_database() {
    let Some(url) = Server::Mysql.url() else {
        return;
    };
    compare("mysql", Some(url), Source::Live);
}
