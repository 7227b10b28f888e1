//! `cargo bench -p ax-sidecar --bench seal`: `ax-sidecar seal` of 10,000, 100,000 and
//! 1,000,000 secrets (the PROTOCOL §9 maximum), and the opening of what it wrote, each next to a
//! floor measured in the same run.
//!
//! `seal` runs in process through the library, exactly as the command runs it: read the JSON
//! file, parse and check it, seal, write the output with fsync. Its floor is the work any seal
//! must do with the same bytes: read the same file, parse it with serde_json into a map of
//! name to value, AES-256-GCM over as many bytes as the sealed file holds, and write and fsync
//! that many bytes. Opening (what `serve` does with the file) is timed against AES-256-GCM over
//! the same bytes. Sealing used to be quadratic in the number of secrets (a duplicate check
//! scanned the list): 10,000 took 0.2 s and 200,000 did not finish in two minutes; what matters
//! here is that the seal/floor ratio stays flat from one row to the next. The machine may be
//! shared: compare ratios.

// A benchmark reports on stdout and may panic on anything unexpected: it has no caller to tell.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ax_protocol::bundle::local::{LocalKey, open_local_in_place};
use ax_sidecar::cli::SealArgs;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};

/// The input `seal` reads: `count` secrets named like real ones, values of 24 to 40 bytes.
fn input(count: usize) -> String {
    let mut text = String::with_capacity(count * 56);
    text.push_str("{\"secrets\": {");
    for i in 0..count {
        if i > 0 {
            text.push(',');
        }
        write!(
            text,
            "\"SERVICE_{i:07}_API_KEY\": \"sk-live-{i:07}-{}\"",
            "x".repeat(i % 17)
        )
        .unwrap();
    }
    text.push_str("}}");
    text
}

/// The median of `runs` timings of `f`.
fn median(runs: usize, mut f: impl FnMut() -> Duration) -> Duration {
    let mut times: Vec<Duration> = (0..runs).map(|_| f()).collect();
    times.sort();
    times[times.len() / 2]
}

fn seal_once(args: &SealArgs) -> Duration {
    let _ = fs::remove_file(&args.output);
    let started = Instant::now();
    ax_sidecar::seal::run(args).unwrap();
    started.elapsed()
}

/// Read and parse the same file, encrypt and write as many bytes as the sealed file holds.
fn floor_once(input: &Path, sealed_len: usize, out: &Path) -> Duration {
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7; 32]).unwrap());
    let started = Instant::now();
    let text = fs::read(input).unwrap();
    let parsed: HashMap<String, HashMap<String, String>> = serde_json::from_slice(&text).unwrap();
    assert!(!parsed["secrets"].is_empty());
    let mut bytes = vec![0u8; sealed_len];
    let nonce = Nonce::assume_unique_for_key([1; 12]);
    let tag = key
        .seal_in_place_separate_tag(nonce, Aad::empty(), &mut bytes)
        .unwrap();
    let mut file = fs::File::create(out).unwrap();
    file.write_all(&bytes).unwrap();
    file.write_all(tag.as_ref()).unwrap();
    file.sync_all().unwrap();
    started.elapsed()
}

fn open_once(sealed: &[u8], key: &LocalKey, now: u64, count: usize) -> Duration {
    let mut buffer = sealed.to_vec();
    let started = Instant::now();
    let bundle = open_local_in_place(&mut buffer, key, now).unwrap();
    let elapsed = started.elapsed();
    assert_eq!(bundle.secrets.len(), count);
    elapsed
}

fn aes_once(len: usize) -> Duration {
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7; 32]).unwrap());
    let mut bytes = vec![0u8; len];
    let started = Instant::now();
    let nonce = Nonce::assume_unique_for_key([1; 12]);
    let tag = key
        .seal_in_place_separate_tag(nonce, Aad::empty(), &mut bytes)
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(tag.as_ref().len(), 16);
    elapsed
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("bench.key");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    println!(
        "| secrets | input | sealed | seal | floor (read + parse + AES-GCM + write) | ratio | open | floor (AES-GCM) | ratio |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (count, runs) in [(10_000, 5), (100_000, 3), (1_000_000, 3)] {
        let input_path = dir.path().join(format!("in-{count}.json"));
        fs::write(&input_path, input(count)).unwrap();
        let args = SealArgs {
            input: input_path.clone(),
            key_file: key_file.clone(),
            output: dir.path().join(format!("out-{count}.sealed")),
            new_key: !key_file.exists(),
            valid_for: Duration::from_secs(3600),
        };
        // The first run makes the key (and warms the page cache); it is not counted.
        seal_once(&args);
        let args = SealArgs {
            new_key: false,
            ..args
        };
        let seal = median(runs, || seal_once(&args));
        let sealed = fs::read(&args.output).unwrap();
        let floor_out = dir.path().join("floor.out");
        let floor = median(runs, || floor_once(&input_path, sealed.len(), &floor_out));
        let key = ax_sidecar::source::read_key(&key_file).unwrap();
        let open = median(runs, || open_once(&sealed, &key, now, count));
        let aes = median(runs, || aes_once(sealed.len()));
        let mib = |n: usize| format!("{:.1} MiB", n as f64 / 1_048_576.0);
        println!(
            "| {count} | {} | {} | {} | {} | {:.1}× | {} | {} | {:.1}× |",
            mib(fs::metadata(&input_path).unwrap().len() as usize),
            mib(sealed.len()),
            ms(seal),
            ms(floor),
            seal.as_secs_f64() / floor.as_secs_f64(),
            ms(open),
            ms(aes),
            open.as_secs_f64() / aes.as_secs_f64(),
        );
    }
}
