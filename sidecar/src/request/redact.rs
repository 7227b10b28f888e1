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
    let max_text = service.limits.max_response_bytes as usize;
    // Every match is at least one byte of a non-empty value and becomes the three-byte mark,
    // so the redacted text is at most three times the input: 3 MiB for the largest request,
    // bounded whatever the values, and checked against the response limit below.
    let mut redacted = String::with_capacity(text.len());
    // merge: the new matcher's `redact_into(text, &mut redacted, max_text)` stops at the limit;
    // answer TooLarge when it says so, and drop the check after the call.
    let found = redactor.redact_into(text, &mut redacted);
    let store = &service.store;
    service.audit.record(
        Action::Redact,
        AuditNames::Many(found.iter().map(|&i| AuditName::Known(i)).collect()),
        !found.is_empty(),
        peer,
    );
    if redacted.len() > max_text {
        return error(
            out,
            id,
            ErrorCode::TooLarge,
            messages::RESPONSE_TOO_LARGE,
            Flow::Continue,
        );
    }
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
