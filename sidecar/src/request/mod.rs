//! Serving one decoded request: one module per request kind, and what they share.
//!
//! Every handler writes exactly one response frame into the connection's output buffer and
//! says whether the connection goes on. Values are written straight from the locked arena into
//! that buffer; the buffer is wiped after it is sent (see `connection`). `Render` and `Redact`
//! cost CPU in proportion to their size, so they are not served here but handed to [`heavy`],
//! which runs them on the blocking pool.

mod get;
pub mod heavy;
mod hello;
pub use hello::SIDECAR;
mod list;
mod redact;
mod render;

use std::borrow::Cow;
use std::sync::Arc;

use ax_protocol::frame::encode_frame;
use ax_protocol::{ErrorCode, Request, RequestBody, Response, ResponseBody};
use bytes::BytesMut;
use tokio::sync::{OnceCell, Semaphore};

use crate::audit::value_like::ValueNames;
use crate::audit::{AuditName, AuditQueue, Peer};
use crate::limits::{ConnectionLimits, MAX_HEAVY_JOBS};
use crate::messages;
use crate::redact::Redactor;
use crate::store::Store;
use crate::token::ClientToken;

/// What the connection does after a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Read the next request.
    Continue,
    /// Send what is buffered and close.
    Close,
}

/// What [`serve`] did with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The response is in the output buffer.
    Done(Flow),
    /// Nothing was written: the request is CPU-heavy and must go to [`heavy::serve`].
    Offload(heavy::Heavy),
}

/// Everything a request may need, shared by all connections.
#[derive(Debug)]
pub struct Service {
    /// The secrets.
    pub store: Arc<Store>,
    /// The audit queue.
    pub audit: Arc<AuditQueue>,
    /// The client token, when one is required.
    pub token: Option<ClientToken>,
    /// Per-connection limits.
    pub limits: ConnectionLimits,
    redactor: OnceCell<Arc<Redactor>>,
    /// The values (and forms) that are valid names, as keyed hashes: such a "name" is never
    /// recorded in the audit trail.
    value_names: ValueNames,
    /// Permits for heavy requests: at most [`MAX_HEAVY_JOBS`] run at once.
    heavy: Arc<Semaphore>,
}

impl Service {
    /// A service over `store`.
    pub fn new(
        store: Arc<Store>,
        audit: Arc<AuditQueue>,
        token: Option<ClientToken>,
        limits: ConnectionLimits,
    ) -> Self {
        let started = std::time::Instant::now();
        let value_names = ValueNames::build(&store);
        tracing::debug!(
            hashes = value_names.len(),
            elapsed_us = started.elapsed().as_micros() as u64,
            "indexed the values that look like names"
        );
        Self {
            store,
            audit,
            token,
            limits,
            redactor: OnceCell::new(),
            value_names,
            heavy: Arc::new(Semaphore::new(MAX_HEAVY_JOBS)),
        }
    }

    /// The redaction matcher, built on first use off the serving thread (by a caller that
    /// holds a heavy-job permit, so the build counts against [`MAX_HEAVY_JOBS`]).
    async fn redactor(&self) -> Option<Arc<Redactor>> {
        let built = self
            .redactor
            .get_or_try_init(|| {
                let store = Arc::clone(&self.store);
                async move {
                    let started = std::time::Instant::now();
                    let built = tokio::task::spawn_blocking(move || Redactor::build(&store)).await;
                    match built {
                        Ok(Ok(redactor)) => {
                            tracing::info!(
                                elapsed_ms = started.elapsed().as_millis() as u64,
                                "built the redaction matcher"
                            );
                            Ok(Arc::new(redactor))
                        }
                        Ok(Err(err)) => {
                            tracing::error!(error = %err, "redaction unavailable");
                            Err(())
                        }
                        Err(_) => {
                            tracing::error!("building the redaction matcher failed");
                            Err(())
                        }
                    }
                }
            })
            .await;
        built.ok().map(Arc::clone)
    }

    /// The audit name of `name`: its store position, or why it has none. A missing name that
    /// is a value of the bundle, or one of its forms, becomes a placeholder: the trail never
    /// holds a value, even one a client passed where a name belongs.
    fn audit_name(&self, name: &str) -> AuditName {
        if !ax_protocol::name::is_valid_name(name) {
            return AuditName::Invalid;
        }
        match self.store.position(name) {
            Some(index) => AuditName::Known(index),
            None if self.value_names.contains(&self.store, name) => AuditName::ValueLike,
            None => AuditName::Missing(name.into()),
        }
    }
}

/// One connection's state.
#[derive(Debug)]
pub struct Session {
    /// The peer, from `SO_PEERCRED`.
    pub peer: Peer,
    /// Whether `Hello` succeeded.
    pub greeted: bool,
}

/// Serves `request`, appending its response frame to `out`, unless it is heavy.
pub fn serve(
    service: &Service,
    session: &mut Session,
    request: Request<'_>,
    out: &mut BytesMut,
) -> Outcome {
    let id = request.id;
    let flow = match (session.greeted, request.body) {
        (
            false,
            RequestBody::Hello {
                version,
                client,
                token,
            },
        ) => hello::serve(service, session, id, version, &client, token.as_ref(), out),
        (false, _) => close_with(out, id, ErrorCode::HandshakeRequired, messages::HELLO_FIRST),
        (true, RequestBody::Hello { .. }) => {
            close_with(out, id, ErrorCode::HandshakeRequired, messages::HELLO_TWICE)
        }
        (true, RequestBody::Get { name }) => get::serve(service, session, id, &name, out),
        (true, RequestBody::List) => list::serve(service, session, id, out),
        (true, RequestBody::Render { .. }) => return Outcome::Offload(heavy::Heavy::Render),
        (true, RequestBody::Redact { .. }) => return Outcome::Offload(heavy::Heavy::Redact),
        (true, RequestBody::Ping) => reply(service, out, id, ResponseBody::Pong),
    };
    Outcome::Done(flow)
}

/// Appends the response; one over the response limit becomes a `TooLarge` error instead.
fn reply(service: &Service, out: &mut BytesMut, id: u32, body: ResponseBody<'_>) -> Flow {
    let response = Response { id, body };
    if encode_frame(&response, service.limits.max_response_bytes, out).is_err() {
        return error(
            out,
            id,
            ErrorCode::TooLarge,
            messages::RESPONSE_TOO_LARGE,
            Flow::Continue,
        );
    }
    Flow::Continue
}

/// Appends an `Error` response and closes the connection.
pub fn close_with(out: &mut BytesMut, id: u32, code: ErrorCode, message: &'static str) -> Flow {
    error(out, id, code, message, Flow::Close)
}

fn error(out: &mut BytesMut, id: u32, code: ErrorCode, message: &'static str, flow: Flow) -> Flow {
    let response = Response {
        id,
        body: ResponseBody::Error {
            code,
            message: Cow::Borrowed(message),
        },
    };
    // An error frame is a few dozen bytes: it always fits the smallest response limit.
    let limit = ax_protocol::limits::MAX_RESPONSE_FRAME;
    if encode_frame(&response, limit, out).is_err() {
        tracing::error!("cannot encode an error response");
        return Flow::Close;
    }
    flow
}
