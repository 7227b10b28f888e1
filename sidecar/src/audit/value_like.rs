//! Recognising a "name" that is really a value.
//!
//! A client that passes a value where a name belongs (`Get("whk_live_5555")`) must not make the
//! audit trail record that value. Names are at most 128 bytes of `[A-Za-z0-9_]`, and only a
//! string of that shape is ever recorded as a missing name, so only values and forms (PROTOCOL
//! §8.4) that are themselves valid names can leak this way. At start-up the forms of every
//! value of at most 128 bytes are computed once; those that are valid names are kept as keyed
//! hashes, never as strings, so no copy of a value lives outside the locked arena. A missing
//! name whose hash is known is confirmed against the arena (a hash alone could collide and hide
//! a real typo) and then recorded as a placeholder.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

use ax_protocol::encodings::forms;
use ax_protocol::limits::MAX_NAME_LEN;
use ax_protocol::name::is_valid_name;

use crate::store::Store;

/// Keyed hashes of the values' forms that are valid names, each with the store positions of the
/// values it came from.
#[derive(Debug)]
pub struct ValueNames {
    /// Random keys, so a peer cannot aim collisions at the table.
    keys: RandomState,
    by_hash: HashMap<u64, Vec<usize>>,
}

impl ValueNames {
    /// The table for `store`: a few microseconds per short value, nothing for longer ones.
    pub fn build(store: &Store) -> Self {
        let keys = RandomState::new();
        let mut by_hash: HashMap<u64, Vec<usize>> = HashMap::new();
        for (index, secret) in store.iter().enumerate() {
            if secret.value.len() > MAX_NAME_LEN {
                // Every form is at least as long as the value: none can be a name.
                continue;
            }
            for form in forms(secret.value) {
                if is_valid_name(&form) {
                    let positions = by_hash.entry(keys.hash_one(form.as_bytes())).or_default();
                    if !positions.contains(&index) {
                        positions.push(index);
                    }
                }
            }
        }
        Self { keys, by_hash }
    }

    /// Whether `name` is a value of `store`, or a form of one.
    pub fn contains(&self, store: &Store, name: &str) -> bool {
        let Some(positions) = self.by_hash.get(&self.keys.hash_one(name.as_bytes())) else {
            return false;
        };
        positions.iter().any(|&index| {
            store
                .at(index)
                .is_some_and(|s| forms(s.value).iter().any(|form| form == name))
        })
    }

    /// How many distinct hashes are kept.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// Whether no value can be mistaken for a name.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
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
    fn values_longer_than_a_name_are_not_kept() {
        let long = "a".repeat(MAX_NAME_LEN + 1);
        let store = store(&[("LONG", &long)], &[]);
        assert!(ValueNames::build(&store).is_empty());
    }
}
