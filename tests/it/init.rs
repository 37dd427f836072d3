//! The CI workflow `init` writes runs as written on a workspace that mixes backends.

use crate::common::{CliTest, Server, TestDb};

/// The `KEY: value` lines of the workflow's job-level `env:` block.
fn workflow_env(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line == "    env:" {
            inside = true;
            continue;
        }
        if inside {
            if !line.starts_with("      ") {
                break;
            }
            let line = line.trim();
            if line.starts_with('#') {
                continue;
            }
            let (k, v) = line.split_once(": ").expect("KEY: value");
            out.push((k.to_string(), v.to_string()));
        }
    }
    out
}

#[test]
fn the_workflow_gives_each_set_a_database_of_its_own_backend() {
    let t = CliTest::fixture("three-backends");
    t.run(&["init"]).assert_success();
    let text = std::fs::read_to_string(t.path(".github/workflows/cargo-migrate.yml")).unwrap();
    let env = workflow_env(&text);
    let get = |k: &str| {
        env.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{k} missing from the workflow:\n{text}"))
    };
    assert_eq!(get("ANALYTICS_DATABASE_URL"), "ci-analytics.db");
    assert_eq!(
        get("CORE_DATABASE_URL"),
        "postgres://postgres@127.0.0.1:5432/core"
    );
    assert_eq!(
        get("BILLING_DATABASE_URL"),
        "mysql://root@127.0.0.1:3306/billing"
    );
    assert!(text.contains("CREATE DATABASE \"core\""), "{text}");
    assert!(text.contains("CREATE DATABASE `billing`"), "{text}");
    assert!(!env.iter().any(|(k, _)| k == "DATABASE_URL"), "{text}");

    // Run its apply and check steps here, with the servers' databases swapped for throwaway
    // ones (the workflow's own names belong to its CI services).
    let (Some(core), Some(billing)) = (
        TestDb::create(Server::Postgres, "init_core"),
        TestDb::create(Server::Mysql, "init_billing"),
    ) else {
        return;
    };
    let mut t = t;
    for (k, v) in &env {
        let v = v
            .replace(
                "127.0.0.1:5432/core",
                &format!("127.0.0.1:5432/{}", core.name),
            )
            .replace(
                "127.0.0.1:3306/billing",
                &format!("127.0.0.1:3306/{}", billing.name),
            );
        t = t.env(k, v);
    }
    // The fixture's web member has no migrations; core, billing and analytics do.
    t.run(&["apply"]).assert_success();
    // The fixture's core set names a schema file it does not ship.
    t.run(&["schema", "--write", "-p", "core"]).assert_success();
    let run = t.run(&["check"]);
    run.assert_success();
    assert!(
        t.path("analytics/ci-analytics.db").exists(),
        "{}",
        run.all()
    );
}
