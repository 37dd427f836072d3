//! What the tool cannot see must stop it, never look like "nothing there": a versions table
//! the role may not read, a `migrations` path that is not a folder, configuration that names
//! nothing, and durations too long to add.

use cargo_migrate::database_url::DatabaseUrl;
use cargo_migrate::db::{ConnectOptions, Connection};

use crate::common::{CliTest, Server, TestDb};

// ---------------------------------------------------------------------------------------------
// A versions table this role cannot use (issue 10, item 10)

const PASSWORD: &str = "Pw0rdNotShown";

/// A login role (PostgreSQL) or account (MariaDB/MySQL) for one test, dropped afterwards with
/// everything granted to it.
struct Role {
    db: TestDb,
    name: String,
    /// The test database's URL as this role, with a password.
    url: String,
}

impl Role {
    /// A role with no privilege on anything in `db` but `grants`.
    fn create(db: TestDb, grants: &[&str]) -> Role {
        let name = format!("{}_role", db.name);
        let mut admin = db.connect();
        let mut url = url::Url::parse(&db.url).unwrap();
        url.set_username(&name).unwrap();
        url.set_password(Some(PASSWORD)).unwrap();
        match db.server {
            Server::Postgres => {
                admin
                    .batch_execute(&format!("CREATE ROLE {name} LOGIN PASSWORD '{PASSWORD}'"))
                    .unwrap();
            }
            Server::Mysql => {
                admin
                    .batch_execute(&format!(
                        "CREATE USER '{name}'@'%' IDENTIFIED BY '{PASSWORD}'"
                    ))
                    .unwrap();
            }
        }
        let role = Role {
            url: url.to_string(),
            name,
            db,
        };
        for grant in grants {
            admin.batch_execute(&role.grant_sql(grant)).unwrap();
        }
        role
    }

    fn grant_sql(&self, grant: &str) -> String {
        match self.db.server {
            Server::Postgres => format!("GRANT {grant} TO {}", self.name),
            Server::Mysql => {
                let grant = grant.replacen(" ON ", &format!(" ON {}.", self.db.name), 1);
                format!("GRANT {grant} TO '{}'@'%'", self.name)
            }
        }
    }

    /// The role as the tool names it in its messages.
    fn shown(&self) -> String {
        match self.db.server {
            Server::Postgres => format!("`{}`", self.name),
            Server::Mysql => format!("'{}'@'%'", self.name),
        }
    }
}

impl Drop for Role {
    fn drop(&mut self) {
        let mut admin = self.db.connect();
        let _ = match self.db.server {
            Server::Postgres => admin.batch_execute(&format!(
                "DROP OWNED BY {0}; REVOKE ALL ON DATABASE {1} FROM {0}",
                self.name, self.db.name
            )),
            Server::Mysql => {
                admin.batch_execute(&format!("DROP USER IF EXISTS '{}'@'%'", self.name))
            }
        };
        if self.db.server == Server::Postgres {
            // Roles are server-wide: dropped from the maintenance database.
            let mut url = url::Url::parse(&self.db.url).unwrap();
            url.set_path("/postgres");
            if let Ok(mut conn) = Connection::establish(
                &DatabaseUrl::new(url.as_str()),
                self.db.server.backend(),
                ConnectOptions::default(),
            ) {
                let _ = conn.batch_execute(&format!("DROP ROLE IF EXISTS {}", self.name));
            }
        }
    }
}

/// One applied migration (its table `users`) and one pending, applied as the server's admin.
fn one_applied_one_pending(db: &TestDb) -> CliTest {
    let t = CliTest::package().env("DATABASE_URL", &db.url);
    t.migration(
        "2024-01-01-000000_create_users",
        "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
        Some("DROP TABLE users;\n"),
    );
    t.run(&["apply"]).assert_success();
    t.migration(
        "2024-01-02-000000_create_posts",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY);\n",
        Some("DROP TABLE posts;\n"),
    );
    t
}

fn applied_and_tables(db: &TestDb) -> (Vec<String>, bool) {
    let mut conn = db.connect();
    let url = DatabaseUrl::new(&db.url);
    let applied = conn.applied_versions(&url).unwrap();
    let posts = conn.batch_execute("SELECT * FROM posts").is_ok();
    (applied, posts)
}

/// Every command stops with the permission error (exit 2), names the database without its
/// password and the grant, and changes nothing.
#[track_caller]
fn stops_with_grant(role: &Role, t: &CliTest, command: &[&str], lacking: &str) {
    let run = t.run(command);
    run.assert_code(2);
    let all = run.all();
    let grant = match role.db.server {
        Server::Postgres => format!(
            "GRANT SELECT, INSERT, DELETE ON __diesel_schema_migrations TO {}",
            role.name
        ),
        Server::Mysql => format!(
            "GRANT SELECT, INSERT, DELETE ON `{}`.__diesel_schema_migrations TO '{}'@'%'",
            role.db.name, role.name
        ),
    };
    assert!(
        all.contains(&format!("the role {} lacks {lacking}", role.shown())),
        "{command:?}: {all}"
    );
    assert!(
        all.contains("on diesel's versions table `__diesel_schema_migrations` in "),
        "{command:?}: {all}"
    );
    assert!(all.contains(&grant), "{command:?}: {all}");
    assert!(all.contains(&role.db.name), "{command:?}: {all}");
    assert!(all.contains("nothing was changed"), "{command:?}: {all}");
    assert!(
        !all.contains(PASSWORD),
        "{command:?} shows the password: {all}"
    );
    assert!(!all.contains("fix up.sql"), "{command:?}: {all}");
    assert_eq!(
        applied_and_tables(&role.db),
        (vec!["20240101000000".to_string()], false),
        "{command:?} changed the database"
    );
}

fn unreadable_versions_table(server: Server) {
    let Some(db) = TestDb::create(server, "deny") else {
        return;
    };
    let t = one_applied_one_pending(&db);
    // Enough to connect and to see another table, nothing on the versions table.
    let role = Role::create(db, &["SELECT ON users"]);
    let t = t.env("DATABASE_URL", &role.url);
    for command in [
        &["status"][..],
        &["status", "--exit-code"],
        &["apply"],
        &["apply", "--dry-run"],
        &["revert"],
        &["revert", "--dry-run"],
        &["redo"],
        &["baseline", "--to", "20240102000000", "--force"],
    ] {
        stops_with_grant(&role, &t, command, "SELECT");
    }
    // `check` replays on a scratch server the role may use, then reads the database.
    let scratch = server.url().unwrap();
    stops_with_grant(
        &role,
        &t,
        &["check", "--no-cache", "--scratch-url", &scratch],
        "SELECT",
    );
}

fn read_only_versions_table(server: Server) {
    let Some(db) = TestDb::create(server, "readonly") else {
        return;
    };
    let t = one_applied_one_pending(&db);
    let role = Role::create(
        db,
        &["SELECT ON users", "SELECT ON __diesel_schema_migrations"],
    );
    let t = t.env("DATABASE_URL", &role.url);
    // Reading is allowed: status tells the truth.
    let run = t.run(&["status"]);
    run.assert_success();
    assert!(run.stdout.contains("1 applied, 1 pending"), "{}", run.all());
    // Changing is not: nothing runs that could not be recorded.
    stops_with_grant(&role, &t, &["apply"], "INSERT");
    stops_with_grant(&role, &t, &["revert"], "DELETE");
    stops_with_grant(&role, &t, &["redo"], "DELETE, INSERT");
    stops_with_grant(
        &role,
        &t,
        &["baseline", "--to", "20240102000000", "--force"],
        "INSERT",
    );
}

fn versions_table_not_creatable(server: Server) {
    let Some(db) = TestDb::create(server, "nocreate") else {
        return;
    };
    let t = CliTest::package();
    t.migration(
        "2024-01-01-000000_create_users",
        "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
        None,
    );
    db.connect()
        .batch_execute("CREATE TABLE other (id INTEGER PRIMARY KEY)")
        .unwrap();
    let role = Role::create(db, &["SELECT ON other"]);
    let t = t.env("DATABASE_URL", &role.url);
    let run = t.run(&["apply"]);
    run.assert_code(2);
    let all = run.all();
    let expected = match server {
        Server::Postgres => {
            "cannot create diesel's versions table `__diesel_schema_migrations` in "
        }
        // MySQL does not tell a role without privileges on a table whether it exists: the
        // privileges are asked for first, then (once granted) the CREATE.
        Server::Mysql => "lacks SELECT, INSERT on diesel's versions table",
    };
    assert!(
        all.contains(expected) && all.contains("nothing was changed"),
        "{all}"
    );
    assert!(!all.contains(PASSWORD), "{all}");
    if server == Server::Postgres {
        assert!(
            all.contains("help: create it once as a role that may"),
            "{all}"
        );
    }
    let mut admin = role.db.connect();
    assert!(!admin.has_migrations_table().unwrap());
    assert!(admin.batch_execute("SELECT * FROM users").is_err());
}

#[test]
fn postgres_versions_table_not_creatable_is_reported() {
    versions_table_not_creatable(Server::Postgres);
}

#[test]
fn mysql_versions_table_not_creatable_is_reported() {
    versions_table_not_creatable(Server::Mysql);
}

/// A schema of the search path that the role may not use drops out of its effective search
/// path; a versions table there is still not "nothing applied".
#[test]
fn postgres_versions_table_in_a_schema_the_role_cannot_use() {
    let Some(db) = TestDb::create(Server::Postgres, "schema") else {
        return;
    };
    let t = CliTest::package();
    t.migration(
        "2024-01-01-000000_create_users",
        "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
        None,
    );
    db.connect()
        .batch_execute(&format!(
            "CREATE SCHEMA app; \
             CREATE TABLE app.__diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP); \
             INSERT INTO app.__diesel_schema_migrations (version) VALUES ('20240101000000'); \
             CREATE TABLE app.users (id INTEGER PRIMARY KEY); \
             ALTER DATABASE {} SET search_path = app, public",
            db.name
        ))
        .unwrap();
    let role = Role::create(db, &[]);
    let t = t.env("DATABASE_URL", &role.url);
    for command in [&["status"][..], &["apply"], &["revert"]] {
        let run = t.run(command);
        run.assert_code(2);
        let all = run.all();
        assert!(
            all.contains(&format!(
                "GRANT USAGE ON SCHEMA app TO {0}; GRANT SELECT, INSERT, DELETE ON app.__diesel_schema_migrations TO {0}",
                role.name
            )),
            "{command:?}: {all}"
        );
        assert!(all.contains("lacks SELECT"), "{command:?}: {all}");
    }
    let mut admin = role.db.connect();
    let url = DatabaseUrl::new(&role.db.url);
    assert_eq!(admin.applied_versions(&url).unwrap(), ["20240101000000"]);
}

#[test]
fn postgres_unreadable_versions_table_is_a_permission_error() {
    unreadable_versions_table(Server::Postgres);
}

#[test]
fn mysql_unreadable_versions_table_is_a_permission_error() {
    unreadable_versions_table(Server::Mysql);
}

#[test]
fn postgres_read_only_versions_table_stops_apply_and_revert() {
    read_only_versions_table(Server::Postgres);
}

#[test]
fn mysql_read_only_versions_table_stops_apply_and_revert() {
    read_only_versions_table(Server::Mysql);
}

// ---------------------------------------------------------------------------------------------
// A `migrations` path that is not a folder, configuration that names nothing (item 14)

/// A one-package workspace whose `migrations` is replaced by `make(path)`, on a SQLite URL.
fn package_with_migrations_path(make: impl Fn(&std::path::Path)) -> CliTest {
    let t = CliTest::package().env("DATABASE_URL", "app.db");
    let path = t.path("migrations");
    std::fs::remove_dir_all(&path).unwrap();
    make(&path);
    t
}

#[track_caller]
fn folder_problem(t: &CliTest, expected: &str) {
    // `check` reports folder problems as findings (exit 1); the others cannot run (exit 2).
    for (command, code) in [
        (&["apply"][..], 2),
        (&["status"], 2),
        (&["list"], 2),
        (&["check", "--offline"], 1),
    ] {
        let run = t.run(command);
        run.assert_code(code);
        let all = run.all();
        assert!(all.contains(expected), "{command:?}: {all}");
        assert!(!all.contains("nothing to apply"), "{command:?}: {all}");
    }
    assert!(!t.path("app.db").exists(), "apply created the database");
}

#[test]
fn a_migrations_file_is_a_folder_problem() {
    let t =
        package_with_migrations_path(|p| std::fs::write(p, "CREATE TABLE t (id INT);\n").unwrap());
    folder_problem(
        &t,
        "the migrations path `migrations` is a file, not a folder",
    );
}

#[test]
fn a_configured_migrations_file_is_a_folder_problem() {
    let t = CliTest::package().env("DATABASE_URL", "app.db");
    t.write("db/migrations.sql", "CREATE TABLE t (id INT);\n");
    let manifest = std::fs::read_to_string(t.path("Cargo.toml")).unwrap();
    t.write(
        "Cargo.toml",
        &format!("{manifest}\n[package.metadata.migrate]\nmigrations = \"db/migrations.sql\"\n"),
    );
    folder_problem(&t, "is a file, not a folder");
    assert!(t.run(&["apply"]).all().contains("migrations.sql`"));
}

#[cfg(unix)]
#[test]
fn a_dangling_migrations_link_is_a_folder_problem() {
    let t = package_with_migrations_path(|p| std::os::unix::fs::symlink("gone", p).unwrap());
    folder_problem(
        &t,
        "the migrations path `migrations` is a link to `gone` that cannot be followed",
    );
}

#[test]
fn an_empty_database_url_env_is_a_configuration_error() {
    for (table, value) in [
        ("package", "\"\""),
        ("package", "\"  \""),
        ("package", "\"A=B\""),
        ("workspace", "\"\""),
    ] {
        let t = CliTest::package().env("DATABASE_URL", "app.db");
        t.migration("2024-01-01-000000_init", "CREATE TABLE t (id INT);\n", None);
        let manifest = std::fs::read_to_string(t.path("Cargo.toml")).unwrap();
        t.write(
            "Cargo.toml",
            &format!("{manifest}\n[{table}.metadata.migrate]\ndatabase-url-env = {value}\n"),
        );
        let run = t.run(&["apply"]);
        run.assert_code(2);
        let all = run.all();
        assert!(
            all.contains("Cargo.toml` is not valid")
                && all.contains(&format!("[{table}.metadata.migrate] database-url-env")),
            "{table} {value}: {all}"
        );
        assert!(all.contains("help: name the environment variable"), "{all}");
        assert!(!t.path("app.db").exists());
    }
}

// ---------------------------------------------------------------------------------------------
// Durations from the command line saturate (item 13)

const FOREVER: &str = "18446744073709551615";

/// Let `cmd` run for a moment: it must still be running (waiting, not crashed); then end it
/// and return what it printed.
fn still_waiting_after_a_moment(mut cmd: std::process::Command) -> String {
    use std::process::Stdio;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let early = child.try_wait().unwrap();
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(early.is_none(), "ended at once ({early:?}): {all}");
    assert!(!all.contains("panicked"), "{all}");
    all
}

#[test]
fn huge_lock_timeout_and_wait_do_not_panic() {
    let t = CliTest::package().env("DATABASE_URL", "app.db");
    t.migration(
        "2024-01-01-000000_init",
        "CREATE TABLE t (id INT);\n",
        Some("DROP TABLE t;\n"),
    );
    // Nothing to wait for: they simply run.
    t.run(&["apply", "--lock-timeout", FOREVER, "--wait", FOREVER])
        .assert_success();
    t.run(&["revert", "--lock-timeout", FOREVER])
        .assert_success();
    t.run(&["apply", "--dry-run", "--wait", FOREVER])
        .assert_success();

    // The lock is busy: a timeout too long to represent means "wait for ever".
    let url = DatabaseUrl::new(t.path("app.db").to_str().unwrap());
    let mut holder = Connection::establish(
        &url,
        cargo_migrate::backend::Backend::Sqlite,
        ConnectOptions::default(),
    )
    .unwrap();
    let lock = cargo_migrate::db::lock::MigrationLock::acquire(
        &mut holder,
        &url,
        std::time::Duration::ZERO,
        || {},
    )
    .unwrap();
    for command in [
        &["apply"][..],
        &["revert", "--all"],
        &["baseline", "--to", "20240101000000"],
    ] {
        let mut args = command.to_vec();
        args.extend(["--lock-timeout", FOREVER]);
        let all = still_waiting_after_a_moment(t.command(&args));
        assert!(all.contains("waiting"), "{args:?}: {all}");
    }
    lock.release(&mut holder);
}

#[test]
fn huge_wait_for_an_unreachable_server_does_not_panic() {
    // Nothing listens on port 1: refused, which --wait waits out.
    let t = CliTest::package().env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/app");
    t.migration("2024-01-01-000000_init", "CREATE TABLE t (id INT);\n", None);
    let all = still_waiting_after_a_moment(t.command(&["apply", "--wait", FOREVER]));
    assert!(all.contains("waiting for the database"), "{all}");
}

// ---------------------------------------------------------------------------------------------
// A migration the role lacks a privilege for (issue 10, item 15)

/// The role may record migrations but not create tables: the failure names the privilege,
/// and never says "fix up.sql".
fn migration_needs_a_privilege(server: Server, privilege: &str) {
    let Some(db) = TestDb::create(server, "nopriv") else {
        return;
    };
    let t = one_applied_one_pending(&db);
    let role = Role::create(
        db,
        &[
            "SELECT ON users",
            "SELECT, INSERT, DELETE ON __diesel_schema_migrations",
        ],
    );
    if server == Server::Postgres {
        // PostgreSQL 15 gives PUBLIC no CREATE on `public`; older servers do.
        let mut admin = role.db.connect();
        admin
            .batch_execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
            .unwrap();
    }
    let t = t.env("DATABASE_URL", &role.url);
    let run = t.run(&["apply"]);
    run.assert_code(1);
    let all = run.all();
    assert!(all.contains(&format!("have {privilege}")), "{all}");
    assert!(
        all.contains("granted to the role that runs migrations"),
        "{all}"
    );
    assert!(!all.contains("fix up.sql"), "{all}");
    assert!(!all.contains(PASSWORD), "{all}");
    let json = t.run(&["apply", "--format", "json"]).json();
    assert_eq!(json["sets"][0]["failure"]["cause"], "permission", "{json}");
    let (applied, posts) = applied_and_tables(&role.db);
    assert_eq!(applied, ["20240101000000"]);
    assert!(!posts);
}

#[test]
fn postgres_missing_privilege_is_named() {
    migration_needs_a_privilege(
        Server::Postgres,
        "the CREATE (or USAGE) privilege on schema public",
    );
}

#[test]
fn mysql_missing_privilege_is_named() {
    migration_needs_a_privilege(Server::Mysql, "the CREATE privilege on table `");
}
