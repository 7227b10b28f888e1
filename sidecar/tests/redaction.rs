//! `Redact` with a value of the maximum size among a thousand, through the real binary: the
//! answer is right and the matcher costs memory of the order of the values, not gigabytes
//! (issue 11, item 4). Peak memory is read from `VmHWM`, which a short spike cannot hide from.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod support;

use std::borrow::Cow;
use std::fs;

use ax_protocol::limits::MAX_VALUE_LEN;
use ax_protocol::{RequestBody, ResponseBody, SecretText};
use support::*;

/// How far above its idle peak the sidecar may go while it builds the matcher and answers a
/// 1 MiB `Redact`, with 1,000 secrets one of which is 1 MiB. The forms of the big value are
/// about 11 MiB, the text's prefix hashes 8 MiB, the request and answer a few more; before
/// the linear matcher this was over a gigabyte.
const PEAK_ABOVE_IDLE_KIB: u64 = 64 * 1024;

fn vm_hwm_kib(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line["VmHWM:".len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap()
}

/// `len` bytes of printable ASCII that do not repeat in any short period.
fn noise(seed: u64, len: usize) -> String {
    const ALPHABET: &[u8] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_.:@ ";
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            char::from(ALPHABET[(state >> 33) as usize % ALPHABET.len()])
        })
        .collect()
}

fn small_value(i: usize) -> String {
    format!("value-{i:06}-{}", noise(i as u64, 19))
}

fn redact(client: &mut Client, text: &str) -> (String, Vec<String>) {
    let body = RequestBody::Redact {
        text: SecretText::borrowed(text),
    };
    match client.request(body).body {
        ResponseBody::Redacted { text, found } => (
            text.into_owned(),
            found.into_iter().map(Cow::into_owned).collect(),
        ),
        other => panic!("expected Redacted, got {other:?}"),
    }
}

/// A sidecar serving 999 values of 32 bytes and `big` as `BIG`, its idle peak measured after
/// one round trip.
fn start_with(big: &str) -> (Fixture, Sidecar, Client, u64) {
    let names: Vec<String> = (0..999).map(|i| format!("SECRET_{i:04}")).collect();
    let values: Vec<String> = (0..999).map(small_value).collect();
    let mut pairs: Vec<(&str, &str)> = names
        .iter()
        .map(String::as_str)
        .zip(values.iter().map(String::as_str))
        .collect();
    pairs.push(("BIG", big));
    let fixture = Fixture::with_bundle(&bundle(&pairs, &[]));
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = sidecar.client();
    assert!(matches!(
        client.request(RequestBody::Ping).body,
        ResponseBody::Pong
    ));
    let idle = vm_hwm_kib(sidecar.pid());
    (fixture, sidecar, client, idle)
}

#[test]
fn redacts_with_a_megabyte_value_among_a_thousand_in_bounded_memory() {
    let big = noise(99, MAX_VALUE_LEN);
    let (_fixture, sidecar, mut client, idle) = start_with(&big);
    // About 1 MiB of log lines: a few values in several forms, and most of the big value,
    // which is no match (only the whole value is).
    let b64 = ax_protocol::encodings::forms(&small_value(7))[1].clone();
    let mut text = String::new();
    let mut expected = String::new();
    let line = |text: &mut String, expected: &mut String, plain: &str, masked: &str| {
        text.push_str(plain);
        expected.push_str(masked);
    };
    line(&mut text, &mut expected, "start ", "start ");
    line(&mut text, &mut expected, &small_value(3), "***");
    line(&mut text, &mut expected, " then ", " then ");
    line(&mut text, &mut expected, &b64, "***");
    line(&mut text, &mut expected, "\n", "\n");
    let most = &big[..900_000];
    line(&mut text, &mut expected, most, most);
    let filler = noise(5, 140_000);
    line(&mut text, &mut expected, &filler, &filler);
    line(&mut text, &mut expected, &small_value(998), "***");
    let (out, found) = redact(&mut client, &text);
    assert!(out == expected, "the redacted text differs");
    assert_eq!(found, ["SECRET_0003", "SECRET_0007", "SECRET_0998"]);
    let peak = vm_hwm_kib(sidecar.pid());
    eprintln!(
        "VmHWM {peak} KiB, {} KiB above idle",
        peak.saturating_sub(idle)
    );
    assert!(
        peak.saturating_sub(idle) < PEAK_ABOVE_IDLE_KIB,
        "peak {peak} KiB, idle {idle} KiB"
    );
    // The big value itself is found where it fits: in its padded base64, cut to a request.
    let (out, found) = redact(&mut client, &format!("x{}y", small_value(0)));
    assert_eq!((out.as_str(), found.len()), ("x***y", 1));
}

#[test]
fn redacts_a_megabyte_of_one_letter_against_a_value_of_one_letter() {
    let big = "a".repeat(MAX_VALUE_LEN);
    let (_fixture, sidecar, mut client, idle) = start_with(&big);
    let text = "a".repeat(MAX_VALUE_LEN - 64);
    let (out, found) = redact(&mut client, &text);
    assert!(out == text, "a text shorter than the value is no match");
    assert!(found.is_empty());
    let peak = vm_hwm_kib(sidecar.pid());
    eprintln!(
        "VmHWM {peak} KiB, {} KiB above idle",
        peak.saturating_sub(idle)
    );
    assert!(
        peak.saturating_sub(idle) < PEAK_ABOVE_IDLE_KIB,
        "peak {peak} KiB, idle {idle} KiB"
    );
}
