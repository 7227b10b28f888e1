//! The stream filter's holdback logic, through the library (PROTOCOL §13.4): a value split at
//! any byte boundary is still masked, only what could still begin a match is held back, bytes
//! that are not UTF-8 pass through unchanged, and the result equals `Redact` on the whole text.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use ax_protocol::SecretText;
use ax_protocol::bundle::local::{LocalKey, open_local_in_place, seal_local};
use ax_protocol::bundle::{Bundle, BundleSecret};
use ax_sidecar::arena::LockedArena;
use ax_sidecar::redact::Redactor;
use ax_sidecar::store::Store;
use ax_sidecar::stream::{StreamFilter, StreamMatcher};
use ring::rand::SystemRandom;

/// A store of `pairs`, opened as the sidecar opens one.
fn store(pairs: &[(&str, &str)]) -> Store {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let bundle = Bundle {
        tenant: Cow::Borrowed("acme"),
        execution_id: Cow::Borrowed("exec-stream"),
        environment: Cow::Borrowed("test"),
        config: None,
        issued_at: now - 1,
        expires_at: now + 3600,
        secrets: pairs
            .iter()
            .map(|(name, value)| BundleSecret {
                name: Cow::Owned((*name).to_owned()),
                value: SecretText::owned((*value).to_owned()),
                version: 1,
                created_at: now,
                updated_at: now,
            })
            .collect(),
        overrides: Vec::new(),
    };
    let rng = SystemRandom::new();
    let key = LocalKey::generate(&rng).unwrap();
    let key = LocalKey::from_bytes(key.as_ref()).unwrap();
    let sealed = seal_local(&bundle, &key, &rng).unwrap();
    let (mut arena, _) = LockedArena::new(sealed.len()).unwrap();
    arena.as_mut_slice().copy_from_slice(&sealed);
    Store::open_in_arena(arena, |b| open_local_in_place(b, &key, now)).unwrap()
}

const VALUE: &str = "sk-test-1234567890abcdef";

/// Feeds `chunks` one after another, then ends the stream; returns the output and the names
/// found.
fn run(store: &Store, matcher: &StreamMatcher, chunks: &[&[u8]]) -> (Vec<u8>, Vec<String>) {
    let mut filter = StreamFilter::new(matcher);
    let mut out = Vec::new();
    for chunk in chunks {
        filter.feed(chunk, &mut out);
    }
    filter.finish(&mut out);
    let names = filter
        .found()
        .into_iter()
        .map(|p| store.at(p).unwrap().name.to_owned())
        .collect();
    (out, names)
}

#[test]
fn passes_text_that_cannot_begin_a_value_through_at_once() {
    let s = store(&[("KEY", VALUE)]);
    let m = StreamMatcher::build(&s).unwrap();
    let mut filter = StreamFilter::new(&m);
    let mut out = Vec::new();
    filter.feed(b"hello world\n", &mut out);
    assert_eq!(out, b"hello world\n");
    assert_eq!(filter.held(), 0);
}

#[test]
fn holds_back_only_the_suffix_that_could_still_begin_a_value() {
    let s = store(&[("KEY", VALUE)]);
    let m = StreamMatcher::build(&s).unwrap();
    let mut filter = StreamFilter::new(&m);
    let mut out = Vec::new();
    filter.feed(b"key=sk-te", &mut out);
    assert_eq!(
        out, b"key=",
        "everything before the possible start is written"
    );
    assert_eq!(filter.held(), 5);
    filter.feed(b"x", &mut out);
    assert_eq!(
        out, b"key=sk-tex",
        "once it cannot be the value, it is written"
    );
    assert_eq!(filter.held(), 0);
    filter.feed(b" s", &mut out);
    assert_eq!(out, b"key=sk-tex ");
    assert_eq!(filter.held(), 1);
    filter.feed(b"k-test-1234567890abcdef!", &mut out);
    assert_eq!(out, b"key=sk-tex ***!");
    assert_eq!(filter.held(), 0);
    filter.finish(&mut out);
    assert_eq!(out, b"key=sk-tex ***!");
}

#[test]
fn writes_a_held_prefix_at_end_of_stream() {
    let s = store(&[("KEY", VALUE)]);
    let m = StreamMatcher::build(&s).unwrap();
    let (out, names) = run(&s, &m, &[b"partial sk-test-12"]);
    assert_eq!(out, b"partial sk-test-12");
    assert!(names.is_empty());
}

/// A text with the value in several forms, bytes that are not UTF-8, and its expected output.
fn mixed_text() -> (Vec<u8>, Vec<u8>) {
    let b64 = "c2stdGVzdC0xMjM0NTY3ODkwYWJjZGVm"; // base64 of VALUE
    let parts: &[(&[u8], bool)] = &[
        (b"start \xff\xfe\x80 ", false),
        (VALUE.as_bytes(), true),
        (b" \xc3( mid ", false),
        (b64.as_bytes(), true),
        (b"\n\xf0\x9f", false),
        (VALUE.as_bytes(), true),
        (VALUE.as_bytes(), true),
        (b" end \xe2\x82", false),
    ];
    let mut text = Vec::new();
    let mut expected = Vec::new();
    for (bytes, secret) in parts {
        text.extend_from_slice(bytes);
        expected.extend_from_slice(if *secret { b"***" } else { bytes });
    }
    (text, expected)
}

#[test]
fn masks_a_value_split_at_every_byte_boundary() {
    let s = store(&[("KEY", VALUE), ("OTHER", "unrelated-value")]);
    let m = StreamMatcher::build(&s).unwrap();
    let (text, expected) = mixed_text();
    for i in 0..=text.len() {
        let mut filter = StreamFilter::new(&m);
        let mut out = Vec::new();
        filter.feed(&text[..i], &mut out);
        assert!(
            expected.starts_with(&out),
            "split at {i}: wrote ahead of the mask"
        );
        filter.feed(&text[i..], &mut out);
        filter.finish(&mut out);
        assert_eq!(out, expected, "split at {i}");
        assert_eq!(filter.found(), [0], "split at {i}: KEY found");
    }
}

#[test]
fn masks_a_value_fed_one_byte_at_a_time_and_split_in_three() {
    let s = store(&[("KEY", VALUE)]);
    let m = StreamMatcher::build(&s).unwrap();
    let (text, expected) = mixed_text();
    let bytes: Vec<&[u8]> = text.chunks(1).collect();
    assert_eq!(run(&s, &m, &bytes).0, expected);
    let short = &text[..60];
    let short_expected = {
        let (out, _) = run(&s, &m, &[short]);
        out
    };
    for i in 0..=short.len() {
        for j in i..=short.len() {
            let (out, _) = run(&s, &m, &[&short[..i], &short[i..j], &short[j..]]);
            assert_eq!(out, short_expected, "splits at {i} and {j}");
        }
    }
}

#[test]
fn passes_bytes_that_are_not_utf8_through_unchanged() {
    let s = store(&[("KEY", VALUE)]);
    let m = StreamMatcher::build(&s).unwrap();
    let all: Vec<u8> = (0..=255u8).rev().chain(0..=255u8).collect();
    for size in [1, 7, 64, all.len()] {
        let chunks: Vec<&[u8]> = all.chunks(size).collect();
        assert_eq!(run(&s, &m, &chunks).0, all, "chunks of {size}");
    }
}

#[test]
fn prefers_the_longest_value_across_chunks() {
    let s = store(&[("SHORT", "abc"), ("LONG", "abcdef")]);
    let m = StreamMatcher::build(&s).unwrap();
    let mut filter = StreamFilter::new(&m);
    let mut out = Vec::new();
    filter.feed(b"xabc", &mut out);
    assert_eq!(out, b"x", "abc may still become abcdef");
    filter.feed(b"de", &mut out);
    assert_eq!(out, b"x");
    filter.feed(b"f!", &mut out);
    assert_eq!(out, b"x***!");
    let (out, names) = run(&s, &m, &[b"xabc", b"dex"]);
    assert_eq!(out, b"x***dex");
    assert_eq!(names, ["SHORT"]);
    let (out, names) = run(&s, &m, &[b"abcd"]);
    assert_eq!(out, b"***d", "at end of stream the shorter value is masked");
    assert_eq!(names, ["SHORT"]);
}

#[test]
fn gives_what_redact_gives_for_the_whole_text() {
    let s = store(&[
        ("A", "p@ss/wörd"),
        ("B", "token-123"),
        ("C", "tok"),
        ("D", "grüß 🌍"),
    ]);
    let m = StreamMatcher::build(&s).unwrap();
    let redactor = Redactor::build(&s).unwrap();
    let texts = [
        "raw p@ss/wörd b64 cEBzcy93w7ZyZA== url p%40ss%2Fw%C3%B6rd json p@ss/w\\u00f6rd",
        "token-123tok token-12 tok-en token-123token-123 gr\\u00fc\\u00df \\ud83c\\udf0d",
        "nothing at all, but t, to, tok and p@ and grü",
    ];
    for text in texts {
        let mut expected = String::new();
        let found = redactor
            .redact_into(text, &mut expected, usize::MAX)
            .unwrap();
        for size in [1, 2, 3, 5, 8, 13, text.len()] {
            let chunks: Vec<&[u8]> = text.as_bytes().chunks(size).collect();
            let mut filter = StreamFilter::new(&m);
            let mut out = Vec::new();
            for chunk in &chunks {
                filter.feed(chunk, &mut out);
            }
            filter.finish(&mut out);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                expected,
                "{text:?} in chunks of {size}"
            );
            assert_eq!(filter.found(), found, "{text:?} in chunks of {size}");
        }
    }
}

#[test]
fn a_store_without_values_passes_everything() {
    let s = store(&[("EMPTY", "")]);
    let m = StreamMatcher::build(&s).unwrap();
    let (out, names) = run(&s, &m, &[b"any", b" text"]);
    assert_eq!(out, b"any text");
    assert!(names.is_empty());
}
