//! `ax-sidecar probe`: is a sidecar serving? Connect, `Hello`, `Ping`, and exit 0 on `Pong`.
//!
//! For a container's `exec` readiness or liveness probe, where nothing can inherit the
//! sidecar's `--ready-fd`. The whole probe runs on a worker thread under one deadline
//! (`--timeout`): a `connect` to a socket whose backlog is full, or a sidecar that accepts and
//! never answers, cannot make it hang. Every failure is one line naming the step that failed;
//! the sidecar's own error text is not repeated (it would be a stranger's text in our log when
//! the path names something else), only its error code.

use std::borrow::Cow;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ax_protocol::blocking::{read_frame, write_frame};
use ax_protocol::frame::decode_response;
use ax_protocol::limits::{MAX_REQUEST_FRAME, MAX_RESPONSE_FRAME, PROTOCOL_VERSION};
use ax_protocol::{ErrorCode, Request, RequestBody, ResponseBody, SecretText};
use zeroize::Zeroizing;

use crate::cli::ProbeArgs;
use crate::limits::MAX_SOCKET_PATH;

/// The request ids: `Hello` gets a nonzero one, so an `Error` with id 0 can only be the
/// sidecar's refusal of this process before it read anything (PROTOCOL §7.1).
const HELLO_ID: u32 = 1;
const PING_ID: u32 = 2;

/// Why the probe failed; each is one line on stderr, and exit 69.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The token file could not be read.
    #[error("cannot read the token file {path}: {source}")]
    TokenFile {
        /// Its path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The socket path cannot be connected to by any process.
    #[error("the socket path is {len} bytes; a Unix socket path holds at most {MAX_SOCKET_PATH}")]
    PathTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// Nothing listens, or the path is not reachable.
    #[error("cannot connect to {path}: {source}")]
    Connect {
        /// The socket path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The sidecar refused this process's uid (and gid) before reading the `Hello`.
    #[error("the sidecar refused this process's uid {uid} (Unauthorized before the Hello)")]
    UidRefused {
        /// This process's uid.
        uid: u32,
    },
    /// The sidecar refused the client token.
    #[error("the sidecar refused the client token (Unauthorized): give the right --token-file")]
    TokenRefused,
    /// The sidecar answered with an error.
    #[error("the sidecar answered {step} with the error {code}")]
    Refused {
        /// `Hello` or `Ping`, or "the connection" for an id-0 error.
        step: &'static str,
        /// The error code's name.
        code: &'static str,
    },
    /// The sidecar answered with something else than the request asks for.
    #[error("the sidecar answered {step} with {got} (expected {step})")]
    Unexpected {
        /// `Hello` or `Ping`.
        step: &'static str,
        /// What came instead.
        got: &'static str,
    },
    /// The connection ended before the answer.
    #[error("the sidecar closed the connection before answering {step}")]
    Closed {
        /// `Hello` or `Ping`.
        step: &'static str,
    },
    /// Writing or reading failed.
    #[error("{step} failed: {source}")]
    Transport {
        /// `Hello` or `Ping`.
        step: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
    /// No `Pong` within the deadline.
    #[error("no Pong within {0:?}")]
    Timeout(Duration),
}

/// Runs the probe; `Ok` once the sidecar answered `Ping` with `Pong`.
pub fn run(args: &ProbeArgs) -> Result<(), ProbeError> {
    let len = args.socket.as_os_str().len();
    if len > MAX_SOCKET_PATH {
        return Err(ProbeError::PathTooLong { len });
    }
    let token = args.token_file.as_deref().map(read_token).transpose()?;
    let timeout = args.timeout;
    let deadline = Instant::now() + timeout;
    let (tx, rx) = mpsc::channel();
    let socket = args.socket.clone();
    std::thread::Builder::new()
        .name("probe".into())
        .spawn(move || {
            let token = token.as_deref().map(|t| &t[..]);
            // The socket's own timeouts end at the deadline too: whichever side sees it first,
            // the answer is the same.
            let result = converse(&socket, token, deadline).map_err(|err| match err {
                ProbeError::Transport { source, .. } if timed_out(&source) => {
                    ProbeError::Timeout(timeout)
                }
                other => other,
            });
            let _ = tx.send(result);
        })
        .map_err(|source| ProbeError::Transport {
            step: "starting the probe",
            source,
        })?;
    // The worker is left behind on timeout: the process exits right after.
    rx.recv_timeout(args.timeout)
        .unwrap_or(Err(ProbeError::Timeout(args.timeout)))
}

/// Whether an I/O error is a socket timeout (`SO_RCVTIMEO`/`SO_SNDTIMEO` ran out).
fn timed_out(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// The token file's text without one trailing newline.
fn read_token(path: &Path) -> Result<Zeroizing<String>, ProbeError> {
    let failed = |source| ProbeError::TokenFile {
        path: path.to_path_buf(),
        source,
    };
    let bytes = Zeroizing::new(std::fs::read(path).map_err(failed)?);
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| failed(std::io::Error::other("it does not hold UTF-8 text")))?;
    let text = text.strip_suffix('\n').unwrap_or(text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    Ok(Zeroizing::new(text.to_owned()))
}

/// Connect, `Hello`, `Ping`, each step bounded by what is left until `deadline`.
fn converse(socket: &Path, token: Option<&str>, deadline: Instant) -> Result<(), ProbeError> {
    let mut stream = UnixStream::connect(socket).map_err(|source| ProbeError::Connect {
        path: socket.to_path_buf(),
        source,
    })?;
    let left = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1));
    let _ = stream.set_read_timeout(Some(left));
    let _ = stream.set_write_timeout(Some(left));
    let hello = RequestBody::Hello {
        version: PROTOCOL_VERSION,
        client: Cow::Borrowed(concat!("ax-sidecar-probe/", env!("CARGO_PKG_VERSION"))),
        token: token.map(SecretText::borrowed),
    };
    match exchange(&mut stream, HELLO_ID, hello, "Hello")? {
        ResponseBody::Hello { .. } => {}
        other => return Err(unexpected("Hello", &other)),
    }
    match exchange(&mut stream, PING_ID, RequestBody::Ping, "Ping")? {
        ResponseBody::Pong => Ok(()),
        other => Err(unexpected("Ping", &other)),
    }
}

/// Sends one request and reads its answer. After a failed write, a waiting frame is still
/// read: the sidecar may have refused this process (an id-0 `Error`) and closed already.
fn exchange(
    stream: &mut UnixStream,
    id: u32,
    body: RequestBody<'_>,
    step: &'static str,
) -> Result<ResponseBody<'static>, ProbeError> {
    let mut scratch = Zeroizing::new(Vec::new());
    let written = write_frame(
        stream,
        &Request { id, body },
        MAX_REQUEST_FRAME,
        &mut scratch,
    );
    let mut buf = Vec::new();
    let frame = match read_frame(stream, MAX_RESPONSE_FRAME, &mut buf) {
        Ok(Some(frame)) => frame,
        Ok(None) => {
            return Err(match written {
                Err(source) => ProbeError::Transport { step, source },
                Ok(()) => ProbeError::Closed { step },
            });
        }
        Err(source) => {
            return Err(ProbeError::Transport {
                step,
                source: written.err().unwrap_or(source),
            });
        }
    };
    let response = decode_response(frame).map_err(|err| ProbeError::Transport {
        step,
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, err),
    })?;
    let answer = response.into_owned();
    match answer.body {
        ResponseBody::Error { code, .. } => Err(refused(answer.id, id, code, step)),
        body if answer.id == id => Ok(body),
        _ => Err(ProbeError::Unexpected {
            step,
            got: "an answer with another request's id",
        }),
    }
}

/// The error for an `Error` answer: by its id, the uid's refusal or the token's, or another.
fn refused(answer_id: u32, id: u32, code: ErrorCode, step: &'static str) -> ProbeError {
    match (answer_id == 0, code) {
        (true, ErrorCode::Unauthorized) => ProbeError::UidRefused {
            uid: nix::unistd::Uid::current().as_raw(),
        },
        (false, ErrorCode::Unauthorized) if answer_id == id && id == HELLO_ID => {
            ProbeError::TokenRefused
        }
        (true, _) => ProbeError::Refused {
            step: "the connection",
            code: code.name(),
        },
        (false, _) => ProbeError::Refused {
            step,
            code: code.name(),
        },
    }
}

fn unexpected(step: &'static str, got: &ResponseBody<'_>) -> ProbeError {
    ProbeError::Unexpected {
        step,
        got: got.kind(),
    }
}
