//! The execution's secrets, as served: one locked arena and a sorted index into it.
//!
//! The sealed file is read into the arena and decrypted in place, so the decoded bundle borrows
//! every name and value from locked memory. The store keeps only offsets into that memory (no
//! heap copy of any value, no allocation per secret), sorted by name for binary search and for
//! a `List` in a stable order. Overrides replace tenant values; the replaced tenant values are
//! wiped before the arena becomes read-only, and only keyed hashes of their name-shaped forms
//! are kept, so that the audit trail can still refuse to record one as a name.

use std::ops::Range;

use ax_protocol::bundle::{Bundle, BundleError, BundleSecret};

use crate::arena::{ArenaError, LockedArena};
use crate::audit::value_like::ShadowedForms;

/// Where a string lies in the arena.
#[derive(Clone, Copy, Debug)]
struct Span {
    start: u32,
    len: u32,
}

impl Span {
    fn range(self) -> Range<usize> {
        let start = self.start as usize;
        start..start + self.len as usize
    }
}

/// One effective secret: metadata in the clear, name and value as spans of the arena.
#[derive(Clone, Copy, Debug)]
struct Entry {
    name: Span,
    value: Span,
    version: u32,
    updated_at: u64,
}

/// What the bundle says about the execution; none of it is secret.
#[derive(Clone, Debug)]
pub struct ExecutionInfo {
    /// The execution this bundle was sealed for.
    pub execution_id: String,
    /// The tenant that owns the secrets.
    pub tenant: String,
    /// The environment, e.g. `production`.
    pub environment: String,
    /// The flow config whose overrides apply, if any.
    pub config: Option<String>,
    /// Unix seconds after which the bundle is no longer valid.
    pub expires_at: u64,
}

/// Why a store could not be built from an opened arena.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The bundle was refused.
    #[error("{0}")]
    Bundle(#[from] BundleError),
    /// The arena could not be made read-only.
    #[error("cannot make the secret memory read-only: {0:?}")]
    Arena(ArenaError),
    /// A decoded string did not lie in the arena (a bug: decoding must borrow).
    #[error("internal error: the bundle was not decoded in place")]
    NotInArena,
}

/// The effective secrets of one execution.
pub struct Store {
    arena: LockedArena,
    entries: Vec<Entry>,
    info: ExecutionInfo,
    overrides: usize,
    shadowed: ShadowedForms,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("secrets", &self.entries.len())
            .field("execution_id", &self.info.execution_id)
            .finish_non_exhaustive()
    }
}

/// One effective secret, borrowed from the store.
///
/// Deliberately nothing here says whether the value is an override: node code must not be able
/// to tell (PROTOCOL §8.2), so no request handler can even see it.
#[derive(Clone, Copy)]
pub struct SecretRef<'s> {
    /// The secret's name.
    pub name: &'s str,
    /// The effective value. Handle with care: never log it.
    pub value: &'s str,
    /// The version of the value.
    pub version: u32,
    /// Unix seconds of the last change.
    pub updated_at: u64,
}

impl Store {
    /// Opens the sealed bytes already in `arena` with `open`, indexes the result, wipes shadowed
    /// values and seals the arena read-only.
    pub fn open_in_arena<F>(mut arena: LockedArena, open: F) -> Result<Self, StoreError>
    where
        F: for<'b> FnOnce(&'b mut [u8]) -> Result<Bundle<'b>, BundleError>,
    {
        let (mut entries, shadowed, info, overrides) = {
            let region = arena.as_mut_slice();
            let base = region.as_ptr() as usize;
            let len = region.len();
            let bundle = open(region)?;
            let span = |s: &str| span_of(s, base, len).ok_or(StoreError::NotInArena);
            let mut entries = Vec::with_capacity(bundle.secrets.len() + bundle.overrides.len());
            let mut push = |list: &[BundleSecret<'_>]| -> Result<(), StoreError> {
                for secret in list {
                    entries.push(Entry {
                        name: span(&secret.name)?,
                        value: span(secret.value.expose())?,
                        version: secret.version,
                        updated_at: secret.updated_at,
                    });
                }
                Ok(())
            };
            push(&bundle.secrets)?;
            push(&bundle.overrides)?;
            let info = ExecutionInfo {
                execution_id: bundle.execution_id.to_string(),
                tenant: bundle.tenant.to_string(),
                environment: bundle.environment.to_string(),
                config: bundle.config.as_deref().map(str::to_owned),
                expires_at: bundle.expires_at,
            };
            let overrides = bundle.overrides.len();
            drop(bundle);
            let region = arena.as_slice();
            // Tenant secrets were pushed before overrides and neither list repeats a name (the
            // bundle checks that), so after this stable sort the override of a name is the last
            // of its run.
            entries.sort_by(|a, b| region[a.name.range()].cmp(&region[b.name.range()]));
            let mut shadowed = Vec::new();
            entries.dedup_by(|later, earlier| {
                let same = region[later.name.range()] == region[earlier.name.range()];
                if same {
                    shadowed.push(earlier.value);
                    *earlier = *later;
                }
                same
            });
            (entries, shadowed, info, overrides)
        };
        let mut shadowed_forms = ShadowedForms::default();
        let region = arena.as_mut_slice();
        for span in shadowed {
            if let Ok(value) = std::str::from_utf8(&region[span.range()]) {
                shadowed_forms.add(value);
            }
            zeroize::Zeroize::zeroize(&mut region[span.range()]);
        }
        shadowed_forms.seal();
        arena.seal_read_only().map_err(StoreError::Arena)?;
        entries.shrink_to_fit();
        Ok(Self {
            arena,
            entries,
            info,
            overrides,
            shadowed: shadowed_forms,
        })
    }

    /// The name-shaped forms of the tenant values that overrides replaced (wiped since).
    pub fn shadowed_forms(&self) -> &ShadowedForms {
        &self.shadowed
    }

    /// The execution the secrets belong to.
    pub fn info(&self) -> &ExecutionInfo {
        &self.info
    }

    /// Number of effective secrets.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no secrets at all.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of overrides the bundle carried.
    pub fn override_count(&self) -> usize {
        self.overrides
    }

    /// See [`LockedArena::wiper`].
    pub fn wiper(&self) -> crate::arena::Wiper {
        self.arena.wiper()
    }

    /// Whether the arena is locked in memory.
    pub fn is_locked(&self) -> bool {
        self.arena.is_locked()
    }

    /// The effective secret called `name`, if any.
    pub fn get(&self, name: &str) -> Option<SecretRef<'_>> {
        let region = self.arena.as_slice();
        let index = self
            .entries
            .binary_search_by(|e| region[e.name.range()].cmp(name.as_bytes()))
            .ok()?;
        Some(self.secret(&self.entries[index]))
    }

    /// The position of `name` in [`Store::iter`], if it exists.
    pub fn position(&self, name: &str) -> Option<usize> {
        let region = self.arena.as_slice();
        self.entries
            .binary_search_by(|e| region[e.name.range()].cmp(name.as_bytes()))
            .ok()
    }

    /// The secret at `index` of [`Store::iter`].
    pub fn at(&self, index: usize) -> Option<SecretRef<'_>> {
        self.entries.get(index).map(|e| self.secret(e))
    }

    /// Every effective secret, sorted by name.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = SecretRef<'_>> {
        self.entries.iter().map(|e| self.secret(e))
    }

    fn secret(&self, entry: &Entry) -> SecretRef<'_> {
        SecretRef {
            name: self.str_at(entry.name),
            value: self.str_at(entry.value),
            version: entry.version,
            updated_at: entry.updated_at,
        }
    }

    fn str_at(&self, span: Span) -> &str {
        let bytes = &self.arena.as_slice()[span.range()];
        // SAFETY: every span was taken from a `&str` decoded from these very bytes, and the
        // arena has been read-only since (shadowed values, which are zeroed, are never indexed).
        #[allow(unsafe_code)]
        unsafe {
            std::str::from_utf8_unchecked(bytes)
        }
    }
}

/// The span of `s` inside the region starting at `base` of `len` bytes, if it lies there.
fn span_of(s: &str, base: usize, len: usize) -> Option<Span> {
    let start = (s.as_ptr() as usize).checked_sub(base)?;
    let end = start.checked_add(s.len())?;
    (end <= len).then_some(Span {
        start: u32::try_from(start).ok()?,
        len: u32::try_from(s.len()).ok()?,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ax_protocol::SecretText;
    use ax_protocol::bundle::local::{LocalKey, open_local_in_place, seal_local};
    use ring::rand::SystemRandom;
    use std::borrow::Cow;

    /// A store holding `secrets` and `overrides`, opened the way the daemon opens one.
    pub(crate) fn store(secrets: &[(&str, &str)], overrides: &[(&str, &str)]) -> Store {
        let list = |pairs: &[(&str, &str)]| -> Vec<BundleSecret<'static>> {
            pairs
                .iter()
                .enumerate()
                .map(|(i, (name, value))| BundleSecret {
                    name: Cow::Owned((*name).to_owned()),
                    value: SecretText::owned((*value).to_owned()),
                    version: i as u32 + 1,
                    created_at: 10,
                    updated_at: 20 + i as u64,
                })
                .collect()
        };
        let bundle = Bundle {
            tenant: Cow::Borrowed("acme"),
            execution_id: Cow::Borrowed("exec-1"),
            environment: Cow::Borrowed("test"),
            config: None,
            issued_at: 1_000,
            expires_at: 2_000,
            secrets: list(secrets),
            overrides: list(overrides),
        };
        let key = [7u8; 32];
        let sealed = seal_local(
            &bundle,
            &LocalKey::from_bytes(&key).unwrap(),
            &SystemRandom::new(),
        )
        .unwrap();
        let (mut arena, _) = LockedArena::new(sealed.len()).unwrap();
        arena.as_mut_slice().copy_from_slice(&sealed);
        let key = LocalKey::from_bytes(&key).unwrap();
        Store::open_in_arena(arena, |buf| open_local_in_place(buf, &key, 1_500)).unwrap()
    }

    #[test]
    fn finds_every_secret_by_exact_name() {
        let s = store(&[("B", "two"), ("A", "one"), ("EMPTY", "")], &[]);
        assert_eq!(s.get("A").unwrap().value, "one");
        assert_eq!(s.get("B").unwrap().value, "two");
        assert_eq!(s.get("EMPTY").unwrap().value, "");
        assert!(s.get("a").is_none(), "names are case-sensitive");
        assert!(s.get("C").is_none());
        assert!(s.get("").is_none());
        let names: Vec<_> = s.iter().map(|x| x.name).collect();
        assert_eq!(names, ["A", "B", "EMPTY"]);
        assert_eq!(s.position("B"), Some(1));
        assert_eq!(s.at(1).unwrap().name, "B");
        assert_eq!(s.info().execution_id, "exec-1");
    }

    #[test]
    fn an_override_replaces_the_tenant_value_and_the_old_one_is_wiped() {
        let s = store(
            &[("API", "tenant-value-AAAA"), ("OTHER", "x")],
            &[("API", "override-value"), ("ONLY_OVERRIDE", "o")],
        );
        let api = s.get("API").unwrap();
        assert_eq!(api.value, "override-value");
        assert_eq!(s.get("OTHER").unwrap().value, "x");
        assert_eq!(s.get("ONLY_OVERRIDE").unwrap().value, "o");
        assert_eq!(s.len(), 3);
        assert_eq!(s.override_count(), 2);
        let arena = s.arena.as_slice();
        assert!(
            !arena.windows(17).any(|w| w == b"tenant-value-AAAA"),
            "the shadowed tenant value must be wiped from the arena"
        );
    }

    #[test]
    fn debug_output_shows_no_value() {
        let s = store(&[("API", "super-secret-value")], &[]);
        assert!(!format!("{s:?}").contains("super-secret"));
    }
}
