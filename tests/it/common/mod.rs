//! Test helpers that speak the domain: run the binary on a copy of a fixture workspace, and
//! make throwaway databases on the test servers.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use cargo_migrate::backend::Backend;
use cargo_migrate::database_url::DatabaseUrl;
use cargo_migrate::db::{ConnectOptions, Connection};

pub const BIN: &str = env!("CARGO_BIN_EXE_cargo-migrate");

/// Variables that would leak the developer's own databases into a test.
const CLEARED: &[&str] = &[
    "DATABASE_URL",
    "GITHUB_STEP_SUMMARY",
    "BLOG_DATABASE_URL",
    "CORE_DATABASE_URL",
    "BILLING_DATABASE_URL",
    "ANALYTICS_DATABASE_URL",
    "APP_DATABASE_URL",
    "SHARED_DATABASE_URL",
    "SHARED_URL",
    "MIGRATE_SCRATCH_URL",
    "CLICOLOR_FORCE",
    "DIESEL_CONFIG_FILE",
    "AUDIT_DATABASE_URL",
];

/// A fixture workspace copied into a temporary folder, and the binary run inside it.
pub struct CliTest {
    _tmp: tempfile::TempDir,
    pub root: PathBuf,
    envs: Vec<(String, String)>,
}

/// What a run printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        self.assert_code(0)
    }

    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(from).unwrap();
        if rel.components().any(|c| c.as_os_str() == "target")
            || rel.extension().is_some_and(|e| e == "db")
        {
            continue;
        }
        let dest = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

impl CliTest {
    /// A copy of `fixtures/<name>`.
    pub fn fixture(name: &str) -> CliTest {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join(name);
        copy_dir(&fixtures_dir().join(name), &root);
        CliTest {
            _tmp: tmp,
            root,
            envs: Vec::new(),
        }
    }

    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.envs.push((key.to_string(), value.into()));
        self
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.arg("migrate").args(args).current_dir(&self.root);
        for var in CLEARED {
            cmd.env_remove(var);
        }
        cmd.env("NO_COLOR", "1");
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        cmd
    }

    /// Run `cargo migrate <args>` in the workspace root.
    pub fn run(&self, args: &[&str]) -> Run {
        let out = self.command(args).output().expect("run cargo-migrate");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Output with the temporary root and timings replaced, for snapshots.
    pub fn clean(&self, text: &str) -> String {
        let root = self.root.display().to_string();
        let text = text.replace(&root, "[ROOT]");
        mask_durations(&text)
    }
}

/// Replace `(12 ms)`, `(<1 ms)` and `(1.5 s)` with `([TIME])`.
pub fn mask_durations(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('(') {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        if let Some(end) = tail.find(')') {
            let inner = &tail[1..end];
            let is_time = inner == "<1 ms"
                || inner
                    .strip_suffix(" ms")
                    .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
                || inner.strip_suffix(" s").is_some_and(|n| {
                    !n.is_empty() && n.chars().all(|c| c.is_ascii_digit() || c == '.')
                });
            if is_time {
                out.push_str("([TIME])");
                rest = &tail[end + 1..];
                continue;
            }
        }
        out.push('(');
        rest = &tail[1..];
    }
    out.push_str(rest);
    out
}

// ---------------------------------------------------------------------------------------------
// Database servers

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A server the tests may create databases on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    Postgres,
    Mysql,
}

impl Server {
    fn var(self) -> &'static str {
        match self {
            Server::Postgres => "CARGO_MIGRATE_TEST_POSTGRES_URL",
            Server::Mysql => "CARGO_MIGRATE_TEST_MYSQL_URL",
        }
    }

    fn default_url(self) -> &'static str {
        match self {
            Server::Postgres => "postgres://postgres@127.0.0.1:5432",
            Server::Mysql => "mysql://root@127.0.0.1:3306",
        }
    }

    pub fn backend(self) -> Backend {
        match self {
            Server::Postgres => Backend::Postgres,
            Server::Mysql => Backend::Mysql,
        }
    }

    /// The server's base URL (no database), or `None` with one line on stderr when it cannot be
    /// reached. Under `CI` an unreachable server fails the test instead.
    pub fn url(self) -> Option<String> {
        let base = std::env::var(self.var()).unwrap_or_else(|_| self.default_url().to_string());
        let base = base.trim_end_matches('/').to_string();
        let admin = self.admin_url(&base);
        match Connection::establish(
            &DatabaseUrl::new(&admin),
            self.backend(),
            ConnectOptions::default(),
        ) {
            Ok(_) => Some(base),
            Err(err) => {
                if std::env::var_os("CI").is_some() {
                    panic!(
                        "CI is set, but the {:?} test server cannot be reached ({}): {err}",
                        self,
                        self.var()
                    );
                }
                eprintln!(
                    "skipping: no {:?} server at {} ({err}); set {} to run this test",
                    self,
                    DatabaseUrl::new(&base),
                    self.var()
                );
                None
            }
        }
    }

    fn admin_url(self, base: &str) -> String {
        match self {
            Server::Postgres => format!("{base}/postgres"),
            Server::Mysql => base.to_string(),
        }
    }
}

/// A database created for one test and dropped when it goes out of scope.
pub struct TestDb {
    pub server: Server,
    admin: String,
    pub name: String,
    pub url: String,
}

impl TestDb {
    /// Create `cm_test_<tag>_<pid>_<n>` on `server`, or `None` when the server is not there.
    pub fn create(server: Server, tag: &str) -> Option<TestDb> {
        let base = server.url()?;
        let name = format!(
            "cm_test_{tag}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let admin = server.admin_url(&base);
        let mut conn = Connection::establish(
            &DatabaseUrl::new(&admin),
            server.backend(),
            ConnectOptions::default(),
        )
        .unwrap();
        conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .unwrap();
        conn.batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        Some(TestDb {
            server,
            admin,
            url: format!("{base}/{name}"),
            name,
        })
    }

    pub fn connect(&self) -> Connection {
        Connection::establish(
            &DatabaseUrl::new(&self.url),
            self.server.backend(),
            ConnectOptions::default(),
        )
        .unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut conn) = Connection::establish(
            &DatabaseUrl::new(&self.admin),
            self.server.backend(),
            ConnectOptions::default(),
        ) {
            let sql = match self.server {
                Server::Postgres => format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
                Server::Mysql => format!("DROP DATABASE IF EXISTS {}", self.name),
            };
            let _ = conn.batch_execute(&sql);
        }
    }
}

impl CliTest {
    /// A one-package workspace `app` with an empty `migrations/` folder.
    pub fn package() -> CliTest {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("app");
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::create_dir_all(root.join("migrations")).unwrap();
        std::fs::write(
            root.join("Cargo.toml"),
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[workspace]\n",
        )
        .unwrap();
        std::fs::write(root.join("src/lib.rs"), "").unwrap();
        CliTest {
            _tmp: tmp,
            root,
            envs: Vec::new(),
        }
    }

    /// Add `migrations/<dir_name>/` with `up.sql` and, when given, `down.sql`.
    pub fn migration(&self, dir_name: &str, up: &str, down: Option<&str>) -> &Self {
        self.write(&format!("migrations/{dir_name}/up.sql"), up);
        if let Some(down) = down {
            self.write(&format!("migrations/{dir_name}/down.sql"), down);
        }
        self
    }
}
