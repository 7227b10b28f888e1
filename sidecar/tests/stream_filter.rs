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
    let s = store(&[("SHORT", "abcd"), ("LONG", "abcdefg")]);
    let m = StreamMatcher::build(&s).unwrap();
    let mut filter = StreamFilter::new(&m);
    let mut out = Vec::new();
    filter.feed(b"xabcd", &mut out);
    assert_eq!(out, b"x", "abcd may still become abcdefg");
    filter.feed(b"ef", &mut out);
    assert_eq!(out, b"x");
    filter.feed(b"g!", &mut out);
    assert_eq!(out, b"x***!");
    let (out, names) = run(&s, &m, &[b"xabcd", b"efx"]);
    assert_eq!(out, b"x***efx");
    assert_eq!(names, ["SHORT"]);
    let (out, names) = run(&s, &m, &[b"abcde"]);
    assert_eq!(out, b"***e", "at end of stream the shorter value is masked");
    assert_eq!(names, ["SHORT"]);
}

#[test]
fn leaves_values_shorter_than_four_bytes_in_the_stream() {
    let s = store(&[("FLAG", "1"), ("PORT", "5432")]);
    let m = StreamMatcher::build(&s).unwrap();
    let (out, names) = run(&s, &m, &[b"flag=1 port=54", b"32 v1\n"]);
    assert_eq!(out, b"flag=1 port=*** v1\n");
    assert_eq!(names, ["PORT"]);
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

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("S{i:04}")).collect()
}

fn store_of(values: &[String]) -> Store {
    let names = names(values.len());
    let pairs: Vec<(&str, &str)> = names
        .iter()
        .map(String::as_str)
        .zip(values.iter().map(String::as_str))
        .collect();
    store(&pairs)
}

/// Feeds `text` in pieces of the given sizes (cycled), checking after every feed that nothing
/// was written ahead of the mask and that what is held could still begin a form; returns the
/// output and the positions found.
fn feed_checked(
    m: &StreamMatcher,
    forms: &[String],
    text: &[u8],
    expected: &[u8],
    sizes: &[usize],
) -> (Vec<u8>, Vec<usize>) {
    let mut filter = StreamFilter::new(m);
    let mut out = Vec::new();
    let mut at = 0;
    for &size in sizes.iter().cycle() {
        if at >= text.len() {
            break;
        }
        let end = text.len().min(at + size.max(1));
        filter.feed(&text[at..end], &mut out);
        at = end;
        assert!(
            expected.starts_with(&out),
            "wrote ahead of the mask after {at} bytes"
        );
        let held = &text[at - filter.held()..at];
        assert!(
            held.is_empty()
                || forms
                    .iter()
                    .any(|f| f.len() > held.len() && f.as_bytes().starts_with(held)),
            "holds {} bytes that begin no form",
            held.len()
        );
    }
    filter.finish(&mut out);
    (out, filter.found())
}

fn all_forms(values: &[String]) -> Vec<String> {
    values
        .iter()
        .filter(|v| !v.is_empty())
        .flat_map(|v| ax_protocol::encodings::forms(v))
        .collect()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(150))]

    #[test]
    fn gives_what_redact_gives_whatever_the_values_texts_and_chunks(
        values in proptest::collection::vec(
            proptest::string::string_regex("[ab/]{1,10}|[ab]{28,70}|a{30,60}b?").unwrap(), 1..5),
        pieces in proptest::collection::vec((0usize..24, 0usize..8, 0usize..100), 0..24),
        sizes in proptest::collection::vec(1usize..40, 1..8),
    ) {
        let mut text = String::new();
        for &(kind, which, cut) in &pieces {
            let forms = ax_protocol::encodings::forms(&values[which % values.len()]);
            let form = &forms[kind % 8];
            match kind % 3 {
                0 => text.push_str(form),
                1 => text.push_str(&form[..cut % (form.len() + 1)]),
                _ => text.push_str(["a", "b", "/", "aaaa", "%2F", "YWFh"][cut % 6]),
            }
        }
        let s = store_of(&values);
        let m = StreamMatcher::build(&s).unwrap();
        let redactor = Redactor::build(&s).unwrap();
        let mut expected = String::new();
        let found = redactor.redact_into(&text, &mut expected, usize::MAX).unwrap();
        let forms = all_forms(&values);
        let (out, stream_found) =
            feed_checked(&m, &forms, text.as_bytes(), expected.as_bytes(), &sizes);
        proptest::prop_assert_eq!(&out[..], expected.as_bytes(), "{:?} in {:?}", text, sizes);
        proptest::prop_assert_eq!(stream_found, found);
    }
}

#[test]
fn holds_a_megabyte_of_one_letter_fed_one_byte_at_a_time() {
    let value = "a".repeat(1 << 20);
    let s = store_of(std::slice::from_ref(&value));
    let m = StreamMatcher::build(&s).unwrap();
    let mut filter = StreamFilter::new(&m);
    let mut out = Vec::new();
    for _ in 1..value.len() {
        filter.feed(b"a", &mut out);
    }
    assert!(out.is_empty(), "wrote a prefix of the value");
    assert_eq!(filter.held(), value.len() - 1);
    filter.feed(b"a", &mut out);
    filter.feed(b"ab", &mut out);
    filter.finish(&mut out);
    assert_eq!(out, b"***ab");
    assert_eq!(filter.found(), [0]);
    // A byte short of the value, then something else: everything is written as it was.
    let mut filter = StreamFilter::new(&m);
    let mut out = Vec::new();
    for chunk in value.as_bytes()[1..].chunks(4096) {
        filter.feed(chunk, &mut out);
    }
    filter.feed(b"b", &mut out);
    assert_eq!(filter.held(), 0);
    assert_eq!(out.len(), value.len());
    assert!(filter.found().is_empty());
}

#[test]
fn tells_apart_long_values_sharing_a_long_prefix_one_byte_at_a_time() {
    let prefix = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC";
    let values: Vec<String> = (0..200)
        .map(|i| format!("{prefix}{}{i:04}", "x".repeat(i % 5)))
        .collect();
    let s = store_of(&values);
    let m = StreamMatcher::build(&s).unwrap();
    let redactor = Redactor::build(&s).unwrap();
    let text = format!("{} {}{} {prefix}xx0", values[3], values[4], values[199]);
    let mut expected = String::new();
    let found = redactor
        .redact_into(&text, &mut expected, usize::MAX)
        .unwrap();
    assert_eq!(expected, format!("*** ****** {prefix}xx0"));
    let forms = all_forms(&values);
    let (out, stream_found) = feed_checked(&m, &forms, text.as_bytes(), expected.as_bytes(), &[1]);
    assert_eq!(String::from_utf8(out).unwrap(), expected);
    assert_eq!(stream_found, found);
}

#[test]
fn debug_shows_how_much_is_held_never_the_bytes() {
    let s = store(&[("KEY", VALUE)]);
    let m = StreamMatcher::build(&s).unwrap();
    let mut filter = StreamFilter::new(&m);
    let mut out = Vec::new();
    filter.feed(b"key=sk-test-12345", &mut out);
    let shown = format!("{filter:?} {m:?}");
    assert!(shown.contains("held: 13"), "{shown}");
    assert!(
        !shown.contains("sk-") && !shown.contains("115, 107"),
        "{shown}"
    );
}
