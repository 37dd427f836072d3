//! Linter throughput: generates 5,000 migrations (about 20,000 statements) across the three
//! backends, lints them on one thread and prints the time and statements per second.
//!
//! Run with `cargo bench --bench lint`. The target is well under one second.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // tests and benchmarks may panic and print

use std::path::PathBuf;
use std::time::Instant;

use cargo_migrate::backend::Backend;
use cargo_migrate::lint::{lint_set, LintConfig, MigrationInput, SqlFile};

/// One generated migration: folder name, version, up.sql, down.sql, run_in_transaction.
struct Generated {
    dir_name: String,
    version: String,
    dir: PathBuf,
    up_path: PathBuf,
    down_path: PathBuf,
    up: String,
    down: String,
    run_in_transaction: bool,
}

fn postgres(i: usize) -> (String, String, bool) {
    let t = format!("items_{i}");
    match i % 6 {
        0 => (
            format!(
                "-- Items of batch {i}\nCREATE TABLE {t} (\n  id BIGSERIAL PRIMARY KEY,\n  owner_id BIGINT NOT NULL REFERENCES users (id),\n  name VARCHAR(200) NOT NULL,\n  note TEXT,\n  created_at TIMESTAMPTZ NOT NULL DEFAULT now()\n);\nCREATE INDEX {t}_owner ON {t} (owner_id);\nCOMMENT ON TABLE {t} IS 'generated; batch {i}';\nINSERT INTO {t} (owner_id, name) VALUES (1, 'first; entry');\n"
            ),
            format!("DROP TABLE {t};\n"),
            true,
        ),
        1 => (
            format!("CREATE INDEX CONCURRENTLY IF NOT EXISTS items_{}_name ON items_{} (name);\n", i - 1, i - 1),
            format!("DROP INDEX CONCURRENTLY IF EXISTS items_{}_name;\n", i - 1),
            false,
        ),
        2 => (
            format!(
                "ALTER TABLE items_{p} ADD COLUMN score INT NOT NULL DEFAULT 0;\nALTER TABLE items_{p} ADD CONSTRAINT items_{p}_score CHECK (score >= 0) NOT VALID;\n-- cargo-migrate: allow(missing-where): the table is created two migrations earlier and small\nUPDATE items_{p} SET score = 1;\nCREATE TYPE status_{i} AS ENUM ('new', 'active', 'done');\n",
                p = i - 2
            ),
            format!("DROP TYPE status_{i};\nALTER TABLE items_{p} DROP CONSTRAINT items_{p}_score;\nALTER TABLE items_{p} DROP COLUMN score;\n", p = i - 2),
            true,
        ),
        3 => (
            format!(
                "CREATE OR REPLACE FUNCTION touch_{i}() RETURNS trigger AS $body$\nBEGIN\n  NEW.note := 'touched; ok';\n  RETURN NEW;\nEND;\n$body$ LANGUAGE plpgsql;\nDO $$ BEGIN PERFORM 1; END $$;\nALTER TABLE items_{p} ALTER COLUMN name TYPE TEXT;\n",
                p = i - 3
            ),
            format!("DROP FUNCTION touch_{i}();\n"),
            true,
        ),
        4 => (
            format!("ALTER TYPE status_{p} ADD VALUE 'archived';\n", p = i - 2),
            "SELECT 1;\n".to_string(),
            false,
        ),
        _ => (
            format!(
                "ALTER TABLE items_{p} RENAME COLUMN note TO remark;\nDELETE FROM items_{p} WHERE created_at < now() - interval '1 year';\nALTER TABLE items_{p} ALTER COLUMN remark SET NOT NULL;\n",
                p = i - 5
            ),
            format!("ALTER TABLE items_{p} RENAME COLUMN remark TO note;\n", p = i - 5),
            true,
        ),
    }
}

fn mysql(i: usize) -> (String, String, bool) {
    let t = format!("orders_{i}");
    match i % 4 {
        0 => (
            format!(
                "CREATE TABLE `{t}` (\n  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,\n  status ENUM('new', 'paid', 'shipped') NOT NULL DEFAULT 'new',\n  total DECIMAL(10, 2) NOT NULL,\n  memo VARCHAR(255) NULL # free text; optional\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\nCREATE INDEX {t}_status ON `{t}` (status);\n"
            ),
            format!("DROP TABLE `{t}`;\n"),
            true,
        ),
        1 => (
            format!(
                "ALTER TABLE orders_{p} MODIFY status ENUM('new', 'paid', 'shipped', 'refunded') NOT NULL DEFAULT 'new';\nALTER TABLE orders_{p} ADD COLUMN paid_at DATETIME NULL;\n",
                p = i - 1
            ),
            format!("ALTER TABLE orders_{p} DROP COLUMN paid_at;\n", p = i - 1),
            true,
        ),
        2 => (
            format!(
                "CREATE TRIGGER orders_{p}_bi BEFORE INSERT ON orders_{p} FOR EACH ROW\nBEGIN\n  IF NEW.total < 0 THEN\n    SET NEW.total = 0;\n  END IF;\nEND;\nUPDATE orders_{p} SET memo = 'x;y' WHERE id = 1;\n",
                p = i - 2
            ),
            format!("DROP TRIGGER orders_{p}_bi;\n", p = i - 2),
            true,
        ),
        _ => (
            format!("ALTER TABLE orders_{p} CHANGE memo note VARCHAR(500) NULL;\n", p = i - 3),
            format!("ALTER TABLE orders_{p} CHANGE note memo VARCHAR(255) NULL;\n", p = i - 3),
            true,
        ),
    }
}

fn sqlite(i: usize) -> (String, String, bool) {
    let t = format!("notes_{i}");
    match i % 3 {
        0 => (
            format!(
                "CREATE TABLE {t} (\n  id INTEGER PRIMARY KEY AUTOINCREMENT,\n  body TEXT NOT NULL,\n  kind TEXT NOT NULL DEFAULT 'plain'\n);\nCREATE INDEX {t}_kind ON {t} (kind);\nINSERT INTO {t} (body) VALUES ('hello; world');\n"
            ),
            format!("DROP TABLE {t};\n"),
            true,
        ),
        1 => (
            format!(
                "ALTER TABLE notes_{p} ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;\nCREATE TRIGGER notes_{p}_au AFTER UPDATE ON notes_{p}\nBEGIN\n  UPDATE notes_{p} SET kind = CASE WHEN NEW.pinned = 1 THEN 'pinned' ELSE 'plain' END WHERE id = NEW.id;\nEND;\n",
                p = i - 1
            ),
            format!("DROP TRIGGER notes_{p}_au;\nALTER TABLE notes_{p} DROP COLUMN pinned;\n", p = i - 1),
            true,
        ),
        _ => (
            format!(
                "PRAGMA foreign_keys = OFF;\nCREATE TABLE new_notes_{p} (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\nINSERT INTO new_notes_{p} SELECT id, body FROM notes_{p};\nDROP TABLE notes_{p};\nALTER TABLE new_notes_{p} RENAME TO notes_{p};\nPRAGMA foreign_keys = ON;\n",
                p = i - 2
            ),
            "SELECT 1;\n".to_string(),
            false,
        ),
    }
}

fn generate(count: usize, make: fn(usize) -> (String, String, bool), tag: &str) -> Vec<Generated> {
    (0..count)
        .map(|i| {
            let (up, down, run_in_transaction) = make(i);
            let version = format!("2020{:010}", i);
            let dir_name = format!("{}-{}_{tag}_{i}", &version[..8], &version[8..]);
            let dir = PathBuf::from(format!("crates/{tag}/migrations")).join(&dir_name);
            Generated {
                up_path: dir.join("up.sql"),
                down_path: dir.join("down.sql"),
                dir_name,
                version,
                dir,
                up,
                down,
                run_in_transaction,
            }
        })
        .collect()
}

fn inputs(generated: &[Generated]) -> Vec<MigrationInput<'_>> {
    generated
        .iter()
        .map(|g| MigrationInput {
            dir_name: &g.dir_name,
            version: &g.version,
            dir: &g.dir,
            up: Some(SqlFile {
                path: &g.up_path,
                text: &g.up,
            }),
            down: Some(SqlFile {
                path: &g.down_path,
                text: &g.down,
            }),
            run_in_transaction: g.run_in_transaction,
        })
        .collect()
}

fn count_statements(sql: &str) -> usize {
    // A rough count for the report only: the linter's own splitter is what is measured.
    sql.matches(";\n").count()
}

fn main() {
    let sets = [
        ("api", Backend::Postgres, generate(2_400, postgres, "api")),
        ("billing", Backend::Mysql, generate(1_400, mysql, "billing")),
        ("local", Backend::Sqlite, generate(1_200, sqlite, "local")),
    ];
    let migrations: usize = sets.iter().map(|s| s.2.len()).sum();
    let statements: usize = sets
        .iter()
        .flat_map(|s| s.2.iter())
        .map(|g| count_statements(&g.up) + count_statements(&g.down))
        .sum();
    let config = LintConfig::default();

    let mut best = f64::MAX;
    let mut findings = 0;
    for _ in 0..3 {
        let start = Instant::now();
        findings = 0;
        for (set, backend, generated) in &sets {
            let inputs = inputs(generated);
            findings += lint_set(set, *backend, &inputs, &config).len();
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!("linted {migrations} migrations, about {statements} statements (up.sql and down.sql), {findings} findings");
    println!(
        "best of 3 runs on one thread: {:.3} s, {:.0} statements/s",
        best,
        statements as f64 / best
    );
    if best >= 1.0 {
        println!("warning: slower than the 1 second target");
    }
}
