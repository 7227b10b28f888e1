//! A soak of the real binary: many clients of every request kind for a fixed count (and at most
//! a few minutes), while the sidecar's memory and descriptors are sampled. They must stay flat
//! once warmed up, and the audit file must hold exactly one line per audited request, in
//! `seq` order without gaps.
//!
//! Not run in CI (it takes minutes). Run it with:
//!
//! ```text
//! cargo test -p ax-sidecar --release --test soak -- --ignored --nocapture
//! ```
//!
//! `AX_SOAK_REQUESTS` changes the number of requests per client (default 100,000: about a
//! minute in release, three in debug).

// Helpers outside `#[test]` functions are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::fs;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ax_protocol::{RequestBody, ResponseBody, SecretText};
use support::*;

/// Clients at once.
const CLIENTS: usize = 8;
/// A client reconnects after this many requests, so connections come and go all the time.
const PER_CONNECTION: u64 = 500;
/// The soak stops early, and fails, if it has not finished by then.
const LIMIT: Duration = Duration::from_secs(240);
/// How often memory and descriptors are sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(250);
/// Growth of the peak resident set allowed after warm-up. The sidecar allocates per request
/// and per connection, and frees all of it; a leak of even 100 bytes a request would show as
/// tens of MiB over the run.
const RSS_GROWTH_KIB: u64 = 8 * 1024;
/// Descriptors allowed beyond the most seen during warm-up (connections being opened and
/// closed while sampled).
const FD_GROWTH: usize = 2 * CLIENTS + 8;

/// One sample of the sidecar's process.
#[derive(Debug, Clone, Copy)]
struct Sample {
    rss_kib: u64,
    hwm_kib: u64,
    fds: usize,
}

fn status_kib(pid: u32, field: &str) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

fn sample(pid: u32) -> Sample {
    Sample {
        rss_kib: status_kib(pid, "VmRSS:"),
        hwm_kib: status_kib(pid, "VmHWM:"),
        fds: fs::read_dir(format!("/proc/{pid}/fd")).unwrap().count(),
    }
}

/// Runs one client's share; returns how many audited requests (Get, List, Render, Redact) it sent.
fn client(socket: &std::path::Path, index: usize, requests: u64, stop: &AtomicBool) -> u64 {
    let mut audited = 0;
    let mut conn = None;
    for i in 0..requests {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if i % PER_CONNECTION == 0 {
            conn = Some(Client::connect(socket));
            conn.as_mut().unwrap().hello(None);
        }
        let c = conn.as_mut().unwrap();
        let (name, value) = SECRETS[(i as usize + index) % SECRETS.len()];
        match i % 5 {
            0 => {
                let got = c.get(name);
                let expected = OVERRIDES
                    .iter()
                    .chain(SECRETS)
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v).to_owned());
                assert_eq!(got, expected, "Get {name}");
                audited += 1;
            }
            1 => {
                match c.request(RequestBody::List).body {
                    ResponseBody::List { secrets } => assert_eq!(secrets.len(), SECRETS.len()),
                    other => panic!("List: {other:?}"),
                }
                audited += 1;
            }
            2 => {
                let template = format!("x={{{{secrets.{name}}}}} {{{{secrets.NOPE_{i}}}}}");
                match c
                    .request(RequestBody::Render {
                        template: SecretText::owned(template),
                    })
                    .body
                {
                    ResponseBody::Rendered { missing, .. } => assert_eq!(missing.len(), 1),
                    other => panic!("Render: {other:?}"),
                }
                audited += 1;
            }
            3 => {
                let text = format!("line {i}: {value} and more");
                match c
                    .request(RequestBody::Redact {
                        text: SecretText::owned(text),
                    })
                    .body
                {
                    ResponseBody::Redacted { .. } => {}
                    other => panic!("Redact: {other:?}"),
                }
                audited += 1;
            }
            _ => {
                let body = c.request(RequestBody::Ping).body;
                assert!(matches!(body, ResponseBody::Pong), "Ping: {body:?}");
            }
        }
    }
    audited
}

#[test]
#[ignore = "a soak of minutes: cargo test -p ax-sidecar --release --test soak -- --ignored"]
fn keeps_memory_and_descriptors_flat_and_audits_every_request_once() {
    let requests: u64 = std::env::var("AX_SOAK_REQUESTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let pid = sidecar.pid();
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();

    let workers: Vec<_> = (0..CLIENTS)
        .map(|index| {
            let socket = fixture.socket.clone();
            let stop = Arc::clone(&stop);
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                let audited = client(&socket, index, requests, &stop);
                done.fetch_add(1, Ordering::Relaxed);
                audited
            })
        })
        .collect();
    let mut samples = Vec::new();
    while done.load(Ordering::Relaxed) < CLIENTS as u64 {
        if started.elapsed() > LIMIT {
            stop.store(true, Ordering::Relaxed);
        }
        samples.push(sample(pid));
        std::thread::sleep(SAMPLE_EVERY);
    }
    let audited: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert!(
        !stop.load(Ordering::Relaxed),
        "the soak did not finish within {LIMIT:?}"
    );
    let elapsed = started.elapsed();
    samples.push(sample(pid));

    // Warm-up: the first fifth of the run (allocator arenas, the redaction matcher).
    let warm = samples.len() / 5;
    assert!(samples.len() >= 10, "too short a run to judge: {samples:?}");
    let after_warm_up = samples[warm];
    let warm_fds = samples[..=warm].iter().map(|s| s.fds).max().unwrap();
    let last = *samples.last().unwrap();
    let max_rss = samples[warm..].iter().map(|s| s.rss_kib).max().unwrap();
    let max_fds = samples[warm..].iter().map(|s| s.fds).max().unwrap();
    eprintln!(
        "soak: {} clients x {requests} requests in {elapsed:.1?}; {} samples; RSS {} -> {} KiB \
         (max {max_rss}), VmHWM {} -> {} KiB, fds {warm_fds} -> {} (max {max_fds})",
        CLIENTS,
        samples.len(),
        after_warm_up.rss_kib,
        last.rss_kib,
        after_warm_up.hwm_kib,
        last.hwm_kib,
        last.fds,
    );
    assert!(
        last.hwm_kib <= after_warm_up.hwm_kib + RSS_GROWTH_KIB,
        "peak memory grew after warm-up: {after_warm_up:?} -> {last:?}"
    );
    assert!(
        max_rss <= after_warm_up.rss_kib + RSS_GROWTH_KIB,
        "resident memory grew after warm-up: {} -> max {max_rss} KiB",
        after_warm_up.rss_kib
    );
    assert!(
        max_fds <= warm_fds + FD_GROWTH,
        "descriptors grew: {warm_fds} during warm-up, {max_fds} after"
    );

    let (status, _, stderr) = sidecar.stop();
    assert_eq!(status.code(), Some(0), "{stderr}");
    let events = fixture.audit();
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event["seq"], i as u64 + 1, "audit seq: {event}");
        let action = event["action"].as_str().unwrap();
        assert!(
            ["get", "list", "render", "redact"].contains(&action),
            "unexpected audit line (a drop?): {event}"
        );
    }
    assert_eq!(
        events.len() as u64,
        audited,
        "audit lines against audited requests"
    );
}
