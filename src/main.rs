//! `cargo-migrate`: parse, run, print the error chain, and map the outcome to an exit code.

use std::process::ExitCode;

use cargo_migrate::cli;
use cargo_migrate::commands::{self, Outcome};
use cargo_migrate::output::{self, Printer};

fn main() -> ExitCode {
    let args = match cli::parse_args(std::env::args_os()) {
        Ok(args) => args,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
        }
    };
    output::init_colors(args.global.color());
    cargo_migrate::interrupt::install();
    let opts = args.global.options();
    let printer = Printer {
        format: opts.format,
        quiet: opts.quiet,
        verbose: opts.verbose,
    };
    match commands::execute(&args.command.action(), &opts, &printer) {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(err) => {
            output::print_error(&err, &printer, args.command.name());
            ExitCode::from(Outcome::Unusable.exit_code())
        }
    }
}
