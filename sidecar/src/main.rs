//! `ax-sidecar`: parses the command line and hands over to `serve`, `seal` or `probe`.

use std::io::Write;
use std::process::ExitCode;

use ax_sidecar::alloc::ZeroingAllocator;
use ax_sidecar::cli::{Cli, Command};
use ax_sidecar::exit::StartupError;
use ax_sidecar::startup::Guard;
use ax_sidecar::{daemon, exit, probe, seal};
use clap::Parser;
use clap::error::{ContextKind, ContextValue, ErrorKind};

#[global_allocator]
static ALLOCATOR: ZeroingAllocator = ZeroingAllocator;

fn main() -> ExitCode {
    // First, before the launcher has time to die or signal: see `startup`.
    let guard = Guard::begin();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            guard.end();
            return usage(&err);
        }
    };
    let code = match cli.command {
        Command::Serve(args) => serve(*args, guard),
        Command::Probe(args) => {
            guard.end();
            match probe::run(&args) {
                Ok(()) => exit::OK,
                Err(err) => {
                    let _ = writeln!(std::io::stderr(), "ax-sidecar probe: {err}");
                    exit::UNAVAILABLE
                }
            }
        }
        Command::Seal(args) => {
            guard.end();
            match seal::run(&args) {
                Ok(()) => exit::OK,
                Err(err) => {
                    let _ = writeln!(std::io::stderr(), "ax-sidecar seal: {err}");
                    err.exit_code()
                }
            }
        }
    };
    ExitCode::from(code)
}

/// `serve`, and the one line and exit code of a failure before it serves.
fn serve(args: ax_sidecar::cli::ServeArgs, mut guard: Guard) -> u8 {
    let served = guard
        .armed()
        .map_err(StartupError::from)
        .and_then(|()| daemon::run(args, guard));
    match served {
        Ok(code) => code,
        Err(err) => {
            daemon::report(&err);
            err.exit_code()
        }
    }
}

/// `--help` and `--version` print and succeed; anything else is a usage error (exit 64) told in
/// one line that names the flag. clap's own rendering spreads a missing flag over several lines,
/// so the line is built from its first line plus the names clap keeps in the error's context.
fn usage(err: &clap::Error) -> ExitCode {
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        let _ = err.print();
        return ExitCode::SUCCESS;
    }
    if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        let _ = err.print();
        return ExitCode::from(exit::USAGE);
    }
    let _ = writeln!(
        std::io::stderr(),
        "ax-sidecar: {} (see 'ax-sidecar --help')",
        usage_line(err)
    );
    ExitCode::from(exit::USAGE)
}

/// clap's complaint as one line, without its `error: ` prefix.
fn usage_line(err: &clap::Error) -> String {
    let rendered = err.render().to_string();
    let first = rendered.lines().next().unwrap_or("invalid arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let first = first.trim_end_matches(':');
    match err.get(ContextKind::InvalidArg) {
        Some(ContextValue::Strings(names)) if err.kind() == ErrorKind::MissingRequiredArgument => {
            format!("{first}: {}", names.join(", "))
        }
        _ => first.to_owned(),
    }
}
