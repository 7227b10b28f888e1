//! `List`: every effective secret's metadata, never a value (PROTOCOL §8.2).

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
            source: s.source,
        })
        .collect();
    reply(service, out, id, ResponseBody::List { secrets })
}
