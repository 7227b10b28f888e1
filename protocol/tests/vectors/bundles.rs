//! Known-answer vectors for the sealed bundle (PROTOCOL.md §11–§12): fixed keys and fixed
//! randomness, so a control plane written in another language can reproduce every envelope byte
//! for byte, and a sidecar reimplementation can check that it refuses what it must.
#![allow(deprecated)] // ring's FixedSliceRandom: test-only, feeds fixed keys to ring

use std::borrow::Cow;

use ax_protocol::SecretText;
use ax_protocol::bundle::envelope::{MAGIC, SIGNATURE_LEN};
use ax_protocol::bundle::local::{LocalKey, open_local, seal_local};
use ax_protocol::bundle::{Bundle, BundleError, BundleSecret, open, seal};
use ring::agreement::{EphemeralPrivateKey, X25519};
use ring::signature::{Ed25519KeyPair, KeyPair};
use ring::test::rand::FixedSliceRandom;
use serde_json::{Value, json};

use crate::generate::Case;

const RECIPIENT_KEY: [u8; 32] = [0x11; 32];
const EPHEMERAL_KEY: [u8; 32] = [0x22; 32];
const SIGNING_SEED: [u8; 32] = [0x33; 32];
const LOCAL_KEY: [u8; 32] = [0x44; 32];
const LOCAL_NONCE: [u8; 12] = [0x55; 12];
const EXECUTION: &str = "exec-7f3a";
const NOW: u64 = 1_800_000_100;

pub(crate) fn sample() -> Bundle<'static> {
    let secret = |name: &'static str, value: &'static str, version, updated_at| BundleSecret {
        name: Cow::Borrowed(name),
        value: SecretText::borrowed(value),
        version,
        created_at: 1_700_000_000,
        updated_at,
    };
    Bundle {
        tenant: Cow::Borrowed("acme"),
        execution_id: Cow::Borrowed(EXECUTION),
        environment: Cow::Borrowed("production"),
        config: Some(Cow::Borrowed("nightly")),
        issued_at: 1_800_000_000,
        expires_at: 1_800_003_600,
        secrets: vec![
            secret("DB_URL", "postgres://app:pw@db/app", 1, 1_700_000_000),
            secret("EMPTY", "", 1, 1_700_000_000),
            secret("OPENAI_API_KEY", "sk-tenant-1", 2, 1_750_000_000),
        ],
        overrides: vec![secret("OPENAI_API_KEY", "sk-override-9", 1, 1_790_000_000)],
    }
}

fn secret_to_json(s: &BundleSecret<'_>) -> Value {
    json!({
        "name": s.name,
        "value": s.value.expose(),
        "version": s.version,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
    })
}

pub(crate) fn bundle_to_json(b: &Bundle<'_>) -> Value {
    json!({
        "tenant": b.tenant,
        "execution_id": b.execution_id,
        "environment": b.environment,
        "config": b.config,
        "issued_at": b.issued_at,
        "expires_at": b.expires_at,
        "secrets": b.secrets.iter().map(secret_to_json).collect::<Vec<_>>(),
        "overrides": b.overrides.iter().map(secret_to_json).collect::<Vec<_>>(),
    })
}

fn signer() -> Ed25519KeyPair {
    Ed25519KeyPair::from_seed_unchecked(&SIGNING_SEED).expect("seed")
}

fn recipient() -> EphemeralPrivateKey {
    EphemeralPrivateKey::generate(
        &X25519,
        &FixedSliceRandom {
            bytes: &RECIPIENT_KEY,
        },
    )
    .expect("key")
}

fn recipient_public() -> [u8; 32] {
    recipient()
        .compute_public_key()
        .expect("public")
        .as_ref()
        .try_into()
        .expect("32 bytes")
}

fn sealed_envelope() -> Vec<u8> {
    seal(
        &sample(),
        &recipient_public(),
        &signer(),
        &FixedSliceRandom {
            bytes: &EPHEMERAL_KEY,
        },
    )
    .expect("seals")
}

fn resign(mut envelope: Vec<u8>) -> Vec<u8> {
    envelope.truncate(envelope.len() - SIGNATURE_LEN);
    let signature = signer().sign(&envelope);
    envelope.extend_from_slice(signature.as_ref());
    envelope
}

fn inputs(
    format: &str,
    expected_execution: Option<&str>,
    now: u64,
    bundle: Option<Value>,
) -> Value {
    let envelope = format == "envelope";
    json!({
        "format": format,
        "key": hex::encode(if envelope { RECIPIENT_KEY } else { LOCAL_KEY }),
        "control_plane_public_key": envelope.then(|| hex::encode(signer().public_key().as_ref())),
        "expected_execution_id": expected_execution,
        "now": now,
        "seal_randomness": hex::encode(if envelope { &EPHEMERAL_KEY[..] } else { &LOCAL_NONCE[..] }),
        "signing_seed": envelope.then(|| hex::encode(SIGNING_SEED)),
        "plaintext": bundle.as_ref().map(|_| hex::encode(postcard::to_allocvec(&sample()).expect("encodes"))),
        "bundle": bundle,
    })
}

fn case(comment: &str, hex: Vec<u8>, value: Value, error: Option<&'static str>) -> Case {
    Case {
        comment: comment.into(),
        flags: vec![],
        hex,
        value,
        error,
    }
}

pub(crate) fn cases() -> Vec<Case> {
    let good = sealed_envelope();
    let bundle = Some(bundle_to_json(&sample()));
    let env = |exec: &str, now| inputs("envelope", Some(exec), now, None);
    let enc_at = MAGIC.len() + 1 + EXECUTION.len();
    let ciphertext_at = enc_at + 32 + 4;

    let mut flipped_signature = good.clone();
    *flipped_signature.last_mut().expect("non-empty") ^= 0x01;
    let mut low_order = good.clone();
    low_order[enc_at..enc_at + 32].fill(0);
    let mut flipped_ciphertext = good.clone();
    flipped_ciphertext[ciphertext_at] ^= 0x01;
    let mut extended = good.clone();
    extended.push(0);
    let mut bad_magic = good.clone();
    bad_magic[0] = b'A';

    let local_key = LocalKey::from_bytes(&LOCAL_KEY).expect("key");
    let local = seal_local(
        &sample(),
        &local_key,
        &FixedSliceRandom {
            bytes: &LOCAL_NONCE,
        },
    )
    .expect("seals");
    let mut local_flipped = local.clone();
    *local_flipped.last_mut().expect("non-empty") ^= 0x01;

    vec![
        case(
            "a sealed envelope; sealing the bundle with these inputs reproduces hex byte for byte",
            good.clone(),
            inputs("envelope", Some(EXECUTION), NOW, bundle.clone()),
            None,
        ),
        case(
            "the last signature byte flipped",
            flipped_signature,
            env(EXECUTION, NOW),
            Some("BadSignature"),
        ),
        case(
            "opened by another execution",
            good.clone(),
            env("exec-other", NOW),
            Some("WrongExecution"),
        ),
        case(
            "opened at expires_at: expired",
            good.clone(),
            env(EXECUTION, 1_800_003_600),
            Some("Expired"),
        ),
        case(
            "opened more than 300 s before issued_at",
            good.clone(),
            env(EXECUTION, 1_800_000_000 - 301),
            Some("NotYetValid"),
        ),
        case(
            "enc replaced by zeros and re-signed",
            resign(low_order),
            env(EXECUTION, NOW),
            Some("BadEncapsulatedKey"),
        ),
        case(
            "first ciphertext byte flipped and re-signed",
            resign(flipped_ciphertext),
            env(EXECUTION, NOW),
            Some("DecryptionFailed"),
        ),
        case(
            "cut before the signature ends",
            good[..good.len() - 1].to_vec(),
            env(EXECUTION, NOW),
            Some("Truncated"),
        ),
        case(
            "one byte appended",
            extended,
            env(EXECUTION, NOW),
            Some("LengthMismatch"),
        ),
        case(
            "first magic byte changed",
            bad_magic,
            env(EXECUTION, NOW),
            Some("BadMagic"),
        ),
        case(
            "a local sealed file; sealing with this key and nonce reproduces hex",
            local.clone(),
            inputs("local", None, NOW, bundle),
            None,
        ),
        case(
            "a local file with its tag flipped",
            local_flipped,
            inputs("local", None, NOW, None),
            Some("DecryptionFailed"),
        ),
        case(
            "a local file opened after expiry",
            local,
            inputs("local", None, u64::MAX, None),
            Some("Expired"),
        ),
    ]
}

fn error_kind(err: BundleError) -> String {
    let debug = format!("{err:?}");
    debug
        .split(['{', '(', ' '])
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn key32(value: &Value, field: &str) -> [u8; 32] {
    hex::decode(value[field].as_str().expect("hex"))
        .expect("hex")
        .try_into()
        .expect("32 bytes")
}

/// Runs one bundle vector as a reimplementation would.
pub(crate) fn check(test: &Value, bytes: &[u8], valid: bool, what: &str) {
    let v = &test["value"];
    let now = v["now"].as_u64().expect("now");
    let opened = match v["format"].as_str() {
        Some("envelope") => {
            let key_bytes = key32(v, "key");
            let key =
                EphemeralPrivateKey::generate(&X25519, &FixedSliceRandom { bytes: &key_bytes })
                    .expect("key");
            let public = key32(v, "control_plane_public_key");
            let exec = v["expected_execution_id"].as_str().expect("execution id");
            open(bytes, key, &public, exec, now)
        }
        Some("local") => {
            let key = LocalKey::from_bytes(&key32(v, "key")).expect("key");
            open_local(bytes, &key, now)
        }
        other => panic!("{what}: format {other:?}"),
    };
    match (opened, valid) {
        (Ok(bundle), true) => {
            assert_eq!(bundle_to_json(&bundle), v["bundle"], "{what}: bundle");
            let plaintext = hex::decode(v["plaintext"].as_str().expect("plaintext")).expect("hex");
            let decoded: Bundle<'_> =
                ax_protocol::frame::decode(&plaintext).expect("plaintext decodes");
            assert_eq!(bundle_to_json(&decoded), v["bundle"], "{what}: plaintext");
            let strings = Strings::new(&v["bundle"]);
            let plain = strings.bundle();
            let randomness = hex::decode(v["seal_randomness"].as_str().expect("hex")).expect("hex");
            let rng = FixedSliceRandom { bytes: &randomness };
            let resealed = if v["format"] == "envelope" {
                let signer =
                    Ed25519KeyPair::from_seed_unchecked(&key32(v, "signing_seed")).expect("seed");
                let key = EphemeralPrivateKey::generate(
                    &X25519,
                    &FixedSliceRandom {
                        bytes: &key32(v, "key"),
                    },
                )
                .expect("key");
                let public: [u8; 32] = key
                    .compute_public_key()
                    .expect("public")
                    .as_ref()
                    .try_into()
                    .expect("32");
                seal(&plain, &public, &signer, &rng).expect("seals")
            } else {
                seal_local(
                    &plain,
                    &LocalKey::from_bytes(&key32(v, "key")).expect("key"),
                    &rng,
                )
                .expect("seals")
            };
            assert_eq!(
                hex::encode(resealed),
                hex::encode(bytes),
                "{what}: resealed bytes"
            );
        }
        (Err(err), false) => assert_eq!(
            Some(error_kind(err).as_str()),
            test["error"].as_str(),
            "{what}"
        ),
        (Ok(_), false) => panic!("{what}: opened, but the vector says invalid"),
        (Err(err), true) => panic!("{what}: refused ({err}), but the vector says valid"),
    }
}

/// A bundle read back from its JSON form (owned strings the bundle borrows).
struct Strings<'v> {
    json: &'v Value,
}

impl<'v> Strings<'v> {
    fn new(json: &'v Value) -> Self {
        Self { json }
    }

    fn str(value: &'v Value) -> Cow<'v, str> {
        Cow::Borrowed(value.as_str().expect("string"))
    }

    fn secrets(list: &'v Value) -> Vec<BundleSecret<'v>> {
        list.as_array()
            .expect("array")
            .iter()
            .map(|s| BundleSecret {
                name: Self::str(&s["name"]),
                value: SecretText::borrowed(s["value"].as_str().expect("value")),
                version: u32::try_from(s["version"].as_u64().expect("version")).expect("u32"),
                created_at: s["created_at"].as_u64().expect("created_at"),
                updated_at: s["updated_at"].as_u64().expect("updated_at"),
            })
            .collect()
    }

    fn bundle(&self) -> Bundle<'v> {
        let j = self.json;
        Bundle {
            tenant: Self::str(&j["tenant"]),
            execution_id: Self::str(&j["execution_id"]),
            environment: Self::str(&j["environment"]),
            config: j["config"].as_str().map(Cow::Borrowed),
            issued_at: j["issued_at"].as_u64().expect("issued_at"),
            expires_at: j["expires_at"].as_u64().expect("expires_at"),
            secrets: Self::secrets(&j["secrets"]),
            overrides: Self::secrets(&j["overrides"]),
        }
    }
}
