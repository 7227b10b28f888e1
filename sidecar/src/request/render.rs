//! `Render`: `{{secrets.NAME}}` references resolved in one pass (PROTOCOL §8.3).

use std::borrow::Cow;

use ax_protocol::template::{Segment, render_into, segments};
use ax_protocol::{ResponseBody, SecretText};
use bytes::BytesMut;

use super::{Flow, Service, Session, reply};
use crate::audit::{Action, AuditNames};

pub(super) fn serve(
    service: &Service,
    session: &Session,
    id: u32,
    template: &str,
    out: &mut BytesMut,
) -> Flow {
    let store = &service.store;
    // The rendered text holds values; the zeroing allocator wipes it when it is dropped.
    let mut text = String::with_capacity(template.len());
    let mut missing = Vec::new();
    render_into(
        template,
        |name| store.get(name).map(|s| s.value),
        &mut text,
        &mut missing,
    );

    let mut referenced: Vec<&str> = Vec::new();
    for segment in segments(template) {
        if let Segment::Reference { name, .. } = segment {
            if !referenced.contains(&name) {
                referenced.push(name);
            }
        }
    }
    let names = referenced.iter().map(|n| service.audit_name(n)).collect();
    service.audit.record(
        Action::Render,
        AuditNames::Many(names),
        missing.is_empty(),
        session.peer,
    );

    let body = ResponseBody::Rendered {
        text: SecretText::borrowed(&text),
        missing: missing.into_iter().map(Cow::Borrowed).collect(),
    };
    reply(service, out, id, body)
}
