//! The mock's redaction engine, matching the sidecar's (PROTOCOL §8.4): every form of every
//! non-empty value at once, leftmost-longest, without overlaps.
//!
//! The sidecar builds an Aho-Corasick automaton because it may hold a million secrets; a mock
//! holds a handful, so a direct scan does, with no dependency: at each position, the longest
//! pattern that starts there (patterns are grouped by first byte, longest first), else move on
//! one byte. That finds exactly the matches of a leftmost-longest automaton. Scanning the bytes
//! of a `str` cannot match inside a character: a pattern is valid UTF-8, so it starts with a
//! leading byte and ends at the end of a character.

use std::fmt;

use ax_protocol::SecretText;
use ax_protocol::encodings::{forms, is_redacted};
use ax_protocol::limits::REDACTION_MARK;

/// A compiled matcher for one fixed set of values.
pub(crate) struct Redactor {
    /// Distinct forms, ordered by first byte, then longest first.
    patterns: Vec<Pattern>,
    /// The patterns starting with byte `b` are `patterns[first[b]..first[b + 1]]`.
    first: Vec<usize>,
}

struct Pattern {
    form: SecretText<'static>,
    /// The positions of the secrets that have this form, ascending.
    owners: Vec<usize>,
}

impl Redactor {
    /// Builds the matcher for `values`; a secret is known by its position in the iterator.
    pub(crate) fn new<'v>(values: impl IntoIterator<Item = &'v str>) -> Self {
        let mut all: Vec<(SecretText<'static>, usize)> = Vec::new();
        for (owner, value) in values.into_iter().enumerate() {
            if is_redacted(value) {
                all.extend(forms(value).map(|form| (SecretText::owned(form), owner)));
            }
        }
        all.sort_by(|(a, a_owner), (b, b_owner)| {
            let (a, b) = (a.expose().as_bytes(), b.expose().as_bytes());
            a[0].cmp(&b[0])
                .then(b.len().cmp(&a.len()))
                .then(a.cmp(b))
                .then(a_owner.cmp(b_owner))
        });
        // Dropped duplicates are wiped by `SecretText`.
        all.dedup_by(|(a, a_owner), (b, b_owner)| a == b && a_owner == b_owner);
        let mut patterns: Vec<Pattern> = Vec::new();
        for (form, owner) in all {
            match patterns.last_mut() {
                Some(last) if last.form == form => last.owners.push(owner),
                _ => patterns.push(Pattern {
                    form,
                    owners: vec![owner],
                }),
            }
        }
        let mut first = vec![0; 257];
        for pattern in &patterns {
            first[usize::from(pattern.form.expose().as_bytes()[0]) + 1] += 1;
        }
        for b in 1..first.len() {
            first[b] += first[b - 1];
        }
        Self { patterns, first }
    }

    /// `text` with every match replaced by `***`, and the positions of the secrets found,
    /// ascending and each once.
    pub(crate) fn redact(&self, text: &str) -> (String, Vec<usize>) {
        let bytes = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        let mut found = Vec::new();
        let (mut last, mut at) = (0, 0);
        while at < bytes.len() {
            let b = usize::from(bytes[at]);
            let candidates = &self.patterns[self.first[b]..self.first[b + 1]];
            let rest = &bytes[at..];
            match candidates
                .iter()
                .find(|p| rest.starts_with(p.form.expose().as_bytes()))
            {
                Some(pattern) => {
                    out.push_str(&text[last..at]);
                    out.push_str(REDACTION_MARK);
                    found.extend_from_slice(&pattern.owners);
                    at += pattern.form.len();
                    last = at;
                }
                None => at += 1,
            }
        }
        out.push_str(&text[last..]);
        found.sort_unstable();
        found.dedup();
        (out, found)
    }
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("patterns", &self.patterns.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(values: &[&str], text: &str) -> (String, Vec<usize>) {
        Redactor::new(values.iter().copied()).redact(text)
    }

    #[test]
    fn replaces_values_and_their_encodings() {
        let values = ["p@ss/wörd", "token-123"];
        let text = "raw p@ss/wörd b64 cEBzcy93w7ZyZA== url p%40ss%2Fw%C3%B6rd json p@ss/w\\u00f6rd";
        assert_eq!(
            redact(&values, text),
            ("raw *** b64 *** url *** json ***".to_owned(), vec![0])
        );
        assert_eq!(
            redact(&values, "nothing here"),
            ("nothing here".to_owned(), vec![])
        );
    }

    #[test]
    fn prefers_the_longest_match_and_reports_every_owner() {
        let values = ["abcdefgh", "abcd", "abcd"];
        assert_eq!(
            redact(&values, "xabcdefghx abcd"),
            ("x***x ***".to_owned(), vec![0, 1, 2])
        );
    }

    #[test]
    fn the_leftmost_match_wins_over_a_longer_one_further_right() {
        // "bcde" starts before "cdefgh": leftmost first, then no overlap.
        assert_eq!(
            redact(&["bcde", "cdefgh"], "abcdefgh"),
            ("a***fgh".to_owned(), vec![0])
        );
    }

    #[test]
    fn never_matches_values_under_four_bytes() {
        assert_eq!(
            redact(&["k9", "abc", "5432"], "k9 abc 5432"),
            ("k9 abc ***".to_owned(), vec![2])
        );
    }

    #[test]
    fn never_matches_empty_values_and_keeps_characters_whole() {
        let redactor = Redactor::new(["", "üü"]);
        assert_eq!(redactor.redact("grüüß"), ("gr***ß".to_owned(), vec![1]));
        assert_eq!(redactor.redact("text"), ("text".to_owned(), vec![]));
        assert!(!format!("{redactor:?}").contains("üü"));
    }
}
