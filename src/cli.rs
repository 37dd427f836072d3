//! Command-line definitions (clap) and their translation into plain settings
//! ([`crate::commands::Request`], [`GlobalOptions`]). Nothing else in the crate sees clap.
//!
//! cargo runs `cargo-migrate migrate <args>` for `cargo migrate <args>`; running the binary
//! directly as `cargo-migrate <args>` works too.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands::{
    ApplyOptions, BaselineOptions, CheckOptions, DatabaseAction, DatabaseOptions, DiffOptions,
    GenerateOptions, MarkOptions, Prepare, Request, RevertOptions, RevertTarget, SchemaOptions,
    StatusOptions,
};
use crate::db::marks::MarkAction;
use crate::output::ColorChoice;
use crate::settings::{Format, GlobalOptions};

#[derive(Debug, Parser)]
#[command(name = "cargo", bin_name = "cargo", disable_help_subcommand = true)]
pub enum CargoCli {
    /// Safe diesel migrations across a whole Cargo workspace
    Migrate(MigrateArgs),
}

#[derive(Debug, Args)]
#[command(
    version,
    about = "Safe diesel migrations across a whole Cargo workspace",
    long_about = "Discovers every workspace member that owns diesel migrations and applies, reverts and reports them, each set on its own database (SQLite, PostgreSQL, MySQL/MariaDB).",
    after_help = "Exit codes: 0 done; 1 `check` found problems, a migration failed, or `status --exit-code` found pending or unknown migrations; 2 could not run (usage, configuration, migration folders, database); 130 interrupted."
)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Human,
    Json,
    Github,
    Sarif,
    // `generate` only: the migration's format, as diesel's `migration generate --format sql`
    // (SQL files are the only kind); the report is human text.
    Sql,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Path to the workspace's Cargo.toml (default: found upward from the current folder)
    #[arg(long, global = true, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Only these migration sets (set names, or package names for all their sets); repeatable
    #[arg(short = 'p', long = "package", global = true, value_name = "NAME")]
    pub package: Vec<String>,
    /// Leave out these migration sets; repeatable
    #[arg(long, global = true, value_name = "NAME")]
    pub exclude: Vec<String>,
    /// The database URL, when the selection has one set (overrides its environment variable)
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// When to use colors (NO_COLOR and non-terminals mean never under `auto`)
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        value_name = "WHEN"
    )]
    pub color: ColorArg,
    /// Output format; `json` prints one document on stdout (see docs/json.md), `github` adds
    /// annotations for GitHub Actions, `sarif` prints a SARIF log for code scanning (`generate`
    /// also takes diesel's `sql`)
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "human",
        value_name = "FORMAT"
    )]
    pub format: FormatArg,
    /// Print less: results and errors only
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Print more
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// A server for scratch databases (postgres:// or mysql://); repeatable. Also read from
    /// MIGRATE_SCRATCH_URL (several URLs separated by spaces)
    #[arg(long, global = true, value_name = "URL")]
    pub scratch_url: Vec<String>,
    /// Read the migration sets from this bundle (`cargo migrate bundle`) instead of a
    /// workspace: no cargo, manifests or sources needed (apply, status, pending, revert, redo,
    /// mark, check)
    #[arg(long, global = true, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the migration sets and their migrations (offline)
    List,
    /// Show applied, pending and unknown migrations of each set's database
    Status {
        /// Exit with 1 when any migration is pending, or applied but unknown to the folder
        #[arg(long)]
        exit_code: bool,
        #[command(flatten)]
        fleet: FleetArgs,
    },
    /// List the migrations not yet applied to each set's database (exit 0 either way; see
    /// `status --exit-code` for a gate)
    Pending,
    /// Run pending migrations, each set on its own database
    Apply {
        /// Apply pending migrations up to and including this version (or folder name)
        #[arg(long, value_name = "VERSION")]
        to: Option<String>,
        /// Print what would run and change nothing
        #[arg(long)]
        dry_run: bool,
        /// Retry connecting for up to this many seconds (a database that is starting)
        #[arg(long, value_name = "SECONDS")]
        wait: Option<u64>,
        /// Wait this many seconds for another process's migration lock
        #[arg(long, value_name = "SECONDS", default_value_t = 600)]
        lock_timeout: u64,
        /// Rewrite each set's schema file from the migrated database (as diesel does)
        #[arg(long)]
        write_schema: bool,
        #[command(flatten)]
        fleet: FleetArgs,
    },
    /// Create each selected set's database when it is missing, then apply its migrations
    /// (diesel setup)
    Setup {
        /// Retry connecting for up to this many seconds (a database that is starting)
        #[arg(long, value_name = "SECONDS")]
        wait: Option<u64>,
        /// Wait this many seconds for another process's migration lock
        #[arg(long, value_name = "SECONDS", default_value_t = 600)]
        lock_timeout: u64,
    },
    /// Create, drop or reset the selected sets' development databases
    Database {
        #[command(subcommand)]
        action: DatabaseCommand,
    },
    /// Check migration folders, lint every migration, and compare each schema file with the
    /// schema its migrations produce (the pre-commit and CI gate)
    Check {
        /// Only check folders and lint: no scratch database is needed
        #[arg(long)]
        lint_only: bool,
        /// Replay the history even when the cached schema is fresh
        #[arg(long)]
        no_cache: bool,
        /// Do not connect to the sets' databases, even when their URLs are set
        #[arg(long)]
        offline: bool,
        /// `--deny warnings`: warnings fail the check too
        #[arg(long, value_name = "LEVEL", value_parser = ["warnings"])]
        deny: Option<String>,
        /// Report edits to migrations released at REF (default: the merge base with the main branch)
        #[arg(long, value_name = "REF", num_args = 0..=1, default_missing_value = "")]
        base: Option<String>,
        /// Leave catalog objects of KIND whose name matches the glob PATTERN out of live drift
        /// (e.g. `index:public.tmp_*`, `*:audit.*`); repeatable
        #[arg(long, value_name = "KIND:PATTERN", value_parser = crate::catalog::IgnorePattern::parse)]
        drift_ignore: Vec<crate::catalog::IgnorePattern>,
        /// Compare owners and granted privileges too (PostgreSQL; an owner is named only when it
        /// is not the role that owns diesel's versions table)
        #[arg(long)]
        drift_privileges: bool,
        #[command(flatten)]
        fleet: FleetArgs,
    },
    /// Create a migration folder; with --diff-schema, filled with the SQL that turns the
    /// history's schema into the schema file's
    Generate {
        /// The migration's name, in snake_case (e.g. add_user_email)
        name: String,
        /// Write the SQL for the difference between the schema file and the history
        #[arg(long)]
        diff_schema: bool,
        /// Open up.sql and down.sql in $VISUAL / $EDITOR afterwards
        #[arg(long)]
        edit: bool,
        /// Use this version instead of the current time (the folder is VERSION_NAME)
        #[arg(long, value_name = "VERSION")]
        version: Option<String>,
        /// Write no down.sql (the migration cannot be reverted; the lint says so)
        #[arg(long)]
        no_down: bool,
    },
    /// Print the schema.rs a set's migrations produce, as diesel print-schema would
    Schema {
        /// Write the schema file(s) instead of printing
        #[arg(long)]
        write: bool,
        /// Replay the history even when the cached schema is fresh
        #[arg(long)]
        no_cache: bool,
    },
    /// Print the schema.rs of a set's database as it is now (diesel print-schema), with the
    /// set's print_schema options
    PrintSchema {
        /// Write the schema file(s) instead of printing
        #[arg(long)]
        write: bool,
    },
    /// Write the selected sets' migrations into one bundle file, for deploying without cargo
    /// (`cargo-migrate --bundle FILE apply`)
    Bundle {
        /// The bundle file to write
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// The replay cache under target/: `cache clean` deletes it
    Cache {
        #[command(subcommand)]
        action: CacheCommand,
    },
    /// List the lint rules with their ids and default levels
    Rules,
    /// Write a git pre-commit hook, pre-commit framework entries and an example CI workflow
    /// (never overwriting)
    Init,
    /// Record migrations up to VERSION as applied on a database that already has their effect,
    /// after verifying its schema (one set at a time)
    Baseline {
        /// The newest migration the database already has
        #[arg(long, value_name = "VERSION")]
        to: String,
        /// Record them even when the database's schema differs from the history's
        #[arg(long)]
        force: bool,
        /// Compare owners and granted privileges too (PostgreSQL; an owner is named only when it
        /// is not the role that owns diesel's versions table)
        #[arg(long)]
        drift_privileges: bool,
        /// Wait this many seconds for another process's migration lock
        #[arg(long, value_name = "SECONDS", default_value_t = 600)]
        lock_timeout: u64,
    },
    /// Record a migration as applied or rolled back without running it, for one run or undone
    /// by hand (one set at a time; `status` shows it as marked)
    Mark {
        /// The migration to record as applied (its version or folder name)
        #[arg(
            long,
            value_name = "VERSION",
            required_unless_present = "rolled_back",
            conflicts_with = "rolled_back"
        )]
        applied: Option<String>,
        /// The migration to remove from the applied ones
        #[arg(long, value_name = "VERSION")]
        rolled_back: Option<String>,
        /// Why, kept with the mark (default: "marked by hand")
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
        /// Wait this many seconds for another process's migration lock
        #[arg(long, value_name = "SECONDS", default_value_t = 600)]
        lock_timeout: u64,
    },
    /// Show which applied migrations have a recorded checksum; with --record, record the
    /// checksums of those applied without one (by diesel_cli, by hand)
    Checksum {
        /// Record the current files' checksums of applied migrations that have none
        #[arg(long)]
        record: bool,
        /// Wait this many seconds for another process's migration lock
        #[arg(long, value_name = "SECONDS", default_value_t = 600)]
        lock_timeout: u64,
    },
    /// Compare the catalog of a set's database with the catalog its history produces, object by
    /// object (indexes, constraints, types, views, functions, triggers, ...)
    Diff {
        /// Compare with the history up to this version instead of all of it
        #[arg(long, value_name = "VERSION")]
        to: Option<String>,
        /// Print the SQL that turns the database into what the history says
        #[arg(long)]
        sql: bool,
        /// Replay the history even when the cached catalog is fresh
        #[arg(long)]
        no_cache: bool,
        /// Compare with the history at the git revision REF instead of the database (default:
        /// the merge base with the main branch)
        #[arg(long, value_name = "REF", num_args = 0..=1, default_missing_value = "")]
        base: Option<String>,
        /// Compare owners and granted privileges too (PostgreSQL; an owner is named only when it
        /// is not the role that owns diesel's versions table)
        #[arg(long)]
        drift_privileges: bool,
    },
    /// Revert applied migrations with their down.sql, newest first (one set at a time)
    Revert {
        /// How many migrations to revert [default: 1]
        #[arg(short = 'n', long, visible_alias = "number", value_name = "N", conflicts_with_all = ["to", "all"])]
        steps: Option<usize>,
        /// Revert every migration newer than this version (it stays applied)
        #[arg(long, value_name = "VERSION", conflicts_with = "all")]
        to: Option<String>,
        /// Revert every applied migration of the set
        #[arg(long)]
        all: bool,
        /// Print what would run and change nothing
        #[arg(long)]
        dry_run: bool,
        /// Rewrite the set's schema file from the migrated database (as diesel does)
        #[arg(long)]
        write_schema: bool,
        /// Wait this many seconds for another process's migration lock
        #[arg(long, value_name = "SECONDS", default_value_t = 600)]
        lock_timeout: u64,
        #[command(flatten)]
        fleet: FleetArgs,
    },
    /// Revert and re-apply the newest migrations (tests their down.sql)
    Redo {
        /// How many migrations to redo
        #[arg(
            short = 'n',
            long,
            visible_alias = "number",
            value_name = "N",
            default_value_t = 1,
            conflicts_with = "all"
        )]
        steps: usize,
        /// Revert every applied migration of the set, then apply them all again
        #[arg(long)]
        all: bool,
        /// Rewrite the set's schema file from the migrated database (as diesel does)
        #[arg(long)]
        write_schema: bool,
        /// Print what would run and change nothing
        #[arg(long)]
        dry_run: bool,
        /// Wait this many seconds for another process's migration lock
        #[arg(long, value_name = "SECONDS", default_value_t = 600)]
        lock_timeout: u64,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout
    Completions {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout, e.g. `cargo migrate man | man -l -`
    Man {
        /// The subcommand whose page to print (default: the command's own page)
        command: Option<String>,
    },
}

/// `cargo migrate cache …`.
#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Delete every cached replay result (the next check replays every history)
    Clean,
}

/// `cargo migrate database …`.
#[derive(Debug, Subcommand)]
pub enum DatabaseCommand {
    /// Create each selected set's database when it is missing (an existing one is left alone)
    Create,
    /// Drop each selected set's database (for SQLite: delete the file and its -wal/-shm)
    Drop {
        #[command(flatten)]
        danger: DropArgs,
    },
    /// Drop each selected set's database, create it again and apply every migration
    Reset {
        #[command(flatten)]
        danger: DropArgs,
        /// Wait this many seconds for another process's migration lock
        #[arg(long, value_name = "SECONDS", default_value_t = 600)]
        lock_timeout: u64,
    },
}

/// Working through a fleet of databases with one set.
#[derive(Debug, Args)]
pub struct FleetArgs {
    /// Work with the one selected set on every database listed in FILE (one URL per line, `#`
    /// comments) instead of its own URL
    #[arg(long, value_name = "FILE", conflicts_with = "targets_cmd")]
    targets: Option<PathBuf>,
    /// Like --targets, with the list printed by this shell command (a tenant registry query)
    #[arg(long, value_name = "CMD", conflicts_with = "fleet")]
    targets_cmd: Option<String>,
    /// Like --targets, with the targets the set's `targets-query` lists (read only, on the
    /// database in its `targets-url-env`)
    #[arg(long, conflicts_with = "targets")]
    fleet: bool,
    /// How many targets to work on at once, each under its own lock
    #[arg(long, value_name = "N", default_value_t = 4)]
    jobs: usize,
    /// Stop starting targets after the first failure (default: go on and report)
    #[arg(long)]
    fail_fast: bool,
    /// Work on the first K targets one at a time first; if any fails, leave the rest alone
    #[arg(long, value_name = "K", default_value_t = 0)]
    canary: usize,
}

impl FleetArgs {
    fn fleet(&self) -> Option<crate::targets::Fleet> {
        let targets = match (&self.targets, &self.targets_cmd, self.fleet) {
            (Some(file), _, _) => Some(crate::targets::TargetList::File(file.clone())),
            (None, Some(cmd), _) => Some(crate::targets::TargetList::Command(cmd.clone())),
            (None, None, true) => None,
            (None, None, false) => return None,
        };
        Some(crate::targets::Fleet {
            targets,
            jobs: self.jobs,
            fail_fast: self.fail_fast,
            canary: self.canary,
        })
    }
}

/// What dropping a database needs.
#[derive(Debug, Args)]
pub struct DropArgs {
    /// Drop without asking (needed when not on a terminal)
    #[arg(long, short = 'y')]
    yes: bool,
    /// Allow dropping a database on another machine (only loopback hosts, sockets and SQLite
    /// files otherwise)
    #[arg(long)]
    allow_remote: bool,
}

/// The clap definition of `cargo-migrate` itself, as completions and the man page describe it.
fn migrate_command() -> clap::Command {
    use clap::CommandFactory;
    let cargo = CargoCli::command();
    let migrate = cargo
        .find_subcommand("migrate")
        .cloned()
        .unwrap_or_else(|| clap::Command::new("migrate"));
    migrate
        .name("cargo-migrate")
        .bin_name("cargo-migrate")
        .version(env!("CARGO_PKG_VERSION"))
}

/// The completion script for `shell`: it completes `cargo-migrate …`, which takes the same
/// arguments as `cargo migrate …`.
pub fn completions(shell: clap_complete::Shell) -> String {
    let mut cmd = migrate_command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "cargo-migrate", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The man page of the command, or of one subcommand (`None` when there is no such one).
pub fn man_page(subcommand: Option<&str>) -> Option<String> {
    let mut cmd = migrate_command();
    cmd.build();
    let page = match subcommand {
        None => cmd,
        Some(name) => {
            let sub = cmd.find_subcommand(name)?.clone();
            let full = format!("cargo-migrate-{}", sub.get_name());
            sub.name(full.clone())
                .bin_name(full.replace("-migrate-", " migrate "))
        }
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(page).render(&mut out).ok()?;
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Parse the process arguments, accepting both `cargo-migrate migrate …` (as cargo runs it)
/// and `cargo-migrate …`.
pub fn parse_args<I, T>(args: I) -> Result<MigrateArgs, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    if args.get(1).is_none_or(|a| a != "migrate") {
        args.insert(1, OsString::from("migrate"));
    }
    let CargoCli::Migrate(parsed) = CargoCli::try_parse_from(args)?;
    if matches!(parsed.global.format, FormatArg::Sql)
        && !matches!(parsed.command, Command::Generate { .. })
    {
        return Err(clap::Error::raw(
            clap::error::ErrorKind::InvalidValue,
            "`--format sql` is the format of the migration `generate` writes (as diesel's); a report is `human`, `json`, `github` or `sarif`\n",
        ));
    }
    Ok(parsed)
}

impl GlobalArgs {
    pub fn options(&self) -> GlobalOptions {
        GlobalOptions {
            manifest_path: self.manifest_path.clone(),
            packages: self.package.clone(),
            exclude: self.exclude.clone(),
            database_url: self.database_url.clone(),
            format: match self.format {
                FormatArg::Human | FormatArg::Sql => Format::Human,
                FormatArg::Json => Format::Json,
                FormatArg::Github => Format::Github,
                FormatArg::Sarif => Format::Sarif,
            },
            quiet: self.quiet,
            verbose: self.verbose,
            scratch_urls: self.scratch_url.clone(),
            bundle: self.bundle.clone(),
        }
    }

    pub fn color(&self) -> ColorChoice {
        match self.color {
            ColorArg::Auto => ColorChoice::Auto,
            ColorArg::Always => ColorChoice::Always,
            ColorArg::Never => ColorChoice::Never,
        }
    }
}

impl Command {
    /// What to run, with plain options.
    pub fn request(&self) -> Request {
        match self {
            Command::List => Request::List,
            Command::Cache {
                action: CacheCommand::Clean,
            } => Request::CacheClean,
            Command::Bundle { out } => Request::Bundle(out.clone()),
            Command::Pending => Request::Status(StatusOptions {
                exit_code: false,
                pending_only: true,
                fleet: None,
            }),
            Command::Completions { shell } => Request::Print(completions(*shell)),
            Command::Man { command } => match man_page(command.as_deref()) {
                Some(page) => Request::Print(page),
                None => Request::Unknown(format!(
                    "`{}` is not a subcommand of cargo migrate; `cargo migrate --help` lists them",
                    command.as_deref().unwrap_or_default()
                )),
            },
            Command::Rules => Request::Rules,
            Command::Init => Request::Init,
            Command::Generate {
                name,
                diff_schema,
                edit,
                version,
                no_down,
            } => Request::Generate(GenerateOptions {
                name: name.clone(),
                diff_schema: *diff_schema,
                edit: *edit,
                version: version.clone(),
                no_down: *no_down,
            }),
            Command::Baseline {
                to,
                force,
                drift_privileges,
                lock_timeout,
            } => Request::Baseline(BaselineOptions {
                to: to.clone(),
                force: *force,
                drift_privileges: *drift_privileges,
                lock_timeout: Duration::from_secs(*lock_timeout),
            }),
            Command::Checksum {
                record,
                lock_timeout,
            } => Request::Checksum(crate::commands::ChecksumOptions {
                record: *record,
                lock_timeout: Duration::from_secs(*lock_timeout),
            }),
            Command::Diff {
                to,
                sql,
                no_cache,
                base,
                drift_privileges,
            } => Request::Diff(DiffOptions {
                to: to.clone(),
                sql: *sql,
                no_cache: *no_cache,
                base: base.clone(),
                drift_privileges: *drift_privileges,
            }),
            Command::Schema { write, no_cache } => Request::Schema(SchemaOptions {
                write: *write,
                no_cache: *no_cache,
                live: false,
            }),
            Command::PrintSchema { write } => Request::Schema(SchemaOptions {
                write: *write,
                no_cache: false,
                live: true,
            }),
            Command::Check {
                lint_only,
                no_cache,
                offline,
                deny,
                base,
                drift_ignore,
                drift_privileges,
                fleet,
            } => Request::Check(CheckOptions {
                fleet: fleet.fleet(),
                lint_only: *lint_only,
                offline: *offline,
                no_cache: *no_cache,
                deny_warnings: deny.is_some(),
                base: base.clone(),
                drift_ignore: drift_ignore.clone(),
                drift_privileges: *drift_privileges,
            }),
            Command::Status { exit_code, fleet } => Request::Status(StatusOptions {
                exit_code: *exit_code,
                pending_only: false,
                fleet: fleet.fleet(),
            }),
            Command::Apply {
                to,
                dry_run,
                wait,
                lock_timeout,
                write_schema,
                fleet,
            } => Request::Apply(ApplyOptions {
                fleet: fleet.fleet(),
                to: to.clone(),
                dry_run: *dry_run,
                wait: wait.map(Duration::from_secs),
                lock_timeout: Duration::from_secs(*lock_timeout),
                prepare: None,
                write_schema: *write_schema,
            }),
            Command::Mark {
                applied,
                rolled_back,
                note,
                lock_timeout,
            } => {
                let (version, action) = match (applied, rolled_back) {
                    (Some(v), _) => (v.clone(), MarkAction::Applied),
                    (None, Some(v)) => (v.clone(), MarkAction::RolledBack),
                    (None, None) => (String::new(), MarkAction::Applied),
                };
                Request::Mark(MarkOptions {
                    version,
                    action,
                    note: note.clone(),
                    lock_timeout: Duration::from_secs(*lock_timeout),
                })
            }
            Command::Setup { wait, lock_timeout } => Request::Apply(ApplyOptions {
                to: None,
                dry_run: false,
                wait: wait.map(Duration::from_secs),
                lock_timeout: Duration::from_secs(*lock_timeout),
                prepare: Some(Prepare::Create),
                write_schema: false,
                fleet: None,
            }),
            Command::Database { action } => match action {
                DatabaseCommand::Create => Request::Database(DatabaseOptions {
                    action: DatabaseAction::Create,
                    yes: false,
                    allow_remote: false,
                }),
                DatabaseCommand::Drop { danger } => Request::Database(DatabaseOptions {
                    action: DatabaseAction::Drop,
                    yes: danger.yes,
                    allow_remote: danger.allow_remote,
                }),
                DatabaseCommand::Reset {
                    danger,
                    lock_timeout,
                } => Request::Apply(ApplyOptions {
                    to: None,
                    dry_run: false,
                    wait: None,
                    lock_timeout: Duration::from_secs(*lock_timeout),
                    prepare: Some(Prepare::Reset {
                        yes: danger.yes,
                        allow_remote: danger.allow_remote,
                    }),
                    write_schema: false,
                    fleet: None,
                }),
            },
            Command::Revert {
                steps,
                to,
                all,
                dry_run,
                write_schema,
                lock_timeout,
                fleet,
            } => Request::Revert(RevertOptions {
                fleet: fleet.fleet(),
                write_schema: *write_schema,
                target: if *all {
                    RevertTarget::All
                } else if let Some(to) = to {
                    RevertTarget::To(to.clone())
                } else {
                    RevertTarget::Steps(steps.unwrap_or(1))
                },
                dry_run: *dry_run,
                redo: false,
                lock_timeout: Duration::from_secs(*lock_timeout),
            }),
            Command::Redo {
                steps,
                all,
                write_schema,
                dry_run,
                lock_timeout,
            } => Request::Revert(RevertOptions {
                write_schema: *write_schema,
                target: if *all {
                    RevertTarget::All
                } else {
                    RevertTarget::Steps(*steps)
                },
                dry_run: *dry_run,
                redo: true,
                lock_timeout: Duration::from_secs(*lock_timeout),
                fleet: None,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        CargoCli::command().debug_assert();
    }

    #[test]
    fn accepts_both_invocations() {
        let a = parse_args(["cargo-migrate", "migrate", "status", "-p", "api"]).unwrap();
        assert!(matches!(
            a.command,
            Command::Status {
                exit_code: false,
                ..
            }
        ));
        assert_eq!(a.global.package, ["api"]);
        let b = parse_args(["cargo-migrate", "apply", "--dry-run"]).unwrap();
        assert!(matches!(b.command, Command::Apply { dry_run: true, .. }));
    }

    #[test]
    fn diesel_spellings() {
        let a = parse_args(["cargo-migrate", "revert", "-n", "3"]).unwrap();
        assert!(matches!(a.command, Command::Revert { steps: Some(3), .. }));
        let b = parse_args(["cargo-migrate", "redo", "--all"]).unwrap();
        assert!(matches!(b.command, Command::Redo { all: true, .. }));
        assert!(parse_args(["cargo-migrate", "redo", "-n", "2", "--all"]).is_err());
        let c = parse_args(["cargo-migrate", "migrate", "pending"]).unwrap();
        assert!(matches!(
            c.command.request(),
            Request::Status(StatusOptions {
                pending_only: true,
                ..
            })
        ));
    }

    #[test]
    fn completions_and_man_page_know_every_subcommand() {
        let bash = completions(clap_complete::Shell::Bash);
        let fish = completions(clap_complete::Shell::Fish);
        let man = man_page(None).unwrap();
        for sub in migrate_command().get_subcommands() {
            let name = sub.get_name();
            assert!(bash.contains(name), "bash completion lacks {name}");
            assert!(fish.contains(name), "fish completion lacks {name}");
            // roff writes `-` as `\-`.
            assert!(
                man.contains(&name.replace('-', "\\-")),
                "man page lacks {name}"
            );
            assert!(man_page(Some(name)).is_some(), "no man page for {name}");
        }
        assert!(bash.contains("--lock-timeout"));
        assert!(man_page(Some("nope")).is_none());
    }

    #[test]
    fn revert_targets_conflict() {
        assert!(parse_args(["cargo-migrate", "revert", "--steps", "2", "--all"]).is_err());
    }
}
