//! The command line: argument parsing (plain clap data), validation into a request,
//! running it, and mapping the outcome to an exit code.
//!
//! One file per command (`audit_cmd.rs`, `plan_cmd.rs`, `policy_cmd.rs`, `init_cmd.rs`,
//! `migrate_cmd.rs`, `apply_cmd.rs`, `manifest_cmd.rs`, `verify_cmd.rs`, `report_cmd.rs`, `schema_cmd.rs`,
//! `completions_cmd.rs`, `docs_cmd.rs`) holds its clap
//! arguments, their `validate()` into a typed request where flags can conflict, and the
//! thin code that reads the inputs, calls the library and prints. Shared flag groups are
//! in `args.rs`, the runtime/progress/format helpers in `support.rs`, the readers of
//! input files (schema, version, plan digest) in `inputs.rs`.

pub mod args;
pub mod exit;

mod agency;
mod apply_cmd;
mod audit_cmd;
mod completions_cmd;
mod docs_cmd;
mod init_cmd;
mod inputs;
mod manifest_cmd;
mod migrate_cmd;
mod plan_cmd;
mod policy_cmd;
mod report_cmd;
mod schema_cmd;
mod support;
mod verify_cmd;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

use crate::error::Error;
use args::{Cli, Command};

/// Entry point for the binary.
pub fn main() -> ExitCode {
    install_panic_hook();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    crate::output::terminal::set_color_choice(cli.color);
    init_logging(cli.verbose, cli.quiet, cli.color);
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // Errors quote input (names, paths, fields of a forged file): escaped for the terminal.
            // Line breaks are kept (a policy or config lists one problem per line);
            // every other control character is shown escaped.
            use crate::output::terminal::{escape, escape_block};
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "error: {}", escape_block(&e.to_string()));
            let _ = writeln!(err, "  hint: {}", escape(e.hint()));
            ExitCode::from(exit::code_for(&e))
        }
    }
}

/// A panic message may quote data; print only where it happened.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("error: internal error at {at}; please report it (see SECURITY.md)");
    }));
}

/// Log lines on stderr, coloured as `--color` and `NO_COLOR` say for stderr (not always
/// on a terminal, as before: that overrode `NO_COLOR`).
fn init_logging(verbose: u8, quiet: bool, color: crate::output::terminal::ColorChoice) {
    use crate::output::terminal::{no_color_env, wants_color};
    use tracing_subscriber::EnvFilter;
    // At the default level the SDK's own warnings (each failing credential provider of
    // the chain) are noise: the error we print says what failed.
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn,aws_config=error,aws_runtime=error,aws_smithy_runtime=error",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(wants_color(
            color,
            std::io::stderr().is_terminal(),
            no_color_env(),
        ))
        .try_init();
}

/// Runs a parsed command; returns the exit code for a run that completed.
pub fn run(cli: Cli) -> Result<u8, Error> {
    match cli.command {
        Command::Audit(a) => audit_cmd::audit_command(a, cli.quiet),
        Command::Plan(a) => plan_cmd::plan_command(a, cli.quiet),
        Command::Policy { command } => policy_cmd::policy_command(command),
        Command::Init(a) => init_cmd::init_command(a),
        Command::Docs { command } => docs_cmd::docs_command(command),
        Command::Migrate(a) => migrate_cmd::migrate_command(a, cli.quiet),
        Command::Apply(a) => apply_cmd::apply_command(a, cli.quiet),
        Command::Manifest(a) => manifest_cmd::manifest_command(a),
        Command::Verify(a) => verify_cmd::verify_command(a, cli.quiet),
        Command::Report(a) => report_cmd::report_command(a, cli.quiet),
        Command::Schema { name } => schema_cmd::schema_command(name),
        Command::Completions(a) => completions_cmd::completions_command(a),
        Command::Man(a) => completions_cmd::man_command(a),
    }
}
