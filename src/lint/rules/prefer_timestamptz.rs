//! `prefer-timestamptz`: a PostgreSQL column of type `TIMESTAMP` (`TIMESTAMP WITHOUT TIME
//! ZONE`) in a new table, an added column or a type change.
//!
//! `timestamp` stores a wall-clock reading without its offset: the same value means different
//! instants for clients in different time zones, and arithmetic across a daylight-saving change
//! is off by an hour. `timestamptz` stores the instant (in UTC) and converts on the way in and
//! out; it takes the same 8 bytes. Diesel maps it to `Timestamptz`, which reads into
//! `chrono::DateTime<Utc>` or `time::OffsetDateTime`. No lock is involved: this is about the
//! schema, not about running the migration (changing an existing column's type is
//! `change-column-type`'s finding).
//!
//! Safe pattern: `TIMESTAMPTZ` (`TIMESTAMP WITH TIME ZONE`).

use crate::lint::config::Level;
use crate::lint::model::type_key;

use super::{Finding, Rule, RuleInfo, StmtCx, POSTGRES};

pub const ID: &str = "prefer-timestamptz";

pub struct PreferTimestamptz;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Warn,
    backends: POSTGRES,
    summary: "TIMESTAMP without time zone in a new column, where TIMESTAMPTZ keeps the instant",
    on_down: false,
};

/// `timestamp`, `timestamp(3)`, `timestamp without time zone`, arrays of them.
pub fn without_time_zone(ty: &str) -> bool {
    let key = type_key(ty);
    (key == "timestamp" && !ty.contains(" with time zone")) || key == "timestamp without time zone"
}

impl Rule for PreferTimestamptz {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_statement(&self, cx: &StmtCx<'_>, out: &mut Vec<Finding>) {
        for (name, ty, at) in cx.typed_columns() {
            if !without_time_zone(ty) {
                continue;
            }
            out.push(cx.finding(
                ID,
                at,
                format!(
                    "column `{name}` is TIMESTAMP without time zone: it stores a wall-clock \
                         reading, not an instant"
                ),
                "use TIMESTAMPTZ, which stores the instant in UTC and converts for each \
                     client (diesel: `Timestamptz`)",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{without_time_zone, ID};
    use crate::lint::testing::{at, lint_errors, Case};

    #[test]
    fn recognises_the_spellings() {
        for ty in [
            "timestamp",
            "timestamp(3)",
            "timestamp without time zone",
            "timestamp[]",
        ] {
            assert!(without_time_zone(ty), "{ty}");
        }
        for ty in [
            "timestamptz",
            "timestamp with time zone",
            "timestamp(3) with time zone",
            "date",
        ] {
            assert!(!without_time_zone(ty), "{ty}");
        }
    }

    #[test]
    fn fires_on_new_columns() {
        let d = Case::pg("CREATE TABLE events (id INT, at TIMESTAMP NOT NULL DEFAULT now());")
            .fires(ID);
        assert_eq!(at(&d[0]), (1, 33));
        Case::pg("ALTER TABLE events ADD COLUMN seen_at timestamp(3) without time zone;").fires(ID);
        Case::pg("ALTER TABLE events ALTER COLUMN at TYPE timestamp;").fires(ID);
    }

    #[test]
    fn quiet_on_timestamptz_or_allowed() {
        Case::pg("CREATE TABLE events (at TIMESTAMPTZ, b TIMESTAMP WITH TIME ZONE, d DATE);")
            .quiet(ID);
        Case::pg("-- cargo-migrate: allow(prefer-timestamptz): local opening hours\nALTER TABLE shops ADD COLUMN opens TIMESTAMP;")
            .quiet(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(lint_errors(
            "CREATE TABLE events (at TIMESTAMP NOT NULL);",
            ID
        ));
    }
}
