//! Exit codes (sysexits, PROTOCOL §14) and the start-up errors that lead to them.
//!
//! Every failure before the sidecar serves is one [`StartupError`], printed as one line on
//! stderr; its variant decides the exit code, so a launcher can tell a bad bundle from a busy
//! socket without reading the text. No variant holds a value, a key or a token.

use std::path::PathBuf;

use ax_protocol::bundle::BundleError;
use nix::errno::Errno;

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
/// An internal error.
pub const SOFTWARE: u8 = 70;
/// An OS failure: binding the socket, locking memory, hardening the process.
pub const OS: u8 = 71;
/// An output file cannot be created (seal; the audit file).
pub const CANT_CREATE: u8 = 73;

/// What stopped the sidecar before it could serve.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// `--ready-fd` is not an open descriptor.
    #[error("--ready-fd {fd} is not an open file descriptor")]
    ReadyFd {
        /// The descriptor given.
        fd: i32,
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
}

impl StartupError {
    /// The sysexits code for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::ReadyFd { .. } => USAGE,
            Self::Input { .. } => NO_INPUT,
            Self::KeyLength { .. } | Self::Token { .. } => DATA,
            Self::Bundle { source, .. } => match source {
                StoreError::Bundle(BundleError::Internal) | StoreError::NotInArena => SOFTWARE,
                StoreError::Bundle(_) => DATA,
                StoreError::Arena(_) => OS,
            },
            Self::Lock { .. } | Self::Harden(_) | Self::Socket { .. } | Self::Runtime { .. } => OS,
            Self::OutOfMemory { .. } => OS,
            Self::AuditFile { .. } => CANT_CREATE,
            Self::Orphaned => OK,
        }
    }
}
