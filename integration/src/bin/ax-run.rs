//! `ax-run`: run a command as one execution with its own sidecar (see `ax_integration::run`).

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use ax_integration::admin::read_line_file;
use ax_integration::control_plane::StateFiles;
use ax_integration::run::wipe::WipingAllocator;
use ax_integration::run::{self, Options, exit};
use clap::Parser;

/// Every block is wiped before it is freed, so no library's copy of the execution token stays
/// in the heap (see `ax_integration::run::wipe`).
#[global_allocator]
static ALLOCATOR: WipingAllocator = WipingAllocator;

/// Run CMD as one flow execution: create it on the control plane, start its ax-sidecar on a
/// private socket, run CMD with AX_SECRETS_SOCKET and AX_SECRETS_TOKEN (its stdout and stderr
/// redacted by the sidecar), stop the sidecar, exit with CMD's code. With --node-uid and
/// --node-gid (as root), CMD runs as that user, reaching the socket through that group.
///
/// Exit codes: CMD's own (128+N if signal N killed it); 64 usage; 66 an input file is
/// unreadable; 69 control plane unreachable; 70 internal; 71 OS failure; 77 the control plane
/// refused the execution; the sidecar's code (65, 69, 71, 77, ...) if it failed before it was
/// ready; 126 CMD not executable; 127 CMD not found. Every code of ax-run's own comes with a
/// line on stderr starting with "ax-run:".
#[derive(Debug, Parser)]
#[command(name = "ax-run", version)]
struct Cli {
    /// The control plane's URL (default: the `url` file in --state-dir).
    #[arg(long, value_name = "URL")]
    control_plane: Option<String>,
    /// The tenant the execution runs for.
    #[arg(long, value_name = "T")]
    tenant: String,
    /// The flow config (its overrides apply).
    #[arg(long, value_name = "C")]
    config: Option<String>,
    /// The environment (default: the control plane's "default").
    #[arg(long = "env", value_name = "E")]
    environment: Option<String>,
    /// A reference control plane's state directory: ca.pem, control-plane.pub, admin-token, url.
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// The control plane's CA certificate (PEM).
    #[arg(long, value_name = "PEM")]
    ca_file: Option<PathBuf>,
    /// File holding the admin token used to create the execution.
    #[arg(long, value_name = "FILE")]
    admin_token_file: Option<PathBuf>,
    /// The control plane's Ed25519 public key (standard base64 on one line).
    #[arg(long, value_name = "FILE")]
    control_plane_key: Option<PathBuf>,
    /// The ax-sidecar binary (default: $AX_SIDECAR_BIN, else next to ax-run).
    #[arg(long, value_name = "PATH")]
    sidecar: Option<PathBuf>,
    /// An extra flag for the sidecar, passed as it is; repeatable.
    #[arg(long = "sidecar-arg", value_name = "ARG", allow_hyphen_values = true)]
    sidecar_args: Vec<String>,
    /// The sidecar's total deadline for fetching the bundle, in seconds.
    #[arg(long, value_name = "SECS")]
    fetch_deadline: Option<u64>,
    /// The sidecar's local audit trail (the control plane gets every event anyway).
    #[arg(long, value_name = "PATH", default_value = "/dev/null")]
    audit_file: PathBuf,
    /// The sidecar's log level (error, warn, info, debug); its logs go to ax-run's stderr.
    #[arg(long, value_name = "LEVEL", default_value = "warn")]
    sidecar_log_level: String,
    /// Where to create the private socket directory (default $XDG_RUNTIME_DIR, else /tmp;
    /// /tmp with --node-uid).
    #[arg(long, value_name = "DIR")]
    runtime_dir: Option<PathBuf>,
    /// Run CMD as this uid (not 0), apart from the sidecar: ax-run must run as root. The
    /// socket directory gets --node-gid and mode 0750, the sidecar --socket-group GID, and CMD
    /// runs with that uid and gid and no supplementary groups.
    #[arg(long, value_name = "UID", requires = "node_gid")]
    node_uid: Option<u32>,
    /// The gid CMD runs as with --node-uid: the group that may reach and use the socket.
    #[arg(long, value_name = "GID", requires = "node_uid")]
    node_gid: Option<u32>,
    /// The command and its arguments.
    #[arg(last = true, required = true, value_name = "CMD")]
    command: Vec<OsString>,
}

fn options(cli: Cli) -> Result<Options, (u8, String)> {
    // First: without root, nothing else can work, and the files may not even be readable.
    let node = match (cli.node_uid, cli.node_gid) {
        (Some(uid), Some(gid)) => {
            Some(run::node::NodeUser::new(uid, gid).map_err(|m| (exit::USAGE, m))?)
        }
        _ => None,
    };
    let files = cli.state_dir.as_deref().map(StateFiles::in_dir);
    let pick = |flag: Option<PathBuf>, from_dir: Option<PathBuf>, what: &str| {
        flag.or(from_dir)
            .ok_or_else(|| (exit::USAGE, format!("give --{what} or --state-dir")))
    };
    let ca_file = pick(
        cli.ca_file,
        files.as_ref().map(|f| f.ca_file.clone()),
        "ca-file",
    )?;
    let key = pick(
        cli.control_plane_key,
        files.as_ref().map(|f| f.public_key_file.clone()),
        "control-plane-key",
    )?;
    let token_file = pick(
        cli.admin_token_file,
        files.as_ref().map(|f| f.admin_token_file.clone()),
        "admin-token-file",
    )?;
    let admin_token = read_line_file(&token_file).map_err(|e| (exit::NO_INPUT, e.to_string()))?;
    let control_plane = match (cli.control_plane, files.as_ref()) {
        (Some(url), _) => url,
        (None, Some(f)) => {
            read_line_file(&f.url_file).map_err(|e| (exit::NO_INPUT, e.to_string()))?
        }
        (None, None) => return Err((exit::USAGE, "give --control-plane or --state-dir".into())),
    };
    let sidecar = run::sidecar::resolve_binary(cli.sidecar.as_deref()).ok_or_else(|| {
        (
            exit::USAGE,
            "no ax-sidecar found: give --sidecar or set AX_SIDECAR_BIN".to_owned(),
        )
    })?;
    Ok(Options {
        control_plane,
        ca_file,
        control_plane_key: key,
        admin_token,
        tenant: cli.tenant,
        config: cli.config,
        environment: cli.environment,
        sidecar,
        sidecar_args: cli.sidecar_args,
        fetch_deadline: cli.fetch_deadline,
        audit_file: cli.audit_file,
        sidecar_log_level: cli.sidecar_log_level,
        runtime_dir: cli.runtime_dir,
        node,
        command: cli.command,
    })
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::USAGE } else { 0 });
        }
    };
    match options(cli) {
        Ok(options) => ExitCode::from(run::run(&options)),
        Err((code, message)) => {
            exit::report(&message);
            ExitCode::from(code)
        }
    }
}
