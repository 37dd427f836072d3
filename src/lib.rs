//! cargo-migrate: safe diesel migrations across a whole Cargo workspace.
//!
//! # The map
//!
//! The crate is a library with a thin binary (`main.rs`). Its layers, top to bottom; a module
//! may use the ones below it, never the ones above:
//!
//! | layer | modules | touches a database |
//! |---|---|---|
//! | command line | [`cli`] (clap only) → [`settings`] (plain options, discovery, URLs) | no |
//! | commands | [`commands`]: one thin file per command, options → services → report | through services |
//! | output | [`output`] (the only writer to the terminal; colors in [`output::human`]), [`report`] (shared report types), [`events`] | no |
//! | services | [`history`] (replay → introspect → render, cached), [`state`] (applied, pending, unknown), [`db::run`] (the locked runner), [`released`], [`interrupt`] | yes (`history`, `db::run`, `interrupt`) |
//! | database | [`db`]: connections, one file per backend, harness, lock, scratch databases, introspection, catalog readers | yes: the only layer that does |
//! | pure core | [`workspace`], [`config`], [`bundle`], [`migration`], [`schema`], [`catalog`], [`lint`], [`generate`], [`diff`], [`diagnostic`], [`failure`], [`error`], [`backend`], [`database_url`], [`cache`], [`git`] | no |
//!
//! # Where a change goes
//!
//! - **A lint rule**: a new file in `src/lint/rules/`, one line in the registry
//!   (`src/lint/rules/mod.rs`), and its page `docs/rules/<id>.md`.
//! - **A command**: its flags in [`cli`], its [`commands::Request`] variant and dispatch arm in
//!   `commands/mod.rs`, and its own file in [`commands`]: its options, the services it asks, its
//!   report type (the JSON document) and that report's human text (through the tones of
//!   [`output::Paint`]; colors themselves live only in the printer).
//! - **A backend**: the [`backend::Backend`] variant and its facts, a `db/<backend>.rs` with the
//!   functions listed in [`db`], an introspection file in `db/introspect/`, and the DDL that
//!   `generate` writes; the compiler's exhaustiveness checks name every other place.

#![forbid(unsafe_code)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod backend;
pub mod bundle;
pub mod cache;
pub mod catalog;
pub mod cause;
pub mod cli;
pub mod commands;
pub mod config;
pub mod database_url;
pub mod db;
pub mod diagnostic;
pub mod diff;
pub mod error;
pub mod events;
pub mod failure;
pub mod generate;
pub mod git;
pub mod history;
pub mod interrupt;
pub mod lint;
pub mod migration;
pub mod output;
pub mod released;
pub mod report;
pub mod schema;
pub mod settings;
pub mod sql;
pub mod state;
pub mod targets;
pub mod workspace;
