//! `apply --targets`: one set on many databases, in parallel, each under its own lock;
//! failures reported per target without stopping the rest; a second run finishes the job.

use crate::common::{CliTest, Server, TestDb};

fn sqlite_targets(t: &CliTest, n: usize) -> std::path::PathBuf {
    let list: String = (0..n)
        .map(|i| format!("{}\n", t.path(&format!("tenant_{i}.db")).display()))
        .collect();
    let file = t.path("targets.txt");
    std::fs::write(&file, format!("# one database per tenant\n{list}")).unwrap();
    file
}

#[test]
fn sqlite_fleet_applies_every_target_once_and_reports_the_odd_one() {
    let t = CliTest::fixture("single-sqlite");
    let file = sqlite_targets(&t, 12);
    // Tenant 5 already has a `todos` table made by hand: its first migration fails.
    let odd = t.path("tenant_5.db");
    cargo_migrate::db::Connection::establish(
        &cargo_migrate::database_url::DatabaseUrl::new(odd.display().to_string()),
        cargo_migrate::backend::Backend::Sqlite,
        cargo_migrate::db::ConnectOptions {
            create_sqlite: true,
            ..Default::default()
        },
    )
    .unwrap()
    .batch_execute("CREATE TABLE todos (id INTEGER PRIMARY KEY)")
    .unwrap();
    let f = file.to_str().unwrap();
    let run = t.run(&["apply", "--targets", f, "--jobs", "4", "--format", "json"]);
    run.assert_code(1);
    let doc = run.json();
    assert_eq!(doc["summary"]["targets"], 12);
    assert_eq!(doc["summary"]["migrated"], 11);
    assert_eq!(doc["summary"]["failed"], 1);
    let failed: Vec<&serde_json::Value> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["outcome"] == "failed")
        .collect();
    assert!(failed[0]["database"]
        .as_str()
        .unwrap()
        .ends_with("tenant_5.db"));
    assert_eq!(
        failed[0]["failure"]["migration"],
        "2024-05-01-000000_create_todos"
    );
    // Again: the migrated ones are current, nothing runs twice.
    let doc = t.run(&["apply", "--targets", f, "--format", "json"]).json();
    assert_eq!(doc["summary"]["current"], 11);
    assert_eq!(doc["summary"]["failed"], 1);
    for i in [0usize, 7, 11] {
        let st = t
            .run(&[
                "status",
                "--database-url",
                t.path(&format!("tenant_{i}.db")).to_str().unwrap(),
                "--format",
                "json",
            ])
            .json();
        assert_eq!(st["pending"], 0, "tenant {i}");
    }
    // --fail-fast with one job stops starting targets after the failure.
    std::fs::write(
        &file,
        format!("{}\n{}\n", odd.display(), t.path("tenant_new.db").display()),
    )
    .unwrap();
    let doc = t
        .run(&[
            "apply",
            "--targets",
            f,
            "--jobs",
            "1",
            "--fail-fast",
            "--format",
            "json",
        ])
        .json();
    assert_eq!(doc["summary"]["not_started"], 1, "{doc}");
    assert!(!t.path("tenant_new.db").exists());
}

#[test]
fn targets_from_a_command_and_bad_lists() {
    let t = CliTest::fixture("single-sqlite");
    let cmd = format!(
        "echo {} ; echo {}",
        t.path("a.db").display(),
        t.path("b.db").display()
    );
    let doc = t
        .run(&["apply", "--targets-cmd", &cmd, "--format", "json"])
        .json();
    assert_eq!(doc["summary"]["migrated"], 2);
    let run = t.run(&["apply", "--targets-cmd", "echo nope >&2; exit 4"]);
    run.assert_code(2);
    assert!(run.stderr.contains("failed"), "{}", run.stderr);
    t.write("empty.txt", "# nobody yet\n");
    let run = t.run(&["apply", "--targets", t.path("empty.txt").to_str().unwrap()]);
    run.assert_code(2);
    assert!(run.stderr.contains("lists no target"), "{}", run.stderr);
}

#[test]
fn postgres_fleet_two_runs_at_once() {
    let dbs: Vec<TestDb> = (0..6)
        .filter_map(|_| TestDb::create(Server::Postgres, "fleet"))
        .collect();
    if dbs.is_empty() {
        return;
    }
    let t = CliTest::package();
    t.migration(
        "2024-01-01-000000_create_users",
        "CREATE TABLE users (id INTEGER PRIMARY KEY);\nINSERT INTO users VALUES (1);\n",
        Some("DROP TABLE users;\n"),
    );
    let list: String = dbs.iter().map(|d| format!("{}\n", d.url)).collect();
    t.write("targets.txt", &list);
    let f = t.path("targets.txt");
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let cmd = t.command(&["apply", "--targets", f.to_str().unwrap(), "--jobs", "3"]);
            std::thread::spawn(move || {
                let mut cmd = cmd;
                cmd.output().unwrap()
            })
        })
        .collect();
    for r in runs {
        let out = r.join().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for db in &dbs {
        // INSERT ran once: the lock serialised the two runs on each target.
        assert_eq!(
            db.connect()
                .count("SELECT COUNT(*) AS n FROM users")
                .unwrap(),
            1
        );
    }
}

#[test]
fn fleet_status_groups_identical_targets() {
    let t = CliTest::fixture("single-sqlite");
    let file = sqlite_targets(&t, 6);
    let f = file.to_str().unwrap();
    t.run(&["apply", "--targets", f]).assert_success();
    // One tenant is behind.
    t.run(&[
        "revert",
        "--database-url",
        t.path("tenant_3.db").to_str().unwrap(),
    ])
    .assert_success();
    let run = t.run(&["status", "--targets", f]);
    run.assert_success();
    assert!(run.stdout.contains("5 targets current"), "{}", run.stdout);
    assert!(
        run.stdout.contains("tenant_3.db pending 20240502000000"),
        "{}",
        run.stdout
    );
    assert!(run
        .stdout
        .contains("6 targets, 5 current, 1 behind, 0 unreachable"));
    t.run(&["status", "--targets", f, "--exit-code"])
        .assert_code(1);
    let doc = t
        .run(&["status", "--targets", f, "--format", "json"])
        .json();
    assert_eq!(doc["behind"], 1);
    assert_eq!(doc["targets"].as_array().unwrap().len(), 6);
}

#[test]
fn postgres_schema_per_tenant() {
    let Some(db) = TestDb::create(Server::Postgres, "tenants") else {
        return;
    };
    db.connect()
        .batch_execute("CREATE SCHEMA tenant_a; CREATE SCHEMA tenant_b; CREATE SCHEMA tenant_c")
        .unwrap();
    let t = CliTest::package();
    t.migration(
        "2024-01-01-000000_create_users",
        "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
        Some("DROP TABLE users;\n"),
    );
    t.write(
        "targets.txt",
        &format!(
            "{0} tenant_a\n{0} tenant_b\n{0} tenant_c\n{0} tenant_missing\n",
            db.url
        ),
    );
    let f = t.path("targets.txt");
    let doc = t
        .run(&[
            "apply",
            "--targets",
            f.to_str().unwrap(),
            "--format",
            "json",
        ])
        .json();
    assert_eq!(doc["summary"]["migrated"], 3, "{doc}");
    assert_eq!(doc["summary"]["unreachable"], 1, "{doc}");
    // Each schema has its own table and its own versions table; public has neither.
    let mut conn = db.connect();
    for schema in ["tenant_a", "tenant_b", "tenant_c"] {
        assert_eq!(
            conn.count(&format!(
                "SELECT COUNT(*)::bigint AS n FROM information_schema.tables WHERE table_schema = '{schema}' AND table_name IN ('users', '__diesel_schema_migrations')"
            ))
            .unwrap(),
            2,
            "{schema}"
        );
    }
    assert_eq!(
        conn.count("SELECT COUNT(*)::bigint AS n FROM information_schema.tables WHERE table_schema = 'public'")
            .unwrap(),
        0
    );
    let run = t.run(&["status", "--targets", f.to_str().unwrap()]);
    assert!(run.stdout.contains("3 targets current"), "{}", run.stdout);
}

#[test]
fn fleet_check_names_only_the_targets_that_differ() {
    let t = CliTest::fixture("single-sqlite");
    let file = sqlite_targets(&t, 5);
    let f = file.to_str().unwrap();
    t.run(&["apply", "--targets", f]).assert_success();
    let ok = t.run(&["check", "--targets", f]);
    ok.assert_success();
    assert!(
        ok.stdout.contains("5 targets match the history"),
        "{}",
        ok.stdout
    );
    // One tenant got an index by hand, another is a migration behind.
    cargo_migrate::db::Connection::establish(
        &cargo_migrate::database_url::DatabaseUrl::new(t.path("tenant_1.db").display().to_string()),
        cargo_migrate::backend::Backend::Sqlite,
        cargo_migrate::db::ConnectOptions::default(),
    )
    .unwrap()
    .batch_execute("CREATE INDEX hot ON todos (id)")
    .unwrap();
    t.run(&[
        "revert",
        "--database-url",
        t.path("tenant_4.db").to_str().unwrap(),
    ])
    .assert_success();
    let run = t.run(&["check", "--targets", f]);
    run.assert_code(1);
    assert!(
        run.stdout.contains("3 targets match the history"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("tenant_1.db differ"), "{}", run.stdout);
    assert!(run.stdout.contains("tenant_4.db differ"), "{}", run.stdout);
    assert!(run.stdout.contains("catalog-drift"), "{}", run.stdout);
    assert!(run.stdout.contains("pending-migration"), "{}", run.stdout);
    let doc = t.run(&["check", "--targets", f, "--format", "json"]).json();
    let odd: Vec<&str> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| {
            t["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["severity"] == "error")
        })
        .map(|t| t["database"].as_str().unwrap())
        .collect();
    assert_eq!(odd.len(), 2, "{odd:?}");
}

/// Whether util-linux's `script` is there to run a command on a pseudo-terminal (else one line
/// says the test is skipped).
fn has_script() -> bool {
    let there = std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_ok();
    if !there {
        eprintln!("skipped: no `script` to make a terminal");
    }
    there
}

#[test]
fn fleet_progress_only_on_a_terminal() {
    let t = CliTest::fixture("single-sqlite");
    let file = sqlite_targets(&t, 3);
    let f = file.to_str().unwrap();
    let plain = t.run(&["apply", "--targets", f, "--jobs", "1"]);
    plain.assert_success();
    assert!(!plain.stderr.contains('\u{1b}') && !plain.stdout.contains('\u{1b}'));
    // On a terminal (a pseudo-terminal from util-linux's `script`, when there is one).
    if !has_script() {
        return;
    }
    let cmd = format!(
        "{} migrate status --targets {f} --jobs 1",
        crate::common::BIN
    );
    let out = t
        .command(&[])
        .get_current_dir()
        .map(|d| d.to_path_buf())
        .unwrap();
    let run = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(out)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(text.contains("todo: 3/3 targets read"), "{text}");
    assert!(text.contains("3 targets current"), "{text}");
}

#[test]
fn a_failing_canary_leaves_the_rest_alone() {
    let t = CliTest::fixture("single-sqlite");
    let file = sqlite_targets(&t, 6);
    // The second target already has the table its first migration creates.
    cargo_migrate::db::Connection::establish(
        &cargo_migrate::database_url::DatabaseUrl::new(t.path("tenant_1.db").display().to_string()),
        cargo_migrate::backend::Backend::Sqlite,
        cargo_migrate::db::ConnectOptions {
            create_sqlite: true,
            ..Default::default()
        },
    )
    .unwrap()
    .batch_execute("CREATE TABLE todos (id INTEGER PRIMARY KEY)")
    .unwrap();
    let f = file.to_str().unwrap();
    let run = t.run(&["apply", "--targets", f, "--canary", "2", "--format", "json"]);
    run.assert_code(1);
    let doc = run.json();
    assert_eq!(doc["summary"]["migrated"], 1, "{doc}");
    assert_eq!(doc["summary"]["failed"], 1, "{doc}");
    assert_eq!(doc["summary"]["not_started"], 4, "{doc}");
    for i in 2..6 {
        assert!(
            !t.path(&format!("tenant_{i}.db")).exists(),
            "tenant {i} was touched"
        );
    }
    // A canary that passes lets the run go on to every target.
    std::fs::remove_file(t.path("tenant_1.db")).unwrap();
    let doc = t
        .run(&["apply", "--targets", f, "--canary", "2", "--format", "json"])
        .json();
    assert_eq!(doc["summary"]["migrated"], 5, "{doc}");
    assert_eq!(doc["summary"]["current"], 1, "{doc}");
}

/// A package whose set reads its fleet with `targets-query` on the database in `CONTROL_URL`.
fn configured_fleet(query: &str) -> CliTest {
    let t = CliTest::package();
    t.migration(
        "2024-01-01-000000_create_users",
        "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
        Some("DROP TABLE users;\n"),
    );
    t.migration(
        "2024-01-02-000000_create_posts",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY);\n",
        Some("DROP TABLE posts;\n"),
    );
    let manifest = std::fs::read_to_string(t.path("Cargo.toml")).unwrap();
    t.write(
        "Cargo.toml",
        &format!(
            "{manifest}\n[package.metadata.migrate]\ntargets-url-env = \"CONTROL_URL\"\ntargets-query = {query:?}\n"
        ),
    );
    t
}

fn sqlite(path: &std::path::Path) -> cargo_migrate::db::Connection {
    cargo_migrate::db::Connection::establish(
        &cargo_migrate::database_url::DatabaseUrl::new(path.display().to_string()),
        cargo_migrate::backend::Backend::Sqlite,
        cargo_migrate::db::ConnectOptions {
            create_sqlite: true,
            ..Default::default()
        },
    )
    .unwrap()
}

#[test]
fn sqlite_control_file_lists_the_fleet() {
    let t = configured_fleet("SELECT url FROM tenants WHERE active = 1 ORDER BY url");
    let control = t.path("control.db");
    let mut conn = sqlite(&control);
    conn.batch_execute("CREATE TABLE tenants (url TEXT NOT NULL, active INTEGER NOT NULL)")
        .unwrap();
    for (name, active) in [("a", 1), ("b", 1), ("c", 0), ("d", 1)] {
        conn.batch_execute(&format!(
            "INSERT INTO tenants VALUES ('{}', {active})",
            t.path(&format!("tenant_{name}.db")).display()
        ))
        .unwrap();
    }
    drop(conn);
    // Without the variable: the set, the file and the key are named.
    let run = t.run(&["apply", "--fleet"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("set `app`")
            && run.stderr.contains("targets-url-env = \"CONTROL_URL\"")
            && run.stderr.contains("Cargo.toml")
            && run.stderr.contains("$CONTROL_URL is not set"),
        "{}",
        run.stderr
    );
    // Relative to the package, as the set's own SQLite URL would be.
    let t = t.env("CONTROL_URL", "control.db");
    let doc = t.run(&["apply", "--fleet", "--format", "json"]).json();
    assert_eq!(doc["summary"]["targets"], 3, "{doc}");
    assert_eq!(doc["summary"]["migrated"], 3, "{doc}");
    assert!(doc["targets"][0]["origin"]
        .as_str()
        .unwrap()
        .contains("row 1 of targets-query of set `app`"));
    assert!(!t.path("tenant_c.db").exists());
    let run = t.run(&["status", "--fleet"]);
    run.assert_success();
    assert!(run.stdout.contains("3 targets current"), "{}", run.stdout);
    t.run(&["check", "--fleet"]).assert_success();
    // A plain apply without a URL says how to reach the fleet.
    let run = t.run(&["apply"]);
    run.assert_code(2);
    assert!(run.stderr.contains("pass --fleet"), "{}", run.stderr);
    // --fleet and a target list do not go together.
    t.run(&["apply", "--fleet", "--targets", "x.txt"])
        .assert_code(2);
}

#[test]
fn the_targets_query_cannot_write_and_its_errors_say_where() {
    let t = configured_fleet("DELETE FROM tenants RETURNING url").env("CONTROL_URL", "control.db");
    let mut conn = sqlite(&t.path("control.db"));
    conn.batch_execute("CREATE TABLE tenants (url TEXT); INSERT INTO tenants VALUES ('x.db')")
        .unwrap();
    drop(conn);
    let run = t.run(&["apply", "--fleet"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("`targets-query` in [package.metadata.migrate]")
            && run.stderr.contains("readonly"),
        "{}",
        run.stderr
    );
    assert_eq!(
        sqlite(&t.path("control.db"))
            .count("SELECT COUNT(*) AS n FROM tenants")
            .unwrap(),
        1
    );
    // Three columns, and no row at all.
    for (query, said) in [
        (
            "SELECT url, url, url FROM tenants",
            "this one has 3 columns",
        ),
        ("SELECT url FROM tenants WHERE 0", "lists no target"),
    ] {
        let manifest = std::fs::read_to_string(t.path("Cargo.toml")).unwrap();
        let (head, _) = manifest.split_once("targets-query").unwrap();
        t.write("Cargo.toml", &format!("{head}targets-query = {query:?}\n"));
        let run = t.run(&["apply", "--fleet"]);
        run.assert_code(2);
        assert!(run.stderr.contains(said), "{query}: {}", run.stderr);
    }
    // One key without the other is refused when the configuration is read.
    let manifest = std::fs::read_to_string(t.path("Cargo.toml")).unwrap();
    let (head, _) = manifest.split_once("targets-url-env").unwrap();
    t.write(
        "Cargo.toml",
        &format!("{head}targets-query = \"SELECT 1\"\n"),
    );
    let run = t.run(&["list"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("Cargo.toml")
            && run
                .stderr
                .contains("([package.metadata.migrate] targets-query)")
            && run.stderr.contains("without `targets-url-env`"),
        "{}",
        run.stderr
    );
    // No targets-query at all.
    t.write("Cargo.toml", head);
    let run = t.run(&["status", "--fleet"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("has no `targets-query`"),
        "{}",
        run.stderr
    );
}

#[test]
fn postgres_control_database_lists_databases_and_schemas() {
    let Some(control) = TestDb::create(Server::Postgres, "control") else {
        return;
    };
    let tenants: Vec<TestDb> = (0..3)
        .filter_map(|_| TestDb::create(Server::Postgres, "tenant"))
        .collect();
    let mut conn = control.connect();
    conn.batch_execute(
        "CREATE TABLE tenants (url TEXT, schema_name TEXT, active BOOLEAN NOT NULL);
         CREATE SCHEMA tenant_x; CREATE SCHEMA tenant_y;
         INSERT INTO tenants VALUES (NULL, 'tenant_x', true), (NULL, 'tenant_y', true), (NULL, 'tenant_z', false);",
    )
    .unwrap();
    for (i, db) in tenants.iter().enumerate() {
        conn.batch_execute(&format!(
            "INSERT INTO tenants VALUES ('{}', NULL, {})",
            db.url,
            i != 2
        ))
        .unwrap();
    }
    let t = configured_fleet(
        "SELECT url, schema_name FROM tenants WHERE active ORDER BY url NULLS FIRST, schema_name",
    )
    // A password that the server does not need (trust) and no message may show.
    .env(
        "CONTROL_URL",
        control.url.replacen("postgres@", "postgres:s3cret@", 1),
    )
    .env("DATABASE_URL", control.url.clone());
    let doc = t.run(&["apply", "--fleet", "--format", "json"]).json();
    assert_eq!(doc["summary"]["targets"], 4, "{doc}");
    assert_eq!(doc["summary"]["migrated"], 4, "{doc}");
    assert!(doc["targets"][0]["database"]
        .as_str()
        .unwrap()
        .ends_with("schema tenant_x"));
    let mut check = control.connect();
    for schema in ["tenant_x", "tenant_y"] {
        assert_eq!(
            check
                .count(&format!(
                    "SELECT COUNT(*)::bigint AS n FROM information_schema.tables WHERE table_schema = '{schema}' AND table_name = 'posts'"
                ))
                .unwrap(),
            1
        );
    }
    assert_eq!(
        tenants[2]
            .connect()
            .count("SELECT COUNT(*)::bigint AS n FROM information_schema.tables WHERE table_name = 'users'")
            .unwrap(),
        0,
        "an inactive tenant was migrated"
    );
    // The query runs in a read-only transaction.
    let manifest = std::fs::read_to_string(t.path("Cargo.toml")).unwrap();
    let (head, _) = manifest.split_once("targets-query").unwrap();
    t.write(
        "Cargo.toml",
        &format!("{head}targets-query = \"UPDATE tenants SET active = true RETURNING url\"\n"),
    );
    let run = t.run(&["apply", "--fleet"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("read-only transaction") && !run.all().contains("s3cret"),
        "{}",
        run.stderr
    );
    assert_eq!(
        check
            .count("SELECT COUNT(*)::bigint AS n FROM tenants WHERE active")
            .unwrap(),
        4
    );
    // A control database that is not there: named, without its password.
    let t = t.env(
        "CONTROL_URL",
        format!(
            "{}_missing",
            control.url.replacen("postgres@", "postgres:s3cret@", 1)
        ),
    );
    let run = t.run(&["status", "--fleet"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("_missing") && !run.all().contains("s3cret"),
        "{}",
        run.stderr
    );
}

#[test]
fn mysql_control_database_lists_the_fleet() {
    let Some(control) = TestDb::create(Server::Mysql, "control") else {
        return;
    };
    let tenants: Vec<TestDb> = (0..2)
        .filter_map(|_| TestDb::create(Server::Mysql, "tenant"))
        .collect();
    let mut conn = control.connect();
    conn.batch_execute("CREATE TABLE tenants (url VARCHAR(255) NOT NULL)")
        .unwrap();
    for db in &tenants {
        conn.batch_execute(&format!("INSERT INTO tenants VALUES ('{}')", db.url))
            .unwrap();
    }
    let t = configured_fleet("SELECT url FROM tenants ORDER BY url")
        .env("CONTROL_URL", control.url.clone());
    let doc = t.run(&["apply", "--fleet", "--format", "json"]).json();
    assert_eq!(doc["summary"]["migrated"], 2, "{doc}");
    for db in &tenants {
        assert_eq!(
            db.connect()
                .count("SELECT COUNT(*) AS n FROM __diesel_schema_migrations")
                .unwrap(),
            2
        );
    }
    let manifest = std::fs::read_to_string(t.path("Cargo.toml")).unwrap();
    let (head, _) = manifest.split_once("targets-query").unwrap();
    t.write(
        "Cargo.toml",
        &format!("{head}targets-query = \"DELETE FROM tenants RETURNING url\"\n"),
    );
    let run = t.run(&["apply", "--fleet"]);
    run.assert_code(2);
    assert!(run.stderr.contains("READ ONLY"), "{}", run.stderr);
    assert_eq!(conn.count("SELECT COUNT(*) AS n FROM tenants").unwrap(), 2);
}

#[test]
fn revert_on_every_target_reports_each_one() {
    let t = CliTest::fixture("single-sqlite");
    let file = sqlite_targets(&t, 5);
    let f = file.to_str().unwrap();
    t.run(&["apply", "--targets", f]).assert_success();
    // A dry run says what would go, and changes nothing.
    let doc = t
        .run(&["revert", "--targets", f, "--dry-run", "--format", "json"])
        .json();
    assert_eq!(doc["command"], "revert");
    assert_eq!(doc["summary"]["reverted"], 5, "{doc}");
    assert_eq!(
        doc["targets"][0]["reverted"][0],
        "2024-05-02-000000_add_due_date"
    );
    let run = t.run(&["revert", "--targets", f, "--jobs", "2"]);
    run.assert_success();
    assert!(
        run.stdout.contains(
            "todo: 5 targets, 0 with nothing to revert, 5 reverted, 0 failed, 0 unreachable"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("tenant_0.db reverted (2024-05-02-000000_add_due_date)"),
        "{}",
        run.stdout
    );
    let st = t
        .run(&["status", "--targets", f, "--format", "json"])
        .json();
    assert_eq!(st["behind"], 5, "{st}");
    // One tenant lost its table by hand: its down.sql fails, the others are reverted, and a
    // missing database is unreachable.
    sqlite(&t.path("tenant_2.db"))
        .batch_execute("DROP TABLE todos")
        .unwrap();
    let mut list = std::fs::read_to_string(&file).unwrap();
    list.push_str(&format!("{}\n", t.path("nowhere/tenant_x.db").display()));
    std::fs::write(&file, list).unwrap();
    let run = t.run(&["revert", "--targets", f, "--all", "--format", "json"]);
    run.assert_code(1);
    let doc = run.json();
    assert_eq!(doc["summary"]["reverted"], 4, "{doc}");
    assert_eq!(doc["summary"]["failed"], 1, "{doc}");
    assert_eq!(doc["summary"]["unreachable"], 1, "{doc}");
    assert_eq!(
        doc["targets"][2]["failure"]["migration"],
        "2024-05-01-000000_create_todos"
    );
    // Again: only the failed one has something left to revert.
    let doc = t
        .run(&["revert", "--targets", f, "--all", "--format", "json"])
        .json();
    assert_eq!(doc["summary"]["current"], 4, "{doc}");
    // --fail-fast with one job leaves the rest alone.
    t.run(&["apply", "--targets", f]);
    let doc = t
        .run(&[
            "revert",
            "--targets",
            f,
            "--jobs",
            "1",
            "--fail-fast",
            "-n",
            "2",
            "--format",
            "json",
        ])
        .json();
    assert_eq!(doc["summary"]["reverted"], 2, "{doc}");
    assert_eq!(doc["summary"]["not_started"], 3, "{doc}");
}

#[test]
fn postgres_fleet_reverts_twice_at_once_without_reverting_anything_twice() {
    let dbs: Vec<TestDb> = (0..4)
        .filter_map(|_| TestDb::create(Server::Postgres, "revert"))
        .collect();
    if dbs.is_empty() {
        return;
    }
    let t = CliTest::package();
    t.migration(
        "2024-01-01-000000_create_users",
        "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
        Some("DROP TABLE users;\n"),
    );
    t.migration(
        "2024-01-02-000000_create_log",
        "CREATE TABLE log (id INTEGER PRIMARY KEY);\n",
        Some("DROP TABLE log;\n"),
    );
    let list: String = dbs.iter().map(|d| format!("{}\n", d.url)).collect();
    t.write("targets.txt", &list);
    let f = t.path("targets.txt");
    let f = f.to_str().unwrap();
    t.run(&["apply", "--targets", f]).assert_success();
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let mut cmd = t.command(&["revert", "--targets", f, "--jobs", "2"]);
            std::thread::spawn(move || cmd.output().unwrap())
        })
        .collect();
    for r in runs {
        let out = r.join().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Each run reverted the newest migration left on each target, one after the other.
    for db in &dbs {
        assert_eq!(
            db.connect()
                .count("SELECT COUNT(*) AS n FROM __diesel_schema_migrations")
                .unwrap(),
            0
        );
    }
}

#[test]
fn the_progress_line_names_the_target_running_longest_while_it_runs() {
    let t = CliTest::fixture("single-sqlite");
    let file = sqlite_targets(&t, 3);
    if !has_script() {
        return;
    }
    // Another process holds tenant 1's migration lock for a while: its target keeps running,
    // waiting, after the other two are done.
    let slow = t.path("tenant_1.db");
    let lock = std::fs::File::create(t.path("tenant_1.db.cargo-migrate.lock")).unwrap();
    lock.try_lock().unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(3500));
        drop(lock);
    });
    let cmd = format!(
        "{} migrate apply --targets {} --jobs 2",
        crate::common::BIN,
        file.display()
    );
    let run = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(t.path(""))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    release.join().unwrap();
    let text = String::from_utf8_lossy(&run.stdout);
    let line = format!(
        "todo: 2/3 targets, 0 failed; slowest running: {}",
        slow.display()
    );
    assert!(
        text.contains(&format!("{line} (2 s)")) || text.contains(&format!("{line} (3 s)")),
        "{text}"
    );
    assert!(text.contains("3 migrated"), "{text}");
}
