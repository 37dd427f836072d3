//! The integration suite: one test binary (one link of the crate and its database drivers),
//! one module per area.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // tests may panic and print

mod common;

mod bundle;
mod catalog;
mod checksums;
mod ci_formats;
mod cli;
mod databases;
mod dev_databases;
mod docs;
mod embedded;
mod fleet;
mod folders;
mod generate;
mod incremental;
mod init;
mod init_sql;
mod layouts;
mod marks;
mod partial;
mod placeholders;
mod print_schema;
mod replay;
mod restart;
mod safety;
mod truth;
mod url_safety;
