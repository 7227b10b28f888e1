//! Bad input against the real binary (PROTOCOL §2, §4, §6.6, §7): oversized and truncated
//! frames, garbage, handshake violations, refused peers, the connection cap, and clients that
//! vanish mid-stream. Each case checks the answer the contract gives (code and id), that the
//! offending connection is closed where it must be, and then that a fresh, well-behaved client
//! is still served.

// Clippy's allow-*-in-tests settings cover `#[test]` bodies only; the helpers below are test
// code as much as they are.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::borrow::Cow;
use std::io::Read;
use std::time::{Duration, Instant};

use ax_protocol::frame::{decode_request, to_frame};
use ax_protocol::limits::{MAX_REQUEST_FRAME, MAX_VALUE_LEN, PROTOCOL_VERSION};
use ax_protocol::{ErrorCode, Request, RequestBody, ResponseBody, SecretText};
use support::{Client, Fixture, OVERRIDES, PATIENCE, SECRETS, Sidecar, bundle, frame, vm_rss_kib};

const OPENAI_API_KEY: &str = "sk-test-1234567890abcdef";

/// The effective value of `name` in the standard fixture.
fn expected_value(name: &str) -> Option<&'static str> {
    OVERRIDES
        .iter()
        .chain(SECRETS)
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
}

/// A fresh client can still connect, shake hands and read secrets.
fn assert_still_serves(sidecar: &Sidecar) {
    let mut client = sidecar.client();
    assert_eq!(
        client.get("OPENAI_API_KEY").as_deref(),
        Some(OPENAI_API_KEY)
    );
    assert_eq!(client.request(RequestBody::Ping).body, ResponseBody::Pong);
    assert_eq!(
        client.get("GREETING").as_deref(),
        expected_value("GREETING")
    );
}

fn hello_frame(id: u32, version: u16, token: Option<&str>) -> Vec<u8> {
    let request = Request {
        id,
        body: RequestBody::Hello {
            version,
            client: Cow::Borrowed("test/0.1"),
            token: token.map(SecretText::borrowed),
        },
    };
    to_frame(&request, MAX_REQUEST_FRAME).unwrap()
}

fn request_frame(id: u32, body: RequestBody<'_>) -> Vec<u8> {
    to_frame(&Request { id, body }, MAX_REQUEST_FRAME).unwrap()
}

/// Connects, optionally shakes hands, sends `bytes`, and expects `code` with `id`, then the
/// close.
fn expect_refusal(sidecar: &Sidecar, greet: bool, bytes: &[u8], id: u32, code: ErrorCode) {
    let mut client = Client::connect(&sidecar.socket);
    if greet {
        client.hello(None);
    }
    client.send_raw(bytes);
    client.expect_error(id, code);
    client.expect_closed();
}

/// A request id as PROTOCOL §4.1 reads it, if the body starts with a valid `u32` varint.
fn readable_id(body: &[u8]) -> Option<u32> {
    let mut value: u64 = 0;
    for (i, &byte) in body.iter().take(5).enumerate() {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            if i == 4 && byte > 0x0f {
                return None;
            }
            return Some(u32::try_from(value).unwrap());
        }
    }
    None
}

/// xorshift64*: small, deterministic, good enough to make garbage.
struct Garbage(u64);

impl Garbage {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A body that is sometimes nothing like a request and sometimes nearly one: a small id,
    /// a tag around the defined ones, then random bytes (often short strings).
    fn body(&mut self) -> Vec<u8> {
        let len = self.below(40) as usize;
        let mut body: Vec<u8> = (0..len).map(|_| self.next() as u8).collect();
        match self.below(4) {
            0 => {}
            1 if len >= 2 => {
                body[0] = self.below(128) as u8;
                body[1] = self.below(10) as u8;
            }
            _ if len >= 3 => {
                body[0] = self.below(128) as u8;
                body[1] = self.below(7) as u8;
                // A plausible string length, and sometimes a cut to just the message.
                body[2] = self.below(len as u64) as u8;
                if self.below(2) == 0 {
                    let keep = (3 + usize::from(body[2])).min(len);
                    body.truncate(keep);
                    for b in &mut body[3..] {
                        *b = b'A' + (*b % 26);
                    }
                }
            }
            _ => {}
        }
        body
    }
}

#[test]
fn refuses_a_length_prefix_of_four_gib_without_reserving_it() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let before = vm_rss_kib(sidecar.pid());

    for greet in [true, false] {
        expect_refusal(&sidecar, greet, &[0xff; 4], 0, ErrorCode::TooLarge);
    }

    let grown = vm_rss_kib(sidecar.pid()).saturating_sub(before);
    assert!(
        grown < 32 * 1024,
        "the sidecar's resident set grew by {grown} KiB after a frame announcing 4 GiB"
    );
    assert_still_serves(&sidecar);
}

#[test]
fn refuses_a_frame_just_over_the_configured_request_limit() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &["--max-request-bytes", "8192"]);

    // A Get of exactly 8192 body bytes (id, tag, two-byte length, name) is within the limit.
    let at_limit = request_frame(
        3,
        RequestBody::Get {
            name: Cow::Owned("N".repeat(8192 - 4)),
        },
    );
    assert_eq!(at_limit.len(), 4 + 8192);
    let mut client = sidecar.client();
    client.send_raw(&at_limit);
    let response = client.read().unwrap();
    assert_eq!(response.id, 3);
    assert_eq!(response.body, ResponseBody::Secret { value: None });
    assert_eq!(client.request(RequestBody::Ping).body, ResponseBody::Pong);

    let over = request_frame(
        4,
        RequestBody::Get {
            name: Cow::Owned("N".repeat(8192 - 3)),
        },
    );
    assert_eq!(over.len(), 4 + 8193);
    client.send_raw(&over);
    client.expect_error(0, ErrorCode::TooLarge);
    client.expect_closed();
    assert_still_serves(&sidecar);
}

#[test]
fn refuses_a_frame_just_over_the_protocol_request_limit() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = sidecar.client();
    let body = vec![b'x'; MAX_REQUEST_FRAME as usize + 1];
    // The sidecar answers on the length prefix and may close before the body is all written.
    let _ = client.try_send_raw(&frame(&body));
    client.expect_error(0, ErrorCode::TooLarge);
    client.expect_closed();
    assert_still_serves(&sidecar);
}

#[test]
fn drops_a_stalled_partial_frame_without_an_answer() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &["--partial-frame-timeout", "200ms"]);
    let get = request_frame(
        2,
        RequestBody::Get {
            name: Cow::Borrowed("OPENAI_API_KEY"),
        },
    );
    // Cut inside the body, inside the length prefix, and (before Hello) inside the body.
    for (greet, cut) in [(true, get.len() - 3), (true, 2), (false, 6)] {
        let mut client = Client::connect(&sidecar.socket);
        if greet {
            client.hello(None);
        }
        let started = Instant::now();
        client.send_raw(&get[..cut]);
        client.expect_closed();
        assert!(
            started.elapsed() >= Duration::from_millis(200),
            "closed after {:?}, before the partial-frame timeout",
            started.elapsed()
        );
    }
    assert_still_serves(&sidecar);
}

#[test]
fn closes_an_idle_connection_cleanly() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &["--idle-timeout", "200ms"]);
    let mut idle = sidecar.client();
    assert_eq!(idle.get("OPENAI_API_KEY").as_deref(), Some(OPENAI_API_KEY));
    let started = Instant::now();
    let mut rest = Vec::new();
    // A clean end of stream: no error frame, no reset.
    assert_eq!(idle.stream.read_to_end(&mut rest).unwrap(), 0);
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "closed after {:?}, before the idle timeout",
        started.elapsed()
    );

    // A connection that never says Hello is idle too.
    let mut silent = Client::connect(&sidecar.socket);
    assert_eq!(silent.stream.read_to_end(&mut rest).unwrap(), 0);
    assert!(rest.is_empty());
    assert_still_serves(&sidecar);
}

#[test]
fn refuses_malformed_messages_with_bad_request_and_the_id_when_readable() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let cases: &[(&str, &[u8], u32)] = &[
        ("empty body", &[], 0),
        ("unknown request tag 9", &[0x01, 0x09], 1),
        ("first undefined request tag 6", &[0x01, 0x06], 1),
        ("trailing byte after Ping", &[0x01, 0x05, 0x00], 1),
        ("id cut short", &[0x80], 0),
        (
            "id varint over u32",
            &[0x80, 0x80, 0x80, 0x80, 0x10, 0x05],
            0,
        ),
        (
            "id varint too long",
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x05],
            0,
        ),
        (
            "id u32::MAX, trailing",
            &[0xff, 0xff, 0xff, 0xff, 0x0f, 0x05, 0x00],
            u32::MAX,
        ),
        ("non-canonical id, trailing", &[0x81, 0x00, 0x05, 0x00], 1),
        ("Get name not UTF-8", &[0x02, 0x01, 0x02, 0xff, 0xfe], 2),
        ("Get name cut short", &[0x03, 0x01, 0x05, 0x41], 3),
        ("Get without a name", &[0x03, 0x01], 3),
        (
            "Render of a UTF-16 surrogate",
            &[0x06, 0x03, 0x03, 0xed, 0xa0, 0x80],
            6,
        ),
        (
            "Redact text length u64::MAX",
            &[
                0x07, 0x04, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x41,
            ],
            7,
        ),
        (
            "Hello token option tag 2",
            &[0x04, 0x00, 0x01, 0x00, 0x02],
            4,
        ),
        (
            "Hello version over u16",
            &[0x05, 0x00, 0x80, 0x80, 0x04, 0x00, 0x00],
            5,
        ),
        ("Hello cut short", &[0x08, 0x00, 0x01], 8),
    ];
    for greet in [true, false] {
        for (what, body, id) in cases {
            let mut client = Client::connect(&sidecar.socket);
            if greet {
                client.hello(None);
            }
            client.send_raw(&frame(body));
            let response = client
                .read()
                .unwrap_or_else(|| panic!("{what}: closed without an answer"));
            assert_eq!(
                response.id, *id,
                "{what} (after Hello: {greet}): {response:?}"
            );
            assert!(
                matches!(
                    response.body,
                    ResponseBody::Error {
                        code: ErrorCode::BadRequest,
                        ..
                    }
                ),
                "{what} (after Hello: {greet}): {response:?}"
            );
            client.expect_closed();
        }
    }
    assert_still_serves(&sidecar);
}

#[test]
fn refuses_an_unknown_request_variant_tag() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    expect_refusal(
        &sidecar,
        true,
        &frame(&[0x01, 0x09]),
        1,
        ErrorCode::BadRequest,
    );
    assert_still_serves(&sidecar);
}

#[test]
fn refuses_trailing_bytes_after_a_valid_message() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut body = to_frame(
        &Request {
            id: 7,
            body: RequestBody::Get {
                name: Cow::Borrowed("OPENAI_API_KEY"),
            },
        },
        MAX_REQUEST_FRAME,
    )
    .unwrap()
    .split_off(4);
    body.push(0x00);
    expect_refusal(&sidecar, true, &frame(&body), 7, ErrorCode::BadRequest);
    assert_still_serves(&sidecar);
}

#[test]
fn answers_random_garbage_and_stays_up() {
    const CASES: usize = 600;
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut bystander = sidecar.client();
    let mut rng = Garbage(0x9e37_79b9_7f4a_7c15);
    let (mut refused, mut served) = (0, 0);
    for case in 0..CASES {
        let greet = rng.below(2) == 0;
        let body = rng.body();
        let what = format!(
            "case {case}: body {} (after Hello: {greet})",
            hex::encode(&body)
        );
        let mut client = Client::connect(&sidecar.socket);
        if greet {
            client.hello(None);
        }
        client.send_raw(&frame(&body));
        let response = client
            .read()
            .unwrap_or_else(|| panic!("{what}: closed without an answer"));
        let request = match decode_request(&body) {
            Err(_) => {
                let id = readable_id(&body).unwrap_or(0);
                assert_eq!(response.id, id, "{what}: {response:?}");
                assert!(
                    matches!(
                        response.body,
                        ResponseBody::Error {
                            code: ErrorCode::BadRequest,
                            ..
                        }
                    ),
                    "{what}: {response:?}"
                );
                client.expect_closed();
                refused += 1;
                continue;
            }
            Ok(request) => request,
        };
        assert_eq!(response.id, request.id, "{what}: {response:?}");
        let closing = match (greet, &request.body) {
            (
                false,
                RequestBody::Hello {
                    version: PROTOCOL_VERSION,
                    ..
                },
            ) => {
                assert!(
                    matches!(response.body, ResponseBody::Hello { .. }),
                    "{what}"
                );
                None
            }
            (false, RequestBody::Hello { .. }) => Some(ErrorCode::UnsupportedVersion),
            (false, _) | (true, RequestBody::Hello { .. }) => Some(ErrorCode::HandshakeRequired),
            (true, RequestBody::Get { name }) => {
                let value = match &response.body {
                    ResponseBody::Secret { value } => value.as_ref().map(SecretText::expose),
                    other => panic!("{what}: expected Secret, got {other:?}"),
                };
                assert_eq!(value, expected_value(name), "{what}");
                None
            }
            (true, RequestBody::List) => {
                assert!(matches!(response.body, ResponseBody::List { .. }), "{what}");
                None
            }
            (true, RequestBody::Render { .. }) => {
                assert!(
                    matches!(response.body, ResponseBody::Rendered { .. }),
                    "{what}"
                );
                None
            }
            (true, RequestBody::Redact { .. }) => {
                assert!(
                    matches!(response.body, ResponseBody::Redacted { .. }),
                    "{what}"
                );
                None
            }
            (true, RequestBody::Ping) => {
                assert_eq!(response.body, ResponseBody::Pong, "{what}");
                None
            }
        };
        match closing {
            Some(code) => {
                assert!(
                    matches!(response.body, ResponseBody::Error { code: got, .. } if got == code),
                    "{what}: expected {code:?}, got {response:?}"
                );
                client.expect_closed();
                refused += 1;
            }
            None => {
                // The connection goes on.
                client.send(&Request {
                    id: 4242,
                    body: RequestBody::Ping,
                });
                let pong = client.read().expect("a Pong");
                assert_eq!((pong.id, pong.body), (4242, ResponseBody::Pong), "{what}");
                served += 1;
            }
        }
    }
    // The generator must exercise both outcomes, or the test proves little.
    assert!(refused > CASES / 4, "only {refused} refusals");
    assert!(served > 10, "only {served} served");
    assert_eq!(bystander.get("DB_URL").as_deref(), expected_value("DB_URL"));
    assert_still_serves(&sidecar);
}

#[test]
fn refuses_a_request_before_hello_and_answers_nothing_after() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    for body in [
        RequestBody::Get {
            name: Cow::Borrowed("OPENAI_API_KEY"),
        },
        RequestBody::Ping,
        RequestBody::List,
    ] {
        let mut bytes = request_frame(5, body);
        // Pipelined after the refused request: must never be answered.
        bytes.extend(hello_frame(6, PROTOCOL_VERSION, None));
        bytes.extend(request_frame(7, RequestBody::Ping));
        expect_refusal(&sidecar, false, &bytes, 5, ErrorCode::HandshakeRequired);
    }
    assert_still_serves(&sidecar);
}

#[test]
fn refuses_a_second_hello() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut bytes = hello_frame(2, PROTOCOL_VERSION, None);
    bytes.extend(request_frame(3, RequestBody::Ping));
    expect_refusal(&sidecar, true, &bytes, 2, ErrorCode::HandshakeRequired);
    assert_still_serves(&sidecar);
}

#[test]
fn refuses_a_wrong_or_missing_token_and_accepts_the_right_one() {
    let fixture = Fixture::standard();
    let token_file = fixture.path("client-token");
    std::fs::write(&token_file, "s3cret-token\n").unwrap();
    let token_arg = token_file.display().to_string();
    let sidecar = Sidecar::start(&fixture, &["--client-token-file", &token_arg]);

    for token in [
        None,
        Some(""),
        Some("tok-nope-7f3a"),
        Some("s3cret-toke"),
        Some("s3cret-tokenX"),
        Some("s3cret-token\n"),
        Some("S3CRET-TOKEN"),
    ] {
        let mut client = Client::connect(&sidecar.socket);
        let mut bytes = hello_frame(1, PROTOCOL_VERSION, token);
        bytes.extend(request_frame(
            2,
            RequestBody::Get {
                name: Cow::Borrowed("OPENAI_API_KEY"),
            },
        ));
        client.send_raw(&bytes);
        let response = client.read().expect("an answer to Hello");
        assert_eq!(response.id, 1, "token {token:?}");
        match &response.body {
            ResponseBody::Error {
                code: ErrorCode::Unauthorized,
                message,
            } => {
                if let Some(token) = token.filter(|t| !t.is_empty()) {
                    assert!(!message.contains(token), "the error repeats the token");
                }
            }
            other => panic!("token {token:?}: expected Unauthorized, got {other:?}"),
        }
        client.expect_closed();
    }

    let mut client = Client::connect(&sidecar.socket);
    client.hello(Some("s3cret-token"));
    assert_eq!(
        client.get("OPENAI_API_KEY").as_deref(),
        Some(OPENAI_API_KEY)
    );
    assert_eq!(client.request(RequestBody::Ping).body, ResponseBody::Pong);
}

#[test]
fn refuses_an_unsupported_version() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    for version in [0, PROTOCOL_VERSION - 1, PROTOCOL_VERSION + 1, u16::MAX] {
        let mut bytes = hello_frame(1, version, None);
        bytes.extend(request_frame(2, RequestBody::Ping));
        expect_refusal(&sidecar, false, &bytes, 1, ErrorCode::UnsupportedVersion);
    }
    assert_still_serves(&sidecar);
}

#[test]
fn refuses_a_peer_whose_uid_is_not_allowed() {
    let own = nix::unistd::Uid::effective().as_raw();
    let other = if own == 4242 { 4243 } else { 4242 };
    let other = other.to_string();
    let fixture = Fixture::standard();
    // Listing uids replaces the default: the sidecar's own uid (ours) is no longer allowed.
    let sidecar = Sidecar::start(&fixture, &["--allow-uid", &other]);

    // Refused right after accept, before the client says anything...
    let mut quiet = Client::connect(&sidecar.socket);
    quiet.expect_error(0, ErrorCode::Unauthorized);
    quiet.expect_closed();

    // ...and a client that talks first is refused the same way, with nothing served.
    let mut eager = Client::connect(&sidecar.socket);
    let mut bytes = hello_frame(1, PROTOCOL_VERSION, None);
    bytes.extend(request_frame(
        2,
        RequestBody::Get {
            name: Cow::Borrowed("OPENAI_API_KEY"),
        },
    ));
    let _ = eager.try_send_raw(&bytes);
    eager.expect_error(0, ErrorCode::Unauthorized);
    eager.expect_closed();

    // Refusing peers did not hurt the sidecar: it shuts down cleanly.
    let (status, _, stderr) = sidecar.stop();
    assert!(status.success(), "{status:?}: {stderr}");
}

#[test]
fn refuses_a_connection_over_the_limit_with_busy() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &["--max-connections", "2"]);
    let mut first = sidecar.client();
    let mut second = sidecar.client();

    let mut third = Client::connect(&sidecar.socket);
    third.expect_error(0, ErrorCode::Busy);
    third.expect_closed();

    assert_eq!(first.get("OPENAI_API_KEY").as_deref(), Some(OPENAI_API_KEY));
    assert_eq!(second.get("DB_URL").as_deref(), expected_value("DB_URL"));

    // The slot frees once the sidecar has seen the close: retry until a handshake succeeds.
    drop(first);
    let deadline = Instant::now() + PATIENCE;
    let mut attempts = 0;
    let mut fourth = loop {
        assert!(
            Instant::now() < deadline,
            "no slot freed after {attempts} attempts"
        );
        attempts += 1;
        let mut client = Client::connect(&sidecar.socket);
        if client
            .try_send_raw(&hello_frame(1, PROTOCOL_VERSION, None))
            .is_err()
        {
            continue;
        }
        match client.read() {
            Some(response) if matches!(response.body, ResponseBody::Hello { .. }) => break client,
            Some(response) => {
                assert_eq!(response.id, 0, "{response:?}");
                assert!(
                    matches!(
                        response.body,
                        ResponseBody::Error {
                            code: ErrorCode::Busy,
                            ..
                        }
                    ),
                    "{response:?}"
                );
            }
            None => {}
        }
        std::thread::yield_now();
    };
    assert_eq!(
        fourth.get("GREETING").as_deref(),
        expected_value("GREETING")
    );
    assert_eq!(
        second.get("OPENAI_API_KEY").as_deref(),
        Some(OPENAI_API_KEY)
    );

    // Two connections again: the next one is turned away.
    let mut fifth = Client::connect(&sidecar.socket);
    fifth.expect_error(0, ErrorCode::Busy);
    fifth.expect_closed();
}

#[test]
fn a_client_that_disconnects_mid_response_does_not_disturb_another() {
    let big = "0123456789abcdef".repeat(MAX_VALUE_LEN / 16);
    let mut secrets: Vec<(&str, &str)> = SECRETS.to_vec();
    secrets.push(("BIG", &big));
    let fixture = Fixture::with_bundle(&bundle(&secrets, OVERRIDES));
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut other = sidecar.client();

    let mut greedy = sidecar.client();
    let mut batch = Vec::new();
    for id in 10..26 {
        batch.extend(request_frame(
            id,
            RequestBody::Get {
                name: Cow::Borrowed("BIG"),
            },
        ));
    }
    greedy.send_raw(&batch);
    // Part of the first 1 MiB response, then nothing: 16 MiB stay unread.
    let mut start = vec![0u8; 64 * 1024];
    greedy.stream.read_exact(&mut start).unwrap();

    // While the sidecar cannot finish writing to `greedy`, others are served in full.
    assert_eq!(other.get("OPENAI_API_KEY").as_deref(), Some(OPENAI_API_KEY));
    assert!(other.get("BIG").as_deref() == Some(big.as_str()));

    drop(greedy);
    assert!(other.get("BIG").as_deref() == Some(big.as_str()));
    assert_eq!(other.request(RequestBody::Ping).body, ResponseBody::Pong);
    assert_still_serves(&sidecar);
}

#[test]
fn a_client_that_disconnects_half_way_through_a_pipelined_batch_does_not_disturb_another() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut other = sidecar.client();
    let batch: Vec<Vec<u8>> = (0..50)
        .map(|id| {
            request_frame(
                id,
                RequestBody::Get {
                    name: Cow::Borrowed("OPENAI_API_KEY"),
                },
            )
        })
        .collect();

    // Sends the whole batch, reads half the answers, and leaves.
    let mut reader = sidecar.client();
    reader.send_raw(&batch.concat());
    for id in 0..25 {
        let response = reader.read().unwrap();
        assert_eq!(response.id, id);
    }
    drop(reader);

    // Sends half the batch and half a frame, and leaves.
    let mut writer = sidecar.client();
    let mut half = batch[..25].concat();
    half.extend_from_slice(&batch[25][..5]);
    writer.send_raw(&half);
    writer
        .stream
        .shutdown(std::net::Shutdown::Write)
        .expect("half-close");
    drop(writer);

    // The bystander's own pipelined batch is answered in full and in order.
    other.send_raw(&batch.concat());
    for id in 0..50 {
        let response = other.read().unwrap();
        assert_eq!(response.id, id);
        assert_eq!(
            response.body,
            ResponseBody::Secret {
                value: Some(SecretText::borrowed(OPENAI_API_KEY))
            }
        );
    }
    assert_still_serves(&sidecar);
}
