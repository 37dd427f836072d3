//! Real project layouts, found without configuration (issue 13): several SQLite members with
//! version-only migration folders and independent `00000000000000` versions, one folder per
//! backend, one diesel config file per backend, several sets per member and a virtual root.
//! Each layout: `list` (human and JSON), `schema -p SET` per backend, and `check` passing when
//! history and schema agree, failing with the table named when they do not.

use insta::assert_snapshot;

use crate::common::{CliTest, Server};

fn names(t: &CliTest, args: &[&str]) -> Vec<String> {
    let mut all = vec!["list", "--format", "json"];
    all.extend_from_slice(args);
    let run = t.run(&all);
    run.assert_success();
    run.json()["sets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

/// `MIGRATE_SCRATCH_URL` for every reachable test server.
fn scratch_env(t: CliTest) -> (CliTest, bool, bool) {
    let pg = Server::Postgres.url();
    let my = Server::Mysql.url();
    let urls: Vec<String> = pg.iter().chain(my.iter()).cloned().collect();
    let (has_pg, has_my) = (pg.is_some(), my.is_some());
    (t.env("MIGRATE_SCRATCH_URL", urls.join(" ")), has_pg, has_my)
}

/// `schema -p SET` prints exactly the committed file.
#[track_caller]
fn schema_matches(t: &CliTest, set: &str, file: &str) {
    let run = t.run(&["schema", "-p", set]);
    run.assert_success();
    let committed = std::fs::read_to_string(t.path(file)).unwrap();
    assert_eq!(run.stdout, committed, "schema -p {set}");
}

// ---------------------------------------------------------------------------------------------
// Several SQLite members: version-only folders, a lower-case rustfmt value, no URL

#[test]
fn sqlite_members_list() {
    let t = CliTest::fixture("layout-sqlite-members");
    let run = t.run(&["list"]);
    run.assert_success();
    assert_snapshot!(t.clean(&run.stdout));
    let run = t.run(&["list", "--format", "json"]);
    run.assert_success();
    assert_snapshot!(t.clean(&run.stdout));
    let doc = run.json();
    // `accounts` and `notes` both start at 00000000000000; without URLs they share nothing.
    assert_eq!(doc["ok"], true, "{}", run.stdout);
    for set in doc["sets"].as_array().unwrap() {
        assert_eq!(set["backend"], "sqlite");
        assert_eq!(set["backend_from"], "diesel-features");
    }
    // A folder named only by its version is a migration, as diesel runs it.
    let tags = &doc["sets"][3];
    assert_eq!(tags["name"], "tags");
    assert_eq!(tags["migrations"][0]["version"], "20221207110000");
    assert_eq!(tags["migrations"][0]["dir_name"], "2022-12-07-110000");
}

#[test]
fn sqlite_members_schema_and_check() {
    let t = CliTest::fixture("layout-sqlite-members");
    for m in ["accounts", "notes", "tags", "audit"] {
        schema_matches(&t, m, &format!("crates/{m}/src/schema.rs"));
    }
    t.run(&["check"]).assert_success();
    let file = "crates/tags/src/schema.rs";
    let text = std::fs::read_to_string(t.path(file)).unwrap();
    t.write(file, &text.replace("        label -> Text,\n", ""));
    let run = t.run(&["check", "--no-cache"]);
    run.assert_code(1);
    assert!(run.stdout.contains("FAIL tags"), "{}", run.stdout);
    assert!(run.stdout.contains("label -> Text"), "{}", run.stdout);
    // The byte comparison names the table and column too.
    assert!(
        run.stdout.contains("(+1 -0 lines): column `tags.label` (`Text`) is created by the migrations, but is not in the file"),
        "{}",
        run.stdout
    );
}

#[test]
fn sets_without_url_have_no_database_until_they_share_one() {
    let t = CliTest::fixture("layout-sqlite-members");
    let run = t.run(&["apply", "-p", "notes"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("$DATABASE_URL is not set"),
        "apply names the variable to set: {}",
        run.stderr
    );
    // One URL for every member: now `accounts` and `notes` share a database, and their
    // 00000000000000 collides.
    let shared = t.path("shared.db").display().to_string();
    let t = t.env("DATABASE_URL", shared);
    let run = t.run(&["list", "--format", "json"]);
    run.assert_code(2);
    let problems = run.json()["problems"].clone();
    assert_eq!(problems[0]["code"], "shared-database-version-collision");
    assert!(problems[0]["message"]
        .as_str()
        .unwrap()
        .contains("sets `accounts` and `notes` share one database"));
}

#[test]
fn unstable_rustfmt_options_are_ignored_with_a_note() {
    let t = CliTest::fixture("layout-sqlite-members");
    t.write(
        "rustfmt.toml",
        "use_small_heuristics = \"default\"\nbrace_style = \"AlwaysNextLine\"\n",
    );
    let run = t.run(&["schema", "-p", "tags"]);
    run.assert_success();
    assert!(
        run.stderr.contains("note: set `tags`: ")
            && run.stderr.contains("`brace_style` is ignored"),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stdout,
        std::fs::read_to_string(t.path("crates/tags/src/schema.rs")).unwrap()
    );
}

// ---------------------------------------------------------------------------------------------
// One folder per backend, one schema file

#[test]
fn backend_folders_list() {
    let t = CliTest::fixture("layout-backend-folders");
    let run = t.run(&["list"]);
    run.assert_success();
    assert_snapshot!(t.clean(&run.stdout));
    let run = t.run(&["list", "--format", "json"]);
    run.assert_success();
    assert_snapshot!(t.clean(&run.stdout));
    // `-p` takes the package: all of its sets.
    assert_eq!(
        names(&t, &["-p", "shop"]),
        ["shop-mysql", "shop-postgres", "shop-sqlite"]
    );
    assert_eq!(names(&t, &["-p", "shop-sqlite"]), ["shop-sqlite"]);
    assert_eq!(
        names(&t, &["-p", "shop", "--exclude", "shop-mysql"]),
        ["shop-postgres", "shop-sqlite"]
    );
}

#[test]
fn backend_folders_schema_and_check() {
    let (t, has_pg, has_my) = scratch_env(CliTest::fixture("layout-backend-folders"));
    schema_matches(&t, "shop-sqlite", "src/schema.rs");
    t.run(&["check", "-p", "shop-sqlite"]).assert_success();
    if has_my {
        // MySQL's INTEGER and TEXT print as SQLite's do.
        schema_matches(&t, "shop-mysql", "src/schema.rs");
        t.run(&["check", "-p", "shop-mysql"]).assert_success();
    }
    if has_pg {
        // PostgreSQL's SERIAL prints as `Int4` where the shared file says `Integer`: no
        // print-schema output equals a file shared by backends, so it is compared by
        // declaration, and `Int4` and `Integer` are both `i32`.
        let run = t.run(&["schema", "-p", "shop-postgres"]);
        run.assert_success();
        assert!(run.stdout.contains("id -> Int4,"), "{}", run.stdout);
        t.run(&["check", "-p", "shop-postgres"]).assert_success();
    }
    if has_pg && has_my {
        t.run(&["check"]).assert_success();
    }
    // A real difference fails every set, naming the table and column and the file's line.
    let text = std::fs::read_to_string(t.path("src/schema.rs")).unwrap();
    t.write(
        "src/schema.rs",
        &text.replace("note -> Nullable<Text>", "note -> Text"),
    );
    let run = t.run(&["check", "-p", "shop-sqlite"]);
    run.assert_code(1);
    assert!(
        run.stdout.contains("error[schema-drift]: `src/schema.rs`: column `products.note` is `Text` in the file, `Nullable<Text>` from the migrations")
            && run.stdout.contains(" --> src/schema.rs:7:")
            && run.stdout.contains("shared with sets of other backends (`shop-mysql`, `shop-postgres`)"),
        "{}",
        run.stdout
    );
    if has_pg {
        let run = t.run(&["check", "-p", "shop-postgres"]);
        run.assert_code(1);
        assert!(
            run.stdout.contains("column `products.note`"),
            "{}",
            run.stdout
        );
    }
    // `schema-check = "bytes"` asks for byte equality even so.
    let manifest = std::fs::read_to_string(t.path("Cargo.toml")).unwrap();
    t.write("src/schema.rs", &text);
    t.write(
        "Cargo.toml",
        &format!("{manifest}\n[package.metadata.migrate]\nschema-check = \"bytes\"\n"),
    );
    if has_pg {
        let run = t.run(&["check", "-p", "shop-postgres"]);
        run.assert_code(1);
        assert!(
            run.stdout.contains(
                "column `products.id` is `Integer` in the file, `Int4` from the migrations"
            ),
            "{}",
            run.stdout
        );
    }
}

#[test]
fn a_member_backend_that_contradicts_a_backend_folder_is_an_error() {
    let t = CliTest::fixture("layout-backend-folders");
    let manifest = std::fs::read_to_string(t.path("Cargo.toml")).unwrap();
    t.write(
        "Cargo.toml",
        &format!("{manifest}\n[package.metadata.migrate]\nbackend = \"postgres\"\n"),
    );
    let run = t.run(&["list"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("`backend = \"postgres\"` is set for the whole member")
            && run.stderr.contains("migrations/mysql"),
        "{}",
        run.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// One diesel config file per backend

#[test]
fn config_files_list() {
    let t = CliTest::fixture("layout-config-files");
    let run = t.run(&["list"]);
    run.assert_success();
    assert_snapshot!(t.clean(&run.stdout));
    let run = t.run(&["list", "--format", "json"]);
    run.assert_success();
    assert_snapshot!(t.clean(&run.stdout));
}

#[test]
fn config_files_schema_and_check() {
    let (t, has_pg, has_my) = scratch_env(CliTest::fixture("layout-config-files"));
    schema_matches(&t, "api-sqlite", "src/schema/sqlite.rs");
    t.run(&["check", "-p", "api-sqlite"]).assert_success();
    if has_my {
        // mysql.toml's `with_docs = true` applies to its set only.
        schema_matches(&t, "api-mysql", "src/schema/mysql.rs");
    }
    if has_pg {
        schema_matches(&t, "api-postgres", "src/schema/pg.rs");
    }
    if has_pg && has_my {
        t.run(&["check"]).assert_success();
    }
    if has_pg {
        let text = std::fs::read_to_string(t.path("src/schema/pg.rs")).unwrap();
        t.write(
            "src/schema/pg.rs",
            &text.replace("total -> Int4", "total -> Int8"),
        );
        let run = t.run(&["check", "-p", "api-postgres"]);
        run.assert_code(1);
        assert!(
            run.stdout.contains("orders (id)") && run.stdout.contains("total -> Int8"),
            "{}",
            run.stdout
        );
    }
}

#[test]
fn diesel_config_file_is_honoured_as_diesel_cli_does() {
    let t = CliTest::fixture("layout-config-files").env("DIESEL_CONFIG_FILE", "diesel_sqlite.toml");
    let run = t.run(&["list", "--format", "json"]);
    run.assert_success();
    let doc = run.json();
    assert_eq!(doc["sets"].as_array().unwrap().len(), 1, "{}", run.stdout);
    assert_eq!(doc["sets"][0]["name"], "api");
    assert_eq!(doc["sets"][0]["found_by"], "diesel-config-file-env");
    assert_eq!(doc["sets"][0]["backend"], "sqlite");
    assert_eq!(doc["sets"][0]["schema_file"], "src/schema/sqlite.rs");
    let t = t.env("DIESEL_CONFIG_FILE", "nope.toml");
    let run = t.run(&["list"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("DIESEL_CONFIG_FILE is `"),
        "{}",
        run.stderr
    );
}

#[test]
fn two_config_files_on_one_folder_name_the_line_that_resolves_it() {
    let t = CliTest::fixture("layout-config-files");
    t.write(
        "diesel.toml",
        "[print_schema]\nfile = \"src/schema/other.rs\"\n\n[migrations_directory]\ndir = \"migrations/sqlite\"\n",
    );
    let run = t.run(&["list"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("add `config-file = \"diesel_sqlite.toml\"` to [package.metadata.migrate]"),
        "{}",
        run.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// Several sets in one member, and a virtual root

#[test]
fn sets_table_list() {
    let t = CliTest::fixture("layout-sets");
    let run = t.run(&["list"]);
    run.assert_success();
    assert_snapshot!(t.clean(&run.stdout));
    let run = t.run(&["list", "--format", "json"]);
    run.assert_success();
    assert_snapshot!(t.clean(&run.stdout));
    assert_eq!(names(&t, &["-p", "store"]), ["store-audit", "store-main"]);
    assert_eq!(names(&t, &["-p", "platform"]), ["platform"]);
}

#[test]
fn sets_table_schema_and_check() {
    let t = CliTest::fixture("layout-sets");
    schema_matches(&t, "store-main", "store/src/main_schema.rs");
    schema_matches(&t, "store-audit", "store/src/audit_schema.rs");
    schema_matches(&t, "platform", "db/schema.rs");
    // store-audit allows its missing down.sql in its own entry.
    t.run(&["check", "--deny", "warnings"]).assert_success();
    t.write("store/src/main_schema.rs", "");
    let run = t.run(&["check", "--no-cache"]);
    run.assert_code(1);
    assert!(
        run.stdout.contains("FAIL store-main") && run.stdout.contains("items (id)"),
        "{}",
        run.stdout
    );
}

#[test]
fn set_names_are_unique() {
    let t = CliTest::fixture("layout-sets");
    let manifest = std::fs::read_to_string(t.path("store/Cargo.toml")).unwrap();
    t.write(
        "store/Cargo.toml",
        &manifest.replace("name = \"store-audit\"", "name = \"platform\""),
    );
    let run = t.run(&["list"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("two migration sets are named `platform`"),
        "{}",
        run.stderr
    );
}

#[test]
fn sets_entries_need_a_name_and_keys_are_checked() {
    let t = CliTest::fixture("layout-sets");
    let manifest = std::fs::read_to_string(t.path("store/Cargo.toml")).unwrap();
    t.write(
        "store/Cargo.toml",
        &manifest.replace("name = \"store-main\"\n", ""),
    );
    let run = t.run(&["list"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("a `sets` entry has no `name`"),
        "{}",
        run.stderr
    );
    t.write(
        "store/Cargo.toml",
        &manifest.replace("schema = \"src/main_schema.rs\"", "shema = \"x.rs\""),
    );
    let run = t.run(&["list"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("unknown field `shema`"),
        "{}",
        run.stderr
    );
}

#[test]
fn one_url_for_a_folder_per_backend_belongs_to_the_set_of_its_backend() {
    let t = CliTest::fixture("layout-backend-folders")
        .env("DATABASE_URL", "postgres://u@127.0.0.1:1/shop");
    let doc = t.run(&["list", "--format", "json"]).json();
    let databases: Vec<_> = doc["sets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["database"].clone())
        .collect();
    assert_eq!(
        databases,
        [
            serde_json::Value::Null,
            "postgres://u@127.0.0.1:1/shop".into(),
            serde_json::Value::Null
        ]
    );
    // The SQLite set works offline, and says what to set to reach its database.
    t.run(&["check", "-p", "shop-sqlite"]).assert_success();
    let run = t.run(&["status", "-p", "shop-sqlite"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("the URL from $DATABASE_URL is a postgres URL, not a sqlite one")
            && run.stderr.contains("set DATABASE_URL to a sqlite URL"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_missing_migrations_directory_names_the_folder_that_exists() {
    let t = CliTest::fixture("layout-config-files");
    t.write(
        "diesel_sqlite.toml",
        "[print_schema]\nfile = \"src/schema/sqlite.rs\"\n\n[migrations_directory]\ndir = \"db/sqlite\"\n",
    );
    let run = t.run(&["list"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("the migrations folder `db/sqlite` (from `[migrations_directory] dir` in diesel_sqlite.toml) does not exist, but `migrations` does")
            && run.stderr.contains("diesel resolves `dir` relative to the folder of diesel_sqlite.toml"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_backend_folder_among_migrations_is_reported_with_the_layout_rule() {
    let t = CliTest::fixture("layout-backend-folders");
    t.write(
        "migrations/2024-05-01-000000_stray/up.sql",
        "CREATE TABLE stray (id INTEGER PRIMARY KEY);\n",
    );
    let run = t.run(&["list", "--format", "json"]);
    run.assert_code(2);
    let doc = run.json();
    assert_eq!(doc["sets"].as_array().unwrap().len(), 1, "one ordinary set");
    let problems = doc["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems
        .iter()
        .all(|p| p["code"] == "invalid-migration-name"
            && p["help"]
                .as_str()
                .unwrap()
                .contains("is named like a backend folder")));
}

#[test]
fn schema_write_refuses_to_write_a_shared_file_for_several_sets() {
    let t = CliTest::fixture("layout-backend-folders");
    let run = t.run(&["schema", "--write"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("would write `src/schema.rs` once for each of the sets shop-mysql, shop-postgres, shop-sqlite")
            && run.stderr.contains("-p NAME"),
        "{}",
        run.stderr
    );
    t.run(&["schema", "--write", "-p", "shop-sqlite"])
        .assert_success();
}

#[test]
fn an_unknown_backend_is_listed_with_the_line_that_names_it() {
    let t = CliTest::fixture("layout-config-files");
    std::fs::rename(t.path("mysql.toml"), t.path("diesel_local.toml")).unwrap();
    t.write(
        "diesel_local.toml",
        "[print_schema]\nfile = \"src/schema/local.rs\"\n\n[migrations_directory]\ndir = \"db\"\n",
    );
    t.write("db/2024-01-01-000000_x/up.sql", "SELECT 1;\n");
    let run = t.run(&["list"]);
    run.assert_success();
    assert!(
        run.stdout.contains("api-local [backend unknown]")
            && run.stdout.contains("  backend:    unknown: add `backend = \"sqlite\"` (or postgres, mysql) to a [[package.metadata.migrate.sets]] entry with `config-file = \"diesel_local.toml\"`"),
        "{}",
        run.stdout
    );
    // `check` never skips it silently: the set fails, saying the same.
    let run = t.run(&["check", "-p", "api-local"]);
    run.assert_code(1);
    assert!(run.stdout.contains("unknown-backend"), "{}", run.stdout);
}

#[test]
fn a_sets_entry_takes_every_set_key_including_init_sql() {
    let t = CliTest::fixture("layout-sets");
    let manifest = std::fs::read_to_string(t.path("store/Cargo.toml")).unwrap();
    t.write(
        "store/Cargo.toml",
        &manifest.replace(
            "schema = \"src/main_schema.rs\"\n",
            "schema = \"src/main_schema.rs\"\ninit-sql = \"\"\n",
        ),
    );
    // The key is read (an empty one is refused, naming it), not rejected as unknown.
    let run = t.run(&["list"]);
    run.assert_code(2);
    assert!(run.stderr.contains("`init-sql` is empty"), "{}", run.stderr);
    t.write(
        "store/Cargo.toml",
        &manifest.replace(
            "schema = \"src/main_schema.rs\"\n",
            "schema = \"src/main_schema.rs\"\ninit-sql = \"PRAGMA foreign_keys = ON\"\n",
        ),
    );
    t.run(&["check", "-p", "store-main"]).assert_success();
}
