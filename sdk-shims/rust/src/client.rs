//! The sidecar client: lazy configuration and connection, the handshake, request ids, the
//! retry rules, and the mapping of answers onto results and errors.
//!
//! One connection per client, reused for every call and guarded by a mutex, so one request is
//! in flight at a time. The rules of PROTOCOL §7:
//!
//! * A connection found closed before a request is written (its first write fails with EPIPE
//!   or ECONNRESET: on a Unix socket the kernel reports a closed peer at once, before queueing
//!   anything), or holding bytes no request asked for, is replaced with a fresh connection and
//!   handshake. A request that could not be written is tried once more, on the fresh connection.
//! * `ShuttingDown` and `Busy` mean the request was not served: tried once more on a fresh
//!   connection.
//! * A connection that breaks after a request was written is dropped and the request is **not**
//!   resent: the caller gets an error, and the next call connects afresh.
//! * An answer whose id is not the request's drops the connection (the stream is out of step).

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
use crate::connection::{Connection, SendError};
use crate::error::{Error, Reason};
use crate::wire::encode_request;

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
        // 0 is the handshake's.
        self.next_id = id.checked_add(1).unwrap_or(1);
        id
    }
}

/// Why one attempt failed.
enum Failure {
    /// Worth one more attempt on a fresh connection.
    Retry(Retry),
    /// Final.
    Fatal(Error),
}

enum Retry {
    NotSent,
    NotServed(ErrorCode),
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
        let mut retried = false;
        loop {
            request.id = state.take_id();
            // Before connecting: an argument that is too large leaves nothing sent.
            encode_request(&request, &mut state.out)?;
            let config = self.config();
            let socket = config.socket.as_deref().ok_or(Error::NotConfigured)?;
            let why = match self.attempt(state, config, socket, kind, request.id, answer) {
                Ok(value) => return Ok(value),
                Err(Failure::Fatal(error)) => return Err(error),
                Err(Failure::Retry(why)) => why,
            };
            state.conn = None;
            if retried {
                let reason = match why {
                    Retry::NotSent => Reason::ClosedTwice,
                    Retry::NotServed(code) => Reason::NotServed(code),
                };
                return Err(unavailable(socket, kind, reason));
            }
            retried = true;
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
        match conn.send(&state.out) {
            Ok(()) => {}
            Err(SendError::NotSent) => return Err(Failure::Retry(Retry::NotSent)),
            Err(SendError::Failed(reason)) => {
                state.conn = None;
                return Err(Failure::Fatal(unavailable(socket, kind, reason)));
            }
        }
        let (verdict, keep) = match conn.receive() {
            Ok(response) => judge(response, id, socket, kind, answer),
            Err(reason) => (
                Err(Failure::Fatal(unavailable(socket, kind, reason))),
                false,
            ),
        };
        if keep {
            conn.wipe();
        } else {
            state.conn = None;
        }
        verdict
    }

    /// Connects and does the handshake.
    fn connect(
        &self,
        config: &Config,
        socket: &Path,
        kind: &'static str,
    ) -> Result<Connection, Failure> {
        let mut conn = Connection::connect(socket, self.settings.timeout)
            .map_err(|e| Failure::Fatal(unavailable(socket, kind, Reason::Connect(e))))?;
        let hello = Request {
            id: 0,
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
        match sent {
            Ok(()) => {}
            // Closed at once: what the sidecar said first (Busy, Unauthorized) is still readable.
            Err(SendError::NotSent) => {}
            Err(SendError::Failed(reason)) => {
                return Err(Failure::Fatal(unavailable(socket, "Hello", reason)));
            }
        }
        let verdict = match conn.receive() {
            Ok(response) => {
                judge(response, 0, socket, "Hello", &|body| match body {
                    ResponseBody::Hello {
                        version: PROTOCOL_VERSION,
                        ..
                    } => Ok(Ok(())),
                    ResponseBody::Hello { version, .. } => Ok(Err(version)),
                    other => Err(other.kind()),
                })
                .0
            }
            Err(Reason::Closed) if sent.is_err() => Err(Failure::Retry(Retry::NotSent)),
            Err(reason) => Err(Failure::Fatal(unavailable(socket, "Hello", reason))),
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
}

/// Checks an answer's id and kind; the `bool` says whether the connection may be kept.
fn judge<T>(
    response: Response<'_>,
    id: u32,
    socket: &Path,
    kind: &'static str,
    answer: &impl Fn(ResponseBody<'_>) -> Result<T, &'static str>,
) -> (Result<T, Failure>, bool) {
    let is_error = matches!(response.body, ResponseBody::Error { .. });
    // An error sent before the sidecar could read any id carries id 0 (PROTOCOL §6).
    if response.id != id && !(response.id == 0 && is_error) {
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

/// What an error answer means for the call and the connection (PROTOCOL §6.6).
fn refusal<T>(socket: &Path, kind: &'static str, code: ErrorCode) -> (Result<T, Failure>, bool) {
    let socket = socket.to_owned();
    match code {
        ErrorCode::ShuttingDown | ErrorCode::Busy => {
            (Err(Failure::Retry(Retry::NotServed(code))), false)
        }
        ErrorCode::Unauthorized => (Err(Failure::Fatal(Error::Unauthorized { socket })), false),
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
