//! The two formats CI systems show inline: GitHub workflow commands (`--format github`) and
//! SARIF 2.1.0 for code scanning (`--format sarif`).
//!
//! Both are made from the findings a report holds ([`Render::findings`]) and nothing else, so
//! they say exactly what the human and JSON output say.
//!
//! - **github**: the human text as usual (the job log stays readable), then one
//!   `::error file=…,line=…,col=…,title=…::message` line per finding, which GitHub turns into an
//!   annotation on that line of the pull request. When `$GITHUB_STEP_SUMMARY` names a file, a
//!   Markdown summary is appended to it: the counts, each finding, and each drift diff in a
//!   fenced block.
//! - **sarif**: one SARIF log on stdout, with a rule entry (id, summary, help link) for every
//!   rule or check that produced a result.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{json, Value};

use super::Render;
use crate::diagnostic::{Code, Diagnostic, Severity};

/// Where the rule pages live, for help links.
const RULE_DOCS: &str = concat!(env!("CARGO_PKG_REPOSITORY"), "/blob/main/docs/rules");
/// Where the tool's own checks are described.
const CHECK_DOCS: &str = concat!(env!("CARGO_PKG_REPOSITORY"), "/blob/main/docs/check.md");

/// Escape the message of a workflow command.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a property of a workflow command.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// The message and its help, as one text.
fn full_message(d: &Diagnostic) -> String {
    match &d.help {
        Some(help) => format!("{}\nhelp: {help}", d.message),
        None => d.message.clone(),
    }
}

/// One workflow command for a finding; `relative` shows a path as the repository sees it.
pub fn github_annotation(d: &Diagnostic, relative: &dyn Fn(&Path) -> String) -> String {
    let command = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    };
    let mut props = Vec::new();
    if let Some(file) = &d.file {
        props.push(format!("file={}", escape_property(&relative(file))));
        if let Some(at) = d.location {
            props.push(format!("line={}", at.line));
            props.push(format!("col={}", at.column));
        }
    }
    let title = match &d.set {
        Some(set) => format!("{} ({set})", d.code.as_str()),
        None => d.code.as_str().to_string(),
    };
    props.push(format!("title={}", escape_property(&title)));
    format!(
        "::{command} {}::{}\n",
        props.join(","),
        escape_data(&full_message(d))
    )
}

/// The workflow command for an error that stopped `command`.
pub fn github_error(command: &str, error: &str) -> String {
    format!(
        "::error title={}::{}\n",
        escape_property(&format!("cargo migrate {command}")),
        escape_data(error)
    )
}

/// The job summary of a command that could not run.
pub fn github_error_summary(command: &str, error: &str) -> String {
    let fence = if error.contains("```") { "~~~~" } else { "```" };
    format!(
        "### cargo migrate {command}\n\n**Could not run** (exit 2):\n\n{fence}\n{error}\n{fence}\n"
    )
}

/// The Markdown job summary of a report.
pub fn github_summary(
    command: &str,
    report: &dyn Render,
    relative: &dyn Fn(&Path) -> String,
) -> String {
    let findings = report.findings();
    let count = |s: Severity| findings.iter().filter(|d| d.severity == s).count();
    let mut out = format!("### cargo migrate {command}\n\n");
    if findings.is_empty() {
        out.push_str("No findings.\n");
    } else {
        let _ = writeln!(
            out,
            "{} errors, {} warnings, {} notes\n",
            count(Severity::Error),
            count(Severity::Warning),
            count(Severity::Info)
        );
        out.push_str(
            "| severity | code | set | where | message |\n| --- | --- | --- | --- | --- |\n",
        );
        for d in &findings {
            let at = match (&d.file, d.location) {
                (Some(f), Some(l)) => format!("{}:{}:{}", relative(f), l.line, l.column),
                (Some(f), None) => relative(f),
                _ => String::new(),
            };
            let cell = |t: &str| t.replace('|', "\\|").replace('\n', " ");
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {} | {} |",
                d.severity.as_str(),
                d.code.as_str(),
                cell(d.set.as_deref().unwrap_or("")),
                cell(&at),
                cell(&d.message)
            );
        }
    }
    for (title, diff) in report.diffs() {
        let fence = if diff.contains("```") { "~~~~" } else { "```" };
        let _ = write!(
            out,
            "\n<details><summary>{}</summary>\n\n{fence}diff\n{}{}{fence}\n\n</details>\n",
            relative(Path::new(&title)),
            diff,
            if diff.ends_with('\n') { "" } else { "\n" }
        );
    }
    out
}

/// The help page of a finding's code.
fn help_uri(code: Code) -> String {
    match code {
        Code::Rule(id) => format!("{RULE_DOCS}/{id}.md"),
        Code::Problem(_) => CHECK_DOCS.to_string(),
    }
}

/// What a code checks, in one line.
fn summary(code: Code) -> String {
    match code {
        Code::Rule(id) => crate::lint::rules::find(id)
            .map(|r| r.info().summary.to_string())
            .unwrap_or_else(|| id.to_string()),
        Code::Problem(p) => p.id().replace('-', " "),
    }
}

/// The SARIF 2.1.0 log of a report. `error` is what stopped the command, if anything did.
pub fn sarif_log(
    report: &dyn Render,
    error: Option<&str>,
    relative: &dyn Fn(&Path) -> String,
) -> Value {
    let findings = report.findings();
    let mut codes: Vec<Code> = Vec::new();
    for d in &findings {
        if !codes.contains(&d.code) {
            codes.push(d.code);
        }
    }
    codes.sort_by_key(|c| c.as_str());
    let rules: Vec<Value> = codes
        .iter()
        .map(|c| {
            json!({
                "id": c.as_str(),
                "name": c.as_str(),
                "shortDescription": { "text": summary(*c) },
                "helpUri": help_uri(*c),
            })
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|d| {
            let level = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "note",
            };
            let mut result = json!({
                "ruleId": d.code.as_str(),
                "ruleIndex": codes.iter().position(|c| *c == d.code).unwrap_or(0),
                "level": level,
                "message": { "text": full_message(d) },
            });
            if let Some(file) = &d.file {
                let mut physical = json!({
                    "artifactLocation": { "uri": relative(file).replace('\\', "/") },
                });
                if let Some(at) = d.location {
                    physical["region"] = json!({
                        "startLine": at.line.max(1),
                        "startColumn": at.column.max(1),
                    });
                }
                result["locations"] = json!([{ "physicalLocation": physical }]);
            }
            if let Some(set) = &d.set {
                result["properties"] = json!({ "set": set });
            }
            result
        })
        .collect();
    let mut invocation = json!({ "executionSuccessful": error.is_none() });
    if let Some(error) = error {
        invocation["toolExecutionNotifications"] = json!([{
            "level": "error",
            "message": { "text": error },
        }]);
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "cargo-migrate",
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": env!("CARGO_PKG_REPOSITORY"),
                    "rules": rules,
                }
            },
            "invocations": [invocation],
            "results": results,
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{Location, Problem};

    #[test]
    fn annotations_escape_what_github_would_misread() {
        let mut d = Diagnostic::error(Problem::SchemaDrift, "100% off,\nreally: yes");
        d.file = Some("/w/src/schema,1.rs".into());
        d.location = Some(Location { line: 3, column: 7 });
        d.set = Some("api".into());
        let line = github_annotation(&d, &|p| p.display().to_string());
        assert_eq!(
            line,
            "::error file=/w/src/schema%2C1.rs,line=3,col=7,title=schema-drift (api)::100%25 off,%0Areally: yes\n"
        );
    }
}
