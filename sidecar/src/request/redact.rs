//! `Redact`: every value and its common encodings replaced by `***` (PROTOCOL §8.4).
//!
//! Runs on the blocking pool (see [`super::heavy`]), with the matcher already built.

use std::borrow::Cow;

use ax_protocol::{ErrorCode, ResponseBody};
use bytes::BytesMut;

use super::{Flow, Service, error, reply};
use crate::audit::{Action, AuditName, AuditNames, Peer};
use crate::messages;
use crate::redact::Redactor;

pub(super) fn serve(
    service: &Service,
    redactor: &Redactor,
    peer: Peer,
    id: u32,
    text: &str,
    out: &mut BytesMut,
) -> Flow {
    let limit = service.limits.max_response_bytes as usize;
    // The matcher stops as soon as the redacted text would pass the response limit (every
    // match becomes the three-byte mark, so a text of short values can grow).
    let mut redacted = String::with_capacity(text.len());
    let Ok(found) = redactor.redact_into(text, &mut redacted, limit) else {
        // Nothing was answered, but the request is audited like every other.
        service
            .audit
            .record(Action::Redact, AuditNames::Many(Vec::new()), false, peer);
        return error(
            out,
            id,
            ErrorCode::TooLarge,
            messages::RESPONSE_TOO_LARGE,
            Flow::Continue,
        );
    };
    let store = &service.store;
    service.audit.record(
        Action::Redact,
        AuditNames::Many(found.iter().map(|&i| AuditName::Known(i)).collect()),
        !found.is_empty(),
        peer,
    );
    let names = found
        .iter()
        .filter_map(|&i| store.at(i))
        .map(|s| Cow::Borrowed(s.name))
        .collect();
    let body = ResponseBody::Redacted {
        text: Cow::Borrowed(&redacted),
        found: names,
    };
    reply(service, out, id, body)
}
