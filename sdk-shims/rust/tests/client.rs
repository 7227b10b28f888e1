//! The client's protocol rules (PROTOCOL §7) against a scripted fake sidecar.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::borrow::Cow;
use std::io::Write;
use std::time::Duration;

use ax_protocol::limits::MAX_REQUEST_FRAME;
use ax_protocol::{ErrorCode, RequestBody, ResponseBody, SecretText, WireError};
use ax_secrets::{AxiomContext, Error, Reason};
use support::{FakeSidecar, context, is_child, run_in_child, secret, serve_gets};

#[test]
fn the_handshake_sends_version_client_and_token_once_per_connection() {
    let fake = FakeSidecar::start(|_, peer| {
        peer.handshake();
        serve_gets(peer, "v");
    });
    let ax = AxiomContext::builder()
        .socket(&fake.path)
        .token("tok-1")
        .build();
    assert_eq!(ax.secrets().get("A"), ("v".to_owned(), true));
    assert_eq!(ax.secrets().get("B"), ("v".to_owned(), true));
    drop(ax);
    let requests = fake.requests();
    let RequestBody::Hello {
        version,
        client,
        token,
    } = &requests[0].body
    else {
        panic!("the first request is {:?}", requests[0].body.kind());
    };
    assert_eq!(requests[0].id, 1, "a Hello's id is never 0");
    assert_eq!(*version, 2);
    assert_eq!(client, concat!("rust/", env!("CARGO_PKG_VERSION")));
    assert_eq!(token.as_ref().map(SecretText::expose), Some("tok-1"));
    let ids: Vec<u32> = requests.iter().map(|r| r.id).collect();
    assert_eq!(ids, [1, 1, 2]);
    assert_eq!(fake.connections(), 1);
    fake.close();
}

#[test]
fn nothing_is_connected_before_the_first_call() {
    let fake = FakeSidecar::start(|_, peer| {
        peer.handshake();
        serve_gets(peer, "v");
    });
    let ax = context(&fake);
    assert_eq!(fake.connections(), 0);
    assert!(ax.secrets().exists("A").unwrap());
    assert_eq!(fake.connections(), 1);
    drop(ax);
    fake.close();
}

#[test]
fn an_empty_environment_token_is_sent_as_none() {
    if is_child() {
        let ax = AxiomContext::new();
        assert_eq!(ax.secrets().get("A"), ("v".to_owned(), true));
        return;
    }
    let fake = FakeSidecar::start(|_, peer| {
        peer.handshake();
        serve_gets(peer, "v");
    });
    let socket = fake.path.display().to_string();
    run_in_child(
        "an_empty_environment_token_is_sent_as_none",
        &[
            ("AX_SECRETS_SOCKET", Some(&socket)),
            ("AX_SECRETS_TOKEN", Some("")),
        ],
    );
    let requests = fake.requests();
    assert!(matches!(
        &requests[0].body,
        RequestBody::Hello { token: None, .. }
    ));
    fake.close();
}

#[test]
fn no_socket_configured_is_a_typed_error() {
    if is_child() {
        let ax = AxiomContext::new();
        let error = ax.secrets().try_get("A").unwrap_err();
        assert!(matches!(error, Error::NotConfigured), "{error:?}");
        assert!(error.to_string().contains("AX_SECRETS_SOCKET is not set"));
        assert_eq!(ax.secrets().get("not a name"), (String::new(), false));
        return;
    }
    run_in_child(
        "no_socket_configured_is_a_typed_error",
        &[("AX_SECRETS_SOCKET", None), ("AX_SECRETS_TOKEN", None)],
    );
}

#[test]
fn an_id_mismatch_drops_the_connection_and_the_next_call_reconnects() {
    let fake = FakeSidecar::start(|i, peer| {
        peer.handshake();
        let request = peer.read().unwrap();
        if i == 0 {
            secret(peer, request.id + 1, "wrong");
            assert!(peer.read().is_none(), "the client hangs up");
        } else {
            secret(peer, request.id, "right");
            serve_gets(peer, "right");
        }
    });
    let ax = context(&fake);
    let error = ax.secrets().try_get("A").unwrap_err();
    assert!(
        matches!(
            error,
            Error::Unavailable {
                reason: Reason::IdMismatch {
                    sent: 1,
                    received: 2
                },
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(ax.secrets().get("A"), ("right".to_owned(), true));
    drop(ax);
    assert_eq!(fake.connections(), 2);
    fake.close();
}

#[test]
fn close_drops_the_connection() {
    let fake = FakeSidecar::start(|_, peer| {
        peer.handshake();
        serve_gets(peer, "v");
    });
    let ax = context(&fake);
    assert!(ax.secrets().exists("A").unwrap());
    ax.close();
    assert!(ax.secrets().exists("A").unwrap());
    drop(ax);
    assert_eq!(fake.connections(), 2);
    fake.close();
}

#[test]
fn an_unexpected_answer_kind_is_a_typed_error() {
    let fake = FakeSidecar::start(|_, peer| {
        peer.handshake();
        let request = peer.read().unwrap();
        peer.answer(request.id, ResponseBody::Pong);
    });
    let ax = context(&fake);
    let error = ax.secrets().try_get("A").unwrap_err();
    assert!(
        matches!(
            error,
            Error::Unavailable {
                reason: Reason::UnexpectedAnswer("Pong"),
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("answered Get with Pong"));
    drop(ax);
    fake.close();
}

#[test]
fn a_malformed_answer_is_a_typed_error() {
    let fake = FakeSidecar::start(|_, peer| {
        peer.handshake();
        let request = peer.read().unwrap();
        let id = u8::try_from(request.id).unwrap();
        // Secret with option tag 02.
        peer.stream.write_all(&[0, 0, 0, 4, id, 1, 2, 0]).unwrap();
    });
    let ax = context(&fake);
    let error = ax.secrets().try_get("A").unwrap_err();
    assert!(
        matches!(
            error,
            Error::Unavailable {
                reason: Reason::Malformed(WireError::InvalidOptionTag),
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("InvalidOptionTag"));
    drop(ax);
    fake.close();
}

#[test]
fn an_answer_over_the_response_limit_is_refused_unread() {
    let fake = FakeSidecar::start(|_, peer| {
        peer.handshake();
        peer.read().unwrap();
        peer.stream.write_all(&[0x01, 0x00, 0x00, 0x01]).unwrap();
    });
    let ax = context(&fake);
    let error = ax.secrets().try_get("A").unwrap_err();
    assert!(
        matches!(
            error,
            Error::Unavailable {
                reason: Reason::Malformed(WireError::FrameTooLarge { .. }),
                ..
            }
        ),
        "{error:?}"
    );
    drop(ax);
    fake.close();
}

#[test]
fn another_protocol_version_is_refused() {
    let fake = FakeSidecar::start(|_, peer| {
        let hello = peer.read().unwrap();
        peer.answer(
            hello.id,
            ResponseBody::Hello {
                version: 3,
                sidecar: Cow::Borrowed("future"),
                execution_id: Cow::Borrowed("exec"),
            },
        );
    });
    let ax = context(&fake);
    let error = ax.secrets().try_get("A").unwrap_err();
    assert!(
        matches!(
            error,
            Error::Unavailable {
                reason: Reason::WrongVersion(3),
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("version 3, not 2"), "{error}");
    drop(ax);
    fake.close();
}

#[test]
fn internal_errors_keep_the_connection() {
    let fake = FakeSidecar::start(|_, peer| {
        peer.handshake();
        let first = peer.read().unwrap();
        peer.error(first.id, ErrorCode::Internal);
        serve_gets(peer, "after");
    });
    let ax = context(&fake);
    let error = ax.secrets().try_get("A").unwrap_err();
    assert!(
        matches!(
            error,
            Error::Refused {
                code: ErrorCode::Internal,
                request: "Get",
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(ax.secrets().get("A"), ("after".to_owned(), true));
    drop(ax);
    assert_eq!(fake.connections(), 1);
    fake.close();
}

#[test]
fn a_refused_handshake_is_a_typed_error() {
    let fake = FakeSidecar::start(|_, peer| {
        peer.read().unwrap();
        peer.error(0, ErrorCode::UnsupportedVersion);
    });
    let ax = context(&fake);
    let error = ax.secrets().list().unwrap_err();
    assert!(
        matches!(
            error,
            Error::Refused {
                code: ErrorCode::UnsupportedVersion,
                request: "Hello",
                ..
            }
        ),
        "{error:?}"
    );
    drop(ax);
    fake.close();
}

#[test]
fn a_silent_sidecar_times_out_when_a_timeout_is_set() {
    let fake = FakeSidecar::start(|_, peer| {
        peer.handshake();
        peer.read().unwrap();
        // No answer; the client gives up and hangs up.
        assert!(peer.read().is_none());
    });
    let ax = AxiomContext::builder()
        .socket(&fake.path)
        .timeout(Duration::from_millis(200))
        .build();
    let error = ax.secrets().try_get("A").unwrap_err();
    assert!(
        matches!(
            error,
            Error::Unavailable {
                reason: Reason::TimedOut,
                ..
            }
        ),
        "{error:?}"
    );
    drop(ax);
    fake.close();
}

#[test]
fn a_render_over_the_request_limit_is_refused_before_connecting() {
    let ax = AxiomContext::builder()
        .socket("/nonexistent/ax.sock")
        .build();
    let template = "x".repeat(MAX_REQUEST_FRAME as usize);
    let error = ax.secrets().render(&template).unwrap_err();
    assert!(
        matches!(
            error,
            Error::TooLarge {
                request: "Render",
                limit: MAX_REQUEST_FRAME
            }
        ),
        "{error:?}"
    );
    assert!(!error.is_unavailable());
    assert!(error.to_string().contains("1048576") && !error.to_string().contains("xxxx"));
    // id 1 + tag + 3-byte length + text is one byte over.
    let text = "y".repeat(MAX_REQUEST_FRAME as usize - 4);
    assert!(matches!(
        ax.secrets().redact(&text),
        Err(Error::TooLarge { .. })
    ));
}

#[test]
fn a_request_of_exactly_the_limit_is_sent() {
    let fake = FakeSidecar::start(|_, peer| {
        peer.handshake();
        let request = peer.read().unwrap();
        peer.answer(
            request.id,
            ResponseBody::Redacted {
                text: Cow::Borrowed("ok"),
                found: vec![],
            },
        );
    });
    let ax = context(&fake);
    // id 1 (1 byte) + tag (1) + length varint (3) + text = 1 MiB exactly.
    let text = "r".repeat(MAX_REQUEST_FRAME as usize - 5);
    assert_eq!(ax.secrets().redact(&text).unwrap().text, "ok");
    drop(ax);
    fake.close();
}

#[test]
fn an_invalid_name_never_connects() {
    let ax = AxiomContext::builder()
        .socket("/nonexistent/ax.sock")
        .build();
    assert_eq!(ax.secrets().get("not a name"), (String::new(), false));
    assert!(!ax.secrets().exists("").unwrap());
    assert_eq!(ax.secrets().try_get(&"A".repeat(129)).unwrap(), None);
}

#[test]
fn list_render_and_redact_answers_are_mapped() {
    use ax_protocol::SecretInfo as WireInfo;
    let fake = FakeSidecar::start(|_, peer| {
        peer.handshake();
        while let Some(request) = peer.read() {
            let body = match request.body {
                RequestBody::List => ResponseBody::List {
                    secrets: vec![WireInfo {
                        name: Cow::Borrowed("A"),
                        version: 4,
                        updated_at: 1_800_000_000,
                    }],
                },
                RequestBody::Render { template } => ResponseBody::Rendered {
                    text: SecretText::owned(format!("<{}>", template.expose())),
                    missing: vec![Cow::Borrowed("M")],
                },
                RequestBody::Redact { .. } => ResponseBody::Redacted {
                    text: Cow::Borrowed("***"),
                    found: vec![Cow::Borrowed("A")],
                },
                other => panic!("unexpected {}", other.kind()),
            };
            peer.answer(request.id, body);
        }
    });
    let ax = context(&fake);
    let listed = ax.secrets().list().unwrap();
    assert_eq!(
        (
            listed[0].name.as_str(),
            listed[0].version,
            listed[0].updated_at,
        ),
        ("A", 4, 1_800_000_000)
    );
    let rendered = ax.secrets().render("t").unwrap();
    assert_eq!(
        (rendered.text.as_str(), rendered.missing),
        ("<t>", vec!["M".to_owned()])
    );
    let redacted = ax.secrets().redact("x").unwrap();
    assert_eq!(
        (redacted.text.as_str(), redacted.found),
        ("***", vec!["A".to_owned()])
    );
    drop(ax);
    assert_eq!(fake.connections(), 1);
    fake.close();
}
