//! Recognising a "name" that is really a value.
//!
//! A client that passes a value where a name belongs (`Get("whk_live_5555")`) must not make the
//! audit trail record that value. Names are at most 128 bytes of `[A-Za-z0-9_]`, and only a
//! string of that shape is ever recorded as a missing name, so only values and forms (PROTOCOL
//! §8.4) that are themselves valid names can leak this way: the value itself and its unpadded
//! base64 and base64url spellings (`encodings::visit_name_shaped_forms`; every other form holds
//! a character no name does).
//!
//! So the table is built from the values alone, and the forms are undone at lookup instead of
//! being computed for every value at start-up: at start-up each value of at most 128 bytes is
//! kept as a keyed hash (never as a string, so no copy lives outside the locked arena); a missing
//! name is looked up as itself and as the bytes it decodes to in either base64 alphabet (strict,
//! canonical decoding: at most one byte string per text). A hit is confirmed against the arena,
//! since a hash alone could collide and hide a real typo, and then recorded as a placeholder.
//! Start-up pays one hash per value; only a missing name pays for decoding.
//!
//! A tenant value that an override replaced is wiped from the arena at start-up, yet it is still
//! a value the node must not be able to write into the audit trail. It is kept in
//! [`ShadowedForms`] as two independent keyed hashes, with nothing left to confirm against, so a
//! real name is mistaken for one only by a 128-bit collision under random keys.

use std::hash::{BuildHasher, RandomState};

use ax_protocol::encodings::{
    BASE64, BASE64URL, base64_decode_unpadded_into, visit_name_shaped_forms,
};
use ax_protocol::limits::MAX_NAME_LEN;
use zeroize::Zeroize;

use crate::store::Store;

/// Keyed hashes of the values that can have a name-shaped form, each with the store position
/// of its value, sorted by hash: one allocation, whatever the number of secrets.
#[derive(Debug)]
pub struct ValueNames {
    /// Random keys, so a peer cannot aim collisions at the table.
    keys: RandomState,
    entries: Vec<(u64, u32)>,
}

impl ValueNames {
    /// The table for `store`: one hash per value of at most 128 bytes, nothing for longer ones
    /// (every form is at least as long as the value, so a longer one has no name-shaped form).
    pub fn build(store: &Store) -> Self {
        let keys = RandomState::new();
        let mut entries: Vec<(u64, u32)> = store
            .iter()
            .enumerate()
            .filter(|(_, secret)| secret.value.len() <= MAX_NAME_LEN)
            .map_while(|(index, secret)| {
                let index = u32::try_from(index).ok()?;
                Some((keys.hash_one(secret.value.as_bytes()), index))
            })
            .collect();
        entries.sort_unstable();
        entries.shrink_to_fit();
        Self { keys, entries }
    }

    /// Whether `name` is a value of `store`, or a form of one, or of a value an override
    /// replaced.
    pub fn contains(&self, store: &Store, name: &str) -> bool {
        if store.shadowed_forms().contains(name) {
            return true;
        }
        let mut found = false;
        for_each_undone_form(name, |candidate| {
            found = found || self.confirms(store, name, candidate);
        });
        found
    }

    /// Whether a value hashed like `candidate` has `name` among its name-shaped forms.
    fn confirms(&self, store: &Store, name: &str, candidate: &[u8]) -> bool {
        let hash = self.keys.hash_one(candidate);
        let first = self.entries.partition_point(|&(h, _)| h < hash);
        self.entries[first..]
            .iter()
            .take_while(|&&(h, _)| h == hash)
            .any(|&(_, index)| {
                store.at(index as usize).is_some_and(|secret| {
                    let mut matched = false;
                    let mut scratch = String::new();
                    visit_name_shaped_forms(secret.value, &mut scratch, |form| {
                        matched |= form == name;
                    });
                    scratch.zeroize();
                    matched
                })
            })
    }

    /// How many values are kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no value can be mistaken for a name.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Calls `visit` with each byte string whose name-shaped form `name` could be: the name itself
/// and what it decodes to as unpadded base64 and base64url. What it decodes to may be a value,
/// so the scratch buffer is wiped.
fn for_each_undone_form(name: &str, mut visit: impl FnMut(&[u8])) {
    visit(name.as_bytes());
    let mut decoded = Vec::with_capacity(name.len());
    for alphabet in [BASE64, BASE64URL] {
        if base64_decode_unpadded_into(&mut decoded, name.as_bytes(), alphabet) {
            visit(&decoded);
        }
    }
    decoded.zeroize();
}

/// The values wiped at start-up (tenant values replaced by an override), as pairs of keyed
/// hashes: the values themselves are gone.
#[derive(Debug, Default)]
pub struct ShadowedForms {
    keys: (RandomState, RandomState),
    hashes: Vec<(u64, u64)>,
}

impl ShadowedForms {
    /// Remembers `value`, which is about to be wiped.
    pub fn add(&mut self, value: &str) {
        if value.len() <= MAX_NAME_LEN {
            self.hashes.push(hash_pair(&self.keys, value.as_bytes()));
        }
    }

    /// Sorts the table for lookups; call once every value was added.
    pub fn seal(&mut self) {
        self.hashes.sort_unstable();
        self.hashes.dedup();
        self.hashes.shrink_to_fit();
    }

    /// Whether `name` is a wiped value or one of its name-shaped forms. Exact but for a 128-bit
    /// collision: decoding is canonical, so `name` is such a form of at most one byte string
    /// per alphabet.
    pub fn contains(&self, name: &str) -> bool {
        if self.hashes.is_empty() {
            return false;
        }
        let mut found = false;
        for_each_undone_form(name, |candidate| {
            found = found
                || self
                    .hashes
                    .binary_search(&hash_pair(&self.keys, candidate))
                    .is_ok();
        });
        found
    }
}

/// Two independent keyed hashes of `bytes`: 128 bits that no peer can aim at.
fn hash_pair(keys: &(RandomState, RandomState), bytes: &[u8]) -> (u64, u64) {
    (keys.0.hash_one(bytes), keys.1.hash_one(bytes))
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
    fn every_name_shaped_form_of_every_value_is_recognised_live_or_replaced() {
        let values = [
            "whk_live_5555",
            "???~",
            "\u{fc}b\u{ff}?>",
            "a-b",
            "sk_x",
            &"Ab".repeat(48),
        ];
        let named = |prefix: &str, value: &dyn Fn(usize) -> String| -> Vec<(String, String)> {
            (0..values.len())
                .map(|i| (format!("{prefix}{i}"), value(i)))
                .collect()
        };
        let tenant = named("T", &|i| values[i].to_owned());
        // The same values once more, as tenant values that overrides replace.
        let replaced = named("R", &|i| values[i].to_owned());
        let overrides = named("R", &|_| "over".to_owned());
        let live = store(&borrow(&tenant), &[]);
        let gone = store(&borrow(&replaced), &borrow(&overrides));
        let (live_table, gone_table) = (ValueNames::build(&live), ValueNames::build(&gone));
        let mut scratch = String::new();
        let mut checked = 0;
        for value in values {
            visit_name_shaped_forms(value, &mut scratch, |form| {
                checked += 1;
                assert!(live_table.contains(&live, form), "{value:?} as {form:?}");
                assert!(
                    gone_table.contains(&gone, form),
                    "replaced {value:?} as {form:?}"
                );
                // One character off is a name like any other.
                let near = format!("{}Z", &form[..form.len() - 1]);
                if near != form {
                    assert!(!live_table.contains(&live, &near), "{near:?}");
                    assert!(!gone_table.contains(&gone, &near), "{near:?}");
                }
            });
        }
        // Each value has at least one name-shaped form here, some have three.
        assert!(checked > values.len(), "{checked}");
    }

    fn borrow(list: &[(String, String)]) -> Vec<(&str, &str)> {
        list.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect()
    }

    #[test]
    fn values_longer_than_a_name_are_not_kept() {
        let long = "a".repeat(MAX_NAME_LEN + 1);
        let store = store(&[("LONG", &long)], &[]);
        assert!(ValueNames::build(&store).is_empty());
    }
}
