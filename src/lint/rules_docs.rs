//! The rule documentation is checked against the registry, so that adding a rule takes its
//! file under `src/lint/rules/`, one entry in [`rules::all`] and its `docs/rules/<id>.md`, and
//! nothing kept by hand elsewhere drifts.
//!
//! The table of `docs/rules/README.md`, between the two marker comments, is generated from the
//! registry: when it differs, the test fails and shows the difference, and running it with
//! `UPDATE_DOCS=1` (`UPDATE_DOCS=1 cargo test --lib lint::rules_docs`) rewrites it.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::rules::{self, RuleInfo, ALL_BACKENDS};

const START: &str = "<!-- rules-table:start";
const END: &str = "<!-- rules-table:end -->";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// `all`, or the backends' names in the rule's order.
fn backends(info: &RuleInfo) -> String {
    if ALL_BACKENDS.iter().all(|b| info.backends.contains(b)) {
        return "all".to_string();
    }
    let names: Vec<&str> = info.backends.iter().map(|b| b.as_str()).collect();
    names.join(", ")
}

/// The rule table, one row per registered rule, in registry order.
fn table() -> String {
    let mut out = String::from("| Rule | Default | Backends | Catches |\n");
    out.push_str("|------|---------|----------|---------|\n");
    for r in rules::all() {
        let info = r.info();
        let _ = writeln!(
            out,
            "| [`{id}`]({id}.md) | {level} | {backends} | {summary} |",
            id = info.id,
            level = info.default_level,
            backends = backends(info),
            summary = info.summary.replace('|', "\\|"),
        );
    }
    out
}

/// The generated section of the README (between the markers, markers excluded) and where it
/// sits: `(text before the section, section, text after it)`.
fn split_readme(readme: &str) -> (&str, &str, &str) {
    let start = readme
        .find(START)
        .expect("docs/rules/README.md has no `<!-- rules-table:start … -->` marker");
    let body = start
        + readme[start..]
            .find("-->")
            .expect("the start marker of docs/rules/README.md is not closed")
        + "-->".len();
    let body = body + readme[body..].starts_with('\n') as usize;
    let end = body
        + readme[body..]
            .find(END)
            .expect("docs/rules/README.md has no `<!-- rules-table:end -->` marker");
    (&readme[..body], &readme[body..end], &readme[end..])
}

#[test]
fn readme_table_is_generated_from_the_registry() {
    let path = root().join("docs/rules/README.md");
    let readme = read(&path);
    let (before, current, after) = split_readme(&readme);
    let expected = table();
    if current == expected {
        return;
    }
    if std::env::var_os("UPDATE_DOCS").is_some_and(|v| v == "1") {
        std::fs::write(&path, format!("{before}{expected}{after}"))
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        return;
    }
    let diff = similar::TextDiff::from_lines(current, expected.as_str())
        .unified_diff()
        .header("docs/rules/README.md", "generated from rules::all()")
        .to_string();
    panic!(
        "the rule table of docs/rules/README.md does not match the registry; \
         run `UPDATE_DOCS=1 cargo test --lib lint::rules_docs` to rewrite it\n\n{diff}"
    );
}

/// Ids of the rule pages: every `docs/rules/*.md` but the README.
fn doc_pages() -> BTreeSet<String> {
    std::fs::read_dir(root().join("docs/rules"))
        .expect("docs/rules is readable")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let id = name.strip_suffix(".md")?;
            (id != "README").then(|| id.to_string())
        })
        .collect()
}

/// Rule source files: every `src/lint/rules/*.rs` but `mod.rs`, as ids.
fn rule_files() -> BTreeSet<String> {
    std::fs::read_dir(root().join("src/lint/rules"))
        .expect("src/lint/rules is readable")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let module = name.strip_suffix(".rs")?;
            (module != "mod").then(|| module.replace('_', "-"))
        })
        .collect()
}

fn registered() -> BTreeSet<String> {
    rules::all()
        .iter()
        .map(|r| r.info().id.to_string())
        .collect()
}

#[test]
fn every_rule_has_a_page_and_every_page_a_rule() {
    let ids = registered();
    let pages = doc_pages();
    let missing: Vec<&String> = ids.difference(&pages).collect();
    let orphans: Vec<&String> = pages.difference(&ids).collect();
    assert!(
        missing.is_empty(),
        "registered rules without a page in docs/rules/: {missing:?}"
    );
    assert!(
        orphans.is_empty(),
        "pages in docs/rules/ that belong to no registered rule: {orphans:?}"
    );
}

#[test]
fn every_rule_file_is_registered() {
    let ids = registered();
    let files = rule_files();
    let unregistered: Vec<&String> = files.difference(&ids).collect();
    assert!(
        unregistered.is_empty(),
        "rule files under src/lint/rules/ missing from rules::all(): {unregistered:?}"
    );
}

/// Each page opens with its id and the rule's level and backends; each rule file opens with
/// a `//!` line naming its id.
#[test]
fn pages_and_rule_files_agree_with_the_registry() {
    for r in rules::all() {
        let info = r.info();
        let id = info.id;
        let page = read(&root().join("docs/rules").join(format!("{id}.md")));
        let mut lines = page.lines().filter(|l| !l.trim().is_empty());
        assert_eq!(
            lines.next(),
            Some(format!("# `{id}`").as_str()),
            "docs/rules/{id}.md should start with its title"
        );
        let header = format!(
            "Default level: **{}** · Backends: {}",
            info.default_level,
            backends(info)
        );
        assert_eq!(
            lines.next(),
            Some(header.as_str()),
            "docs/rules/{id}.md: the line under the title should say `{header}`"
        );
        let source = read(
            &root()
                .join("src/lint/rules")
                .join(format!("{}.rs", id.replace('-', "_"))),
        );
        assert!(
            source.starts_with(&format!("//! `{id}`: ")),
            "src/lint/rules/{}.rs should start with `//! `{id}`: <what it catches>`",
            id.replace('-', "_")
        );
    }
}

#[test]
fn the_table_has_one_row_per_rule() {
    let t = table();
    assert_eq!(t.lines().count(), 2 + rules::all().len());
    assert!(t.contains("| [`drop-column`](drop-column.md) | warn | all | "));
    assert!(t.contains("| postgres, mysql | "));
}
