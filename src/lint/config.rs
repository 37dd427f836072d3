//! Lint configuration from Cargo metadata.
//!
//! ```toml
//! [workspace.metadata.migrate.lint]      # or [package.metadata.migrate.lint]
//! drop-column = "deny"                   # any rule id: "allow" | "warn" | "deny"
//! missing-down-sql = "allow"
//! lint-after = "2024-01-01-000000"       # only lint migrations newer than this version
//! ```
//!
//! The package table wins over the workspace table, key by key. A key that is not a rule id,
//! or a level that is not one of the three, is an error naming the key and the valid values,
//! so a typo never silently keeps a default.

use std::collections::HashMap;

use serde_json::Value;

use crate::diagnostic::Severity;

use super::rules;

/// What to do with a rule's findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Drop the findings.
    Allow,
    /// Report them as warnings.
    Warn,
    /// Report them as errors.
    Deny,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Allow => "allow",
            Level::Warn => "warn",
            Level::Deny => "deny",
        }
    }

    /// The severity of a finding at this level; `None` for `Allow`.
    pub fn severity(self) -> Option<Severity> {
        match self {
            Level::Allow => None,
            Level::Warn => Some(Severity::Warning),
            Level::Deny => Some(Severity::Error),
        }
    }

    fn parse(s: &str) -> Option<Level> {
        match s {
            "allow" => Some(Level::Allow),
            "warn" => Some(Level::Warn),
            "deny" => Some(Level::Deny),
            _ => None,
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Per-rule levels and the `lint-after` cut-off for one migration set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LintConfig {
    /// Overrides of the rules' default levels, by rule id.
    pub levels: HashMap<String, Level>,
    /// Only migrations whose version sorts after this one are linted (digits only, as diesel
    /// stores versions: dashes are removed).
    pub lint_after: Option<String>,
    /// The set's `init-sql` entries, which run on every connection before a migration (a
    /// `SET lock_timeout` there counts for `lock-timeout-missing`).
    pub init_sql: Vec<String>,
}

impl LintConfig {
    /// Merge `[workspace.metadata.migrate.lint]` (`ws`) and `[package.metadata.migrate.lint]`
    /// (`pkg`), both as cargo_metadata gives them (possibly `Null`). The package wins.
    pub fn from_metadata(ws: Option<&Value>, pkg: Option<&Value>) -> Result<LintConfig, String> {
        let mut config = LintConfig::default();
        config.merge(ws, "[workspace.metadata.migrate.lint]")?;
        config.merge(pkg, "[package.metadata.migrate.lint]")?;
        Ok(config)
    }

    fn merge(&mut self, value: Option<&Value>, table: &str) -> Result<(), String> {
        let map = match value {
            None | Some(Value::Null) => return Ok(()),
            Some(Value::Object(map)) => map,
            Some(other) => {
                return Err(format!(
                    "{table} must be a table of rule levels, found `{other}`; \
                     for example `drop-column = \"deny\"`"
                ))
            }
        };
        for (key, value) in map {
            if key == "lint-after" || key == "lint_after" {
                let version = match value {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    other => {
                        return Err(format!(
                            "{table} `{key}` must be a migration version such as \
                             \"2024-01-01-000000\", found `{other}`"
                        ))
                    }
                };
                let version: String = version.chars().filter(|c| *c != '-').collect();
                if version.is_empty() {
                    return Err(format!(
                        "{table} `{key}` is empty; give a migration version"
                    ));
                }
                self.lint_after = Some(version);
                continue;
            }
            if rules::find(key).is_none() {
                let ids: Vec<&str> = rules::all().iter().map(|r| r.info().id).collect();
                return Err(format!(
                    "{table} has unknown key `{key}`; valid keys are `lint-after` and the rule ids: {}",
                    ids.join(", ")
                ));
            }
            let level = value.as_str().and_then(Level::parse).ok_or_else(|| {
                format!(
                    "{table} `{key}` has level `{value}`; valid levels are \"allow\", \"warn\" and \"deny\""
                )
            })?;
            if key == rules::unresolved_todo::ID && level != Level::Deny {
                return Err(format!(
                    "{table} `{key}` cannot be lowered to \"{level}\": a todo marker stands for a \
                     decision nobody has made yet; resolve the marker and delete it instead"
                ));
            }
            self.levels.insert(key.clone(), level);
        }
        Ok(())
    }

    /// The effective level of a rule.
    pub fn level(&self, rule_id: &str) -> Level {
        if let Some(level) = self.levels.get(rule_id) {
            return *level;
        }
        rules::find(rule_id)
            .map(|r| r.info().default_level)
            .unwrap_or(Level::Warn)
    }

    /// Whether migrations of this version are linted (diesel compares versions as strings).
    pub fn lints_version(&self, version: &str) -> bool {
        match &self.lint_after {
            None => true,
            Some(after) => version > after.as_str(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn package_wins_over_workspace() {
        let ws = json!({"drop-column": "deny", "drop-table": "allow", "lint-after": "2024-01-01-000000"});
        let pkg = json!({"drop-column": "warn"});
        let c = LintConfig::from_metadata(Some(&ws), Some(&pkg)).unwrap();
        assert_eq!(c.level("drop-column"), Level::Warn);
        assert_eq!(c.level("drop-table"), Level::Allow);
        assert_eq!(c.lint_after.as_deref(), Some("20240101000000"));
        assert!(c.lints_version("20240102000000"));
        assert!(!c.lints_version("20240101000000"));
    }

    #[test]
    fn null_and_missing_give_defaults() {
        let c = LintConfig::from_metadata(Some(&Value::Null), None).unwrap();
        assert!(c.levels.is_empty());
        assert_eq!(c.level("concurrently-in-transaction"), Level::Deny);
        assert_eq!(c.level("drop-column"), Level::Warn);
    }

    #[test]
    fn unknown_rule_is_an_error_listing_valid_ids() {
        let e = LintConfig::from_metadata(None, Some(&json!({"drop-colum": "deny"}))).unwrap_err();
        assert!(e.contains("`drop-colum`"), "{e}");
        assert!(e.contains("drop-column"), "{e}");
        assert!(e.contains("[package.metadata.migrate.lint]"), "{e}");
    }

    #[test]
    fn unknown_level_is_an_error_listing_levels() {
        let e = LintConfig::from_metadata(Some(&json!({"drop-table": "error"})), None).unwrap_err();
        assert!(e.contains("`drop-table`") && e.contains("\"deny\""), "{e}");
        let e = LintConfig::from_metadata(Some(&json!(["x"])), None).unwrap_err();
        assert!(e.contains("must be a table"), "{e}");
    }

    #[test]
    fn numeric_lint_after_is_accepted() {
        let c = LintConfig::from_metadata(None, Some(&json!({"lint_after": 20240101000000u64})))
            .unwrap();
        assert_eq!(c.lint_after.as_deref(), Some("20240101000000"));
    }
}
