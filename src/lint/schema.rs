//! The schema as the migrations so far have built it.
//!
//! The linter replays what each `up.sql` does (tables created, renamed and dropped, columns
//! added and changed, enum types and their labels, `CHECK (col IS NOT NULL)` constraints) so
//! that a rule can ask what existed before the statement it is looking at: whether an index
//! goes on a table that may already hold rows, which columns still use an enum type, what a
//! MySQL `ENUM(...)` column looked like before a `MODIFY`. Statements the linter does not
//! understand simply leave the state alone.

use std::collections::HashMap;

use super::model::{Action, Column, ConstraintKind};

/// A table and its columns, in definition order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    pub columns: Vec<Column>,
    /// `CHECK (col IS NOT NULL)` constraints: name -> (column, validated).
    pub not_null_checks: HashMap<String, (String, bool)>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    fn column_mut(&mut self, name: &str) -> Option<&mut Column> {
        self.columns.iter_mut().find(|c| c.name == name)
    }
}

/// Tables and enum types, by lower-case name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    pub tables: HashMap<String, Table>,
    /// PostgreSQL enum types and their labels, in order.
    pub enums: HashMap<String, Vec<String>>,
}

impl Schema {
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.get(name)
    }

    /// Columns (table, column) whose type is the given user-defined type.
    pub fn columns_of_type(&self, ty: &str) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .tables
            .iter()
            .flat_map(|(t, table)| {
                table
                    .columns
                    .iter()
                    .filter(|c| c.type_key() == ty)
                    .map(move |c| (t.clone(), c.name.clone()))
            })
            .collect();
        out.sort();
        out
    }

    /// Apply one action.
    pub fn apply(&mut self, action: &Action) {
        match action {
            Action::CreateTable { table, columns } => {
                self.tables.insert(
                    table.clone(),
                    Table {
                        columns: columns.clone(),
                        not_null_checks: HashMap::new(),
                    },
                );
            }
            Action::DropTable { table, .. } => {
                self.tables.remove(table);
            }
            Action::RenameTable { from, to } => {
                if let Some(t) = self.tables.remove(from) {
                    self.tables.insert(to.clone(), t);
                }
            }
            Action::AddColumn { table, column } => {
                if let Some(t) = self.tables.get_mut(table) {
                    t.columns.retain(|c| c.name != column.name);
                    t.columns.push(column.clone());
                }
            }
            Action::DropColumn { table, column } => {
                if let Some(t) = self.tables.get_mut(table) {
                    t.columns.retain(|c| &c.name != column);
                }
            }
            Action::RenameColumn { table, from, to } => {
                if let Some(c) = self.tables.get_mut(table).and_then(|t| t.column_mut(from)) {
                    c.name = to.clone();
                }
            }
            Action::AlterColumnType {
                table, column, ty, ..
            } => {
                if let Some(c) = self
                    .tables
                    .get_mut(table)
                    .and_then(|t| t.column_mut(column))
                {
                    c.ty = ty.clone();
                    c.enum_values = None;
                }
            }
            Action::SetNotNull { table, column } => {
                if let Some(c) = self
                    .tables
                    .get_mut(table)
                    .and_then(|t| t.column_mut(column))
                {
                    c.not_null = true;
                }
            }
            Action::ModifyColumn { table, old, column } => {
                if let Some(c) = self.tables.get_mut(table).and_then(|t| t.column_mut(old)) {
                    *c = column.clone();
                }
            }
            Action::AddConstraint {
                table,
                name: Some(name),
                kind: ConstraintKind::Check,
                not_valid,
                not_null_check: Some(col),
            } => {
                if let Some(t) = self.tables.get_mut(table) {
                    t.not_null_checks
                        .insert(name.clone(), (col.clone(), !not_valid));
                }
            }
            Action::ValidateConstraint { table, name } => {
                if let Some(check) = self
                    .tables
                    .get_mut(table)
                    .and_then(|t| t.not_null_checks.get_mut(name))
                {
                    check.1 = true;
                }
            }
            Action::CreateEnum { name, labels } => {
                self.enums.insert(name.clone(), labels.clone());
            }
            Action::EnumAddValue { name, value } => {
                if let Some(labels) = self.enums.get_mut(name) {
                    if !labels.contains(value) {
                        labels.push(value.clone());
                    }
                }
            }
            Action::EnumRenameValue { name, from, to } => {
                if let Some(l) = self
                    .enums
                    .get_mut(name)
                    .and_then(|l| l.iter_mut().find(|l| *l == from))
                {
                    *l = to.clone();
                }
            }
            Action::RenameType { from, to } => {
                if let Some(labels) = self.enums.remove(from) {
                    self.enums.insert(to.clone(), labels);
                    for t in self.tables.values_mut() {
                        for c in t.columns.iter_mut().filter(|c| &c.type_key() == from) {
                            c.ty = c.ty.replacen(from.as_str(), to, 1);
                        }
                    }
                }
            }
            Action::DropType { name, .. } => {
                self.enums.remove(name);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Backend;
    use crate::lint::model;
    use crate::sql as split;

    fn replay(sql: &str) -> Schema {
        let f = split::split(sql, Backend::Postgres).unwrap();
        let mut s = Schema::default();
        for st in &f.statements {
            for a in model::facts(&f, st, Backend::Postgres).iter() {
                s.apply(a);
            }
        }
        s
    }

    #[test]
    fn replays_tables_columns_and_renames() {
        let s = replay(
            "CREATE TABLE a (id INT, x TEXT);\nALTER TABLE a RENAME TO b;\nALTER TABLE b RENAME COLUMN x TO y;\nCREATE TABLE gone (id INT);\nDROP TABLE gone;",
        );
        assert!(s.table("a").is_none() && s.table("gone").is_none());
        assert!(s.table("b").and_then(|t| t.column("y")).is_some());
    }

    #[test]
    fn enum_rename_follows_its_columns() {
        let s = replay(
            "CREATE TYPE mood AS ENUM ('a', 'b');\nCREATE TABLE p (m mood);\nALTER TYPE mood RENAME TO mood_old;\nALTER TYPE mood_old ADD VALUE 'c';",
        );
        assert_eq!(
            s.columns_of_type("mood_old"),
            [("p".to_string(), "m".to_string())]
        );
        assert_eq!(s.enums.get("mood_old").map(|v| v.len()), Some(3));
        assert!(s.columns_of_type("mood").is_empty());
    }
}
