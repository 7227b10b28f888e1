//! `List`: every effective secret's metadata, never a value (PROTOCOL §8.2).
//!
//! An entry never says whether its value is an override: node code must not be able to tell an
//! override from a tenant value, so the store does not even hand that fact to this module.

use std::borrow::Cow;

use ax_protocol::{ResponseBody, SecretInfo};
use bytes::BytesMut;

use super::{Flow, Service, reply};

pub(super) fn serve(service: &Service, id: u32, out: &mut BytesMut) -> Flow {
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
