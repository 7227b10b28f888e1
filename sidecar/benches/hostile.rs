//! `cargo bench -p ax-sidecar --bench hostile`: what the largest requests a client may send
//! cost, through the real sidecar, each beside a floor measured in the same run.
//!
//! - `Render` of 65,535 distinct references (a 1 MiB template; every name is missing, so the
//!   answer is the template again plus the 65,535 names), and of a 1 MiB template of 55,188
//!   references to one secret whose value is as long as the reference (the answer is 1 MiB of
//!   text). The floor for each is a `Get` of a value as long as the rendered text, on the same
//!   sidecar: the same bytes read, copied and written, with no template to scan.
//! - A `Ping` on another connection while those renders run back to back, beside a `Ping`
//!   alone: the renders run on the blocking pool, so the serving thread stays free.
//!
//! Each figure is the median of several runs; the floor and the measured requests alternate so
//! that load from elsewhere hits both alike. The machine may be shared: compare ratios.
// A benchmark reports on stdout and may panic on anything unexpected: it has no caller to tell.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::borrow::Cow;
use std::fs;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ax_protocol::blocking::{read_frame, write_frame};
use ax_protocol::bundle::local::seal_local;
use ax_protocol::bundle::{Bundle, BundleSecret};
use ax_protocol::frame::decode_response;
use ax_protocol::limits::{MAX_REQUEST_FRAME, MAX_RESPONSE_FRAME, MAX_VALUE_LEN};
use ax_protocol::{Request, RequestBody, ResponseBody, SecretText};
use ring::rand::SystemRandom;

mod common;
use common::*;

const RUNS: usize = 9;
const PINGS: usize = 2_000;
/// Pinging during renders goes on until at least this many renders have run.
const RENDERS_DURING: usize = 10;
/// The secret the 1 MiB template references: its value is exactly as long as the reference.
const SAME: &str = "SAME_LENGTH";

/// A client with a reusable buffer.
struct Client {
    stream: UnixStream,
    scratch: Vec<u8>,
    buf: Vec<u8>,
    next: u32,
}

impl Client {
    fn connect(sidecar: &Sidecar) -> Self {
        let stream = UnixStream::connect(&sidecar.socket).unwrap();
        let mut client = Self {
            stream,
            scratch: Vec::new(),
            buf: Vec::new(),
            next: 1,
        };
        client.call(RequestBody::Hello {
            version: ax_protocol::limits::PROTOCOL_VERSION,
            client: Cow::Borrowed("bench/hostile"),
            token: None,
        });
        client
    }

    /// Sends one request and reads its answer; returns the answer's kind and body length.
    fn call(&mut self, body: RequestBody<'_>) -> (&'static str, usize) {
        let id = self.next;
        self.next += 1;
        write_frame(
            &mut self.stream,
            &Request { id, body },
            MAX_REQUEST_FRAME,
            &mut self.scratch,
        )
        .unwrap();
        let frame = read_frame(&mut self.stream, MAX_RESPONSE_FRAME, &mut self.buf)
            .unwrap()
            .expect("an answer");
        let response = decode_response(frame).unwrap();
        assert_eq!(response.id, id);
        let kind = match response.body {
            ResponseBody::Rendered { .. } => "Rendered",
            ResponseBody::Secret { value: Some(_) } => "Secret",
            ResponseBody::Pong => "Pong",
            ResponseBody::Hello { .. } => "Hello",
            other => panic!("unexpected answer {other:?}"),
        };
        (kind, frame.len())
    }

    fn timed(&mut self, body: &RequestBody<'_>, expect: &str) -> Duration {
        let started = Instant::now();
        let (kind, _) = self.call(body.clone());
        let elapsed = started.elapsed();
        assert_eq!(kind, expect);
        elapsed
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let at = ((samples.len() as f64 * p) as usize).min(samples.len() - 1);
    samples[at]
}

/// Four-character names, all distinct, none in the bundle.
fn distinct_names(count: usize) -> Vec<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_";
    let n = ALPHABET.len();
    (0..count)
        .map(|i| {
            let code = [
                b'M',
                ALPHABET[i / (n * n)],
                ALPHABET[i / n % n],
                ALPHABET[i % n],
            ];
            String::from_utf8(code.to_vec()).unwrap()
        })
        .collect()
}

/// Seals a bundle of 1,000 ordinary secrets, `SAME`, and `FLOOR_<n>` values of the lengths
/// given.
fn bundle(scratch: &mut Scratch, same: &str, floors: &[usize]) -> std::path::PathBuf {
    let now = now();
    let mut pairs: Vec<(String, String)> = (0..1_000).map(|i| (name(i), value(i))).collect();
    pairs.push((SAME.to_owned(), same.to_owned()));
    for (i, len) in floors.iter().enumerate() {
        pairs.push((format!("FLOOR_{i}"), "f".repeat(*len)));
    }
    let bundle = Bundle {
        tenant: Cow::Borrowed("bench"),
        execution_id: Cow::Borrowed(EXECUTION_ID),
        environment: Cow::Borrowed("bench"),
        config: None,
        issued_at: now,
        expires_at: now + 3600,
        secrets: pairs
            .iter()
            .map(|(name, value)| BundleSecret {
                name: Cow::Borrowed(name),
                value: SecretText::borrowed(value),
                version: 1,
                created_at: now,
                updated_at: now,
            })
            .collect(),
        overrides: vec![],
    };
    let sealed = seal_local(&bundle, &scratch.key, &SystemRandom::new()).unwrap();
    let path = scratch.path("bundle-hostile");
    fs::write(&path, sealed).unwrap();
    path
}

fn main() {
    let mut scratch = Scratch::new();

    let names = distinct_names(65_535);
    let distinct: String = names
        .iter()
        .map(|n| format!("{{{{secrets.{n}}}}}"))
        .collect();
    let reference = format!("{{{{secrets.{SAME}}}}}");
    let room = MAX_REQUEST_FRAME as usize - 16;
    let repeated = reference.repeat(room / reference.len());
    let same_value = "v".repeat(reference.len());
    assert!(distinct.len() <= MAX_VALUE_LEN && repeated.len() <= MAX_VALUE_LEN);

    let path = bundle(&mut scratch, &same_value, &[distinct.len(), repeated.len()]);
    let audit = scratch.path("audit");
    let (sidecar, _) = Sidecar::start(&mut scratch, &path, &audit, &[])
        .unwrap_or_else(|failure| panic!("the sidecar did not start: {failure}"));
    let mut client = Client::connect(&sidecar);

    let cases = [
        (
            format!(
                "Render, {} distinct references ({} KiB template)",
                thousands(names.len()),
                distinct.len() / 1024
            ),
            RequestBody::Render {
                template: SecretText::borrowed(&distinct),
            },
            "FLOOR_0",
        ),
        (
            format!(
                "Render, {} references to one value ({} KiB template)",
                thousands(repeated.len() / reference.len()),
                repeated.len() / 1024
            ),
            RequestBody::Render {
                template: SecretText::borrowed(&repeated),
            },
            "FLOOR_1",
        ),
    ];

    let mut table = Table::new("sidecar", "floor: Get of as many bytes");
    for (what, render, floor) in &cases {
        let get = RequestBody::Get {
            name: Cow::Borrowed(floor),
        };
        // Warm up: the first of each builds nothing, but pages memory in.
        client.timed(render, "Rendered");
        client.timed(&get, "Secret");
        let mut renders = Vec::new();
        let mut gets = Vec::new();
        for _ in 0..RUNS {
            renders.push(client.timed(render, "Rendered"));
            gets.push(client.timed(&get, "Secret"));
        }
        let (r, g) = (median(renders), median(gets));
        table.row(what, millis(r), millis(g), Some(ratio(r, g)));
    }

    // Pings on one connection, alone and while another renders back to back.
    let mut pinger = Client::connect(&sidecar);
    let ping = RequestBody::Ping;
    let mut alone: Vec<Duration> = (0..PINGS).map(|_| pinger.timed(&ping, "Pong")).collect();
    let busy = Arc::new(AtomicBool::new(true));
    let rendered = Arc::new(AtomicUsize::new(0));
    let renderer = std::thread::spawn({
        let busy = Arc::clone(&busy);
        let rendered = Arc::clone(&rendered);
        let mut client = Client::connect(&sidecar);
        let distinct = distinct.clone();
        move || {
            let render = RequestBody::Render {
                template: SecretText::borrowed(&distinct),
            };
            while busy.load(Ordering::SeqCst) {
                client.timed(&render, "Rendered");
                rendered.fetch_add(1, Ordering::SeqCst);
            }
            rendered.load(Ordering::SeqCst)
        }
    });
    let mut during = Vec::new();
    while during.len() < PINGS || rendered.load(Ordering::SeqCst) < RENDERS_DURING {
        during.push(pinger.timed(&ping, "Pong"));
    }
    busy.store(false, Ordering::SeqCst);
    let renders = renderer.join().unwrap();
    for (label, p) in [("p50", 0.5), ("p99", 0.99), ("max", 1.0)] {
        let d = percentile(&mut during, p);
        let a = percentile(&mut alone, p);
        table.row(
            &format!(
                "Ping {label} of {} during {renders} 65,535-reference Renders",
                thousands(during.len())
            ),
            micros(d),
            micros(a),
            Some(ratio(d, a)),
        );
    }
    // The floor column of the Ping rows is a Ping with nothing else running.
    table.columns = ["sidecar", "floor: Get of as many bytes / Ping alone"];
    table.print();
    sidecar.stop();
}
