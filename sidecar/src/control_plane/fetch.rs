//! The start-up fetch of the sealed bundle (PROTOCOL §13.1).
//!
//! One POST names the sidecar's ephemeral X25519 public key; a 200 answer's body is read chunk
//! by chunk straight into a locked arena of the announced length (capped at `MAX_BUNDLE_LEN`),
//! where the caller then verifies and opens it in place. A body without a length is gathered in
//! wiped memory first and copied into an arena of its exact size: the envelope is ciphertext
//! until opened, so only the arena ever holds plaintext. Statuses map onto exit codes as
//! [`fetch_verdict`] says; transport errors, 429 and 5xx are retried within the deadline.

use std::time::Duration;

use ax_protocol::bundle::BundleError;
use ax_protocol::limits::MAX_BUNDLE_LEN;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use zeroize::Zeroizing;

use super::retry::{Attempt, Jitter, Retry, retry_after, with_retries};
use super::status::{FetchVerdict, error_detail, fetch_verdict};
use super::{ControlPlane, SIDECAR_AGENT};
use crate::arena::LockedArena;
use crate::exit::StartupError;
use crate::limits::MAX_ERROR_BODY;
use crate::source::{MemoryPolicy, locked_arena};

/// The HPKE suite the sidecar asks for.
pub const SUITE: &str = "x25519-hkdf-sha256-aes-256-gcm";
/// The media type of a sealed bundle.
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.ax-secrets.bundle.v1";

/// The request body of §13.1.
#[derive(serde::Serialize)]
struct FetchBody<'a> {
    recipient_key: String,
    suite: &'a str,
    sidecar: &'a str,
}

/// Fetches the sealed bundle for `recipient` (the X25519 public key) into a locked arena.
pub async fn fetch_sealed(
    plane: &ControlPlane,
    client: &reqwest::Client,
    recipient: &[u8],
    deadline: Duration,
    policy: MemoryPolicy,
    jitter: &mut dyn Jitter,
) -> Result<LockedArena, StartupError> {
    let body = serde_json::to_vec(&FetchBody {
        recipient_key: STANDARD.encode(recipient),
        suite: SUITE,
        sidecar: SIDECAR_AGENT,
    })
    .map_err(|e| StartupError::Client(e.to_string()))?;
    let request = Request {
        plane,
        client,
        url: plane.url("bundle"),
        authorization: plane.authorization()?,
        body,
        policy,
    };
    match with_retries(deadline, jitter, |_| request.attempt()).await {
        Ok(result) => result,
        Err(gave_up) => Err(StartupError::Unreachable {
            url: plane.base().to_owned(),
            gave_up,
        }),
    }
}

struct Request<'a> {
    plane: &'a ControlPlane,
    client: &'a reqwest::Client,
    url: String,
    authorization: HeaderValue,
    body: Vec<u8>,
    policy: MemoryPolicy,
}

impl Request<'_> {
    async fn attempt(&self) -> Attempt<LockedArena, StartupError> {
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
            Err(err) => return Attempt::Retry(Retry::because(transport_reason(&err))),
        };
        let status = response.status().as_u16();
        let refused = match fetch_verdict(status) {
            FetchVerdict::Bundle => return read_body(response, self.policy).await,
            FetchVerdict::Retry => {
                return Attempt::Retry(Retry {
                    reason: format!("HTTP {status}"),
                    retry_after: retry_after(response.headers()),
                });
            }
            FetchVerdict::BadRequest => "called malformed",
            FetchVerdict::Refused => "refused",
        };
        let detail = error_detail(&read_capped(response, MAX_ERROR_BODY).await);
        Attempt::Fail(StartupError::Refused {
            refused,
            execution_id: self.plane.execution_id().to_owned(),
            status,
            detail,
        })
    }
}

/// Reads a 200 body into a locked arena.
async fn read_body(
    mut response: reqwest::Response,
    policy: MemoryPolicy,
) -> Attempt<LockedArena, StartupError> {
    let refused = |err: BundleError| Attempt::Fail(StartupError::FetchedBundle(err.into()));
    let Some(announced) = response.content_length() else {
        return read_unannounced(response, policy).await;
    };
    let len = usize::try_from(announced).unwrap_or(usize::MAX);
    if len > MAX_BUNDLE_LEN {
        return refused(BundleError::TooLarge { len });
    }
    let mut arena = match locked_arena(len, policy) {
        Ok(arena) => arena,
        Err(err) => return Attempt::Fail(err),
    };
    let mut filled = 0;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let Some(region) = arena.as_mut_slice().get_mut(filled..filled + chunk.len())
                else {
                    return refused(BundleError::LengthMismatch);
                };
                region.copy_from_slice(&chunk);
                filled += chunk.len();
            }
            Ok(None) => break,
            Err(err) => return Attempt::Retry(Retry::because(transport_reason(&err))),
        }
    }
    if filled != len {
        return Attempt::Retry(Retry::because("the bundle body ended early"));
    }
    Attempt::Done(arena)
}

/// Reads a 200 body that announced no length, then copies it into an arena of its size.
async fn read_unannounced(
    mut response: reqwest::Response,
    policy: MemoryPolicy,
) -> Attempt<LockedArena, StartupError> {
    let mut body = Zeroizing::new(Vec::new());
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let len = body.len() + chunk.len();
                if len > MAX_BUNDLE_LEN {
                    let err = BundleError::TooLarge { len };
                    return Attempt::Fail(StartupError::FetchedBundle(err.into()));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(err) => return Attempt::Retry(Retry::because(transport_reason(&err))),
        }
    }
    let mut arena = match locked_arena(body.len(), policy) {
        Ok(arena) => arena,
        Err(err) => return Attempt::Fail(err),
    };
    arena.as_mut_slice()[..body.len()].copy_from_slice(&body);
    Attempt::Done(arena)
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
