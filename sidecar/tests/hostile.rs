//! The real binary under hostile, well-formed input from a peer of the same uid: every cost is
//! bounded by what the client sent and may receive, no client stalls another, nothing aborts.
//!
//! Memory is read from `VmHWM` (the peak resident set), so a spike between two samples still
//! counts. "Answered promptly" is the slowest of several `Ping`s sent on another connection
//! while the hostile request runs, against a bound a loaded machine meets easily and a blocked
//! serving thread (seconds, before this was fixed) does not.

// Clippy's allow-*-in-tests settings cover `#[test]` bodies only; the helpers below are test
// code as much as they are.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::borrow::Cow;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use ax_protocol::frame::{decode_response, to_frame};
use ax_protocol::limits::{MAX_REQUEST_FRAME, MAX_RESPONSE_FRAME, MAX_VALUE_LEN};
use ax_protocol::{ErrorCode, Request, RequestBody, Response, ResponseBody, SecretText};
use nix::sys::signal::Signal;
use support::{Client, Fixture, PATIENCE, Sidecar, bundle, vm_hwm_kib, wait_for_hangup};

/// The slowest `Ping` allowed on a well-behaved connection while another one is hostile.
const PROMPT: Duration = Duration::from_millis(200);
/// How much a hostile connection may make the peak resident set grow, in KiB: one request, one
/// response at the limit and its rendering (about 2 x 16 MiB + 2 x 1 MiB), with room to spare.
/// Before the fix these requests took hundreds of megabytes or aborted.
const GROWTH_BOUND_KIB: u64 = 64 * 1024;

/// A value of `len` bytes that no other value or text contains by chance.
fn big_value(len: usize) -> String {
    (0..len)
        .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
        .collect()
}

/// A fixture serving `BIG`, a value of `len` bytes, beside a small one.
fn fixture_with_big(len: usize) -> (Fixture, String) {
    let value = big_value(len);
    let fixture = Fixture::with_bundle(&bundle(&[("BIG", &value), ("SMALL", "small")], &[]));
    (fixture, value)
}

fn request_frame(id: u32, body: RequestBody<'_>) -> Vec<u8> {
    to_frame(&Request { id, body }, MAX_REQUEST_FRAME).unwrap()
}

/// A `Render` frame of `{{secrets.NAME}}` repeated to (nearly) the request limit.
fn amplifying_render(id: u32, name: &str) -> Vec<u8> {
    let reference = format!("{{{{secrets.{name}}}}}");
    let count = (MAX_REQUEST_FRAME as usize - 16) / reference.len();
    let template = reference.repeat(count);
    request_frame(
        id,
        RequestBody::Render {
            template: SecretText::borrowed(&template),
        },
    )
}

/// Runs `hostile` on its own thread while a well-behaved client pings on another connection;
/// returns the slowest ping seen (at least five are sent, and pinging goes on until `hostile`
/// returns).
fn slowest_ping_during(sidecar: &Sidecar, hostile: impl FnOnce() + Send + 'static) -> Duration {
    let mut pinger = sidecar.client();
    let done = Arc::new(AtomicBool::new(false));
    let worker = std::thread::spawn({
        let done = Arc::clone(&done);
        move || {
            hostile();
            done.store(true, Ordering::SeqCst);
        }
    });
    let mut slowest = Duration::ZERO;
    let mut pings = 0;
    let started = Instant::now();
    while pings < 5 || !done.load(Ordering::SeqCst) {
        assert!(
            started.elapsed() < PATIENCE,
            "the hostile client never finished"
        );
        let sent = Instant::now();
        let answer = pinger.request(RequestBody::Ping);
        slowest = slowest.max(sent.elapsed());
        assert!(
            matches!(answer.body, ResponseBody::Pong),
            "expected Pong, got {answer:?}"
        );
        pings += 1;
    }
    worker.join().unwrap();
    slowest
}

fn assert_prompt(slowest: Duration, what: &str) {
    assert!(
        slowest < PROMPT,
        "a Ping on another connection took {slowest:?} during {what} (bound {PROMPT:?})"
    );
}

fn assert_alive(sidecar: &Sidecar) {
    let mut client = sidecar.client();
    assert!(matches!(
        client.request(RequestBody::Ping).body,
        ResponseBody::Pong
    ));
}

fn assert_growth_bounded(sidecar: &Sidecar, before_kib: u64, what: &str) {
    let after = vm_hwm_kib(sidecar.pid());
    assert!(
        after.saturating_sub(before_kib) < GROWTH_BOUND_KIB,
        "{what}: VmHWM grew from {before_kib} KiB to {after} KiB (bound +{GROWTH_BOUND_KIB} KiB)"
    );
}

fn expect_too_large(client: &mut Client, id: u32) {
    let answer = client.read().expect("an answer to the render");
    assert_eq!(answer.id, id, "{answer:?}");
    assert!(
        matches!(
            answer.body,
            ResponseBody::Error {
                code: ErrorCode::TooLarge,
                ..
            }
        ),
        "expected TooLarge, got {answer:?}"
    );
}

#[test]
fn a_render_that_repeats_a_1_mib_value_is_too_large_without_growing_memory() {
    let (fixture, _) = fixture_with_big(MAX_VALUE_LEN);
    let sidecar = Sidecar::start(&fixture, &[]);
    let before = vm_hwm_kib(sidecar.pid());
    let socket = sidecar.socket.clone();
    let slowest = slowest_ping_during(&sidecar, move || {
        let mut client = Client::connect(&socket);
        client.hello(None);
        client.send_raw(&amplifying_render(7, "BIG"));
        expect_too_large(&mut client, 7);
        // The connection stays open after an over-limit answer (PROTOCOL §6.6).
        client.send_raw(&request_frame(8, RequestBody::Ping));
        assert!(matches!(client.read().unwrap().body, ResponseBody::Pong));
    });
    assert_prompt(slowest, "a render that repeats a 1 MiB value");
    assert_alive(&sidecar);
    assert_growth_bounded(&sidecar, before, "render of a 1 MiB value repeated");
}

#[test]
fn a_render_that_repeats_a_3_kib_value_stops_at_the_response_limit() {
    let (fixture, _) = fixture_with_big(3 * 1024);
    let sidecar = Sidecar::start(&fixture, &[]);
    let before = vm_hwm_kib(sidecar.pid());
    let mut client = sidecar.client();
    client.send_raw(&amplifying_render(7, "BIG"));
    expect_too_large(&mut client, 7);
    assert_growth_bounded(&sidecar, before, "render of a 3 KiB value repeated");
}

#[test]
fn a_render_of_65535_distinct_references_does_not_delay_another_client() {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_";
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let names: Vec<String> = (0..65_535_usize)
        .map(|i| {
            let n = ALPHABET.len();
            let code = [
                b'A',
                ALPHABET[i / (n * n)],
                ALPHABET[i / n % n],
                ALPHABET[i % n],
            ];
            String::from_utf8(code.to_vec()).unwrap()
        })
        .collect();
    let template: String = names
        .iter()
        .map(|n| format!("{{{{secrets.{n}}}}}"))
        .collect();
    let frame = request_frame(
        3,
        RequestBody::Render {
            template: SecretText::borrowed(&template),
        },
    );
    let socket = sidecar.socket.clone();
    let slowest = slowest_ping_during(&sidecar, move || {
        let mut client = Client::connect(&socket);
        client.hello(None);
        client.send_raw(&frame);
        let answer = client.read().expect("the rendering");
        assert_eq!(answer.id, 3);
        match answer.body {
            ResponseBody::Rendered { text, missing } => {
                assert_eq!(
                    text.expose(),
                    template,
                    "missing references stay as written"
                );
                assert_eq!(missing.len(), names.len());
                assert!(missing.iter().zip(&names).all(|(m, n)| m == n), "order");
            }
            other => panic!("expected Rendered, got {other:?}"),
        }
    });
    assert_prompt(slowest, "a render of 65,535 distinct references");
}

#[test]
fn a_redact_of_1_mib_does_not_delay_another_client() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    // Warm the matcher up, so what is measured is the redaction itself.
    let mut warm = sidecar.client();
    let warmed = warm.request(RequestBody::Redact {
        text: SecretText::borrowed("nothing here"),
    });
    assert!(matches!(warmed.body, ResponseBody::Redacted { .. }));
    // Near-misses of a value and one real occurrence, to 1 MiB.
    let value = support::SECRETS[0].1;
    let mut text = String::new();
    while text.len() < MAX_REQUEST_FRAME as usize - 1024 {
        text.push_str(&value[..value.len() - 1]);
        text.push(' ');
    }
    text.push_str(value);
    let frame = request_frame(
        4,
        RequestBody::Redact {
            text: SecretText::borrowed(&text),
        },
    );
    let socket = sidecar.socket.clone();
    let slowest = slowest_ping_during(&sidecar, move || {
        let mut client = Client::connect(&socket);
        client.hello(None);
        for _ in 0..4 {
            client.send_raw(&frame);
            let answer = client.read().expect("the redaction");
            match answer.body {
                ResponseBody::Redacted { text, found } => {
                    assert!(text.ends_with("***"));
                    assert_eq!(found, ["OPENAI_API_KEY"]);
                }
                other => panic!("expected Redacted, got {other:?}"),
            }
        }
    });
    assert_prompt(slowest, "redactions of 1 MiB");
}

#[test]
fn a_pipelined_flood_of_large_gets_never_read_is_bounded_and_closed_when_idle() {
    const GETS: u32 = 25_000;
    let (fixture, _) = fixture_with_big(MAX_VALUE_LEN);
    let sidecar = Sidecar::start(&fixture, &["--idle-timeout", "500ms"]);
    let before = vm_hwm_kib(sidecar.pid());
    let mut flooder = sidecar.client();
    let mut writer = flooder.stream.try_clone().unwrap();
    // A 1 MiB request first (it used to grow the input buffer so that the whole flood arrived
    // in one read), then the flood; written by another thread, as the sidecar stops reading.
    let mut flood = amplifying_render(2, "SMALL");
    for id in 0..GETS {
        flood.extend(request_frame(
            id + 3,
            RequestBody::Get {
                name: Cow::Borrowed("BIG"),
            },
        ));
    }
    let writer = std::thread::spawn(move || {
        // The sidecar closes the connection before reading it all; that is the point.
        let _ = writer.write_all(&flood);
    });
    let socket = sidecar.socket.clone();
    let stream = flooder.stream.try_clone().unwrap();
    let slowest = slowest_ping_during(&sidecar, move || {
        assert!(
            wait_for_hangup(&stream, PATIENCE),
            "the connection of a client that never reads was not closed"
        );
        drop(socket);
    });
    writer.join().unwrap();
    assert_prompt(slowest, "a flood of pipelined Gets never read");
    assert_alive(&sidecar);
    assert_growth_bounded(
        &sidecar,
        before,
        "25,000 pipelined Gets of 1 MiB never read",
    );
    // What was buffered for the flooder is whole frames, then the end.
    let mut rest = Vec::new();
    let _ = flooder.stream.read_to_end(&mut rest);
    assert!(
        rest.len() < 8 * MAX_VALUE_LEN,
        "{} bytes reached the client",
        rest.len()
    );
}

#[test]
fn a_client_that_stops_reading_is_closed_after_the_idle_timeout() {
    let (fixture, _) = fixture_with_big(MAX_VALUE_LEN);
    let sidecar = Sidecar::start(&fixture, &["--idle-timeout", "500ms"]);
    let mut client = sidecar.client();
    let started = Instant::now();
    let gets: Vec<u8> = (0..4)
        .flat_map(|id| {
            request_frame(
                id + 2,
                RequestBody::Get {
                    name: Cow::Borrowed("BIG"),
                },
            )
        })
        .collect();
    client.send_raw(&gets);
    assert!(
        wait_for_hangup(&client.stream, Duration::from_secs(10)),
        "a client that does not read kept its connection past the idle timeout"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(450),
        "closed after {:?}, before the idle timeout",
        started.elapsed()
    );
    assert_alive(&sidecar);
}

#[test]
fn a_connect_close_storm_never_turns_away_an_honest_client() {
    const HONEST: usize = 50;
    const ROUNDS: usize = 20;
    const STORM: usize = 50_000;
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &["--max-connections", "64"]);
    let socket = sidecar.socket.clone();
    let storming = Arc::new(AtomicBool::new(true));
    let storm = std::thread::spawn({
        let socket = socket.clone();
        let storming = Arc::clone(&storming);
        move || {
            for _ in 0..STORM {
                if !storming.load(Ordering::SeqCst) {
                    break;
                }
                drop(UnixStream::connect(&socket).unwrap());
            }
        }
    });
    let busy = Arc::new(AtomicU32::new(0));
    let honest: Vec<_> = (0..HONEST)
        .map(|_| {
            let socket = socket.clone();
            let busy = Arc::clone(&busy);
            std::thread::spawn(move || {
                for _ in 0..ROUNDS {
                    let mut client = Client::connect(&socket);
                    client.send(&Request {
                        id: 1,
                        body: RequestBody::Hello {
                            version: ax_protocol::limits::PROTOCOL_VERSION,
                            client: Cow::Borrowed("honest/1"),
                            token: None,
                        },
                    });
                    match client.read().map(|r| r.body) {
                        Some(ResponseBody::Hello { .. }) => {}
                        Some(ResponseBody::Error {
                            code: ErrorCode::Busy,
                            ..
                        }) => {
                            busy.fetch_add(1, Ordering::SeqCst);
                        }
                        other => panic!("expected Hello, got {other:?}"),
                    }
                }
            })
        })
        .collect();
    for thread in honest {
        thread.join().unwrap();
    }
    storming.store(false, Ordering::SeqCst);
    storm.join().unwrap();
    assert_eq!(
        busy.load(Ordering::SeqCst),
        0,
        "honest clients got Busy while at most {} connections were open (cap 64)",
        HONEST + 1
    );
}

#[test]
fn a_request_after_sigterm_on_an_open_connection_gets_shutting_down() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &["--shutdown-timeout", "5s"]);
    let mut client = sidecar.client();
    sidecar.signal(Signal::SIGTERM);
    let started = Instant::now();
    while !sidecar.stderr().contains("shutting down") {
        assert!(started.elapsed() < PATIENCE, "no shutdown line");
        std::thread::sleep(Duration::from_millis(5));
    }
    // An idle connection is told at once (id 0) and closed; a request sent now finds that
    // answer waiting, whether or not its own write still goes through.
    let ping = Request {
        id: 9,
        body: RequestBody::Ping,
    };
    let _ = client.try_send_raw(&to_frame(&ping, MAX_REQUEST_FRAME).unwrap());
    client.expect_error(0, ErrorCode::ShuttingDown);
    client.expect_closed();
    let (status, stderr) = sidecar.wait();
    assert_eq!(status.code(), Some(0), "{stderr}");
}

/// Reads frames until the end of the stream; panics on a frame cut short. Reads in small steps
/// with a pause between them, as a slow client would.
fn read_slowly_to_the_end(stream: &mut UnixStream) -> Vec<Response<'static>> {
    let mut bytes = Vec::new();
    let mut chunk = vec![0_u8; 64 * 1024];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("reading: {e}"),
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let mut responses = Vec::new();
    let mut rest = &bytes[..];
    while !rest.is_empty() {
        assert!(rest.len() >= 4, "a frame header cut short");
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        assert!(len <= MAX_RESPONSE_FRAME as usize);
        assert!(
            rest.len() >= 4 + len,
            "a frame of {len} bytes cut short at {} (PROTOCOL §7.4: no half frame)",
            rest.len() - 4
        );
        responses.push(decode_response(&rest[4..4 + len]).unwrap().into_owned());
        rest = &rest[4 + len..];
    }
    responses
}

#[test]
fn answers_in_flight_at_shutdown_are_whole_frames_then_shutting_down() {
    const GETS: u32 = 40;
    let (fixture, value) = fixture_with_big(MAX_VALUE_LEN);
    let sidecar = Sidecar::start(&fixture, &["--shutdown-timeout", "300ms"]);
    let mut client = sidecar.client();
    let gets: Vec<u8> = (0..GETS)
        .flat_map(|id| {
            request_frame(
                id + 2,
                RequestBody::Get {
                    name: Cow::Borrowed("BIG"),
                },
            )
        })
        .collect();
    client.send_raw(&gets);
    sidecar.signal(Signal::SIGTERM);
    let started = Instant::now();
    while !sidecar.stderr().contains("shutting down") {
        assert!(started.elapsed() < PATIENCE, "no shutdown line");
        std::thread::sleep(Duration::from_millis(5));
    }
    let responses = read_slowly_to_the_end(&mut client.stream);
    let (last, answers) = responses.split_last().expect("some answers");
    for (i, answer) in answers.iter().enumerate() {
        assert_eq!(answer.id, i as u32 + 2);
        match &answer.body {
            ResponseBody::Secret { value: Some(v) } => assert!(v.expose() == value),
            other => panic!("expected the value, got {other:?}"),
        }
    }
    assert_eq!(last.id, answers.len() as u32 + 2);
    assert!(
        matches!(
            last.body,
            ResponseBody::Error {
                code: ErrorCode::ShuttingDown,
                ..
            }
        ),
        "the request after the one in flight: {last:?}"
    );
    let (status, stderr) = sidecar.wait();
    assert_eq!(status.code(), Some(0), "{stderr}");
}

#[test]
fn refuses_a_hello_whose_client_is_longer_than_256_bytes() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let hello = |client: &str| Request {
        id: 1,
        body: RequestBody::Hello {
            version: ax_protocol::limits::PROTOCOL_VERSION,
            client: Cow::Owned(client.to_owned()),
            token: None,
        },
    };
    let mut fits = Client::connect(&sidecar.socket);
    fits.send(&hello(&"c".repeat(256)));
    assert!(matches!(
        fits.read().unwrap().body,
        ResponseBody::Hello { .. }
    ));

    let mut long = Client::connect(&sidecar.socket);
    long.send(&hello(&"c".repeat(257)));
    long.expect_error(1, ErrorCode::BadRequest);
    long.expect_closed();
}
