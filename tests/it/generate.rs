//! `generate`: folder names, refusals, and the `--diff-schema` round trip on every backend.
//!
//! The round trip, per case and backend: replay a base history and render its schema; edit that
//! schema as a model (add a column, drop a table, …) and write it as the committed schema file;
//! run `generate --diff-schema`; then `check` must report an `unresolved-todo` error for each
//! `cargo-migrate: todo` marker the files hold and nothing else; with the markers resolved as a
//! person would (the enum labels written in, the marker lines deleted), `check` must report no
//! drift and no lint warning, and replaying the base plus the new migration and reverting the
//! new one must render the base schema again, exactly.

use std::path::{Path, PathBuf};

use crate::common::{CliTest, Server};
use cargo_migrate::backend::Backend;
use cargo_migrate::commands::check::check;
use cargo_migrate::commands::generate::run;
use cargo_migrate::commands::Outcome;
use cargo_migrate::commands::{CheckOptions, GenerateOptions};
use cargo_migrate::database_url::DatabaseUrl;
use cargo_migrate::db::harness;
use cargo_migrate::diagnostic::Severity;
use cargo_migrate::generate::ENUM_PLACEHOLDER;
use cargo_migrate::history::{SetHistory, Upto};
use cargo_migrate::lint::todo_markers;
use cargo_migrate::migration::Direction;
use cargo_migrate::output::Printer;
use cargo_migrate::schema::model::{Column, ColumnType, ForeignKey, Schema, Table, TableName};
use cargo_migrate::settings::{self, GlobalOptions, Resolved};

static PRINTER: std::sync::LazyLock<Printer> = std::sync::LazyLock::new(Printer::sink);

fn opts(name: &str, diff: bool) -> GenerateOptions {
    GenerateOptions {
        name: name.into(),
        diff_schema: diff,
        ..GenerateOptions::default()
    }
}

/// A one-package workspace for `backend` with the base history.
fn workspace(backend: Backend, base: &str) -> CliTest {
    let ws = CliTest::package();
    ws.write(
        "Cargo.toml",
        &format!(
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[package.metadata.migrate]\nbackend = \"{}\"\n\n[workspace]\n",
            backend.as_str()
        ),
    );
    ws.migration(
        "2024-01-01-000000_base",
        base,
        Some("-- reverting the base is not part of these tests\nSELECT 1;\n"),
    );
    ws
}

fn resolve(ws: &CliTest, scratch: &[String]) -> Resolved {
    let g = GlobalOptions {
        manifest_path: Some(ws.path("Cargo.toml")),
        scratch_urls: scratch.to_vec(),
        ..Default::default()
    };
    settings::resolve(&g, &settings::ProcessEnv).unwrap()
}

/// The rendered schema of `migrations` (the set's own, or a given list).
fn render(resolved: &Resolved, migrations: &[cargo_migrate::migration::Migration]) -> String {
    let ctx = &resolved.sets[0];
    let history = SetHistory::new(resolved, ctx).unwrap();
    let versions: Vec<String> = migrations.iter().map(|m| m.version.clone()).collect();
    let out = history.render(Upto::Applied(&versions), false).unwrap();
    out[0].text.clone()
}

/// Render a model with the set's options (as print-schema would print it).
fn render_model(resolved: &Resolved, schema: &Schema) -> String {
    let ctx = &resolved.sets[0];
    let backend = ctx.backend().unwrap();
    let sections = &ctx.set.print_schema;
    cargo_migrate::schema::render(schema, backend, &sections[0].1, &ctx.set.format).unwrap()
}

fn new_folders(ws: &CliTest) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(ws.path("migrations"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| !p.ends_with("2024-01-01-000000_base"))
        .collect();
    out.sort();
    out
}

// -------------------------------------------------------------------------------------------
// Base history and model edits

fn base_sql(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            "CREATE TABLE users (id INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL, bio TEXT, age INTEGER);\n\
             CREATE INDEX users_name ON users (name);\n\
             CREATE TABLE posts (id INTEGER PRIMARY KEY NOT NULL, user_id INTEGER NOT NULL REFERENCES users (id), title TEXT NOT NULL, legacy TEXT);\n\
             CREATE TABLE notes (id INTEGER NOT NULL, user_id INTEGER NOT NULL, body TEXT, PRIMARY KEY (id));\n"
        }
        Backend::Postgres => {
            "CREATE TABLE users (id SERIAL PRIMARY KEY, name TEXT NOT NULL, bio TEXT, age INTEGER);\n\
             CREATE INDEX users_name ON users (name);\n\
             CREATE TABLE posts (id SERIAL PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id), title VARCHAR(100) NOT NULL, legacy TEXT);\n\
             CREATE TABLE notes (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, body TEXT);\n"
        }
        Backend::Mysql => {
            "CREATE TABLE users (id INTEGER AUTO_INCREMENT PRIMARY KEY, name TEXT NOT NULL, bio TEXT, age INTEGER);\n\
             CREATE INDEX users_name ON users (name(20));\n\
             CREATE TABLE posts (id INTEGER AUTO_INCREMENT PRIMARY KEY, user_id INTEGER NOT NULL, title VARCHAR(100) NOT NULL, legacy TEXT, FOREIGN KEY (user_id) REFERENCES users (id));\n\
             CREATE TABLE notes (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, body TEXT);\n"
        }
    }
}

/// Diesel's name for a type on a backend, as print-schema prints it.
fn ty(backend: Backend, kind: &str, nullable: bool) -> ColumnType {
    let name = match (backend, kind) {
        (Backend::Postgres, "int") => "Int4",
        (Backend::Postgres, "bigint") => "Int8",
        (Backend::Sqlite, "int") | (Backend::Mysql, "int") => "Integer",
        (Backend::Sqlite, "bigint") => "BigInt",
        (Backend::Mysql, "bigint") => "Bigint",
        (_, other) => other,
    };
    ColumnType::simple(name, name.to_lowercase(), nullable)
}

fn table<'s>(s: &'s mut Schema, name: &str) -> &'s mut Table {
    s.tables
        .iter_mut()
        .find(|t| t.name.sql_name == name)
        .unwrap()
}

fn column<'s>(s: &'s mut Schema, t: &str, c: &str) -> &'s mut Column {
    table(s, t)
        .columns
        .iter_mut()
        .find(|x| x.sql_name == c)
        .unwrap()
}

fn add_column(s: &mut Schema, t: &str, c: &str, ty: ColumnType) {
    let name = TableName::new(t);
    table(s, t).columns.push(Column::new(&name, c, ty, None));
}

fn drop_column(s: &mut Schema, t: &str, c: &str) {
    table(s, t).columns.retain(|x| x.sql_name != c);
}

fn fk(child: &str, col: &str, parent: &str) -> ForeignKey {
    ForeignKey::new(
        TableName::new(child),
        TableName::new(parent),
        vec![col.into()],
        vec!["id".into()],
    )
}

fn sort(s: &mut Schema) {
    s.tables.sort_by(|a, b| a.name.cmp(&b.name));
    s.foreign_keys.sort();
}

type Edit = fn(&mut Schema, Backend);

struct Case {
    name: &'static str,
    backends: &'static [Backend],
    edit: Edit,
    /// Text that up.sql must contain, per backend (`None`: no check).
    up_contains: fn(Backend) -> Option<&'static str>,
}

const ALL: &[Backend] = &[Backend::Sqlite, Backend::Postgres, Backend::Mysql];
const SERVERS: &[Backend] = &[Backend::Postgres, Backend::Mysql];

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "add_nullable_column",
            backends: ALL,
            edit: |s, _| {
                add_column(
                    s,
                    "users",
                    "email",
                    ColumnType::simple("Text", "text", true),
                )
            },
            up_contains: |_| Some("ADD COLUMN"),
        },
        Case {
            name: "add_not_null_column",
            backends: ALL,
            edit: |s, b| add_column(s, "users", "score", ty(b, "int", false)),
            up_contains: |_| Some("-- cargo-migrate: todo: "),
        },
        Case {
            name: "drop_last_column",
            backends: ALL,
            edit: |s, _| drop_column(s, "posts", "legacy"),
            up_contains: |_| Some("DATA LOSS"),
        },
        Case {
            name: "drop_middle_column",
            // PostgreSQL cannot put a re-added column back in the middle.
            backends: &[Backend::Sqlite, Backend::Mysql],
            edit: |s, _| drop_column(s, "users", "bio"),
            up_contains: |_| Some("DATA LOSS"),
        },
        Case {
            name: "make_nullable",
            backends: ALL,
            edit: |s, _| column(s, "posts", "title").ty.is_nullable = true,
            up_contains: |b| {
                Some(match b {
                    Backend::Postgres => "DROP NOT NULL",
                    Backend::Mysql => "MODIFY COLUMN",
                    Backend::Sqlite => "is rebuilt",
                })
            },
        },
        Case {
            name: "make_not_null",
            backends: ALL,
            edit: |s, _| column(s, "users", "age").ty.is_nullable = false,
            up_contains: |b| {
                Some(match b {
                    Backend::Postgres => "SET NOT NULL",
                    Backend::Mysql => "MODIFY COLUMN",
                    Backend::Sqlite => "is rebuilt",
                })
            },
        },
        Case {
            name: "change_type",
            backends: ALL,
            edit: |s, b| column(s, "users", "age").ty = ty(b, "bigint", true),
            up_contains: |b| {
                Some(match b {
                    Backend::Postgres => "TYPE BIGINT USING \"age\"::BIGINT",
                    Backend::Mysql => "MODIFY COLUMN `age` BIGINT",
                    Backend::Sqlite => "\"age\" BIGINT",
                })
            },
        },
        Case {
            name: "change_varchar_length",
            backends: SERVERS,
            edit: |s, _| column(s, "posts", "title").ty.max_length = Some(200),
            up_contains: |_| Some("VARCHAR(200)"),
        },
        Case {
            name: "create_table_with_foreign_key",
            backends: ALL,
            edit: |s, b| {
                let name = TableName::new("comments");
                let cols = vec![
                    Column::new(&name, "id", ty(b, "int", false), None),
                    Column::new(&name, "post_id", ty(b, "int", false), None),
                    Column::new(
                        &name,
                        "body",
                        ColumnType::simple("Text", "text", true),
                        None,
                    ),
                ];
                s.tables
                    .push(Table::new(name, vec!["id".into()], cols, None));
                s.foreign_keys.push(fk("comments", "post_id", "posts"));
            },
            up_contains: |_| Some("CREATE TABLE"),
        },
        Case {
            name: "drop_table",
            backends: ALL,
            edit: |s, _| {
                s.tables.retain(|t| t.name.sql_name != "posts");
                s.foreign_keys.retain(|f| f.child_table.sql_name != "posts");
            },
            up_contains: |_| Some("DROP TABLE"),
        },
        Case {
            name: "column_rename_looks_like_drop_and_add",
            backends: ALL,
            edit: |s, b| {
                drop_column(s, "users", "age");
                add_column(s, "users", "years", ty(b, "int", true));
            },
            up_contains: |_| Some("RENAME COLUMN"),
        },
        Case {
            name: "add_foreign_key",
            backends: ALL,
            edit: |s, _| s.foreign_keys.push(fk("notes", "user_id", "users")),
            up_contains: |_| Some("FOREIGN KEY"),
        },
        Case {
            name: "drop_foreign_key",
            backends: ALL,
            edit: |s, _| s.foreign_keys.retain(|f| f.child_table.sql_name != "posts"),
            up_contains: |b| {
                Some(if b == Backend::Sqlite {
                    "is rebuilt"
                } else {
                    "DROP"
                })
            },
        },
        Case {
            name: "change_primary_key",
            backends: ALL,
            edit: |s, _| {
                let t = table(s, "notes");
                *t = Table::new(
                    t.name.clone(),
                    vec!["id".into(), "user_id".into()],
                    t.columns.clone(),
                    None,
                );
            },
            up_contains: |_| Some("PRIMARY KEY"),
        },
        Case {
            name: "postgres_custom_type",
            backends: &[Backend::Postgres],
            edit: |s, _| {
                let name = TableName::new("users");
                let mood = ColumnType::simple("Mood", "mood", true);
                table(s, "users")
                    .columns
                    .push(Column::new(&name, "mood", mood, None));
            },
            up_contains: |_| {
                Some("CREATE TYPE \"mood\" AS ENUM (\n    LABELS_GO_HERE -- cargo-migrate: todo:")
            },
        },
        Case {
            name: "postgres_array_column",
            backends: &[Backend::Postgres],
            edit: |s, _| {
                let mut t = ColumnType::simple("Text", "text", true);
                t.is_array = true;
                add_column(s, "posts", "tags", t);
            },
            up_contains: |_| Some("TEXT[]"),
        },
        Case {
            name: "add_column_in_the_middle",
            // PostgreSQL can only append a column.
            backends: &[Backend::Sqlite, Backend::Mysql],
            edit: |s, _| {
                let name = TableName::new("users");
                table(s, "users").columns.insert(
                    2,
                    Column::new(
                        &name,
                        "email",
                        ColumnType::simple("Text", "text", true),
                        None,
                    ),
                );
            },
            up_contains: |b| {
                Some(if b == Backend::Sqlite {
                    "is rebuilt"
                } else {
                    "AFTER `name`"
                })
            },
        },
        Case {
            name: "sqlite_rebuild_keeps_indexes",
            backends: &[Backend::Sqlite],
            edit: |s, _| column(s, "users", "name").ty.is_nullable = true,
            up_contains: |_| Some("CREATE INDEX users_name ON users (name);"),
        },
        Case {
            name: "several_changes_at_once",
            backends: ALL,
            edit: |s, b| {
                add_column(
                    s,
                    "notes",
                    "created",
                    ColumnType::simple("Timestamp", "timestamp", true),
                );
                column(s, "users", "age").ty = ty(b, "bigint", true);
                s.tables.retain(|t| t.name.sql_name != "posts");
                s.foreign_keys.clear();
                let name = TableName::new("tags");
                let cols = vec![
                    Column::new(&name, "id", ty(b, "int", false), None),
                    Column::new(
                        &name,
                        "label",
                        ColumnType::simple("Text", "text", false),
                        None,
                    ),
                ];
                s.tables
                    .push(Table::new(name, vec!["id".into()], cols, None));
            },
            up_contains: |_| Some("CREATE TABLE"),
        },
    ]
}

// -------------------------------------------------------------------------------------------
// The round trip

fn round_trip(backend: Backend, scratch: &[String], case: &Case) -> Result<(), String> {
    let ws = workspace(backend, base_sql(backend));
    let resolved = resolve(&ws, scratch);
    let base_text = render(&resolved, &resolved.sets[0].folder.migrations);
    // The model of the base, read back from its own rendering.
    let parsed = cargo_migrate::schema::parse::parse(&base_text, Path::new("src/schema.rs"))
        .map_err(|e| e.to_string())?;
    let mut model = parsed.to_model(backend).map_err(|e| e.to_string())?.schema;
    if render_model(&resolved, &model) != base_text {
        return Err(format!(
            "the parsed base does not render back to itself:\n{base_text}\n---\n{}",
            render_model(&resolved, &model)
        ));
    }
    (case.edit)(&mut model, backend);
    sort(&mut model);
    let target = render_model(&resolved, &model);
    ws.write("src/schema.rs", &target);

    let outcome = run(&resolve(&ws, scratch), &opts(case.name, true), &PRINTER)
        .map_err(|e| format!("generate failed: {e:#}"))?;
    if outcome != Outcome::Success {
        return Err(format!("generate returned {outcome:?}"));
    }
    let created = new_folders(&ws);
    let [dir] = created.as_slice() else {
        return Err(format!("expected one new folder, got {created:?}"));
    };
    let up = std::fs::read_to_string(dir.join("up.sql")).unwrap();
    let down = std::fs::read_to_string(dir.join("down.sql")).unwrap();
    let show = || format!("--- schema.rs\n{target}\n--- up.sql\n{up}\n--- down.sql\n{down}");
    if let Some(needle) = (case.up_contains)(backend) {
        if !up.contains(needle) {
            return Err(format!("up.sql lacks `{needle}`\n{}", show()));
        }
    }

    // Before the markers are resolved: one unresolved-todo error per marker, and the lint finds
    // nothing else.
    let markers = todo_markers(&up).len() + todo_markers(&down).len();
    let unresolved = check(
        &resolve(&ws, scratch),
        &CheckOptions {
            lint_only: true,
            ..Default::default()
        },
    )
    .map_err(|e| format!("check failed: {e:#}"))?;
    let (todo, loud): (Vec<_>, Vec<_>) = unresolved[0]
        .findings
        .iter()
        .filter(|d| d.severity != Severity::Info)
        .partition(|d| d.code == "unresolved-todo");
    if todo.len() != markers || todo.iter().any(|d| d.severity != Severity::Error) {
        return Err(format!(
            "{markers} markers, but check reports:\n{}\n{}",
            todo.iter()
                .map(|d| d.render())
                .collect::<Vec<_>>()
                .join("\n"),
            show()
        ));
    }
    if !loud.is_empty() {
        return Err(format!(
            "check reports findings:\n{}\n{}",
            loud.iter()
                .map(|d| d.render())
                .collect::<Vec<_>>()
                .join("\n"),
            show()
        ));
    }
    std::fs::write(dir.join("up.sql"), resolve_markers(&up)).unwrap();
    std::fs::write(dir.join("down.sql"), resolve_markers(&down)).unwrap();

    // check: no drift, no lint finding above info.
    let after = resolve(&ws, scratch);
    let reports = check(
        &after,
        &CheckOptions {
            no_cache: true,
            ..Default::default()
        },
    )
    .map_err(|e| format!("check failed: {e:#}"))?;
    let report = &reports[0];
    if !report.drift.is_empty() {
        return Err(format!(
            "check reports drift:\n{}\n{}",
            report.drift[0].diff,
            show()
        ));
    }
    let loud: Vec<String> = report
        .findings
        .iter()
        .filter(|d| d.severity != Severity::Info)
        .map(|d| d.render())
        .collect();
    if !loud.is_empty() {
        return Err(format!(
            "check reports findings:\n{}\n{}",
            loud.join("\n"),
            show()
        ));
    }

    // Revert: base + new migration, then its down.sql, renders the base again.
    let ctx = &after.sets[0];
    let history = SetHistory::new(&after, ctx).map_err(|e| e.to_string())?;
    let mut db = history
        .replay(Upto::All)
        .map_err(|e| format!("replay failed: {e}"))?;
    // The replay may skip diesel's bookkeeping table; reverting through the harness needs it.
    db.conn
        .ensure_migrations_table()
        .map_err(|e| e.to_string())?;
    let new = ctx.folder.migrations.last().unwrap();
    harness::run(
        &mut db.conn,
        new,
        Direction::Down,
        &DatabaseUrl::new("scratch"),
    )
    .map_err(|e| format!("down.sql failed: {}\n{}", e.message, show()))?;
    let reverted = history
        .render_live(&mut db.conn)
        .map_err(|e| e.to_string())?;
    if reverted[0].text != base_text {
        return Err(format!(
            "down.sql does not restore the schema:\n{}\n{}",
            cargo_migrate::diff::unified(&base_text, &reverted[0].text, "before", "after down.sql"),
            show()
        ));
    }
    Ok(())
}

/// What a person does with the markers: write the enum labels in, delete the marker lines.
fn resolve_markers(sql: &str) -> String {
    let marked: Vec<usize> = todo_markers(sql).iter().map(|m| m.line).collect();
    sql.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            if !marked.contains(&(i + 1)) {
                Some(format!("{line}\n"))
            } else if line.contains(ENUM_PLACEHOLDER) {
                Some("    'happy', 'sad'\n".to_string())
            } else {
                None
            }
        })
        .collect()
}

fn run_cases(backend: Backend, scratch: &[String]) -> usize {
    let mut failures = Vec::new();
    let mut n = 0;
    for case in cases().iter().filter(|c| c.backends.contains(&backend)) {
        n += 1;
        if let Err(e) = round_trip(backend, scratch, case) {
            failures.push(format!("=== {} ({backend})\n{e}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} cases failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    n
}

#[test]
fn round_trip_sqlite() {
    assert!(run_cases(Backend::Sqlite, &[]) >= 15);
}

#[test]
fn round_trip_postgres() {
    let Some(url) = Server::Postgres.url() else {
        return;
    };
    assert!(run_cases(Backend::Postgres, &[url]) >= 15);
}

#[test]
fn round_trip_mysql() {
    let Some(url) = Server::Mysql.url() else {
        return;
    };
    assert!(run_cases(Backend::Mysql, &[url]) >= 15);
}

// -------------------------------------------------------------------------------------------
// Refusals and the plain folder

#[test]
fn plain_generate_writes_a_diesel_versioned_folder() {
    let ws = workspace(
        Backend::Sqlite,
        "CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL);",
    );
    run(&resolve(&ws, &[]), &opts("add_things", false), &PRINTER).unwrap();
    run(&resolve(&ws, &[]), &opts("add_more", false), &PRINTER).unwrap();
    let folders = new_folders(&ws);
    assert_eq!(folders.len(), 2);
    let names: Vec<String> = folders
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for (name, suffix) in names.iter().zip(["add_things", "add_more"]) {
        let re = regex::Regex::new(&format!(
            r"^\d{{4}}-\d{{2}}-\d{{2}}-\d{{6}}-[0-9a-f]{{4}}_{suffix}$"
        ))
        .unwrap();
        assert!(
            names.iter().any(|n| re.is_match(n)),
            "{names:?} has no {suffix}: {name}"
        );
    }
    let up = std::fs::read_to_string(folders[0].join("up.sql")).unwrap();
    assert!(up.starts_with("-- "), "{up}");
    assert!(folders[0].join("down.sql").is_file());
    // Both load as migrations, in creation order, with distinct versions.
    let folder = cargo_migrate::migration::load_folder("app", &ws.path("migrations"));
    assert_eq!(folder.migrations.len(), 3);
    assert!(folder.problems.is_empty(), "{:?}", folder.problems);
}

#[test]
fn refuses_names_that_are_not_snake_case() {
    let ws = workspace(
        Backend::Sqlite,
        "CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL);",
    );
    let err = run(&resolve(&ws, &[]), &opts("AddUsers", false), &PRINTER)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`AddUsers` is not snake_case") && err.contains("`add_users`"),
        "{err}"
    );
    assert!(new_folders(&ws).is_empty());
}

#[test]
fn refuses_an_ambiguous_set() {
    let ws = CliTest::fixture("demo");
    let g = GlobalOptions {
        manifest_path: Some(ws.path("Cargo.toml")),
        ..Default::default()
    };
    let resolved = settings::resolve(&g, &settings::ProcessEnv).unwrap();
    assert!(resolved.sets.len() > 1);
    let err = run(&resolved, &opts("x", false), &PRINTER)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("migration sets are selected") && err.contains("-p"),
        "{err}"
    );
}

#[test]
fn agreeing_schemas_create_nothing() {
    let ws = workspace(Backend::Sqlite, base_sql(Backend::Sqlite));
    let resolved = resolve(&ws, &[]);
    ws.write(
        "src/schema.rs",
        &render(&resolved, &resolved.sets[0].folder.migrations),
    );
    assert_eq!(
        run(&resolve(&ws, &[]), &opts("nothing", true), &PRINTER).unwrap(),
        Outcome::Success
    );
    assert!(new_folders(&ws).is_empty());
}

fn bad_schema(text: &str, line: usize, what: &str) {
    let ws = workspace(Backend::Sqlite, base_sql(Backend::Sqlite));
    ws.write("src/schema.rs", text);
    let err = run(&resolve(&ws, &[]), &opts("bad", true), &PRINTER).unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.starts_with(&format!("src/schema.rs:{line}:")), "{msg}");
    assert!(msg.contains(what), "{msg}");
    assert!(msg.contains("help:"), "{msg}");
    assert!(new_folders(&ws).is_empty(), "nothing may be written");
    let hidden: Vec<_> = std::fs::read_dir(ws.path("migrations"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(hidden.is_empty());
}

#[test]
fn a_syntax_error_names_the_line_and_writes_nothing() {
    bad_schema(
        "diesel::table! {\n    users (id) {\n        id -> Integer,\n        name -> ,\n    }\n}\n",
        4,
        "not shaped as diesel expects",
    );
}

#[test]
fn an_unknown_type_names_the_line_and_writes_nothing() {
    bad_schema("diesel::table! {\n    users (id) {\n        id -> Integer,\n        name -> Jsonb,\n    }\n}\n", 4, "`Jsonb`");
}

#[test]
fn a_table_without_primary_key_names_the_line_and_writes_nothing() {
    bad_schema(
        "// schema\n\ndiesel::table! {\n    users {\n        name -> Text,\n    }\n}\n",
        4,
        "no primary key",
    );
}

#[test]
fn a_rust_syntax_error_names_the_line() {
    bad_schema(
        "diesel::table! {\n    users (id) {\n        id -> Integer,\n    }\n\n",
        1,
        "not valid Rust",
    );
}

#[test]
fn generate_with_a_given_version_and_no_down() {
    let t = CliTest::fixture("single-sqlite");
    let run = t.run(&[
        "generate",
        "add_tags",
        "--version",
        "2024-06-01-120000",
        "--no-down",
    ]);
    run.assert_success();
    let dir = t.path("migrations/2024-06-01-120000_add_tags");
    assert!(dir.join("up.sql").is_file());
    assert!(!dir.join("down.sql").exists());
    let doc = t
        .run(&[
            "generate",
            "again",
            "--version",
            "20240601120001",
            "--format",
            "json",
        ])
        .json();
    assert_eq!(doc["version"], "20240601120001");
    assert_eq!(doc["files"].as_array().unwrap().len(), 2);
    // A version the set already has, or one diesel would read differently, creates nothing.
    let taken = t.run(&["generate", "dup", "--version", "2024-05-01-000000"]);
    taken.assert_code(2);
    assert!(
        taken
            .stderr
            .contains("already used by the migration `2024-05-01-000000_create_todos`"),
        "{}",
        taken.stderr
    );
    let bad = t.run(&["generate", "odd", "--version", "v1/2"]);
    bad.assert_code(2);
    assert!(
        bad.stderr.contains("--version `v1/2` cannot be used"),
        "{}",
        bad.stderr
    );
    let names: Vec<String> = std::fs::read_dir(t.path("migrations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");
}
