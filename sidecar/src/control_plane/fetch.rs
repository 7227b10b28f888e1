//! The start-up fetch of the sealed bundle (PROTOCOL §13.1).
//!
//! One POST names the sidecar's ephemeral X25519 public key; a 200 answer's body is read chunk
//! by chunk straight into a locked arena of the announced length (capped at `MAX_BUNDLE_LEN`),
//! where the caller then verifies and opens it in place. A body without a length is gathered in
//! wiped memory first and copied into an arena of its exact size: the envelope is ciphertext
//! until opened, so only the arena ever holds plaintext. Statuses map onto exit codes as
//! [`fetch_verdict`] says.
//!
//! Only getting an answer is retried: transport errors, an attempt with no status line within
//! [`FETCH_ATTEMPT_TIMEOUT`], 429 and 5xx. Once a 200 has come, the one-time execution token
//! is spent, so a body that breaks off or stalls ends the fetch ([`StartupError::Truncated`]);
//! and a certificate that does not verify ends it at once ([`StartupError::Untrusted`]): the
//! trust configuration is wrong, or someone is in the way, and neither goes away by retrying.

use std::borrow::Cow;
use std::time::Duration;

use ax_protocol::bundle::BundleError;
use ax_protocol::contract::FetchRequest;
use ax_protocol::limits::MAX_BUNDLE_LEN;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use tokio::time::{Instant, timeout, timeout_at};
use zeroize::Zeroizing;

use super::retry::{Attempt, Jitter, Retry, retry_after, with_retries};
use super::status::{FetchVerdict, error_detail, fetch_verdict};
use super::tls::verification_failure;
use super::{ControlPlane, SIDECAR_AGENT};
use crate::arena::LockedArena;
use crate::exit::StartupError;
use crate::limits::{FETCH_ATTEMPT_TIMEOUT, FETCH_BODY_GRACE, MAX_ERROR_BODY};
use crate::source::{MemoryPolicy, locked_arena};

pub use ax_protocol::contract::{BUNDLE_MEDIA_TYPE, SUITE};

/// Fetches the sealed bundle for `recipient` (the X25519 public key) into a locked arena.
pub async fn fetch_sealed(
    plane: &ControlPlane,
    client: &reqwest::Client,
    recipient: &[u8],
    deadline: Duration,
    policy: MemoryPolicy,
    jitter: &mut dyn Jitter,
) -> Result<LockedArena, StartupError> {
    let end = Instant::now() + deadline;
    let body = serde_json::to_vec(&FetchRequest {
        recipient_key: Cow::Owned(STANDARD.encode(recipient)),
        suite: Cow::Borrowed(SUITE),
        sidecar: Some(Cow::Borrowed(SIDECAR_AGENT)),
    })
    .map_err(|e| StartupError::Client(e.to_string()))?;
    let request = Request {
        plane,
        client,
        url: plane.url("bundle"),
        authorization: plane.authorization()?,
        body,
    };
    let response = match with_retries(deadline, FETCH_ATTEMPT_TIMEOUT, jitter, |_| {
        request.attempt()
    })
    .await
    {
        Ok(Ok(response)) => response,
        Ok(Err(err)) => return Err(err),
        Err(gave_up) => {
            return Err(StartupError::Unreachable {
                url: plane.base().to_owned(),
                gave_up,
            });
        }
    };
    let status = response.status().as_u16();
    let refused = match fetch_verdict(status) {
        FetchVerdict::Bundle => {
            let until = end.max(Instant::now() + FETCH_BODY_GRACE);
            return read_body(response, policy, until).await;
        }
        FetchVerdict::BadRequest => "called malformed",
        FetchVerdict::Refused | FetchVerdict::Retry => "refused",
    };
    // An error body that stalls must not hold the exit: what came within the bound is quoted.
    let quoted = timeout(FETCH_ATTEMPT_TIMEOUT, read_capped(response, MAX_ERROR_BODY)).await;
    Err(StartupError::Refused {
        refused,
        execution_id: plane.execution_id().to_owned(),
        status,
        detail: error_detail(&quoted.unwrap_or_default()),
    })
}

struct Request<'a> {
    plane: &'a ControlPlane,
    client: &'a reqwest::Client,
    url: String,
    authorization: HeaderValue,
    body: Vec<u8>,
}

impl Request<'_> {
    /// One POST, up to the status line and headers: `Done` with any answer that ends the
    /// retries (its body is not read yet), `Retry` with one worth repeating.
    async fn attempt(&self) -> Attempt<reqwest::Response, StartupError> {
        let sent = self
            .client
            .post(&self.url)
            .header(AUTHORIZATION, self.authorization.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, BUNDLE_MEDIA_TYPE)
            .body(self.body.clone())
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(err) => {
                if let Some(cause) = verification_failure(&err) {
                    return Attempt::Fail(StartupError::Untrusted {
                        url: self.plane.base().to_owned(),
                        reason: cause.to_string(),
                    });
                }
                return Attempt::Retry(Retry::because(transport_reason(&err)));
            }
        };
        let status = response.status().as_u16();
        match fetch_verdict(status) {
            FetchVerdict::Retry => Attempt::Retry(Retry {
                reason: format!("HTTP {status}"),
                retry_after: retry_after(response.headers()),
            }),
            FetchVerdict::Bundle | FetchVerdict::BadRequest | FetchVerdict::Refused => {
                Attempt::Done(response)
            }
        }
    }
}

/// Why a 200's body is not the whole envelope.
fn truncated(received: usize, announced: Option<usize>, reason: String) -> StartupError {
    let received = match announced {
        Some(len) => format!("{received} of {len} bytes"),
        None => format!("{received} bytes"),
    };
    StartupError::Truncated { received, reason }
}

/// The next chunk of a 200's body, by `until`.
async fn next_chunk(
    response: &mut reqwest::Response,
    until: Instant,
    received: usize,
    announced: Option<usize>,
) -> Result<Option<bytes::Bytes>, StartupError> {
    match timeout_at(until, response.chunk()).await {
        Ok(Ok(chunk)) => Ok(chunk),
        Ok(Err(err)) => Err(truncated(received, announced, transport_reason(&err))),
        Err(_) => Err(truncated(
            received,
            announced,
            "it stalled past the fetch deadline".into(),
        )),
    }
}

/// Reads a 200 body into a locked arena, by `until`.
async fn read_body(
    mut response: reqwest::Response,
    policy: MemoryPolicy,
    until: Instant,
) -> Result<LockedArena, StartupError> {
    let refused = |err: BundleError| Err(StartupError::FetchedBundle(err.into()));
    let Some(announced) = response.content_length() else {
        return read_unannounced(response, policy, until).await;
    };
    let len = usize::try_from(announced).unwrap_or(usize::MAX);
    if len > MAX_BUNDLE_LEN {
        return refused(BundleError::TooLarge { len });
    }
    let mut arena = locked_arena(len, policy)?;
    let mut filled = 0;
    while let Some(chunk) = next_chunk(&mut response, until, filled, Some(len)).await? {
        let Some(region) = arena.as_mut_slice().get_mut(filled..filled + chunk.len()) else {
            return refused(BundleError::LengthMismatch);
        };
        region.copy_from_slice(&chunk);
        filled += chunk.len();
    }
    if filled != len {
        return Err(truncated(filled, Some(len), "the body ended early".into()));
    }
    Ok(arena)
}

/// Reads a 200 body that announced no length, then copies it into an arena of its size.
async fn read_unannounced(
    mut response: reqwest::Response,
    policy: MemoryPolicy,
    until: Instant,
) -> Result<LockedArena, StartupError> {
    let mut body = Zeroizing::new(Vec::new());
    while let Some(chunk) = next_chunk(&mut response, until, body.len(), None).await? {
        let len = body.len() + chunk.len();
        if len > MAX_BUNDLE_LEN {
            let err = BundleError::TooLarge { len };
            return Err(StartupError::FetchedBundle(err.into()));
        }
        body.extend_from_slice(&chunk);
    }
    let mut arena = locked_arena(body.len(), policy)?;
    arena.as_mut_slice()[..body.len()].copy_from_slice(&body);
    Ok(arena)
}

/// Up to `cap` bytes of a body (an error body, to quote); a failure to read gives what came.
pub async fn read_capped(mut response: reqwest::Response, cap: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while out.len() < cap {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let take = chunk.len().min(cap - out.len());
                out.extend_from_slice(&chunk[..take]);
            }
            _ => break,
        }
    }
    out
}

/// A transport error as one short line: its kind and its innermost cause (which names an OS
/// error or a TLS alert, never anything sent).
pub fn transport_reason(err: &reqwest::Error) -> String {
    let kind = if err.is_connect() {
        "cannot connect"
    } else if err.is_timeout() {
        "timed out"
    } else if err.is_body() || err.is_decode() {
        "the body broke off"
    } else {
        "the request failed"
    };
    let mut cause: &dyn std::error::Error = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    if std::ptr::addr_eq(cause, err as &dyn std::error::Error) {
        kind.to_owned()
    } else {
        format!("{kind}: {cause}")
    }
}
