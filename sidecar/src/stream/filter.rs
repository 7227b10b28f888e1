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
//! The work per byte fed is constant, whatever the chunking. The filter keeps the prefix hashes
//! of what it holds, so matching a long form costs what it costs in `Redact`; and whether a
//! position may still begin a match is decided once for each position that may not (a position
//! ruled out stays so) and once per feed for the earliest that may: by a walk of at most 32
//! bytes in a trie of the forms' first 32 bytes while fewer than 32 bytes follow it, and after
//! that by comparing the hash of what follows with the hash of the same length of each long
//! form sharing its first 32 bytes, forms already ruled out skipped. Settled bytes are dropped
//! from the buffer only once they are at least half of it, so holding 1 MiB while bytes arrive
//! one at a time never copies the megabyte per byte.

use std::sync::Arc;

use aho_corasick::automaton::Automaton;
use aho_corasick::nfa::noncontiguous::NFA;
use aho_corasick::{Anchored, MatchKind};

use crate::redact::{BuildError, KEY, Matcher, Text, Use};
use crate::store::Store;

/// The compiled stream matcher for one store, shared by every stream.
pub struct StreamMatcher {
    matcher: Option<Matcher>,
    /// A trie of every short form and of the first `KEY` bytes of every long one, walked
    /// anchored to tell whether a tail may still grow into a match (the matcher's own
    /// automaton when no form is long).
    heads: Option<Arc<NFA>>,
}

impl std::fmt::Debug for StreamMatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let patterns = self.matcher.as_ref().map_or(0, |m| m.patterns.owners.len());
        f.debug_struct("StreamMatcher")
            .field("patterns", &patterns)
            .finish_non_exhaustive()
    }
}

impl StreamMatcher {
    /// Builds the matcher for every non-empty value of `store` and all its forms.
    pub fn build(store: &Store) -> Result<Self, BuildError> {
        let Some(matcher) = Matcher::build(store, Use::Stream)? else {
            return Ok(Self {
                matcher: None,
                heads: None,
            });
        };
        let heads = match matcher.short_trie() {
            Some(trie) => trie,
            None => Arc::new(
                NFA::builder()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(matcher.heads())
                    .map_err(|e| BuildError(e.to_string()))?,
            ),
        };
        Ok(Self {
            matcher: Some(matcher),
            heads: Some(heads),
        })
    }

    /// Whether `tail` (shorter than `KEY`) is a proper prefix of some form.
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
}

/// One stream's state: the bytes held back and the secrets seen so far.
pub struct StreamFilter<'m> {
    matcher: &'m StreamMatcher,
    /// What was read and not yet dropped: `buf[base..]` is held, `buf[..base]` is written.
    buf: Vec<u8>,
    /// Prefix hashes of `buf` (`hashes[i]` covers `buf[..i]`; empty without long forms).
    hashes: Vec<u64>,
    base: usize,
    /// No match can begin before this position that bytes to come would complete.
    closed: usize,
    /// The position last found open, and how many forms of its group are ruled out.
    candidate: (usize, usize),
    found: Vec<u32>,
}

/// Held bytes may be the start of a secret: `Debug` shows how many, never which.
impl std::fmt::Debug for StreamFilter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamFilter")
            .field("held", &self.held())
            .field("found", &self.found.len())
            .finish_non_exhaustive()
    }
}

impl<'m> StreamFilter<'m> {
    /// A filter at the start of a stream.
    pub fn new(matcher: &'m StreamMatcher) -> Self {
        Self {
            matcher,
            buf: Vec::new(),
            hashes: Vec::new(),
            base: 0,
            closed: 0,
            candidate: (usize::MAX, 0),
            found: Vec::new(),
        }
    }

    /// Takes the next bytes of the stream and appends to `out` every byte that can no longer
    /// be part of a match (with matches replaced by `***`); keeps the rest.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        let (Some(matcher), Some(heads)) = (&self.matcher.matcher, &self.matcher.heads) else {
            out.extend_from_slice(chunk);
            return;
        };
        self.buf.extend_from_slice(chunk);
        if matcher.has_long() {
            matcher.poly().push_prefixes(&mut self.hashes, chunk);
        }
        let text = Text {
            data: &self.buf,
            hashes: &self.hashes,
        };
        let (closed, candidate) = (&mut self.closed, &mut self.candidate);
        let mut open = |from: usize| {
            let mut start = from.max(*closed);
            while start < text.data.len() && !is_open(matcher, heads, text, start, candidate) {
                start += 1;
            }
            *closed = start;
            start
        };
        // Without an output limit the scan cannot fail; were it to, everything stays held
        // rather than being written unmasked.
        if let Ok(cut) = matcher.scan(text, self.base, &mut open, out, usize::MAX, &mut self.found)
        {
            self.base = cut;
        }
        self.compact();
        self.shorten_found();
    }

    /// The stream ended: appends what was held, masked where it holds a whole match.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if let Some(matcher) = &self.matcher.matcher {
            let text = Text {
                data: &self.buf,
                hashes: &self.hashes,
            };
            let end = self.buf.len();
            if let Ok(cut) = matcher.scan(
                text,
                self.base,
                &mut |_| end,
                out,
                usize::MAX,
                &mut self.found,
            ) {
                self.base = cut;
            }
        }
        self.compact();
    }

    /// How many bytes are held back now.
    pub fn held(&self) -> usize {
        self.buf.len() - self.base
    }

    /// The store positions of the secrets seen so far, sorted and each once.
    pub fn found(&self) -> Vec<usize> {
        let mut found: Vec<usize> = self.found.iter().map(|&p| p as usize).collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    /// Drops what was written once it is at least half the buffer, so each byte is moved at
    /// most once on average.
    fn compact(&mut self) {
        if self.base == 0 || self.base * 2 < self.buf.len() {
            return;
        }
        let base = self.base;
        // Moved down by hand rather than drained, so the bytes left behind past the new end
        // (copies of what is still held, written before) are wiped, not kept in spare capacity.
        let keep = self.buf.len() - base;
        self.buf.copy_within(base.., 0);
        zeroize::Zeroize::zeroize(&mut self.buf[keep..]);
        self.buf.truncate(keep);
        if !self.hashes.is_empty() {
            self.hashes.drain(..base);
        }
        self.closed = self.closed.saturating_sub(base);
        self.candidate = match self.candidate.0.checked_sub(base) {
            Some(at) => (at, self.candidate.1),
            None => (usize::MAX, 0),
        };
        self.base = 0;
    }

    /// A stream may print the same value a million times: keep the list of owners short.
    fn shorten_found(&mut self) {
        if self.found.len() > 4096 {
            self.found.sort_unstable();
            self.found.dedup();
        }
    }
}

/// Whether a match could begin at `start` that the bytes of `text` do not complete.
fn is_open(
    matcher: &Matcher,
    heads: &NFA,
    text: Text<'_>,
    start: usize,
    candidate: &mut (usize, usize),
) -> bool {
    let tail = &text.data[start..];
    if tail.len() < KEY {
        return StreamMatcher::may_continue(heads, tail);
    }
    if !matcher.has_long() {
        return false;
    }
    if candidate.0 != start {
        *candidate = (start, 0);
    }
    matcher.extends(text, start, &mut candidate.1)
}
