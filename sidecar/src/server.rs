//! The accept loop: peer checks, the connection cap, and a drained shutdown.

use std::sync::Arc;
use std::time::Duration;

use ax_protocol::frame::to_frame;
use ax_protocol::limits::MAX_RESPONSE_FRAME;
use ax_protocol::{ErrorCode, Response, ResponseBody};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::audit::Peer;
use crate::connection::{self, Ending};
use crate::messages;
use crate::request::Service;

/// How the accept loop admits connections.
#[derive(Debug, Clone)]
pub struct Admission {
    /// Uids allowed to connect.
    pub allowed_uids: Vec<u32>,
    /// Most connections served at once.
    pub max_connections: usize,
    /// How long connections may take to finish once shutdown starts.
    pub shutdown_timeout: Duration,
}

/// Serves `listener` until `shutdown` is cancelled, then stops accepting, lets connections
/// finish what they received within the shutdown timeout, and returns.
pub async fn run(
    listener: UnixListener,
    service: Arc<Service>,
    admission: Admission,
    shutdown: CancellationToken,
) {
    let permits = Arc::new(Semaphore::new(admission.max_connections));
    let tracker = TaskTracker::new();
    loop {
        let stream = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    // Out of descriptors or memory: back off instead of spinning on accept.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let Some(peer) = peer_of(&stream) else {
            continue;
        };
        if !admission.allowed_uids.contains(&peer.uid) {
            tracing::warn!(
                peer_pid = peer.pid,
                peer_uid = peer.uid,
                "refused a connection: uid not allowed"
            );
            refuse(&stream, ErrorCode::Unauthorized, messages::UID_NOT_ALLOWED);
            continue;
        }
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            tracing::warn!(
                peer_pid = peer.pid,
                limit = admission.max_connections,
                "refused a connection: at the connection limit"
            );
            refuse(&stream, ErrorCode::Busy, messages::BUSY);
            continue;
        };
        let service = Arc::clone(&service);
        let shutdown = shutdown.clone();
        let grace = admission.shutdown_timeout;
        tracker.spawn(async move {
            tracing::debug!(
                peer_pid = peer.pid,
                peer_uid = peer.uid,
                "connection opened"
            );
            let ending = connection::serve(stream, service, peer, shutdown, grace).await;
            log_ending(peer, ending);
            drop(permit);
        });
    }
    drop(listener);
    tracker.close();
    let open = tracker.len();
    if open > 0 {
        tracing::info!(
            connections = open,
            "shutting down: finishing requests in flight"
        );
    }
    // Connections honour the deadline themselves; the margin covers their last write.
    let margin = Duration::from_millis(250);
    if tokio::time::timeout(admission.shutdown_timeout + margin, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            connections = tracker.len(),
            "shutdown deadline passed; dropping connections"
        );
    }
}

fn peer_of(stream: &UnixStream) -> Option<Peer> {
    match stream.peer_cred() {
        Ok(cred) => Some(Peer {
            pid: cred.pid().unwrap_or(0),
            uid: cred.uid(),
            gid: cred.gid(),
        }),
        Err(err) => {
            tracing::warn!(error = %err, "refused a connection: no peer credentials");
            None
        }
    }
}

/// Sends an error with id 0 without waiting (a fresh socket's buffer takes it), then closes.
fn refuse(stream: &UnixStream, code: ErrorCode, message: &'static str) {
    let response = Response {
        id: 0,
        body: ResponseBody::Error {
            code,
            message: message.into(),
        },
    };
    if let Ok(frame) = to_frame(&response, MAX_RESPONSE_FRAME) {
        let _ = stream.try_write(&frame);
    }
}

fn log_ending(peer: Peer, ending: Ending) {
    match ending {
        Ending::ClientClosed | Ending::Shutdown => {
            tracing::debug!(peer_pid = peer.pid, ?ending, "connection closed");
        }
        Ending::Idle | Ending::Refused => {
            tracing::info!(peer_pid = peer.pid, ?ending, "connection closed");
        }
        Ending::Truncated | Ending::Stalled | Ending::Transport => {
            tracing::warn!(peer_pid = peer.pid, ?ending, "connection dropped");
        }
    }
}
