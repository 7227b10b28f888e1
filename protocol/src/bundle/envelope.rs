//! The signed envelope that carries a bundle from the control plane to one sidecar.
//!
//! ```text
//! offset       size  field
//! 0            21    magic: "ax-secrets/bundle/v1\n"
//! 21           1     L: execution id length, 1..=128
//! 22           L     execution id (A-Z a-z 0-9 . _ : -)
//! 22+L         32    enc: HPKE encapsulated key (the sender's ephemeral X25519 public key)
//! 54+L         4     C: ciphertext length, u32 big-endian, >= 16
//! 58+L         C     ciphertext: AES-256-GCM of the postcard bundle, then the 16-byte tag
//! 58+L+C       64    Ed25519 signature over bytes [0, 58+L+C)
//! ```
//!
//! HPKE `info` is bytes `[0, 22+L)` (magic, length, execution id), so the key itself is bound to
//! the execution; the AEAD's `aad` is bytes `[0, 58+L)`, everything before the ciphertext. The
//! signature covers every byte before it exactly as received, and the magic line is its domain
//! separator: no other message the control plane signs starts with it.
//!
//! Opening verifies the signature first, and trusts nothing in the envelope before that.

use std::borrow::Cow;

use ring::agreement::EphemeralPrivateKey;
use ring::rand::SecureRandom;
use ring::signature::{ED25519, Ed25519KeyPair, UnparsedPublicKey};
use zeroize::{Zeroize, Zeroizing};

use super::hpke::{self, PUBLIC_KEY_LEN, TAG_LEN};
use super::{
    Bundle, BundleError, decode_and_check, encode_into, encoded_len, validate_execution_id,
};
use crate::limits::{MAX_BUNDLE_LEN, MAX_EXECUTION_ID_LEN};

/// The first line of every v1 envelope.
pub const MAGIC: &[u8; 21] = b"ax-secrets/bundle/v1\n";
/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;
/// Length of an Ed25519 public key.
pub const SIGNING_KEY_LEN: usize = 32;
/// Bytes of an envelope besides the execution id and the ciphertext.
const FIXED_LEN: usize = MAGIC.len() + 1 + PUBLIC_KEY_LEN + 4 + SIGNATURE_LEN;

/// Seals `bundle` for the sidecar holding the private key of `recipient`, signed by `signer`.
///
/// The bundle is checked first (as [`Bundle::check_contents`]), so a control plane cannot seal
/// what a sidecar would refuse. The plaintext is written straight into the envelope buffer and
/// encrypted there, so no plaintext copy outlives this call.
pub fn seal(
    bundle: &Bundle<'_>,
    recipient: &[u8; PUBLIC_KEY_LEN],
    signer: &Ed25519KeyPair,
    rng: &dyn SecureRandom,
) -> Result<Vec<u8>, BundleError> {
    bundle.check_contents()?;
    seal_under(bundle, &bundle.execution_id, recipient, signer, rng)
}

/// [`seal`] with the header's execution id given separately (tests forge mismatches with it).
fn seal_under(
    bundle: &Bundle<'_>,
    execution_id: &str,
    recipient: &[u8; PUBLIC_KEY_LEN],
    signer: &Ed25519KeyPair,
    rng: &dyn SecureRandom,
) -> Result<Vec<u8>, BundleError> {
    validate_execution_id(execution_id)?;
    let execution_id = execution_id.as_bytes();
    let plaintext_len = encoded_len(bundle)?;
    let ciphertext_len = plaintext_len + TAG_LEN;
    let total = FIXED_LEN + execution_id.len() + ciphertext_len;
    if total > MAX_BUNDLE_LEN {
        return Err(BundleError::TooLarge { len: total });
    }
    let ciphertext_len_field =
        u32::try_from(ciphertext_len).map_err(|_| BundleError::TooLarge { len: total })?;

    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(MAGIC);
    out.push(execution_id.len() as u8); // <= 128, checked above
    out.extend_from_slice(execution_id);
    let (enc, mut context) = hpke::setup_sender(recipient, &out, rng)?;
    out.extend_from_slice(&enc);
    out.extend_from_slice(&ciphertext_len_field.to_be_bytes());
    let aad_len = out.len();
    if let Err(err) = encode_into(bundle, &mut out) {
        out.zeroize(); // may hold part of the plaintext
        return Err(err);
    }
    let (aad, plaintext) = out.split_at_mut(aad_len);
    let tag = match context.seal_in_place(aad, plaintext) {
        Ok(tag) => tag,
        Err(err) => {
            plaintext.zeroize();
            return Err(err);
        }
    };
    out.extend_from_slice(&tag);
    let signature = signer.sign(&out);
    out.extend_from_slice(signature.as_ref());
    debug_assert_eq!(out.len(), total);
    Ok(out)
}

/// The parsed fields of an envelope, borrowed from it.
struct Parts {
    execution_id_end: usize,
    enc: [u8; PUBLIC_KEY_LEN],
    ciphertext_start: usize,
    signed_end: usize,
}

fn parse(envelope: &[u8]) -> Result<Parts, BundleError> {
    if envelope.len() > MAX_BUNDLE_LEN {
        return Err(BundleError::TooLarge {
            len: envelope.len(),
        });
    }
    let Some(rest) = envelope.strip_prefix(MAGIC.as_slice()) else {
        return Err(if MAGIC.starts_with(envelope) {
            BundleError::Truncated
        } else {
            BundleError::BadMagic
        });
    };
    let (&id_len, rest) = rest.split_first().ok_or(BundleError::Truncated)?;
    let id_len = usize::from(id_len);
    if id_len == 0 || id_len > MAX_EXECUTION_ID_LEN {
        return Err(BundleError::InvalidExecutionId);
    }
    let (_, rest) = rest
        .split_at_checked(id_len)
        .ok_or(BundleError::Truncated)?;
    let (enc, rest) = rest
        .split_first_chunk::<PUBLIC_KEY_LEN>()
        .ok_or(BundleError::Truncated)?;
    let (ct_len, rest) = rest
        .split_first_chunk::<4>()
        .ok_or(BundleError::Truncated)?;
    let ct_len = u32::from_be_bytes(*ct_len) as usize;
    if ct_len < TAG_LEN {
        return Err(BundleError::LengthMismatch);
    }
    if rest.len()
        != ct_len
            .checked_add(SIGNATURE_LEN)
            .ok_or(BundleError::LengthMismatch)?
    {
        return Err(if rest.len() < ct_len + SIGNATURE_LEN {
            BundleError::Truncated
        } else {
            BundleError::LengthMismatch
        });
    }
    let execution_id_end = MAGIC.len() + 1 + id_len;
    let ciphertext_start = execution_id_end + PUBLIC_KEY_LEN + 4;
    Ok(Parts {
        execution_id_end,
        enc: *enc,
        ciphertext_start,
        signed_end: ciphertext_start + ct_len,
    })
}

/// Opens an envelope in place and returns the bundle, borrowing every string from `envelope`.
///
/// In order: parse the header; verify the Ed25519 signature over the exact bytes received
/// against `control_plane_key`; check the execution id against `expected_execution_id`;
/// HPKE-decap with `recipient` (consumed: one start, one key) and decrypt in place; decode;
/// check the contents, that the plaintext names the same execution, and the validity window at
/// `now` (seconds since the epoch).
///
/// Whatever the result, `envelope` may hold plaintext afterwards: give it memory you lock and
/// wipe (the sidecar's arena), or use [`open`], which does that for you.
pub fn open_in_place<'b>(
    envelope: &'b mut [u8],
    recipient: EphemeralPrivateKey,
    control_plane_key: &[u8],
    expected_execution_id: &str,
    now: u64,
) -> Result<Bundle<'b>, BundleError> {
    if control_plane_key.len() != SIGNING_KEY_LEN {
        return Err(BundleError::KeyLength {
            len: control_plane_key.len(),
        });
    }
    let mut key = [0u8; SIGNING_KEY_LEN];
    key.copy_from_slice(control_plane_key);
    open_in_place_trusting(envelope, recipient, &[key], expected_execution_id, now)
}

/// [`open_in_place`] for a sidecar that trusts several control-plane keys (a signing-key
/// rotation publishes the next key before it signs, PROTOCOL §13): step 2 passes when the
/// signature verifies under **any** key of `trusted`, and fails (`BadSignature`) when it
/// verifies under none or `trusted` is empty. Every other step, and their order, is unchanged.
/// The keys are public, so trying them one after the other reveals nothing.
pub fn open_in_place_trusting<'b>(
    envelope: &'b mut [u8],
    recipient: EphemeralPrivateKey,
    trusted: &[[u8; SIGNING_KEY_LEN]],
    expected_execution_id: &str,
    now: u64,
) -> Result<Bundle<'b>, BundleError> {
    let parts = parse(envelope)?;
    let (signed, signature) = envelope.split_at_mut(parts.signed_end);
    let signature: &[u8] = signature;
    if !trusted.iter().any(|key| {
        UnparsedPublicKey::new(&ED25519, key)
            .verify(signed, signature)
            .is_ok()
    }) {
        return Err(BundleError::BadSignature);
    }
    let execution_id = core::str::from_utf8(&signed[MAGIC.len() + 1..parts.execution_id_end])
        .map_err(|_| BundleError::InvalidExecutionId)?;
    validate_execution_id(execution_id)?;
    if execution_id != expected_execution_id {
        return Err(BundleError::WrongExecution);
    }
    let mut context =
        hpke::setup_receiver(&parts.enc, recipient, &signed[..parts.execution_id_end])?;
    let (aad, ciphertext) = signed.split_at_mut(parts.ciphertext_start);
    let plaintext = context.open_in_place(aad, ciphertext)?;
    let bundle = decode_and_check(plaintext, now)?;
    if bundle.execution_id != expected_execution_id {
        return Err(BundleError::WrongExecution);
    }
    Ok(bundle)
}

/// Opens a copy of `envelope` and returns an owned bundle; the decrypted copy is wiped before
/// this returns, whatever the outcome. Owned values are wiped when the bundle is dropped.
pub fn open(
    envelope: &[u8],
    recipient: EphemeralPrivateKey,
    control_plane_key: &[u8],
    expected_execution_id: &str,
    now: u64,
) -> Result<Bundle<'static>, BundleError> {
    let mut buf = Zeroizing::new(envelope.to_vec());
    open_in_place(
        &mut buf,
        recipient,
        control_plane_key,
        expected_execution_id,
        now,
    )
    .map(Bundle::into_owned)
}

/// The execution id in the header of a well-formed envelope (unverified), for diagnostics; `None` if it is not one.
pub fn execution_id_of(envelope: &[u8]) -> Option<Cow<'_, str>> {
    let parts = parse(envelope).ok()?;
    Some(String::from_utf8_lossy(
        &envelope[MAGIC.len() + 1..parts.execution_id_end],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::tests::sample;
    use ring::agreement::X25519;
    use ring::rand::SystemRandom;
    use ring::signature::KeyPair;

    struct Fixture {
        rng: SystemRandom,
        signer: Ed25519KeyPair,
    }

    impl Fixture {
        fn new() -> Self {
            let rng = SystemRandom::new();
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
            let signer = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
            Self { rng, signer }
        }

        fn recipient(&self) -> (EphemeralPrivateKey, [u8; 32]) {
            let key = EphemeralPrivateKey::generate(&X25519, &self.rng).unwrap();
            let public = key
                .compute_public_key()
                .unwrap()
                .as_ref()
                .try_into()
                .unwrap();
            (key, public)
        }

        fn public(&self) -> &[u8] {
            self.signer.public_key().as_ref()
        }

        fn sealed(&self, exec: &str) -> (EphemeralPrivateKey, Vec<u8>) {
            let (key, public) = self.recipient();
            (
                key,
                seal(&sample(exec), &public, &self.signer, &self.rng).unwrap(),
            )
        }
    }

    const NOW: u64 = 1_800_000_100;

    #[test]
    fn opens_what_it_sealed() {
        let f = Fixture::new();
        let (key, sealed) = f.sealed("exec-1");
        let bundle = open(&sealed, key, f.public(), "exec-1", NOW).unwrap();
        assert_eq!(bundle, sample("exec-1"));
        assert_eq!(execution_id_of(&sealed).as_deref(), Some("exec-1"));
    }

    #[test]
    fn the_plaintext_is_not_visible_in_the_envelope() {
        let f = Fixture::new();
        let (_, sealed) = f.sealed("exec-1");
        let hay = sealed.windows(11).any(|w| w == b"sk-test-123");
        assert!(!hay);
    }

    #[test]
    fn refuses_every_flipped_byte() {
        let f = Fixture::new();
        let (_, sealed) = f.sealed("exec-1");
        // One fresh recipient per attempt would be slow; the signature check comes first, so
        // a wrong recipient key cannot mask a missed flip: a flip that verified would then fail
        // decryption instead of succeeding, and the test asks only for refusal.
        for i in 0..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[i] ^= 0x01;
            let (key, _) = f.recipient();
            assert!(
                open(&tampered, key, f.public(), "exec-1", NOW).is_err(),
                "byte {i}"
            );
        }
    }

    #[test]
    fn refuses_every_truncation_and_any_extension() {
        let f = Fixture::new();
        let (_, sealed) = f.sealed("exec-1");
        for len in 0..sealed.len() {
            let (key, _) = f.recipient();
            let err = open(&sealed[..len], key, f.public(), "exec-1", NOW).unwrap_err();
            assert!(
                matches!(
                    err,
                    BundleError::Truncated | BundleError::LengthMismatch | BundleError::BadMagic
                ),
                "len {len}: {err:?}"
            );
        }
        let mut longer = sealed.clone();
        longer.push(0);
        let (key, _) = f.recipient();
        assert_eq!(
            open(&longer, key, f.public(), "exec-1", NOW),
            Err(BundleError::LengthMismatch)
        );
    }

    #[test]
    fn refuses_another_execution_another_signer_and_another_recipient() {
        let f = Fixture::new();
        let (key, sealed) = f.sealed("exec-1");
        assert_eq!(
            open(&sealed, key, f.public(), "exec-2", NOW),
            Err(BundleError::WrongExecution)
        );

        let (key, sealed) = f.sealed("exec-1");
        let other = Fixture::new();
        assert_eq!(
            open(&sealed, key, other.public(), "exec-1", NOW),
            Err(BundleError::BadSignature)
        );

        let (_, sealed) = f.sealed("exec-1");
        let (stranger, _) = f.recipient();
        assert_eq!(
            open(&sealed, stranger, f.public(), "exec-1", NOW),
            Err(BundleError::DecryptionFailed)
        );
    }

    #[test]
    fn opens_under_any_trusted_key_and_refuses_when_none_signed() {
        let f = Fixture::new();
        let other = Fixture::new();
        let key_of = |x: &Fixture| -> [u8; SIGNING_KEY_LEN] { x.public().try_into().unwrap() };
        let (key, mut sealed) = f.sealed("exec-1");
        let trusted = [key_of(&other), key_of(&f)];
        let bundle = open_in_place_trusting(&mut sealed, key, &trusted, "exec-1", NOW).unwrap();
        assert_eq!(bundle, sample("exec-1"));

        let (key, mut sealed) = f.sealed("exec-1");
        assert_eq!(
            open_in_place_trusting(&mut sealed, key, &[key_of(&other)], "exec-1", NOW),
            Err(BundleError::BadSignature)
        );
        let (key, mut sealed) = f.sealed("exec-1");
        assert_eq!(
            open_in_place_trusting(&mut sealed, key, &[], "exec-1", NOW),
            Err(BundleError::BadSignature)
        );
    }

    #[test]
    fn refuses_expired_and_future_bundles() {
        let f = Fixture::new();
        let (key, sealed) = f.sealed("exec-1");
        let expires_at = sample("exec-1").expires_at;
        assert!(matches!(
            open(&sealed, key, f.public(), "exec-1", expires_at),
            Err(BundleError::Expired { .. })
        ));
        let (key, sealed) = f.sealed("exec-1");
        assert!(matches!(
            open(&sealed, key, f.public(), "exec-1", 1_000),
            Err(BundleError::NotYetValid { .. })
        ));
    }

    #[test]
    fn refuses_a_validly_signed_low_order_enc() {
        let f = Fixture::new();
        let (_, sealed) = f.sealed("exec-1");
        let mut forged = sealed[..sealed.len() - SIGNATURE_LEN].to_vec();
        let enc_at = MAGIC.len() + 1 + "exec-1".len();
        forged[enc_at..enc_at + 32].fill(0);
        let signature = f.signer.sign(&forged);
        forged.extend_from_slice(signature.as_ref());
        let (key, _) = f.recipient();
        assert_eq!(
            open(&forged, key, f.public(), "exec-1", NOW),
            Err(BundleError::BadEncapsulatedKey)
        );
    }

    #[test]
    fn refuses_a_signed_plaintext_that_names_another_execution() {
        // A buggy control plane sealing exec-2's bundle under exec-1's header.
        let f = Fixture::new();
        let (key, public) = f.recipient();
        let sealed = seal_under(&sample("exec-2"), "exec-1", &public, &f.signer, &f.rng).unwrap();
        assert_eq!(
            open(&sealed, key, f.public(), "exec-1", NOW),
            Err(BundleError::WrongExecution)
        );
    }

    #[test]
    fn refuses_to_seal_an_invalid_bundle() {
        let f = Fixture::new();
        let (_, public) = f.recipient();
        let mut bundle = sample("exec/1");
        assert_eq!(
            seal(&bundle, &public, &f.signer, &f.rng),
            Err(BundleError::InvalidExecutionId)
        );
        bundle = sample("exec-1");
        bundle.secrets[0].name = Cow::Borrowed("");
        assert!(matches!(
            seal(&bundle, &public, &f.signer, &f.rng),
            Err(BundleError::InvalidName { index: 0, .. })
        ));
    }

    #[test]
    fn refuses_a_control_plane_key_of_the_wrong_length() {
        let f = Fixture::new();
        let (key, sealed) = f.sealed("exec-1");
        assert_eq!(
            open(&sealed, key, &[0; 31], "exec-1", NOW),
            Err(BundleError::KeyLength { len: 31 })
        );
    }
}
