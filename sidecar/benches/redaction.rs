//! The redaction engine in process (issue 11, item 4): building the matcher, `Redact` of a
//! 1 MiB text, and the stream filter, each beside a floor measured in the same run.
//!
//! Memory is counted by a wrapper around the daemon's own allocator: "peak" is the most bytes
//! live at once during the step above what was live before it, "kept" what is still live after
//! it (the matcher itself). Floors: for a build, computing the same forms into one `Vec` (the
//! bytes any matcher must hold); for a scan, `str::find` of an absent needle over the same text
//! plus copying it out (the least a filter that writes the text can do); for the stream, the
//! same copy in the same chunks.
//!
//! Run with `cargo bench -p ax-sidecar --bench redaction`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs,
    unsafe_code
)]

use std::alloc::{GlobalAlloc, Layout};
use std::borrow::Cow;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ax_protocol::SecretText;
use ax_protocol::bundle::local::{LocalKey, open_local_in_place, seal_local};
use ax_protocol::bundle::{Bundle, BundleSecret};
use ax_protocol::encodings::forms;
use ax_sidecar::alloc::ZeroingAllocator;
use ax_sidecar::arena::LockedArena;
use ax_sidecar::redact::Redactor;
use ax_sidecar::store::Store;
use ax_sidecar::stream::{StreamFilter, StreamMatcher};
use ring::rand::SystemRandom;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the daemon's allocator unchanged and only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { ZeroingAllocator.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { ZeroingAllocator.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { ZeroingAllocator.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Median time of `runs` calls, and the peak and kept bytes of the last one.
fn measure<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, usize, usize) {
    let mut times = Vec::with_capacity(runs);
    let (mut peak, mut kept) = (0, 0);
    for _ in 0..runs {
        let before = LIVE.load(Ordering::Relaxed);
        PEAK.store(before, Ordering::Relaxed);
        let started = Instant::now();
        let result = black_box(f());
        times.push(started.elapsed());
        peak = PEAK.load(Ordering::Relaxed) - before;
        kept = LIVE.load(Ordering::Relaxed).saturating_sub(before);
        drop(result);
    }
    times.sort_unstable();
    (times[runs / 2], peak, kept)
}

fn store(values: &[String]) -> Store {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let bundle = Bundle {
        tenant: Cow::Borrowed("acme"),
        execution_id: Cow::Borrowed("bench"),
        environment: Cow::Borrowed("bench"),
        config: None,
        issued_at: now - 1,
        expires_at: now + 3600,
        secrets: values
            .iter()
            .enumerate()
            .map(|(i, value)| BundleSecret {
                name: Cow::Owned(format!("SECRET_{i:06}")),
                value: SecretText::owned(value.clone()),
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

/// `len` bytes of printable ASCII without a short period.
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

/// 32 bytes.
fn small(i: usize) -> String {
    format!("value-{i:06}-{}", noise(i as u64, 19))
}

/// 1,000 values: 999 of 32 bytes and one of `big` bytes (32 when `big` is 32).
fn values(big: usize) -> Vec<String> {
    let mut values: Vec<String> = (0..999).map(small).collect();
    values.push(noise(4242, big));
    values
}

/// About 1 MiB of log lines, a secret in some form on one line in 200.
fn log_text(values: &[String]) -> String {
    let mut text = String::new();
    let mut i = 0;
    while text.len() < (1 << 20) - 200 {
        if i % 200 == 7 {
            let f = forms(&values[i % 999]);
            text.push_str(&format!("{i:08} INFO token {} accepted\n", f[i % 8]));
        } else {
            text.push_str(&format!(
                "{i:08} INFO GET /api/v1/items/{} 200 {} ms user=alice@example.com\n",
                i * 7919 % 100_000,
                i % 97
            ));
        }
        i += 1;
    }
    text
}

struct Table(Vec<[String; 6]>);

impl Table {
    fn row(&mut self, what: &str, measured: (Duration, usize, usize), floor: (Duration, usize)) {
        self.0.push([
            what.to_owned(),
            format!("{:.2} ms", measured.0.as_secs_f64() * 1e3),
            format!("{:.2} ms", floor.0.as_secs_f64() * 1e3),
            format!(
                "{:.1}×",
                measured.0.as_secs_f64() / floor.0.as_secs_f64().max(1e-9)
            ),
            format!("{:.1} / {:.1} MiB", mib(measured.1), mib(measured.2)),
            format!("{:.1} MiB", mib(floor.1)),
        ]);
    }

    fn print(&self) {
        println!(
            "| measurement | time | floor | ratio | peak / kept memory | floor memory |\n|---|---|---|---|---|---|"
        );
        for row in &self.0 {
            println!("| {} |", row.join(" | "));
        }
    }
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

/// The forms of every value in one `Vec`: what any matcher must at least hold.
fn forms_floor(values: &[String]) -> Vec<u8> {
    let mut all = Vec::new();
    for v in values {
        for f in forms(v) {
            all.extend_from_slice(f.as_bytes());
        }
    }
    all
}

fn scan_floor(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    black_box(text.find("\u{0}\u{1}absent"));
    out.push_str(text);
    out
}

fn stream_floor(text: &[u8], chunk: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for piece in text.chunks(chunk) {
        out.extend_from_slice(piece);
    }
    black_box(memchr_like(&out));
    out
}

fn memchr_like(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == 0)
}

fn filter_all(matcher: &StreamMatcher, text: &[u8], chunk: usize) -> Vec<u8> {
    let mut filter = StreamFilter::new(matcher);
    let mut out = Vec::with_capacity(text.len());
    for piece in text.chunks(chunk) {
        filter.feed(piece, &mut out);
    }
    filter.finish(&mut out);
    out
}

fn main() {
    let mut table = Table(Vec::new());
    for (label, big) in [("32 B", 32), ("64 KiB", 64 << 10), ("1 MiB", 1 << 20)] {
        let values = values(big);
        let s = store(&values);
        let runs = if big > 100_000 { 5 } else { 9 };
        let floor = measure(runs, || forms_floor(&values));
        table.row(
            &format!("build `Redact` matcher, 1,000 secrets, largest {label}"),
            measure(runs, || Redactor::build(&s).unwrap()),
            (floor.0, floor.1),
        );
        table.row(
            &format!("build stream matcher, 1,000 secrets, largest {label}"),
            measure(runs, || StreamMatcher::build(&s).unwrap()),
            (floor.0, floor.1),
        );
    }

    let values = values(1 << 20);
    let s = store(&values);
    let redactor = Redactor::build(&s).unwrap();
    let stream = StreamMatcher::build(&s).unwrap();
    let text = log_text(&values);
    let mut check = String::new();
    let found = redactor.redact_into(&text, &mut check, usize::MAX).unwrap();
    assert!(found.len() > 10, "the log text holds secrets");
    let floor = measure(9, || scan_floor(&text));
    table.row(
        "`Redact` of 1 MiB of log text (1,000 secrets, one of 1 MiB)",
        measure(9, || {
            let mut out = String::new();
            redactor.redact_into(&text, &mut out, usize::MAX).unwrap();
            out
        }),
        (floor.0, floor.1),
    );
    assert_eq!(filter_all(&stream, text.as_bytes(), 4096), check.as_bytes());
    for chunk in [4096, 1] {
        let floor = measure(5, || stream_floor(text.as_bytes(), chunk));
        table.row(
            &format!("stream filter, same text, {chunk}-byte chunks"),
            measure(5, || filter_all(&stream, text.as_bytes(), chunk)),
            (floor.0, floor.1),
        );
    }

    // The periodic worst case: a value of 1 MiB of one letter, and a text of one letter that
    // is a byte too short to be it (every position begins a candidate).
    let periodic = vec!["a".repeat(1 << 20)];
    let s = store(&periodic);
    let floor = measure(5, || forms_floor(&periodic));
    table.row(
        "build `Redact` matcher, one value of 1 MiB of `a`",
        measure(5, || Redactor::build(&s).unwrap()),
        (floor.0, floor.1),
    );
    let redactor = Redactor::build(&s).unwrap();
    let stream = StreamMatcher::build(&s).unwrap();
    let text = "a".repeat((1 << 20) - 1);
    let floor = measure(9, || scan_floor(&text));
    table.row(
        "`Redact` of 1 MiB - 1 of `a`, value 1 MiB of `a`",
        measure(9, || {
            let mut out = String::new();
            redactor.redact_into(&text, &mut out, usize::MAX).unwrap();
            out
        }),
        (floor.0, floor.1),
    );
    for chunk in [4096, 1] {
        let floor = measure(5, || stream_floor(text.as_bytes(), chunk));
        table.row(
            &format!("stream filter, same, {chunk}-byte chunks (all held until the end)"),
            measure(5, || filter_all(&stream, text.as_bytes(), chunk)),
            (floor.0, floor.1),
        );
    }
    table.print();
}
