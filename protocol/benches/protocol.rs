//! `cargo bench -p ax-protocol --bench protocol`: what the wire and the bundle cost, each next to
//! a floor measured in the same run.
//!
//! - framing: encode + decode of a `Get` request and a `Secret` response, against writing the
//!   same bytes by hand (length prefix + copy), the least any framing can do;
//! - opening a bundle of 1,000 and 100,000 secrets (signature, HPKE, AES-GCM, decode, checks),
//!   against AES-256-GCM alone over the same number of bytes, the least any sealed format costs.
//!
//! Figures are medians over repeated batches; the machine is shared, so compare ratios.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::borrow::Cow;
use std::hint::black_box;
use std::time::{Duration, Instant};

use ax_protocol::bundle::local::{LocalKey, open_local_in_place, seal_local};
use ax_protocol::bundle::{Bundle, BundleSecret, open_in_place, seal};
use ax_protocol::frame::{decode_request, decode_response, encode_frame, split_frame};
use ax_protocol::limits::{MAX_REQUEST_FRAME, MAX_RESPONSE_FRAME};
use ax_protocol::{Request, RequestBody, Response, ResponseBody, SecretText};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::agreement::{EphemeralPrivateKey, X25519};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};

/// Median time per call of `f`, over `batches` batches of `per_batch` calls.
fn median_per_call(batches: usize, per_batch: usize, mut f: impl FnMut()) -> Duration {
    let mut samples: Vec<Duration> = (0..batches)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..per_batch {
                f();
            }
            start.elapsed() / per_batch as u32
        })
        .collect();
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn row(what: &str, measured: Duration, floor: Duration) {
    let ratio = measured.as_secs_f64() / floor.as_secs_f64();
    println!(
        "| {what:<44} | {:>12.3?} | {:>12.3?} | {ratio:>6.2}x |",
        measured, floor
    );
}

fn framing() {
    let name = "OPENAI_API_KEY";
    let value = "sk-live-0123456789abcdef0123456789abcdef";
    let request = Request {
        id: 4242,
        body: RequestBody::Get {
            name: Cow::Borrowed(name),
        },
    };
    let response = Response {
        id: 4242,
        body: ResponseBody::Secret {
            value: Some(SecretText::borrowed(value)),
        },
    };
    let mut buf = Vec::with_capacity(256);

    let get = median_per_call(51, 200_000, || {
        buf.clear();
        encode_frame(black_box(&request), MAX_REQUEST_FRAME, &mut buf).unwrap();
        let (body, _) = split_frame(&buf, MAX_REQUEST_FRAME).unwrap().unwrap();
        black_box(decode_request(body).unwrap());
    });
    let raw = |payload: &str, buf: &mut Vec<u8>| {
        buf.clear();
        buf.extend_from_slice(&(payload.len() as u32 + 4).to_be_bytes());
        buf.extend_from_slice(&[0x92, 0x21, 0x01, payload.len() as u8]);
        buf.extend_from_slice(payload.as_bytes());
        let len = u32::from_be_bytes(buf[..4].try_into().unwrap()) as usize;
        black_box(std::str::from_utf8(&buf[8..4 + len]).unwrap());
    };
    let get_floor = median_per_call(51, 200_000, || raw(black_box(name), &mut buf));
    row("Get request: encode + decode", get, get_floor);

    let secret = median_per_call(51, 200_000, || {
        buf.clear();
        encode_frame(black_box(&response), MAX_RESPONSE_FRAME, &mut buf).unwrap();
        let (body, _) = split_frame(&buf, MAX_RESPONSE_FRAME).unwrap().unwrap();
        black_box(decode_response(body).unwrap());
    });
    let secret_floor = median_per_call(51, 200_000, || raw(black_box(value), &mut buf));
    row(
        "Secret response (40-byte value): enc + dec",
        secret,
        secret_floor,
    );
}

fn bundle(count: usize) -> (Vec<String>, Vec<String>) {
    let names = (0..count).map(|i| format!("SECRET_{i:06}")).collect();
    let values = (0..count)
        .map(|i| format!("value-{i:06}-{}", "x".repeat(24)))
        .collect();
    (names, values)
}

fn make<'a>(names: &'a [String], values: &'a [String]) -> Bundle<'a> {
    Bundle {
        tenant: Cow::Borrowed("bench"),
        execution_id: Cow::Borrowed("exec-bench"),
        environment: Cow::Borrowed("production"),
        config: None,
        issued_at: 1_800_000_000,
        expires_at: 1_800_003_600,
        secrets: names
            .iter()
            .zip(values)
            .map(|(n, v)| BundleSecret {
                name: Cow::Borrowed(n),
                value: SecretText::borrowed(v),
                version: 1,
                created_at: 1_700_000_000,
                updated_at: 1_700_000_000,
            })
            .collect(),
        overrides: vec![],
    }
}

fn opening(count: usize, runs: usize) {
    let rng = SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let signer = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let (names, values) = bundle(count);
    let plain = make(&names, &values);
    let now = 1_800_000_100;

    // Envelope: a fresh recipient key per open, as in a real start; key generation is included
    // because a sidecar pays it too.
    let mut sealed = Vec::new();
    let mut envelope_times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let key = EphemeralPrivateKey::generate(&X25519, &rng).unwrap();
        let public: [u8; 32] = key
            .compute_public_key()
            .unwrap()
            .as_ref()
            .try_into()
            .unwrap();
        sealed = seal(&plain, &public, &signer, &rng).unwrap();
        let start = Instant::now();
        let bundle = open_in_place(
            &mut sealed,
            key,
            signer.public_key().as_ref(),
            "exec-bench",
            now,
        )
        .unwrap();
        black_box(bundle.secrets.len());
        envelope_times.push(start.elapsed());
    }
    envelope_times.sort_unstable();

    let local_key_bytes = LocalKey::generate(&rng).unwrap();
    let local_key = LocalKey::from_bytes(local_key_bytes.as_ref()).unwrap();
    let file = seal_local(&plain, &local_key, &rng).unwrap();
    let mut buf = file.clone();
    let local = median_per_call(runs, 1, || {
        buf.copy_from_slice(&file);
        black_box(
            open_local_in_place(&mut buf, &local_key, now)
                .unwrap()
                .secrets
                .len(),
        );
    });

    // Floor: AES-256-GCM alone over the same ciphertext length (seal, then time the open).
    let aead = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, local_key_bytes.as_ref()).unwrap());
    let mut plaintext = vec![7u8; sealed.len() - 122 - 10 - 16];
    let tag = aead
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key([0; 12]),
            Aad::empty(),
            &mut plaintext,
        )
        .unwrap();
    plaintext.extend_from_slice(tag.as_ref());
    let mut work = plaintext.clone();
    let floor = median_per_call(runs, 1, || {
        work.copy_from_slice(&plaintext);
        let nonce = Nonce::assume_unique_for_key([0; 12]);
        black_box(
            aead.open_in_place(nonce, Aad::empty(), &mut work)
                .unwrap()
                .len(),
        );
    });

    let mib = sealed.len() as f64 / (1024.0 * 1024.0);
    row(
        &format!("open envelope, {count} secrets ({mib:.1} MiB)"),
        envelope_times[runs / 2],
        floor,
    );
    row(&format!("open local file, {count} secrets"), local, floor);
}

fn main() {
    println!(
        "| operation                                    |       median |        floor |  ratio |"
    );
    println!(
        "|----------------------------------------------|--------------|--------------|--------|"
    );
    framing();
    opening(1_000, 101);
    opening(100_000, 11);
}
