//! The command examples in README.md and docs/ run as tests, output included.
//!
//! Every ```` ```console ```` block in those files is an example: a line `$ COMMAND` runs
//! `COMMAND` in `sh` (where `cargo migrate` is this build), an optional next line `? N` gives
//! the exit code it must end with (0 when absent), and the lines after it, up to the next `$`
//! line or the end of the block, are what it prints (stdout and stderr as they interleave).
//! In expected output, `[..]` matches any text within a line and a line holding only `...` or
//! `…` matches any number of lines. Durations such as `(15 ms)` match any duration. A command
//! followed by `$ echo $?` needs no `? N` line: the `echo` shows its exit code, and `$?` in
//! every command is the exit code of the command before it. A console block holding one command
//! and nothing else, followed by a ```` ```json ```` block, documents that command's stdout
//! there.
//!
//! Which workspace an example runs in is said by a comment just before its block:
//!
//! ```text
//! <!-- doc-test
//! fixture: demo                     a fresh copy of fixtures/demo (otherwise: the previous
//!                                   block's workspace in the same file, as it was left)
//! setup: cargo migrate apply        commands run before the block, output not shown
//!                                   ($FIXTURES is the fixtures folder, for files to copy)
//! server: postgres app              a throwaway PostgreSQL database; $DOC_DATABASE_URL holds
//!                                   its URL, $MIGRATE_SCRATCH_URL the server's, and the
//!                                   output shows the database as `app`; the workspace is
//!                                   shown as /home/you/<fixture>
//! env: KEY=VALUE                   a variable set for every command of the session
//! skip: REASON                      the block is not run (it shows something a test cannot)
//! -->
//! ```
//!
//! `DOC_TEST_BLESS=1 cargo test --test it docs` writes the real output into blocks that
//! differ (check the result with `git diff`, and put back the wildcards it removed).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{mask_durations, CliTest, Server, TestDb};

const CLEARED: &[&str] = &[
    "DATABASE_URL",
    "MIGRATE_SCRATCH_URL",
    "CLICOLOR_FORCE",
    "DIESEL_CONFIG_FILE",
    "CI",
    "GITHUB_ACTIONS",
];

/// The files whose examples run. A test below fails when a Markdown file with a `console`
/// block is missing from this list.
const DOC_FILES: &[&str] = &[
    "README.md",
    "docs/adopting.md",
    "docs/benchmarks.md",
    "docs/check.md",
    "docs/commands.md",
    "docs/configuration.md",
    "docs/deploy.md",
    "docs/embedded.md",
    "docs/generate.md",
    "docs/json.md",
    "docs/postgres-enums.md",
    "docs/rollback.md",
    "docs/troubleshooting.md",
    "docs/workflow.md",
];

#[derive(Debug, Default, Clone)]
struct Directive {
    fixture: Option<String>,
    setup: Vec<String>,
    server: Option<(Server, String)>,
    skip: Option<String>,
    env: Vec<(String, String)>,
}

#[derive(Debug)]
struct Step {
    /// 1-based line of the `$` line in the file.
    line: usize,
    command: String,
    code: i32,
    expected: Vec<String>,
}

#[derive(Debug)]
struct Block {
    directive: Option<Directive>,
    /// 0-based index of the first line inside the fence and of the closing fence.
    body: std::ops::Range<usize>,
    /// The ```json block right after a console block whose one command shows no output there:
    /// that command's output (0-based body range, as `body`).
    json_output: Option<std::ops::Range<usize>>,
    steps: Vec<Step>,
}

fn parse_directive(lines: &[&str], file: &str, at: usize) -> Directive {
    let mut d = Directive::default();
    for (i, raw) in lines.iter().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let (key, value) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("{file}:{}: doc-test line without `key:`", at + i + 1));
        let value = value.trim().to_string();
        match key.trim() {
            "fixture" => d.fixture = Some(value),
            "setup" => d.setup.push(value),
            "skip" => d.skip = Some(value),
            "env" => {
                let (k, v) = value
                    .split_once('=')
                    .unwrap_or_else(|| panic!("{file}:{}: `env: KEY=VALUE`", at + i + 1));
                d.env.push((k.to_string(), v.to_string()));
            }
            "server" => {
                let mut parts = value.split_whitespace();
                let server = match parts.next() {
                    Some("postgres") => Server::Postgres,
                    Some("mysql") => Server::Mysql,
                    other => panic!("{file}:{}: unknown server {other:?}", at + i + 1),
                };
                let shown = parts.next().unwrap_or("app").to_string();
                d.server = Some((server, shown));
            }
            other => panic!("{file}:{}: unknown doc-test key `{other}`", at + i + 1),
        }
    }
    d
}

fn parse(file: &str, text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.lines().collect();
    let mut blocks = Vec::new();
    let mut pending: Option<Directive> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.trim_start().starts_with("<!-- doc-test") {
            let start = i + 1;
            let mut end = start;
            while end < lines.len() && !lines[end].contains("-->") {
                end += 1;
            }
            assert!(end < lines.len(), "{file}:{}: unclosed doc-test", i + 1);
            pending = Some(parse_directive(&lines[start..end], file, start));
            i = end + 1;
            continue;
        }
        if let Some(fence) = line.strip_prefix("```") {
            let info = fence.trim();
            let start = i + 1;
            let mut end = start;
            while end < lines.len() && !lines[end].starts_with("```") {
                end += 1;
            }
            assert!(end < lines.len(), "{file}:{}: unclosed code block", i + 1);
            if info == "console" {
                let mut steps = parse_steps(file, &lines, start, end);
                let mut next = end + 1;
                while next < lines.len() && lines[next].trim().is_empty() {
                    next += 1;
                }
                let quiet = steps.len() == 1 && steps[0].expected.iter().all(|l| l.is_empty());
                if quiet && lines.get(next).is_some_and(|l| l.trim() == "```json") {
                    let jstart = next + 1;
                    let mut jend = jstart;
                    while jend < lines.len() && !lines[jend].starts_with("```") {
                        jend += 1;
                    }
                    steps[0].expected = lines[jstart..jend].iter().map(|l| l.to_string()).collect();
                    blocks.push(Block {
                        directive: pending.take(),
                        body: start..end,
                        json_output: Some(jstart..jend),
                        steps,
                    });
                    i = jend + 1;
                    continue;
                }
                blocks.push(Block {
                    directive: pending.take(),
                    body: start..end,
                    json_output: None,
                    steps,
                });
            } else {
                pending = None;
            }
            i = end + 1;
            continue;
        }
        if !line.trim().is_empty() {
            pending = None;
        }
        i += 1;
    }
    blocks
}

fn parse_steps(file: &str, lines: &[&str], start: usize, end: usize) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut i = start;
    while i < end {
        let line = lines[i];
        if let Some(command) = line.strip_prefix("$ ") {
            let mut step = Step {
                line: i + 1,
                command: command.to_string(),
                code: 0,
                expected: Vec::new(),
            };
            if let Some(code) = lines.get(i + 1).and_then(|l| l.strip_prefix("? ")) {
                if i + 1 < end {
                    step.code = code.trim().parse().unwrap_or_else(|_| {
                        panic!("{file}:{}: `? {code}` is not an exit code", i + 2)
                    });
                    i += 1;
                }
            }
            steps.push(step);
        } else {
            match steps.last_mut() {
                Some(step) => step.expected.push(line.to_string()),
                None => panic!(
                    "{file}:{}: a console block must start with a `$ ` command line",
                    i + 1
                ),
            }
        }
        i += 1;
    }
    // A step followed by `$ echo $?` has its exit code checked by that step's output.
    let followed_by_echo: Vec<bool> = (0..steps.len())
        .map(|n| {
            steps
                .get(n + 1)
                .is_some_and(|s| s.command.trim() == "echo $?")
        })
        .collect();
    for (step, echoed) in steps.iter_mut().zip(followed_by_echo) {
        if echoed && step.code == 0 {
            step.code = ANY_CODE;
        }
    }
    steps
}

/// The exit code of a step whose code the next step (`echo $?`) shows.
const ANY_CODE: i32 = i32::MIN;

/// Does `actual` match `expected`, with `[..]` and `...` lines as wildcards?
fn lines_match(expected: &[String], actual: &[String]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if is_ellipsis(first) => {
            (0..=actual.len()).any(|skip| lines_match(rest, &actual[skip..]))
        }
        Some((first, rest)) => match actual.split_first() {
            Some((a, arest)) => line_matches(first, a) && lines_match(rest, arest),
            None => false,
        },
    }
}

fn is_ellipsis(line: &str) -> bool {
    matches!(line.trim(), "..." | "…")
}

fn line_matches(expected: &str, actual: &str) -> bool {
    let parts: Vec<&str> = expected.split("[..]").collect();
    if parts.len() == 1 {
        return expected == actual;
    }
    let mut rest = actual;
    for (n, part) in parts.iter().enumerate() {
        if n == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if n == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

/// Durations masked: `(15 ms)` and JSON `"duration_ms": 1.25`.
fn mask(text: &str) -> String {
    let json = regex::Regex::new(r#"("[a-z_]*(?:duration|_ms)[a-z_]*": )[0-9][0-9.e+-]*"#).unwrap();
    json.replace_all(&mask_durations(text), "${1}[TIME]")
        .into_owned()
}

/// Output as compared: durations masked, trailing blanks dropped.
fn normalise(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = mask(text)
        .lines()
        .map(|l| l.trim_end().to_string())
        .collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

/// One workspace the examples of a file run in.
struct Session {
    test: CliTest,
    bin: PathBuf,
    envs: Vec<(String, String)>,
    /// Where the docs show the workspace: `/home/you/<fixture>`.
    shown_root: String,
    /// The throwaway database's real name and the name the docs show.
    rename: Option<(String, String)>,
    _db: Option<TestDb>,
}

impl Session {
    /// `None` when the example needs a server that is not there (outside CI).
    fn start(directive: &Directive) -> Option<Session> {
        let fixture = directive
            .fixture
            .as_deref()
            .expect("the first example of a file names its fixture");
        let test = CliTest::fixture(fixture);
        let bin = test.root.parent().unwrap().join("doc-bin");
        std::fs::create_dir_all(&bin).unwrap();
        let real_cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let shim = format!(
            "#!/bin/sh\nif [ \"$1\" = migrate ]; then exec '{}' \"$@\"; fi\nexec '{}' \"$@\"\n",
            crate::common::BIN,
            real_cargo
        );
        let cargo = bin.join("cargo");
        std::fs::write(&cargo, shim).unwrap();
        make_executable(&cargo);
        std::os::unix::fs::symlink(crate::common::BIN, bin.join("cargo-migrate")).unwrap();

        let mut envs = directive.env.clone();
        let mut rename = None;
        let mut db = None;
        if let Some((server, shown)) = &directive.server {
            let created = TestDb::create(*server, "doc")?;
            envs.push(("DOC_DATABASE_URL".to_string(), created.url.clone()));
            envs.push(("MIGRATE_SCRATCH_URL".to_string(), server.url()?));
            rename = Some((created.name.clone(), shown.clone()));
            db = Some(created);
        }
        Some(Session {
            shown_root: format!("/home/you/{fixture}"),
            test,
            bin,
            envs,
            rename,
            _db: db,
        })
    }

    /// Run one command; `$?` in it is the exit code of the command before.
    /// With `stdout_only`, what goes to stderr is left out (a JSON document is stdout).
    fn run(&self, command: &str, previous: i32, stdout_only: bool) -> (i32, String) {
        let path = format!(
            "{}:{}",
            self.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!(
                "{}(exit {previous})\n{command}",
                if stdout_only { "" } else { "exec 2>&1\n" }
            ))
            .stderr(std::process::Stdio::null())
            .current_dir(&self.test.root)
            .env("PATH", path)
            .env("NO_COLOR", "1")
            .env("TERM", "dumb")
            .env("FIXTURES", crate::common::fixtures_dir())
            .env("GIT_AUTHOR_NAME", "Docs")
            .env("GIT_AUTHOR_EMAIL", "docs@example.com")
            .env("GIT_COMMITTER_NAME", "Docs")
            .env("GIT_COMMITTER_EMAIL", "docs@example.com");
        for var in CLEARED {
            cmd.env_remove(var);
        }
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run sh");
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text = text.replace(&self.test.root.display().to_string(), &self.shown_root);
        if let Some((real, shown)) = &self.rename {
            text = text.replace(real.as_str(), shown);
        }
        (out.status.code().unwrap_or(-1), text)
    }
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut perms = std::fs::metadata(path).unwrap().permissions();
    perms.set_mode(0o755);
    std::fs::set_permissions(path, perms).unwrap();
}

/// Run every example of one file; returns the problems found, and in bless mode rewrites it.
fn run_file(rel: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    let blocks = parse(rel, &text);
    let bless = std::env::var_os("DOC_TEST_BLESS").is_some();
    let mut failures = Vec::new();
    let mut replacements: Vec<(std::ops::Range<usize>, Vec<String>)> = Vec::new();
    let mut session: Option<Session> = None;
    let mut skipped_server = false;
    for block in &blocks {
        let directive = block.directive.clone().unwrap_or_default();
        if let Some(reason) = &directive.skip {
            assert!(!reason.is_empty(), "{rel}: a skip needs a reason");
            continue;
        }
        if directive.fixture.is_some() {
            skipped_server = false;
            session = Session::start(&directive);
            if session.is_none() {
                skipped_server = true;
                continue;
            }
        } else if skipped_server {
            continue;
        }
        let Some(current) = session.as_ref() else {
            panic!(
                "{rel}:{}: the first example of a file needs a doc-test comment naming its fixture",
                block.body.start
            );
        };
        for setup in &directive.setup {
            let (code, out) = current.run(setup, 0, false);
            assert_eq!(code, 0, "{rel}: setup `{setup}` failed:\n{out}");
        }
        let mut new_body: Vec<String> = Vec::new();
        let mut block_differs = false;
        let mut previous = 0;
        for step in &block.steps {
            let (code, out) = current.run(&step.command, previous, block.json_output.is_some());
            previous = code;
            let actual = normalise(&out);
            let mut expected = step.expected.clone();
            while expected.last().is_some_and(|l| l.trim().is_empty()) {
                expected.pop();
            }
            let expected: Vec<String> = expected
                .iter()
                .map(|l| mask(l).trim_end().to_string())
                .collect();
            let same_lines = lines_match(&expected, &actual);
            let ok = (code == step.code || step.code == ANY_CODE) && same_lines;
            new_body.push(format!("$ {}", step.command));
            if code != 0 && step.code != ANY_CODE {
                new_body.push(format!("? {code}"));
            }
            if same_lines {
                // Only the exit code differs: the documented lines (and their wildcards) stay.
                new_body.extend(step.expected.iter().cloned());
                if !ok {
                    block_differs = true;
                    failures.push(format!(
                        "{rel}:{}: $ {}\nexit code {code}, documented {}",
                        step.line,
                        step.command,
                        shown_code(step.code)
                    ));
                }
            } else {
                block_differs = true;
                let mut shown: Vec<String> =
                    out.lines().map(|l| l.trim_end().to_string()).collect();
                while shown.last().is_some_and(|l| l.is_empty()) {
                    shown.pop();
                }
                new_body.extend(shown);
                let diff = similar::TextDiff::from_lines(
                    format!("? {}\n{}\n", shown_code(step.code), expected.join("\n")),
                    format!("? {code}\n{}\n", actual.join("\n")),
                )
                .unified_diff()
                .header("documented", "actual")
                .to_string();
                failures.push(format!("{rel}:{}: $ {}\n{diff}", step.line, step.command));
            }
        }
        if block_differs {
            match &block.json_output {
                // The command stays as it is; its output goes into the json block.
                Some(range) => {
                    let head = new_body
                        .iter()
                        .take_while(|l| l.starts_with("$ ") || l.starts_with("? "))
                        .count();
                    let shown = new_body.split_off(head);
                    replacements.push((block.body.clone(), new_body));
                    replacements.push((range.clone(), shown));
                }
                None => replacements.push((block.body.clone(), new_body)),
            }
        }
    }
    if bless && !replacements.is_empty() {
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        for (range, body) in replacements.into_iter().rev() {
            lines.splice(range, body);
        }
        let mut out = lines.join("\n");
        out.push('\n');
        std::fs::write(&path, out).unwrap();
        return;
    }
    assert!(
        failures.is_empty(),
        "{} example(s) in {rel} do not do what the text says (DOC_TEST_BLESS=1 rewrites them):\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_doc_with_examples_is_tested() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for entry in walkdir::WalkDir::new(root.join("docs"))
        .into_iter()
        .chain(walkdir::WalkDir::new(root.join("README.md")))
    {
        let entry = entry.unwrap();
        if entry.path().extension().is_some_and(|e| e == "md") {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            if text.lines().any(|l| l.trim() == "```console") {
                let rel = entry.path().strip_prefix(root).unwrap();
                found.push(rel.display().to_string());
            }
        }
    }
    let missing: Vec<&String> = found
        .iter()
        .filter(|f| !DOC_FILES.contains(&f.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "add these files to DOC_FILES in tests/it/docs.rs: {missing:?}"
    );
}

#[test]
fn wildcards_match_what_they_say() {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert!(lines_match(&s(&["a [..] c"]), &s(&["a b c"])));
    assert!(!lines_match(&s(&["a [..] c"]), &s(&["a b d"])));
    assert!(lines_match(
        &s(&["x", "...", "z"]),
        &s(&["x", "1", "2", "z"])
    ));
    assert!(lines_match(&s(&["x", "…", "z"]), &s(&["x", "z"])));
    assert!(!lines_match(&s(&["x", "...", "z"]), &s(&["x", "1"])));
    assert!(!lines_match(&s(&["x"]), &s(&["x", "extra"])));
}

macro_rules! doc_tests {
    ($($name:ident => $file:literal,)*) => {
        $(#[test] fn $name() { run_file($file) })*
        #[test]
        fn the_list_above_is_doc_files() {
            let listed = [$($file),*];
            assert_eq!(listed.as_slice(), DOC_FILES);
        }
    };
}

doc_tests! {
    readme => "README.md",
    adopting => "docs/adopting.md",
    benchmarks => "docs/benchmarks.md",
    check => "docs/check.md",
    commands => "docs/commands.md",
    configuration => "docs/configuration.md",
    deploy => "docs/deploy.md",
    embedded => "docs/embedded.md",
    generate => "docs/generate.md",
    json => "docs/json.md",
    postgres_enums => "docs/postgres-enums.md",
    rollback => "docs/rollback.md",
    troubleshooting => "docs/troubleshooting.md",
    workflow => "docs/workflow.md",
}

fn shown_code(code: i32) -> String {
    if code == ANY_CODE {
        "(shown by echo $?)".to_string()
    } else {
        code.to_string()
    }
}
