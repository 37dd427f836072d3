//! Placeholders block: what `generate --diff-schema` leaves for a person to decide carries a
//! `-- cargo-migrate: todo:` marker, `check` fails on it (`unresolved-todo`, an error nothing
//! lowers), and `apply` refuses a pending migration that holds one (`revert` and `redo` a file they
//! would run), before anything runs.

use cargo_migrate::backend::Backend;
use cargo_migrate::database_url::DatabaseUrl;
use cargo_migrate::db::{ConnectOptions, Connection};

use insta::assert_snapshot;

use crate::common::{CliTest, Server, TestDb};

const USERS: &str = "CREATE TABLE users (id INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL);\n";

/// A SQLite package `app` with one migration, applied to `app.db`, and its schema.rs written.
fn sqlite_app() -> CliTest {
    let t = CliTest::package().env("DATABASE_URL", "app.db");
    std::fs::write(
        t.path("Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[package.metadata.migrate]\nbackend = \"sqlite\"\n\n[workspace]\n",
    )
    .unwrap();
    t.migration(
        "2024-01-01-000000_create_users",
        USERS,
        Some("DROP TABLE users;\n"),
    );
    t.run(&["apply"]).assert_success();
    t.write("src/schema.rs", "");
    t.run(&["schema", "--write"]).assert_success();
    t
}

/// The one migration folder `generate` created.
fn generated(t: &CliTest) -> std::path::PathBuf {
    let dirs: Vec<_> = std::fs::read_dir(t.path("migrations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.ends_with("2024-01-01-000000_create_users"))
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs[0].clone()
}

fn applied(url: &str, backend: Backend) -> Vec<String> {
    let mut conn =
        Connection::establish(&DatabaseUrl::new(url), backend, ConnectOptions::default()).unwrap();
    conn.applied_versions(&DatabaseUrl::new(url)).unwrap()
}

/// A new NOT NULL column: SQLite rebuilds the table, and how existing rows get a value is the
/// person's decision. `check` fails on the marker, `apply` refuses and records nothing; once
/// the marker is resolved, both go through.
#[test]
fn sqlite_todo_blocks_check_and_apply() {
    let t = sqlite_app();
    let schema = std::fs::read_to_string(t.path("src/schema.rs")).unwrap();
    let edited = schema.replace(
        "        name -> Text,\n",
        "        name -> Text,\n        score -> Integer,\n",
    );
    assert_ne!(schema, edited, "{schema}");
    t.write("src/schema.rs", &edited);
    let generate = t.run(&["generate", "add_score", "--diff-schema"]);
    generate.assert_success();
    assert!(
        generate
            .stdout
            .contains("next: resolve the 1 todo marker in the files"),
        "{}",
        generate.stdout
    );
    let dir = generated(&t);
    let up = std::fs::read_to_string(dir.join("up.sql")).unwrap();
    let line = up
        .lines()
        .position(|l| l.starts_with("-- cargo-migrate: todo: `users.score` is new and NOT NULL"))
        .unwrap_or_else(|| panic!("no marker in up.sql:\n{up}"))
        + 1;

    // check (offline, with the database's URL unset): an error naming the file and line.
    let check = t.run(&["check", "--offline"]);
    check.assert_code(1);
    let out = check.all();
    assert!(
        out.contains(
            "error[unresolved-todo]: unresolved todo in up.sql: `users.score` is new and NOT NULL"
        ),
        "{out}"
    );
    assert!(
        out.contains(&format!("_add_score/up.sql:{line}:1")),
        "{out}"
    );
    let json = t.run(&["check", "--offline", "--format", "json"]);
    json.assert_code(1);
    let doc = json.json();
    assert!(
        doc["sets"][0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "unresolved-todo" && f["severity"] == "error"),
        "{doc:#}"
    );

    // apply: exit 2 before anything runs, naming file:line; nothing recorded or changed.
    let before = std::fs::read(t.path("app.db")).unwrap();
    for args in [&["apply"][..], &["apply", "--dry-run"][..]] {
        let run = t.run(args);
        run.assert_code(2);
        let err = run.all();
        assert!(
            err.contains(&format!("_add_score/up.sql:{line}: `users.score` is new")),
            "{err}"
        );
        assert!(err.contains("nothing was applied"), "{err}");
    }
    let db = t.path("app.db").display().to_string();
    assert_eq!(applied(&db, Backend::Sqlite), ["20240101000000"]);
    assert_eq!(std::fs::read(t.path("app.db")).unwrap(), before);

    // Resolved as a person would: a value for existing rows, the marker deleted.
    let resolved: String = up
        .lines()
        .filter(|l| !l.starts_with("-- cargo-migrate: todo:"))
        .map(|l| format!("{l}\n"))
        .collect::<String>()
        .replace(
            "\"score\" INTEGER NOT NULL",
            "\"score\" INTEGER NOT NULL DEFAULT 0",
        );
    std::fs::write(dir.join("up.sql"), resolved).unwrap();
    t.run(&["check", "--offline"]).assert_success();
    t.run(&["apply"]).assert_success();
    assert_eq!(applied(&db, Backend::Sqlite).len(), 2);
}

/// A marker that is already applied does not block: `apply` refuses pending migrations only.
/// A marker in down.sql fails `check` but does not stop `apply`.
#[test]
fn only_pending_up_sql_markers_block_apply() {
    let t = sqlite_app();
    t.migration(
        "2024-01-02-000000_b",
        "CREATE TABLE b (id INTEGER PRIMARY KEY);\n",
        Some("-- cargo-migrate: todo: keep the rows?\nDROP TABLE b;\n"),
    );
    t.run(&["check", "--offline", "--lint-only"]).assert_code(1);
    t.run(&["apply"]).assert_success();
    // Already applied, then marked: later applies are not blocked.
    t.write(
        "migrations/2024-01-01-000000_create_users/up.sql",
        &format!("{USERS}-- cargo-migrate: todo: decided long ago\n"),
    );
    t.run(&["apply"]).assert_success();
}

/// `revert` and `redo` refuse, before anything runs (dry run included), a migration to be
/// reverted whose down.sql still holds a marker; a marker in a down.sql the plan does not run
/// does not block. `redo` refuses a marker in the up.sql it would run again, as `apply` does.
#[test]
fn revert_and_redo_refuse_down_sql_markers() {
    let t = sqlite_app();
    t.migration(
        "2024-01-02-000000_b",
        "CREATE TABLE b (id INTEGER PRIMARY KEY);\n",
        Some("-- cargo-migrate: todo: keep the rows of `b`?\nDROP TABLE b;\n"),
    );
    t.migration(
        "2024-01-03-000000_c",
        "CREATE TABLE c (id INTEGER PRIMARY KEY);\n",
        Some("DROP TABLE c;\n"),
    );
    t.run(&["apply"]).assert_success();
    let db = t.path("app.db").display().to_string();
    let all_three = ["20240101000000", "20240102000000", "20240103000000"];
    assert_eq!(applied(&db, Backend::Sqlite), all_three);

    // The newest migration's down.sql has no marker: revert and redo of it run.
    t.run(&["redo"]).assert_success();
    t.run(&["revert"]).assert_success();
    assert_eq!(applied(&db, Backend::Sqlite), &all_three[..2]);

    let before = std::fs::read(t.path("app.db")).unwrap();
    for (args, verb) in [
        (&["revert"][..], "revert"),
        (&["revert", "--dry-run"][..], "revert"),
        (&["revert", "--all"][..], "revert"),
        (&["redo"][..], "redo"),
        (&["redo", "--dry-run"][..], "redo"),
    ] {
        let run = t.run(args);
        run.assert_code(2);
        let err = run.all();
        assert!(
            err.contains(&format!("refusing to {verb}: 1 marker in a")),
            "{args:?}: {err}"
        );
        assert!(
            err.contains("2024-01-02-000000_b/down.sql:1: keep the rows of `b`?"),
            "{args:?}: {err}"
        );
        assert!(err.contains("nothing was revert"), "{args:?}: {err}");
    }
    assert_eq!(applied(&db, Backend::Sqlite), &all_three[..2]);
    assert_eq!(std::fs::read(t.path("app.db")).unwrap(), before);
    let run = t.run(&["revert"]);
    assert_snapshot!("revert_down_marker", t.clean(&run.stderr));

    // redo also runs up.sql again: a marker there is refused too.
    t.write("migrations/2024-01-02-000000_b/down.sql", "DROP TABLE b;\n");
    t.write(
        "migrations/2024-01-02-000000_b/up.sql",
        "-- cargo-migrate: todo: an index on b?\nCREATE TABLE b (id INTEGER PRIMARY KEY);\n",
    );
    let run = t.run(&["redo"]);
    run.assert_code(2);
    assert!(
        run.all()
            .contains("2024-01-02-000000_b/up.sql:1: an index on b?"),
        "{}",
        run.all()
    );
    // revert runs only down.sql, which is resolved now.
    t.run(&["revert"]).assert_success();
    assert_eq!(applied(&db, Backend::Sqlite), &all_three[..1]);
}

/// On PostgreSQL the enum placeholder does not run: `CREATE TYPE … AS ENUM ()` would create a
/// type without labels.
#[test]
fn postgres_enum_placeholder_blocks() {
    let Some(db) = TestDb::create(Server::Postgres, "enum_todo") else {
        return;
    };
    let t = CliTest::package().env("DATABASE_URL", db.url.clone());
    t.migration(
        "2024-01-01-000000_create_users",
        "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
        Some("DROP TABLE users;\n"),
    );
    t.run(&["apply"]).assert_success();
    t.write("src/schema.rs", "");
    t.run(&["schema", "--write"]).assert_success();
    t.write(
        "src/schema.rs",
        "// @generated automatically by Diesel CLI.\n\npub mod sql_types {\n    #[derive(diesel::sql_types::SqlType)]\n    #[diesel(postgres_type(name = \"mood\"))]\n    pub struct Mood;\n}\n\ndiesel::table! {\n    use diesel::sql_types::*;\n    use super::sql_types::Mood;\n\n    users (id) {\n        id -> Int4,\n        mood -> Nullable<Mood>,\n    }\n}\n",
    );
    t.run(&["generate", "add_mood", "--diff-schema"])
        .assert_success();
    let dir = generated(&t);
    let up = std::fs::read_to_string(dir.join("up.sql")).unwrap();
    assert!(up.contains("CREATE TYPE \"mood\" AS ENUM (\n    LABELS_GO_HERE -- cargo-migrate: todo: replace LABELS_GO_HERE with the labels of `mood`"), "{up}");
    let check = t.run(&["check", "--offline"]);
    check.assert_code(1);
    assert!(
        check.all().contains("error[unresolved-todo]"),
        "{}",
        check.all()
    );
    let run = t.run(&["apply"]);
    run.assert_code(2);
    assert!(run.all().contains("_add_mood/up.sql:"), "{}", run.all());
    assert_eq!(applied(&db.url, Backend::Postgres), ["20240101000000"]);

    // Even with the marker line deleted by hand, the placeholder itself does not run.
    let stripped = up.replace(" -- cargo-migrate: todo:", " --");
    std::fs::write(dir.join("up.sql"), &stripped).unwrap();
    let run = t.run(&["apply"]);
    run.assert_code(1);
    assert_eq!(applied(&db.url, Backend::Postgres), ["20240101000000"]);
    let mut conn = db.connect();
    conn.batch_execute("SELECT 'x'::mood").unwrap_err();
}

/// `check` shows how many findings allow comments silenced, per set.
#[test]
fn check_counts_allowed_findings() {
    let t = sqlite_app();
    t.migration(
        "2024-01-02-000000_drop_name",
        "-- cargo-migrate: allow(drop-column): the name moved to profiles in v2\nALTER TABLE users DROP COLUMN name;\n",
        Some("ALTER TABLE users ADD COLUMN name TEXT;\n"),
    );
    let run = t.run(&["check", "--lint-only"]);
    run.assert_success();
    assert!(
        run.all().contains("ok app (2 migrations, 1 allowed)"),
        "{}",
        run.all()
    );
    let json = t.run(&["check", "--lint-only", "--format", "json"]);
    json.assert_success();
    assert_eq!(json.json()["sets"][0]["allowed"], 1);
}
