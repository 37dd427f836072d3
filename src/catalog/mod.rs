//! The catalog of a database as plain data, and the difference between two catalogs.
//!
//! A [`Catalog`] holds every object a migration can create or change (tables, columns,
//! constraints, indexes, types, views, functions, triggers, policies, …), each keyed by its
//! [`Kind`] and its qualified name and described by normalised attributes: text that is the
//! same in two databases built by the same SQL (no OIDs, no database names). The readers live
//! in `db::catalog`, one per backend; this module only compares. [`diff`] gives one
//! [`Difference`] per object that is missing, extra or changed, with the SQL a person would run
//! on the live database to bring it back in line, when that can be derived.
//!
//! Each object also carries SQL the reader derived for it (`create`, `drop`, `replace` and
//! `fix.<attribute>`, which sets one attribute to this object's value). That SQL is never
//! compared: it only builds the fix-up of a difference.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// What an object is. The order is the order of a report: containers before what they hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A PostgreSQL schema.
    Schema,
    /// A PostgreSQL extension.
    Extension,
    /// An enum type.
    Enum,
    /// A domain.
    Domain,
    /// A composite type.
    CompositeType,
    /// A sequence.
    Sequence,
    /// A table (or a partition).
    Table,
    /// A table's column.
    Column,
    /// A primary key.
    PrimaryKey,
    /// A unique constraint.
    Unique,
    /// A foreign key.
    ForeignKey,
    /// A check constraint.
    Check,
    /// An exclusion constraint.
    Exclusion,
    /// An index that no constraint owns.
    Index,
    /// A view.
    View,
    /// A materialized view.
    MaterializedView,
    /// A function (or an aggregate).
    Function,
    /// A procedure.
    Procedure,
    /// A trigger.
    Trigger,
    /// A row-level security policy.
    Policy,
    /// A MySQL/MariaDB scheduled event.
    Event,
    /// The owner and the privileges granted on a PostgreSQL table, view, sequence, function,
    /// procedure or schema (compared only on request: `--drift-privileges`).
    Privileges,
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: &'static [Kind] = &[
        Kind::Schema,
        Kind::Extension,
        Kind::Enum,
        Kind::Domain,
        Kind::CompositeType,
        Kind::Sequence,
        Kind::Table,
        Kind::Column,
        Kind::PrimaryKey,
        Kind::Unique,
        Kind::ForeignKey,
        Kind::Check,
        Kind::Exclusion,
        Kind::Index,
        Kind::View,
        Kind::MaterializedView,
        Kind::Function,
        Kind::Procedure,
        Kind::Trigger,
        Kind::Policy,
        Kind::Event,
        Kind::Privileges,
    ];

    /// The stable kebab-case id (in JSON, in `--drift-ignore` patterns, from the readers).
    pub fn id(self) -> &'static str {
        match self {
            Kind::Schema => "schema",
            Kind::Extension => "extension",
            Kind::Enum => "enum",
            Kind::Domain => "domain",
            Kind::CompositeType => "composite-type",
            Kind::Sequence => "sequence",
            Kind::Table => "table",
            Kind::Column => "column",
            Kind::PrimaryKey => "primary-key",
            Kind::Unique => "unique",
            Kind::ForeignKey => "foreign-key",
            Kind::Check => "check",
            Kind::Exclusion => "exclusion",
            Kind::Index => "index",
            Kind::View => "view",
            Kind::MaterializedView => "materialized-view",
            Kind::Function => "function",
            Kind::Procedure => "procedure",
            Kind::Trigger => "trigger",
            Kind::Policy => "policy",
            Kind::Event => "event",
            Kind::Privileges => "privileges",
        }
    }

    /// The kind with this id.
    pub fn from_id(id: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.id() == id)
    }

    /// How a sentence names it.
    pub fn noun(self) -> &'static str {
        match self {
            Kind::CompositeType => "composite type",
            Kind::PrimaryKey => "primary key",
            Kind::Unique => "unique constraint",
            Kind::ForeignKey => "foreign key",
            Kind::Check => "check constraint",
            Kind::Exclusion => "exclusion constraint",
            Kind::MaterializedView => "materialized view",
            other => other.id(),
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.noun())
    }
}

/// One object of a catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Object {
    /// What it is.
    pub kind: Kind,
    /// Its qualified name (`public.users.email`; on MySQL and SQLite without the database).
    pub name: String,
    /// What is compared: normalised attributes by name.
    pub attrs: BTreeMap<String, String>,
    /// SQL derived for it (`create`, `drop`, `replace`, `fix.<attribute>`): never compared.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sql: BTreeMap<String, String>,
}

/// The objects of one database, in a deterministic order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Vec<Object>", into = "Vec<Object>")]
pub struct Catalog {
    objects: BTreeMap<(Kind, String), Object>,
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Catalog {
        Catalog::default()
    }

    /// Add an object (a second one with the same kind and name replaces the first).
    pub fn insert(&mut self, object: Object) {
        self.objects
            .insert((object.kind, object.name.clone()), object);
    }

    /// The object of `kind` named `name`.
    pub fn get(&self, kind: Kind, name: &str) -> Option<&Object> {
        self.objects.get(&(kind, name.to_string()))
    }

    /// Every object, in kind then name order.
    pub fn objects(&self) -> impl Iterator<Item = &Object> {
        self.objects.values()
    }

    /// How many objects it holds.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

impl From<Vec<Object>> for Catalog {
    fn from(objects: Vec<Object>) -> Catalog {
        let mut c = Catalog::new();
        for o in objects {
            c.insert(o);
        }
        c
    }
}

impl From<Catalog> for Vec<Object> {
    fn from(c: Catalog) -> Vec<Object> {
        c.objects.into_values().collect()
    }
}

/// How one attribute differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// The attribute.
    pub field: String,
    /// Its value in the expected catalog (the history), `None` when it has none.
    pub expected: Option<String>,
    /// Its value in the actual catalog (the live database).
    pub actual: Option<String>,
}

/// How an object differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum Change {
    /// The history has it, the database does not.
    Missing,
    /// The database has it, the history does not.
    Extra,
    /// Both have it, with different attributes.
    Changed {
        /// The attributes that differ, by name.
        fields: Vec<FieldChange>,
    },
}

/// One object that differs between the expected and the actual catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// What the object is.
    pub kind: Kind,
    /// Its qualified name.
    pub name: String,
    /// How it differs.
    #[serde(flatten)]
    pub change: Change,
    /// The SQL that brings the actual database in line with the expected one, when it can be
    /// derived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// Why there is no fix, or what to watch out for with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Difference {
    /// One sentence saying what differs, naming `database` (the live one).
    pub fn summary(&self, database: &str) -> String {
        let what = format!("{} `{}`", self.kind, self.name);
        match &self.change {
            Change::Missing => {
                format!("{what} is missing from the database {database}, though its applied migrations create it")
            }
            Change::Extra => {
                format!("{what} is in the database {database}, but no applied migration creates it")
            }
            Change::Changed { fields } => {
                let parts: Vec<String> = fields
                    .iter()
                    .map(|f| {
                        if is_long(f.expected.as_deref()) || is_long(f.actual.as_deref()) {
                            format!("its {} differs (diff below)", f.field)
                        } else {
                            format!(
                                "{} {} in the database, {} in the migrations",
                                f.field,
                                shown(f.actual.as_deref()),
                                shown(f.expected.as_deref())
                            )
                        }
                    })
                    .collect();
                format!(
                    "{what} differs in the database {database}: {}",
                    parts.join("; ")
                )
            }
        }
    }

    /// The attributes too long for one line, as (field, expected, actual), for a diff.
    pub fn long_fields(&self) -> Vec<(&str, &str, &str)> {
        match &self.change {
            Change::Changed { fields } => fields
                .iter()
                .filter(|f| is_long(f.expected.as_deref()) || is_long(f.actual.as_deref()))
                .map(|f| {
                    (
                        f.field.as_str(),
                        f.expected.as_deref().unwrap_or(""),
                        f.actual.as_deref().unwrap_or(""),
                    )
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// Values shown as a diff rather than inline: several lines, long, or holding backticks (a
/// MySQL definition), which would not read inside the message's own quotes.
fn is_long(v: Option<&str>) -> bool {
    v.is_some_and(|v| v.contains('\n') || v.contains('`') || v.chars().count() > 100)
}

fn shown(v: Option<&str>) -> String {
    match v {
        Some(v) => format!("`{v}`"),
        None => "none".to_string(),
    }
}

/// The differences between `expected` (the history) and `actual` (the live database), one per
/// object, in kind then name order.
pub fn diff(expected: &Catalog, actual: &Catalog) -> Vec<Difference> {
    let mut out = Vec::new();
    for (key, want) in &expected.objects {
        match actual.objects.get(key) {
            None => out.push(Difference {
                kind: want.kind,
                name: want.name.clone(),
                change: Change::Missing,
                fix: want.sql.get("create").cloned(),
                note: (!want.sql.contains_key("create")).then(|| {
                    "no statement can be derived: write it from the migration that creates it"
                        .to_string()
                }),
            }),
            Some(have) => {
                let fields = changed_fields(want, have);
                if fields.is_empty() {
                    continue;
                }
                let (fix, note) = fix_change(want, have, &fields);
                out.push(Difference {
                    kind: want.kind,
                    name: want.name.clone(),
                    change: Change::Changed { fields },
                    fix,
                    note,
                });
            }
        }
    }
    for (key, have) in &actual.objects {
        if expected.objects.contains_key(key) {
            continue;
        }
        out.push(Difference {
            kind: have.kind,
            name: have.name.clone(),
            change: Change::Extra,
            fix: have.sql.get("drop").cloned(),
            note: (!have.sql.contains_key("drop")).then(|| {
                "no statement can be derived: drop it by hand, or add a migration that creates it"
                    .to_string()
            }),
        });
    }
    out.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    // A table whose only change is its definition text (SQLite) because a column was added,
    // dropped or renamed in place (`ALTER TABLE`, which edits only that column's part of the
    // text) is reported by those columns alone. After anything else (a rebuild) the text may
    // hide more, such as a lost CHECK, so the table is reported too.
    let of_table = |o: &Difference, table: &str| {
        o.kind != Kind::Table
            && o.name
                .strip_prefix(table)
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('('))
    };
    let explained: Vec<String> = out
        .iter()
        .filter(|d| {
            d.kind == Kind::Table
                && matches!(&d.change, Change::Changed { fields } if fields.iter().all(|f| f.field == "definition"))
                && out.iter().any(|o| of_table(o, &d.name))
                && out.iter().filter(|o| of_table(o, &d.name)).all(|o| {
                    o.kind == Kind::Column && matches!(o.change, Change::Missing | Change::Extra)
                })
        })
        .map(|d| d.name.clone())
        .collect();
    out.retain(|d| !(d.kind == Kind::Table && explained.contains(&d.name)));
    out
}

fn changed_fields(want: &Object, have: &Object) -> Vec<FieldChange> {
    let mut names: Vec<&String> = want.attrs.keys().chain(have.attrs.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|field| {
            let (e, a) = (want.attrs.get(field), have.attrs.get(field));
            (e != a).then(|| FieldChange {
                field: field.clone(),
                expected: e.cloned(),
                actual: a.cloned(),
            })
        })
        .collect()
}

/// The fix-up of a changed object: every changed attribute's own `fix.<field>` when each has
/// one, else the expected object's `replace`, else dropping the live object and creating the
/// expected one; enum labels get `ADD VALUE` when the database only lacks some.
fn fix_change(
    want: &Object,
    have: &Object,
    fields: &[FieldChange],
) -> (Option<String>, Option<String>) {
    if want.kind == Kind::Enum {
        if let Some(f) = fields.iter().find(|f| f.field == "labels") {
            return enum_fix(want, f);
        }
    }
    let own: Option<Vec<&String>> = fields
        .iter()
        .map(|f| want.sql.get(&format!("fix.{}", f.field)))
        .collect();
    if let Some(own) = own {
        let mut stmts: Vec<&String> = own;
        stmts.dedup();
        return (
            Some(
                stmts
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            None,
        );
    }
    if let Some(replace) = want.sql.get("replace") {
        return (Some(replace.clone()), None);
    }
    // Dropping a table or a column loses its rows: never offered as a fix of a change.
    let keeps_data = matches!(want.kind, Kind::Table | Kind::Column);
    match (have.sql.get("drop"), want.sql.get("create")) {
        (Some(drop), Some(create)) if !keeps_data => (
            Some(format!("{drop}\n{create}")),
            Some("dropping it also drops what depends on it".to_string()),
        ),
        _ => (
            None,
            Some(match want.kind {
                Kind::Table | Kind::Column => "no statement can be derived: rebuild the table by hand, or put the change in a migration".to_string(),
                _ => "no statement can be derived: undo the change by hand, or put it in a migration".to_string(),
            }),
        ),
    }
}

/// Enum labels: the database lacking labels gets them added; a label the database has and the
/// history does not cannot be removed in place.
fn enum_fix(want: &Object, f: &FieldChange) -> (Option<String>, Option<String>) {
    let labels = |v: Option<&String>| -> Vec<String> {
        v.and_then(|v| serde_json::from_str::<Vec<String>>(v).ok())
            .unwrap_or_default()
    };
    let (expected, actual) = (labels(f.expected.as_ref()), labels(f.actual.as_ref()));
    let extra: Vec<&String> = actual.iter().filter(|l| !expected.contains(l)).collect();
    let kept: Vec<&String> = expected.iter().filter(|l| actual.contains(l)).collect();
    let same_order = actual
        .iter()
        .filter(|l| expected.contains(l))
        .eq(kept.iter().copied());
    if !extra.is_empty() || !same_order {
        return (
            None,
            Some(format!(
                "an enum label cannot be removed or moved in place: re-create the type (rename it, create it with the labels {}, convert the columns, drop the old one), or add the change in a migration",
                expected.iter().map(|l| quote_literal(l)).collect::<Vec<_>>().join(", ")
            )),
        );
    }
    let Some(name) = want.sql.get("type_name") else {
        return (None, None);
    };
    let stmts: Vec<String> = expected
        .iter()
        .enumerate()
        .filter(|(_, l)| !actual.contains(l))
        .map(|(i, l)| {
            let place = match i {
                0 => expected
                    .get(1)
                    .map(|n| format!(" BEFORE {}", quote_literal(n)))
                    .unwrap_or_default(),
                _ => format!(" AFTER {}", quote_literal(&expected[i - 1])),
            };
            format!("ALTER TYPE {name} ADD VALUE {}{place};", quote_literal(l))
        })
        .collect();
    (Some(stmts.join("\n")), None)
}

/// A SQL string literal.
pub fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A `KIND:PATTERN` from `--drift-ignore` or `drift-ignore = [...]`: objects of that kind
/// (`*` for any) whose name matches the glob (`*` any run of characters, `?` one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnorePattern {
    kind: Option<Kind>,
    pattern: String,
}

impl IgnorePattern {
    /// Parse `KIND:PATTERN`; the error says what is wrong and lists the kinds.
    pub fn parse(text: &str) -> Result<IgnorePattern, String> {
        let Some((kind, pattern)) = text.split_once(':') else {
            return Err(format!(
                "`{text}` is not KIND:PATTERN (for example `index:public.tmp_*`, or `*:audit.*`)"
            ));
        };
        let kind = match kind.trim() {
            "*" => None,
            k => Some(Kind::from_id(k).ok_or_else(|| {
                format!(
                    "`{k}` in `{text}` is not a kind of object; the kinds are {}, or `*`",
                    Kind::ALL
                        .iter()
                        .map(|k| k.id())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?),
        };
        Ok(IgnorePattern {
            kind,
            pattern: pattern.trim().to_string(),
        })
    }

    /// Whether a difference of `kind` on `name` is ignored.
    pub fn matches(&self, kind: Kind, name: &str) -> bool {
        self.kind.is_none_or(|k| k == kind) && glob(&self.pattern, name)
    }
}

/// `*` and `?` globbing, over characters.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Owners and privileges depend on who ran the migrations and on roles that live outside the
/// database, so live drift leaves them out unless asked (`--drift-privileges`); nothing counts
/// them as ignored then.
pub fn leave_out_privileges(diffs: Vec<Difference>, compare: bool) -> Vec<Difference> {
    if compare {
        return diffs;
    }
    diffs
        .into_iter()
        .filter(|d| d.kind != Kind::Privileges)
        .collect()
}

/// Split differences into the ones kept and the number ignored by `patterns`.
pub fn apply_ignores(
    diffs: Vec<Difference>,
    patterns: &[IgnorePattern],
) -> (Vec<Difference>, usize) {
    let before = diffs.len();
    let kept: Vec<Difference> = diffs
        .into_iter()
        .filter(|d| !patterns.iter().any(|p| p.matches(d.kind, &d.name)))
        .collect();
    let ignored = before - kept.len();
    (kept, ignored)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(kind: Kind, name: &str, attrs: &[(&str, &str)], sql: &[(&str, &str)]) -> Object {
        Object {
            kind,
            name: name.into(),
            attrs: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            sql: sql
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn cat(objects: Vec<Object>) -> Catalog {
        let mut c = Catalog::new();
        for o in objects {
            c.insert(o);
        }
        c
    }

    #[test]
    fn equal_catalogs_have_no_difference_whatever_their_sql() {
        let a = cat(vec![obj(
            Kind::Index,
            "public.i",
            &[("definition", "CREATE INDEX i ON public.t USING btree (a)")],
            &[("drop", "DROP INDEX public.i;")],
        )]);
        let mut b = a.clone();
        b.insert(obj(
            Kind::Index,
            "public.i",
            &[("definition", "CREATE INDEX i ON public.t USING btree (a)")],
            &[],
        ));
        assert!(diff(&a, &b).is_empty());
    }

    #[test]
    fn missing_extra_and_changed_objects_each_give_one_difference_with_a_fix() {
        let expected = cat(vec![
            obj(
                Kind::ForeignKey,
                "public.posts.posts_user_id_fkey",
                &[("definition", "FOREIGN KEY (user_id) REFERENCES users(id)")],
                &[("create", "ALTER TABLE public.posts ADD CONSTRAINT …;")],
            ),
            obj(
                Kind::Column,
                "public.users.role",
                &[("default", "'user'::text"), ("type", "text")],
                &[
                    (
                        "fix.default",
                        "ALTER TABLE public.users ALTER COLUMN role SET DEFAULT 'user'::text;",
                    ),
                    ("fix.type", "ALTER TABLE …;"),
                ],
            ),
        ]);
        let actual = cat(vec![
            obj(
                Kind::Column,
                "public.users.role",
                &[("default", "'admin'::text"), ("type", "text")],
                &[],
            ),
            obj(
                Kind::Index,
                "public.users_hot_idx",
                &[("definition", "CREATE INDEX …")],
                &[("drop", "DROP INDEX public.users_hot_idx;")],
            ),
        ]);
        let d = diff(&expected, &actual);
        assert_eq!(d.len(), 3);
        assert_eq!(
            (d[0].kind, d[0].change.clone(), d[0].fix.as_deref()),
            (
                Kind::Column,
                Change::Changed {
                    fields: vec![FieldChange {
                        field: "default".into(),
                        expected: Some("'user'::text".into()),
                        actual: Some("'admin'::text".into())
                    }]
                },
                Some("ALTER TABLE public.users ALTER COLUMN role SET DEFAULT 'user'::text;")
            )
        );
        assert_eq!(
            d[0].summary("db"),
            "column `public.users.role` differs in the database db: default `'admin'::text` in the database, `'user'::text` in the migrations"
        );
        assert_eq!(d[1].kind, Kind::ForeignKey);
        assert_eq!(d[1].change, Change::Missing);
        assert_eq!(
            d[1].fix.as_deref(),
            Some("ALTER TABLE public.posts ADD CONSTRAINT …;")
        );
        assert_eq!(d[2].kind, Kind::Index);
        assert_eq!(d[2].change, Change::Extra);
        assert_eq!(
            d[2].fix.as_deref(),
            Some("DROP INDEX public.users_hot_idx;")
        );
    }

    #[test]
    fn a_change_without_its_own_fix_is_replaced_or_recreated() {
        let want = obj(
            Kind::View,
            "v",
            &[("definition", "SELECT 1")],
            &[("replace", "CREATE OR REPLACE VIEW v AS SELECT 1;")],
        );
        let have = obj(Kind::View, "v", &[("definition", "SELECT 2")], &[]);
        let d = diff(&cat(vec![want]), &cat(vec![have]));
        assert_eq!(
            d[0].fix.as_deref(),
            Some("CREATE OR REPLACE VIEW v AS SELECT 1;")
        );
        let want = obj(
            Kind::Trigger,
            "t.tr",
            &[("definition", "A")],
            &[("create", "CREATE TRIGGER A;")],
        );
        let have = obj(
            Kind::Trigger,
            "t.tr",
            &[("definition", "B")],
            &[("drop", "DROP TRIGGER tr;")],
        );
        let d = diff(&cat(vec![want]), &cat(vec![have]));
        assert_eq!(
            d[0].fix.as_deref(),
            Some("DROP TRIGGER tr;\nCREATE TRIGGER A;")
        );
        let table = |v| obj(Kind::Table, "t", &[("definition", v)], &[]);
        let d = diff(&cat(vec![table("a")]), &cat(vec![table("b")]));
        assert_eq!(d[0].fix, None);
        assert!(d[0].note.as_deref().unwrap().contains("rebuild the table"));
        // A table changed through a column it holds is reported by the column alone.
        let column = obj(
            Kind::Column,
            "t.c",
            &[("type", "TEXT")],
            &[("drop", "ALTER TABLE t DROP COLUMN c;")],
        );
        let d = diff(&cat(vec![table("a")]), &cat(vec![table("b"), column]));
        assert_eq!(d.len(), 1);
        assert_eq!(
            (d[0].kind, d[0].fix.as_deref()),
            (Kind::Column, Some("ALTER TABLE t DROP COLUMN c;"))
        );
    }

    #[test]
    fn enum_labels_the_database_lacks_are_added_and_extra_ones_cannot_be_removed() {
        let e = |labels: &str, sql: &[(&str, &str)]| {
            obj(Kind::Enum, "public.role", &[("labels", labels)], sql)
        };
        let want = e(
            r#"["user","staff","admin"]"#,
            &[("type_name", "public.role")],
        );
        let d = diff(
            &cat(vec![want.clone()]),
            &cat(vec![e(r#"["user","admin"]"#, &[])]),
        );
        assert_eq!(
            d[0].fix.as_deref(),
            Some("ALTER TYPE public.role ADD VALUE 'staff' AFTER 'user';")
        );
        let d = diff(
            &cat(vec![want]),
            &cat(vec![e(r#"["user","staff","admin","superuser"]"#, &[])]),
        );
        assert_eq!(d[0].fix, None);
        assert!(d[0].note.as_deref().unwrap().contains("cannot be removed"));
    }

    #[test]
    fn long_values_are_left_to_a_diff() {
        let f = |body: &str| obj(Kind::Function, "public.f()", &[("definition", body)], &[]);
        let d = diff(
            &cat(vec![f("BEGIN\n  RETURN 1;\nEND")]),
            &cat(vec![f("BEGIN\n  RETURN 2;\nEND")]),
        );
        assert_eq!(
            d[0].summary("db"),
            "function `public.f()` differs in the database db: its definition differs (diff below)"
        );
        assert_eq!(d[0].long_fields().len(), 1);
        let v = |def: &str| obj(Kind::View, "v", &[("definition", def)], &[]);
        let d = diff(
            &cat(vec![v("select `t`.`a`")]),
            &cat(vec![v("select `t`.`b`")]),
        );
        assert_eq!(
            d[0].summary("db"),
            "view `v` differs in the database db: its definition differs (diff below)"
        );
    }

    #[test]
    fn ignore_patterns_match_kind_and_glob() {
        let p = IgnorePattern::parse("index:public.tmp_*").unwrap();
        assert!(p.matches(Kind::Index, "public.tmp_x"));
        assert!(!p.matches(Kind::Index, "public.users_idx"));
        assert!(!p.matches(Kind::Trigger, "public.tmp_x"));
        let any = IgnorePattern::parse("*:audit.?").unwrap();
        assert!(any.matches(Kind::Table, "audit.a"));
        assert!(!any.matches(Kind::Table, "audit.ab"));
        assert!(IgnorePattern::parse("nope")
            .unwrap_err()
            .contains("KIND:PATTERN"));
        assert!(IgnorePattern::parse("idx:x")
            .unwrap_err()
            .contains("the kinds are schema"));
        let d = Difference {
            kind: Kind::Index,
            name: "public.tmp_1".into(),
            change: Change::Extra,
            fix: None,
            note: None,
        };
        let (kept, ignored) = apply_ignores(vec![d], &[p]);
        assert!(kept.is_empty());
        assert_eq!(ignored, 1);
    }

    #[test]
    fn kinds_round_trip_through_their_ids() {
        for k in Kind::ALL {
            assert_eq!(Kind::from_id(k.id()), Some(*k));
        }
    }
}
