//! The accept loop: peer checks, the connection cap, and a drained shutdown.
//!
//! The cap counts connections that are really open. A connection whose peer closed before it
//! was accepted is dropped without counting (one client connecting and closing in a loop must
//! not fill the cap with corpses), and at the cap the loop first lets the connection tasks run,
//! so those whose peers have gone release their places, before it answers `Busy`. Every line
//! a peer can make this loop write is rate-limited (see [`crate::log_limit`]).

use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use ax_protocol::frame::to_frame;
use ax_protocol::limits::MAX_RESPONSE_FRAME;
use ax_protocol::{ErrorCode, Response, ResponseBody};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::audit::{self, Peer};
use crate::connection::{self, Ending, FINISH_MARGIN};
use crate::log_limit::LogLimit;
use crate::messages;
use crate::request::Service;

/// At the cap, how many times the accept loop lets other tasks run, re-checking, before it
/// refuses a connection: enough for the tasks of connections whose peers closed to see the end
/// of their stream and give their places back.
const CAP_RECHECKS: usize = 8;

/// Peer-triggered lines, each at most once per [`crate::log_limit::INTERVAL`].
static REFUSED_UID: LogLimit = LogLimit::new();
static REFUSED_BUSY: LogLimit = LogLimit::new();
static CLOSED: LogLimit = LogLimit::new();
static DROPPED: LogLimit = LogLimit::new();

/// How the accept loop admits connections.
#[derive(Debug, Clone)]
pub struct Admission {
    /// Uids allowed to connect.
    pub allowed_uids: Vec<u32>,
    /// Gids allowed to connect (the peer's primary gid), the socket group's among them.
    pub allowed_gids: Vec<u32>,
    /// Most connections served at once.
    pub max_connections: usize,
    /// How long connections may take to finish once shutdown starts.
    pub shutdown_timeout: Duration,
}

impl Admission {
    /// The rule of PROTOCOL §1: the peer's uid is on the uid list, or its gid on the gid list.
    pub fn admits(&self, peer: Peer) -> bool {
        self.allowed_uids.contains(&peer.uid) || self.allowed_gids.contains(&peer.gid)
    }
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
        if peer_has_closed(&stream) {
            continue;
        }
        let Some(peer) = peer_of(&stream) else {
            continue;
        };
        if !admission.admits(peer) {
            // Audited, coalesced (see `audit::Refusals`). `Busy` refusals below are not: they
            // say nothing about who may read secrets, and the cap already bounds them.
            audit::REFUSED_UID.record(&service.audit, peer);
            if let Some(suppressed) = REFUSED_UID.allow() {
                tracing::warn!(
                    peer_pid = peer.pid,
                    peer_uid = peer.uid,
                    peer_gid = peer.gid,
                    suppressed,
                    "refused a connection: neither its uid nor its gid is allowed"
                );
            }
            refuse(
                &stream,
                ErrorCode::Unauthorized,
                &messages::uid_not_allowed(peer.uid),
            );
            continue;
        }
        let Some(permit) = admit(&permits, &stream).await else {
            if peer_has_closed(&stream) {
                continue;
            }
            if let Some(suppressed) = REFUSED_BUSY.allow() {
                tracing::warn!(
                    peer_pid = peer.pid,
                    limit = admission.max_connections,
                    suppressed,
                    "refused a connection: at the connection limit"
                );
            }
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
    // Connections honour the deadline themselves, a frame begun by then getting
    // `FINISH_MARGIN` more; this margin covers that and their last wake-up.
    let margin = FINISH_MARGIN + Duration::from_millis(100);
    if tokio::time::timeout(admission.shutdown_timeout + margin, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            connections = tracker.len(),
            "shutdown deadline passed; dropping connections"
        );
    }
    // No connection can be refused any more: what is still folded goes to the trail now.
    audit::flush_refusals(&service.audit);
}

/// A place under the cap for a new connection; at the cap, lets the other tasks run a few
/// times first, so connections whose peers already closed are counted out.
async fn admit(permits: &Arc<Semaphore>, stream: &UnixStream) -> Option<OwnedSemaphorePermit> {
    for _ in 0..CAP_RECHECKS {
        if let Ok(permit) = Arc::clone(permits).try_acquire_owned() {
            return Some(permit);
        }
        if peer_has_closed(stream) {
            return None;
        }
        tokio::task::yield_now().await;
    }
    Arc::clone(permits).try_acquire_owned().ok()
}

/// Whether the peer closed its end already (a read would return end of file at once): such a
/// connection is dropped without being served, counted or logged. Bytes the peer sent before
/// closing (a `Hello`, say) make it a connection like any other.
fn peer_has_closed(stream: &UnixStream) -> bool {
    use nix::sys::socket::{MsgFlags, recv};
    let mut byte = [0_u8; 1];
    matches!(
        recv(
            stream.as_raw_fd(),
            &mut byte,
            MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT
        ),
        Ok(0)
    )
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
fn refuse(stream: &UnixStream, code: ErrorCode, message: &str) {
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
            if let Some(suppressed) = CLOSED.allow() {
                tracing::info!(
                    peer_pid = peer.pid,
                    ?ending,
                    suppressed,
                    "connection closed"
                );
            }
        }
        Ending::Truncated | Ending::Stalled | Ending::NotReading | Ending::Transport => {
            if let Some(suppressed) = DROPPED.allow() {
                tracing::warn!(
                    peer_pid = peer.pid,
                    ?ending,
                    suppressed,
                    "connection dropped"
                );
            }
        }
    }
}
