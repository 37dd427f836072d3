//! Database URLs from every source reach exactly the database they name, and nothing the tool
//! derives from them (scratch and admin URLs, SQLite paths) reaches another one.

use crate::common::{CliTest, Server, TestDb};

/// A one-package workspace whose set is PostgreSQL by configuration, with a history that would
/// damage any real database it ran in: it deletes every row of `keep` and creates `intruder`.
fn destructive_postgres_package() -> CliTest {
    let t = CliTest::package();
    t.write(
        "Cargo.toml",
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[package.metadata.migrate]\nbackend = \"postgres\"\n\n[workspace]\n",
    );
    t.migration(
        "2024-01-01-000000_damage",
        "CREATE TABLE IF NOT EXISTS keep (id INT PRIMARY KEY);\nDELETE FROM keep;\nCREATE TABLE intruder (id INT PRIMARY KEY);\n",
        Some("DROP TABLE intruder;\n"),
    );
    t
}

/// A "real" database with one row in `keep`.
fn real_database() -> Option<TestDb> {
    let db = TestDb::create(Server::Postgres, "real")?;
    db.connect()
        .batch_execute("CREATE TABLE keep (id INT PRIMARY KEY); INSERT INTO keep VALUES (1);")
        .unwrap();
    Some(db)
}

#[track_caller]
fn assert_untouched(db: &TestDb) {
    let mut conn = db.connect();
    assert_eq!(
        conn.count("SELECT COUNT(*)::bigint AS n FROM keep")
            .unwrap(),
        1,
        "the row of {} was deleted",
        db.name
    );
    assert_eq!(
        conn.count(
            "SELECT COUNT(*)::bigint AS n FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_name IN ('intruder', '__diesel_schema_migrations')"
        )
        .unwrap(),
        0,
        "the history ran inside {}",
        db.name
    );
}

#[test]
fn a_dbname_parameter_never_turns_a_real_database_into_the_scratch_database() {
    let Some(base) = Server::Postgres.url() else {
        return;
    };
    let Some(real) = real_database() else { return };
    let scratch = format!("{base}/x?dbname={}&sslmode=disable", real.name);
    let t = destructive_postgres_package();

    t.run(&[
        "check",
        "--offline",
        "--no-cache",
        "--scratch-url",
        &scratch,
    ])
    .assert_success();
    assert_untouched(&real);

    let run = t.run(&["schema", "--scratch-url", &scratch]);
    run.assert_success();
    assert!(run.stdout.contains("intruder"), "{}", run.all());
    assert_untouched(&real);

    // The same through MIGRATE_SCRATCH_URL, percent-encoded.
    let encoded = format!("{base}/x?db%6eame={}", real.name);
    let t = t.env("MIGRATE_SCRATCH_URL", encoded);
    t.run(&["check", "--offline", "--no-cache"])
        .assert_success();
    assert_untouched(&real);
}

#[test]
fn a_sets_own_url_with_dbname_serves_only_as_the_scratch_server() {
    let Some(base) = Server::Postgres.url() else {
        return;
    };
    let Some(real) = real_database() else { return };
    let url = format!("{base}/x?dbname={}", real.name);
    let t = destructive_postgres_package();
    let run = t.run(&["schema", "--database-url", &url]);
    run.assert_success();
    assert!(run.stdout.contains("intruder"), "{}", run.all());
    assert_untouched(&real);
}

/// A SQLite package with one applied migration in `ro.db`, and a second one pending.
fn sqlite_package_with_pending() -> CliTest {
    let t = CliTest::package();
    t.migration(
        "2024-01-01-000000_first",
        "CREATE TABLE first (id INTEGER PRIMARY KEY);\n",
        Some("DROP TABLE first;\n"),
    );
    t.run(&[
        "apply",
        "--database-url",
        &t.path("ro.db").display().to_string(),
    ])
    .assert_success();
    t.migration(
        "2024-01-02-000000_second",
        "CREATE TABLE second (id INTEGER PRIMARY KEY);\n",
        Some("DROP TABLE second;\n"),
    );
    t
}

#[test]
fn a_read_only_sqlite_uri_from_the_environment_or_dotenv_stays_read_only() {
    for (source, url) in [
        ("env", "file:ro.db?mode=ro"),
        ("dotenv", "file:ro.db?mode=ro"),
        ("env", "sqlite://ro.db?mode=ro"),
        ("env", "sqlite:file:./ro.db?mode=ro"),
    ] {
        let t = sqlite_package_with_pending();
        let before = std::fs::read(t.path("ro.db")).unwrap();
        let t = if source == "env" {
            t.env("DATABASE_URL", url)
        } else {
            t.write(".env", &format!("DATABASE_URL={url}\n"));
            t
        };
        let run = t.run(&["apply"]);
        assert_ne!(
            run.code,
            0,
            "{source} {url}: apply wrote a read-only database\n{}",
            run.all()
        );
        assert!(
            run.all().contains("readonly") || run.all().contains("read-only"),
            "{source} {url}: {}",
            run.all()
        );
        assert_eq!(
            std::fs::read(t.path("ro.db")).unwrap(),
            before,
            "{source} {url}: the database changed"
        );
        // Nothing named after the URL's parameters was created.
        let names: Vec<String> = std::fs::read_dir(&t.root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(!names.iter().any(|n| n.contains('?')), "{names:?}");
    }
}

fn sqlite_package() -> CliTest {
    let t = CliTest::package();
    t.migration(
        "2024-01-01-000000_first",
        "CREATE TABLE first (id INTEGER PRIMARY KEY);\n",
        Some("DROP TABLE first;\n"),
    );
    t
}

#[test]
fn a_blank_database_url_is_an_error_that_names_where_it_is() {
    for blank in ["", "   ", "\t"] {
        let t = sqlite_package().env("DATABASE_URL", blank);
        let run = t.run(&["status"]);
        run.assert_code(2);
        let all = run.all();
        assert!(all.contains("$DATABASE_URL is set but empty"), "{all}");
        assert!(!all.contains("is not set"), "{all}");

        let t = sqlite_package();
        t.write(".env", &format!("OTHER=1\nDATABASE_URL={blank}\n"));
        let run = t.run(&["apply"]);
        run.assert_code(2);
        let all = run.all();
        assert!(
            all.contains(&format!(
                "DATABASE_URL in {} is set but empty",
                t.path(".env").display()
            )),
            "{all}"
        );
        let files: Vec<_> = std::fs::read_dir(&t.root).unwrap().collect();
        assert_eq!(files.len(), 4, "apply created something: {files:?}");
    }
    // A quoted blank is blank too.
    let t = sqlite_package();
    t.write(".env", "DATABASE_URL=\"  \"\n");
    t.run(&["status"]).assert_code(2);
}

#[test]
fn an_unreadable_dotenv_is_an_error_naming_the_file_not_an_unset_variable() {
    // A folder named `.env` (chmod 000 would not stop root).
    let t = sqlite_package();
    std::fs::create_dir(t.path(".env")).unwrap();
    let run = t.run(&["status"]);
    run.assert_code(2);
    let all = run.all();
    assert!(
        all.contains(&format!("cannot read {}", t.path(".env").display())),
        "{all}"
    );
    assert!(all.contains("folder"), "{all}");
    assert!(!all.contains("is not set"), "{all}");

    // Bytes that are not UTF-8.
    let t = sqlite_package();
    std::fs::write(t.path(".env"), b"DATABASE_URL=dev\xff\xfe.db\n").unwrap();
    let run = t.run(&["status"]);
    run.assert_code(2);
    let all = run.all();
    assert!(
        all.contains(&format!("cannot read {}", t.path(".env").display())),
        "{all}"
    );
    assert!(all.contains("not UTF-8"), "{all}");
    assert!(!all.contains("is not set"), "{all}");

    // A line that does not parse, where the variable was meant to be: named by its number,
    // never shown (it may hold a password).
    let t = sqlite_package();
    t.write(".env", "A=1\nDATABASE_URL postgres://u:SECRETPW@h/db\n");
    let run = t.run(&["status"]);
    run.assert_code(2);
    let all = run.all();
    assert!(all.contains("line 2"), "{all}");
    assert!(!all.contains("SECRETPW"), "{all}");

    // The real environment still wins over a broken .env.
    let t = sqlite_package().env("DATABASE_URL", "dev.db");
    std::fs::create_dir(t.path(".env")).unwrap();
    t.run(&["status"]).assert_success();
}

#[test]
fn a_keyword_connection_string_is_refused_without_echo_and_creates_no_file() {
    let conninfo = "host=127.0.0.1 user=postgres password=SECRETPW dbname=x";
    for (source, args) in [
        ("env", vec!["apply"]),
        ("dotenv", vec!["apply"]),
        ("flag", vec!["apply", "--database-url", conninfo]),
        ("env", vec!["status"]),
        ("env", vec!["revert"]),
        ("env", vec!["check"]),
    ] {
        let t = sqlite_package();
        let t = match source {
            "env" => t.env("DATABASE_URL", conninfo),
            "dotenv" => {
                t.write(".env", &format!("DATABASE_URL=\"{conninfo}\"\n"));
                t
            }
            _ => t,
        };
        let before: Vec<_> = std::fs::read_dir(&t.root)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        let run = t.run(&args);
        run.assert_code(2);
        let all = run.all();
        assert!(!all.contains("SECRETPW"), "{source} {args:?}: {all}");
        assert!(
            all.contains("connection string"),
            "{source} {args:?}: {all}"
        );
        assert!(all.contains("postgres://"), "{source} {args:?}: {all}");
        let after: Vec<_> = std::fs::read_dir(&t.root)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(before, after, "{source} {args:?}: a file was created");
        for entry in walkdir::WalkDir::new(&t.root) {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(!name.contains("SECRETPW"), "{name}");
        }
    }
}
