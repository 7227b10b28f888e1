//! The offline sealed file: a bundle under a 32-byte key that the operator keeps in a file.
//!
//! ```text
//! offset  size  field
//! 0       27    magic: "ax-secrets/local-bundle/v1\n"
//! 27      12    nonce, random per file
//! 39      C     AES-256-GCM of the postcard bundle, then the 16-byte tag (C >= 16: rest of file)
//! ```
//!
//! The AEAD's `aad` is bytes `[0, 39)`. There is no signature: whoever holds the key can seal,
//! which is the point of offline mode (node authors and shim authors running a sidecar with no
//! control plane). A random 96-bit nonce is safe for the handful of files one key seals.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::SecureRandom;
use zeroize::{Zeroize, Zeroizing};

use super::hpke::TAG_LEN;
use super::{Bundle, BundleError, decode_and_check, encode_into, encoded_len};
use crate::limits::MAX_BUNDLE_LEN;

/// The first line of every local sealed file.
pub const LOCAL_MAGIC: &[u8; 27] = b"ax-secrets/local-bundle/v1\n";
/// Length of a local key.
pub const LOCAL_KEY_LEN: usize = 32;
const HEADER_LEN: usize = LOCAL_MAGIC.len() + NONCE_LEN;

/// An AES-256-GCM key for local sealed files.
pub struct LocalKey(LessSafeKey);

impl core::fmt::Debug for LocalKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("LocalKey([redacted])")
    }
}

impl LocalKey {
    /// A key from exactly 32 bytes (the whole content of a key file).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BundleError> {
        if bytes.len() != LOCAL_KEY_LEN {
            return Err(BundleError::KeyLength { len: bytes.len() });
        }
        let key = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| BundleError::Internal)?;
        Ok(Self(LessSafeKey::new(key)))
    }

    /// 32 fresh random bytes for a new key file; wiped on drop.
    pub fn generate(rng: &dyn SecureRandom) -> Result<Zeroizing<[u8; LOCAL_KEY_LEN]>, BundleError> {
        let mut bytes = Zeroizing::new([0u8; LOCAL_KEY_LEN]);
        rng.fill(bytes.as_mut())
            .map_err(|_| BundleError::Internal)?;
        Ok(bytes)
    }
}

/// Seals `bundle` into a local file's bytes. The bundle is checked first; the plaintext is
/// encrypted where it was written, so no copy of it outlives this call.
pub fn seal_local(
    bundle: &Bundle<'_>,
    key: &LocalKey,
    rng: &dyn SecureRandom,
) -> Result<Vec<u8>, BundleError> {
    bundle.check_contents()?;
    let total = HEADER_LEN + encoded_len(bundle)? + TAG_LEN;
    if total > MAX_BUNDLE_LEN {
        return Err(BundleError::TooLarge { len: total });
    }
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill(&mut nonce).map_err(|_| BundleError::Internal)?;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(LOCAL_MAGIC);
    out.extend_from_slice(&nonce);
    if let Err(err) = encode_into(bundle, &mut out) {
        out.zeroize(); // may hold part of the plaintext
        return Err(err);
    }
    let (aad, plaintext) = out.split_at_mut(HEADER_LEN);
    let tag = key
        .0
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&*aad),
            plaintext,
        )
        .map_err(|_| {
            plaintext.zeroize();
            BundleError::Internal
        })?;
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

/// Opens a local file's bytes in place, checking the bundle's contents and validity window at
/// `now`. As with [`super::open_in_place`], `file` may hold plaintext afterwards, whatever the
/// result: keep it in memory you wipe, or use [`open_local`].
pub fn open_local_in_place<'b>(
    file: &'b mut [u8],
    key: &LocalKey,
    now: u64,
) -> Result<Bundle<'b>, BundleError> {
    if file.len() > MAX_BUNDLE_LEN {
        return Err(BundleError::TooLarge { len: file.len() });
    }
    if !file.starts_with(LOCAL_MAGIC) {
        return Err(if LOCAL_MAGIC.starts_with(file) {
            BundleError::Truncated
        } else {
            BundleError::BadMagic
        });
    }
    if file.len() < HEADER_LEN + TAG_LEN {
        return Err(BundleError::Truncated);
    }
    let (header, ciphertext) = file.split_at_mut(HEADER_LEN);
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&header[LOCAL_MAGIC.len()..]);
    let plaintext = key
        .0
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&*header),
            ciphertext,
        )
        .map_err(|_| BundleError::DecryptionFailed)?;
    decode_and_check(plaintext, now)
}

/// Opens a copy of a local file's bytes; the decrypted copy is wiped before this returns.
pub fn open_local(file: &[u8], key: &LocalKey, now: u64) -> Result<Bundle<'static>, BundleError> {
    let mut buf = Zeroizing::new(file.to_vec());
    open_local_in_place(&mut buf, key, now).map(Bundle::into_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::tests::sample;
    use ring::rand::SystemRandom;

    const NOW: u64 = 1_800_000_100;

    fn key() -> LocalKey {
        LocalKey::from_bytes(LocalKey::generate(&SystemRandom::new()).unwrap().as_ref()).unwrap()
    }

    #[test]
    fn opens_what_it_sealed() {
        let key = key();
        let file = seal_local(&sample("local"), &key, &SystemRandom::new()).unwrap();
        assert!(file.starts_with(LOCAL_MAGIC));
        assert_eq!(open_local(&file, &key, NOW).unwrap(), sample("local"));
    }

    #[test]
    fn refuses_flips_truncation_and_the_wrong_key() {
        let key = key();
        let file = seal_local(&sample("local"), &key, &SystemRandom::new()).unwrap();
        for i in 0..file.len() {
            let mut tampered = file.clone();
            tampered[i] ^= 0x80;
            assert!(open_local(&tampered, &key, NOW).is_err(), "byte {i}");
        }
        for len in 0..file.len() {
            assert!(open_local(&file[..len], &key, NOW).is_err(), "len {len}");
        }
        assert_eq!(
            open_local(&file, &self::key(), NOW),
            Err(BundleError::DecryptionFailed)
        );
        assert_eq!(
            open_local(b"{\"secrets\":{}}", &key, NOW),
            Err(BundleError::BadMagic)
        );
    }

    #[test]
    fn key_must_be_exactly_32_bytes() {
        assert_eq!(
            LocalKey::from_bytes(&[7; 31]).err(),
            Some(BundleError::KeyLength { len: 31 })
        );
        assert_eq!(
            LocalKey::from_bytes(&[7; 33]).err(),
            Some(BundleError::KeyLength { len: 33 })
        );
        assert_eq!(
            format!("{:?}", LocalKey::from_bytes(&[7; 32]).unwrap()),
            "LocalKey([redacted])"
        );
    }

    #[test]
    fn checks_the_validity_window() {
        let key = key();
        let file = seal_local(&sample("local"), &key, &SystemRandom::new()).unwrap();
        assert!(matches!(
            open_local(&file, &key, u64::MAX),
            Err(BundleError::Expired { .. })
        ));
    }
}
