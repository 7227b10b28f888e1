//! The sidecar client: lazy configuration and connection, request ids, the resend rule, and the
//! mapping of answers onto results (the handshake is in `handshake.rs`; what an answer or a
//! failure means for the call, in `verdict.rs`).
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

use ax_protocol::name::is_valid_name;
use ax_protocol::{Request, RequestBody, ResponseBody, SecretText};
use zeroize::Zeroize;

use crate::api::{Redacted, Rendered, SecretInfo, Secrets};
use crate::connection::{Connection, SendError};
use crate::error::{Error, MAX_SOCKET_PATH, Reason};
use crate::handshake::handshake;
use crate::verdict::{
    Failure, connection_error, connection_error_code, is_end_of_stream, judge, unavailable,
};
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
        // Never 0: that id is the sidecar's for connection-level errors.
        self.next_id = id.checked_add(1).unwrap_or(1);
        id
    }
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
        handshake(conn, config.token.as_ref(), socket)
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
