//! The management CLI `ax` over the reference control plane's HTTP management API
//! (`CONTROL_PLANE.md`, "The management CLI"). `args` is the command line, `connect` finds the
//! control plane and the token, `value` reads a secret's value (never from argv), `commands`
//! makes the calls (`groups` those beside secrets), `table` prints text, `error` holds the
//! exit codes and messages.
//!
//! Printing is this module's job (its output is the product), so the workspace's
//! `print_stdout`/`print_stderr` lints are allowed here and nowhere else in the crate.

#![allow(clippy::print_stdout, clippy::print_stderr)]

pub mod args;
mod commands;
pub mod connect;
pub mod error;
mod groups;
mod table;
mod value;

use std::ffi::OsString;

use clap::Parser;
use zeroize::Zeroizing;

pub use args::Cli;
use connect::ConnectionArgs;

/// Runs `ax` with these arguments (the program name first); returns the exit code.
pub fn run(argv: Vec<OsString>) -> u8 {
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                error::EXIT_USAGE
            } else {
                error::EXIT_OK
            };
        }
    };
    let connection = ConnectionArgs {
        url: cli.url.clone(),
        token_file: cli.token_file.clone(),
        token_env: std::env::var("AX_TOKEN").ok().map(Zeroizing::new),
        ca_file: cli.ca_file.clone(),
        state_dir: cli.state_dir.clone(),
    };
    match commands::dispatch(&cli, &connection) {
        Ok(()) => error::EXIT_OK,
        Err(e) => {
            eprintln!("ax: {e}");
            e.exit_code()
        }
    }
}
