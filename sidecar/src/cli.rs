//! The command line: `serve`, `seal`, and every flag with its documentation.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

use crate::limits::{
    AUDIT_BATCH_RANGE, AUDIT_QUEUE_RANGE, DEFAULT_AUDIT_BATCH, DEFAULT_AUDIT_QUEUE,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_REQUEST_BYTES, DEFAULT_MAX_RESPONSE_BYTES,
    MAX_CONNECTIONS_RANGE, MAX_REQUEST_BYTES_RANGE, MAX_RESPONSE_BYTES_RANGE, parse_duration,
    parse_seconds, parse_timeout,
};
use crate::stream::StreamSpec;

/// The per-execution secrets daemon of ax-secrets.
///
/// `serve` opens a sealed bundle into locked memory and answers node code on a Unix socket;
/// the bundle comes from the control plane (online: --control-plane) or from a local sealed
/// file (offline: --bundle-file). `seal` makes a local sealed bundle from a JSON file of
/// secrets, for running without a control plane. `probe` asks a running sidecar for a `Pong`,
/// for a container's readiness or liveness probe. Exit codes: 0 clean stop, 64 usage, 65 bad
/// bundle or key, 66 missing input, 69 control plane unreachable (probe: no `Pong`), 70
/// internal, 71 OS failure, 73 cannot create output, 77 refused by the control plane.
#[derive(Debug, Parser)]
#[command(name = "ax-sidecar", version, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve a sealed bundle on a Unix socket until SIGTERM or SIGINT.
    Serve(Box<ServeArgs>),
    /// Seal a JSON file of secrets into a local bundle file.
    Seal(SealArgs),
    /// Check that a sidecar serves: connect, Hello, Ping; exit 0 on Pong, else 69 with one
    /// line on stderr saying why. For Kubernetes `exec` readiness and liveness probes.
    Probe(ProbeArgs),
}

/// Flags of `ax-sidecar serve`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("execution_token").args(["token_file", "token_fd"]).multiple(false)))]
pub struct ServeArgs {
    /// Path of the socket to create, at most 107 bytes (a Unix socket address holds no
    /// more). Its directory must belong to this user with mode 0700 (created so if missing),
    /// or with --socket-group as described there; a stale socket is replaced, anything else
    /// there is refused.
    #[arg(long, value_name = "PATH")]
    pub socket: PathBuf,

    /// Open the socket to a group: the socket directory belongs to this user and GROUP (a
    /// name or a numeric gid) with mode 0750 (created so; an existing one must have exactly
    /// that owner and group and be writable by neither group nor others), and the socket is
    /// 0660 with that group. A peer whose primary gid is GROUP may then connect; its
    /// supplementary groups do not count (SO_PEERCRED carries the primary gid only).
    #[arg(long, value_name = "GROUP")]
    pub socket_group: Option<String>,

    /// Offline: the local sealed bundle to serve (made by `ax-sidecar seal`).
    #[arg(
        long,
        value_name = "BUNDLE",
        required_unless_present = "control_plane",
        requires = "key_file",
        conflicts_with = "control_plane"
    )]
    pub bundle_file: Option<PathBuf>,

    /// Offline: the 32-byte key the bundle is sealed with.
    #[arg(
        long,
        value_name = "KEY",
        requires = "bundle_file",
        conflicts_with = "control_plane"
    )]
    pub key_file: Option<PathBuf>,

    /// Online: the control plane's https:// base URL. The bundle is fetched from it at start
    /// (sealed to a key made for this start) and the audit trail is shipped to it.
    #[arg(long, value_name = "URL",
          requires_all = ["execution_id", "control_plane_key", "execution_token"])]
    pub control_plane: Option<String>,

    /// Online: the execution this sidecar serves.
    #[arg(long, value_name = "ID", requires = "control_plane")]
    pub execution_id: Option<String>,

    /// Online: file holding the execution token (a trailing newline is ignored).
    #[arg(long, value_name = "FILE", requires = "control_plane")]
    pub token_file: Option<PathBuf>,

    /// Online: inherited descriptor to read the execution token from, to end of file (then
    /// closed).
    #[arg(long, value_name = "N", requires = "control_plane")]
    pub token_fd: Option<i32>,

    /// Online: file holding the control plane's Ed25519 public keys, one per line in standard
    /// base64 (1 to 16; blank lines and # comments allowed); the bundle's signature must
    /// verify under one of them.
    #[arg(long, value_name = "KEY_FILE", requires = "control_plane")]
    pub control_plane_key: Option<PathBuf>,

    /// Online: PEM file of CA certificates trusted for the control plane, in addition to the
    /// built-in Mozilla roots.
    #[arg(long, value_name = "PEM", requires = "control_plane")]
    pub ca_file: Option<PathBuf>,

    /// Online: how long the bundle fetch may take in all, retries included, before exiting 69
    /// (whole seconds, or a duration such as 500ms; 10ms to 24h).
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_seconds)]
    pub fetch_deadline: Duration,

    /// Online: audit events per POST to the control plane at most; a batch goes out when it
    /// is full or a second after its first event (1 to 65536).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_AUDIT_BATCH,
          value_parser = clap::value_parser!(u32).range(AUDIT_BATCH_RANGE))]
    pub audit_batch: u32,

    /// Online: at shutdown, how long the last audit batches may take to reach the control
    /// plane, retries included (10ms to 24h).
    #[arg(long, value_name = "DUR", default_value = "5s", value_parser = parse_seconds)]
    pub audit_flush_timeout: Duration,

    /// Copy inherited descriptor IN_FD to OUT_FD until end of file, with every secret value
    /// and its encodings replaced by ***; repeatable. The launcher passes a node's stdout and
    /// stderr through this. On SIGTERM the sidecar drains its streams to end of file (within
    /// --shutdown-timeout) before it exits.
    #[arg(long = "redact-stream", value_name = "IN_FD:OUT_FD")]
    pub redact_streams: Vec<StreamSpec>,

    /// Create a FIFO at PATH (a name directly in the socket's directory; 0600, or 0620 of
    /// --socket-group) and copy whatever is written to it, every secret value and its
    /// encodings replaced by ***, to this process's stdout, writer after writer, until
    /// shutdown. For nodes that cannot pass --redact-stream a descriptor (other containers of
    /// a pod): they write their output to the FIFO. Removed at shutdown.
    #[arg(long, value_name = "PATH")]
    pub redact_fifo: Option<PathBuf>,

    /// Inherited file descriptor to write "READY\n" to once the socket serves (then closed).
    #[arg(long, value_name = "N")]
    pub ready_fd: Option<i32>,

    /// File to create once the socket serves, holding "READY\n" (written to PATH.tmp-PID and
    /// renamed, so it is never seen half-written), and removed at shutdown: readiness for
    /// whoever cannot inherit --ready-fd. Its directory must exist at start (else exit 73).
    #[arg(long, value_name = "PATH")]
    pub ready_file: Option<PathBuf>,

    /// Who may connect: a peer whose SO_PEERCRED uid is on the uid list, or whose
    /// SO_PEERCRED gid is on the gid list. Uid allowed to connect; repeatable. Default: this
    /// process's uid only; giving any replaces the default. Anyone else gets Unauthorized
    /// (id 0) right after connecting.
    #[arg(long = "allow-uid", value_name = "UID")]
    pub allow_uids: Vec<u32>,

    /// Gid allowed to connect (the peer's primary gid, SO_PEERCRED); repeatable. The
    /// --socket-group gid is allowed without it. Default: none.
    #[arg(long = "allow-gid", value_name = "GID")]
    pub allow_gids: Vec<u32>,

    /// File holding the client token every Hello must carry (a trailing newline is ignored).
    #[arg(long, value_name = "FILE")]
    pub client_token_file: Option<PathBuf>,

    /// Serve even if the secret memory cannot be locked (it may then reach swap).
    #[arg(long)]
    pub allow_unlocked_memory: bool,

    /// Do not tie the sidecar's life to its parent's: by default it asks for SIGTERM when
    /// the parent dies, and exits 0 without serving if the parent is gone (or is init, pid 1)
    /// before it serves. Give this when init or a container runtime starts it on purpose.
    #[arg(long)]
    pub no_parent_death: bool,

    /// Format of the logs on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Most detailed log level written.
    #[arg(long, value_enum, default_value_t = LogLevel::Info)]
    pub log_level: LogLevel,

    /// Where audit events go, as JSON lines: a file (appended to, created 0600) or "-" for
    /// stderr. Offline the default is "-"; online, events go to the control plane, and also
    /// here if given.
    #[arg(long, value_name = "PATH")]
    pub audit_file: Option<PathBuf>,

    /// Most connections open at once (1 to 65536); beyond it a client gets Busy.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CONNECTIONS,
          value_parser = clap::value_parser!(u32).range(MAX_CONNECTIONS_RANGE))]
    pub max_connections: u32,

    /// Largest request frame accepted, in bytes (8192 to 1048576).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_REQUEST_BYTES,
          value_parser = clap::value_parser!(u32).range(MAX_REQUEST_BYTES_RANGE))]
    pub max_request_bytes: u32,

    /// Largest response frame sent, in bytes (1048640 to 16777216); a larger render or
    /// redaction gets TooLarge.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_RESPONSE_BYTES,
          value_parser = clap::value_parser!(u32).range(MAX_RESPONSE_BYTES_RANGE))]
    pub max_response_bytes: u32,

    /// Close a connection idle this long (10ms to 24h; units ms, s, m, h).
    #[arg(long, value_name = "DUR", default_value = "300s", value_parser = parse_timeout)]
    pub idle_timeout: Duration,

    /// Disconnect a peer that starts a frame and does not finish it within this (10ms to 24h).
    #[arg(long, value_name = "DUR", default_value = "10s", value_parser = parse_timeout)]
    pub partial_frame_timeout: Duration,

    /// On SIGTERM/SIGINT, how long requests in flight may take to finish, and redacted
    /// streams to reach end of file (10ms to 24h).
    #[arg(long, value_name = "DUR", default_value = "5s", value_parser = parse_timeout)]
    pub shutdown_timeout: Duration,

    /// Audit events queued before new ones are counted as dropped (16 to 4194304); online,
    /// also the most events held for the control plane while it does not answer.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_AUDIT_QUEUE,
          value_parser = clap::value_parser!(u32).range(AUDIT_QUEUE_RANGE))]
    pub audit_queue: u32,

    /// Worker threads; 1 (the default) serves everything on the main thread.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub threads: u16,
}

/// Flags of `ax-sidecar seal`.
#[derive(Debug, Args)]
pub struct SealArgs {
    /// JSON file of secrets: {"secrets": {"NAME": "value", ...}, "overrides": {...}}; a value
    /// may also be {"value": "...", "version": N, "updated_at": UNIX_SECONDS}. Optional top-level
    /// "execution_id", "tenant", "environment" and "config" label the bundle.
    #[arg(long, value_name = "SECRETS.json")]
    pub input: PathBuf,

    /// The 32-byte key file to seal with.
    #[arg(long, value_name = "KEY")]
    pub key_file: PathBuf,

    /// Where to write the sealed bundle (replaced atomically, mode 0600).
    #[arg(long, value_name = "BUNDLE")]
    pub output: PathBuf,

    /// Create the key file with 32 fresh random bytes (mode 0600); refuses to overwrite one.
    #[arg(long)]
    pub new_key: bool,

    /// How long the sealed file stays valid (units s, m, h, d).
    #[arg(long, value_name = "DUR", default_value = "90d", value_parser = parse_duration)]
    pub valid_for: Duration,
}

/// Flags of `ax-sidecar probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// The sidecar's socket.
    #[arg(long, value_name = "PATH")]
    pub socket: PathBuf,

    /// File holding the client token to send in the Hello (a trailing newline is ignored).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,

    /// How long the whole probe may take, connecting included (10ms to 24h).
    #[arg(long, value_name = "DUR", default_value = "2s", value_parser = parse_timeout)]
    pub timeout: Duration,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Log verbosity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Errors and warnings (refused clients, dropped connections).
    Warn,
    /// Start-up, shutdown and notable events.
    Info,
    /// Every connection.
    Debug,
}

impl From<LogLevel> for tracing::Level {
    fn from(level: LogLevel) -> Self {
        match level {
            LogLevel::Error => Self::ERROR,
            LogLevel::Warn => Self::WARN,
            LogLevel::Info => Self::INFO,
            LogLevel::Debug => Self::DEBUG,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
