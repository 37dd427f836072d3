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
//! | embedded | [`embedded`]: a bundle applied from inside an application, through [`db::run`] | yes |
//! | database | [`db`]: connections, one file per backend, harness, lock, scratch databases, introspection, catalog readers | yes: the only layer that does |
//! | pure core | [`workspace`], [`config`], [`bundle`], [`migration`], [`schema`], [`catalog`], [`lint`], [`generate`], [`diff`], [`diagnostic`], [`failure`], [`error`], [`backend`], [`database_url`], [`cache`], [`git`] | no |
//!
//! # Features
//!
//! `cli` (on by default) is the `cargo migrate` command and everything only it needs: the
//! command line, the workspace and configuration readers, the linter's rules, history replay,
//! schema rendering and diffs, terminal output. Without it (`default-features = false`) the
//! crate is the embedded runner: [`embedded`] over [`db`], [`bundle`], [`migration`],
//! [`failure`] and the statement splitter [`sql`] (with the parts of [`lint`] that read what
//! a failed migration committed). The modules that need `cli` say so in their attributes below.
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
// Without `cli` the map above names modules that are not built.
#![cfg_attr(not(feature = "cli"), allow(rustdoc::broken_intra_doc_links))]
#![deny(clippy::print_stdout, clippy::print_stderr)]

#[cfg(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")))]
compile_error!(
    "cargo-migrate needs at least one backend: with `default-features = false`, enable the features of the databases the application uses (`sqlite`, `postgres`, `mysql`)"
);

pub mod backend;
pub mod bundle;
#[cfg(feature = "cli")]
pub mod cache;
#[cfg(feature = "cli")]
pub mod catalog;
pub mod cause;
#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "cli")]
pub mod commands;
#[cfg(feature = "cli")]
pub mod config;
pub mod database_url;
pub mod db;
pub mod diagnostic;
#[cfg(feature = "cli")]
pub mod diff;
pub mod embedded;
#[cfg(feature = "cli")]
pub mod error;
pub mod events;
pub mod failure;
#[cfg(feature = "cli")]
pub mod generate;
#[cfg(feature = "cli")]
pub mod git;
#[cfg(feature = "cli")]
pub mod history;
pub mod init_sql;
pub mod interrupt;
#[cfg(feature = "statements")]
pub mod lint;
pub mod migration;
#[cfg(feature = "cli")]
pub mod output;
#[cfg(feature = "cli")]
pub mod released;
#[cfg(feature = "cli")]
pub mod report;
#[cfg(feature = "cli")]
pub mod schema;
#[cfg(feature = "cli")]
pub mod settings;
#[cfg(feature = "statements")]
pub mod sql;
#[cfg(feature = "cli")]
pub mod state;
#[cfg(feature = "cli")]
pub mod targets;
#[cfg(feature = "cli")]
pub mod workspace;
