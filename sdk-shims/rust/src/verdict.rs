//! What an answer, or a failed read, means for the call: its result or error, whether the
//! connection may be kept, and whether the request is sent once more (PROTOCOL §6.6, §7.3,
//! §7.4).

use std::path::Path;

use ax_protocol::{ErrorCode, Response, ResponseBody};

use crate::connection::peer_gone;
use crate::error::{Error, Reason, Refused};

/// Why one attempt failed.
pub(crate) enum Failure {
    /// A reused connection failed before any byte of the answer arrived: the request is sent
    /// once more on a fresh connection; the error is the call's if that is not allowed.
    Resend(Error),
    /// Final.
    Fatal(Error),
}

/// The code of a connection-level error (PROTOCOL §7.3): an `Error` with id 0, which answers
/// no request and is followed by the sidecar closing the connection.
pub(crate) fn connection_error_code(response: &Response<'_>) -> Option<ErrorCode> {
    match response.body {
        ResponseBody::Error { code, .. } if response.id == 0 => Some(code),
        _ => None,
    }
}

/// What a connection-level error means: its code is the call's error (a refused uid for
/// `Unauthorized`); only `ShuttingDown` on a reused connection asks for a resend, since the
/// request was not served and a fresh connection may reach a new sidecar.
pub(crate) fn connection_error<T>(
    socket: &Path,
    kind: &'static str,
    code: ErrorCode,
    reused: bool,
) -> Result<T, Failure> {
    let error = match code {
        ErrorCode::Unauthorized => Error::Unauthorized {
            socket: socket.to_owned(),
            refused: Refused::Uid(process_uid()),
        },
        ErrorCode::ShuttingDown | ErrorCode::Busy => {
            unavailable(socket, kind, Reason::NotServed(code))
        }
        code => Error::Refused {
            socket: socket.to_owned(),
            request: kind,
            code,
        },
    };
    if reused && code == ErrorCode::ShuttingDown {
        Err(Failure::Resend(error))
    } else {
        Err(Failure::Fatal(error))
    }
}

/// Whether a failed read met the end of the stream or a reset: the connection was closed, which
/// on a reused connection is the idle-close race (PROTOCOL §7.4) and not a broken answer.
pub(crate) fn is_end_of_stream(error: &Error) -> bool {
    match error {
        Error::Unavailable {
            reason: Reason::Closed,
            ..
        } => true,
        Error::Unavailable {
            reason: Reason::Broken(e),
            ..
        } => peer_gone(e),
        _ => false,
    }
}

/// This process's uid, for the message of a refused uid (PROTOCOL §1: `SO_PEERCRED`).
#[allow(unsafe_code)]
fn process_uid() -> u32 {
    unsafe extern "C" {
        // SAFETY: getuid takes nothing, cannot fail and touches no memory (POSIX); `uid_t` is
        // a 32-bit unsigned integer on every Unix Rust supports here. Declared `safe`, so the
        // call needs no unsafe block.
        safe fn getuid() -> u32;
    }
    getuid()
}

/// Checks an answer's id and kind; the `bool` says whether the connection may be kept.
pub(crate) fn judge<T>(
    response: Response<'_>,
    id: u32,
    socket: &Path,
    kind: &'static str,
    answer: &impl Fn(ResponseBody<'_>) -> Result<T, &'static str>,
) -> (Result<T, Failure>, bool) {
    if response.id != id {
        let reason = Reason::IdMismatch {
            sent: id,
            received: response.id,
        };
        return (
            Err(Failure::Fatal(unavailable(socket, kind, reason))),
            false,
        );
    }
    match response.body {
        ResponseBody::Error { code, .. } => refusal(socket, kind, code),
        body => match answer(body) {
            Ok(value) => (Ok(value), true),
            Err(other) => {
                let reason = Reason::UnexpectedAnswer(other);
                (
                    Err(Failure::Fatal(unavailable(socket, kind, reason))),
                    false,
                )
            }
        },
    }
}

/// What an error answer under the request's own id means for the call and the connection
/// (PROTOCOL §6.6). None is resent: the connection answered.
fn refusal<T>(socket: &Path, kind: &'static str, code: ErrorCode) -> (Result<T, Failure>, bool) {
    let socket = socket.to_owned();
    match code {
        ErrorCode::ShuttingDown | ErrorCode::Busy => (
            Err(Failure::Fatal(Error::Unavailable {
                socket,
                request: kind,
                reason: Reason::NotServed(code),
            })),
            false,
        ),
        // Under the Hello's id (never 0): the token; a refused uid comes with id 0.
        ErrorCode::Unauthorized => (
            Err(Failure::Fatal(Error::Unauthorized {
                socket,
                refused: Refused::Token,
            })),
            false,
        ),
        ErrorCode::Internal | ErrorCode::TooLarge => {
            let error = Error::Refused {
                socket,
                request: kind,
                code,
            };
            (Err(Failure::Fatal(error)), true)
        }
        _ => {
            let error = Error::Refused {
                socket,
                request: kind,
                code,
            };
            (Err(Failure::Fatal(error)), false)
        }
    }
}

pub(crate) fn unavailable(socket: &Path, request: &'static str, reason: Reason) -> Error {
    Error::Unavailable {
        socket: socket.to_owned(),
        request,
        reason,
    }
}
