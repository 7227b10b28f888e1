//! `List`: every effective secret's metadata, never a value (PROTOCOL §8.2). Audited, with no
//! names: it reveals every name at once, and the trail should say who asked.
//!
//! An entry never says whether its value is an override: node code must not be able to tell an
//! override from a tenant value, so the store does not even hand that fact to this module.

use std::borrow::Cow;

use ax_protocol::{ResponseBody, SecretInfo};
use bytes::BytesMut;

use super::{Flow, Service, Session, reply};
use crate::audit::{Action, AuditNames};

pub(super) fn serve(service: &Service, session: &Session, id: u32, out: &mut BytesMut) -> Flow {
    // `names` stays empty: all of them would make one event as large as the bundle's index.
    service.audit.record(
        Action::List,
        AuditNames::Many(Vec::new()),
        true,
        session.peer,
    );
    let secrets = service
        .store
        .iter()
        .map(|s| SecretInfo {
            name: Cow::Borrowed(s.name),
            version: s.version,
            updated_at: s.updated_at,
        })
        .collect();
    reply(service, out, id, ResponseBody::List { secrets })
}
