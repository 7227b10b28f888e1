//! The distinct forms of every value long enough to be masked, back to back in one arena, with the secrets
//! owning each.
//!
//! One `Vec<u8>` holds every pattern byte, so the copies of the values the matcher needs live
//! in one allocation that is wiped on drop (and could be moved to locked memory as one piece).
//! Forms are deduplicated by their hash and confirmed byte by byte, which keeps the build
//! linear in the total size of the forms: no sort of long strings, no trie of their bytes.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use ax_protocol::encodings::{forms, is_redacted};
use zeroize::Zeroize;

use super::BuildError;
use super::hash::{BuildMix, Poly};
use crate::store::Store;

/// Every distinct form of every value of a store that is masked at all (non-empty and at least
/// `MIN_REDACTED_LEN` bytes: PROTOCOL §8.4).
///
/// Pattern `p` is `arena[spans[p].0..][..spans[p].1]`; its owners are `owners.of(p)`.
pub(crate) struct Patterns {
    pub(crate) poly: Poly,
    pub(crate) arena: Vec<u8>,
    spans: Vec<(usize, u32)>,
    /// (length, hash) of every pattern, each pair once: how a window of a text finds the one
    /// pattern it may be.
    pub(crate) by_hash: HashMap<(u32, u64), u32, BuildMix>,
    pub(crate) owners: Owners,
}

/// Two different forms hashed alike under this base: build again with another.
struct Collision;

impl Patterns {
    /// Every form of every masked value of `store`.
    pub(crate) fn of(store: &Store) -> Result<Self, BuildError> {
        // A collision among the forms has probability below 2^-30 even for a bundle at the
        // limits; a few fresh bases make failing here impossible in practice.
        for _ in 0..4 {
            match Self::with(store, Poly::random()) {
                Ok(patterns) => return patterns,
                Err(Collision) => continue,
            }
        }
        Err(BuildError("hash collisions between forms".into()))
    }

    fn with(store: &Store, poly: Poly) -> Result<Result<Self, BuildError>, Collision> {
        let mut arena = Vec::new();
        let mut spans: Vec<(usize, u32)> = Vec::new();
        let mut by_hash = HashMap::with_hasher(BuildMix::default());
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        for (position, secret) in store.iter().enumerate() {
            if !is_redacted(secret.value) {
                continue;
            }
            let Ok(owner) = u32::try_from(position) else {
                return Ok(Err(BuildError("too many secrets".into())));
            };
            for mut form in forms(secret.value) {
                let bytes = form.as_bytes();
                let Ok(len) = u32::try_from(bytes.len()) else {
                    form.zeroize();
                    return Ok(Err(BuildError("a form is too long".into())));
                };
                let pattern = match by_hash.entry((len, poly.of(bytes))) {
                    Entry::Occupied(entry) => {
                        let p: u32 = *entry.get();
                        let (start, _) = spans[p as usize];
                        if arena[start..start + bytes.len()] != *bytes {
                            form.zeroize();
                            arena.zeroize();
                            return Err(Collision);
                        }
                        p
                    }
                    Entry::Vacant(entry) => {
                        let Ok(p) = u32::try_from(spans.len()) else {
                            form.zeroize();
                            return Ok(Err(BuildError("too many patterns".into())));
                        };
                        spans.push((arena.len(), len));
                        arena.extend_from_slice(bytes);
                        *entry.insert(p)
                    }
                };
                pairs.push((pattern, owner));
                form.zeroize();
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        let owners = Owners::from_sorted(spans.len(), &pairs);
        Ok(Ok(Self {
            poly,
            arena,
            spans,
            by_hash,
            owners,
        }))
    }

    /// The bytes of pattern `p`.
    pub(crate) fn bytes(&self, p: u32) -> &[u8] {
        let (start, len) = self.spans[p as usize];
        &self.arena[start..start + len as usize]
    }

    /// Where pattern `p` starts in the arena.
    pub(crate) fn start(&self, p: u32) -> usize {
        self.spans[p as usize].0
    }

    /// The length of pattern `p`.
    pub(crate) fn len_of(&self, p: u32) -> usize {
        self.spans[p as usize].1 as usize
    }

    /// Number of distinct patterns.
    pub(crate) fn count(&self) -> usize {
        self.spans.len()
    }

    /// Every pattern id, with its bytes.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &[u8])> + '_ {
        (0..self.spans.len() as u32).map(|p| (p, self.bytes(p)))
    }
}

impl Drop for Patterns {
    fn drop(&mut self) {
        self.arena.zeroize();
    }
}

/// Which secrets own each pattern.
#[derive(Debug, Clone, Default)]
pub(crate) struct Owners {
    starts: Vec<u32>,
    owners: Vec<u32>,
}

impl Owners {
    /// From (pattern, owner) pairs sorted by pattern, every pattern below `count` present.
    fn from_sorted(count: usize, pairs: &[(u32, u32)]) -> Self {
        let mut starts = Vec::with_capacity(count + 1);
        let mut owners = Vec::with_capacity(pairs.len());
        for (index, &(pattern, owner)) in pairs.iter().enumerate() {
            if index == 0 || pairs[index - 1].0 != pattern {
                starts.push(owners.len() as u32);
            }
            owners.push(owner);
        }
        starts.push(owners.len() as u32);
        Self { starts, owners }
    }

    /// The store positions of the secrets whose value has pattern `p` as a form.
    pub(crate) fn of(&self, p: u32) -> &[u32] {
        let p = p as usize;
        &self.owners[self.starts[p] as usize..self.starts[p + 1] as usize]
    }

    /// Number of distinct patterns.
    pub(crate) fn len(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }
}
