//! The redaction engine: every effective value and its encodings, matched at once.
//!
//! The patterns are the distinct forms of every value of at least `MIN_REDACTED_LEN` bytes
//! (`patterns`: one arena of
//! bytes, each pattern knowing which secrets own it, since two secrets may share a value or a
//! form). Matching is leftmost-longest over all of them (`matcher`): patterns of up to 32 bytes
//! by one Aho-Corasick automaton, longer ones by their first 32 bytes and a polynomial hash of
//! the rest, confirmed byte by byte (`hash`). Building is linear in the total size of the forms
//! and matching linear in the text, whatever the values look like (1 MiB of one letter
//! included); the README gives the figures.
//!
//! The matcher is built once, on the first `Redact`, not at start-up: it holds every value in
//! several forms in ordinary memory, which an execution that never redacts should not pay. Its
//! arena is wiped when dropped, and every other buffer by the zeroing allocator. (The
//! launcher's stream filter, `stream::filter`, uses the same matcher, built after start-up when
//! streams are given.)

mod hash;
mod matcher;
mod patterns;
#[cfg(test)]
mod vectors;

pub(crate) use matcher::{KEY, Matcher, Text, Use};

use crate::store::Store;

/// The compiled matcher for one store.
pub struct Redactor {
    matcher: Option<Matcher>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let patterns = self.matcher.as_ref().map_or(0, |m| m.patterns.owners.len());
        f.debug_struct("Redactor")
            .field("patterns", &patterns)
            .finish_non_exhaustive()
    }
}

/// At most this many names are listed by [`Unmasked`]'s log line; the rest are counted.
const UNMASKED_LISTED: usize = 32;

/// The secrets whose non-empty value is too short to be masked, for the one start-up log line
/// that tells an operator which secrets `Redact` and the stream filter leave alone. Names only,
/// never a value (nor a value's length, which would narrow a guess).
#[derive(Debug)]
pub struct Unmasked<'s> {
    /// How many such secrets there are.
    pub count: usize,
    /// The first `UNMASKED_LISTED` of their names, in store order.
    pub names: Vec<&'s str>,
}

impl<'s> Unmasked<'s> {
    /// The secrets of `store` with a value of 1 to `MIN_REDACTED_LEN - 1` bytes.
    pub fn of(store: &'s Store) -> Self {
        let mut count = 0;
        let mut names = Vec::new();
        for secret in store.iter() {
            if !secret.value.is_empty() && !ax_protocol::encodings::is_redacted(secret.value) {
                count += 1;
                if names.len() < UNMASKED_LISTED {
                    names.push(secret.name);
                }
            }
        }
        Self { count, names }
    }
}

/// The matcher could not be built (a limit of the matcher, not of the input).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the redaction matcher: {0}")]
pub struct BuildError(pub(crate) String);

/// The redacted text would be longer than the caller allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the redacted text would exceed its limit")]
pub struct OverLimit;

impl Redactor {
    /// Builds the matcher for every value of `store` that is masked (PROTOCOL §8.4).
    pub fn build(store: &Store) -> Result<Self, BuildError> {
        Ok(Self {
            matcher: Matcher::build(store, Use::Redact)?,
        })
    }

    /// Appends `text` with every match replaced by `***` to `out`, and returns the store
    /// positions of the secrets found, sorted and each once.
    ///
    /// # Errors
    ///
    /// [`OverLimit`] as soon as `out` would grow past `max_out` bytes: nothing more is
    /// produced, and `out` keeps what was appended so far (at most `max_out` bytes in all).
    pub fn redact_into(
        &self,
        text: &str,
        out: &mut String,
        max_out: usize,
    ) -> Result<Vec<usize>, OverLimit> {
        let Some(matcher) = &self.matcher else {
            if out.len().saturating_add(text.len()) > max_out {
                return Err(OverLimit);
            }
            out.push_str(text);
            return Ok(Vec::new());
        };
        let data = text.as_bytes();
        let mut hashes = Vec::new();
        if matcher.has_long() {
            matcher.poly().push_prefixes(&mut hashes, data);
        }
        let mut bytes = std::mem::take(out).into_bytes();
        let mut found = Vec::new();
        let end = data.len();
        let scanned = matcher.scan(
            Text {
                data,
                hashes: &hashes,
            },
            0,
            &mut |_| end,
            &mut bytes,
            max_out,
            &mut found,
        );
        // Every pattern is UTF-8, so a match in UTF-8 text starts and ends on character
        // boundaries and what is written stays UTF-8; the lossy path is never taken.
        *out = match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        scanned?;
        let mut found: Vec<usize> = found.into_iter().map(|p| p as usize).collect();
        found.sort_unstable();
        found.dedup();
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::store;

    fn redact(r: &Redactor, text: &str) -> (String, Vec<usize>) {
        let mut out = String::new();
        let found = r.redact_into(text, &mut out, usize::MAX).unwrap();
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
            &[("SHORT", "abcd"), ("LONG", "abcdefgh"), ("TWIN", "abcd")],
            &[],
        );
        let r = Redactor::build(&s).unwrap();
        let (out, found) = redact(&r, "xabcdefghx abcd");
        assert_eq!(out, "x***x ***");
        // Store positions: LONG 0, SHORT 1, TWIN 2 (sorted by name).
        assert_eq!(found, [0, 1, 2]);
    }

    #[test]
    fn never_matches_values_shorter_than_the_minimum() {
        let s = store(&[("FLAG", "1"), ("PORT", "5432"), ("TLA", "abc")], &[]);
        let r = Redactor::build(&s).unwrap();
        // Store positions: FLAG 0, PORT 1, TLA 2.
        assert_eq!(
            redact(&r, "1 abc 5432 MQ=="),
            ("1 abc *** MQ==".to_owned(), vec![1])
        );
        let unmasked = Unmasked::of(&s);
        assert_eq!((unmasked.count, unmasked.names), (2, vec!["FLAG", "TLA"]));
    }

    #[test]
    fn never_matches_empty_values() {
        let s = store(&[("EMPTY", "")], &[]);
        let r = Redactor::build(&s).unwrap();
        assert_eq!(redact(&r, "text"), ("text".to_owned(), vec![]));
        assert!(!format!("{r:?}").contains("text"));
    }

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("S{i:04}")).collect()
    }

    /// What `Redact` gave before this matcher: one leftmost-longest automaton over every
    /// distinct form, whole.
    pub(crate) fn reference(store: &Store, text: &[u8]) -> (Vec<u8>, Vec<usize>) {
        use aho_corasick::{AhoCorasick, MatchKind};
        let mut patterns: Vec<(String, usize)> = Vec::new();
        for (position, secret) in store.iter().enumerate() {
            if ax_protocol::encodings::is_redacted(secret.value) {
                let forms = ax_protocol::encodings::forms(secret.value);
                patterns.extend(forms.into_iter().map(|f| (f, position)));
            }
        }
        let mut out = Vec::new();
        let mut found = Vec::new();
        if patterns.is_empty() {
            return (text.to_vec(), found);
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(patterns.iter().map(|(p, _)| p))
            .unwrap();
        let mut last = 0;
        for hit in automaton.find_iter(text) {
            out.extend_from_slice(&text[last..hit.start()]);
            out.extend_from_slice(b"***");
            last = hit.end();
            let matched = &text[hit.start()..hit.end()];
            found.extend(
                patterns
                    .iter()
                    .filter(|(p, _)| p.as_bytes() == matched)
                    .map(|&(_, o)| o),
            );
        }
        out.extend_from_slice(&text[last..]);
        found.sort_unstable();
        found.dedup();
        (out, found)
    }

    /// Values over a small alphabet (so they share prefixes, repeat, and contain each other),
    /// some longer than the matcher's key; characters that JSON and percent-encoding escape.
    pub(crate) fn values() -> impl proptest::strategy::Strategy<Value = Vec<String>> {
        use proptest::prelude::*;
        let short = proptest::string::string_regex("[ab/]{1,12}").unwrap();
        let long = proptest::string::string_regex("[ab]{28,80}|a{30,70}b?|[ab\"ü]{20,50}").unwrap();
        proptest::collection::vec(prop_oneof![short, long], 1..6)
    }

    /// A text made of pieces of `values`' forms and of the alphabet, so that it holds matches,
    /// near misses and overlaps.
    pub(crate) fn text_of(values: &[String], pieces: &[(usize, usize, usize, usize)]) -> String {
        let mut text = String::new();
        for &(kind, which, cut, filler) in pieces {
            let value = &values[which % values.len()];
            let forms = ax_protocol::encodings::forms(value);
            let form = &forms[kind % 8];
            match kind % 3 {
                0 => text.push_str(form),
                1 => {
                    let mut end = cut % (form.len() + 1);
                    while !form.is_char_boundary(end) {
                        end -= 1;
                    }
                    text.push_str(&form[..end]);
                }
                _ => text.push_str(["a", "b", "/", "ab", "aaaa", "%2F", "YWFh"][filler % 7]),
            }
        }
        text
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

        #[test]
        fn matches_exactly_like_one_automaton_over_every_whole_form(
            values in values(),
            pieces in proptest::collection::vec(
                (0usize..24, 0usize..8, 0usize..200, 0usize..7), 0..30),
        ) {
            let names = names(values.len());
            let pairs: Vec<(&str, &str)> =
                names.iter().map(String::as_str).zip(values.iter().map(String::as_str)).collect();
            let s = store(&pairs, &[]);
            let r = Redactor::build(&s).unwrap();
            let text = text_of(&values, &pieces);
            let (out, found) = redact(&r, &text);
            let (expected, expected_found) = reference(&s, text.as_bytes());
            proptest::prop_assert_eq!(out.as_bytes(), &expected[..], "text {:?}", text);
            proptest::prop_assert_eq!(found, expected_found);
        }
    }

    #[test]
    fn a_megabyte_of_one_letter_is_matched_only_whole() {
        let value = "a".repeat(1 << 20);
        let s = store(&[("BIG", &value), ("SMALL", "token-123")], &[]);
        let r = Redactor::build(&s).unwrap();
        let almost = &value[1..];
        assert_eq!(redact(&r, almost), (almost.to_owned(), vec![]));
        let text = format!("{value}a token-123 {almost}");
        let (out, found) = redact(&r, &text);
        assert_eq!(out, format!("***a *** {almost}"));
        assert_eq!(found, [0, 1]);
    }

    #[test]
    fn tells_apart_many_long_values_sharing_a_long_prefix() {
        let prefix = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC";
        let values: Vec<String> = (0..300)
            .map(|i| format!("{prefix}{}", "x".repeat(i % 7)) + &format!("{i:04}"))
            .collect();
        let names = names(values.len());
        let pairs: Vec<(&str, &str)> = names
            .iter()
            .map(String::as_str)
            .zip(values.iter().map(String::as_str))
            .collect();
        let s = store(&pairs, &[]);
        let r = Redactor::build(&s).unwrap();
        let text = format!("{} | {} | {prefix}x", values[17], values[299]);
        let (out, found) = redact(&r, &text);
        assert_eq!(out, format!("*** | *** | {prefix}x"));
        assert_eq!(found, [17, 299]);
        assert_eq!((out.into_bytes(), found), reference(&s, text.as_bytes()));
    }

    #[test]
    fn stops_at_the_output_limit_without_producing_more() {
        let s = store(&[("A", "xxxx")], &[]);
        let r = Redactor::build(&s).unwrap();
        let text = "xxxx".repeat(100);
        let mut out = String::new();
        assert_eq!(r.redact_into(&text, &mut out, 299), Err(OverLimit));
        assert!(out.len() <= 299, "wrote {} bytes", out.len());
        let mut out = String::new();
        assert_eq!(r.redact_into(&text, &mut out, 300), Ok(vec![0]));
        assert_eq!(out, "***".repeat(100));
        let empty = store(&[("E", "")], &[]);
        let r = Redactor::build(&empty).unwrap();
        let mut out = String::new();
        assert_eq!(r.redact_into("abcd", &mut out, 3), Err(OverLimit));
        assert!(out.is_empty());
    }
}
