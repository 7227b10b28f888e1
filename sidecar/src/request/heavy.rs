//! `Render` and `Redact` off the serving thread, a few at a time.
//!
//! The sidecar serves every connection from one thread, so a request whose cost grows with its
//! size (a 1 MiB template of 65,535 references, a 1 MiB text to redact, the matcher's first
//! build) would make every other client wait for it. Such a request is moved whole (the frame's
//! bytes, taken from the connection's input buffer) into a job on tokio's blocking pool, which
//! decodes it again there, serves it into a fresh buffer and gives that buffer back: the
//! connection appends the finished response frame and writes it in order. At most
//! [`MAX_HEAVY_JOBS`](crate::limits::MAX_HEAVY_JOBS) jobs run at once; further heavy requests
//! wait for a permit without holding the thread, and their connections read nothing meanwhile.

use std::sync::Arc;

use ax_protocol::frame::decode_request;
use ax_protocol::{ErrorCode, Request, RequestBody};
use bytes::BytesMut;
use zeroize::Zeroize;

use super::{Flow, Service, error, redact, render};
use crate::audit::Peer;
use crate::messages;

/// Which heavy request a frame holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heavy {
    /// `Render`.
    Render,
    /// `Redact`: needs the matcher first.
    Redact,
}

/// Serves the heavy request in `body` (a frame body that [`super::serve`] answered with
/// [`super::Outcome::Offload`]) and returns its response frame. `body` is wiped before it is
/// freed: it holds a template or a text that may contain values.
pub async fn serve(
    service: &Arc<Service>,
    peer: Peer,
    kind: Heavy,
    mut body: BytesMut,
) -> BytesMut {
    let id = ax_protocol::frame::peek_id(&body).unwrap_or(0);
    let mut out = BytesMut::new();
    // The semaphore is never closed, so this only fails in theory; answer as for any failure.
    let Ok(permit) = Arc::clone(&service.heavy).acquire_owned().await else {
        wipe(&mut body);
        error(
            &mut out,
            id,
            ErrorCode::Internal,
            messages::INTERNAL,
            Flow::Continue,
        );
        return out;
    };
    let redactor = match kind {
        Heavy::Render => None,
        Heavy::Redact => {
            let Some(redactor) = service.redactor().await else {
                wipe(&mut body);
                error(
                    &mut out,
                    id,
                    ErrorCode::Internal,
                    messages::REDACTION_UNAVAILABLE,
                    Flow::Continue,
                );
                return out;
            };
            Some(redactor)
        }
    };
    let service = Arc::clone(service);
    let job = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let mut out = BytesMut::new();
        match (decode_request(&body), redactor) {
            (
                Ok(Request {
                    id,
                    body: RequestBody::Render { template },
                }),
                _,
            ) => {
                render::serve(&service, peer, id, template.expose(), &mut out);
            }
            (
                Ok(Request {
                    id,
                    body: RequestBody::Redact { text },
                }),
                Some(redactor),
            ) => {
                redact::serve(&service, &redactor, peer, id, text.expose(), &mut out);
            }
            _ => {
                error(
                    &mut out,
                    id,
                    ErrorCode::Internal,
                    messages::INTERNAL,
                    Flow::Continue,
                );
            }
        }
        wipe(&mut body);
        out
    });
    match job.await {
        Ok(frame) => frame,
        Err(_) => {
            // The job panicked; its buffers were freed (and so wiped) as it unwound.
            tracing::error!("a heavy request failed");
            error(
                &mut out,
                id,
                ErrorCode::Internal,
                messages::INTERNAL,
                Flow::Continue,
            );
            out
        }
    }
}

fn wipe(body: &mut BytesMut) {
    body.as_mut().zeroize();
    body.clear();
}
