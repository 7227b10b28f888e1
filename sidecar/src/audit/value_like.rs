//! Recognising a "name" that is really a value.
//!
//! A client that passes a value where a name belongs (`Get("whk_live_5555")`) must not make the
//! audit trail record that value. Names are at most 128 bytes of `[A-Za-z0-9_]`, and only a
//! string of that shape is ever recorded as a missing name, so only values and forms (PROTOCOL
//! §8.4) that are themselves valid names can leak this way. At start-up the forms of every
//! value of at most 128 bytes that can be names (the value and its base64 spellings:
//! `encodings::name_shaped_forms`) are computed once; those that are valid names are kept as keyed
//! hashes, never as strings, so no copy of a value lives outside the locked arena. A missing
//! name whose hash is known is confirmed against the arena (a hash alone could collide and hide
//! a real typo) and then recorded as a placeholder.
//!
//! A tenant value that an override replaced is wiped from the arena at start-up, yet it is still
//! a value the node must not be able to write into the audit trail. Its name-shaped forms are
//! kept as [`ShadowedForms`]: two independent keyed hashes each, with nothing left to confirm
//! against, so a real name is mistaken for one only by a 128-bit collision under random keys.

use std::hash::{BuildHasher, RandomState};

use ax_protocol::encodings::name_shaped_forms;
use ax_protocol::limits::MAX_NAME_LEN;
use ax_protocol::name::is_valid_name;

use crate::store::Store;

/// Keyed hashes of the values' forms that are valid names, each with the store position of the
/// value it came from, sorted by hash: one allocation, whatever the number of secrets.
#[derive(Debug)]
pub struct ValueNames {
    /// Random keys, so a peer cannot aim collisions at the table.
    keys: RandomState,
    entries: Vec<(u64, u32)>,
}

impl ValueNames {
    /// The table for `store`: three short encodings per value of at most 128 bytes, nothing for
    /// longer ones.
    pub fn build(store: &Store) -> Self {
        let keys = RandomState::new();
        let mut entries = Vec::new();
        for (index, secret) in store.iter().enumerate() {
            // Every form is at least as long as the value: a longer one has no name-shaped form.
            let Ok(index) = u32::try_from(index) else {
                break;
            };
            if secret.value.len() > MAX_NAME_LEN {
                continue;
            }
            for form in name_shaped_forms(secret.value) {
                if is_valid_name(&form) {
                    entries.push((keys.hash_one(form.as_bytes()), index));
                }
            }
        }
        entries.sort_unstable();
        entries.dedup();
        Self { keys, entries }
    }

    /// Whether `name` is a value of `store`, or a form of one, or of a value an override
    /// replaced.
    pub fn contains(&self, store: &Store, name: &str) -> bool {
        if store.shadowed_forms().contains(name) {
            return true;
        }
        let hash = self.keys.hash_one(name.as_bytes());
        let first = self.entries.partition_point(|&(h, _)| h < hash);
        self.entries[first..]
            .iter()
            .take_while(|&&(h, _)| h == hash)
            .any(|&(_, index)| {
                store
                    .at(index as usize)
                    .is_some_and(|s| name_shaped_forms(s.value).iter().any(|form| form == name))
            })
    }

    /// How many distinct (hash, value) entries are kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no value can be mistaken for a name.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The name-shaped forms of the values wiped at start-up (tenant values replaced by an
/// override), as pairs of keyed hashes: the values themselves are gone.
#[derive(Debug, Default)]
pub struct ShadowedForms {
    keys: (RandomState, RandomState),
    hashes: Vec<(u64, u64)>,
}

impl ShadowedForms {
    /// Remembers the name-shaped forms of `value`, which is about to be wiped.
    pub fn add(&mut self, value: &str) {
        if value.len() > MAX_NAME_LEN {
            return;
        }
        for form in name_shaped_forms(value) {
            if is_valid_name(&form) {
                self.hashes.push(self.hash(&form));
            }
        }
    }

    /// Sorts the table for lookups; call once every value was added.
    pub fn seal(&mut self) {
        self.hashes.sort_unstable();
        self.hashes.dedup();
        self.hashes.shrink_to_fit();
    }

    /// Whether `name` is a form of a wiped value.
    pub fn contains(&self, name: &str) -> bool {
        !self.hashes.is_empty() && self.hashes.binary_search(&self.hash(name)).is_ok()
    }

    fn hash(&self, text: &str) -> (u64, u64) {
        (
            self.keys.0.hash_one(text.as_bytes()),
            self.keys.1.hash_one(text.as_bytes()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::store;

    #[test]
    fn a_value_and_its_name_shaped_forms_are_recognised_and_other_names_are_not() {
        let store = store(
            &[("HOOK", "whk_live_5555"), ("DB_URL", "postgres://u:p@h/db")],
            &[],
        );
        let table = ValueNames::build(&store);
        assert!(table.contains(&store, "whk_live_5555"));
        // The unpadded base64 of the value is a valid name too.
        assert!(table.contains(&store, "d2hrX2xpdmVfNTU1NQ"));
        assert!(!table.contains(&store, "HOOK"));
        assert!(!table.contains(&store, "whk_live_5556"));
        // A value that is no valid name, in none of its forms, is not kept at all.
        assert!(!table.contains(&store, "postgres"));
    }

    #[test]
    fn a_tenant_value_an_override_replaced_is_still_recognised_after_it_was_wiped() {
        let store = store(
            &[("HOOK", "whk_live_5555"), ("KEEP", "kept_value_1")],
            &[("HOOK", "whk_override_6666")],
        );
        let table = ValueNames::build(&store);
        assert!(table.contains(&store, "whk_live_5555"));
        assert!(table.contains(&store, "d2hrX2xpdmVfNTU1NQ"));
        assert!(table.contains(&store, "whk_override_6666"));
        assert!(table.contains(&store, "kept_value_1"));
        assert!(!table.contains(&store, "whk_live_5556"));
        assert!(!table.contains(&store, "HOOK"));
    }

    #[test]
    fn values_longer_than_a_name_are_not_kept() {
        let long = "a".repeat(MAX_NAME_LEN + 1);
        let store = store(&[("LONG", &long)], &[]);
        assert!(ValueNames::build(&store).is_empty());
    }
}
