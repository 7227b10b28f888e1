//! `ax-control-plane`: the reference control plane as a process (see
//! `ax_integration::control_plane` and `integration/CONTROL_PLANE.md`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use ax_integration::control_plane::store::Storage;
use ax_integration::control_plane::store::sqlite::rotate;
use ax_integration::control_plane::{Config, ControlPlane, StartError};
use clap::{Parser, Subcommand};
use nix::sys::signal::{SigSet, Signal};

/// The reference control plane of ax-secrets: an HTTPS server.
///
/// Without --db it keeps everything in memory (a restart forgets everything, with a fresh CA
/// and Ed25519 signing key). With --db FILE and --master-key-file KEY it keeps tenants,
/// secrets (with descriptions, metadata and rotation histories), configs, executions, API
/// tokens and both audit trails (access and management) in a SQLite file, every value sealed with
/// AES-256-GCM under a per-tenant data key wrapped by the master key, and the CA and signing
/// key too: a restart on the same file and key serves the same state and identity.
///
/// At start it writes into --state-dir (0700): ca.pem, control-plane.pub (the published
/// signing keys, one base64 line each, for --control-plane-key), admin-token (fresh at every
/// start: the bootstrap owner, which makes API tokens with the roles owner, manager and viewer
/// via POST /v1/tokens; with --db those are kept, as digests), and last url; then prints the
/// URL on one line on stdout. SIGTERM or SIGINT stops it. Exit codes: 0 stopped, 64 usage, 71
/// cannot bind or write the state directory, 78 the database or master key is refused.
///
/// `ax-control-plane rotate-master-key` rewraps a stopped control plane's database under a
/// new master key (see its --help).
#[derive(Debug, Parser)]
#[command(
    name = "ax-control-plane",
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Directory for the files clients need (created 0700).
    #[arg(long, value_name = "DIR", required = true)]
    state_dir: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    bind: SocketAddr,
    /// How long a sealed bundle stays valid, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    bundle_ttl: u64,
    /// How long after creation an execution's bundle may be fetched, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    fetch_window: u64,
    /// Keep the state in this SQLite file (created 0600; refused if group or others may read
    /// it). Needs --master-key-file.
    #[arg(long, value_name = "FILE", requires = "master_key_file")]
    db: Option<PathBuf>,
    /// The master key: a file of exactly 32 random bytes, mode 0600 or stricter (e.g.
    /// `head -c 32 /dev/urandom > KEY; chmod 600 KEY`). Losing it loses every value.
    #[arg(long, value_name = "KEY", requires = "db")]
    master_key_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Rewraps every tenant's data key, the kept identity and signing keys, and the check value
    /// of --db from the master key in --master-key-file to the one in --new-master-key-file, in
    /// one transaction; no value row is read or written. Stop the control plane first; start
    /// it again with the new key (the old one is refused from then on). Exit codes: 0
    /// rewrapped, 64 usage, 78 refused (a missing database; a key file unreadable, not 32
    /// bytes, open to group or others; the same key twice; an old key that does not open the
    /// database), nothing changed.
    RotateMasterKey {
        /// The SQLite database.
        #[arg(long, value_name = "FILE")]
        db: PathBuf,
        /// The master key the database is wrapped with now.
        #[arg(long, value_name = "OLD")]
        master_key_file: PathBuf,
        /// The new master key: 32 random bytes, mode 0600 or stricter.
        #[arg(long, value_name = "NEW")]
        new_master_key_file: PathBuf,
    },
}

#[allow(clippy::print_stdout, clippy::print_stderr)]
fn rotate_master_key(db: &Path, old: &Path, new: &Path) -> ExitCode {
    match rotate::rotate_master_key(db, old, new) {
        Ok(done) => {
            eprintln!(
                "ax-control-plane: rewrapped {} data keys and {} identity parts of {} under \
                 the master key in {}; start the control plane with it",
                done.data_keys,
                done.identity,
                db.display(),
                new.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ax-control-plane: cannot rotate the master key: {e}; nothing was changed");
            ExitCode::from(78)
        }
    }
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
    if let Some(Command::RotateMasterKey {
        db,
        master_key_file,
        new_master_key_file,
    }) = &cli.command
    {
        return rotate_master_key(db, master_key_file, new_master_key_file);
    }
    let state_dir = cli.state_dir.unwrap_or_default();
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
        storage: match (cli.db, cli.master_key_file) {
            (Some(path), Some(master_key_file)) => Storage::Sqlite {
                path,
                master_key_file,
            },
            _ => Storage::Memory,
        },
        ..Config::default()
    };
    let plane = match ControlPlane::start(config) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("ax-control-plane: cannot start: {e}");
            let code = if matches!(e, StartError::Store(_)) {
                78
            } else {
                71
            };
            return ExitCode::from(code);
        }
    };
    if let Err(e) = plane.write_state_dir(&state_dir) {
        eprintln!(
            "ax-control-plane: cannot write the state directory {}: {e}",
            state_dir.display()
        );
        return ExitCode::from(71);
    }
    println!("{}", plane.url);
    eprintln!(
        "ax-control-plane: serving on {} ({}; state in {})",
        plane.url,
        plane.storage,
        state_dir.display()
    );
    let _ = signals.wait();
    plane.stop();
    ExitCode::SUCCESS
}
