//! Encryption at rest, by envelope: a master key (a 32-byte file the operator keeps) wraps one
//! random data key per tenant, and each value is sealed with its tenant's data key.
//!
//! Every seal is AES-256-GCM (ring) with a fresh random 96-bit nonce, stored as
//! `nonce || ciphertext || tag`. The additional data binds what the bytes are *for* — the
//! tenant, the scope (tenant-wide or a config's override), the name and the version of a
//! value — so a row copied to another name, tenant, scope or version no longer opens: the
//! database can be read or rewritten by an attacker without a value being served under a name
//! it was not saved under.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use super::{Scope, StoreError};

/// Bytes in a key.
pub const KEY_LEN: usize = 32;

/// The prefix of every AAD: the format of this store, so no other use of the key can collide.
const AAD_PREFIX: &str = "ax-control-plane/v1";

/// What the master-key check row holds (sealed); it opens only under the right master key.
pub const CHECK_PLAINTEXT: &[u8] = b"ax-control-plane master key check";

/// A 256-bit AES-GCM key; the bytes are wiped on drop.
pub struct SealingKey {
    bytes: Zeroizing<[u8; KEY_LEN]>,
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey([redacted])")
    }
}

/// The master key, read from `--master-key-file`.
pub type MasterKey = SealingKey;

impl SealingKey {
    /// Reads a master key file: exactly 32 bytes, not readable or writable by group or others.
    pub fn from_file(path: &Path) -> Result<Self, StoreError> {
        let read_err = |source| StoreError::MasterKeyRead {
            path: path.to_owned(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(read_err)?;
        let mode = meta.mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(StoreError::MasterKeyMode {
                path: path.to_owned(),
                mode,
            });
        }
        if meta.len() != KEY_LEN as u64 {
            return Err(StoreError::MasterKeyLength {
                path: path.to_owned(),
                len: meta.len(),
            });
        }
        let bytes = Zeroizing::new(std::fs::read(path).map_err(read_err)?);
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        if bytes.len() != KEY_LEN {
            return Err(StoreError::MasterKeyLength {
                path: path.to_owned(),
                len: bytes.len() as u64,
            });
        }
        key.copy_from_slice(&bytes);
        Ok(Self { bytes: key })
    }

    /// A fresh random key (a tenant's data key).
    pub fn generate(rng: &SystemRandom) -> Result<Self, StoreError> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        rng.fill(key.as_mut()).map_err(|_| StoreError::Random)?;
        Ok(Self { bytes: key })
    }

    /// A key from bytes just opened (a data key); `None` if they are not 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        if bytes.len() != KEY_LEN {
            return None;
        }
        key.copy_from_slice(bytes);
        Some(Self { bytes: key })
    }

    /// The raw bytes, to be wrapped by the master key.
    pub fn bytes(&self) -> &[u8] {
        self.bytes.as_ref()
    }

    fn aead(&self) -> LessSafeKey {
        // A 32-byte key is always accepted for AES-256-GCM.
        #[allow(clippy::expect_used)]
        let unbound = UnboundKey::new(&AES_256_GCM, self.bytes.as_ref()).expect("a 32-byte key");
        LessSafeKey::new(unbound)
    }

    /// `nonce || ciphertext || tag` of `plaintext`, bound to `aad`.
    pub fn seal(
        &self,
        rng: &SystemRandom,
        aad: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill(&mut nonce).map_err(|_| StoreError::Random)?;
        let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + AES_256_GCM.tag_len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let mut body = out.split_off(NONCE_LEN);
        self.aead()
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad.as_bytes()),
                &mut body,
            )
            .map_err(|_| StoreError::Seal)?;
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// The plaintext of a [`seal`](Self::seal) under the same `aad`, or `None` when the bytes
    /// were changed, moved (another AAD) or sealed with another key. The result is wiped on
    /// drop.
    pub fn open(&self, aad: &str, sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if sealed.len() < NONCE_LEN + AES_256_GCM.tag_len() {
            return None;
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buffer = Zeroizing::new(body.to_vec());
        let len = self
            .aead()
            .open_in_place(nonce, Aad::from(aad.as_bytes()), buffer.as_mut_slice())
            .ok()?
            .len();
        buffer.truncate(len);
        Some(buffer)
    }
}

/// The AAD of a value: tenant, scope, name and version. Labels and names cannot hold a NUL,
/// so the fields cannot run into each other.
pub fn value_aad(tenant: &str, scope: Scope<'_>, name: &str, version: u32) -> String {
    format!(
        "{AAD_PREFIX}/value\0{tenant}\0{}\0{name}\0{version}",
        scope.label()
    )
}

/// The AAD of a tenant's wrapped data key.
pub fn data_key_aad(tenant: &str) -> String {
    format!("{AAD_PREFIX}/data-key\0{tenant}")
}

/// The AAD of a kept identity part (`signing-key`, `tls`) or of the master-key check.
pub fn identity_aad(what: &str) -> String {
    format!("{AAD_PREFIX}/identity\0{what}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_under_its_own_aad_and_bytes() {
        let rng = SystemRandom::new();
        let key = SealingKey::generate(&rng).unwrap();
        let aad = value_aad("acme", Scope::Tenant, "API_KEY", 1);
        let sealed = key.seal(&rng, &aad, b"marker-value").unwrap();
        assert_eq!(key.open(&aad, &sealed).unwrap().as_slice(), b"marker-value");
        for other in [
            value_aad("acme", Scope::Tenant, "API_KEY", 2),
            value_aad("acme", Scope::Tenant, "OTHER", 1),
            value_aad("other", Scope::Tenant, "API_KEY", 1),
            value_aad("acme", Scope::Config("nightly"), "API_KEY", 1),
        ] {
            assert!(key.open(&other, &sealed).is_none(), "{other:?} opened");
        }
        let mut tampered = sealed.clone();
        tampered[NONCE_LEN] ^= 1;
        assert!(key.open(&aad, &tampered).is_none());
        let another = SealingKey::generate(&rng).unwrap();
        assert!(another.open(&aad, &sealed).is_none());
    }

    #[test]
    fn two_seals_of_one_value_differ_by_their_nonce() {
        let rng = SystemRandom::new();
        let key = SealingKey::generate(&rng).unwrap();
        let a = key.seal(&rng, "x", b"same").unwrap();
        let b = key.seal(&rng, "x", b"same").unwrap();
        assert_ne!(a, b);
    }
}
