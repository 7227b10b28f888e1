//! Our HPKE against an independent implementation, rust-hpke (the `hpke` crate), for the one
//! suite we speak in base mode: DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM.
//!
//! The pinned RFC 9180 vector ties each step of ours to published bytes; these tests tie both
//! directions to another implementation on fresh keys, over several messages of one context
//! (so the nonce sequence must agree), and check that both refuse the same forgeries.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ax_protocol::bundle::BundleError;
use ax_protocol::bundle::hpke::{Context, PUBLIC_KEY_LEN, TAG_LEN, setup_receiver, setup_sender};
use hpke::aead::{AeadCtxR, AesGcm256};
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, HpkeError, Kem as _, OpModeR, OpModeS, Serializable};
use rand::SeedableRng;
use rand::rngs::StdRng;
use ring::agreement::{EphemeralPrivateKey, X25519};
use ring::rand::SystemRandom;

type Kem = X25519HkdfSha256;
type TheirPrivateKey = <Kem as hpke::Kem>::PrivateKey;

const INFO: &[u8] = b"ax-secrets bundle v1 for exec-42";
const OTHER_INFO: &[u8] = b"ax-secrets bundle v1 for exec-43";

/// `(aad, plaintext)` pairs sent in order on one context: an empty plaintext, and one that
/// spans many AES blocks with a partial last block.
fn messages() -> Vec<(Vec<u8>, Vec<u8>)> {
    vec![
        (
            b"header 0".to_vec(),
            b"DB_URL=postgres://test-only".to_vec(),
        ),
        (b"header 1".to_vec(), Vec::new()),
        (
            b"header 2".to_vec(),
            (0..=255u8).cycle().take(1000).collect(),
        ),
        (b"header 3".to_vec(), b"last".to_vec()),
    ]
}

fn array(bytes: &[u8]) -> [u8; PUBLIC_KEY_LEN] {
    bytes.try_into().unwrap()
}

/// A recipient key as the sidecar holds it (ring, single use), and its public half.
fn our_recipient() -> (EphemeralPrivateKey, [u8; PUBLIC_KEY_LEN]) {
    let key = EphemeralPrivateKey::generate(&X25519, &SystemRandom::new()).unwrap();
    let public = array(key.compute_public_key().unwrap().as_ref());
    (key, public)
}

fn their_recipient(seed: u64) -> (TheirPrivateKey, [u8; PUBLIC_KEY_LEN]) {
    let (private, public) = Kem::gen_keypair(&mut StdRng::seed_from_u64(seed));
    (private, array(&public.to_bytes()))
}

/// rust-hpke seals `messages` in order on one context; returns `enc` and each `ct || tag`.
fn their_seal(
    pk_r: &[u8; PUBLIC_KEY_LEN],
    info: &[u8],
    messages: &[(Vec<u8>, Vec<u8>)],
) -> ([u8; PUBLIC_KEY_LEN], Vec<Vec<u8>>) {
    let pk_r = <Kem as hpke::Kem>::PublicKey::from_bytes(pk_r).unwrap();
    let mut rng = StdRng::seed_from_u64(7);
    let (enc, mut context) =
        hpke::setup_sender::<AesGcm256, HkdfSha256, Kem, _>(&OpModeS::Base, &pk_r, info, &mut rng)
            .unwrap();
    let sealed = messages
        .iter()
        .map(|(aad, plaintext)| context.seal(plaintext, aad).unwrap())
        .collect();
    (array(&enc.to_bytes()), sealed)
}

fn their_receiver(
    sk_r: &TheirPrivateKey,
    enc: &[u8; PUBLIC_KEY_LEN],
    info: &[u8],
) -> AeadCtxR<AesGcm256, HkdfSha256, Kem> {
    let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(enc).unwrap();
    hpke::setup_receiver(&OpModeR::Base, sk_r, &enc, info).unwrap()
}

fn our_seal(context: &mut Context, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut sealed = plaintext.to_vec();
    let tag = context.seal_in_place(aad, &mut sealed).unwrap();
    sealed.extend_from_slice(&tag);
    sealed
}

fn our_open(context: &mut Context, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, BundleError> {
    let mut buf = sealed.to_vec();
    context
        .open_in_place(aad, &mut buf)
        .map(|plaintext| plaintext.to_vec())
}

/// The sealed message with one bit flipped at the start, in the middle and in the tag, and
/// with its last byte cut off.
fn forgeries(sealed: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for at in [0, sealed.len() / 2, sealed.len() - 1] {
        let mut forged = sealed.to_vec();
        forged[at] ^= 0x01;
        out.push(forged);
    }
    out.push(sealed[..sealed.len() - 1].to_vec());
    out
}

#[test]
fn we_open_what_rust_hpke_seals_message_after_message() {
    let (sk_r, pk_r) = our_recipient();
    let messages = messages();
    let (enc, sealed) = their_seal(&pk_r, INFO, &messages);
    let mut context = setup_receiver(&enc, sk_r, INFO).unwrap();
    for ((aad, plaintext), sealed) in messages.iter().zip(&sealed) {
        assert_eq!(sealed.len(), plaintext.len() + TAG_LEN);
        assert_eq!(&our_open(&mut context, aad, sealed).unwrap(), plaintext);
    }
}

#[test]
fn we_open_a_rust_hpke_single_shot_seal() {
    let (sk_r, pk_r) = our_recipient();
    let (aad, plaintext) = &messages()[0];
    let (enc, sealed) = hpke::single_shot_seal::<AesGcm256, HkdfSha256, Kem, _>(
        &OpModeS::Base,
        &<Kem as hpke::Kem>::PublicKey::from_bytes(&pk_r).unwrap(),
        INFO,
        plaintext,
        aad,
        &mut StdRng::seed_from_u64(1),
    )
    .unwrap();
    let mut context = setup_receiver(&array(&enc.to_bytes()), sk_r, INFO).unwrap();
    assert_eq!(&our_open(&mut context, aad, &sealed).unwrap(), plaintext);
}

#[test]
fn rust_hpke_opens_what_we_seal_message_after_message() {
    let (sk_r, pk_r) = their_recipient(2);
    let (enc, mut ours) = setup_sender(&pk_r, INFO, &SystemRandom::new()).unwrap();
    let mut theirs = their_receiver(&sk_r, &enc, INFO);
    for (aad, plaintext) in messages() {
        let sealed = our_seal(&mut ours, &aad, &plaintext);
        assert_eq!(theirs.open(&sealed, &aad).unwrap(), plaintext);
    }
}

#[test]
fn rust_hpke_single_shot_opens_our_first_message() {
    let (sk_r, pk_r) = their_recipient(3);
    let (aad, plaintext) = &messages()[0];
    let (enc, mut ours) = setup_sender(&pk_r, INFO, &SystemRandom::new()).unwrap();
    let sealed = our_seal(&mut ours, aad, plaintext);
    let opened = hpke::single_shot_open::<AesGcm256, HkdfSha256, Kem>(
        &OpModeR::Base,
        &sk_r,
        &<Kem as hpke::Kem>::EncappedKey::from_bytes(&enc).unwrap(),
        INFO,
        &sealed,
        aad,
    );
    assert_eq!(&opened.unwrap(), plaintext);
}

#[test]
fn we_refuse_a_forged_rust_hpke_message() {
    let messages = &messages()[..1];
    let (aad, _) = &messages[0];
    // A ring key opens one context, so each forgery gets a fresh recipient and seal.
    for which in 0..4 {
        let (sk_r, pk_r) = our_recipient();
        let (enc, sealed) = their_seal(&pk_r, INFO, messages);
        let forged = &forgeries(&sealed[0])[which];
        let mut context = setup_receiver(&enc, sk_r, INFO).unwrap();
        assert_eq!(
            our_open(&mut context, aad, forged),
            Err(BundleError::DecryptionFailed)
        );
    }
}

#[test]
fn we_refuse_a_rust_hpke_message_under_another_info_or_aad() {
    let messages = &messages()[..1];
    let (aad, _) = &messages[0];

    let (sk_r, pk_r) = our_recipient();
    let (enc, sealed) = their_seal(&pk_r, INFO, messages);
    let mut context = setup_receiver(&enc, sk_r, OTHER_INFO).unwrap();
    assert_eq!(
        our_open(&mut context, aad, &sealed[0]),
        Err(BundleError::DecryptionFailed)
    );

    let (sk_r, pk_r) = our_recipient();
    let (enc, sealed) = their_seal(&pk_r, INFO, messages);
    let mut context = setup_receiver(&enc, sk_r, INFO).unwrap();
    assert_eq!(
        our_open(&mut context, b"header 9", &sealed[0]),
        Err(BundleError::DecryptionFailed)
    );
}

#[test]
fn we_refuse_rust_hpke_messages_opened_out_of_order() {
    let (sk_r, pk_r) = our_recipient();
    let messages = messages();
    let (enc, sealed) = their_seal(&pk_r, INFO, &messages);
    let mut context = setup_receiver(&enc, sk_r, INFO).unwrap();
    assert_eq!(
        our_open(&mut context, &messages[1].0, &sealed[1]),
        Err(BundleError::DecryptionFailed)
    );
}

#[test]
fn rust_hpke_refuses_our_forged_message() {
    let (sk_r, pk_r) = their_recipient(4);
    let (aad, plaintext) = &messages()[0];
    let (enc, mut ours) = setup_sender(&pk_r, INFO, &SystemRandom::new()).unwrap();
    let sealed = our_seal(&mut ours, aad, plaintext);
    for forged in forgeries(&sealed) {
        let mut theirs = their_receiver(&sk_r, &enc, INFO);
        assert_eq!(theirs.open(&forged, aad), Err(HpkeError::OpenError));
    }
    // The same receiver setup accepts the genuine message, so the refusals above were forgeries.
    let mut theirs = their_receiver(&sk_r, &enc, INFO);
    assert_eq!(&theirs.open(&sealed, aad).unwrap(), plaintext);
}

#[test]
fn rust_hpke_refuses_our_message_under_another_info_or_aad() {
    let (sk_r, pk_r) = their_recipient(5);
    let (aad, plaintext) = &messages()[0];
    let (enc, mut ours) = setup_sender(&pk_r, INFO, &SystemRandom::new()).unwrap();
    let sealed = our_seal(&mut ours, aad, plaintext);
    let mut theirs = their_receiver(&sk_r, &enc, OTHER_INFO);
    assert_eq!(theirs.open(&sealed, aad), Err(HpkeError::OpenError));
    let mut theirs = their_receiver(&sk_r, &enc, INFO);
    assert_eq!(theirs.open(&sealed, b"header 9"), Err(HpkeError::OpenError));
}
