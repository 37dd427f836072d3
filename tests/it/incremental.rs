//! Incremental replay: a replay starts from the saved state of the history's longest
//! unchanged prefix, and its result is always the full replay's.

use crate::common::{fixtures_dir, CliTest, Server, TestDb};
use cargo_migrate::backend::Backend;
use cargo_migrate::database_url::DatabaseUrl;
use cargo_migrate::db::{ConnectOptions, Connection};

const PROBE: &str = "\nCREATE TABLE cm_probe_incremental (id INTEGER PRIMARY KEY);\n";

/// The scratch servers this machine has, as `--scratch-url` arguments.
fn scratch_args() -> Vec<String> {
    let mut args = Vec::new();
    for server in [Server::Postgres, Server::Mysql] {
        if let Some(url) = server.url() {
            args.push("--scratch-url".to_string());
            args.push(url);
        }
    }
    args
}

fn run(t: &CliTest, args: &[&str], extra: &[String]) -> crate::common::Run {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(extra.iter().map(String::as_str));
    t.run(&all)
}

/// `schema` JSON without what differs between two runs of the same replay.
fn schema_json(t: &CliTest, set: &str, no_cache: bool, extra: &[String]) -> (i32, String) {
    let mut args = vec!["schema", "-p", set, "--format", "json"];
    if no_cache {
        args.push("--no-cache");
    }
    let r = run(t, &args, extra);
    (r.code, t.clean(&r.stdout))
}

/// A fresh live database for `backend` (`None`: its server is not here), with its URL.
fn live_database(t: &CliTest, backend: Backend, n: usize) -> Option<(Option<TestDb>, String)> {
    match backend {
        Backend::Sqlite => Some((
            None,
            t.path(&format!("live-{n}.sqlite3")).display().to_string(),
        )),
        Backend::Postgres => TestDb::create(Server::Postgres, "inc").map(|d| {
            let url = d.url.clone();
            (Some(d), url)
        }),
        Backend::Mysql => TestDb::create(Server::Mysql, "inc").map(|d| {
            let url = d.url.clone();
            (Some(d), url)
        }),
    }
}

#[test]
fn on_every_fixture_an_incremental_replay_renders_what_a_full_one_does() {
    let extra = scratch_args();
    let mut compared = 0;
    let mut fixtures: Vec<_> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    fixtures.sort();
    for fixture in fixtures {
        let t = CliTest::fixture(&fixture);
        let listed = t.run(&["list", "--format", "json"]);
        if listed.code != 0 {
            continue;
        }
        let doc = listed.json();
        for (n, set) in doc["sets"].as_array().unwrap().iter().enumerate() {
            let name = set["name"].as_str().unwrap();
            let Some(backend) = set["backend"]
                .as_str()
                .and_then(|b| b.parse::<Backend>().ok())
            else {
                continue;
            };
            let Some(newest) = set["migrations"].as_array().unwrap().last() else {
                continue;
            };
            if backend != Backend::Sqlite && extra.is_empty() {
                continue;
            }
            let what = format!("{fixture}/{name}");
            // A cold replay (it saves the states of the history and of the history without
            // its newest migration), then the newest migration is edited.
            let cold = schema_json(&t, name, false, &extra);
            let up = t.path(&format!(
                "{}/{}/up.sql",
                set["migrations_dir"].as_str().unwrap(),
                newest["dir_name"].as_str().unwrap()
            ));
            let Ok(text) = std::fs::read_to_string(&up) else {
                continue;
            };
            std::fs::write(&up, format!("{text}{PROBE}")).unwrap();
            // The catalog: the database `apply` builds from the edited history against the
            // catalog of an incremental replay.
            if cold.0 == 0 {
                let Some((_db, url)) = live_database(&t, backend, n) else {
                    continue;
                };
                let applied = run(&t, &["apply", "-p", name, "--database-url", &url], &extra);
                if applied.code == 0 {
                    let diff = run(
                        &t,
                        &[
                            "diff",
                            "-p",
                            name,
                            "--database-url",
                            &url,
                            "--format",
                            "json",
                        ],
                        &extra,
                    );
                    assert_eq!(diff.code, 0, "{what}: {}", diff.all());
                    let differences = &diff.json()["differences"];
                    assert!(
                        differences.as_array().is_none_or(|d| d.is_empty()),
                        "{what}: {differences}"
                    );
                }
            }
            // The rendered schema.
            let incremental = schema_json(&t, name, false, &extra);
            let full = schema_json(&t, name, true, &extra);
            assert_eq!(incremental, full, "{what}");
            if full.0 == 0 {
                assert!(
                    full.1.contains("cm_probe_incremental"),
                    "{what}: {}",
                    full.1
                );
            }
            compared += 1;
        }
        // The states these runs saved go with the workspace.
        run(&t, &["cache", "clean"], &extra).assert_success();
    }
    assert!(compared >= 10, "only {compared} sets compared");
}

/// A workspace of one set with four migrations on `backend`.
fn four_migrations(backend: Backend) -> CliTest {
    let t = CliTest::package();
    let cargo = std::fs::read_to_string(t.path("Cargo.toml")).unwrap();
    t.write(
        "Cargo.toml",
        &format!(
            "{cargo}\n[package.metadata.migrate]\nbackend = \"{}\"\n",
            backend.as_str()
        ),
    );
    for i in 1..=4 {
        t.migration(
            &format!("2024-01-0{i}-000000_m{i}"),
            &format!("CREATE TABLE t{i} (id INTEGER PRIMARY KEY);\n"),
            None,
        );
    }
    t
}

/// Add a table named `cm_tampered` to every saved state of the workspace at `t` (on
/// PostgreSQL: every state database on the server whose name carries the set's tag).
fn tamper_with_states(t: &CliTest, backend: Backend, server: Option<&str>) -> usize {
    let mut n = 0;
    let root = t.path("");
    let root = root.canonicalize().unwrap_or(root);
    let store = cargo_migrate::db::states::StateStore::new(&t.path("target"), &root, "app");
    match backend {
        Backend::Sqlite => {
            let Ok(entries) = std::fs::read_dir(&store.dir) else {
                return 0;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                let mut conn = Connection::establish(
                    &DatabaseUrl::new(path.display().to_string()),
                    Backend::Sqlite,
                    ConnectOptions::default(),
                )
                .unwrap();
                conn.batch_execute("CREATE TABLE cm_tampered (id INTEGER PRIMARY KEY)")
                    .unwrap();
                n += 1;
            }
        }
        _ => {
            let server = server.unwrap();
            let mut admin = Connection::establish(
                &DatabaseUrl::new(format!("{server}/postgres")),
                backend,
                ConnectOptions::default(),
            )
            .unwrap();
            for name in list_states(&mut admin, &store.set_tag) {
                let mut conn = Connection::establish(
                    &DatabaseUrl::new(format!("{server}/{name}")),
                    backend,
                    ConnectOptions::default(),
                )
                .unwrap();
                conn.batch_execute("CREATE TABLE cm_tampered (id INTEGER PRIMARY KEY)")
                    .unwrap();
                n += 1;
            }
        }
    }
    n
}

fn list_states(admin: &mut Connection, tag: &str) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let Connection::Postgres(c) = admin else {
        unreachable!()
    };
    use diesel::RunQueryDsl;
    let rows: Vec<Row> = diesel::sql_query(format!(
        "SELECT datname::text AS name FROM pg_database WHERE datname LIKE 'cargo\\_migrate\\_state\\_%\\_{tag}\\_%'"
    ))
    .load(c)
    .unwrap();
    rows.into_iter().map(|r| r.name).collect()
}

/// The saved states are really used when only the newest migration changed, and never when an
/// older one did; `cache clean` removes them and `--no-cache` ignores them.
fn states_are_used_only_for_an_unchanged_prefix(backend: Backend, server: Option<String>) {
    let t = four_migrations(backend);
    let mut extra = Vec::new();
    if let Some(server) = &server {
        extra = vec!["--scratch-url".to_string(), server.clone()];
    }
    let schema = |args: &[&str]| {
        let r = run(&t, &[&["schema"], args].concat(), &extra);
        r.assert_success();
        r.stdout
    };
    schema(&[]);
    assert!(tamper_with_states(&t, backend, server.as_deref()) >= 2);
    // Only the newest migration changed: the replay starts from the (tampered) saved state.
    t.migration(
        "2024-01-04-000000_m4",
        "CREATE TABLE t4 (id INTEGER PRIMARY KEY, v INTEGER);\n",
        None,
    );
    let resumed = schema(&[]);
    assert!(resumed.contains("cm_tampered"), "{resumed}");
    assert!(!schema(&["--no-cache"]).contains("cm_tampered"));
    // An older migration changed: no saved prefix matches, so the replay is a full one.
    t.migration(
        "2024-01-02-000000_m2",
        "CREATE TABLE t2 (id INTEGER PRIMARY KEY, w INTEGER);\n",
        None,
    );
    let full = schema(&[]);
    assert!(!full.contains("cm_tampered"), "{full}");
    assert!(full.contains("w -> Nullable<"), "{full}");
    // `cache clean` removes every state (files and databases).
    let cleaned = run(&t, &["cache", "clean", "--format", "json"], &extra);
    cleaned.assert_success();
    assert_eq!(tamper_with_states(&t, backend, server.as_deref()), 0);
}

#[test]
fn sqlite_states_are_used_only_for_an_unchanged_prefix() {
    states_are_used_only_for_an_unchanged_prefix(Backend::Sqlite, None);
}

#[test]
fn postgres_states_are_used_only_for_an_unchanged_prefix() {
    let Some(server) = Server::Postgres.url() else {
        return;
    };
    states_are_used_only_for_an_unchanged_prefix(Backend::Postgres, Some(server));
}

/// An init-sql that may not run twice (it creates something without `IF NOT EXISTS`) already
/// ran on a saved state: such a replay starts from an empty database instead, and is right.
fn init_sql_that_runs_once(backend: Backend, server: Option<String>) {
    let t = four_migrations(backend);
    let cargo = std::fs::read_to_string(t.path("Cargo.toml")).unwrap();
    t.write(
        "Cargo.toml",
        &format!("{cargo}init-sql = \"CREATE TABLE cm_init_once (id INTEGER PRIMARY KEY)\"\n"),
    );
    let extra: Vec<String> = server
        .iter()
        .flat_map(|s| ["--scratch-url".to_string(), s.clone()])
        .collect();
    run(&t, &["schema"], &extra).assert_success();
    t.migration(
        "2024-01-04-000000_m4",
        "CREATE TABLE t4 (id INTEGER PRIMARY KEY, v INTEGER);\n",
        None,
    );
    let incremental = run(&t, &["schema"], &extra);
    incremental.assert_success();
    let full = run(&t, &["schema", "--no-cache"], &extra);
    assert_eq!(incremental.stdout, full.stdout);
    assert!(full.stdout.contains("v -> Nullable<"), "{}", full.stdout);
    run(&t, &["cache", "clean"], &extra).assert_success();
}

#[test]
fn sqlite_init_sql_that_runs_once_falls_back_to_a_full_replay() {
    init_sql_that_runs_once(Backend::Sqlite, None);
}

#[test]
fn postgres_init_sql_that_runs_once_falls_back_to_a_full_replay() {
    let Some(server) = Server::Postgres.url() else {
        return;
    };
    init_sql_that_runs_once(Backend::Postgres, Some(server));
}

#[test]
fn concurrent_replays_share_saved_states_safely() {
    let Some(server) = Server::Postgres.url() else {
        return;
    };
    let t = four_migrations(Backend::Postgres);
    let extra = vec!["--scratch-url".to_string(), server];
    run(&t, &["schema"], &extra).assert_success();
    t.migration(
        "2024-01-04-000000_m4",
        "CREATE TABLE t4 (id INTEGER PRIMARY KEY, v INTEGER);\n",
        None,
    );
    let full = run(&t, &["schema", "--no-cache"], &extra);
    full.assert_success();
    // Four at once, each with its own (empty) cache folder, so each misses the rendered-schema
    // cache and starts from the same saved state on the server.
    let runs: Vec<_> = (0..4)
        .map(|k| {
            let dir = t.path(&format!("cache-{k}"));
            let mut cmd = t.command(&["schema"]);
            cmd.args(&extra).env("CARGO_TARGET_DIR", &dir);
            cmd.stdout(std::process::Stdio::piped()).spawn().unwrap()
        })
        .collect();
    for child in runs {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stdout), full.stdout);
    }
    run(&t, &["cache", "clean"], &extra).assert_success();
}

/// The tables named `cm_probe%` and the recorded versions of every saved state of the set.
fn probes_and_versions_of_states(server: &str, tag: &str) -> Vec<(String, i64, i64)> {
    let mut admin = Connection::establish(
        &DatabaseUrl::new(format!("{server}/postgres")),
        Backend::Postgres,
        ConnectOptions::default(),
    )
    .unwrap();
    let mut out = Vec::new();
    for name in list_states(&mut admin, tag) {
        let Ok(mut conn) = Connection::establish(
            &DatabaseUrl::new(format!("{server}/{name}")),
            Backend::Postgres,
            ConnectOptions::default(),
        ) else {
            continue;
        };
        let probes = conn
            .count("SELECT count(*)::bigint AS n FROM pg_class WHERE relname LIKE 'cm\\_probe%'")
            .unwrap();
        let versions = conn
            .count("SELECT count(*)::bigint AS n FROM __diesel_schema_migrations")
            .unwrap();
        out.push((name, probes, versions));
    }
    out
}

/// Editing only the newest migration replays it on the saved state itself, in a transaction
/// that is rolled back: the result is the full replay's every time, and the state keeps
/// exactly the migrations it held (no table of an edit stays in it).
#[test]
fn postgres_edits_of_the_newest_migration_leave_the_saved_state_as_it_was() {
    let Some(server) = Server::Postgres.url() else {
        return;
    };
    let t = four_migrations(Backend::Postgres);
    let extra = vec!["--scratch-url".to_string(), server.clone()];
    run(&t, &["schema"], &extra).assert_success();
    let root = t.path("");
    let root = root.canonicalize().unwrap_or(root);
    let tag = cargo_migrate::db::states::StateStore::new(&t.path("target"), &root, "app").set_tag;
    for k in 1..=3 {
        t.migration(
            "2024-01-04-000000_m4",
            &format!("CREATE TABLE t4 (id INTEGER PRIMARY KEY);\nCREATE TABLE cm_probe_{k} (id INTEGER PRIMARY KEY);\n"),
            None,
        );
        let resumed = run(&t, &["schema"], &extra);
        resumed.assert_success();
        let full = run(&t, &["schema", "--no-cache"], &extra);
        full.assert_success();
        assert_eq!(resumed.stdout, full.stdout);
        assert!(
            resumed.stdout.contains(&format!("cm_probe_{k} (id)")),
            "{}",
            resumed.stdout
        );
    }
    let states = probes_and_versions_of_states(&server, &tag);
    assert!(!states.is_empty());
    for (name, probes, versions) in &states {
        assert_eq!(*probes, 0, "{name} kept a table of an edit");
        let len: i64 = name.split('_').nth(5).unwrap().parse().unwrap();
        assert_eq!(*versions, len, "{name} records {versions} versions");
    }
    run(&t, &["cache", "clean"], &extra).assert_success();
}

/// A newest migration whose only fault shows at its commit (a deferred foreign key it breaks)
/// fails the replay that resumes from a saved state exactly as it fails `apply` and a full
/// replay: never a schema, never "passed".
#[test]
fn postgres_a_newest_migration_that_fails_at_its_commit_fails_the_resumed_replay() {
    let Some(server) = Server::Postgres.url() else {
        return;
    };
    let t = four_migrations(Backend::Postgres);
    let extra = vec!["--scratch-url".to_string(), server];
    run(&t, &["schema"], &extra).assert_success();
    t.migration(
        "2024-01-04-000000_m4",
        "CREATE TABLE t4 (id INTEGER PRIMARY KEY, t1_id INTEGER REFERENCES t1 DEFERRABLE INITIALLY DEFERRED);\n\
         INSERT INTO t4 VALUES (1, 42);\n",
        None,
    );
    let resumed = run(&t, &["schema"], &extra);
    let full = run(&t, &["schema", "--no-cache"], &extra);
    assert_eq!(full.code, 1, "{}", full.stderr);
    assert_eq!(resumed.code, full.code, "{}", resumed.stdout);
    assert!(resumed.stdout.is_empty(), "{}", resumed.stdout);
    assert!(
        resumed.stderr.contains("2024-01-04-000000_m4"),
        "{}",
        resumed.stderr
    );
    run(&t, &["cache", "clean"], &extra).assert_success();
}
