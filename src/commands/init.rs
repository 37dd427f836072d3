//! `cargo migrate init`: wire the checks into hooks and CI, never overwriting anything.
//!
//! Writes, each only when the file does not exist yet:
//! - the git pre-commit hook (in the repository's hooks folder), running `cargo migrate check
//!   --offline`: folders, lint and drift, without needing a database;
//! - `.pre-commit-hooks.yaml` and a `.pre-commit-config.yaml` with a local hook, for the
//!   pre-commit framework;
//! - `.github/workflows/cargo-migrate.yml`, an example workflow that checks every pull request
//!   (including released-migration edits) against a PostgreSQL service and applies the
//!   migrations before the tests run.
//!
//! It prints what it wrote and what it left alone.

use std::path::{Path, PathBuf};

use super::Outcome;
use crate::output::Printer;

use crate::backend::Backend;
use crate::output::{Human, Paint, Render};
use crate::settings::{Resolved, SetContext};
use serde::Serialize;

const PRE_COMMIT_HOOK: &str = r#"#!/bin/sh
# Written by `cargo migrate init`. Checks every migration set before a commit: migration folders,
# the lint, and that each schema.rs matches what its migrations produce. It needs no database.
# Skip once with `git commit --no-verify`.
exec cargo migrate check --offline
"#;

/// The hook's fields, shared by `.pre-commit-hooks.yaml` and `.pre-commit-config.yaml`.
const HOOK_FIELDS: &[(&str, &str)] = &[
    ("name", "cargo migrate check"),
    ("entry", "cargo migrate check --offline"),
    ("language", "system"),
    ("pass_filenames", "false"),
    (
        "files",
        r"'(migrations/|schema\.rs$|diesel\.toml$|Cargo\.toml$|rustfmt\.toml$)'",
    ),
];

/// The hook as a YAML list item at `indent` spaces, with an optional description.
fn hook_yaml(indent: usize, description: Option<&str>) -> String {
    let pad = " ".repeat(indent);
    let mut out = format!("{pad}- id: cargo-migrate-check\n");
    let mut fields: Vec<(&str, &str)> = HOOK_FIELDS.to_vec();
    if let Some(d) = description {
        fields.insert(1, ("description", d));
    }
    for (key, value) in fields {
        out.push_str(&format!("{pad}  {key}: {value}\n"));
    }
    out
}

fn pre_commit_hooks_yaml() -> String {
    "# Hook definitions for the pre-commit framework (https://pre-commit.com), written by\n\
     # `cargo migrate init`: for repositories that share their hooks with others. Inside this\n\
     # repository, .pre-commit-config.yaml (also written by init) runs the same hook locally.\n"
        .to_string()
        + &hook_yaml(
            0,
            Some("Migration folders, lint, and schema.rs drift for every migration set"),
        )
}

fn pre_commit_config_yaml() -> String {
    "# Written by `cargo migrate init`; see https://pre-commit.com\nrepos:\n  - repo: local\n    hooks:\n"
        .to_string()
        + &hook_yaml(6, None)
}

/// The example workflow, made for the workspace's sets: one database per set on a service of
/// the set's backend (a file for SQLite), so that a workspace mixing SQLite, PostgreSQL and
/// MySQL sets passes as written.
fn workflow(sets: &[SetContext]) -> String {
    // One entry per URL variable (sets may share one), in the sets' order.
    let mut vars: Vec<(String, Option<Backend>, String)> = Vec::new();
    for ctx in sets {
        let var = &ctx.set.database_url_env;
        if vars.iter().any(|(v, _, _)| v == var) {
            continue;
        }
        vars.push((var.clone(), ctx.backend(), database_name(ctx.name())));
    }
    if vars.is_empty() {
        vars.push(("DATABASE_URL".into(), Some(Backend::Postgres), "app".into()));
    }
    // The servers the sets need, once each, in `Backend::ALL` order.
    let servers: Vec<_> = Backend::ALL
        .into_iter()
        .filter(|b| vars.iter().any(|(_, backend, _)| *backend == Some(*b)))
        .filter_map(Backend::ci_server)
        .collect();
    let mut out = String::from(
        "# Written by `cargo migrate init`: an example to adapt. It checks every pull request's\n\
         # migrations and applies them to fresh databases before the tests run.\n\
         name: migrations\n\n\
         on:\n  pull_request:\n  push:\n    branches: [main]\n\n\
         jobs:\n  migrations:\n    runs-on: ubuntu-latest\n",
    );
    if !servers.is_empty() {
        out.push_str("    services:\n");
    }
    for server in &servers {
        out.push_str(server.service);
    }
    out.push_str(
        "    env:\n      # One database per migration set, for the backend each set uses.\n",
    );
    let mut create = Vec::new();
    for (var, backend, db) in &vars {
        let Some(backend) = backend else {
            out.push_str(&format!(
                "      # {var}: the backend of its set is unknown; set `backend` in its configuration\n"
            ));
            continue;
        };
        let value = match backend.ci_server() {
            Some(server) => {
                create.push((server.create_database)(db));
                server.database_url(db)
            }
            None => format!("ci-{db}.db"),
        };
        out.push_str(&format!("      {var}: {value}\n"));
    }
    let scratch: Vec<&str> = servers.iter().map(|s| s.server_url).collect();
    if !scratch.is_empty() {
        out.push_str(&format!(
            "      MIGRATE_SCRATCH_URL: {}\n",
            scratch.join(" ")
        ));
    }
    out.push_str(
        "    steps:\n      - uses: actions/checkout@v4\n        with:\n          fetch-depth: 0 # --base needs the history of the main branch\n      - uses: dtolnay/rust-toolchain@stable\n      # Install cargo-migrate the way your project pins it (a registry version, or\n      # `cargo install --git <its repository> --locked`).\n      - run: cargo install cargo-migrate --locked\n      # Lint, schema.rs drift, and no edits to migrations released on the main branch;\n      # `--format github` puts each finding on its line of the pull request.\n      - run: cargo migrate check --offline --base origin/${{ github.base_ref || 'main' }} --format github\n",
    );
    if !create.is_empty() {
        out.push_str(
            "      # The sets' databases on the services (SQLite files are created by apply).\n",
        );
        for c in create {
            out.push_str(&format!("      - run: {c}\n"));
        }
    }
    out.push_str(
        "      # Apply (waiting for the databases to accept connections), check them, then test.\n      - run: cargo migrate apply --wait 60\n      - run: cargo migrate check --format github\n      - run: cargo test\n",
    );
    out
}

/// A database name for a set: lowercase letters, digits and `_`.
fn database_name(set: &str) -> String {
    let name: String = set
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() {
        "app".into()
    } else {
        name
    }
}

fn hooks_dir(root: &Path) -> Option<PathBuf> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["rev-parse", "--git-path", "hooks"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    Some(if path.is_absolute() {
        path
    } else {
        root.join(path)
    })
}

fn write_new(path: &Path, text: &str, executable: bool) -> std::io::Result<bool> {
    if path.exists() {
        return Ok(false);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    std::io::Write::write_all(&mut file, text.as_bytes())?;
    #[cfg(unix)]
    if executable {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    }
    #[cfg(not(unix))]
    let _ = executable;
    Ok(true)
}

/// `init`.
pub fn run(resolved: &Resolved, printer: &Printer) -> anyhow::Result<Outcome> {
    let root = &resolved.workspace.root;
    let mut files: Vec<(PathBuf, String, bool)> = Vec::new();
    match hooks_dir(root) {
        Some(dir) => files.push((dir.join("pre-commit"), PRE_COMMIT_HOOK.to_string(), true)),
        None => printer.warn("not in a git repository: no pre-commit hook written"),
    }
    files.push((
        root.join(".pre-commit-hooks.yaml"),
        pre_commit_hooks_yaml(),
        false,
    ));
    files.push((
        root.join(".pre-commit-config.yaml"),
        pre_commit_config_yaml(),
        false,
    ));
    files.push((
        root.join(".github/workflows/cargo-migrate.yml"),
        workflow(&resolved.sets),
        false,
    ));
    let mut done = Vec::new();
    for (path, text, exec) in files {
        let written = write_new(&path, &text, exec)
            .map_err(|e| anyhow::anyhow!("cannot write `{}`: {e}", path.display()))?;
        done.push((path, written));
    }
    let pick = |w: bool| {
        done.iter()
            .filter(|(_, x)| *x == w)
            .map(|(p, _)| p.clone())
            .collect()
    };
    printer.report(&InitReport {
        command: "init",
        ok: true,
        written: pick(true),
        kept: pick(false),
        files: done.clone(),
    });
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_yaml_files_carry_the_same_hook() {
        assert_eq!(
            pre_commit_hooks_yaml(),
            "# Hook definitions for the pre-commit framework (https://pre-commit.com), written by\n\
             # `cargo migrate init`: for repositories that share their hooks with others. Inside this\n\
             # repository, .pre-commit-config.yaml (also written by init) runs the same hook locally.\n\
             - id: cargo-migrate-check\n  name: cargo migrate check\n  \
             description: Migration folders, lint, and schema.rs drift for every migration set\n  \
             entry: cargo migrate check --offline\n  language: system\n  pass_filenames: false\n  \
             files: '(migrations/|schema\\.rs$|diesel\\.toml$|Cargo\\.toml$|rustfmt\\.toml$)'\n"
        );
        assert!(pre_commit_config_yaml().ends_with(
            "    hooks:\n      - id: cargo-migrate-check\n        name: cargo migrate check\n        \
             entry: cargo migrate check --offline\n        language: system\n        pass_filenames: false\n        \
             files: '(migrations/|schema\\.rs$|diesel\\.toml$|Cargo\\.toml$|rustfmt\\.toml$)'\n"
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// The report

/// `init`.
#[derive(Debug, Clone, Serialize)]
pub struct InitReport {
    /// `"init"`.
    pub command: &'static str,
    /// `true`.
    pub ok: bool,
    /// Files written.
    pub written: Vec<PathBuf>,
    /// Files that existed and were left alone.
    pub kept: Vec<PathBuf>,
    /// Every file in the order it was looked at, and whether it was written (human text only).
    #[serde(skip)]
    pub files: Vec<(PathBuf, bool)>,
}

impl Render for InitReport {
    fn human(&self, p: &Human<'_>) {
        let r = self;
        for (f, written) in &r.files {
            if *written {
                p.line(format!("  {} {}", "wrote".good(), f.display()));
            } else {
                p.line(format!(
                    "  {} {} {}",
                    "kept ".caution(),
                    f.display(),
                    "(exists; not overwritten)".dim()
                ));
            }
        }
        p.result(format!(
            "init: wrote {}, left {} as they were",
            r.written.len(),
            r.kept.len()
        ));
    }
}
