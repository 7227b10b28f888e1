//! The start-up cost of recognising values passed as names (PROTOCOL §13.2's `"<value>"`):
//! building the keyed-hash table of every value's name-shaped forms, beside a floor measured in
//! the same run (computing the same forms and checking the name rule, without hashing), and
//! one lookup of a missing name (a miss, and a hit confirmed against the arena).
//!
//! Worst case: every value is a valid name, so every value's forms are computed and kept.
//!
//! Run with `cargo bench -p ax-sidecar --bench audit_index`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

use std::borrow::Cow;
use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ax_protocol::SecretText;
use ax_protocol::bundle::local::{LocalKey, open_local_in_place, seal_local};
use ax_protocol::bundle::{Bundle, BundleSecret};
use ax_protocol::encodings::forms;
use ax_protocol::name::is_valid_name;
use ax_sidecar::arena::LockedArena;
use ax_sidecar::audit::value_like::ValueNames;
use ax_sidecar::store::Store;
use ring::rand::SystemRandom;

const SECRETS: usize = 1_000;

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
    let key_bytes = LocalKey::generate(&rng).unwrap();
    let key = LocalKey::from_bytes(key_bytes.as_ref()).unwrap();
    let sealed = seal_local(&bundle, &key, &rng).unwrap();
    let (mut arena, _) = LockedArena::new(sealed.len()).unwrap();
    arena.as_mut_slice().copy_from_slice(&sealed);
    Store::open_in_arena(arena, |b| open_local_in_place(b, &key, now)).unwrap()
}

fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn main() {
    // 32-byte values that are valid names, as API keys often are.
    let values: Vec<String> = (0..SECRETS)
        .map(|i| format!("whk_live_{i:06}_abcdefghijklmnop"))
        .collect();
    let store = store(&values);

    let build = median(21, || {
        black_box(ValueNames::build(&store));
    });
    let floor = median(21, || {
        let mut kept = 0_usize;
        for secret in store.iter() {
            for form in forms(secret.value) {
                kept += usize::from(is_valid_name(&form));
            }
        }
        black_box(kept);
    });
    let table = ValueNames::build(&store);
    println!(
        "build, {SECRETS} name-like values of 32 B: {build:?} (floor, forms + name rule only: \
         {floor:?}); {} hashes kept",
        table.len()
    );

    const LOOKUPS: u32 = 10_000;
    let miss = median(11, || {
        for _ in 0..LOOKUPS {
            black_box(table.contains(&store, black_box("NOT_A_VALUE_AT_ALL")));
        }
    }) / LOOKUPS;
    let hit = median(11, || {
        for _ in 0..LOOKUPS {
            black_box(table.contains(&store, black_box(values[500].as_str())));
        }
    }) / LOOKUPS;
    println!("lookup of a missing name: miss {miss:?}, hit (confirmed) {hit:?}");
}
