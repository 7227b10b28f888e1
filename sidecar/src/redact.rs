//! The redaction engine: every effective value and its encodings, matched at once.
//!
//! One Aho-Corasick automaton (leftmost-longest) over the distinct forms of every non-empty
//! value; each pattern knows which secrets own it, since two secrets may share a value or a
//! form. The automaton is built once, on the first `Redact`, not at start-up: it holds every
//! value in several forms in ordinary memory and costs far more time and memory than the rest
//! of the sidecar (see the README's figures), which an execution that never redacts should not
//! pay. Its memory is wiped when freed, by the zeroing allocator. (The launcher's stream filter,
//! `stream::filter`, builds its own matcher from the same `Patterns`, after start-up, when
//! streams are given.)

use aho_corasick::{AhoCorasick, MatchKind};
use ax_protocol::encodings::forms;
use ax_protocol::limits::REDACTION_MARK;
use zeroize::Zeroize;

use crate::store::Store;

/// The compiled matcher for one store.
pub struct Redactor {
    automaton: Option<AhoCorasick>,
    owners: Owners,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("patterns", &self.owners.len())
            .finish_non_exhaustive()
    }
}

/// The automaton could not be built (a limit of the matcher, not of the input).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the redaction matcher: {0}")]
pub struct BuildError(pub(crate) String);

/// The distinct forms of every non-empty value of a store, with the secrets owning each.
///
/// Pattern `p` is `distinct[p]`; its owners are `owners[starts[p]..starts[p + 1]]` (store
/// positions). The pattern strings are wiped when this is dropped; both matchers build their
/// automaton from it and keep only the owner table.
pub(crate) struct Patterns {
    patterns: Vec<(String, u32)>,
    /// Index into `patterns` of the first entry of each distinct pattern.
    firsts: Vec<usize>,
    starts: Vec<u32>,
    owners: Vec<u32>,
}

impl Patterns {
    /// Every form of every non-empty value of `store`.
    pub(crate) fn of(store: &Store) -> Result<Self, BuildError> {
        let mut patterns: Vec<(String, u32)> = Vec::new();
        for (position, secret) in store.iter().enumerate() {
            if secret.value.is_empty() {
                continue;
            }
            let owner =
                u32::try_from(position).map_err(|_| BuildError("too many secrets".into()))?;
            patterns.extend(forms(secret.value).into_iter().map(|form| (form, owner)));
        }
        patterns.sort_unstable();
        patterns.dedup();
        let mut firsts = Vec::new();
        let mut starts = Vec::new();
        let mut owners = Vec::with_capacity(patterns.len());
        for (index, (pattern, owner)) in patterns.iter().enumerate() {
            if index == 0 || patterns[index - 1].0 != *pattern {
                firsts.push(index);
                starts.push(owners.len() as u32);
            }
            owners.push(*owner);
        }
        starts.push(owners.len() as u32);
        Ok(Self {
            patterns,
            firsts,
            starts,
            owners,
        })
    }

    /// The distinct patterns, in pattern-id order.
    pub(crate) fn distinct(&self) -> impl Iterator<Item = &str> + '_ {
        self.firsts.iter().map(|&i| self.patterns[i].0.as_str())
    }

    /// Whether there is nothing to match.
    pub(crate) fn is_empty(&self) -> bool {
        self.firsts.is_empty()
    }

    /// Keeps the owner table and wipes the patterns.
    pub(crate) fn into_owners(mut self) -> Owners {
        Owners {
            starts: std::mem::take(&mut self.starts),
            owners: std::mem::take(&mut self.owners),
        }
    }
}

impl Drop for Patterns {
    fn drop(&mut self) {
        for (pattern, _) in &mut self.patterns {
            pattern.zeroize();
        }
    }
}

/// Which secrets own each pattern of an automaton.
#[derive(Debug, Clone)]
pub(crate) struct Owners {
    starts: Vec<u32>,
    owners: Vec<u32>,
}

impl Owners {
    /// The store positions of the secrets whose value has pattern `p` as a form.
    pub(crate) fn of(&self, p: usize) -> &[u32] {
        &self.owners[self.starts[p] as usize..self.starts[p + 1] as usize]
    }

    /// Number of distinct patterns.
    pub(crate) fn len(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }
}

impl Redactor {
    /// Builds the matcher for every non-empty value of `store`.
    pub fn build(store: &Store) -> Result<Self, BuildError> {
        let patterns = Patterns::of(store)?;
        let automaton = if patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(patterns.distinct())
                    .map_err(|e| BuildError(e.to_string()))?,
            )
        };
        Ok(Self {
            automaton,
            owners: patterns.into_owners(),
        })
    }

    /// Appends `text` with every match replaced by `***` to `out`, and returns the store
    /// positions of the secrets found, sorted and each once.
    pub fn redact_into(&self, text: &str, out: &mut String) -> Vec<usize> {
        let mut found = Vec::new();
        let Some(automaton) = &self.automaton else {
            out.push_str(text);
            return found;
        };
        let mut last = 0;
        for hit in automaton.find_iter(text) {
            out.push_str(&text[last..hit.start()]);
            out.push_str(REDACTION_MARK);
            last = hit.end();
            let owners = self.owners.of(hit.pattern().as_usize());
            found.extend(owners.iter().map(|&o| o as usize));
        }
        out.push_str(&text[last..]);
        found.sort_unstable();
        found.dedup();
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::store;

    fn redact(r: &Redactor, text: &str) -> (String, Vec<usize>) {
        let mut out = String::new();
        let found = r.redact_into(text, &mut out);
        (out, found)
    }

    #[test]
    fn replaces_values_and_their_encodings() {
        let s = store(&[("A", "p@ss/wörd"), ("B", "token-123")], &[]);
        let r = Redactor::build(&s).unwrap();
        let text = "raw p@ss/wörd b64 cEBzcy93w7ZyZA== url p%40ss%2Fw%C3%B6rd json p@ss/w\\u00f6rd";
        let (out, found) = redact(&r, text);
        assert_eq!(out, "raw *** b64 *** url *** json ***");
        assert_eq!(found, [0]);
        let (out, found) = redact(&r, "nothing here");
        assert_eq!(out, "nothing here");
        assert!(found.is_empty());
    }

    #[test]
    fn prefers_the_longest_match_and_reports_every_owner() {
        let s = store(
            &[("SHORT", "abc"), ("LONG", "abcdef"), ("TWIN", "abc")],
            &[],
        );
        let r = Redactor::build(&s).unwrap();
        let (out, found) = redact(&r, "xabcdefx abc");
        assert_eq!(out, "x***x ***");
        // Store positions: LONG 0, SHORT 1, TWIN 2 (sorted by name).
        assert_eq!(found, [0, 1, 2]);
    }

    #[test]
    fn never_matches_empty_values() {
        let s = store(&[("EMPTY", "")], &[]);
        let r = Redactor::build(&s).unwrap();
        assert_eq!(redact(&r, "text"), ("text".to_owned(), vec![]));
        assert!(!format!("{r:?}").contains("text"));
    }
}
