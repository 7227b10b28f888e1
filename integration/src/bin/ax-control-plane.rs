//! `ax-control-plane`: the reference control plane as a process (see
//! `ax_integration::control_plane` and `integration/CONTROL_PLANE.md`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use ax_integration::control_plane::{Config, ControlPlane};
use clap::Parser;
use nix::sys::signal::{SigSet, Signal};

/// The reference control plane of ax-secrets: an HTTPS server with in-memory storage (a
/// restart forgets everything), a fresh CA and Ed25519 signing key at every start.
///
/// At start it writes into --state-dir (0700): ca.pem, control-plane.pub (base64 line),
/// admin-token, and last url; then prints the URL on one line on stdout. SIGTERM or SIGINT
/// stops it. Exit codes: 0 stopped, 64 usage, 71 cannot bind or write the state directory.
#[derive(Debug, Parser)]
#[command(name = "ax-control-plane", version)]
struct Cli {
    /// Directory for the files clients need (created 0700).
    #[arg(long, value_name = "DIR")]
    state_dir: PathBuf,
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    bind: SocketAddr,
    /// How long a sealed bundle stays valid, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    bundle_ttl: u64,
    /// How long after creation an execution's bundle may be fetched, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    fetch_window: u64,
}

#[allow(clippy::print_stdout, clippy::print_stderr)]
fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 64 } else { 0 });
        }
    };
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGTERM);
    signals.add(Signal::SIGINT);
    if let Err(e) = signals.thread_block() {
        eprintln!("ax-control-plane: cannot block signals: {e}");
        return ExitCode::from(71);
    }
    let config = Config {
        bind: cli.bind,
        bundle_ttl_secs: cli.bundle_ttl,
        fetch_window_secs: cli.fetch_window,
        ..Config::default()
    };
    let plane = match ControlPlane::start(config) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("ax-control-plane: cannot start: {e}");
            return ExitCode::from(71);
        }
    };
    if let Err(e) = plane.write_state_dir(&cli.state_dir) {
        eprintln!(
            "ax-control-plane: cannot write the state directory {}: {e}",
            cli.state_dir.display()
        );
        return ExitCode::from(71);
    }
    println!("{}", plane.url);
    eprintln!(
        "ax-control-plane: serving on {} (in-memory storage; state in {})",
        plane.url,
        cli.state_dir.display()
    );
    let _ = signals.wait();
    plane.stop();
    ExitCode::SUCCESS
}
