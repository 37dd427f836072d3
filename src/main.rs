//! `cargo-migrate`: parse, run, report, and map the outcome to an exit code.

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
    let opts = args.global.options();
    // The printer lives as long as the process: the interrupt handler reports through it.
    let printer: &'static Printer = Box::leak(Box::new(Printer::new(
        opts.format,
        opts.quiet,
        opts.verbose,
    )));
    cargo_migrate::interrupt::install(printer);
    let request = args.command.request();
    let result = commands::execute(&request, &opts, printer);
    // A signal that arrived while the command finished: the handler's report and exit code
    // (130) win over whatever the command concluded from the work the signal cut short.
    cargo_migrate::interrupt::yield_to_handler();
    match result {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(err) => {
            printer.error(&err, request.name());
            ExitCode::from(Outcome::Unusable.exit_code())
        }
    }
}
