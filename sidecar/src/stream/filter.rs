//! Masking a byte stream as it flows: the redaction engine of `Redact`, fed chunk by chunk.
//!
//! A value may arrive split across two writes (`"sk-te"` then `"st-123"`), so the filter holds
//! back the bytes that could still be the start of a match and passes everything else on at
//! once. What it holds is the suffix starting at the earliest position from which some form of
//! some value could still be completed by bytes yet to come: never more, so output that cannot
//! be part of a secret is never delayed, and never less, so no part of a secret is ever written.
//!
//! ```text
//! value "sk-test-123"; writes "key=sk-te" | "st-123\n"
//! feed "key=sk-te"   -> out "key="         held "sk-te"   ("sk-te" may begin the value)
//! feed "st-123\n"    -> out "***\n"        held ""
//! ```
//!
//! Matching is on bytes with the same leftmost-longest semantics as `Redact` (the result is
//! exactly what `Redact` would give for the whole stream at once), so bytes that are not UTF-8
//! pass through unchanged. At end of stream whatever is held is a prefix of no complete value
//! and is passed on.
//!
//! The matcher is a noncontiguous Aho-Corasick NFA rather than the `AhoCorasick` of `Redact`:
//! deciding what to hold needs its anchored transitions, which walk the pattern trie and tell
//! whether a suffix is still a prefix of some pattern. Noncontiguous, because it is the
//! automaton the builder makes first: every other kind is converted from it, which costs a
//! third more build time (about 4 ms with 1,000 secrets), and a launcher's short node waits
//! for that build at its end, while searching a node's output is never the bottleneck. Deciding costs at most one short walk per
//! position in the last `longest pattern - 1` bytes of a chunk, and nearly every walk ends at its
//! first byte.

use aho_corasick::automaton::Automaton;
use aho_corasick::nfa::noncontiguous::NFA;
use aho_corasick::{Anchored, Input, MatchKind};
use ax_protocol::limits::REDACTION_MARK;

use crate::redact::{BuildError, Owners, Patterns};
use crate::store::Store;

/// The compiled stream matcher for one store, shared by every stream.
pub struct StreamMatcher {
    nfa: Option<NFA>,
    owners: Owners,
}

impl std::fmt::Debug for StreamMatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamMatcher")
            .field("patterns", &self.owners.len())
            .finish_non_exhaustive()
    }
}

impl StreamMatcher {
    /// Builds the matcher for every non-empty value of `store` and all its forms.
    pub fn build(store: &Store) -> Result<Self, BuildError> {
        let patterns = Patterns::of(store)?;
        let nfa = if patterns.is_empty() {
            None
        } else {
            Some(
                NFA::builder()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(patterns.distinct())
                    .map_err(|e| BuildError(e.to_string()))?,
            )
        };
        Ok(Self {
            nfa,
            owners: patterns.into_owners(),
        })
    }

    /// Whether `tail` is a proper prefix of some pattern: more bytes could complete a match
    /// that starts where `tail` starts.
    fn may_continue(nfa: &NFA, tail: &[u8]) -> bool {
        let Ok(mut sid) = nfa.start_state(Anchored::Yes) else {
            return true;
        };
        for &byte in tail {
            sid = nfa.next_state(Anchored::Yes, sid, byte);
            if nfa.is_dead(sid) {
                return false;
            }
        }
        (0..=u8::MAX).any(|byte| !nfa.is_dead(nfa.next_state(Anchored::Yes, sid, byte)))
    }

    /// The earliest position at or after `from` where a match could begin that the bytes of
    /// `data` do not complete; `data.len()` if there is none.
    fn open_from(nfa: &NFA, data: &[u8], from: usize) -> usize {
        let window = nfa.max_pattern_len().saturating_sub(1);
        let first = from.max(data.len().saturating_sub(window));
        (first..data.len())
            .find(|&start| Self::may_continue(nfa, &data[start..]))
            .unwrap_or(data.len())
    }
}

/// One stream's state: the bytes held back and the secrets seen so far.
#[derive(Debug)]
pub struct StreamFilter<'m> {
    matcher: &'m StreamMatcher,
    held: Vec<u8>,
    found: Vec<u32>,
}

impl<'m> StreamFilter<'m> {
    /// A filter at the start of a stream.
    pub fn new(matcher: &'m StreamMatcher) -> Self {
        Self {
            matcher,
            held: Vec::new(),
            found: Vec::new(),
        }
    }

    /// Takes the next bytes of the stream and appends to `out` every byte that can no longer
    /// be part of a match (with matches replaced by `***`); keeps the rest.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        if self.held.is_empty() {
            let cut = scan(self.matcher, &mut self.found, chunk, false, out);
            self.held.extend_from_slice(&chunk[cut..]);
        } else {
            let mut data = std::mem::take(&mut self.held);
            data.extend_from_slice(chunk);
            let cut = scan(self.matcher, &mut self.found, &data, false, out);
            data.drain(..cut);
            self.held = data;
        }
    }

    /// The stream ended: appends what was held, masked where it holds a whole match.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let data = std::mem::take(&mut self.held);
        scan(self.matcher, &mut self.found, &data, true, out);
    }

    /// How many bytes are held back now.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// The store positions of the secrets seen so far, sorted and each once.
    pub fn found(&self) -> Vec<usize> {
        let mut found: Vec<usize> = self.found.iter().map(|&p| p as usize).collect();
        found.sort_unstable();
        found.dedup();
        found
    }
}

/// Appends the settled part of `data` to `out`, masked, and returns where the unsettled part
/// starts (`data.len()` at end of stream).
fn scan(
    matcher: &StreamMatcher,
    found: &mut Vec<u32>,
    data: &[u8],
    eof: bool,
    out: &mut Vec<u8>,
) -> usize {
    let Some(nfa) = &matcher.nfa else {
        out.extend_from_slice(data);
        return data.len();
    };
    let open = |from| {
        if eof {
            data.len()
        } else {
            StreamMatcher::open_from(nfa, data, from)
        }
    };
    let mut last = 0;
    let mut cut = open(0);
    // An unanchored search is always supported by this NFA; if it ever were not, everything
    // is held rather than written unmasked.
    let Ok(hits) = nfa.try_find_iter(Input::new(data)) else {
        return 0;
    };
    for hit in hits {
        // A match that starts where a longer one may still begin is not settled yet.
        if hit.start() >= cut {
            break;
        }
        out.extend_from_slice(&data[last..hit.start()]);
        out.extend_from_slice(REDACTION_MARK.as_bytes());
        last = hit.end();
        found.extend_from_slice(matcher.owners.of(hit.pattern().as_usize()));
        if cut < last {
            cut = open(last);
        }
    }
    out.extend_from_slice(&data[last..cut]);
    // A stream may print the same value a million times: keep the list of owners short.
    if found.len() > 4096 {
        found.sort_unstable();
        found.dedup();
    }
    cut
}
