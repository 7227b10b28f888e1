//! Leftmost-longest matching of every pattern at once, in time linear in the text.
//!
//! Patterns of at most [`KEY`] bytes ("short") go into one Aho-Corasick automaton, whole.
//! A longer pattern is found by its first `KEY` bytes, its key: at each position of the text
//! the hash of the next `KEY` bytes (from the text's prefix hashes, so constant time) is looked
//! up among the keys (a bitmap first, then a map); where a key is found, each distinct length of
//! the long patterns sharing it is checked, longest first, by the hash of the window of that
//! length, and a window that hashes like a pattern is confirmed byte by byte. A confirmed match
//! is consumed by the scan, so the comparison is paid for by the bytes it masks.
//!
//! The cost per text byte is therefore constant: one hash, one bitmap probe, and where a key
//! occurs one probe per distinct length of the long forms that share that key (one or two for
//! ordinary secrets; the bundle decides it, never the text). Building costs one pass over the
//! forms plus an automaton over at most `KEY` bytes of each, instead of a trie of every byte of
//! every form, which is what made a 1 MiB value cost seconds and gigabytes.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use aho_corasick::automaton::Automaton;
use aho_corasick::nfa::noncontiguous::NFA;
use aho_corasick::{AhoCorasick, Input, MatchKind};
use ax_protocol::limits::REDACTION_MARK;

use super::hash::{BuildMix, Poly};
use super::patterns::Patterns;
use super::{BuildError, OverLimit};
use crate::store::Store;

/// Patterns up to this length are matched whole by the automaton; longer ones by a key of
/// this length and a hash of the rest.
pub(crate) const KEY: usize = 32;

/// One arena prefix hash is kept for every this many arena bytes (an eighth of a byte of
/// memory per pattern byte); the stream filter extends the nearest one to any length.
const SAMPLE: usize = 64;

/// A match: `start..end` of the text is pattern `pattern`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hit {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) pattern: u32,
}

/// A text and its prefix hashes (empty when the matcher has no long pattern).
#[derive(Clone, Copy)]
pub(crate) struct Text<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) hashes: &'a [u64],
}

/// The long patterns sharing one key hash.
struct Group {
    /// Their distinct lengths, longest first, each with `base^length`.
    lengths: Box<[(u32, u64)]>,
    /// The patterns themselves, each with the hash of the arena before it.
    members: Box<[(u32, u64)]>,
}

/// The automaton of the short patterns: the fastest to search for `Redact`, the one built
/// first (and walkable anchored) for the stream filter, which waits for the build at a node's
/// start and can then use the same trie to decide what to hold.
enum Short {
    Search(AhoCorasick),
    Walk(Arc<NFA>),
}

impl Short {
    fn try_find(&self, input: &Input<'_>) -> Option<aho_corasick::Match> {
        // The search mode is tried at build time, so neither fails here.
        match self {
            Self::Search(automaton) => automaton.try_find(input.clone()).ok()?,
            Self::Walk(nfa) => nfa.try_find(input).ok()?,
        }
    }
}

/// Whom a matcher is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Use {
    /// `Redact`: whole texts.
    Redact,
    /// The stream filter.
    Stream,
}

/// Everything needed to match the patterns of one store.
pub(crate) struct Matcher {
    pub(crate) patterns: Patterns,
    short: Option<Short>,
    /// The pattern id of each automaton pattern.
    short_ids: Vec<u32>,
    max_short: usize,
    groups: HashMap<u64, u32, BuildMix>,
    group_list: Vec<Group>,
    /// One bit per hash bucket of the keys: most windows of a text are no key, and this
    /// answers them without a map probe.
    bitmap: Vec<u64>,
    key_pow: u64,
    /// Prefix hashes of the arena at every `SAMPLE` bytes (only with long patterns).
    samples: Vec<u64>,
}

impl Matcher {
    /// The matcher for every non-empty value of `store`, or `None` if there is none.
    pub(crate) fn build(store: &Store, usage: Use) -> Result<Option<Self>, BuildError> {
        let patterns = Patterns::of(store)?;
        if patterns.count() == 0 {
            return Ok(None);
        }
        let poly = patterns.poly;
        let mut short_ids = Vec::new();
        let mut groups: HashMap<u64, u32, BuildMix> = HashMap::default();
        let mut members: Vec<Vec<u32>> = Vec::new();
        for (p, bytes) in patterns.iter() {
            if bytes.len() <= KEY {
                short_ids.push(p);
                continue;
            }
            let next = members.len() as u32;
            let g = *groups.entry(poly.of(&bytes[..KEY])).or_insert(next);
            if g == next {
                members.push(Vec::new());
            }
            members[g as usize].push(p);
        }
        let max_short = short_ids
            .iter()
            .map(|&p| patterns.len_of(p))
            .max()
            .unwrap_or(0);
        let short = if short_ids.is_empty() {
            None
        } else {
            let short_patterns = short_ids.iter().map(|&p| patterns.bytes(p));
            let short = match usage {
                Use::Redact => Short::Search(
                    AhoCorasick::builder()
                        .match_kind(MatchKind::LeftmostLongest)
                        .build(short_patterns)
                        .map_err(|e| BuildError(e.to_string()))?,
                ),
                Use::Stream => Short::Walk(Arc::new(
                    NFA::builder()
                        .match_kind(MatchKind::LeftmostLongest)
                        .build(short_patterns)
                        .map_err(|e| BuildError(e.to_string()))?,
                )),
            };
            // The one search mode used below; were it unsupported, fail here, not in a search.
            let unsupported = match &short {
                Short::Search(a) => a.try_find(Input::new("")).err(),
                Short::Walk(n) => n.try_find(&Input::new("")).err(),
            };
            if let Some(e) = unsupported {
                return Err(BuildError(e.to_string()));
            }
            Some(short)
        };
        let mut samples = Vec::new();
        if !members.is_empty() {
            samples.reserve(patterns.arena.len() / SAMPLE + 1);
            samples.push(0);
            let mut h = 0;
            for chunk in patterns.arena.chunks(SAMPLE) {
                h = poly.extend(h, chunk);
                if chunk.len() == SAMPLE {
                    samples.push(h);
                }
            }
        }
        let group_list = members
            .into_iter()
            .map(|members| {
                let mut lengths: Vec<u32> =
                    members.iter().map(|&p| patterns.len_of(p) as u32).collect();
                lengths.sort_unstable_by(|a, b| b.cmp(a));
                lengths.dedup();
                Group {
                    lengths: lengths
                        .into_iter()
                        .map(|len| (len, poly.pow(len as usize)))
                        .collect(),
                    members: members
                        .into_iter()
                        .map(|p| {
                            (
                                p,
                                arena_hash(poly, &samples, &patterns.arena, patterns.start(p)),
                            )
                        })
                        .collect(),
                }
            })
            .collect::<Vec<_>>();
        let bits = (group_list.len() * 64).next_power_of_two().max(1024);
        let mut bitmap = vec![0u64; bits / 64];
        for &key in groups.keys() {
            let bit = bucket(key, bits);
            bitmap[bit / 64] |= 1 << (bit % 64);
        }
        Ok(Some(Self {
            key_pow: poly.pow(KEY),
            patterns,
            short,
            short_ids,
            max_short,
            groups,
            group_list,
            bitmap,
            samples,
        }))
    }

    /// Whether there is a pattern longer than [`KEY`] (the text then needs prefix hashes).
    pub(crate) fn has_long(&self) -> bool {
        !self.group_list.is_empty()
    }

    /// The hash function of the matcher.
    pub(crate) fn poly(&self) -> Poly {
        self.patterns.poly
    }

    /// The trie of the short patterns, when it is also the trie of every head (no pattern is
    /// long) and the matcher was built for a stream.
    pub(crate) fn short_trie(&self) -> Option<Arc<NFA>> {
        match &self.short {
            Some(Short::Walk(nfa)) if !self.has_long() => Some(Arc::clone(nfa)),
            _ => None,
        }
    }

    /// Every distinct byte string a match can begin with, whole: the short patterns and the
    /// keys of the long ones. A stream filter walks a trie of them to decide what to hold.
    pub(crate) fn heads(&self) -> Vec<&[u8]> {
        let mut seen = HashSet::new();
        let short = self.short_ids.iter().map(|&p| self.patterns.bytes(p));
        let keys = self
            .group_list
            .iter()
            .flat_map(|g| g.members.iter())
            .map(|&(p, _)| &self.patterns.bytes(p)[..KEY]);
        short.chain(keys).filter(|h| seen.insert(*h)).collect()
    }

    /// Appends the part of `text` from `from` that `open` declares settled to `out`, every
    /// match replaced by `***`, and the owners of each match to `found`; returns where the
    /// unsettled part starts.
    ///
    /// `open(at)` is the earliest position at or after `at` where a match could begin that the
    /// text does not yet complete (`text.len()` for a whole text). A match that starts before
    /// it is complete, so it is masked even if it ends beyond it.
    pub(crate) fn scan(
        &self,
        text: Text<'_>,
        from: usize,
        open: &mut dyn FnMut(usize) -> usize,
        out: &mut Vec<u8>,
        max_out: usize,
        found: &mut Vec<u32>,
    ) -> Result<usize, OverLimit> {
        let data = text.data;
        let mut cut = open(from);
        let mut p = from;
        // The automaton's last answer: a short match from a position at or before `p`, or that
        // there is none before the search's end; valid until `cut` moves.
        let mut short: Option<Option<Hit>> = None;
        // No long match starts in `p..long_from`.
        let mut long_from = from;
        while p < cut {
            let s = match short {
                Some(Some(hit)) if hit.start >= p => Some(hit),
                Some(None) => None,
                _ => {
                    // A short match that starts before `cut` ends before this end.
                    let end = data.len().min(cut.saturating_add(self.max_short));
                    let hit = self.next_short(data, p, end);
                    short = Some(hit);
                    hit
                }
            };
            let s = s.filter(|hit| hit.start < cut);
            // A long match wins if it starts no later than the short one (it is longer).
            let bound = s.map_or(cut, |hit| hit.start + 1);
            let long = self.next_long(text, p.max(long_from), bound);
            long_from = long.map_or(bound, |hit| hit.start);
            let Some(hit) = long.or(s) else { break };
            emit(out, &data[p..hit.start], max_out)?;
            emit(out, REDACTION_MARK.as_bytes(), max_out)?;
            found.extend_from_slice(self.patterns.owners.of(hit.pattern));
            p = hit.end;
            if p > cut {
                cut = open(p);
                short = None;
            }
        }
        if p < cut {
            emit(out, &data[p..cut], max_out)?;
        }
        Ok(cut.max(p))
    }

    /// The leftmost-longest short match within `from..end`.
    fn next_short(&self, data: &[u8], from: usize, end: usize) -> Option<Hit> {
        let automaton = self.short.as_ref()?;
        // The search mode was tried at build time, so this cannot fail.
        let hit = automaton.try_find(&Input::new(data).range(from..end))?;
        Some(Hit {
            start: hit.start(),
            end: hit.end(),
            pattern: self.short_ids[hit.pattern().as_usize()],
        })
    }

    /// The first long match starting in `from..to`, the longest at its start.
    fn next_long(&self, text: Text<'_>, from: usize, to: usize) -> Option<Hit> {
        if self.group_list.is_empty() {
            return None;
        }
        let last = text.data.len().checked_sub(KEY)?;
        (from..to.min(last + 1)).find_map(|start| self.long_at(text, start))
    }

    fn long_at(&self, text: Text<'_>, start: usize) -> Option<Hit> {
        let key = Poly::window(text.hashes, start, KEY, self.key_pow);
        let bit = bucket(key, self.bitmap.len() * 64);
        if self.bitmap[bit / 64] & (1 << (bit % 64)) == 0 {
            return None;
        }
        let group = &self.group_list[*self.groups.get(&key)? as usize];
        for &(len, pow) in group.lengths.iter() {
            let end = start + len as usize;
            if end > text.data.len() {
                continue;
            }
            let hash = Poly::window(text.hashes, start, len as usize, pow);
            if let Some(&pattern) = self.patterns.by_hash.get(&(len, hash)) {
                if self.patterns.bytes(pattern) == &text.data[start..end] {
                    return Some(Hit {
                        start,
                        end,
                        pattern,
                    });
                }
            }
        }
        None
    }

    /// Whether the rest of `text` from `start`, at least [`KEY`] bytes, is a proper prefix of
    /// a long pattern. `cursor` indexes the patterns of the key's group already ruled out for
    /// this `start` (a pattern ruled out stays so as the text grows), so asking again as a
    /// stream grows costs one hash comparison, not a walk.
    pub(crate) fn extends(&self, text: Text<'_>, start: usize, cursor: &mut usize) -> bool {
        let len = text.data.len() - start;
        let key = Poly::window(text.hashes, start, KEY, self.key_pow);
        let Some(&g) = self.groups.get(&key) else {
            return false;
        };
        let members = &self.group_list[g as usize].members;
        let pow = self.poly().pow(len);
        let hash = Poly::window(text.hashes, start, len, pow);
        while let Some(&(p, before)) = members.get(*cursor) {
            if self.patterns.len_of(p) > len {
                let at = self.patterns.start(p);
                let prefix = Poly::suffix(self.arena_hash(at + len), before, pow);
                if prefix == hash {
                    return true;
                }
            }
            *cursor += 1;
        }
        false
    }

    /// The hash of the first `end` bytes of the arena.
    fn arena_hash(&self, end: usize) -> u64 {
        arena_hash(self.poly(), &self.samples, &self.patterns.arena, end)
    }
}

/// The hash of `arena[..end]`, from the sample at or before `end`.
fn arena_hash(poly: Poly, samples: &[u64], arena: &[u8], end: usize) -> u64 {
    let sample = end / SAMPLE;
    poly.extend(samples[sample], &arena[sample * SAMPLE..end])
}

fn bucket(key: u64, bits: usize) -> usize {
    (key ^ (key >> 29)) as usize & (bits - 1)
}

fn emit(out: &mut Vec<u8>, bytes: &[u8], max_out: usize) -> Result<(), OverLimit> {
    if out.len().saturating_add(bytes.len()) > max_out {
        return Err(OverLimit);
    }
    out.extend_from_slice(bytes);
    Ok(())
}
