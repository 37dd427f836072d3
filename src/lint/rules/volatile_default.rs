//! `volatile-default`: a new PostgreSQL column on an existing table whose default is volatile
//! (`random()`, `gen_random_uuid()`, `uuid_generate_v4()`, `clock_timestamp()`, `nextval()`,
//! or a `serial` type).
//!
//! Since PostgreSQL 11 a constant or stable default (`0`, `'x'`, `now()`,
//! `CURRENT_TIMESTAMP`) is stored once in the catalog and the column is added instantly. A
//! volatile default must be computed per row, so the whole table is rewritten under an ACCESS
//! EXCLUSIVE lock.
//!
//! Safe pattern: add the column without a default (or with a constant one), backfill it in
//! batches, then `ALTER COLUMN … SET DEFAULT` the volatile expression for new rows.

use crate::lint::config::Level;
use crate::lint::model::Action;

use super::{Finding, Rule, RuleInfo, StmtCx, POSTGRES};

pub const ID: &str = "volatile-default";

pub struct VolatileDefault;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Warn,
    backends: POSTGRES,
    summary: "new column with a volatile default rewrites an existing table",
    on_down: false,
};

const VOLATILE: &[&str] = &[
    "random(",
    "gen_random_uuid(",
    "uuid_generate_v1(",
    "uuid_generate_v1mc(",
    "uuid_generate_v4(",
    "gen_random_bytes(",
    "clock_timestamp(",
    "timeofday(",
    "nextval(",
    "txid_current(",
    "setseed(",
];

const SERIAL: &[&str] = &[
    "smallserial",
    "serial",
    "bigserial",
    "serial2",
    "serial4",
    "serial8",
];

impl Rule for VolatileDefault {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_statement(&self, cx: &StmtCx<'_>, out: &mut Vec<Finding>) {
        for act in &cx.facts.actions {
            let Action::AddColumn { table, column: c } = &act.action else {
                continue;
            };
            if !cx.is_existing_table(table) {
                continue;
            }
            let what = if let Some(f) = c.default.as_ref().and_then(|d| {
                VOLATILE
                    .iter()
                    .find(|f| d.text.replace(' ', "").contains(*f))
            }) {
                format!("default `{})`", f)
            } else if SERIAL.contains(&c.type_key().as_str()) {
                format!("type `{}` (its default calls nextval())", c.ty)
            } else {
                continue;
            };
            out.push(cx.finding(
                ID,
                act.at,
                format!(
                    "new column `{table}.{}` has the volatile {what}: PostgreSQL computes it for every existing row, rewriting `{table}` under an ACCESS EXCLUSIVE lock",
                    c.name
                ),
                format!(
                    "add `{}` without a default (or with a constant one), backfill it in batches, then \
                     `ALTER TABLE {table} ALTER COLUMN {} SET DEFAULT ...` for new rows",
                    c.name, c.name
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::lint::testing::{lint_errors, Case};

    #[test]
    fn fires_on_volatile_defaults() {
        let d = Case::pg("ALTER TABLE users ADD COLUMN token UUID DEFAULT gen_random_uuid();")
            .fires(ID);
        assert!(
            d[0].message.contains("gen_random_uuid()"),
            "{}",
            d[0].message
        );
        Case::pg("ALTER TABLE users ADD COLUMN seen TIMESTAMPTZ DEFAULT clock_timestamp();")
            .fires(ID);
        Case::pg("ALTER TABLE users ADD COLUMN n BIGSERIAL;").fires(ID);
    }

    #[test]
    fn quiet_on_stable_defaults_and_new_tables() {
        Case::pg(
            "ALTER TABLE users ADD COLUMN created_at TIMESTAMPTZ NOT NULL DEFAULT now();\n\
                  ALTER TABLE users ADD COLUMN updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP;\n\
                  ALTER TABLE users ADD COLUMN flag BOOLEAN DEFAULT false;",
        )
        .quiet(ID);
        Case::pg("CREATE TABLE t (id INT);\nALTER TABLE t ADD COLUMN token UUID DEFAULT gen_random_uuid();").quiet(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(lint_errors(
            "ALTER TABLE users ADD COLUMN token UUID DEFAULT gen_random_uuid();\n\
             ALTER TABLE users ADD COLUMN n BIGSERIAL;",
            ID
        ));
    }
}
