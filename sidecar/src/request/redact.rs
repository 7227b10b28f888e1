//! `Redact`: every value and its common encodings replaced by `***` (PROTOCOL §8.4).

use std::borrow::Cow;

use ax_protocol::{ErrorCode, ResponseBody};
use bytes::BytesMut;

use super::{Flow, Service, Session, error, reply};
use crate::audit::{Action, AuditName, AuditNames};
use crate::messages;

pub(super) async fn serve(
    service: &Service,
    session: &Session,
    id: u32,
    text: &str,
    out: &mut BytesMut,
) -> Flow {
    let Some(redactor) = service.redactor().await else {
        return error(
            out,
            id,
            ErrorCode::Internal,
            messages::REDACTION_UNAVAILABLE,
            Flow::Continue,
        );
    };
    let mut redacted = String::with_capacity(text.len());
    let limit = service.limits.max_response_bytes as usize;
    let Ok(found) = redactor.redact_into(text, &mut redacted, limit) else {
        return error(
            out,
            id,
            ErrorCode::TooLarge,
            messages::RESPONSE_TOO_LARGE,
            Flow::Continue,
        );
    };
    let store = &service.store;
    let names = found
        .iter()
        .filter_map(|&i| store.at(i))
        .map(|s| Cow::Borrowed(s.name))
        .collect();
    service.audit.record(
        Action::Redact,
        AuditNames::Many(found.iter().map(|&i| AuditName::Known(i)).collect()),
        !found.is_empty(),
        session.peer,
    );
    let body = ResponseBody::Redacted {
        text: Cow::Borrowed(&redacted),
        found: names,
    };
    reply(service, out, id, body)
}
