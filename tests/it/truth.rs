//! Nothing is recorded that did not run, and what the tool says after a failure is what the
//! database holds (issue 11, points 2 and 3). Each test reads the database afterwards.

use cargo_migrate::backend::Backend;
use cargo_migrate::database_url::DatabaseUrl;
use cargo_migrate::db::{ConnectOptions, Connection};

use crate::common::{CliTest, Server, TestDb};

/// A database of one backend for one test: a SQLite file in the workspace, or a fresh
/// database on a test server (dropped afterwards).
struct Target {
    t: CliTest,
    url: String,
    backend: Backend,
    _db: Option<TestDb>,
}

impl Target {
    fn new(backend: Backend, tag: &str) -> Option<Target> {
        let t = CliTest::package();
        let (url, db) = match backend {
            Backend::Sqlite => (t.path("app.db").display().to_string(), None),
            Backend::Postgres => {
                let db = TestDb::create(Server::Postgres, tag)?;
                (db.url.clone(), Some(db))
            }
            Backend::Mysql => {
                let db = TestDb::create(Server::Mysql, tag)?;
                (db.url.clone(), Some(db))
            }
        };
        let name = match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::Mysql => "mysql",
        };
        t.write(
            "Cargo.toml",
            &format!(
                "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[package.metadata.migrate]\nbackend = \"{name}\"\n\n[workspace]\n"
            ),
        );
        let t = t.env("DATABASE_URL", &url);
        Some(Target {
            t,
            url,
            backend,
            _db: db,
        })
    }

    fn connect(&self) -> Connection {
        Connection::establish(
            &DatabaseUrl::new(&self.url),
            self.backend,
            ConnectOptions {
                create_sqlite: true,
                wait: None,
            },
        )
        .unwrap()
    }

    /// What `__diesel_schema_migrations` records (empty when the table does not exist).
    fn applied(&self) -> Vec<String> {
        let mut conn = self.connect();
        if !conn.has_migrations_table().unwrap() {
            return Vec::new();
        }
        conn.applied_versions(&DatabaseUrl::new(&self.url)).unwrap()
    }

    fn has_table(&self, name: &str) -> bool {
        let sql = match self.backend {
            Backend::Sqlite => {
                format!("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '{name}'")
            }
            Backend::Postgres => format!(
                "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name = '{name}'"
            ),
            Backend::Mysql => format!(
                "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '{name}'"
            ),
        };
        self.connect().count(&sql).unwrap() > 0
    }
}

const GOOD: &str = "2024-01-01-000000_create_a";
const SECOND: &str = "2024-01-02-000000_create_b";
const EMPTY: &str = "2024-01-03-000000_todo";

/// The up.sql a fresh `generate` writes, and two other files with no statement.
const NO_STATEMENT: &[&str] = &[
    "-- Your SQL goes here\n",
    "  \n\t\n",
    "/* later */\n;\n",
    "",
];

fn refuses_an_up_sql_without_statements(backend: Backend) {
    for (i, up) in NO_STATEMENT.iter().enumerate() {
        let Some(target) = Target::new(backend, &format!("emptyup{i}")) else {
            return;
        };
        let t = &target.t;
        t.migration(GOOD, "CREATE TABLE a (id INT);\n", Some("DROP TABLE a;\n"));
        t.run(&["apply"]).assert_success();
        assert_eq!(target.applied(), ["20240101000000"]);

        // A runnable migration before the empty one: the whole plan is checked before the
        // first migration runs, so neither runs.
        t.migration(
            SECOND,
            "CREATE TABLE b (id INT);\n",
            Some("DROP TABLE b;\n"),
        );
        t.migration(EMPTY, up, Some("SELECT 1;\n"));
        let run = t.run(&["apply"]);
        run.assert_code(2);
        let all = run.all();
        assert!(
            all.contains(&format!("migrations/{EMPTY}/up.sql")),
            "{backend:?} {up:?}: {all}"
        );
        assert!(all.contains("holds no statement"), "{all}");
        assert!(all.contains("write the migration's SQL"), "{all}");
        assert!(all.contains("delete the folder"), "{all}");
        assert!(all.contains("nothing was run"), "{all}");
        assert_eq!(target.applied(), ["20240101000000"], "{backend:?} {up:?}");
        assert!(!target.has_table("b"), "{backend:?}: b was created");

        // The dry run says the same, and the JSON names the file.
        let run = t.run(&["apply", "--dry-run", "--format", "json"]);
        run.assert_code(2);
        let doc = run.json();
        assert_eq!(doc["ok"], false);
        assert_eq!(doc["problems"][0]["code"], "empty-up-sql", "{doc}");
        assert!(doc["problems"][0]["file"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{EMPTY}/up.sql")));

        // Written, it runs.
        t.migration(EMPTY, "CREATE TABLE c (id INT);\n", None);
        t.run(&["apply"]).assert_success();
        assert_eq!(
            target.applied(),
            ["20240101000000", "20240102000000", "20240103000000"]
        );
        assert!(target.has_table("c"));
    }
}

#[test]
fn sqlite_apply_refuses_an_up_sql_without_statements() {
    refuses_an_up_sql_without_statements(Backend::Sqlite);
}

#[test]
fn postgres_apply_refuses_an_up_sql_without_statements() {
    refuses_an_up_sql_without_statements(Backend::Postgres);
}

#[test]
fn mysql_apply_refuses_an_up_sql_without_statements() {
    refuses_an_up_sql_without_statements(Backend::Mysql);
}

/// On a fresh SQLite set nothing is created at all: the refusal comes before the connection
/// that would create the file.
#[test]
fn sqlite_refusal_creates_no_database() {
    let target = Target::new(Backend::Sqlite, "fresh").unwrap();
    target
        .t
        .migration(GOOD, "-- Your SQL goes here\n", Some("DROP TABLE a;\n"));
    target.t.run(&["apply"]).assert_code(2);
    assert!(!target.t.path("app.db").exists());
}

fn revert_refuses_a_down_sql_without_statements(backend: Backend) {
    let Some(target) = Target::new(backend, "emptydown") else {
        return;
    };
    let t = &target.t;
    t.migration(GOOD, "CREATE TABLE a (id INT);\n", Some("DROP TABLE a;\n"));
    t.migration(
        SECOND,
        "CREATE TABLE b (id INT);\n",
        Some("-- This file should undo anything in `up.sql`\n"),
    );
    t.run(&["apply"]).assert_success();
    let both = ["20240101000000", "20240102000000"];
    assert_eq!(target.applied(), both);

    for args in [
        &["revert"][..],
        &["revert", "--all"],
        &["redo"],
        &["revert", "--dry-run"],
    ] {
        let run = t.run(args);
        run.assert_code(2);
        let all = run.all();
        assert!(
            all.contains(&format!("migrations/{SECOND}/down.sql")),
            "{backend:?} {args:?}: {all}"
        );
        assert!(all.contains("write the SQL that undoes"), "{all}");
        assert_eq!(target.applied(), both, "{backend:?} {args:?}");
        assert!(target.has_table("a") && target.has_table("b"));
    }
}

#[test]
fn sqlite_revert_refuses_a_down_sql_without_statements() {
    revert_refuses_a_down_sql_without_statements(Backend::Sqlite);
}

#[test]
fn postgres_revert_refuses_a_down_sql_without_statements() {
    revert_refuses_a_down_sql_without_statements(Backend::Postgres);
}

#[test]
fn mysql_revert_refuses_a_down_sql_without_statements() {
    revert_refuses_a_down_sql_without_statements(Backend::Mysql);
}

/// What diesel itself does with a file that holds no statement, on each backend: the facts
/// the `empty-up-sql` lint states. SQLite runs nothing and succeeds (so diesel would record
/// the migration); PostgreSQL and MariaDB/MySQL reject the empty query.
#[test]
fn diesel_on_a_file_without_statements() {
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::Mysql] {
        let Some(target) = Target::new(backend, "dieselempty") else {
            continue;
        };
        for (text, comments) in [
            ("-- Your SQL goes here\n", true),
            ("/* TODO */\n", true),
            ("  \n", false),
            ("", false),
        ] {
            let got = target.connect().batch_execute(text);
            let err = got.err().map(|e| e.to_string());
            let expected = match backend {
                Backend::Sqlite => None,
                Backend::Postgres => Some("Received an empty query"),
                Backend::Mysql if comments => None,
                Backend::Mysql => Some("Query was empty"),
            };
            assert_eq!(err.as_deref(), expected, "{backend:?} {text:?}");
        }
    }
}

/// A migration that ends diesel's transaction itself and then fails: what stayed is what the
/// message says, read from the database, and it never says "rolled back completely".
fn commits_on_its_own_then_fails(backend: Backend) {
    let Some(target) = Target::new(backend, "owncommit") else {
        return;
    };
    let t = &target.t;
    t.migration(GOOD, "CREATE TABLE a (id INT);\n", Some("DROP TABLE a;\n"));
    t.migration(
        SECOND,
        "CREATE TABLE b (id INT);\nCOMMIT;\nCREATE TABLE c (id INT);\nINSERT INTO nope VALUES (1);\n",
        Some("DROP TABLE c;\nDROP TABLE b;\n"),
    );
    let run = t.run(&["apply"]);
    run.assert_code(1);
    let all = run.all();
    assert!(!all.contains("rolled back completely"), "{all}");
    assert!(all.contains("`COMMIT` at line 2 of up.sql"), "{all}");
    assert_eq!(target.applied(), ["20240101000000"]);
    assert!(
        all.contains(&format!("the database does not record {SECOND} as applied")),
        "{all}"
    );
    // What stayed, as the database has it: SQLite runs the rest of the file in autocommit, so
    // `b` and `c` stay; PostgreSQL rolls back the rest of the query after its COMMIT, so only
    // `b` stays. The message names exactly the tables that are there.
    let stayed: Vec<&str> = ["b", "c"]
        .into_iter()
        .filter(|n| target.has_table(n))
        .collect();
    let expected = match backend {
        Backend::Sqlite => vec!["b", "c"],
        _ => vec!["b"],
    };
    assert_eq!(stayed, expected, "{backend:?}");
    let listed: Vec<String> = stayed.iter().map(|n| format!("`{n}`")).collect();
    assert!(
        all.contains(&format!(
            "the tables it created stay in the database: {}",
            listed.join(", ")
        )),
        "{all}"
    );

    // The JSON says what the database records.
    let run = t.run(&["apply", "--format", "json"]);
    run.assert_code(1);
    let doc = run.json();
    assert_eq!(doc["sets"][0]["failure"]["recorded"], false, "{doc}");
    assert_eq!(
        doc["sets"][0]["pending"],
        serde_json::json!(["20240102000000"])
    );
}

#[test]
fn sqlite_migration_that_commits_on_its_own_then_fails() {
    commits_on_its_own_then_fails(Backend::Sqlite);
}

#[test]
fn postgres_migration_that_commits_on_its_own_then_fails() {
    commits_on_its_own_then_fails(Backend::Postgres);
}

/// On SQLite a migration ending in its own `COMMIT` runs, its version is recorded in
/// autocommit, and then diesel's own COMMIT fails: the tool says it is recorded, and does not
/// list it as pending.
#[test]
fn sqlite_migration_that_commits_on_its_own_is_reported_as_recorded() {
    let target = Target::new(Backend::Sqlite, "ownrecorded").unwrap();
    let t = &target.t;
    t.migration(GOOD, "CREATE TABLE a (id INT);\nCOMMIT;\n", None);
    let run = t.run(&["apply"]);
    run.assert_code(1);
    let all = run.all();
    assert_eq!(target.applied(), ["20240101000000"]);
    assert!(target.has_table("a"));
    assert!(!all.contains("rolled back"), "{all}");
    assert!(
        all.contains("so its statements and its version were committed on their own"),
        "{all}"
    );
    assert!(
        all.contains(&format!(
            "the database records {GOOD} as applied, so `apply` will not run it again"
        )),
        "{all}"
    );
    // It is applied, so the next run has nothing to do.
    t.run(&["apply"]).assert_success();

    // Reverting it the same way: the removal of its version is committed on its own.
    t.write(
        &format!("migrations/{GOOD}/down.sql"),
        "DROP TABLE a;\nCOMMIT;\n",
    );
    let run = t.run(&["revert", "--format", "json"]);
    run.assert_code(1);
    assert!(target.applied().is_empty());
    assert!(!target.has_table("a"));
    let doc = run.json();
    assert_eq!(doc["failure"]["recorded"], false, "{doc}");
}
