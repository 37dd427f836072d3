//! `--format github` and `--format sarif`: what CI systems show inline, made from the same
//! findings as the human and JSON output.

use crate::common::CliTest;

/// The SARIF 2.1.0 schema as OASIS publishes it (vendored: the tests run offline; see
/// tests/data/README.md for its one escaped character).
fn sarif_validator() -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/sarif-schema-2.1.0.json"
    )))
    .unwrap();
    jsonschema::draft7::new(&schema).unwrap()
}

fn assert_valid_sarif(doc: &serde_json::Value) {
    let validator = sarif_validator();
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "invalid SARIF:\n{}", errors.join("\n"));
}

#[test]
fn sarif_of_lint_findings_is_valid_and_complete() {
    let t = CliTest::fixture("lint-findings");
    let human = t.run(&["check", "--lint-only", "--format", "json"]).json();
    let run = t.run(&["check", "--lint-only", "--format", "sarif"]);
    run.assert_code(1);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_valid_sarif(&doc);
    // The validator does look: a level SARIF does not know fails it.
    let mut broken = doc.clone();
    broken["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!sarif_validator().is_valid(&broken));
    let results = doc["runs"][0]["results"].as_array().unwrap();
    let findings = human["sets"][0]["findings"].as_array().unwrap();
    assert_eq!(results.len(), findings.len());
    assert!(!results.is_empty());
    for (r, f) in results.iter().zip(findings) {
        assert_eq!(r["ruleId"], f["code"]);
        let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert!(uri.starts_with("migrations/"), "{uri}");
        assert_eq!(
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
            f["location"]["line"]
        );
    }
    let rules = doc["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    let concurrently = rules
        .iter()
        .find(|r| r["id"] == "concurrently-in-transaction")
        .unwrap();
    assert!(concurrently["helpUri"]
        .as_str()
        .unwrap()
        .ends_with("docs/rules/concurrently-in-transaction.md"));
    // Every rule a result names is described, at the index the result gives.
    for r in results {
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], r["ruleId"]);
    }
}

#[test]
fn sarif_of_a_command_that_could_not_run_says_so() {
    let t = CliTest::fixture("lint-findings");
    // A PostgreSQL set with no scratch server: check cannot replay it.
    let run = t.run(&["check", "--format", "sarif"]);
    run.assert_code(2);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_valid_sarif(&doc);
    let invocation = &doc["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    assert!(
        invocation["toolExecutionNotifications"][0]["message"]["text"]
            .as_str()
            .unwrap()
            .contains("needs a server")
    );
}

#[test]
fn github_annotations_and_job_summary() {
    let t = CliTest::fixture("drift").env("GITHUB_STEP_SUMMARY", "summary.md");
    let run = t.run(&["check", "--offline", "--format", "github"]);
    run.assert_code(1);
    let annotations: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert!(
        annotations.iter().any(
            |l| l.starts_with("::error file=src/schema.rs") && l.contains("title=schema-drift")
        ),
        "{}",
        run.stdout
    );
    // The human text is still there for the log.
    assert!(run.stdout.contains("check failed"), "{}", run.stdout);
    let summary = std::fs::read_to_string(t.path("summary.md")).unwrap();
    assert!(summary.starts_with("### cargo migrate check"), "{summary}");
    assert!(summary.contains("| error | `schema-drift`"), "{summary}");
    assert!(summary.contains("```diff\n"), "{summary}");
}

#[test]
fn github_annotations_escape_newlines_and_percent() {
    let t = CliTest::fixture("lint-findings");
    let run = t.run(&["check", "--lint-only", "--format", "github"]);
    for line in run.stdout.lines().filter(|l| l.starts_with("::")) {
        let (head, message) = line[2..].split_once("::").unwrap();
        assert!(["error ", "warning ", "notice "]
            .iter()
            .any(|c| head.starts_with(c)));
        assert!(message.contains("%0Ahelp: "), "{line}");
    }
}
