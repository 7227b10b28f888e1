//! The shim's errors, and every message a user of the shim can see.
//!
//! No message ever holds a secret value, a token, a template or a text to redact: only socket
//! paths, names of request kinds, error codes, ids and sizes.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use ax_protocol::{ErrorCode, WireError};

/// Why a call could not be answered. A missing secret is **never** an error.
///
/// Every variant except [`Error::TooLarge`] means the sidecar could not be asked or refused to
/// answer: a transport failure, which the shim never turns into "not found".
/// [`Display`](fmt::Display) gives one line that names the socket; it never holds a value.
#[non_exhaustive]
#[derive(Debug)]
pub enum Error {
    /// `AX_SECRETS_SOCKET` is unset or empty and no socket was given to the builder.
    NotConfigured,
    /// The sidecar at `socket` could not be asked (see [`Reason`]).
    Unavailable {
        /// The socket the shim tried to reach.
        socket: PathBuf,
        /// The request being made (`"Get"`, `"List"`, ... or `"Hello"` for the handshake).
        request: &'static str,
        /// What went wrong.
        reason: Reason,
    },
    /// The sidecar refused this process's uid, or the client token (wrong or missing).
    Unauthorized {
        /// The socket of the sidecar that refused.
        socket: PathBuf,
        /// Which of the two it refused.
        refused: Refused,
    },
    /// The sidecar answered `request` with an error code other than `Unauthorized`.
    Refused {
        /// The socket of the sidecar that refused.
        socket: PathBuf,
        /// The request it refused.
        request: &'static str,
        /// The protocol error code (PROTOCOL §6.6).
        code: ErrorCode,
    },
    /// The request would be larger than the request limit (1 MiB); nothing was sent.
    TooLarge {
        /// The request (`"Render"` or `"Redact"`).
        request: &'static str,
        /// The limit on a request body, in bytes.
        limit: u32,
    },
}

/// What the sidecar refused when it answered `Unauthorized` ([`Error::Unauthorized`]).
///
/// PROTOCOL §7.1 tells them apart by the answer's id: a refused uid is answered with id 0 right
/// after accepting, before the `Hello` is read; a refused token under the `Hello`'s own id,
/// which this shim never makes 0.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The client token was missing or wrong.
    Token,
    /// This process's uid (`getuid()`) may not connect to this sidecar (it checks the uid
    /// `SO_PEERCRED` gives, the effective uid, which is the same unless the program is setuid).
    Uid(u32),
}

/// Why the sidecar could not be asked ([`Error::Unavailable`]).
#[non_exhaustive]
#[derive(Debug)]
pub enum Reason {
    /// Connecting failed: nothing listens at the path, or it may not be entered.
    Connect(io::Error),
    /// The socket path is longer than a Unix socket address holds (107 bytes); nothing was
    /// tried.
    PathTooLong {
        /// The path's length in bytes.
        bytes: usize,
    },
    /// The sidecar closed the connection before answering (on a reused connection, after the
    /// request was resent once on a fresh one).
    Closed,
    /// The connection broke while the request was written or answered.
    Broken(io::Error),
    /// No answer within the timeout given to the builder; the connection was dropped.
    TimedOut,
    /// The sidecar answered `ShuttingDown` or `Busy`: it did not serve the request. `Busy`
    /// (at its connection cap) is worth trying again after a pause.
    NotServed(ErrorCode),
    /// The answer was not a valid protocol v2 frame or message; the connection was dropped.
    Malformed(WireError),
    /// The answer carried another request's id (the stream is out of step); the connection was
    /// dropped.
    IdMismatch {
        /// The id of the request.
        sent: u32,
        /// The id of the answer.
        received: u32,
    },
    /// The answer was of another kind than the request calls for; the connection was dropped.
    UnexpectedAnswer(&'static str),
    /// The sidecar answered `Hello` with another protocol version than the one this shim speaks.
    WrongVersion(u16),
}

/// The longest socket path a `sockaddr_un` holds: 108 bytes with the closing NUL.
pub(crate) const MAX_SOCKET_PATH: usize = 107;

/// Every message starts with this, so a log line says where it came from.
const PREFIX: &str = "ax-secrets: ";

/// What [`Secrets::get`](crate::Secrets::get) adds to the error when it panics.
pub(crate) const GET_PANIC_HINT: &str = "(Secrets::try_get returns this as an Err instead)";

impl Error {
    /// The socket of the sidecar involved, when one was configured.
    pub fn socket(&self) -> Option<&Path> {
        match self {
            Self::Unavailable { socket, .. }
            | Self::Unauthorized { socket, .. }
            | Self::Refused { socket, .. } => Some(socket),
            Self::NotConfigured | Self::TooLarge { .. } => None,
        }
    }

    /// The protocol error code the sidecar answered with, if it answered with one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Unauthorized { .. } => Some(ErrorCode::Unauthorized),
            Self::Refused { code, .. } => Some(*code),
            Self::Unavailable {
                reason: Reason::NotServed(code),
                ..
            } => Some(*code),
            _ => None,
        }
    }

    /// Whether the sidecar could not be asked or refused to answer (every variant but
    /// [`Error::TooLarge`], which is a problem of the argument).
    pub fn is_unavailable(&self) -> bool {
        !matches!(self, Self::TooLarge { .. })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PREFIX)?;
        match self {
            Self::NotConfigured => f.write_str(
                "AX_SECRETS_SOCKET is not set, so there is no sidecar to ask \
                 (in tests, use MockAxiomContext)",
            ),
            Self::Unavailable {
                socket,
                reason: Reason::PathTooLong { bytes },
                ..
            } => write!(
                f,
                "socket path {} is {bytes} bytes; a Unix socket path holds at most {}",
                socket.display(),
                MAX_SOCKET_PATH
            ),
            Self::Unavailable {
                socket,
                request,
                reason,
            } => {
                write!(f, "the sidecar at {} ", socket.display())?;
                describe(f, request, reason)
            }
            Self::Unauthorized {
                socket,
                refused: Refused::Uid(uid),
            } => write!(
                f,
                "the sidecar at {} refused this process's uid {uid} (not allowed to connect)",
                socket.display()
            ),
            Self::Unauthorized {
                socket,
                refused: Refused::Token,
            } => write!(
                f,
                "the sidecar at {} refused the client token (missing or wrong)",
                socket.display()
            ),
            Self::Refused {
                socket,
                request,
                code,
            } => write!(
                f,
                "the sidecar at {} refused {request} with error {}",
                socket.display(),
                code.name()
            ),
            Self::TooLarge { request, limit } => write!(
                f,
                "this {request} request would be over the request limit of {limit} bytes \
                 (1 MiB); nothing was sent"
            ),
        }
    }
}

fn describe(f: &mut fmt::Formatter<'_>, request: &str, reason: &Reason) -> fmt::Result {
    match reason {
        Reason::Connect(e) => write!(f, "cannot be reached ({e})"),
        // Written by Display above; kept here so that every reason has its words.
        Reason::PathTooLong { bytes } => write!(
            f,
            "has a socket path of {bytes} bytes; a Unix socket path holds at most \
             {MAX_SOCKET_PATH}"
        ),
        Reason::Closed => write!(f, "closed the connection before answering {request}"),
        Reason::Broken(e) => write!(
            f,
            "broke the connection while {request} was sent or answered ({e})"
        ),
        Reason::TimedOut => write!(
            f,
            "did not answer {request} in time; the connection was dropped"
        ),
        Reason::NotServed(code) => write!(f, "did not serve {request} (error {})", code.name()),
        Reason::Malformed(e) => write!(
            f,
            "sent a malformed answer to {request} ({}: {e}); the connection was dropped",
            e.kind()
        ),
        Reason::IdMismatch { sent, received } => write!(
            f,
            "answered request {sent} with id {received}; the connection was dropped"
        ),
        Reason::UnexpectedAnswer(answer) => write!(
            f,
            "answered {request} with {answer}; the connection was dropped"
        ),
        Reason::WrongVersion(version) => {
            write!(
                f,
                "speaks protocol version {version}, not {}",
                ax_protocol::limits::PROTOCOL_VERSION
            )
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Unavailable {
                reason: Reason::Connect(e) | Reason::Broken(e),
                ..
            } => Some(e),
            Self::Unavailable {
                reason: Reason::Malformed(e),
                ..
            } => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_names_the_socket_when_there_is_one() {
        let socket = PathBuf::from("/run/ax/x.sock");
        let errors = [
            Error::Unavailable {
                socket: socket.clone(),
                request: "Get",
                reason: Reason::Closed,
            },
            Error::Unauthorized {
                socket: socket.clone(),
                refused: Refused::Token,
            },
            Error::Refused {
                socket: socket.clone(),
                request: "Render",
                code: ErrorCode::Internal,
            },
        ];
        for error in errors {
            assert!(error.to_string().contains("/run/ax/x.sock"), "{error}");
            assert_eq!(error.socket(), Some(socket.as_path()));
            assert!(error.is_unavailable());
        }
        let too_large = Error::TooLarge {
            request: "Redact",
            limit: 1_048_576,
        };
        assert!(!too_large.is_unavailable());
        assert!(too_large.to_string().contains("1048576"));
    }

    #[test]
    fn codes_come_from_the_answer() {
        let busy = Error::Unavailable {
            socket: "/s".into(),
            request: "Get",
            reason: Reason::NotServed(ErrorCode::Busy),
        };
        assert_eq!(busy.code(), Some(ErrorCode::Busy));
        assert_eq!(
            Error::Unauthorized {
                socket: "/s".into(),
                refused: Refused::Uid(1001),
            }
            .code(),
            Some(ErrorCode::Unauthorized)
        );
        assert_eq!(Error::NotConfigured.code(), None);
    }
}

#[cfg(test)]
mod refusals {
    use super::*;

    #[test]
    fn a_refused_uid_names_the_uid_and_never_the_token() {
        let error = Error::Unauthorized {
            socket: "/run/ax/s.sock".into(),
            refused: Refused::Uid(1001),
        };
        let message = error.to_string();
        assert!(message.contains("uid 1001"), "{message}");
        assert!(!message.contains("token"), "{message}");
    }

    #[test]
    fn a_refused_token_names_the_token_and_never_the_uid() {
        let error = Error::Unauthorized {
            socket: "/run/ax/s.sock".into(),
            refused: Refused::Token,
        };
        let message = error.to_string();
        assert!(message.contains("token"), "{message}");
        assert!(!message.contains("uid"), "{message}");
    }

    #[test]
    fn an_over_long_path_gives_its_length_and_the_limit() {
        let socket = PathBuf::from(format!("/{}", "x".repeat(130)));
        let error = Error::Unavailable {
            socket: socket.clone(),
            request: "Get",
            reason: Reason::PathTooLong { bytes: 131 },
        };
        assert_eq!(
            error.to_string(),
            format!(
                "ax-secrets: socket path {} is 131 bytes; a Unix socket path holds at most 107",
                socket.display()
            )
        );
        assert_eq!(error.code(), None);
    }
}
