//! `ax`: the management CLI of the reference control plane (see `ax_integration::cli`).

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(ax_integration::cli::run(std::env::args_os().collect()))
}
