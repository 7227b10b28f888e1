//! The races of PROTOCOL §7.3 and §7.4 against a scripted fake sidecar that counts how often a
//! request arrived: reading an id-0 error after a failed write, resending once on a reused
//! connection only, and telling a refused uid from a refused token (§7.1).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::Write;
use std::net::Shutdown;
use std::sync::{Mutex, mpsc};

use ax_protocol::frame::to_frame;
use ax_protocol::limits::MAX_RESPONSE_FRAME;
use ax_protocol::{ErrorCode, RequestBody, Response, ResponseBody, SecretText, WireError};
use ax_secrets::{AxiomContext, Error, Reason, Refused};
use support::{FakeSidecar, Peer, context, secret, serve_gets};

/// How many times a `Get` of `name` reached the fake.
fn gets_of(fake: &FakeSidecar, name: &str) -> usize {
    fake.requests()
        .iter()
        .filter(|r| matches!(&r.body, RequestBody::Get { name: n } if n == name))
        .count()
}

/// Serves the first connection's first `Get` with `"first"`, reads the second and then does
/// `then` to it; every later connection is served normally.
fn reused_then(
    then: impl Fn(&mut Peer, u32) + Send + Sync + 'static,
) -> impl Fn(usize, &mut Peer) + Send + Sync + 'static {
    move |i, peer| {
        peer.handshake();
        if i == 0 {
            let first = peer.read().unwrap();
            secret(peer, first.id, "first");
            let second = peer.read().unwrap();
            then(peer, second.id);
        } else {
            serve_gets(peer, "resent");
        }
    }
}

#[test]
fn a_request_on_a_reused_connection_closed_before_answering_is_resent_once() {
    let fake = FakeSidecar::start(reused_then(|peer, _| {
        peer.stream.shutdown(Shutdown::Both).unwrap();
    }));
    let ax = context(&fake);
    assert_eq!(ax.secrets().get("A"), ("first".to_owned(), true));
    assert_eq!(ax.secrets().get("B"), ("resent".to_owned(), true));
    drop(ax);
    assert_eq!(gets_of(&fake, "B"), 2);
    assert_eq!(fake.connections(), 2);
    fake.close();
}

#[test]
fn a_resent_request_is_not_resent_a_second_time() {
    let fake = FakeSidecar::start(|i, peer| {
        peer.handshake();
        let request = peer.read().unwrap();
        if i == 0 {
            secret(peer, request.id, "first");
            peer.read().unwrap();
        }
        // The second Get is closed unanswered on the first connection and on the fresh one.
    });
    let ax = context(&fake);
    assert_eq!(ax.secrets().get("A"), ("first".to_owned(), true));
    let error = ax.secrets().try_get("B").unwrap_err();
    assert!(
        matches!(
            error,
            Error::Unavailable {
                reason: Reason::Closed,
                ..
            }
        ),
        "{error:?}"
    );
    drop(ax);
    assert_eq!(gets_of(&fake, "B"), 2);
    assert_eq!(fake.connections(), 2);
    fake.close();
}

#[test]
fn an_id_zero_shutting_down_on_a_reused_connection_is_resent_once() {
    let fake = FakeSidecar::start(reused_then(|peer, _| {
        peer.error(0, ErrorCode::ShuttingDown);
    }));
    let ax = context(&fake);
    assert_eq!(ax.secrets().get("A"), ("first".to_owned(), true));
    assert_eq!(ax.secrets().get("B"), ("resent".to_owned(), true));
    drop(ax);
    assert_eq!(gets_of(&fake, "B"), 2);
    assert_eq!(fake.connections(), 2);
    fake.close();
}

#[test]
fn an_answer_cut_after_its_first_byte_is_not_resent() {
    let fake = FakeSidecar::start(reused_then(|peer, id| {
        let frame = to_frame(
            &Response {
                id,
                body: ResponseBody::Secret {
                    value: Some(SecretText::borrowed("never whole")),
                },
            },
            MAX_RESPONSE_FRAME,
        )
        .unwrap();
        peer.stream.write_all(&frame[..1]).unwrap();
        peer.stream.shutdown(Shutdown::Both).unwrap();
    }));
    let ax = context(&fake);
    assert_eq!(ax.secrets().get("A"), ("first".to_owned(), true));
    let error = ax.secrets().try_get("B").unwrap_err();
    assert!(
        matches!(
            error,
            Error::Unavailable {
                reason: Reason::Malformed(WireError::Truncated),
                ..
            }
        ),
        "{error:?}"
    );
    drop(ax);
    assert_eq!(gets_of(&fake, "B"), 1);
    assert_eq!(fake.connections(), 1);
    fake.close();
}

#[test]
fn a_request_on_a_fresh_connection_closed_before_answering_is_not_resent() {
    let fake = FakeSidecar::start(|_, peer| {
        peer.handshake();
        peer.read(); // and hang up without answering
    });
    let ax = context(&fake);
    let error = ax.secrets().try_get("A").unwrap_err();
    assert!(
        matches!(
            error,
            Error::Unavailable {
                reason: Reason::Closed,
                request: "Get",
                ..
            }
        ),
        "{error:?}"
    );
    drop(ax);
    assert_eq!(gets_of(&fake, "A"), 1);
    assert_eq!(fake.connections(), 1);
    fake.close();
}

#[test]
fn an_id_zero_shutting_down_on_a_fresh_connection_is_not_resent() {
    let fake = FakeSidecar::start(|_, peer| {
        peer.handshake();
        peer.read().unwrap();
        peer.error(0, ErrorCode::ShuttingDown);
    });
    let ax = context(&fake);
    let error = ax.secrets().try_get("A").unwrap_err();
    assert_eq!(error.code(), Some(ErrorCode::ShuttingDown), "{error:?}");
    drop(ax);
    assert_eq!(gets_of(&fake, "A"), 1);
    assert_eq!(fake.connections(), 1);
    fake.close();
}

#[test]
fn shutting_down_under_the_requests_id_is_reported_and_not_resent() {
    let fake = FakeSidecar::start(reused_then(|peer, id| {
        peer.error(id, ErrorCode::ShuttingDown);
    }));
    let ax = context(&fake);
    assert_eq!(ax.secrets().get("A"), ("first".to_owned(), true));
    let error = ax.secrets().try_get("B").unwrap_err();
    assert_eq!(error.code(), Some(ErrorCode::ShuttingDown), "{error:?}");
    drop(ax);
    assert_eq!(gets_of(&fake, "B"), 1);
    fake.close();
}

#[test]
fn busy_at_connect_is_reported_as_busy_and_not_retried() {
    let fake = FakeSidecar::start(|_, peer| {
        peer.error(0, ErrorCode::Busy);
    });
    let ax = context(&fake);
    let error = ax.secrets().try_get("A").unwrap_err();
    assert!(
        matches!(
            error,
            Error::Unavailable {
                reason: Reason::NotServed(ErrorCode::Busy),
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.code(), Some(ErrorCode::Busy));
    assert!(error.to_string().contains(&fake.path.display().to_string()));
    drop(ax);
    assert_eq!(fake.connections(), 1);
    fake.close();
}

#[test]
fn busy_on_a_reused_connection_is_not_resent() {
    let fake = FakeSidecar::start(reused_then(|peer, _| {
        peer.error(0, ErrorCode::Busy);
    }));
    let ax = context(&fake);
    assert_eq!(ax.secrets().get("A"), ("first".to_owned(), true));
    let error = ax.secrets().try_get("B").unwrap_err();
    assert_eq!(error.code(), Some(ErrorCode::Busy), "{error:?}");
    drop(ax);
    assert_eq!(gets_of(&fake, "B"), 1);
    assert_eq!(fake.connections(), 1);
    fake.close();
}

#[test]
fn a_connection_closed_while_idle_is_replaced_before_sending() {
    let (closed, closes) = mpsc::channel();
    let closed = Mutex::new(closed);
    let fake = FakeSidecar::start(move |i, peer| {
        peer.handshake();
        let request = peer.read().unwrap();
        secret(peer, request.id, &format!("conn{i}"));
        // Then close, as an idle timeout does, before the client's next request.
        peer.stream.shutdown(Shutdown::Both).unwrap();
        closed.lock().unwrap().send(i).unwrap();
    });
    let ax = context(&fake);
    assert_eq!(ax.secrets().get("A"), ("conn0".to_owned(), true));
    assert_eq!(closes.recv_timeout(support::PATIENCE), Ok(0));
    assert_eq!(ax.secrets().get("A"), ("conn1".to_owned(), true));
    drop(ax);
    assert_eq!(fake.connections(), 2);
    fake.close();
}

#[test]
fn an_over_long_socket_path_is_refused_before_connecting() {
    let path = format!("/tmp/{}.sock", "x".repeat(126));
    assert_eq!(path.len(), 136);
    let ax = AxiomContext::builder().socket(&path).build();
    let error = ax.secrets().try_get("A").unwrap_err();
    assert!(
        matches!(
            error,
            Error::Unavailable {
                reason: Reason::PathTooLong { bytes: 136 },
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "ax-secrets: socket path {path} is 136 bytes; a Unix socket path holds at most 107"
        )
    );
    assert_eq!(error.code(), None);
}

#[test]
fn an_unauthorized_with_id_zero_is_a_refused_uid() {
    let fake = FakeSidecar::start(|_, peer| {
        peer.error(0, ErrorCode::Unauthorized);
    });
    let ax = context(&fake);
    let error = ax.secrets().try_get("A").unwrap_err();
    let uid = nix::unistd::getuid().as_raw();
    assert!(
        matches!(error, Error::Unauthorized { refused: Refused::Uid(got), .. } if got == uid),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("uid"), "{message}");
    assert!(!message.contains("token"), "{message}");
    assert_eq!(error.code(), Some(ErrorCode::Unauthorized));
    drop(ax);
    assert_eq!(fake.connections(), 1);
    fake.close();
}

#[test]
fn an_unauthorized_under_the_hellos_id_is_a_refused_token() {
    let fake = FakeSidecar::start(|_, peer| {
        let hello = peer.read().unwrap();
        peer.error(hello.id, ErrorCode::Unauthorized);
    });
    let ax = context(&fake);
    let error = ax.secrets().try_get("A").unwrap_err();
    assert!(
        matches!(
            error,
            Error::Unauthorized {
                refused: Refused::Token,
                ..
            }
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("token"), "{message}");
    assert!(!message.contains("uid"), "{message}");
    assert_eq!(error.code(), Some(ErrorCode::Unauthorized));
    drop(ax);
    fake.close();
}
