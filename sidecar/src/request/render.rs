//! `Render`: `{{secrets.NAME}}` references resolved in one pass (PROTOCOL §8.3).
//!
//! Runs on the blocking pool (see [`super::heavy`]). The answer's size is checked while it is
//! rendered: a 1 MiB template can reference a 1 MiB value tens of thousands of times, and
//! building that before checking the response limit would take gigabytes.

use std::borrow::Cow;

use ax_protocol::template::{referenced_names, render_bounded};
use ax_protocol::{ErrorCode, ResponseBody, SecretText};
use bytes::BytesMut;

use super::{Flow, Service, error, reply};
use crate::audit::{Action, AuditNames, Peer};
use crate::messages;

pub(super) fn serve(
    service: &Service,
    peer: Peer,
    id: u32,
    template: &str,
    out: &mut BytesMut,
) -> Flow {
    let store = &service.store;
    // The rendered text is part of the response body, so it can never be longer than the
    // response limit; `reply` checks the exact encoded size afterwards.
    let max_text = service.limits.max_response_bytes as usize;
    // The rendered text holds values; the zeroing allocator wipes it when it is dropped.
    let mut text = String::with_capacity(template.len().min(max_text));
    let mut missing = Vec::new();
    let rendered = render_bounded(
        template,
        |name| store.get(name).map(|s| s.value),
        &mut text,
        &mut missing,
        max_text,
    );

    // Audited whether or not the answer fits: the client asked for these names. `found` is
    // true only when every value was sent.
    let names = referenced_names(template)
        .into_iter()
        .map(|n| service.audit_name(n))
        .collect();
    service.audit.record(
        Action::Render,
        AuditNames::Many(names),
        rendered.is_ok() && missing.is_empty(),
        peer,
    );

    if rendered.is_err() {
        return error(
            out,
            id,
            ErrorCode::TooLarge,
            messages::RESPONSE_TOO_LARGE,
            Flow::Continue,
        );
    }
    let body = ResponseBody::Rendered {
        text: SecretText::borrowed(&text),
        missing: missing.into_iter().map(Cow::Borrowed).collect(),
    };
    reply(service, out, id, body)
}
