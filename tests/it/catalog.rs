//! Live drift beyond `table!`: the whole catalog of a database compared with the catalog its
//! applied migrations produce (indexes, enum labels, checks, defaults, triggers, view and
//! function bodies, foreign keys, collations), on each backend.

use crate::common::{CliTest, Server, TestDb};

fn manifest(t: &CliTest, backend: &str) {
    t.write("Cargo.toml", &format!("[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[package.metadata.migrate]\nbackend = \"{backend}\"\n\n[workspace]\n"));
}

/// The `catalog-drift` findings of a failed `check`, as (kind, name) from its JSON.
fn drifted(t: &CliTest) -> Vec<(String, String)> {
    let run = t.run(&["check", "--format", "json"]);
    run.assert_code(1);
    run.json()["sets"][0]["catalog_drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap().to_string(),
                d["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(k, n)| (k.to_string(), n.to_string()))
        .collect()
}

const PG_TABLES: &str = "\
CREATE TYPE user_role AS ENUM ('user', 'admin');
CREATE TABLE users (id SERIAL PRIMARY KEY, email TEXT NOT NULL, role user_role NOT NULL DEFAULT 'user', name TEXT DEFAULT 'x');
CREATE TABLE posts (id SERIAL PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE, title TEXT NOT NULL);
CREATE INDEX posts_user_id_idx ON posts (user_id);
CREATE DOMAIN positive AS INTEGER CHECK (VALUE > 0);
CREATE SEQUENCE counter START 5;
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON users USING (id = 1);
COMMENT ON TABLE users IS 'people';
";

const PG_CODE: &str = "\
CREATE VIEW user_emails AS SELECT id, email FROM users;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END; $$;
CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch();
";

/// Every kind of hand change on PostgreSQL is one finding naming the kind and the object;
/// an untouched database (also after revert + apply) has none; the fix-up SQL of each finding
/// brings the database back in line.
#[test]
fn postgres_hand_changes_are_catalog_drift() {
    let Some(db) = TestDb::create(Server::Postgres, "catalog") else {
        return;
    };
    let t = CliTest::package().env("DATABASE_URL", &db.url);
    manifest(&t, "postgres");
    t.migration(
        "2024-01-01-000000_tables",
        PG_TABLES,
        Some("DROP TABLE posts; DROP TABLE users; DROP TYPE user_role; DROP DOMAIN positive; DROP SEQUENCE counter;"),
    );
    t.migration(
        "2024-01-02-000000_code",
        PG_CODE,
        Some("DROP TRIGGER users_touch ON users; DROP FUNCTION touch(); DROP VIEW user_emails;"),
    );
    t.run(&["apply"]).assert_success();
    t.run(&["check"]).assert_success();
    // The history's catalog is cached with the replay: a warm check needs no scratch server.
    let unreachable = "postgres://postgres@127.0.0.1:1";
    t.run(&["check", "--scratch-url", unreachable])
        .assert_success();
    t.run(&["check", "--scratch-url", unreachable, "--no-cache"])
        .assert_code(2);
    t.run(&["revert"]).assert_success();
    t.run(&["apply"]).assert_success();
    let run = t.run(&["check", "--no-cache"]);
    run.assert_success();
    assert!(!run.stdout.contains("catalog-drift"), "{}", run.stdout);

    db.connect()
        .batch_execute(
            "CREATE INDEX users_hot_idx ON users (email);
             ALTER TYPE user_role ADD VALUE 'superuser';
             ALTER TABLE users ADD CONSTRAINT email_len CHECK (length(email) < 100);
             ALTER TABLE users ALTER COLUMN name SET DEFAULT 'y';
             CREATE TRIGGER posts_audit AFTER INSERT ON posts FOR EACH ROW EXECUTE FUNCTION touch();
             CREATE OR REPLACE VIEW user_emails AS SELECT id, email FROM users WHERE id > 0;
             CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.id := NEW.id; RETURN NEW; END; $$;
             ALTER TABLE posts DROP CONSTRAINT posts_user_id_fkey;
             ALTER TABLE posts ALTER COLUMN title TYPE text COLLATE \"C\";",
        )
        .unwrap();
    let run = t.run(&["check"]);
    run.assert_code(1);
    for needle in [
        "error[catalog-drift]: index `public.users_hot_idx` is in the database",
        "enum `public.user_role` differs in the database",
        "`[\"user\", \"admin\", \"superuser\"]` in the database",
        "check constraint `public.users.email_len` is in the database",
        "column `public.users.name` differs in the database",
        "default `'y'::text` in the database, `'x'::text` in the migrations",
        "trigger `public.posts.posts_audit` is in the database",
        "view `public.user_emails` differs",
        "function `public.touch()` differs",
        "foreign key `public.posts.posts_user_id_fkey` is missing from the database",
        "column `public.posts.title` differs in the database",
        "collation `pg_catalog.\"C\"` in the database",
        "DROP INDEX public.users_hot_idx;",
        "ALTER TABLE public.users ALTER COLUMN name SET DEFAULT 'x'::text;",
        "+  WHERE users.id > 0;",
    ] {
        assert!(run.stdout.contains(needle), "{needle}\n{}", run.stdout);
    }
    assert_eq!(
        drifted(&t),
        pairs(&[
            ("enum", "public.user_role"),
            ("column", "public.posts.title"),
            ("column", "public.users.name"),
            ("foreign-key", "public.posts.posts_user_id_fkey"),
            ("check", "public.users.email_len"),
            ("index", "public.users_hot_idx"),
            ("view", "public.user_emails"),
            ("function", "public.touch()"),
            ("trigger", "public.posts.posts_audit"),
        ])
    );

    // Running every fix-up brings the database back in line, except the enum label, which
    // PostgreSQL cannot remove.
    let json = t.run(&["check", "--format", "json"]).json();
    let mut conn = db.connect();
    for d in json["sets"][0]["catalog_drift"].as_array().unwrap() {
        if let Some(fix) = d["fix"].as_str() {
            conn.batch_execute(fix).unwrap();
        }
    }
    assert_eq!(drifted(&t), pairs(&[("enum", "public.user_role")]));
}

/// More PostgreSQL kinds: a sequence, a domain, a policy, RLS, a comment, an extension's
/// objects left out.
#[test]
fn postgres_types_policies_and_extensions() {
    let Some(db) = TestDb::create(Server::Postgres, "catalog_more") else {
        return;
    };
    let t = CliTest::package().env("DATABASE_URL", &db.url);
    manifest(&t, "postgres");
    t.migration("2024-01-01-000000_tables", PG_TABLES, None);
    t.run(&["apply"]).assert_success();
    let mut conn = db.connect();
    // An extension's own functions and types are not drift; the extension itself is.
    conn.batch_execute("CREATE EXTENSION IF NOT EXISTS citext")
        .unwrap();
    assert_eq!(drifted(&t), pairs(&[("extension", "citext")]));
    conn.batch_execute(
        "DROP EXTENSION citext;
         ALTER SEQUENCE counter INCREMENT BY 2;
         ALTER DOMAIN positive SET NOT NULL;
         DROP POLICY own ON users;
         ALTER TABLE users DISABLE ROW LEVEL SECURITY;
         COMMENT ON TABLE users IS 'humans';
         CREATE TABLE audit (id INTEGER PRIMARY KEY);",
    )
    .unwrap();
    assert_eq!(
        drifted(&t),
        pairs(&[
            ("domain", "public.positive"),
            ("sequence", "public.counter"),
            ("table", "public.audit"),
            ("table", "public.users"),
            ("column", "public.audit.id"),
            ("primary-key", "public.audit.audit_pkey"),
            ("policy", "public.users.own"),
        ])
    );
}

/// MariaDB/MySQL: an index, a default, a check, a trigger, a view body, a dropped foreign key,
/// a collation and a function body made by hand are each a finding; untouched (also after
/// revert + apply) is none, although the scratch database has another name than the live one;
/// the fix-ups bring the database back in line.
#[test]
fn mysql_hand_changes_are_catalog_drift() {
    let Some(db) = TestDb::create(Server::Mysql, "catalog") else {
        return;
    };
    let t = CliTest::package().env("DATABASE_URL", &db.url);
    manifest(&t, "mysql");
    t.migration(
        "2024-01-01-000000_tables",
        "CREATE TABLE users (id INTEGER PRIMARY KEY AUTO_INCREMENT, email VARCHAR(255) NOT NULL, name VARCHAR(40) DEFAULT 'x', created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP);
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, title VARCHAR(200) NOT NULL, CONSTRAINT posts_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE);
CREATE INDEX posts_title ON posts (title(20));
",
        Some("DROP TABLE posts; DROP TABLE users;"),
    );
    t.migration(
        "2024-01-02-000000_code",
        "CREATE VIEW user_emails AS SELECT id, email FROM users;
CREATE TRIGGER users_bi BEFORE INSERT ON users FOR EACH ROW SET NEW.name = LOWER(NEW.name);
CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN x * 2;
",
        Some("DROP FUNCTION twice; DROP TRIGGER users_bi; DROP VIEW user_emails;"),
    );
    t.run(&["apply"]).assert_success();
    t.run(&["check"]).assert_success();
    t.run(&["revert"]).assert_success();
    t.run(&["apply"]).assert_success();
    t.run(&["check", "--no-cache"]).assert_success();

    db.connect()
        .batch_execute(
            "CREATE INDEX users_email ON users (email);
             ALTER TABLE users ALTER COLUMN name SET DEFAULT 'y';
             ALTER TABLE users ADD CONSTRAINT email_len CHECK (CHAR_LENGTH(email) < 100);
             CREATE TRIGGER posts_bi BEFORE INSERT ON posts FOR EACH ROW SET NEW.title = TRIM(NEW.title);
             CREATE OR REPLACE VIEW user_emails AS SELECT id, email FROM users WHERE id > 0;
             ALTER TABLE posts DROP FOREIGN KEY posts_user;
             ALTER TABLE posts MODIFY title VARCHAR(200) COLLATE utf8mb4_bin NOT NULL;
             DROP FUNCTION twice;
             CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN x * 3;",
        )
        .unwrap();
    let run = t.run(&["check"]);
    run.assert_code(1);
    for needle in [
        "error[catalog-drift]: index `users.users_email` is in the database",
        "column `users.name` differs in the database",
        "default `'y'` in the database, `'x'` in the migrations",
        "check constraint `users.email_len` is in the database",
        "trigger `posts.posts_bi` is in the database",
        "view `user_emails` differs",
        "foreign key `posts.posts_user` is missing from the database",
        "column `posts.title` differs",
        "collation `utf8mb4_bin` in the database",
        "function `twice` differs",
        "DROP INDEX `users_email` ON `users`;",
    ] {
        assert!(run.stdout.contains(needle), "{needle}\n{}", run.stdout);
    }
    // No database name in any value: the scratch database's differs from this one's.
    assert!(
        !run.stdout.contains(&format!("`{}`.", db.name)),
        "{}",
        run.stdout
    );
    assert_eq!(
        drifted(&t),
        pairs(&[
            ("column", "posts.title"),
            ("column", "users.name"),
            ("foreign-key", "posts.posts_user"),
            ("check", "users.email_len"),
            ("index", "users.users_email"),
            ("view", "user_emails"),
            ("function", "twice"),
            ("trigger", "posts.posts_bi"),
        ])
    );
    let json = t.run(&["check", "--format", "json"]).json();
    let mut conn = db.connect();
    for d in json["sets"][0]["catalog_drift"].as_array().unwrap() {
        for stmt in d["fix"].as_str().unwrap().lines() {
            conn.batch_execute(stmt).unwrap();
        }
    }
    t.run(&["check"]).assert_success();
}

/// SQLite: an index, a trigger and a view body made by hand.
#[test]
fn sqlite_hand_changes_are_catalog_drift() {
    let t = CliTest::package().env("DATABASE_URL", "app.db");
    t.migration(
        "2024-01-01-000000_tables",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\nCREATE VIEW user_emails AS SELECT id, email FROM users;\n",
        Some("DROP VIEW user_emails;\nDROP TABLE users;\n"),
    );
    t.run(&["apply"]).assert_success();
    t.run(&["check"]).assert_success();
    t.run(&["revert"]).assert_success();
    t.run(&["apply"]).assert_success();
    t.run(&["check"]).assert_success();
    let url = cargo_migrate::database_url::DatabaseUrl::new(t.path("app.db").display().to_string());
    let mut conn = cargo_migrate::db::Connection::establish(
        &url,
        cargo_migrate::backend::Backend::Sqlite,
        Default::default(),
    )
    .unwrap();
    conn.batch_execute(
        "CREATE INDEX users_email ON users (email);
         CREATE TRIGGER users_ai AFTER INSERT ON users BEGIN SELECT 1; END;
         DROP VIEW user_emails;
         CREATE VIEW user_emails AS SELECT id, email FROM users WHERE id > 0;",
    )
    .unwrap();
    let run = t.run(&["check"]);
    run.assert_code(1);
    for needle in [
        "error[catalog-drift]: index `users_email` is in the database",
        "trigger `users_ai` is in the database",
        "view `user_emails` differs in the database",
        "DROP INDEX \"users_email\";",
        "DROP VIEW \"user_emails\";\n              CREATE VIEW user_emails AS SELECT id, email FROM users;",
    ] {
        assert!(run.stdout.contains(needle), "{needle}\n{}", run.stdout);
    }
    assert_eq!(
        drifted(&t),
        pairs(&[
            ("index", "users_email"),
            ("view", "user_emails"),
            ("trigger", "users_ai"),
        ])
    );
}

/// `baseline` refuses a database whose catalog differs from the history's (here only by an
/// index, which `table!` does not show), with one finding per object, and adopts it once the
/// difference is gone.
fn baseline_refuses_catalog_drift(server: Server) {
    let Some(db) = TestDb::create(server, "catalog_baseline") else {
        return;
    };
    let t = CliTest::package().env("DATABASE_URL", &db.url);
    manifest(
        &t,
        match server {
            Server::Postgres => "postgres",
            Server::Mysql => "mysql",
        },
    );
    let tables = "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL);\nCREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id), title VARCHAR(200) NOT NULL);\n";
    t.migration("2024-01-01-000000_tables", tables, None);
    let mut conn = db.connect();
    conn.batch_execute(tables).unwrap();
    conn.batch_execute("CREATE INDEX users_email ON users (email)")
        .unwrap();
    let run = t.run(&["baseline", "--to", "20240101000000"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("error[catalog-drift]: index `")
            && run.stderr.contains("users_email` is in the database"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("(1 catalog difference above); nothing was recorded"),
        "{}",
        run.stderr
    );
    let json = t.run(&["baseline", "--to", "20240101000000", "--format", "json"]);
    json.assert_code(1);
    assert_eq!(json.json()["catalog_drift"][0]["kind"], "index");
    conn.batch_execute(match server {
        Server::Postgres => "DROP INDEX users_email",
        Server::Mysql => "DROP INDEX users_email ON users",
    })
    .unwrap();
    t.run(&["baseline", "--to", "20240101000000"])
        .assert_success();
    t.run(&["check"]).assert_success();
}

#[test]
fn postgres_baseline_refuses_catalog_drift() {
    baseline_refuses_catalog_drift(Server::Postgres);
}

#[test]
fn mysql_baseline_refuses_catalog_drift() {
    baseline_refuses_catalog_drift(Server::Mysql);
}

/// A database built by diesel's own harness (what diesel_cli runs) has the catalog the
/// history produces: no drift.
fn diesel_built_database_has_no_drift(server: Server, backend: &str, sql: &str) {
    use cargo_migrate::db::Connection;
    use diesel_migrations::{FileBasedMigrations, MigrationHarness};
    let Some(db) = TestDb::create(server, "catalog_diesel") else {
        return;
    };
    let t = CliTest::package().env("DATABASE_URL", &db.url);
    manifest(&t, backend);
    t.migration("2024-01-01-000000_tables", sql, None);
    let source = FileBasedMigrations::from_path(t.path("migrations")).unwrap();
    match &mut db.connect() {
        Connection::Postgres(c) => {
            c.run_pending_migrations(source).unwrap();
        }
        Connection::Mysql(c) => {
            c.run_pending_migrations(source).unwrap();
        }
        Connection::Sqlite(_) => unreachable!(),
    }
    let run = t.run(&["check"]);
    run.assert_success();
    assert!(!run.stdout.contains("catalog-drift"), "{}", run.stdout);
}

#[test]
fn postgres_diesel_built_database_has_no_drift() {
    diesel_built_database_has_no_drift(
        Server::Postgres,
        "postgres",
        &format!("{PG_TABLES}{PG_CODE}"),
    );
}

#[test]
fn mysql_diesel_built_database_has_no_drift() {
    diesel_built_database_has_no_drift(
        Server::Mysql,
        "mysql",
        "CREATE TABLE users (id INTEGER PRIMARY KEY AUTO_INCREMENT, email VARCHAR(255) NOT NULL, name VARCHAR(40) DEFAULT 'x');
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, CONSTRAINT posts_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE, CHECK (id > 0));
CREATE INDEX posts_user_id ON posts (user_id);
CREATE VIEW user_emails AS SELECT id, email FROM users;
",
    );
}

/// `--drift-ignore KIND:PATTERN` and `drift-ignore = [...]` leave matching objects out, and
/// the report says how many; a malformed pattern is a usage error naming the kinds.
#[test]
fn drift_ignore_patterns_leave_objects_out_and_are_counted() {
    let t = CliTest::package().env("DATABASE_URL", "app.db");
    t.migration(
        "2024-01-01-000000_tables",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n",
        None,
    );
    t.run(&["apply"]).assert_success();
    let url = cargo_migrate::database_url::DatabaseUrl::new(t.path("app.db").display().to_string());
    cargo_migrate::db::Connection::establish(
        &url,
        cargo_migrate::backend::Backend::Sqlite,
        Default::default(),
    )
    .unwrap()
    .batch_execute(
        "CREATE INDEX tmp_users_email ON users (email); CREATE INDEX users_email ON users (email);",
    )
    .unwrap();
    assert_eq!(
        drifted(&t),
        pairs(&[("index", "tmp_users_email"), ("index", "users_email")])
    );
    let run = t.run(&["check", "--drift-ignore", "index:tmp_*"]);
    run.assert_code(1);
    assert!(run.stdout.contains("index `users_email`"), "{}", run.stdout);
    assert!(
        !run.stdout.contains("index `tmp_users_email`"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("1 catalog difference ignored (drift-ignore)"),
        "{}",
        run.stdout
    );
    let json = t.run(&["check", "--drift-ignore", "*:*", "--format", "json"]);
    json.assert_success();
    assert_eq!(json.json()["sets"][0]["drift_ignored"], 2);

    t.write("Cargo.toml", "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[package.metadata.migrate]\ndrift-ignore = [\"index:*users_email\"]\n\n[workspace]\n");
    let run = t.run(&["check"]);
    run.assert_success();
    assert!(
        run.stdout
            .contains("2 catalog differences ignored (drift-ignore)"),
        "{}",
        run.stdout
    );

    let run = t.run(&["check", "--drift-ignore", "idx:x"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("`idx` in `idx:x` is not a kind of object; the kinds are schema"),
        "{}",
        run.stderr
    );
    t.write("Cargo.toml", "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[package.metadata.migrate]\ndrift-ignore = [\"nope\"]\n\n[workspace]\n");
    let run = t.run(&["check"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("`nope` is not KIND:PATTERN"),
        "{}",
        run.stderr
    );
}

/// `diff`: the database against the history (all of it, or up to a version), as a review, as
/// JSON and as SQL that brings the database in line; exit 0 when they match.
#[test]
fn diff_compares_the_database_with_the_history() {
    let t = CliTest::package().env("DATABASE_URL", "app.db");
    t.migration(
        "2024-01-01-000000_tables",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n",
        None,
    );
    t.migration(
        "2024-01-02-000000_index",
        "CREATE INDEX users_email ON users (email);\n",
        None,
    );
    t.run(&["apply", "--to", "20240101000000"]).assert_success();
    // The pending migration's index is what the history has and the database lacks.
    let run = t.run(&["diff"]);
    run.assert_code(1);
    assert!(
        run.stdout
            .contains("- index `users_email` (only in the history)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("1 difference between the history and the database"),
        "{}",
        run.stdout
    );
    let run = t.run(&["diff", "--to", "20240101000000"]);
    run.assert_success();
    assert!(
        run.stdout
            .contains("the database matches the history up to 20240101000000"),
        "{}",
        run.stdout
    );

    let url = cargo_migrate::database_url::DatabaseUrl::new(t.path("app.db").display().to_string());
    let mut conn = cargo_migrate::db::Connection::establish(
        &url,
        cargo_migrate::backend::Backend::Sqlite,
        Default::default(),
    )
    .unwrap();
    conn.batch_execute("CREATE TRIGGER users_ai AFTER INSERT ON users BEGIN SELECT 1; END;")
        .unwrap();
    let json = t.run(&["diff", "--format", "json"]);
    json.assert_code(1);
    let doc = json.json();
    assert_eq!(doc["command"], "diff");
    assert_eq!(doc["differences"].as_array().unwrap().len(), 2);
    let sql = t.run(&["diff", "--sql"]);
    sql.assert_code(1);
    assert_eq!(
        sql.stdout,
        "-- index `users_email`\nCREATE INDEX users_email ON users (email);\n-- trigger `users_ai`\nDROP TRIGGER \"users_ai\";\n"
    );
    conn.batch_execute(&sql.stdout).unwrap();
    t.run(&["diff"]).assert_success();
}

/// A MariaDB/MySQL database created with another default collation than the scratch database
/// is not drift as long as its objects follow that default; a column that leaves it is.
#[test]
fn mysql_database_default_collation_is_not_drift() {
    let Some(db) = TestDb::create(Server::Mysql, "catalog_collation") else {
        return;
    };
    let mut conn = db.connect();
    conn.batch_execute(&format!(
        "ALTER DATABASE {} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
        db.name
    ))
    .unwrap();
    let t = CliTest::package().env("DATABASE_URL", &db.url);
    manifest(&t, "mysql");
    t.migration(
        "2024-01-01-000000_tables",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, nick VARCHAR(20) COLLATE utf8mb4_bin);\n",
        None,
    );
    t.run(&["apply"]).assert_success();
    t.run(&["check"]).assert_success();
    conn.batch_execute("ALTER TABLE users MODIFY email VARCHAR(255) COLLATE utf8mb4_bin NOT NULL")
        .unwrap();
    assert_eq!(drifted(&t), pairs(&[("column", "users.email")]));
}

/// A PostgreSQL history using much of what PostgreSQL has (another schema, identity and
/// generated columns, partitions, inheritance, an exclusion constraint, expression, partial,
/// covering and GIN indexes, a materialized view, overloaded functions, a procedure, an
/// aggregate, policies, forced RLS, comments, a later enum label) reads the same live and
/// replayed, also after revert + apply; and changes to those objects are found.
#[test]
fn postgres_rich_history_has_no_false_drift() {
    let Some(db) = TestDb::create(Server::Postgres, "catalog_rich") else {
        return;
    };
    let t = CliTest::package().env("DATABASE_URL", &db.url);
    manifest(&t, "postgres");
    t.migration(
        "2024-01-01-000000_schema",
        "CREATE EXTENSION IF NOT EXISTS btree_gist;\nCREATE SCHEMA app;\nCOMMENT ON SCHEMA app IS 'the app';\n",
        Some("DROP SCHEMA app CASCADE;\nDROP EXTENSION btree_gist;\n"),
    );
    t.migration(
        "2024-01-02-000000_tables",
        "CREATE TYPE app.mood AS ENUM ('sad', 'ok');
CREATE TYPE app.point2 AS (x double precision, y double precision);
CREATE DOMAIN app.code AS text CHECK (VALUE ~ '^[a-z]+$') NOT NULL;
CREATE TABLE app.people (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  code app.code UNIQUE,
  name TEXT COLLATE \"C\" NOT NULL DEFAULT '',
  mood app.mood DEFAULT 'ok',
  pos app.point2,
  shout TEXT GENERATED ALWAYS AS (upper(name)) STORED,
  created_at timestamptz NOT NULL DEFAULT now(),
  tags text[] NOT NULL DEFAULT '{}'
);
CREATE UNLOGGED TABLE app.cache (k TEXT PRIMARY KEY, v JSONB);
CREATE TABLE app.events (id BIGSERIAL, at DATE NOT NULL, person_id BIGINT REFERENCES app.people (id) DEFERRABLE INITIALLY DEFERRED, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE app.events_2024 PARTITION OF app.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE INDEX events_at ON app.events (at);
CREATE TABLE app.bookings (room INT, during tsrange, EXCLUDE USING gist (room WITH =, during WITH &&));
CREATE INDEX people_lower_name ON app.people (lower(name)) INCLUDE (mood) WHERE mood IS NOT NULL;
CREATE INDEX people_tags ON app.people USING gin (tags);
CREATE TABLE app.base (id INT);
CREATE TABLE app.child (extra INT) INHERITS (app.base);
COMMENT ON COLUMN app.people.name IS 'display name';
",
        Some("DROP TABLE app.bookings, app.events, app.child, app.base, app.cache, app.people;\nDROP TYPE app.mood;\nDROP TYPE app.point2;\nDROP DOMAIN app.code;\n"),
    );
    t.migration(
        "2024-01-03-000000_code",
        "ALTER TYPE app.mood ADD VALUE 'happy' AFTER 'ok';
CREATE MATERIALIZED VIEW app.mood_counts AS SELECT mood, count(*) FROM app.people GROUP BY mood;
CREATE UNIQUE INDEX mood_counts_mood ON app.mood_counts (mood);
CREATE FUNCTION app.add(a int, b int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT a + b';
CREATE FUNCTION app.add(a text, b text) RETURNS text LANGUAGE sql AS $$ SELECT a || b $$;
CREATE PROCEDURE app.noop() LANGUAGE plpgsql AS $$ BEGIN NULL; END $$;
CREATE AGGREGATE app.mysum(int) (SFUNC = int4pl, STYPE = int);
ALTER TABLE app.people ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.people FORCE ROW LEVEL SECURITY;
CREATE POLICY p_sel ON app.people FOR SELECT TO PUBLIC USING (true);
CREATE POLICY p_ins ON app.people AS RESTRICTIVE FOR INSERT WITH CHECK (name <> '');
CREATE SEQUENCE app.tickets AS integer INCREMENT 5 MINVALUE 10 MAXVALUE 1000 CYCLE;
ALTER TABLE app.people ALTER COLUMN created_at SET DEFAULT clock_timestamp();
CREATE VIEW app.people_v WITH (security_barrier) AS SELECT id, name FROM app.people WITH LOCAL CHECK OPTION;
",
        None,
    );
    t.run(&["apply"]).assert_success();
    t.run(&["check"]).assert_success();
    // Revert + apply of the tables on a second database (the enum label the last migration
    // adds cannot be reverted).
    let fresh = TestDb::create(Server::Postgres, "catalog_rich2").unwrap();
    let t2 = CliTest::package().env("DATABASE_URL", &fresh.url);
    manifest(&t2, "postgres");
    for m in ["2024-01-01-000000_schema", "2024-01-02-000000_tables"] {
        let up = std::fs::read_to_string(t.path(&format!("migrations/{m}/up.sql"))).unwrap();
        let down = std::fs::read_to_string(t.path(&format!("migrations/{m}/down.sql"))).unwrap();
        t2.migration(m, &up, Some(&down));
    }
    t2.run(&["apply"]).assert_success();
    t2.run(&["revert"]).assert_success();
    t2.run(&["apply"]).assert_success();
    t2.run(&["check", "--no-cache"]).assert_success();

    db.connect()
        .batch_execute(
            "ALTER TABLE app.child NO INHERIT app.base;
             ALTER POLICY p_sel ON app.people USING (id > 0);
             ALTER TABLE app.people NO FORCE ROW LEVEL SECURITY;
             ALTER SEQUENCE app.tickets INCREMENT 6;
             ALTER DOMAIN app.code DROP NOT NULL;
             ALTER TABLE app.cache SET LOGGED;
             DROP INDEX app.people_tags;
             ALTER TABLE app.events_2024 ALTER COLUMN at SET DEFAULT '2024-01-01';
             CREATE OR REPLACE FUNCTION app.add(a int, b int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT a + b + 0';",
        )
        .unwrap();
    assert_eq!(
        drifted(&t),
        pairs(&[
            ("domain", "app.code"),
            ("sequence", "app.tickets"),
            ("table", "app.cache"),
            ("table", "app.child"),
            ("table", "app.people"),
            ("column", "app.events_2024.at"),
            ("index", "app.people_tags"),
            ("function", "app.add(a integer, b integer)"),
            ("policy", "app.people.p_sel"),
        ])
    );
}

fn git(t: &CliTest, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
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

/// `diff --base REF`: what the working tree's history changes in the catalog against the
/// history at a git revision, with no database; `--sql` is the DDL from the base to now.
#[test]
fn diff_base_compares_two_histories() {
    let t = CliTest::package();
    manifest(&t, "sqlite");
    t.migration(
        "2024-01-01-000000_tables",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\nCREATE INDEX users_old ON users (id);\n",
        None,
    );
    git(&t, &["init", "-q", "-b", "main"]);
    git(&t, &["add", "-A"]);
    git(&t, &["commit", "-qm", "release 1"]);
    let run = t.run(&["diff", "--base", "main"]);
    run.assert_success();
    assert!(
        run.stdout
            .contains("the history matches the history at main"),
        "{}",
        run.stdout
    );

    t.migration(
        "2024-01-02-000000_index",
        "CREATE INDEX users_email ON users (email);\nDROP INDEX users_old;\n",
        None,
    );
    let run = t.run(&["diff", "--base", "main"]);
    run.assert_code(1);
    assert!(
        run.stdout
            .contains("--- the history at main\n+++ the history\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("+ index `users_email` (only in the history)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("- index `users_old` (only in the history at main)"),
        "{}",
        run.stdout
    );
    let sql = t.run(&["diff", "--base", "main", "--sql"]);
    assert_eq!(
        sql.stdout,
        "-- index `users_email`\nCREATE INDEX users_email ON users (email);\n-- index `users_old`\nDROP INDEX \"users_old\";\n"
    );
    let json = t
        .run(&["diff", "--base", "main", "--format", "json"])
        .json();
    assert_eq!(json["base"], "main");
    assert_eq!(json["database"], serde_json::Value::Null);
    let run = t.run(&["diff", "--base", "nope"]);
    run.assert_code(2);
}

/// SQLite: a table rebuilt by hand (the usual way to change it) with another default, without
/// its foreign key and its CHECK is reported by the column, the foreign key, and the table's
/// text, which shows the lost CHECK.
#[test]
fn sqlite_rebuilt_table_is_drift() {
    let t = CliTest::package().env("DATABASE_URL", "app.db");
    t.migration(
        "2024-01-01-000000_tables",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL DEFAULT 'a');\nCREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id), title TEXT NOT NULL CHECK (length(title) > 0));\n",
        None,
    );
    t.run(&["apply"]).assert_success();
    let url = cargo_migrate::database_url::DatabaseUrl::new(t.path("app.db").display().to_string());
    cargo_migrate::db::Connection::establish(
        &url,
        cargo_migrate::backend::Backend::Sqlite,
        Default::default(),
    )
    .unwrap()
    .batch_execute(
        "CREATE TABLE posts_new (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, title TEXT NOT NULL);
         INSERT INTO posts_new SELECT * FROM posts; DROP TABLE posts; ALTER TABLE posts_new RENAME TO posts;
         CREATE TABLE users_new (id INTEGER PRIMARY KEY, email TEXT NOT NULL DEFAULT 'b');
         INSERT INTO users_new SELECT * FROM users; DROP TABLE users; ALTER TABLE users_new RENAME TO users;",
    )
    .unwrap();
    assert_eq!(
        drifted(&t),
        pairs(&[
            ("table", "posts"),
            ("table", "users"),
            ("column", "users.email"),
            ("foreign-key", "posts(user_id) -> users"),
        ])
    );
    let run = t.run(&["check"]);
    assert!(
        run.stdout.contains("-CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id), title TEXT NOT NULL CHECK (length(title) > 0))"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("default `'b'` in the database, `'a'` in the migrations"),
        "{}",
        run.stdout
    );
}

/// Owners and granted privileges are compared only on request (`--drift-privileges`): a
/// database built by the history matches with them too, a hand-made GRANT or REVOKE is drift
/// then (and only then), and `baseline --drift-privileges` refuses it.
#[test]
fn postgres_privileges_are_drift_only_on_request() {
    let Some(db) = TestDb::create(Server::Postgres, "catalog") else {
        return;
    };
    let t = CliTest::package().env("DATABASE_URL", &db.url);
    manifest(&t, "postgres");
    t.migration(
        "2024-01-01-000000_tables",
        &format!("{PG_TABLES}GRANT SELECT ON users TO PUBLIC;\n"),
        Some("DROP TABLE posts; DROP TABLE users; DROP TYPE user_role; DROP DOMAIN positive; DROP SEQUENCE counter;"),
    );
    t.migration(
        "2024-01-02-000000_code",
        &format!("{PG_CODE}REVOKE EXECUTE ON FUNCTION touch() FROM PUBLIC;\n"),
        Some("DROP TRIGGER users_touch ON users; DROP FUNCTION touch(); DROP VIEW user_emails;"),
    );
    t.run(&["apply"]).assert_success();
    t.run(&["check", "--drift-privileges"]).assert_success();
    db.connect()
        .batch_execute(
            "REVOKE SELECT ON users FROM PUBLIC; GRANT INSERT ON posts TO PUBLIC;
             GRANT EXECUTE ON FUNCTION touch() TO PUBLIC;",
        )
        .unwrap();
    // Not asked: not compared, and not counted as ignored either.
    let plain = t.run(&["check"]);
    plain.assert_success();
    assert!(!plain.stdout.contains("ignored"), "{}", plain.stdout);
    let run = t.run(&["check", "--drift-privileges", "--format", "json"]);
    run.assert_code(1);
    let mut found: Vec<(String, String)> = run.json()["sets"][0]["catalog_drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap().to_string(),
                d["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        pairs(&[
            ("privileges", "function public.touch()"),
            ("privileges", "table public.posts"),
            ("privileges", "table public.users"),
        ])
    );
    let human = t.run(&["check", "--drift-privileges"]);
    human.assert_code(1);
    assert!(human.stdout.contains("PUBLIC: INSERT"), "{}", human.stdout);
    t.run(&[
        "baseline",
        "--to",
        "2024-01-02-000000",
        "--drift-privileges",
    ])
    .assert_code(1);
}
