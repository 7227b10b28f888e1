//! `Get`: the effective value of one name, or none (PROTOCOL §8.2).

use ax_protocol::{ResponseBody, SecretText};
use bytes::BytesMut;

use super::{Flow, Service, Session, reply};
use crate::audit::{Action, AuditNames};

pub(super) fn serve(
    service: &Service,
    session: &Session,
    id: u32,
    name: &str,
    out: &mut BytesMut,
) -> Flow {
    // An invalid name is never in the store, so one lookup answers both cases.
    let value = service
        .store
        .get(name)
        .map(|s| SecretText::borrowed(s.value));
    let found = value.is_some();
    service.audit.record(
        Action::Get,
        AuditNames::One(service.audit_name(name)),
        found,
        session.peer,
    );
    reply(service, out, id, ResponseBody::Secret { value })
}
