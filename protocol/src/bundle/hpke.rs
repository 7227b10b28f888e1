//! HPKE (RFC 9180) base mode for exactly one suite, on ring:
//! DHKEM(X25519, HKDF-SHA256) = 0x0020, HKDF-SHA256 = 0x0001, AES-256-GCM = 0x0002.
//!
//! ring offers X25519 only through single-use ephemeral keys, which is exactly what both sides
//! need: the sender's key lives for one `Encap`, the sidecar's for one `Decap` per start. ring
//! has no public HKDF-Extract output, so `LabeledExtract` is computed as HMAC(salt, ikm), which is
//! HKDF-Extract by definition (RFC 5869 §2.2); `LabeledExpand` uses ring's HKDF-Expand. ring's
//! X25519 refuses an all-zero shared secret, which is the RFC's required check against
//! low-order points (§7.1.4).

use ring::aead::{self, AES_256_GCM, LessSafeKey, Nonce, UnboundKey};
use ring::agreement::{self, EphemeralPrivateKey, UnparsedPublicKey, X25519};
use ring::hkdf::{self, HKDF_SHA256, KeyType};
use ring::hmac::{self, HMAC_SHA256};
use ring::rand::SecureRandom;
use zeroize::{Zeroize, Zeroizing};

use super::BundleError;

/// Length of an X25519 public key and of `enc`.
pub const PUBLIC_KEY_LEN: usize = 32;
/// `Nk`: AES-256-GCM key length.
const KEY_LEN: usize = 32;
/// `Nn`: AES-256-GCM nonce length.
const NONCE_LEN: usize = 12;
/// `Nh`: SHA-256 output length.
const HASH_LEN: usize = 32;
/// Length of the AEAD tag appended to every ciphertext.
pub const TAG_LEN: usize = 16;

/// `"KEM" || I2OSP(0x0020, 2)`.
const KEM_SUITE_ID: &[u8] = b"KEM\x00\x20";
/// `"HPKE" || I2OSP(kem_id, 2) || I2OSP(kdf_id, 2) || I2OSP(aead_id, 2)`.
const HPKE_SUITE_ID: &[u8] = b"HPKE\x00\x20\x00\x01\x00\x02";
/// Mode byte for base mode.
const MODE_BASE: u8 = 0x00;

/// `LabeledExtract(salt, label, ikm)`, written into `out`.
fn labeled_extract(
    salt: &[u8],
    suite_id: &[u8],
    label: &[u8],
    ikm: &[u8],
    out: &mut [u8; HASH_LEN],
) {
    let key = hmac::Key::new(HMAC_SHA256, salt);
    let mut ctx = hmac::Context::with_key(&key);
    for part in [b"HPKE-v1".as_slice(), suite_id, label, ikm] {
        ctx.update(part);
    }
    out.copy_from_slice(ctx.sign().as_ref());
}

/// An output length for ring's HKDF-Expand.
struct Len(usize);

impl KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// `LabeledExpand(prk, label, info, L)` with `L = out.len()`.
fn labeled_expand(
    prk: &[u8; HASH_LEN],
    suite_id: &[u8],
    label: &[u8],
    info: &[u8],
    out: &mut [u8],
) -> Result<(), BundleError> {
    let length = u16::try_from(out.len())
        .map_err(|_| BundleError::Internal)?
        .to_be_bytes();
    let prk = hkdf::Prk::new_less_safe(HKDF_SHA256, prk);
    let parts = [length.as_slice(), b"HPKE-v1", suite_id, label, info];
    prk.expand(&parts, Len(out.len()))
        .and_then(|okm| okm.fill(out))
        .map_err(|_| BundleError::Internal)
}

/// The KEM's shared secret; wiped on drop.
pub type SharedSecret = Zeroizing<[u8; HASH_LEN]>;

/// DHKEM `ExtractAndExpand(dh, enc || pkR)`.
fn extract_and_expand(dh: &[u8], enc: &[u8], pk_r: &[u8]) -> Result<SharedSecret, BundleError> {
    let mut eae_prk = Zeroizing::new([0u8; HASH_LEN]);
    labeled_extract(b"", KEM_SUITE_ID, b"eae_prk", dh, &mut eae_prk);
    let mut kem_context = [0u8; 2 * PUBLIC_KEY_LEN];
    kem_context[..PUBLIC_KEY_LEN].copy_from_slice(enc);
    kem_context[PUBLIC_KEY_LEN..].copy_from_slice(pk_r);
    let mut shared = Zeroizing::new([0u8; HASH_LEN]);
    labeled_expand(
        &eae_prk,
        KEM_SUITE_ID,
        b"shared_secret",
        &kem_context,
        shared.as_mut(),
    )?;
    Ok(shared)
}

/// `Encap(pkR)`: a fresh ephemeral key from `rng`; returns the shared secret and `enc`.
pub fn encap(
    pk_r: &[u8; PUBLIC_KEY_LEN],
    rng: &dyn SecureRandom,
) -> Result<(SharedSecret, [u8; PUBLIC_KEY_LEN]), BundleError> {
    let sk_e = EphemeralPrivateKey::generate(&X25519, rng).map_err(|_| BundleError::Internal)?;
    let pk_e = sk_e
        .compute_public_key()
        .map_err(|_| BundleError::Internal)?;
    let mut enc = [0u8; PUBLIC_KEY_LEN];
    enc.copy_from_slice(pk_e.as_ref());
    let peer = UnparsedPublicKey::new(&X25519, pk_r);
    // ring fails on an all-zero DH result: the recipient key is a low-order point.
    let shared = agreement::agree_ephemeral(sk_e, &peer, |dh| extract_and_expand(dh, &enc, pk_r))
        .map_err(|_| BundleError::BadEncapsulatedKey)??;
    Ok((shared, enc))
}

/// `Decap(enc, skR)`. Consumes the recipient key: it is used once.
pub fn decap(
    enc: &[u8; PUBLIC_KEY_LEN],
    sk_r: EphemeralPrivateKey,
) -> Result<SharedSecret, BundleError> {
    let pk_r = sk_r
        .compute_public_key()
        .map_err(|_| BundleError::Internal)?;
    let peer = UnparsedPublicKey::new(&X25519, enc);
    agreement::agree_ephemeral(sk_r, &peer, |dh| extract_and_expand(dh, enc, pk_r.as_ref()))
        .map_err(|_| BundleError::BadEncapsulatedKey)?
}

/// The outputs of `KeySchedule` in base mode (no PSK); wiped on drop.
pub struct KeySchedule {
    key: [u8; KEY_LEN],
    base_nonce: [u8; NONCE_LEN],
    exporter_secret: [u8; HASH_LEN],
}

impl Drop for KeySchedule {
    fn drop(&mut self) {
        self.key.zeroize();
        self.base_nonce.zeroize();
        self.exporter_secret.zeroize();
    }
}

impl KeySchedule {
    /// `KeyScheduleS/R(mode_base, shared_secret, info, "", "")`.
    pub fn new(shared_secret: &[u8; HASH_LEN], info: &[u8]) -> Result<Self, BundleError> {
        let mut context = [0u8; 1 + 2 * HASH_LEN];
        context[0] = MODE_BASE;
        let mut hash = [0u8; HASH_LEN];
        labeled_extract(b"", HPKE_SUITE_ID, b"psk_id_hash", b"", &mut hash);
        context[1..1 + HASH_LEN].copy_from_slice(&hash);
        labeled_extract(b"", HPKE_SUITE_ID, b"info_hash", info, &mut hash);
        context[1 + HASH_LEN..].copy_from_slice(&hash);

        let mut secret = Zeroizing::new([0u8; HASH_LEN]);
        labeled_extract(shared_secret, HPKE_SUITE_ID, b"secret", b"", &mut secret);
        let mut schedule = Self {
            key: [0; KEY_LEN],
            base_nonce: [0; NONCE_LEN],
            exporter_secret: [0; HASH_LEN],
        };
        labeled_expand(&secret, HPKE_SUITE_ID, b"key", &context, &mut schedule.key)?;
        labeled_expand(
            &secret,
            HPKE_SUITE_ID,
            b"base_nonce",
            &context,
            &mut schedule.base_nonce,
        )?;
        labeled_expand(
            &secret,
            HPKE_SUITE_ID,
            b"exp",
            &context,
            &mut schedule.exporter_secret,
        )?;
        Ok(schedule)
    }

    /// Turns the schedule into an encryption context starting at sequence number 0.
    pub fn into_context(self) -> Result<Context, BundleError> {
        let key = UnboundKey::new(&AES_256_GCM, &self.key).map_err(|_| BundleError::Internal)?;
        Ok(Context {
            key: LessSafeKey::new(key),
            base_nonce: self.base_nonce,
            seq: 0,
        })
    }

    #[cfg(test)]
    pub(crate) fn parts(&self) -> (&[u8], &[u8], &[u8]) {
        (&self.key, &self.base_nonce, &self.exporter_secret)
    }
}

/// An HPKE encryption context (one direction), with its sequence number.
pub struct Context {
    key: LessSafeKey,
    base_nonce: [u8; NONCE_LEN],
    seq: u64,
}

impl Drop for Context {
    fn drop(&mut self) {
        self.base_nonce.zeroize();
    }
}

impl Context {
    /// `ComputeNonce(seq)` and advance; an exhausted counter is an error (RFC 9180 §5.2).
    fn next_nonce(&mut self) -> Result<Nonce, BundleError> {
        let mut nonce = self.base_nonce;
        for (n, s) in nonce[NONCE_LEN - 8..]
            .iter_mut()
            .zip(self.seq.to_be_bytes())
        {
            *n ^= s;
        }
        self.seq = self.seq.checked_add(1).ok_or(BundleError::Internal)?;
        Ok(Nonce::assume_unique_for_key(nonce))
    }

    /// Encrypts `in_out` in place and returns the tag to append.
    pub fn seal_in_place(
        &mut self,
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Result<[u8; TAG_LEN], BundleError> {
        let nonce = self.next_nonce()?;
        let tag = self
            .key
            .seal_in_place_separate_tag(nonce, aead::Aad::from(aad), in_out)
            .map_err(|_| BundleError::Internal)?;
        let mut out = [0u8; TAG_LEN];
        out.copy_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Decrypts `in_out` (ciphertext followed by tag) in place and returns the plaintext part.
    pub fn open_in_place<'b>(
        &mut self,
        aad: &[u8],
        in_out: &'b mut [u8],
    ) -> Result<&'b mut [u8], BundleError> {
        let nonce = self.next_nonce()?;
        self.key
            .open_in_place(nonce, aead::Aad::from(aad), in_out)
            .map_err(|_| BundleError::DecryptionFailed)
    }
}

/// `SetupBaseS(pkR, info)`: returns `enc` and the sender's context.
pub fn setup_sender(
    pk_r: &[u8; PUBLIC_KEY_LEN],
    info: &[u8],
    rng: &dyn SecureRandom,
) -> Result<([u8; PUBLIC_KEY_LEN], Context), BundleError> {
    let (shared, enc) = encap(pk_r, rng)?;
    Ok((enc, KeySchedule::new(&shared, info)?.into_context()?))
}

/// `SetupBaseR(enc, skR, info)`: the receiver's context.
pub fn setup_receiver(
    enc: &[u8; PUBLIC_KEY_LEN],
    sk_r: EphemeralPrivateKey,
    info: &[u8],
) -> Result<Context, BundleError> {
    let shared = decap(enc, sk_r)?;
    KeySchedule::new(&shared, info)?.into_context()
}

#[cfg(test)]
mod rfc9180 {
    //! The published test vector for this exact suite, pinned in `tests/data/`.
    #![allow(deprecated)]

    use super::*;
    use ring::test::rand::FixedSliceRandom;
    use serde_json::Value;

    fn vector() -> Value {
        let text = include_str!("../../tests/data/rfc9180-base-x25519-sha256-aes256gcm.json");
        serde_json::from_str::<Value>(text).unwrap()["vector"].clone()
    }

    fn bytes(v: &Value, field: &str) -> Vec<u8> {
        hex::decode(v[field].as_str().unwrap()).unwrap()
    }

    fn key32(v: &Value, field: &str) -> [u8; 32] {
        bytes(v, field).try_into().unwrap()
    }

    #[test]
    fn vector_is_for_this_suite() {
        let v = vector();
        assert_eq!(
            (v["mode"].as_u64(), v["kem_id"].as_u64()),
            (Some(0), Some(0x20))
        );
        assert_eq!(
            (v["kdf_id"].as_u64(), v["aead_id"].as_u64()),
            (Some(1), Some(2))
        );
    }

    #[test]
    fn encap_with_the_vector_key_gives_its_enc_and_shared_secret() {
        let v = vector();
        let sk_e = bytes(&v, "skEm");
        let rng = FixedSliceRandom { bytes: &sk_e };
        let (shared, enc) = encap(&key32(&v, "pkRm"), &rng).unwrap();
        assert_eq!(enc.as_slice(), bytes(&v, "enc"));
        assert_eq!(shared.as_slice(), bytes(&v, "shared_secret"));
    }

    #[test]
    fn decap_with_the_vector_key_gives_its_shared_secret() {
        let v = vector();
        let sk_r = bytes(&v, "skRm");
        let key =
            EphemeralPrivateKey::generate(&X25519, &FixedSliceRandom { bytes: &sk_r }).unwrap();
        assert_eq!(
            key.compute_public_key().unwrap().as_ref(),
            bytes(&v, "pkRm")
        );
        let shared = decap(&key32(&v, "enc"), key).unwrap();
        assert_eq!(shared.as_slice(), bytes(&v, "shared_secret"));
    }

    #[test]
    fn key_schedule_matches_key_nonce_and_exporter_secret() {
        let v = vector();
        let schedule = KeySchedule::new(&key32(&v, "shared_secret"), &bytes(&v, "info")).unwrap();
        let (key, base_nonce, exporter_secret) = schedule.parts();
        assert_eq!(key, bytes(&v, "key"));
        assert_eq!(base_nonce, bytes(&v, "base_nonce"));
        assert_eq!(exporter_secret, bytes(&v, "exporter_secret"));
    }

    #[test]
    fn encryptions_match_in_sequence_on_both_sides() {
        let v = vector();
        let info = bytes(&v, "info");
        let shared = key32(&v, "shared_secret");
        let mut sender = KeySchedule::new(&shared, &info)
            .unwrap()
            .into_context()
            .unwrap();
        let sk_r = bytes(&v, "skRm");
        let key =
            EphemeralPrivateKey::generate(&X25519, &FixedSliceRandom { bytes: &sk_r }).unwrap();
        let mut receiver = setup_receiver(&key32(&v, "enc"), key, &info).unwrap();
        let encryptions = v["encryptions"].as_array().unwrap();
        assert!(encryptions.len() >= 4);
        for (seq, e) in encryptions.iter().enumerate() {
            let (aad, pt, ct) = (bytes(e, "aad"), bytes(e, "pt"), bytes(e, "ct"));
            let mut buf = pt.clone();
            let tag = sender.seal_in_place(&aad, &mut buf).unwrap();
            buf.extend_from_slice(&tag);
            assert_eq!(buf, ct, "encryption {seq}");
            assert_eq!(
                receiver.open_in_place(&aad, &mut buf).unwrap(),
                pt.as_slice()
            );
        }
    }

    #[test]
    fn refuses_low_order_and_zero_enc() {
        // The small-order points of Curve25519 (and their non-canonical encodings), as in the
        // X25519 Wycheproof set: every one makes the DH result all-zero.
        let low_order: [&str; 7] = [
            "0000000000000000000000000000000000000000000000000000000000000000",
            "0100000000000000000000000000000000000000000000000000000000000000",
            "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
            "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        ];
        let rng = ring::rand::SystemRandom::new();
        for point in low_order {
            let enc: [u8; 32] = hex::decode(point).unwrap().try_into().unwrap();
            let key = EphemeralPrivateKey::generate(&X25519, &rng).unwrap();
            assert_eq!(
                decap(&enc, key).err(),
                Some(BundleError::BadEncapsulatedKey),
                "{point}"
            );
            assert_eq!(
                encap(&enc, &rng).err(),
                Some(BundleError::BadEncapsulatedKey),
                "{point}"
            );
        }
    }
}
