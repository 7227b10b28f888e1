//! The control plane's Ed25519 signing keys and their rotation (PROTOCOL §13).
//!
//! Exactly one key is **current**: it signs every envelope. A rotation first makes a **next**
//! key, which is published (listed by `GET /v1/signing-keys`, so launchers can give sidecars
//! both) but signs nothing; promoting it makes it current and the old current key
//! **previous**: still published, because sidecars started with only the old key may still be
//! running or starting, until an operator retires it. There is never a moment in which a
//! sidecar given the published keys refuses a bundle.
//!
//! Every change is computed as a new list of [`StoredKey`]s, written by the store, and only
//! then applied ([`Keyring::from_stored`]), like every other change of the control plane.

use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Most keys published at once: the sidecar reads at most 16 from its key file.
pub const MAX_PUBLISHED_KEYS: usize = 16;

/// What a key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Signs every envelope.
    Current,
    /// Published, signs nothing yet.
    Next,
    /// Signed before the last promotion; still published until retired.
    Previous,
}

impl Role {
    /// As stored and listed.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Current => "current",
            Role::Next => "next",
            Role::Previous => "previous",
        }
    }

    /// From the stored column.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "current" => Some(Role::Current),
            "next" => Some(Role::Next),
            "previous" => Some(Role::Previous),
            _ => None,
        }
    }
}

/// A key as the store keeps it (the PKCS#8 document is sealed at rest).
pub struct StoredKey {
    /// Its id ([`key_id`]).
    pub id: String,
    /// Its role.
    pub role: Role,
    /// When it was made, seconds since the epoch (0 for a key kept before rotation existed).
    pub created_at: u64,
    /// Ed25519 PKCS#8 v2 DER, wiped on drop.
    pub pkcs8: Zeroizing<Vec<u8>>,
}

impl StoredKey {
    fn copy(&self) -> Self {
        Self {
            id: self.id.clone(),
            role: self.role,
            created_at: self.created_at,
            pkcs8: self.pkcs8.clone(),
        }
    }
}

/// Why a rotation step was refused; the messages go to the admin caller.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyringError {
    /// A next key exists already.
    #[error("a next signing key is already published; promote it or retire it first")]
    NextExists,
    /// No next key to promote.
    #[error("there is no next signing key to promote; create one first")]
    NoNext,
    /// Retiring the current key would leave nothing to sign with.
    #[error("the current signing key cannot be retired; promote another key first")]
    RetireCurrent,
    /// Too many keys published.
    #[error("{MAX_PUBLISHED_KEYS} signing keys are published already; retire one first")]
    Full,
    /// No such key.
    #[error("no such signing key")]
    NotFound,
    /// A key does not parse, or the list has not exactly one current key.
    #[error("the stored signing keys cannot be read")]
    Unreadable,
    /// The random generator failed.
    #[error("cannot generate an Ed25519 signing key")]
    Random,
}

/// The id of a key: the first 8 bytes of the SHA-256 of its public key, in hex. Public, stable,
/// and short enough for a URL.
pub fn key_id(public: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, public);
    digest.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

struct Entry {
    stored: StoredKey,
    pair: Ed25519KeyPair,
}

/// The published keys, the current one first.
pub struct Keyring {
    entries: Vec<Entry>,
}

impl Keyring {
    /// A keyring of one current key (a first start, or a database from before rotation).
    pub fn single(pkcs8: Zeroizing<Vec<u8>>, created_at: u64) -> Result<Self, KeyringError> {
        let pair = Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|_| KeyringError::Unreadable)?;
        let stored = StoredKey {
            id: key_id(pair.public_key().as_ref()),
            role: Role::Current,
            created_at,
            pkcs8,
        };
        Self::from_stored(vec![stored])
    }

    /// From the store's list: exactly one current key, at most one next, each key parsing and
    /// matching its id.
    pub fn from_stored(keys: Vec<StoredKey>) -> Result<Self, KeyringError> {
        let count = |role| keys.iter().filter(|k| k.role == role).count();
        if count(Role::Current) != 1 || count(Role::Next) > 1 || keys.len() > MAX_PUBLISHED_KEYS {
            return Err(KeyringError::Unreadable);
        }
        let mut entries = Vec::with_capacity(keys.len());
        for stored in keys {
            let pair =
                Ed25519KeyPair::from_pkcs8(&stored.pkcs8).map_err(|_| KeyringError::Unreadable)?;
            if key_id(pair.public_key().as_ref()) != stored.id {
                return Err(KeyringError::Unreadable);
            }
            entries.push(Entry { stored, pair });
        }
        let rank = |r: Role| match r {
            Role::Current => 0,
            Role::Next => 1,
            Role::Previous => 2,
        };
        entries.sort_by_key(|e| (rank(e.stored.role), e.stored.created_at));
        Ok(Self { entries })
    }

    /// The key that signs.
    pub fn signer(&self) -> &Ed25519KeyPair {
        // `from_stored` admits only lists with one current key, sorted first.
        &self.entries[0].pair
    }

    /// The current key's PKCS#8 document (kept in the identity as well).
    pub fn current_pkcs8(&self) -> &[u8] {
        &self.entries[0].stored.pkcs8
    }

    /// The current public key, standard base64.
    pub fn current_b64(&self) -> String {
        STANDARD.encode(self.signer().public_key().as_ref())
    }

    /// The list as the store keeps it.
    pub fn stored(&self) -> Vec<StoredKey> {
        self.entries.iter().map(|e| e.stored.copy()).collect()
    }

    /// The published keys in the format of `ax-sidecar --control-plane-key`: a comment naming
    /// each key's id and role, then its line; the current key first.
    pub fn published_file(&self) -> String {
        let mut out = String::new();
        for e in &self.entries {
            out.push_str(&format!(
                "# {} {}\n{}\n",
                e.stored.id,
                e.stored.role.as_str(),
                STANDARD.encode(e.pair.public_key().as_ref())
            ));
        }
        out
    }

    /// The published keys' lines only, current first: the state directory's
    /// `control-plane.pub`, which stays a single base64 line until a rotation begins.
    pub fn key_lines(&self) -> String {
        self.entries
            .iter()
            .map(|e| format!("{}\n", STANDARD.encode(e.pair.public_key().as_ref())))
            .collect()
    }

    /// The published keys as JSON, for the admin listing.
    pub fn to_json(&self) -> Value {
        let keys: Vec<Value> = self
            .entries
            .iter()
            .map(|e| {
                json!({
                    "id": e.stored.id,
                    "role": e.stored.role.as_str(),
                    "public_key": STANDARD.encode(e.pair.public_key().as_ref()),
                    "created_at": e.stored.created_at,
                })
            })
            .collect();
        json!({ "keys": keys })
    }

    /// The list with a fresh next key added; returns it and the new key's id.
    pub fn with_next(
        &self,
        rng: &SystemRandom,
        now: u64,
    ) -> Result<(Vec<StoredKey>, String), KeyringError> {
        if self.entries.iter().any(|e| e.stored.role == Role::Next) {
            return Err(KeyringError::NextExists);
        }
        if self.entries.len() >= MAX_PUBLISHED_KEYS {
            return Err(KeyringError::Full);
        }
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(rng).map_err(|_| KeyringError::Random)?;
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| KeyringError::Random)?;
        let id = key_id(pair.public_key().as_ref());
        let mut keys = self.stored();
        keys.push(StoredKey {
            id: id.clone(),
            role: Role::Next,
            created_at: now,
            pkcs8: Zeroizing::new(pkcs8.as_ref().to_vec()),
        });
        Ok((keys, id))
    }

    /// The list with the next key current and the current one previous.
    pub fn promoted(&self) -> Result<Vec<StoredKey>, KeyringError> {
        let mut keys = self.stored();
        if !keys.iter().any(|k| k.role == Role::Next) {
            return Err(KeyringError::NoNext);
        }
        for k in &mut keys {
            k.role = match k.role {
                Role::Current => Role::Previous,
                Role::Next => Role::Current,
                Role::Previous => Role::Previous,
            };
        }
        Ok(keys)
    }

    /// The list without key `id` (a next or previous key; never the current one).
    pub fn without(&self, id: &str) -> Result<Vec<StoredKey>, KeyringError> {
        let keys = self.stored();
        match keys.iter().find(|k| k.id == id) {
            None => Err(KeyringError::NotFound),
            Some(k) if k.role == Role::Current => Err(KeyringError::RetireCurrent),
            Some(_) => Ok(keys.into_iter().filter(|k| k.id != id).collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn fresh() -> Keyring {
        let rng = SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        Keyring::single(Zeroizing::new(pkcs8.as_ref().to_vec()), 1).unwrap()
    }

    #[test]
    fn a_rotation_publishes_promotes_and_retires_in_that_order() {
        let rng = SystemRandom::new();
        let ring = fresh();
        let old = ring.current_b64();
        assert_eq!(ring.promoted().err(), Some(KeyringError::NoNext));
        let (keys, next_id) = ring.with_next(&rng, 2).unwrap();
        let ring = Keyring::from_stored(keys).unwrap();
        assert_eq!(ring.current_b64(), old, "the next key does not sign yet");
        assert_eq!(
            ring.with_next(&rng, 3).err(),
            Some(KeyringError::NextExists)
        );
        let ring = Keyring::from_stored(ring.promoted().unwrap()).unwrap();
        assert_ne!(ring.current_b64(), old);
        assert_eq!(ring.entries[0].stored.id, next_id);
        assert!(
            ring.published_file().contains(&old),
            "the old key stays published"
        );
        assert_eq!(
            ring.without(&next_id).err(),
            Some(KeyringError::RetireCurrent)
        );
        assert_eq!(ring.without("0000").err(), Some(KeyringError::NotFound));
        let old_id = ring.entries[1].stored.id.clone();
        let ring = Keyring::from_stored(ring.without(&old_id).unwrap()).unwrap();
        assert!(!ring.published_file().contains(&old));
        assert_eq!(ring.entries.len(), 1);
    }

    #[test]
    fn a_stored_list_without_exactly_one_current_key_or_with_a_wrong_id_is_refused() {
        let ring = fresh();
        let mut keys = ring.stored();
        keys[0].role = Role::Previous;
        assert!(Keyring::from_stored(keys).is_err());
        let mut keys = ring.stored();
        keys[0].id = "ffffffffffffffff".to_owned();
        assert!(Keyring::from_stored(keys).is_err());
    }

    #[test]
    fn the_published_file_is_one_comment_and_one_key_line_per_key() {
        let rng = SystemRandom::new();
        let (keys, _) = fresh().with_next(&rng, 2).unwrap();
        let file = Keyring::from_stored(keys).unwrap().published_file();
        let lines: Vec<&str> = file.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("# ") && lines[0].ends_with(" current"));
        assert!(lines[2].ends_with(" next"));
        assert_eq!(lines[1].len(), 44);
        assert_eq!(lines[3].len(), 44);
    }
}
