//! Exit codes (sysexits, PROTOCOL §14) and the start-up errors that lead to them.
//!
//! Every failure before the sidecar serves is one [`StartupError`], printed as one line on
//! stderr; its variant decides the exit code, so a launcher can tell a bad bundle from a busy
//! socket without reading the text. No variant holds a value, a key or a token.

use std::path::PathBuf;

use ax_protocol::bundle::BundleError;
use nix::errno::Errno;

use crate::control_plane::retry::GaveUp;
use crate::harden::HardenError;
use crate::socket::SocketError;
use crate::store::StoreError;
use crate::token::TokenError;

/// Clean stop after SIGTERM or SIGINT.
pub const OK: u8 = 0;
/// A bad flag or argument.
pub const USAGE: u8 = 64;
/// A bad, tampered, expired or foreign bundle, or a key of the wrong length.
pub const DATA: u8 = 65;
/// An input file (bundle, key, token, seal input) is missing or unreadable.
pub const NO_INPUT: u8 = 66;
/// The control plane could not be reached within the fetch deadline.
pub const UNAVAILABLE: u8 = 69;
/// An internal error (also: the control plane called the sidecar's request malformed).
pub const SOFTWARE: u8 = 70;
/// An OS failure: binding the socket, locking memory, hardening the process.
pub const OS: u8 = 71;
/// An output file cannot be created (seal; the audit file; the ready file).
pub const CANT_CREATE: u8 = 73;
/// The sidecar served, but audit events were lost (sysexits `EX_TEMPFAIL`): dropped, refused
/// by the control plane, or not written or shipped before the shutdown deadline. The count is
/// in the last log line. Takes precedence over [`NO_PERM`] for an ended execution.
pub const AUDIT_LOST: u8 = 75;
/// The control plane's 200 broke off mid-body (sysexits `EX_PROTOCOL`): the one-time
/// execution token was spent on it, so this sidecar cannot fetch again; a new start with a new
/// token can.
pub const PROTOCOL: u8 = 76;
/// The control plane refused the execution (401, 403, 404, 409, 410, or an unexpected status);
/// also, after serving: the control plane ended the execution (an audit batch answered 410),
/// so the sidecar stopped serving values, with every audit event shipped.
pub const NO_PERM: u8 = 77;
/// The control plane's certificate does not verify (sysexits `EX_CONFIG`): the trust setup
/// (`--ca-file`, the URL's host name, the certificate itself) is wrong, or someone is in the
/// way; retrying cannot help, a person has to look.
pub const CONFIG: u8 = 78;

/// What stopped the sidecar before it could serve.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// `--ready-fd` is not an open descriptor.
    #[error("--ready-fd {fd} is not an open file descriptor")]
    ReadyFd {
        /// The descriptor given.
        fd: i32,
    },
    /// `--socket` is longer than a Unix socket address holds.
    #[error(
        "--socket path is {len} bytes; a Unix socket path holds at most {max}",
        max = crate::limits::MAX_SOCKET_PATH
    )]
    SocketPathTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// `--socket-group` names no group.
    #[error("--socket-group {group}: no such group (give a group name or a numeric gid)")]
    SocketGroup {
        /// The name given.
        group: String,
    },
    /// The `--ready-file` cannot be written: its directory is missing, or writing failed.
    #[error("cannot write the ready file {path}: {source}")]
    ReadyFile {
        /// Its path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The `--redact-fifo` cannot be made.
    #[error("--redact-fifo {path}: {reason}")]
    RedactFifo {
        /// Its path.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An input file could not be read.
    #[error("cannot read the {what} {path}: {source}")]
    Input {
        /// Which input.
        what: &'static str,
        /// Its path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The key file does not hold a key.
    #[error("the key file {path} must hold exactly 32 bytes, it holds {len}")]
    KeyLength {
        /// Its path.
        path: PathBuf,
        /// What it holds.
        len: usize,
    },
    /// The bundle was refused.
    #[error("the bundle {path} was refused: {source}")]
    Bundle {
        /// Its path.
        path: PathBuf,
        /// Why.
        source: StoreError,
    },
    /// The client token file does not hold a usable token.
    #[error("the client token file {path}: {source}")]
    Token {
        /// Its path.
        path: PathBuf,
        /// Why.
        source: TokenError,
    },
    /// The secret memory could not be locked and unlocked memory was not allowed.
    #[error(
        "cannot lock the secret memory ({errno}); raise RLIMIT_MEMLOCK (ulimit -l) or grant \
         CAP_IPC_LOCK, or pass --allow-unlocked-memory to accept that secrets may reach swap"
    )]
    Lock {
        /// The `mlock` error.
        errno: Errno,
    },
    /// Allocating the secret memory failed.
    #[error("cannot allocate {len} bytes of secret memory")]
    OutOfMemory {
        /// The size asked for.
        len: usize,
    },
    /// Hardening failed.
    #[error("{0}")]
    Harden(#[from] HardenError),
    /// The socket could not be set up.
    #[error("socket {path}: {source}")]
    Socket {
        /// The socket path.
        path: PathBuf,
        /// Why.
        source: SocketError,
    },
    /// The audit file could not be opened.
    #[error("cannot open the audit file {path}: {source}")]
    AuditFile {
        /// Its path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The runtime or a thread could not be started.
    #[error("cannot start the {what}: {source}")]
    Runtime {
        /// What.
        what: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The parent exited before start-up finished: nobody is left to use this sidecar.
    #[error("the parent process exited during start-up")]
    Orphaned,
    /// SIGTERM or SIGINT arrived before the sidecar served.
    #[error("stopped by {signal} before serving")]
    Stopped {
        /// Which signal.
        signal: &'static str,
    },
    /// A descriptor flag names a descriptor that cannot be used.
    #[error("{flag} {fd} {reason}")]
    Fd {
        /// The flag.
        flag: &'static str,
        /// The descriptor given.
        fd: i32,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `--control-plane` is not a usable URL. The URL is not repeated: it might carry
    /// credentials by mistake.
    #[error("--control-plane: the URL {reason}")]
    ControlPlaneUrl {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `--execution-id` breaks the execution id rule.
    #[error("--execution-id: {0}")]
    ExecutionId(BundleError),
    /// The execution token is unusable. Its contents are never printed.
    #[error("the execution token from {origin} {reason}")]
    ExecutionToken {
        /// "the file PATH" or "descriptor N".
        origin: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The control-plane key file does not hold 1 to 16 Ed25519 public keys.
    #[error(
        "the control-plane key file {path} must hold 1 to {max} lines, each an Ed25519 public \
         key of the control plane in standard base64 (44 characters; blank lines and # \
         comments allowed); {reason}",
        max = crate::limits::MAX_CONTROL_PLANE_KEYS
    )]
    ControlPlaneKey {
        /// Its path.
        path: PathBuf,
        /// What is wrong with it, naming a line number, never the line.
        reason: String,
    },
    /// The CA file holds no usable certificate.
    #[error("the CA file {path} {reason}")]
    CaFile {
        /// Its path.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A cryptographic operation failed unexpectedly.
    #[error("internal error: {0}")]
    Crypto(&'static str),
    /// The TLS or HTTP client could not be set up.
    #[error("cannot set up the HTTPS client: {0}")]
    Client(String),
    /// The control plane answered with a status that ends the fetch.
    #[error(
        "the control plane {refused} the bundle fetch for {execution_id}: HTTP {status}{detail}"
    )]
    Refused {
        /// "refused", or "called malformed" for a 400.
        refused: &'static str,
        /// The execution.
        execution_id: String,
        /// The status code.
        status: u16,
        /// `" (error: message)"` from its error body, or empty.
        detail: String,
    },
    /// The control plane could not be reached within the deadline.
    #[error("the control plane {url} could not be reached: {gave_up}")]
    Unreachable {
        /// The base URL.
        url: String,
        /// The attempts and the last failure.
        gave_up: GaveUp,
    },
    /// The bundle the control plane sent was refused.
    #[error("the bundle from the control plane was refused: {0}")]
    FetchedBundle(StoreError),
    /// A 200 whose body broke off, stalled or ended before its announced length. The token
    /// was spent on it, so the fetch is not repeated.
    #[error(
        "the control plane's 200 answer to the bundle fetch was cut short after {received} \
         ({reason}); the execution token was spent on it, so the fetch is not repeated: start \
         again with a new token"
    )]
    Truncated {
        /// What came: "N of M bytes", or "N bytes" when no length was announced.
        received: String,
        /// How it ended.
        reason: String,
    },
    /// The control plane's certificate does not verify; never retried.
    #[error(
        "the control plane {url} presented a certificate that does not verify ({reason}); not \
         retried: check --ca-file, the URL's host name and the certificate's validity"
    )]
    Untrusted {
        /// The base URL.
        url: String,
        /// The verifier's verdict, e.g. "invalid peer certificate: UnknownIssuer".
        reason: String,
    },
}

/// The exit status of a sidecar that served: [`AUDIT_LOST`] when any audit event was lost,
/// else [`NO_PERM`] when the control plane ended the execution, else [`OK`].
pub fn after_serving(audit_lost: u64, ended: bool) -> u8 {
    if audit_lost > 0 {
        AUDIT_LOST
    } else if ended {
        NO_PERM
    } else {
        OK
    }
}

impl StartupError {
    /// The sysexits code for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::ReadyFd { .. } | Self::Fd { .. } => USAGE,
            Self::SocketPathTooLong { .. } | Self::SocketGroup { .. } => USAGE,
            Self::ReadyFile { .. } | Self::RedactFifo { .. } => CANT_CREATE,
            Self::ControlPlaneUrl { .. } | Self::ExecutionId(_) => USAGE,
            Self::Input { .. } => NO_INPUT,
            Self::KeyLength { .. } | Self::Token { .. } => DATA,
            Self::ExecutionToken { .. } | Self::ControlPlaneKey { .. } | Self::CaFile { .. } => {
                DATA
            }
            Self::Bundle { source, .. } | Self::FetchedBundle(source) => match source {
                StoreError::Bundle(BundleError::Internal) | StoreError::NotInArena => SOFTWARE,
                StoreError::Bundle(_) => DATA,
                StoreError::Arena(_) => OS,
            },
            Self::Client(_) | Self::Crypto(_) => SOFTWARE,
            Self::Refused { status, .. } => {
                if *status == 400 {
                    SOFTWARE
                } else {
                    NO_PERM
                }
            }
            Self::Unreachable { .. } => UNAVAILABLE,
            Self::Truncated { .. } => PROTOCOL,
            Self::Untrusted { .. } => CONFIG,
            Self::Stopped { .. } => OK,
            Self::Lock { .. } | Self::Harden(_) | Self::Socket { .. } | Self::Runtime { .. } => OS,
            Self::OutOfMemory { .. } => OS,
            Self::AuditFile { .. } => CANT_CREATE,
            Self::Orphaned => OK,
        }
    }
}
