//! `ax-demo`: the end-to-end demo (run it through `integration/demo.sh`).

use std::path::PathBuf;
use std::process::ExitCode;

use ax_integration::demo::{DemoOptions, run};
use clap::Parser;

/// Starts a reference control plane, registers demo secrets, runs every demo node through
/// ax-run in each scenario and prints what happened.
#[derive(Debug, Parser)]
#[command(name = "ax-demo", version)]
struct Cli {
    /// The demo nodes directory (integration/demo/nodes).
    #[arg(long, value_name = "DIR")]
    nodes: PathBuf,
    /// Where ax-run, ax-control-plane and ax-sidecar are (default: next to ax-demo).
    #[arg(long, value_name = "DIR")]
    bin_dir: Option<PathBuf>,
    /// Only this language; repeatable.
    #[arg(long = "lang", value_name = "LANG")]
    only: Vec<String>,
    /// An extra sidecar flag, e.g. --sidecar-arg=--allow-unlocked-memory; repeatable.
    #[arg(long = "sidecar-arg", value_name = "ARG", allow_hyphen_values = true)]
    sidecar_args: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let bin_dir = cli.bin_dir.unwrap_or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(PathBuf::from))
            .unwrap_or_default()
    });
    let code = run(&DemoOptions {
        bin_dir,
        nodes_dir: std::fs::canonicalize(&cli.nodes).unwrap_or(cli.nodes),
        only: cli.only,
        sidecar_args: cli.sidecar_args,
    });
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
