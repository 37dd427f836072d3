//! The command line as a user sees it, on fixture workspaces, with SQLite only (no server).
//! Human and JSON output are pinned with snapshots.

use crate::common::CliTest;
use insta::assert_snapshot;

#[test]
fn help_lists_the_commands() {
    let t = CliTest::fixture("single-sqlite");
    let run = t.run(&["--help"]);
    run.assert_success();
    assert_snapshot!(run.stdout);
}

/// Every subcommand's `--help`, taken from the command definitions themselves, so a new
/// command is pinned as soon as it exists.
#[test]
fn every_subcommand_help_is_pinned() {
    use clap::CommandFactory;
    let cli = cargo_migrate::cli::CargoCli::command();
    let migrate = cli.find_subcommand("migrate").unwrap();
    let names: Vec<String> = migrate
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    assert!(names.len() >= 11, "{names:?}");
    let t = CliTest::fixture("single-sqlite");
    for name in names {
        let run = t.run(&[&name, "--help"]);
        run.assert_success();
        assert_snapshot!(format!("help_{name}"), run.stdout);
    }
}

#[test]
fn list_demo_human() {
    let t = CliTest::fixture("demo");
    let run = t.run(&["list"]);
    run.assert_success();
    assert_snapshot!(t.clean(&run.stdout));
}

#[test]
fn list_demo_json() {
    let t = CliTest::fixture("demo");
    let run = t.run(&["list", "--format", "json"]);
    run.assert_success();
    assert_snapshot!(t.clean(&run.stdout));
}

#[test]
fn list_three_backends_in_dependency_order() {
    let t = CliTest::fixture("three-backends");
    let run = t.run(&["list", "--format", "json"]);
    run.assert_success();
    let doc = run.json();
    let names: Vec<_> = doc["sets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    // billing depends on core by path; analytics depends on nothing; web owns no migrations.
    assert_eq!(names, ["analytics", "core", "billing"]);
    let backends: Vec<_> = doc["sets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["backend"].as_str().unwrap())
        .collect();
    assert_eq!(backends, ["sqlite", "postgres", "mysql"]);
    assert_eq!(doc["sets"][2]["depends_on"], serde_json::json!(["core"]));
    assert_snapshot!(t.clean(&t.run(&["list"]).stdout));
}

#[test]
fn package_selection_and_exclusion() {
    let t = CliTest::fixture("three-backends");
    let run = t.run(&["list", "-p", "billing", "-p", "core", "--format", "json"]);
    let names: Vec<_> = run.json()["sets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["core", "billing"]);
    let run = t.run(&["list", "--exclude", "core", "--format", "json"]);
    let names: Vec<_> = run.json()["sets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["analytics", "billing"]);

    let run = t.run(&["list", "-p", "nope"]);
    run.assert_code(2);
    assert_snapshot!(run.stderr);
    let run = t.run(&["list", "-p", "web"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("the package `web` has no migrations"),
        "{}",
        run.stderr
    );
}

#[test]
fn manifest_path_from_elsewhere() {
    let t = CliTest::fixture("metadata-overrides");
    let mut cmd = t.command(&["list", "--format", "json", "--manifest-path"]);
    cmd.arg(t.path("Cargo.toml"))
        .current_dir(std::env::temp_dir());
    let out = cmd.output().unwrap();
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let set = &doc["sets"][0];
    assert_eq!(
        doc["sets"].as_array().unwrap().len(),
        1,
        "legacy opts out with enabled = false"
    );
    assert_eq!(set["name"], "app");
    assert_eq!(set["migrations_dir"], "app/db/migrations");
    assert_eq!(set["schema_file"], "app/src/db/schema.rs");
    assert_eq!(set["database_url_env"], "APP_DATABASE_URL");
    assert_eq!(
        set["backend"], "sqlite",
        "from [workspace.metadata.migrate]"
    );
    assert_eq!(set["found_by"], "package-metadata");
}

#[test]
fn virtual_root_with_diesel_toml_is_a_set() {
    let t = CliTest::fixture("virtual-root");
    let doc = t.run(&["list", "--format", "json"]).json();
    assert_eq!(
        doc["sets"][0]["name"], "root",
        "not the checkout folder's name"
    );
    assert_eq!(doc["sets"][0]["migrations_dir"], "db/migrations");
    assert_eq!(doc["sets"][0]["schema_file"], "service/src/schema.rs");
    assert_eq!(doc["sets"][0]["found_by"], "diesel-toml");
}

#[test]
fn broken_folders_report_every_problem_before_anything_runs() {
    let t = CliTest::fixture("broken-folders")
        .env("DATABASE_URL", "app.db")
        .env("SHARED_URL", "postgres://u:pw@127.0.0.1:1/x");
    let run = t.run(&["apply"]);
    run.assert_code(2);
    assert_snapshot!(t.clean(&run.stderr));
    assert!(
        !t.path("app/app.db").exists(),
        "nothing may run, not even the database file may be created"
    );
    let codes: Vec<String> = t.run(&["list", "--format", "json"]).json()["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap().to_string())
        .collect();
    // A blank up.sql is not a folder problem: `check` reports it as the lint's `empty-up-sql`
    // (one id for one finding), and `apply` refuses to run it.
    assert_eq!(
        codes,
        [
            "missing-up-sql",
            "non-utf8-file",
            "malformed-metadata",
            "invalid-migration-name",
            "duplicate-version",
            "shared-database-version-collision"
        ]
    );
}

#[test]
fn apply_status_revert_on_demo() {
    let t = CliTest::fixture("demo");
    let run = t.run(&["apply"]);
    run.assert_success();
    assert_snapshot!("apply_demo", t.clean(&run.stdout));
    assert!(t.path("crates/accounts/demo.db").exists() && t.path("crates/blog/blog.db").exists());

    let run = t.run(&["status"]);
    run.assert_success();
    assert_snapshot!("status_demo_applied", t.clean(&run.stdout));

    let run = t.run(&["revert", "-p", "blog"]);
    run.assert_success();
    assert_snapshot!("revert_blog", t.clean(&run.stdout));

    let run = t.run(&["status", "--exit-code", "--format", "json"]);
    run.assert_code(1);
    let doc = run.json();
    assert_eq!(doc["pending"], 1);
    assert_eq!(
        doc["sets"][1]["pending"],
        serde_json::json!(["20240301080000"])
    );

    t.run(&["redo", "-p", "accounts", "--steps", "2"])
        .assert_success();
    let doc = t.run(&["status", "--format", "json"]).json();
    assert_eq!(
        doc["sets"][0]["applied"],
        serde_json::json!(["20240110090000", "20240202120000"])
    );
}

#[test]
fn revert_needs_one_set_and_down_sql() {
    let t = CliTest::fixture("demo");
    t.run(&["apply"]).assert_success();
    let run = t.run(&["revert"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("works on one migration set at a time"),
        "{}",
        run.stderr
    );

    std::fs::remove_file(
        t.path("crates/blog/migrations/2024-03-01-080000_index_posts_by_author/down.sql"),
    )
    .unwrap();
    let run = t.run(&["revert", "-p", "blog", "--all"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("2024-03-01-080000_index_posts_by_author has no down.sql"),
        "{}",
        run.stderr
    );
    // Nothing was reverted: the check comes before the first down.sql runs.
    let doc = t.run(&["status", "-p", "blog", "--format", "json"]).json();
    assert_eq!(doc["sets"][0]["applied"].as_array().unwrap().len(), 2);
}

#[test]
fn apply_to_a_version_then_the_rest() {
    let t = CliTest::fixture("single-sqlite").env("DATABASE_URL", "todo.db");
    t.run(&["apply", "--to", "2024-05-01-000000_create_todos"])
        .assert_success();
    let doc = t.run(&["status", "--format", "json"]).json();
    assert_eq!(
        doc["sets"][0]["applied"],
        serde_json::json!(["20240501000000"])
    );
    let run = t.run(&["apply", "--to", "20991231000000"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("has no migration with the version 20991231000000"),
        "{}",
        run.stderr
    );
    t.run(&["apply"]).assert_success();
    assert_eq!(t.run(&["status", "--format", "json"]).json()["pending"], 0);
}

#[test]
fn dry_run_changes_nothing_on_sqlite() {
    let t = CliTest::fixture("single-sqlite").env("DATABASE_URL", "todo.db");
    // No database yet: a dry run must not create the file.
    let run = t.run(&["apply", "--dry-run"]);
    run.assert_success();
    assert_snapshot!("dry_run_fresh", t.clean(&run.stdout));
    assert!(!t.path("todo.db").exists());

    t.run(&["apply", "--to", "20240501000000"]).assert_success();
    let before = std::fs::read(t.path("todo.db")).unwrap();
    t.run(&["apply", "--dry-run"]).assert_success();
    t.run(&["revert", "--all", "--dry-run"]).assert_success();
    t.run(&["redo", "--dry-run"]).assert_success();
    assert_eq!(
        before,
        std::fs::read(t.path("todo.db")).unwrap(),
        "the database file changed byte for byte"
    );
}

#[test]
fn failing_sqlite_migration_rolls_back_and_names_the_file() {
    let t = CliTest::fixture("single-sqlite").env("DATABASE_URL", "todo.db");
    t.write(
        "migrations/2024-05-03-000000_broken/up.sql",
        "CREATE TABLE half (id INTEGER);\nINSERT INTO half VALUES (1);\nINSERT INTO missing_table VALUES (1);\n",
    );
    let run = t.run(&["apply"]);
    run.assert_code(1);
    assert_snapshot!(t.clean(&run.all()));
    let doc = t.run(&["status", "--format", "json"]).json();
    assert_eq!(
        doc["sets"][0]["applied"],
        serde_json::json!(["20240501000000", "20240502000000"])
    );
    assert_eq!(
        doc["sets"][0]["pending"],
        serde_json::json!(["20240503000000"])
    );
    // The half-done table was rolled back with the migration.
    let mut conn = cargo_migrate::db::Connection::establish(
        &cargo_migrate::database_url::DatabaseUrl::new(t.path("todo.db").display().to_string()),
        cargo_migrate::backend::Backend::Sqlite,
        Default::default(),
    )
    .unwrap();
    assert_eq!(
        conn.count("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'half'")
            .unwrap(),
        0
    );
}

#[test]
fn url_errors_are_one_line_and_exit_2() {
    let t = CliTest::fixture("demo");
    std::fs::remove_file(t.path(".env")).unwrap();
    let run = t.run(&["status"]);
    run.assert_code(2);
    assert_snapshot!("missing_url", run.stderr);

    let run = t.run(&[
        "status",
        "-p",
        "blog",
        "--database-url",
        "redis://user:hunter2@localhost/0",
    ]);
    run.assert_code(2);
    assert!(run.stderr.contains("the scheme `redis`"), "{}", run.stderr);
    assert!(!run.all().contains("hunter2"));

    let run = t.run(&["status", "--database-url", "x.db"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("--database-url names one database, but 2 migration sets are selected"),
        "{}",
        run.stderr
    );
}

#[test]
fn json_errors_are_documents() {
    let t = CliTest::fixture("demo");
    std::fs::remove_file(t.path(".env")).unwrap();
    let run = t.run(&["status", "--format", "json"]);
    run.assert_code(2);
    let doc = run.json();
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["command"], "status");
    assert!(doc["error"].as_str().unwrap().contains("no database URL"));
}

#[test]
fn check_passes_on_the_demo() {
    let t = CliTest::fixture("demo");
    let run = t.run(&["check"]);
    run.assert_success();
    assert_snapshot!("check_demo", t.clean(&run.stdout));
}

#[test]
fn check_shows_drift_as_a_unified_diff() {
    let t = CliTest::fixture("drift");
    let run = t.run(&["check"]);
    run.assert_code(1);
    assert_snapshot!("check_drift", t.clean(&run.stdout));
    let doc = t.run(&["check", "--format", "json"]).json();
    assert_eq!(doc["ok"], false);
    let drift = &doc["sets"][0]["drift"][0];
    assert_eq!(drift["file"], "src/schema.rs");
    assert!(drift["diff"]
        .as_str()
        .unwrap()
        .contains("-        sku -> Text,\n"));

    // CRLF line endings and a missing final newline are not drift.
    let committed = std::fs::read_to_string(t.path("src/schema.rs"))
        .unwrap()
        .replace("        sku -> Text,\n", "");
    std::fs::write(
        t.path("src/schema.rs"),
        committed.replace('\n', "\r\n").trim_end(),
    )
    .unwrap();
    t.run(&["check"]).assert_success();

    // `schema --write` brings the file back to exactly what diesel would print.
    std::fs::write(t.path("src/schema.rs"), "// stale\n").unwrap();
    t.run(&["check"]).assert_code(1);
    t.run(&["schema", "--write"]).assert_success();
    t.run(&["check"]).assert_success();
    let written = std::fs::read_to_string(t.path("src/schema.rs")).unwrap();
    assert!(written.starts_with("// @generated automatically by Diesel CLI.\n"));
}

#[test]
fn check_lint_only_needs_no_database_and_reads_like_a_compiler() {
    let t = CliTest::fixture("lint-findings");
    let run = t.run(&["check", "--lint-only"]);
    run.assert_code(1);
    assert_snapshot!("check_lint_findings", run.stdout);
    let doc = t.run(&["check", "--lint-only", "--format", "json"]).json();
    let codes: Vec<&str> = doc["sets"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "prefer-identity",
            "add-column-not-null",
            "lock-timeout-missing",
            "create-index-non-concurrently",
            "concurrently-in-transaction",
            "missing-down-sql",
            "lock-timeout-missing",
            "rename-table"
        ]
    );
    let first = &doc["sets"][0]["findings"][1];
    assert_eq!(first["code"], "add-column-not-null");
    assert_eq!(
        first["file"],
        "migrations/2024-08-02-000000_add_due_date/up.sql"
    );
    assert_eq!(
        first["location"],
        serde_json::json!({"line": 1, "column": 33})
    );
    assert_eq!(first["severity"], "warning");
    assert!(first["help"].as_str().unwrap().contains("DEFAULT"));
}

#[test]
fn deny_warnings_fails_on_warnings_alone() {
    let t = CliTest::fixture("lint-findings");
    // Fix the two errors; five warnings remain (the rewritten cleanup has no ALTER TABLE).
    t.write(
        "migrations/2024-08-03-000000_concurrent_index/metadata.toml",
        "run_in_transaction = false\n",
    );
    t.write(
        "migrations/2024-08-04-000000_cleanup/up.sql",
        "-- cargo-migrate: allow(missing-where): test rows only\nDELETE FROM invoices;\n",
    );
    t.write(
        "migrations/2024-08-04-000000_cleanup/down.sql",
        "SELECT 1;\n",
    );
    let run = t.run(&["check", "--lint-only"]);
    run.assert_success();
    assert!(
        run.stdout.contains("0 errors, 5 warnings"),
        "{}",
        run.stdout
    );
    let run = t.run(&["check", "--lint-only", "--deny", "warnings"]);
    run.assert_code(1);
    assert!(run.stdout.contains("5 warnings (denied)"), "{}", run.stdout);
}

#[test]
fn rules_lists_every_rule() {
    let t = CliTest::fixture("demo");
    let run = t.run(&["rules", "--format", "json"]);
    run.assert_success();
    let rules = run.json()["rules"].as_array().unwrap().clone();
    assert!(rules.len() >= 20);
    for r in &rules {
        let id = r["id"].as_str().unwrap();
        assert!(
            crate::common::fixtures_dir()
                .join("../docs/rules")
                .join(format!("{id}.md"))
                .is_file(),
            "docs/rules/{id}.md"
        );
    }
}

/// The warm path reads the cache; any change to the inputs misses it; --no-cache bypasses it.
#[test]
fn schema_cache_is_used_and_never_stale() {
    let t = CliTest::fixture("drift");
    t.run(&["schema", "--write"]).assert_success();
    let target = t.path("target").display().to_string();
    let t = t.env("CARGO_TARGET_DIR", target);
    t.run(&["check"]).assert_success();
    let entry = t.path("target/cargo-migrate/schema/shop.json");
    let cached = std::fs::read_to_string(&entry).expect("check writes a cache entry");
    // Poison the entry's text but keep its key: a warm check must read it (and so fail).
    let poisoned = cached.replace("price_cents -> Integer", "price_cents -> BigInt");
    assert_ne!(poisoned, cached);
    std::fs::write(&entry, &poisoned).unwrap();
    t.run(&["check"]).assert_code(1);
    t.run(&["check", "--no-cache"]).assert_success();

    // Editing an up.sql changes the key: the poisoned entry is not trusted.
    std::fs::write(&entry, &poisoned).unwrap();
    let up = t.path("migrations/2024-07-02-000000_create_orders/up.sql");
    let text = std::fs::read_to_string(&up).unwrap();
    std::fs::write(&up, format!("-- orders of products\n{text}")).unwrap();
    t.run(&["check"]).assert_success();

    // So does editing diesel.toml.
    let fresh = std::fs::read_to_string(&entry).unwrap();
    std::fs::write(
        &entry,
        fresh.replace("price_cents -> Integer", "price_cents -> BigInt"),
    )
    .unwrap();
    let cfg = t.path("diesel.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text.replace(
            "file = \"src/schema.rs\"",
            "file = \"src/schema.rs\"\ncolumn_sorting = \"ordinal_position\"",
        ),
    )
    .unwrap();
    t.run(&["check"]).assert_success();
}

#[test]
fn check_with_a_database_reports_pending_unknown_and_live_drift() {
    let t = CliTest::fixture("demo");
    // No database yet: the live part is skipped (an info), the check passes.
    t.run(&["check"]).assert_success();
    t.run(&["apply"]).assert_success();
    t.run(&["check"]).assert_success();

    // A migration committed but never applied.
    t.write(
        "crates/blog/migrations/2024-04-01-000000_add_slug/up.sql",
        "ALTER TABLE posts ADD COLUMN slug TEXT;\n",
    );
    t.write(
        "crates/blog/migrations/2024-04-01-000000_add_slug/down.sql",
        "ALTER TABLE posts DROP COLUMN slug;\n",
    );
    t.run(&["schema", "--write", "-p", "blog"]).assert_success();
    let run = t.run(&["check", "-p", "blog"]);
    run.assert_code(1);
    assert!(
        run.stdout
            .contains("error[pending-migration]: 1 migration is not applied to"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("2024-04-01-000000_add_slug"),
        "{}",
        run.stdout
    );
    t.run(&["apply"]).assert_success();
    t.run(&["check"]).assert_success();

    // A column made by hand on the database.
    let url = cargo_migrate::database_url::DatabaseUrl::new(
        t.path("crates/blog/blog.db").display().to_string(),
    );
    let mut conn = cargo_migrate::db::Connection::establish(
        &url,
        cargo_migrate::backend::Backend::Sqlite,
        Default::default(),
    )
    .unwrap();
    conn.batch_execute("ALTER TABLE posts ADD COLUMN hand_made INTEGER")
        .unwrap();
    let run = t.run(&["check", "-p", "blog"]);
    run.assert_code(1);
    assert!(run.stdout.contains("error[live-drift]"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("+        hand_made -> Nullable<Integer>,"),
        "{}",
        run.stdout
    );

    // A version recorded on the database that the folder does not have.
    conn.batch_execute("ALTER TABLE posts DROP COLUMN hand_made; INSERT INTO __diesel_schema_migrations (version) VALUES ('20991231000000')").unwrap();
    let doc = t.run(&["check", "-p", "blog", "--format", "json"]).json();
    let codes: Vec<&str> = doc["sets"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["unknown-applied-migration"]);
}

fn git(t: &CliTest, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "core.autocrlf=false",
        ])
        .args(args)
        .current_dir(&t.root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn check_base_protects_released_migrations() {
    let t = CliTest::fixture("single-sqlite").env("DATABASE_URL", "todo.db");
    git(&t, &["init", "-q", "-b", "main"]);
    git(&t, &["add", "-A"]);
    git(&t, &["commit", "-qm", "release 1"]);
    git(&t, &["checkout", "-q", "-b", "feature"]);
    t.run(&["check", "--lint-only", "--base"]).assert_success();

    // Line endings alone are not an edit.
    let up = t.path("migrations/2024-05-01-000000_create_todos/up.sql");
    let text = std::fs::read_to_string(&up).unwrap();
    std::fs::write(&up, text.replace('\n', "\r\n")).unwrap();
    t.run(&["check", "--lint-only", "--base"]).assert_success();

    // A real edit, a rename, and a new migration that sorts before the released ones.
    std::fs::write(
        &up,
        text.replace(
            "title TEXT NOT NULL",
            "title TEXT NOT NULL,\n    notes TEXT",
        ),
    )
    .unwrap();
    std::fs::rename(
        t.path("migrations/2024-05-02-000000_add_due_date"),
        t.path("migrations/2024-05-02-000000_add_deadline"),
    )
    .unwrap();
    t.write(
        "migrations/2024-04-30-000000_early/up.sql",
        "CREATE TABLE early (id INTEGER PRIMARY KEY);\n",
    );
    t.write(
        "migrations/2024-04-30-000000_early/down.sql",
        "DROP TABLE early;\n",
    );
    let run = t.run(&["check", "--lint-only", "--base", "main"]);
    run.assert_code(1);
    assert_snapshot!("check_base", run.stdout);
}

// Regression tests for behaviour found wrong in review.

#[test]
fn sqlite_colon_prefix_names_the_file_not_a_literal_name() {
    let t = CliTest::fixture("single-sqlite");
    t.run(&["apply", "--database-url", "sqlite:rel.db"])
        .assert_success();
    assert!(t.path("rel.db").is_file());
    assert!(!t.path("sqlite:rel.db").exists());
    let doc = t
        .run(&[
            "status",
            "--database-url",
            "sqlite:rel.db",
            "--format",
            "json",
        ])
        .json();
    assert_eq!(doc["sets"][0]["applied"].as_array().unwrap().len(), 2);
}

#[test]
fn sets_sharing_a_database_see_each_others_versions_as_theirs() {
    let t = CliTest::fixture("broken-folders");
    // Make the two sets on $SHARED_URL valid SQLite sets with distinct versions.
    for set in ["reports", "audit"] {
        let manifest = t.path(&format!("{set}/Cargo.toml"));
        let text = std::fs::read_to_string(&manifest)
            .unwrap()
            .replace("postgres", "sqlite");
        std::fs::write(&manifest, text).unwrap();
    }
    std::fs::rename(
        t.path("audit/migrations/2024-02-01-000000_create_audit_log"),
        t.path("audit/migrations/2024-02-02-000000_create_audit_log"),
    )
    .unwrap();
    t.write(
        "reports/migrations/2024-02-01-000000_create_reports/up.sql",
        "CREATE TABLE reports (id INTEGER PRIMARY KEY);\n",
    );
    t.write(
        "reports/migrations/2024-02-01-000000_create_reports/down.sql",
        "DROP TABLE reports;\n",
    );
    t.write(
        "audit/migrations/2024-02-02-000000_create_audit_log/up.sql",
        "CREATE TABLE audit_log (id INTEGER PRIMARY KEY);\n",
    );
    t.write(
        "audit/migrations/2024-02-02-000000_create_audit_log/down.sql",
        "DROP TABLE audit_log;\n",
    );
    let shared = t.path("shared.db").display().to_string();
    let t = t.env("SHARED_URL", shared);
    t.run(&["apply", "-p", "reports", "-p", "audit"])
        .assert_success();
    let doc = t.run(&["status", "-p", "audit", "--format", "json"]).json();
    assert_eq!(
        doc["sets"][0]["unknown"],
        serde_json::json!([]),
        "reports' version is not unknown to audit"
    );
    // Reverting audit alone reverts only audit's migration, though reports' is newer... or older.
    t.run(&["revert", "-p", "reports", "--all"])
        .assert_success();
    let doc = t
        .run(&["status", "-p", "audit", "-p", "reports", "--format", "json"])
        .json();
    assert_eq!(
        doc["sets"][0]["applied"],
        serde_json::json!(["20240202000000"])
    );
    assert_eq!(doc["sets"][1]["applied"], serde_json::json!([]));
}

#[test]
fn failing_down_sql_says_to_fix_down_sql_and_revert() {
    let t = CliTest::fixture("single-sqlite").env("DATABASE_URL", "todo.db");
    t.run(&["apply"]).assert_success();
    t.write(
        "migrations/2024-05-02-000000_add_due_date/down.sql",
        "DROP TABLE no_such_table;\n",
    );
    let run = t.run(&["revert"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("fix down.sql and run `revert` again"),
        "{}",
        run.stderr
    );
}

#[test]
fn disabled_package_is_named_as_disabled() {
    let t = CliTest::fixture("metadata-overrides");
    let run = t.run(&["list", "-p", "legacy"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("turns its migrations off (`enabled = false`"),
        "{}",
        run.stderr
    );
}

#[test]
fn status_exit_code_agrees_with_its_json() {
    let t = CliTest::fixture("single-sqlite").env("DATABASE_URL", "todo.db");
    t.run(&["apply", "--to", "20240501000000"]).assert_success();
    let run = t.run(&["status", "--exit-code", "--format", "json"]);
    run.assert_code(1);
    assert_eq!(run.json()["ok"], false);
    let run = t.run(&["apply", "--dry-run"]);
    run.assert_success();
    t.run(&["apply"]).assert_success();
    // A version the folder does not know also needs attention.
    let url =
        cargo_migrate::database_url::DatabaseUrl::new(t.path("todo.db").display().to_string());
    let mut conn = cargo_migrate::db::Connection::establish(
        &url,
        cargo_migrate::backend::Backend::Sqlite,
        Default::default(),
    )
    .unwrap();
    conn.batch_execute(
        "INSERT INTO __diesel_schema_migrations (version) VALUES ('20200101000000')",
    )
    .unwrap();
    t.run(&["status", "--exit-code"]).assert_code(1);
    t.run(&["status"]).assert_success();
}

#[test]
fn dry_run_warns_about_out_of_order_migrations_too() {
    let t = CliTest::fixture("single-sqlite").env("DATABASE_URL", "todo.db");
    t.run(&["apply"]).assert_success();
    t.write(
        "migrations/2024-04-01-000000_late_merge/up.sql",
        "CREATE TABLE late (id INTEGER);\n",
    );
    let run = t.run(&["apply", "--dry-run"]);
    run.assert_success();
    assert!(
        run.stderr.contains(
            "warning: set `todo`: 1 pending migration is older than the newest applied one"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn virtual_root_dir_is_shown_as_dot() {
    let t = CliTest::fixture("virtual-root");
    assert_eq!(
        t.run(&["list", "--format", "json"]).json()["sets"][0]["dir"],
        "."
    );
}

#[test]
fn init_writes_hooks_and_ci_without_overwriting() {
    let t = CliTest::fixture("demo");
    git(&t, &["init", "-q", "-b", "main"]);
    t.write(".pre-commit-config.yaml", "repos: []\n");
    let run = t.run(&["init"]);
    run.assert_success();
    assert_snapshot!("init_first", t.clean(&run.stdout));
    let hook = t.path(".git/hooks/pre-commit");
    let text = std::fs::read_to_string(&hook).unwrap();
    assert!(text.starts_with("#!/bin/sh\n") && text.contains("exec cargo migrate check --offline"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&hook).unwrap().permissions().mode() & 0o111,
            0o111,
            "the hook is executable"
        );
    }
    assert_eq!(
        std::fs::read_to_string(t.path(".pre-commit-config.yaml")).unwrap(),
        "repos: []\n",
        "an existing file was overwritten"
    );
    assert!(
        std::fs::read_to_string(t.path(".github/workflows/cargo-migrate.yml"))
            .unwrap()
            .contains("cargo migrate apply --wait 60")
    );
    // A second run writes nothing.
    std::fs::write(&hook, "#!/bin/sh\necho mine\n").unwrap();
    let doc = t.run(&["init", "--format", "json"]).json();
    assert_eq!(doc["written"], serde_json::json!([]));
    assert_eq!(
        std::fs::read_to_string(&hook).unwrap(),
        "#!/bin/sh\necho mine\n"
    );
}

#[test]
fn check_offline_leaves_the_databases_alone() {
    let t = CliTest::fixture("demo");
    t.run(&["apply"]).assert_success();
    t.write(
        "crates/blog/migrations/2024-04-01-000000_add_slug/up.sql",
        "ALTER TABLE posts ADD COLUMN slug TEXT;\n",
    );
    t.write(
        "crates/blog/migrations/2024-04-01-000000_add_slug/down.sql",
        "ALTER TABLE posts DROP COLUMN slug;\n",
    );
    t.run(&["schema", "--write", "-p", "blog"]).assert_success();
    t.run(&["check"]).assert_code(1);
    t.run(&["check", "--offline"]).assert_success();
}

/// Regression: when `redo` fails to re-apply, the fault is in down.sql, and the help says so.
#[test]
fn redo_blames_an_incomplete_down_sql() {
    let t = CliTest::fixture("single-sqlite").env("DATABASE_URL", "todo.db");
    t.run(&["apply"]).assert_success();
    // A down.sql that forgets to drop the column it should drop.
    t.write(
        "migrations/2024-05-02-000000_add_due_date/down.sql",
        "SELECT 1;\n",
    );
    let run = t.run(&["redo"]);
    run.assert_code(1);
    assert!(
        run.stderr
            .contains("probably does not undo its up.sql completely; fix down.sql"),
        "{}",
        run.stderr
    );
}

/// `generate` folder names carry the time; replace it for snapshots.
fn mask_versions(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let masked = match line.find("20") {
            Some(i)
                if line[i..].len() > 22
                    && line[i..i + 22]
                        .chars()
                        .all(|c| c.is_ascii_hexdigit() || c == '-')
                    && &line[i + 22..i + 23] == "_" =>
            {
                format!("{}[VERSION]{}", &line[..i], &line[i + 22..])
            }
            _ => line.to_string(),
        };
        out.push_str(&masked);
        out.push('\n');
    }
    out
}

#[test]
fn generate_creates_a_diesel_versioned_folder() {
    let t = CliTest::fixture("drift");
    let run = t.run(&["generate", "add_thing"]);
    run.assert_success();
    assert_snapshot!("generate_plain", mask_versions(&run.stdout));
    let dirs: Vec<String> = std::fs::read_dir(t.path("migrations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let new = dirs
        .iter()
        .find(|d| d.ends_with("_add_thing"))
        .expect("a new folder");
    // diesel_cli 2.3's format: %Y-%m-%d-%H%M%S then four hex digits.
    assert_eq!(new.len(), "2024-01-01-000000-0000_add_thing".len(), "{new}");
    assert!(
        t.path(&format!("migrations/{new}/up.sql")).is_file()
            && t.path(&format!("migrations/{new}/down.sql")).is_file()
    );
    let run = t.run(&["generate", "Add Thing"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("help: write it as `add_thing`"),
        "{}",
        run.stderr
    );
}

#[test]
fn generate_diff_schema_closes_the_drift() {
    let t = CliTest::fixture("drift");
    t.run(&["check"]).assert_code(1);
    let run = t.run(&["generate", "add_sku", "--diff-schema"]);
    run.assert_success();
    assert_snapshot!("generate_diff_schema", mask_versions(&run.stdout));
    assert!(
        run.stderr
            .contains("warning: TODO: column `products.sku` is added NOT NULL without a default"),
        "{}",
        run.stderr
    );
    // The decision about existing rows is marked: check fails until it is made.
    let check = t.run(&["check"]);
    check.assert_code(1);
    assert!(
        check.stdout.contains("error[unresolved-todo]"),
        "{}",
        check.stdout
    );
    let dir = std::fs::read_dir(t.path("migrations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("_add_sku"))
        .unwrap();
    let up = std::fs::read_to_string(dir.join("up.sql")).unwrap();
    let resolved: String = up
        .lines()
        .filter(|l| !l.starts_with("-- cargo-migrate: todo:"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(up, resolved);
    std::fs::write(dir.join("up.sql"), resolved).unwrap();
    t.run(&["check"]).assert_success();
    // Nothing left to generate.
    let run = t.run(&["generate", "again", "--diff-schema"]);
    run.assert_success();
    assert!(
        run.stdout
            .contains("matches the schema the migrations produce; no migration created"),
        "{}",
        run.stdout
    );
}

#[test]
fn generate_edit_opens_both_files_in_the_editor() {
    let t = CliTest::fixture("drift");
    let log = t.path("editor.log");
    let editor = t.path("editor.sh");
    std::fs::write(
        &editor,
        format!(
            "#!/bin/sh\nfor f in \"$@\"; do echo \"$f\" >> '{}'; done\n",
            log.display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let t = t.env("VISUAL", editor.display().to_string());
    t.run(&["generate", "tweak", "--edit"]).assert_success();
    let opened = std::fs::read_to_string(&log).expect("the editor ran");
    assert!(
        opened.contains("_tweak/up.sql") && opened.contains("_tweak/down.sql"),
        "{opened}"
    );
}

// ---------------------------------------------------------------------------------------------
// Regression tests for the output layer

/// `cargo migrate schema | head -1` on a schema larger than a pipe buffer used to panic with
/// "failed printing to stdout: Broken pipe" and exit 101. A closed pipe now ends quietly.
#[test]
fn schema_into_a_closed_pipe_ends_quietly_with_exit_0() {
    use std::io::{BufRead, BufReader};
    let t = CliTest::fixture("single-sqlite").env("DATABASE_URL", "todo.db");
    let tables: String = (0..2500)
        .map(|i| {
            format!(
                "CREATE TABLE wide_{i} (id INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL);\n"
            )
        })
        .collect();
    t.migration("2024-06-01-000000_many_tables", &tables, None);
    let mut child = t
        .command(&["schema", "--no-cache"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is dropped here: the pipe is closed with most of the schema unwritten.
    assert!(first.starts_with("// @generated"), "{first}");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Errors that belong to a set used to name it twice: ``set `todo`: set `todo`: its backend
/// is unknown``.
#[test]
fn an_error_names_its_set_once() {
    let t = CliTest::fixture("single-sqlite");
    let run = t.run(&["schema"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("error: set `todo`: its backend is unknown"),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stderr.matches("set `todo`").count(),
        1,
        "{}",
        run.stderr
    );
    // The help names the table that fits the manifest, relative to the workspace.
    assert!(
        run.stderr
            .contains("to [package.metadata.migrate] in Cargo.toml"),
        "{}",
        run.stderr
    );
}

/// `--database-url "$UNSET"` is an empty flag: an error, never a throwaway database.
#[test]
fn an_empty_database_url_is_an_error_and_nothing_runs() {
    let t = CliTest::fixture("single-sqlite");
    for url in ["", "  "] {
        let run = t.run(&["apply", "--database-url", url]);
        run.assert_code(2);
        assert!(
            run.stderr.contains("--database-url is empty"),
            "{}",
            run.stderr
        );
        assert!(!run.stdout.contains("applied"), "{}", run.stdout);
    }
}

/// A workspace with no recognisable migration set: `check` did not look at anything, so it
/// must not pass.
#[test]
fn check_with_no_set_is_an_error() {
    let t = CliTest::package();
    std::fs::remove_dir(t.path("migrations")).unwrap();
    let run = t.run(&["check"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("no migration set found in"),
        "{}",
        run.stderr
    );
    assert!(!run.all().contains("check passed"), "{}", run.all());
}

/// `apply` in a release script that finds no migration set ran nothing: it must not report
/// success ("nothing to apply") either.
#[test]
fn apply_with_no_set_is_an_error() {
    let t = CliTest::package().env("DATABASE_URL", "app.db");
    std::fs::remove_dir(t.path("migrations")).unwrap();
    let run = t.run(&["apply"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("no migration set found in"),
        "{}",
        run.stderr
    );
    assert!(!run.all().contains("nothing to apply"), "{}", run.all());
}

/// A set whose backend cannot be known is not checked, so `check` cannot pass.
#[test]
fn check_fails_on_a_set_it_cannot_check() {
    let t = CliTest::package();
    t.migration(
        "2024-01-01-000000_a",
        "CREATE TABLE a (id INTEGER PRIMARY KEY);\n",
        None,
    );
    let run = t.run(&["check", "--offline"]);
    run.assert_code(1);
    assert!(
        run.all().contains("error[unknown-backend]"),
        "{}",
        run.all()
    );
}

/// A password holding raw URL delimiters (`#`, `/`, `?`, `@`), from the flag or the
/// environment, never reaches the output.
#[test]
fn raw_delimiters_in_a_password_never_show() {
    let secret = "Zq#9/x?y@Kw";
    let url = format!("postgres://app:{secret}@127.0.0.1:1/prod");
    let t = CliTest::fixture("single-sqlite");
    for args in [
        vec!["status", "--database-url", url.as_str()],
        vec!["status", "--format", "json", "--database-url", url.as_str()],
    ] {
        let run = t.run(&args);
        assert_ne!(run.code, 0, "{}", run.all());
        for part in [secret, "Zq#9", "x?y@Kw"] {
            assert!(!run.all().contains(part), "{part} shown:\n{}", run.all());
        }
    }
    let run = CliTest::fixture("single-sqlite")
        .env("DATABASE_URL", &url)
        .run(&["status", "--format", "json"]);
    assert!(!run.all().contains("Zq#9"), "{}", run.all());
}

/// `postgres:app` (a server scheme without `//`) is a typo: an error, never a SQLite file
/// of that name.
#[test]
fn a_server_scheme_without_slashes_is_not_a_file() {
    let t = CliTest::fixture("single-sqlite");
    for url in ["postgres:rel_x", "mysql:app", "postgresql:db"] {
        let run = t.run(&["apply", "--database-url", url]);
        run.assert_code(2);
        assert!(run.stderr.contains("scheme"), "{}", run.stderr);
        let files: Vec<String> = std::fs::read_dir(t.path("."))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            !files.iter().any(|f| f.contains(':') || f.contains("rel_x")),
            "{files:?}"
        );
    }
}

#[test]
fn pending_lists_what_apply_would_run_and_exits_0() {
    let t = CliTest::fixture("single-sqlite").env("DATABASE_URL", "todo.db");
    t.run(&["apply", "--to", "20240501000000"]).assert_success();
    let run = t.run(&["pending"]);
    run.assert_success();
    assert_snapshot!("pending_one", t.clean(&run.stdout));
    let doc = t.run(&["pending", "--format", "json"]).json();
    assert_eq!(doc["command"], "pending");
    assert_eq!(
        doc["sets"][0]["pending"],
        serde_json::json!(["20240502000000"])
    );
    t.run(&["apply"]).assert_success();
    let run = t.run(&["pending"]);
    run.assert_success();
    assert!(run.stdout.contains("(nothing pending)"), "{}", run.stdout);
    assert!(!run.stdout.contains("2024-05"), "{}", run.stdout);
}

#[test]
fn redo_all_and_revert_n_follow_diesel() {
    let t = CliTest::fixture("single-sqlite").env("DATABASE_URL", "todo.db");
    t.run(&["apply"]).assert_success();
    let run = t.run(&["redo", "--all"]);
    run.assert_success();
    assert_eq!(run.stdout.matches("reverted").count(), 2, "{}", run.stdout);
    assert_eq!(run.stdout.matches("applied ").count(), 2, "{}", run.stdout);
    let doc = t.run(&["status", "--format", "json"]).json();
    assert_eq!(doc["pending"], 0);
    t.run(&["revert", "-n", "2"]).assert_success();
    let doc = t.run(&["status", "--format", "json"]).json();
    assert_eq!(doc["sets"][0]["applied"], serde_json::json!([]));
}

#[test]
fn completions_and_man_page_print_without_a_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_cargo-migrate"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let bash = run(&["migrate", "completions", "bash"]);
    assert!(bash.status.success());
    let bash = String::from_utf8(bash.stdout).unwrap();
    assert!(bash.contains("complete -F"), "{bash}");
    assert!(bash.contains("pending"), "{bash}");
    let zsh = run(&["completions", "zsh"]);
    assert!(String::from_utf8_lossy(&zsh.stdout).starts_with("#compdef cargo-migrate"));
    let man = run(&["man", "apply"]);
    assert!(man.status.success());
    let man = String::from_utf8(man.stdout).unwrap();
    assert!(man.contains(".TH cargo-migrate-apply 1"), "{man}");
    assert!(man.contains("lock\\-timeout"), "{man}");
    let bad = run(&["man", "nope"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("`nope` is not a subcommand"));
}

#[test]
fn print_schema_reads_the_database_and_never_creates_one() {
    let t = CliTest::fixture("single-sqlite").env("DATABASE_URL", "todo.db");
    let run = t.run(&["print-schema"]);
    run.assert_code(2);
    assert!(run.stderr.contains("does not exist"), "{}", run.stderr);
    assert!(!t.path("todo.db").exists());
    t.run(&["apply", "--to", "20240501000000"]).assert_success();
    let live = t.run(&["print-schema"]);
    live.assert_success();
    // Only the applied migration's table: read from the database, not from the history.
    let history = t.run(&["schema"]);
    assert_ne!(live.stdout, history.stdout);
    t.run(&["apply"]).assert_success();
    assert_eq!(t.run(&["print-schema"]).stdout, t.run(&["schema"]).stdout);
}

#[test]
fn apply_says_when_the_schema_file_no_longer_matches_and_write_schema_rewrites_it() {
    let t = CliTest::fixture("drift").env("DATABASE_URL", "shop.db");
    let before = std::fs::read_to_string(t.path("src/schema.rs")).unwrap();
    // Without --write-schema: one line, the file untouched.
    let run = t.run(&["apply"]);
    run.assert_success();
    assert_eq!(
        run.stdout
            .lines()
            .filter(|l| l.contains("no longer matches the migrated database"))
            .count(),
        1,
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("`cargo migrate apply --write-schema`"));
    assert_eq!(
        before,
        std::fs::read_to_string(t.path("src/schema.rs")).unwrap()
    );
    let doc = t.run(&["apply", "--format", "json"]).json();
    assert_eq!(doc["sets"][0]["schema_files"][0]["written"], false);

    // revert --write-schema: the file is what the database now holds.
    let run = t.run(&["revert", "--write-schema"]);
    run.assert_success();
    assert!(
        run.stdout.contains("rewritten from the migrated database"),
        "{}",
        run.stdout
    );
    assert_eq!(
        std::fs::read_to_string(t.path("src/schema.rs")).unwrap(),
        t.run(&["print-schema"]).stdout
    );
    // apply --write-schema: the whole history's schema, exactly as `schema` prints it.
    t.run(&["apply", "--write-schema"]).assert_success();
    let written = std::fs::read_to_string(t.path("src/schema.rs")).unwrap();
    assert_eq!(written, t.run(&["schema"]).stdout);
    assert_ne!(written, before);
    t.run(&["check", "--offline"]).assert_success();
    // Nothing differs any more: nothing is said.
    let run = t.run(&["redo"]);
    run.assert_success();
    assert!(!run.stdout.contains("schema.rs"), "{}", run.stdout);
}

#[test]
fn write_schema_in_the_configuration_is_the_default() {
    let t = CliTest::fixture("drift").env("DATABASE_URL", "shop.db");
    let manifest = std::fs::read_to_string(t.path("Cargo.toml")).unwrap();
    t.write(
        "Cargo.toml",
        &manifest.replace(
            "backend = \"sqlite\"",
            "backend = \"sqlite\"\nwrite-schema = true",
        ),
    );
    let run = t.run(&["apply"]);
    run.assert_success();
    assert!(
        run.stdout.contains("rewritten from the migrated database"),
        "{}",
        run.stdout
    );
    assert_eq!(
        std::fs::read_to_string(t.path("src/schema.rs")).unwrap(),
        t.run(&["schema"]).stdout
    );
}

#[test]
fn cache_clean_deletes_the_cached_replays() {
    let t = CliTest::fixture("drift");
    t.run(&["check", "--offline"]).assert_code(1);
    let run = t.run(&["cache", "clean", "--format", "json"]);
    run.assert_success();
    let doc = run.json();
    assert!(doc["files"].as_u64().unwrap() >= 1, "{doc}");
    let again = t.run(&["cache", "clean", "--format", "json"]).json();
    assert_eq!(again["files"], 0);
}

#[test]
fn replay_progress_only_on_a_terminal() {
    let t = CliTest::fixture("drift");
    let plain = t.run(&["check", "--offline", "--no-cache"]);
    assert!(!plain.stderr.contains("replaying"), "{}", plain.stderr);
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: no `script` to make a terminal");
        return;
    }
    let cmd = format!("{} migrate check --offline --no-cache", crate::common::BIN);
    let run = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(t.path(""))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(text.contains("shop: replaying 2/2"), "{text}");
    // Cleared before the report: the report's first line does not follow the progress text.
    assert!(text.contains("\r\u{1b}[2K"), "{text}");
    let quiet = std::process::Command::new("script")
        .args(["-qec", &format!("{cmd} -q"), "/dev/null"])
        .current_dir(t.path(""))
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&quiet.stdout).contains("replaying"));
}

/// The lint of an unchanged set is read back from the cache: the same findings and output as
/// a fresh lint, really read from the cache (a tampered entry shows), and never used once a
/// migration or the lint configuration changes, nor under `--no-cache`.
#[test]
fn an_unchanged_sets_lint_comes_from_the_cache_and_only_then() {
    let t = CliTest::fixture("lint-findings");
    let fresh = t.run(&["check", "--lint-only", "--format", "json"]);
    fresh.assert_code(1);
    let entry = t.path("target/cargo-migrate/schema/billing.lint.json");
    let cached_text = std::fs::read_to_string(&entry).expect("the lint is cached");
    let cached = t.run(&["check", "--lint-only", "--format", "json"]);
    assert_eq!(cached.stdout, fresh.stdout);
    let human = t.run(&["check", "--lint-only"]);
    assert_eq!(
        human.stdout,
        t.run(&["check", "--lint-only", "--no-cache"]).stdout
    );
    // A tampered entry shows: the cache is really read.
    std::fs::write(
        &entry,
        cached_text.replace(
            "breaks every running query",
            "CACHED-ENTRY breaks every running query",
        ),
    )
    .unwrap();
    assert!(t
        .run(&["check", "--lint-only"])
        .stdout
        .contains("CACHED-ENTRY"));
    assert!(!t
        .run(&["check", "--lint-only", "--no-cache"])
        .stdout
        .contains("CACHED-ENTRY"));
    // Another lint configuration misses it.
    let manifest = std::fs::read_to_string(t.path("Cargo.toml")).unwrap();
    t.write(
        "Cargo.toml",
        &manifest.replace("rename-table = \"deny\"", "rename-table = \"warn\""),
    );
    let relaxed = t.run(&["check", "--lint-only"]);
    assert!(
        !relaxed.stdout.contains("CACHED-ENTRY"),
        "{}",
        relaxed.stdout
    );
    // So does an edited migration.
    t.write("Cargo.toml", &manifest);
    std::fs::write(
        &entry,
        cached_text.replace(
            "breaks every running query",
            "CACHED-ENTRY breaks every running query",
        ),
    )
    .unwrap();
    t.write(
        "migrations/2024-08-04-000000_cleanup/down.sql",
        "SELECT 2;\n",
    );
    let edited = t.run(&["check", "--lint-only"]);
    assert!(!edited.stdout.contains("CACHED-ENTRY"), "{}", edited.stdout);
}
