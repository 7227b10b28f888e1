//! `Hello`: the version check and the client token (PROTOCOL §7.1).

use std::borrow::Cow;

use ax_protocol::limits::{MAX_CLIENT_LEN, PROTOCOL_VERSION};
use ax_protocol::{ErrorCode, ResponseBody, SecretText};
use bytes::BytesMut;

use super::{Flow, Service, Session, close_with, reply};
use crate::audit::{REFUSED_TOKEN, REFUSED_VERSION};
use crate::log_limit::LogLimit;
use crate::messages;

/// Refused handshakes are peer-triggered lines: at most one a second of each kind (see
/// `log_limit`).
static CLIENT_TOO_LONG: LogLimit = LogLimit::new();
static BAD_VERSION: LogLimit = LogLimit::new();
static BAD_TOKEN: LogLimit = LogLimit::new();

/// The name and version the sidecar gives in its `Hello`.
pub const SIDECAR: &str = concat!("ax-sidecar/", env!("CARGO_PKG_VERSION"));

pub(super) fn serve(
    service: &Service,
    session: &mut Session,
    id: u32,
    version: u16,
    client: &str,
    token: Option<&SecretText<'_>>,
    out: &mut BytesMut,
) -> Flow {
    // The client string goes into logs; PROTOCOL §9 caps it so a peer cannot make every line
    // about it a megabyte long.
    if client.len() > MAX_CLIENT_LEN {
        if let Some(suppressed) = CLIENT_TOO_LONG.allow() {
            tracing::info!(
                peer_pid = session.peer.pid,
                length = client.len(),
                suppressed,
                "refused a client: Hello.client too long"
            );
        }
        return close_with(out, id, ErrorCode::BadRequest, messages::CLIENT_TOO_LONG);
    }
    if version != PROTOCOL_VERSION {
        // Audited too, coalesced (see `audit::Refusals`).
        REFUSED_VERSION.record(&service.audit, session.peer);
        if let Some(suppressed) = BAD_VERSION.allow() {
            tracing::info!(
                peer_pid = session.peer.pid,
                version,
                suppressed,
                "refused a client: unsupported version"
            );
        }
        return close_with(
            out,
            id,
            ErrorCode::UnsupportedVersion,
            messages::UNSUPPORTED_VERSION,
        );
    }
    if let Some(expected) = &service.token {
        if !token.is_some_and(|t| expected.matches(t.expose())) {
            REFUSED_TOKEN.record(&service.audit, session.peer);
            if let Some(suppressed) = BAD_TOKEN.allow() {
                tracing::warn!(
                    peer_pid = session.peer.pid,
                    peer_uid = session.peer.uid,
                    suppressed,
                    "refused a client: bad token"
                );
            }
            return close_with(out, id, ErrorCode::Unauthorized, messages::BAD_TOKEN);
        }
    }
    session.greeted = true;
    reply(
        service,
        out,
        id,
        ResponseBody::Hello {
            version: PROTOCOL_VERSION,
            sidecar: Cow::Borrowed(SIDECAR),
            execution_id: Cow::Borrowed(&service.store.info().execution_id),
        },
    )
}
