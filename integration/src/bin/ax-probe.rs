//! `ax-probe OP...`: a minimal node for tests and the benchmark (see `ax_integration::probe`).

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = ax_integration::probe::run(&args);
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
