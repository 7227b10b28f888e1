//! The sidecar client: lazy configuration and connection, the handshake, request ids, the
//! retry rules, and the mapping of answers onto results and errors.
//!
//! One connection per client, reused for every call and guarded by a mutex, so one request is
//! in flight at a time. The rules of PROTOCOL §7:
//!
//! * After a failed write (EPIPE, ECONNRESET), of the `Hello` or of a request, one frame is
//!   still read: an `Error` with id 0 waiting there (`Busy`, `Unauthorized`, `ShuttingDown`) is
//!   the call's error, with its code; only if nothing can be read is it a transport failure.
//! * **Resend once** (every request is idempotent, PROTOCOL §7.1): when a *reused* connection
//!   (one that already answered a request) fails before any byte of the answer arrived (the
//!   write fails, the read meets the end of the stream or a reset, or the first frame is an
//!   id-0 `ShuttingDown`), the request is sent once more on a fresh connection with a new
//!   handshake. Never on a fresh connection, never twice, never once the answer began; an id-0
//!   `Busy` or `Unauthorized` is never resent.
//! * A connection holding bytes no request asked for is replaced before the next request.
//! * An answer whose id is not the request's drops the connection (the stream is out of step).
//! * An `Unauthorized` with id 0 is a refused uid (sent before the `Hello` was read); under the
//!   `Hello`'s id, which is never 0, a refused token.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use ax_protocol::limits::PROTOCOL_VERSION;
use ax_protocol::name::is_valid_name;
use ax_protocol::{ErrorCode, Request, RequestBody, Response, ResponseBody, SecretText};
use zeroize::{Zeroize, Zeroizing};

use crate::api::{Redacted, Rendered, SecretInfo, Secrets};
use crate::connection::{Connection, SendError, peer_gone};
use crate::error::{Error, MAX_SOCKET_PATH, Reason, Refused};
use crate::wire::encode_request;

/// The id of every `Hello`: nonzero, so that an `Unauthorized` under it (the token) is told
/// from one with id 0 (the uid, refused before the `Hello` was read; PROTOCOL §7.1).
const HELLO_ID: u32 = 1;

/// The `client` the handshake names, e.g. `"rust/0.1.0"`.
pub(crate) const CLIENT_NAME: &str = concat!("rust/", env!("CARGO_PKG_VERSION"));
/// The environment variable holding the sidecar's socket path.
pub const SOCKET_ENV: &str = "AX_SECRETS_SOCKET";
/// The environment variable holding the client token (unset or empty: no token).
pub const TOKEN_ENV: &str = "AX_SECRETS_TOKEN";

/// What the builder fixed; anything left `None` is read from the environment on first use.
#[derive(Debug, Default)]
pub(crate) struct Settings {
    pub(crate) socket: Option<PathBuf>,
    /// `Some(None)`: explicitly no token.
    pub(crate) token: Option<Option<SecretText<'static>>>,
    pub(crate) timeout: Option<Duration>,
}

/// Where and how to connect, settled at the first request.
struct Config {
    socket: Option<PathBuf>,
    token: Option<SecretText<'static>>,
}

struct State {
    conn: Option<Connection>,
    next_id: u32,
    /// The frame of the request being made; wiped after every call.
    out: Vec<u8>,
}

impl State {
    fn take_id(&mut self) -> u32 {
        let id = self.next_id;
        // Never 0: that id is the sidecar's for connection-level errors.
        self.next_id = id.checked_add(1).unwrap_or(1);
        id
    }
}

/// Why one attempt failed.
enum Failure {
    /// A reused connection failed before any byte of the answer arrived: the request is sent
    /// once more on a fresh connection; the error is the call's if that is not allowed.
    Resend(Error),
    /// Final.
    Fatal(Error),
}

/// Speaks protocol v2 to one sidecar; `ax.secrets()` of [`AxiomContext`](crate::AxiomContext).
pub(crate) struct Client {
    settings: Settings,
    config: OnceLock<Config>,
    state: Mutex<State>,
}

impl Client {
    pub(crate) fn new(settings: Settings) -> Self {
        Self {
            settings,
            config: OnceLock::new(),
            state: Mutex::new(State {
                conn: None,
                next_id: 1,
                out: Vec::new(),
            }),
        }
    }

    /// The socket path, once known (the builder's, or the environment's after the first call).
    pub(crate) fn socket(&self) -> Option<&Path> {
        match self.config.get() {
            Some(config) => config.socket.as_deref(),
            None => self.settings.socket.as_deref(),
        }
    }

    /// Closes the connection; a later call connects again.
    pub(crate) fn close(&self) {
        self.lock().conn = None;
    }

    fn config(&self) -> &Config {
        self.config.get_or_init(|| Config {
            socket: self.settings.socket.clone().or_else(|| {
                std::env::var_os(SOCKET_ENV)
                    .filter(|path| !path.is_empty())
                    .map(PathBuf::from)
            }),
            token: match &self.settings.token {
                Some(token) => token.clone(),
                None => std::env::var(TOKEN_ENV)
                    .ok()
                    .filter(|token| !token.is_empty())
                    .map(SecretText::owned),
            },
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| {
            // A caller panicked mid-request (only an allocation failure can make one here):
            // the stream may be out of step, so start afresh.
            let mut state = poisoned.into_inner();
            state.conn = None;
            self.state.clear_poison();
            state
        })
    }

    /// Sends `body` and maps the answer with `answer`, which returns the name of any answer
    /// kind it does not expect. Error answers are handled here.
    fn call<T>(
        &self,
        body: RequestBody<'_>,
        answer: impl Fn(ResponseBody<'_>) -> Result<T, &'static str>,
    ) -> Result<T, Error> {
        let mut guard = self.lock();
        let state = &mut *guard;
        let result = self.call_locked(state, body, &answer);
        state.out.as_mut_slice().zeroize();
        state.out.clear();
        result
    }

    fn call_locked<T>(
        &self,
        state: &mut State,
        body: RequestBody<'_>,
        answer: &impl Fn(ResponseBody<'_>) -> Result<T, &'static str>,
    ) -> Result<T, Error> {
        let kind = body.kind();
        let mut request = Request { id: 0, body };
        let mut resent = false;
        loop {
            request.id = state.take_id();
            // Before connecting: an argument that is too large leaves nothing sent.
            encode_request(&request, &mut state.out)?;
            let config = self.config();
            let socket = config.socket.as_deref().ok_or(Error::NotConfigured)?;
            match self.attempt(state, config, socket, kind, request.id, answer) {
                Ok(value) => return Ok(value),
                Err(Failure::Fatal(error)) => return Err(error),
                // Only a reused connection asks for a resend, and the resend goes out on a
                // fresh one; the guard keeps "never a second time" true whatever changes above.
                Err(Failure::Resend(error)) if resent => return Err(error),
                Err(Failure::Resend(_)) => {
                    state.conn = None;
                    resent = true;
                }
            }
        }
    }

    fn attempt<T>(
        &self,
        state: &mut State,
        config: &Config,
        socket: &Path,
        kind: &'static str,
        id: u32,
        answer: &impl Fn(ResponseBody<'_>) -> Result<T, &'static str>,
    ) -> Result<T, Failure> {
        if state.conn.as_ref().is_some_and(Connection::has_unread) {
            state.conn = None;
        }
        let conn = match &mut state.conn {
            Some(conn) => conn,
            empty => empty.insert(self.connect(config, socket, kind)?),
        };
        let reused = conn.is_reused();
        let write_failed = match conn.send(&state.out) {
            Ok(()) => None,
            // What the sidecar wrote before it closed (an id-0 error) may still be readable.
            Err(SendError::PeerGone(reason)) => Some(reason),
            Err(SendError::Failed(reason)) => {
                state.conn = None;
                return Err(Failure::Fatal(unavailable(socket, kind, reason)));
            }
        };
        let mut answered = false;
        let received = match conn.receive() {
            Ok(response) => match connection_error_code(&response) {
                Some(code) => Ok((connection_error(socket, kind, code, reused), false)),
                None if write_failed.is_some() => Err(None),
                None => {
                    answered = true;
                    Ok(judge(response, id, socket, kind, answer))
                }
            },
            Err(reason) => Err(Some(reason)),
        };
        let (verdict, keep) = match received {
            Ok(judged) => judged,
            // A frame other than an id-0 error after a failed write: the write's failure.
            Err(None) => {
                let reason = write_failed.unwrap_or(Reason::Closed);
                (
                    Err(Failure::Fatal(unavailable(socket, kind, reason))),
                    false,
                )
            }
            Err(Some(reason)) => {
                let error = unavailable(socket, kind, reason);
                let before_answer =
                    write_failed.is_some() || (!conn.answer_began() && is_end_of_stream(&error));
                if reused && before_answer {
                    (Err(Failure::Resend(error)), false)
                } else {
                    (Err(Failure::Fatal(error)), false)
                }
            }
        };
        if answered {
            conn.mark_answered();
        }
        if keep {
            conn.wipe();
        } else {
            state.conn = None;
        }
        verdict
    }

    /// Connects and does the handshake. Nothing here is ever retried: a fresh connection that
    /// fails is the caller's error.
    fn connect(
        &self,
        config: &Config,
        socket: &Path,
        kind: &'static str,
    ) -> Result<Connection, Failure> {
        let bytes = socket.as_os_str().len();
        if bytes > MAX_SOCKET_PATH {
            return Err(Failure::Fatal(unavailable(
                socket,
                kind,
                Reason::PathTooLong { bytes },
            )));
        }
        let conn = Connection::connect(socket, self.settings.timeout)
            .map_err(|e| Failure::Fatal(unavailable(socket, kind, Reason::Connect(e))))?;
        handshake(conn, config, socket)
    }
}

/// Sends the `Hello` on a fresh connection and reads its answer.
fn handshake(mut conn: Connection, config: &Config, socket: &Path) -> Result<Connection, Failure> {
    let hello = Request {
        id: HELLO_ID,
        body: RequestBody::Hello {
            version: PROTOCOL_VERSION,
            client: Cow::Borrowed(CLIENT_NAME),
            token: config
                .token
                .as_ref()
                .map(|token| SecretText::borrowed(token.expose())),
        },
    };
    let mut frame = Zeroizing::new(Vec::new());
    encode_request(&hello, &mut frame).map_err(Failure::Fatal)?;
    let sent = conn.send(&frame);
    drop(frame);
    let write_failed = match sent {
        Ok(()) => None,
        // Closed at once: what the sidecar said first (Busy, Unauthorized) is still readable.
        Err(SendError::PeerGone(reason)) => Some(reason),
        Err(SendError::Failed(reason)) => {
            return Err(Failure::Fatal(unavailable(socket, "Hello", reason)));
        }
    };
    let verdict = match (conn.receive(), write_failed) {
        (Ok(response), write_failed) => match (connection_error_code(&response), write_failed) {
            (Some(code), _) => connection_error(socket, "Hello", code, false),
            (None, Some(reason)) => Err(Failure::Fatal(unavailable(socket, "Hello", reason))),
            (None, None) => {
                judge(response, HELLO_ID, socket, "Hello", &|body| match body {
                    ResponseBody::Hello {
                        version: PROTOCOL_VERSION,
                        ..
                    } => Ok(Ok(())),
                    ResponseBody::Hello { version, .. } => Ok(Err(version)),
                    other => Err(other.kind()),
                })
                .0
            }
        },
        (Err(_), Some(reason)) | (Err(reason), None) => {
            Err(Failure::Fatal(unavailable(socket, "Hello", reason)))
        }
    };
    match verdict? {
        Ok(()) => {
            conn.wipe();
            Ok(conn)
        }
        Err(version) => Err(Failure::Fatal(unavailable(
            socket,
            "Hello",
            Reason::WrongVersion(version),
        ))),
    }
}

/// The code of a connection-level error (PROTOCOL §7.3): an `Error` with id 0, which answers
/// no request and is followed by the sidecar closing the connection.
fn connection_error_code(response: &Response<'_>) -> Option<ErrorCode> {
    match response.body {
        ResponseBody::Error { code, .. } if response.id == 0 => Some(code),
        _ => None,
    }
}

/// What a connection-level error means: its code is the call's error (a refused uid for
/// `Unauthorized`); only `ShuttingDown` on a reused connection asks for a resend, since the
/// request was not served and a fresh connection may reach a new sidecar.
fn connection_error<T>(
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
fn is_end_of_stream(error: &Error) -> bool {
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
fn judge<T>(
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

fn unavailable(socket: &Path, request: &'static str, reason: Reason) -> Error {
    Error::Unavailable {
        socket: socket.to_owned(),
        request,
        reason,
    }
}

impl Secrets for Client {
    fn try_get(&self, name: &str) -> Result<Option<String>, Error> {
        if !is_valid_name(name) {
            return Ok(None);
        }
        let body = RequestBody::Get {
            name: Cow::Borrowed(name),
        };
        self.call(body, |answer| match answer {
            ResponseBody::Secret { value } => Ok(value.map(|v| v.expose().to_owned())),
            other => Err(other.kind()),
        })
    }

    fn list(&self) -> Result<Vec<SecretInfo>, Error> {
        self.call(RequestBody::List, |answer| match answer {
            ResponseBody::List { secrets } => Ok(secrets
                .into_iter()
                .map(|info| SecretInfo {
                    name: info.name.into_owned(),
                    version: info.version,
                    updated_at: info.updated_at,
                })
                .collect()),
            other => Err(other.kind()),
        })
    }

    fn render(&self, template: &str) -> Result<Rendered, Error> {
        let body = RequestBody::Render {
            template: SecretText::borrowed(template),
        };
        self.call(body, |answer| match answer {
            ResponseBody::Rendered { text, missing } => Ok(Rendered {
                text: text.expose().to_owned(),
                missing: missing.into_iter().map(Cow::into_owned).collect(),
            }),
            other => Err(other.kind()),
        })
    }

    fn redact(&self, text: &str) -> Result<Redacted, Error> {
        let body = RequestBody::Redact {
            text: SecretText::borrowed(text),
        };
        self.call(body, |answer| match answer {
            ResponseBody::Redacted { text, found } => Ok(Redacted {
                text: text.into_owned(),
                found: found.into_iter().map(Cow::into_owned).collect(),
            }),
            other => Err(other.kind()),
        })
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SidecarSecrets")
            .field("socket", &self.socket())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;
    use ax_protocol::frame::to_frame;
    use ax_protocol::limits::MAX_RESPONSE_FRAME;
    use std::io::Write;
    use std::os::unix::net::UnixStream;

    /// The sidecar at its cap writes `Busy` and closes *before* the client's `Hello` is
    /// written, so that write fails (EPIPE) for certain: the order a fake behind a listener
    /// cannot force, since `connect` returns before the fake accepts.
    #[test]
    fn busy_written_and_closed_before_the_hello_write_is_reported_as_busy() {
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        let busy = Response {
            id: 0,
            body: ResponseBody::Error {
                code: ErrorCode::Busy,
                message: Cow::Borrowed("at the connection cap"),
            },
        };
        theirs
            .write_all(&to_frame(&busy, MAX_RESPONSE_FRAME).unwrap())
            .unwrap();
        drop(theirs);
        let config = Config {
            socket: None,
            token: None,
        };
        let Err(Failure::Fatal(error)) =
            handshake(Connection::from_stream(ours), &config, Path::new("/s"))
        else {
            panic!("the handshake did not fail for good");
        };
        assert!(
            matches!(
                error,
                Error::Unavailable {
                    reason: Reason::NotServed(ErrorCode::Busy),
                    ..
                }
            ),
            "{error:?}"
        );
    }

    #[test]
    fn a_hello_write_that_fails_with_nothing_to_read_is_a_transport_error() {
        let (ours, theirs) = UnixStream::pair().unwrap();
        drop(theirs);
        let config = Config {
            socket: None,
            token: None,
        };
        let Err(Failure::Fatal(error)) =
            handshake(Connection::from_stream(ours), &config, Path::new("/s"))
        else {
            panic!("the handshake did not fail for good");
        };
        assert!(
            matches!(
                error,
                Error::Unavailable {
                    reason: Reason::Broken(_),
                    request: "Hello",
                    ..
                }
            ),
            "{error:?}"
        );
        assert_eq!(error.code(), None);
    }
}
