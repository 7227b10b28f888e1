//! `redaction.json`: the forms of PROTOCOL §8.4 for values chosen so that each form differs from
//! the value, and whole redactions that pin down the matching rules (leftmost-longest, no
//! overlaps, the minimum length, shared forms, `found` sorted by name).
//!
//! The forms come from `ax_protocol::encodings`; the redactions from [`redact`], a direct
//! leftmost-longest scan over those forms written from §8.4's words. The sidecar's own matcher
//! is checked against the same file by its unit tests (`sidecar/src/redact/vectors.rs`), so the
//! file ties the reference sidecar, this scan and every shim's mock to one answer.

use ax_protocol::encodings::{FORM_NAMES, forms, is_redacted};
use ax_protocol::limits::REDACTION_MARK;
use serde_json::{Map, Value, json};

use crate::exact_keys;
use crate::generate::Case;

/// The keys of a forms vector's `value`.
const FORMS_KEYS: [&str; 3] = ["secret", "masked", "forms"];
/// The keys of a redaction vector's `value`.
const REDACTION_KEYS: [&str; 4] = ["secrets", "text", "redacted", "found"];

/// `text` redacted with every form of every masked value of `secrets`, and the names found
/// (sorted, each once): at each byte, the longest form that starts there is replaced by `***`
/// and the scan resumes after it; where none starts, the byte is kept.
pub(crate) fn redact(secrets: &[(&str, &str)], text: &str) -> (String, Vec<String>) {
    let mut patterns: Vec<(String, &str)> = Vec::new();
    for (name, value) in secrets {
        if is_redacted(value) {
            patterns.extend(forms(value).into_iter().map(|form| (form, *name)));
        }
    }
    let bytes = text.as_bytes();
    let (mut out, mut found) = (String::new(), Vec::new());
    let (mut last, mut at) = (0, 0);
    while at < bytes.len() {
        let longest = patterns
            .iter()
            .filter(|(form, _)| bytes[at..].starts_with(form.as_bytes()))
            .map(|(form, _)| form.len())
            .max();
        match longest {
            Some(len) => {
                let matched = &bytes[at..at + len];
                found.extend(
                    patterns
                        .iter()
                        .filter(|(form, _)| form.as_bytes() == matched)
                        .map(|(_, name)| (*name).to_owned()),
                );
                out.push_str(&text[last..at]);
                out.push_str(REDACTION_MARK);
                at += len;
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

fn forms_case(secret: &str, comment: &str, flags: &[&'static str]) -> Case {
    let named: Map<String, Value> = FORM_NAMES
        .iter()
        .zip(forms(secret))
        .map(|(name, form)| ((*name).to_owned(), json!(form)))
        .collect();
    let mut all_flags = vec!["Forms"];
    all_flags.extend_from_slice(flags);
    Case {
        comment: comment.into(),
        flags: all_flags,
        hex: secret.as_bytes().to_vec(),
        value: json!({ "secret": secret, "masked": is_redacted(secret), "forms": named }),
        error: None,
    }
}

fn redaction_case(
    secrets: &[(&str, &str)],
    text: &str,
    comment: &str,
    flags: &[&'static str],
) -> Case {
    let (redacted, found) = redact(secrets, text);
    let map: Map<String, Value> = secrets
        .iter()
        .map(|(name, value)| ((*name).to_owned(), json!(value)))
        .collect();
    let mut all_flags = vec!["Redaction"];
    all_flags.extend_from_slice(flags);
    Case {
        comment: comment.into(),
        flags: all_flags,
        hex: text.as_bytes().to_vec(),
        value: json!({ "secrets": map, "text": text, "redacted": redacted, "found": found }),
        error: None,
    }
}

/// 32 bytes: the sidecar matches forms longer than this by their first 32 bytes and a hash of
/// the rest (PROTOCOL §8.4), so values sharing it take that path.
const LONG_PREFIX: &str = "0123456789abcdef0123456789abcdef";

/// A value with every character some encoder treats specially (as in `encodings`' tests).
const HARD: &str = "p@ss w/\u{fc}<&>'\"\\\n\t\u{1}\u{7f}\u{85}+=*~!()$,;:`\u{2028}\u{1f30d}";

fn form_cases() -> Vec<Case> {
    let list: [(&str, &str, &[&'static str]); 33] = [
        (
            "hunter2secret",
            "a plain word: its own JSON, repr and percent forms; only base64 differs",
            &[],
        ),
        (
            "p@ss w/ord",
            "@, space and /: each URL form keeps or escapes them differently",
            &[],
        ),
        (
            "a+b/c=d?e&f#g",
            "+ / = ? & #: form encodings escape +, Go's path escape keeps + = &",
            &[],
        ),
        (
            "it's \"quoted\"",
            "both quotes: Python's repr delimits with ' and escapes it",
            &["Quotes"],
        ),
        (
            "it's fine",
            "only a single quote: Python's repr delimits with \" and keeps the '",
            &["Quotes"],
        ),
        (
            "say \"hi\" now",
            "only double quotes: JSON and Go escape them, Python's repr does not",
            &["Quotes"],
        ),
        (
            "back\\slash\\",
            "backslashes: doubled in JSON, repr and Go",
            &[],
        ),
        (
            "tab\there\nnew\rcr",
            "tab, LF, CR: short escapes everywhere",
            &["Control"],
        ),
        (
            "\u{0}\u{1}\u{7}\u{8}\u{b}\u{c}\u{1b}\u{1f}",
            "C0 controls: \\a \\b \\v \\f in Go, \\b \\f in JSON, \\u001b against \\u001B, \\x in repr",
            &["Control"],
        ),
        (
            "del\u{7f}ete",
            "DEL: kept by JSON, \\u007F in .NET, \\x7f in repr and Go",
            &["Control"],
        ),
        (
            "<script>&amp;</script>",
            "< > &: escaped by the HTML-safe, Gson and .NET JSON forms",
            &["Html"],
        ),
        (
            "a='<b>'",
            "= and ': Gson escapes both, .NET escapes '",
            &["Html", "Quotes"],
        ),
        ("`tick`+plus", "` and +: .NET's JSON escapes both", &[]),
        (
            "100% off~!*'()",
            "% ~ ! * ' ( ): the sets each URL form keeps differ",
            &[],
        ),
        (
            "$&+:=@;,",
            "what Go's url.PathEscape keeps, and ; , which it does not",
            &[],
        ),
        (
            "grüß dich",
            "two-byte UTF-8: \\u00fc in ASCII JSON, \\u00FC in .NET, %C3%BC and %c3%bc",
            &["Unicode"],
        ),
        (
            "ключ-секрет",
            "Cyrillic: every letter escaped by the ASCII forms",
            &["Unicode"],
        ),
        ("日本語のパスワード", "three-byte UTF-8", &["Unicode"]),
        (
            "rocket 🚀 earth 🌍",
            "four-byte UTF-8: a surrogate pair in the ASCII and .NET JSON forms",
            &["Unicode"],
        ),
        (
            "nb\u{a0}sp\u{ad}shy\u{85}nel",
            "NO-BREAK SPACE, SOFT HYPHEN, NEL: \\x in Python's repr, \\u00 in Go",
            &["Unicode"],
        ),
        (
            "line\u{2028}para\u{2029}",
            "line and paragraph separators: escaped by repr, Go and the HTML-safe JSON",
            &["Unicode"],
        ),
        (
            "~~~???",
            "base64 with + and /, base64url with - and _",
            &["Base64"],
        ),
        (
            "abcd",
            "four bytes: base64 with two padding characters",
            &["Base64"],
        ),
        (
            "abcde",
            "five bytes: base64 with one padding character",
            &["Base64"],
        ),
        ("abcdef", "six bytes: base64 without padding", &["Base64"]),
        (
            HARD,
            "every special character at once",
            &["Unicode", "Control", "Quotes"],
        ),
        (
            "üü",
            "two characters, four bytes: long enough to be masked",
            &["Unicode", "MinimumLength"],
        ),
        (
            "\u{1f} ~\u{7f}\u{80}\u{9f}\u{a0}\u{a1}\u{ac}\u{ad}\u{ae}",
            "the edges of the escaped ranges: U+001F U+0020, U+007E U+007F U+0080, U+009F U+00A0 U+00A1, U+00AC U+00AD U+00AE",
            &["Control", "Unicode"],
        ),
        (
            "\u{fffd}\u{ffff}\u{10000}\u{10ffff}",
            "the edges of UTF-16: U+FFFF is one unit, U+10000 and U+10FFFF are surrogate pairs",
            &["Unicode"],
        ),
        (
            "a.b*c+d?(e|f)[g]{2}^$\\",
            "regular-expression metacharacters, which a mock's matcher must take literally",
            &["Regex"],
        ),
        (
            "abc",
            "three bytes: forms are given, but the value is never masked",
            &["TooShort"],
        ),
        (
            "ü",
            "one character of two bytes: never masked",
            &["TooShort", "Unicode"],
        ),
        (
            "",
            "the empty value: every form empty, never masked",
            &["Empty", "TooShort"],
        ),
    ];
    list.iter()
        .map(|(secret, comment, flags)| forms_case(secret, comment, flags))
        .collect()
}

/// One redaction case: its secrets, text, comment and flags.
type Redaction<'a> = (
    &'a [(&'a str, &'a str)],
    &'a str,
    &'a str,
    &'a [&'static str],
);

fn redaction_cases() -> Vec<Case> {
    let word = [("DB_PASSWORD", "hunter2secret")];
    let pass = [("PASS", "p@ss w/ord")];
    let long = format!("{LONG_PREFIX}-tail");
    let longer = format!("{LONG_PREFIX}-tail-and-more");
    let long_pair = [("LONG", long.as_str()), ("LONGER", longer.as_str())];
    let long_text = format!("a {longer} b {long} c {LONG_PREFIX}-tai d {LONG_PREFIX}");
    let long_value = [("LONG", "0123456789abcdefghijklmnopqrstuvwxyz ABCDEFGHIJ/+=")];
    let long_forms = {
        let all = forms(long_value[0].1);
        format!(
            "raw {} b64 {} pct {} form {}",
            all[0], all[1], all[7], all[15]
        )
    };
    let list: [Redaction<'_>; 36] = [
        (
            &[("K", "a.b*c+d?")],
            "axbbbc+d a.b*c+d? a.b*c+d",
            "metacharacters are literal: only the exact value is masked",
            &["Regex"],
        ),
        (
            &[("K", "s3cr3t-v4lue")],
            "cost $& $1 \\1 \\g<0> s3cr3t-v4lue $0",
            "replacement-string syntax in the text stays as it is",
            &["Regex"],
        ),
        (
            &long_pair,
            &long_text,
            "values over 32 bytes sharing their first 32: the longer wins where both start; a cut-short copy is kept",
            &["Long", "Prefix", "LeftmostLongest"],
        ),
        (
            &long_value,
            &long_forms,
            "a value over 32 bytes, raw, in base64, percent-encoded and form-encoded",
            &["Long"],
        ),
        (&word, "login hunter2secret ok", "the value itself", &[]),
        (
            &word,
            "nothing secret here",
            "no occurrence: the text is unchanged",
            &[],
        ),
        (&word, "", "the empty text", &["Empty"]),
        (
            &word,
            "auth: aHVudGVyMnNlY3JldA== and aHVudGVyMnNlY3JldA",
            "base64, padded and unpadded",
            &["Base64"],
        ),
        (
            &[("KEY", "abcd")],
            "YWJjZA== then YWJjZA",
            "the padded base64 is the longest match where both start",
            &["Base64", "LeftmostLongest"],
        ),
        (
            &pass,
            "q=p%40ss+w%2Ford path=p%40ss%20w/ord uri=p%40ss%20w%2Ford go=p@ss%20w%2Ford lower=p%40ss%20w%2ford",
            "one value in five URL forms",
            &["Url"],
        ),
        (
            &[("PW", "pa\"ss\\word")],
            "{\"password\":\"pa\\\"ss\\\\word\"} and repr 'pa\"ss\\\\word'",
            "a value with a quote and a backslash inside a JSON document and a Python repr",
            &["Quotes"],
        ),
        (
            &[("PW", "it's a secret")],
            "{'k': \"it's a secret\"} and b\"it's a secret\"",
            "Python's repr of a dict, delimited with \" because the value holds '",
            &["Quotes"],
        ),
        (
            &[("TOKEN", "grüß-geheim")],
            "raw grüß-geheim json gr\\u00fc\\u00df-geheim dotnet gr\\u00FC\\u00DF-geheim bytes gr\\xc3\\xbc\\xc3\\x9f-geheim",
            "non-ASCII value in its raw, ASCII JSON, .NET and bytes-repr forms",
            &["Unicode"],
        ),
        (
            &[("KEY", "🔑🔑")],
            "key=🔑🔑; json=\"\\ud83d\\udd11\\ud83d\\udd11\"; pct=%F0%9F%94%91%F0%9F%94%91",
            "a value of two four-byte characters and its surrogate-pair and percent forms",
            &["Unicode"],
        ),
        (
            &[("A", "secret"), ("B", "secret-long")],
            "secret-long then secret",
            "a value that is a prefix of another: the longer one wins where both start",
            &["Prefix", "LeftmostLongest"],
        ),
        (
            &[("A", "abcdefgh"), ("B", "abcd")],
            "xabcdefghx abcd abcdefg",
            "the longest match at a position; a cut-short longer value still holds the shorter",
            &["LeftmostLongest"],
        ),
        (
            &[("A", "bcde"), ("B", "cdefgh")],
            "abcdefgh",
            "the leftmost match wins over a longer one starting later; no overlap",
            &["LeftmostLongest", "Overlap"],
        ),
        (
            &[("A", "abcdef"), ("B", "defghi")],
            "abcdefghi",
            "overlapping values: the first match consumes the overlap, the second is not found",
            &["Overlap"],
        ),
        (
            &[("A", "aaaa")],
            "aaaaaaaaaa",
            "repeated letters: matches do not overlap, the rest is kept",
            &["Overlap"],
        ),
        (
            &[("A", "abcd")],
            "abcdabcd",
            "adjacent occurrences: two marks",
            &[],
        ),
        (
            &[("STARS", "****")],
            "********* and ***",
            "a value of asterisks: the marks are never matched again",
            &[],
        ),
        (
            &[("A", "same-value"), ("B", "same-value")],
            "x same-value y",
            "two secrets with one value: both found",
            &["SharedForm"],
        ),
        (
            &[("SPACED", "a bcd"), ("ENCODED", "a%20bcd")],
            "raw a%20bcd",
            "one value's percent form is another's raw value: one match, both found",
            &["SharedForm"],
        ),
        (
            &[("SPACED", "a bcd"), ("ENCODED", "a%20bcd")],
            "a bcd and a%2520bcd",
            "the other way: the first value raw, the second percent-encoded",
            &["SharedForm"],
        ),
        (
            &[("FLAG", "1"), ("TLA", "abc"), ("PORT", "5432")],
            "1 abc 5432 MQ== YWJj NTQzMg==",
            "values under four bytes are never masked, in any form; four bytes are",
            &["TooShort", "MinimumLength"],
        ),
        (
            &[("EMPTY", ""), ("U", "ü"), ("UU", "üü")],
            "empty ü üü üüü",
            "the empty value and a two-byte one are never masked; four bytes of two characters are",
            &["Empty", "TooShort", "Unicode", "MinimumLength"],
        ),
        (
            &[("EMPTY", "")],
            "any text at all",
            "only an empty value: nothing is masked",
            &["Empty"],
        ),
        (
            &[],
            "no secrets at all",
            "no secrets: the text is unchanged",
            &["Empty"],
        ),
        (
            &[
                ("Z_KEY", "zzzz-value"),
                ("A_KEY", "aaaa-value"),
                ("a_key", "lower-value"),
            ],
            "zzzz-value lower-value aaaa-value",
            "found is sorted by name (bytes: upper case first), not by position in the text",
            &[],
        ),
        (
            &[("K", "Secret")],
            "Secret SECRET secret",
            "matching is case-sensitive",
            &[],
        ),
        (
            &[("K", "grüß")],
            "»grüß« and gruß",
            "a value inside non-ASCII text; the characters around it are kept",
            &["Unicode"],
        ),
        (
            &[("K", "tab\there")],
            "raw tab\there json tab\\there",
            "a tab: raw, and as \\t in the JSON, repr and Go forms (all one pattern)",
            &["Control"],
        ),
        (
            &[("K", "<a&b>")],
            "go \\u003ca\\u0026b\\u003e dotnet \\u003Ca\\u0026b\\u003E raw <a&b>",
            "the HTML-safe and .NET JSON forms: lower and upper hex",
            &["Html"],
        ),
        (
            &[("K", "~~~???")],
            "std fn5+Pz8/ url fn5-Pz8_",
            "base64 and base64url of a value whose encodings hold + / and - _",
            &["Base64"],
        ),
        (
            &[("K", "wxyz"), ("L", "d3h5")],
            "d3h5eg== d3h5",
            "one value is a prefix of another's base64: the longer base64 wins",
            &["Base64", "Prefix"],
        ),
        (
            &[("K", "key-\u{1}\u{1b}")],
            "jackson key-\\u0001\\u001B json key-\\u0001\\u001b go key-\\x01\\x1b",
            "control characters in upper-case hex (Jackson) and lower-case (JSON), and Go's \\x",
            &["Control"],
        ),
    ];
    list.iter()
        .map(|(secrets, text, comment, flags)| redaction_case(secrets, text, comment, flags))
        .collect()
}

/// Every case of `redaction.json`: the forms first, then the redactions.
pub(crate) fn cases() -> Vec<Case> {
    let mut cases = form_cases();
    cases.extend(redaction_cases());
    cases
}

/// Checks one vector the way a shim does: the forms by name, each form alone redacted, and
/// whole redactions.
pub(crate) fn check(test: &Value, bytes: &[u8], what: &str) {
    let is_forms = test["value"]
        .as_object()
        .is_some_and(|m| m.contains_key("forms"));
    if is_forms {
        let value = exact_keys(&test["value"], &FORMS_KEYS, what);
        let secret = value["secret"].as_str().unwrap();
        assert_eq!(bytes, secret.as_bytes(), "{what}: hex");
        let masked = is_redacted(secret);
        assert_eq!(value["masked"].as_bool(), Some(masked), "{what}: masked");
        let named = exact_keys(&value["forms"], &FORM_NAMES, what);
        for (name, form) in FORM_NAMES.iter().zip(forms(secret)) {
            assert_eq!(named[*name].as_str(), Some(form.as_str()), "{what}: {name}");
            let expected = if masked { REDACTION_MARK } else { &form };
            let (redacted, found) = redact(&[("S", secret)], &form);
            assert_eq!(redacted, expected, "{what}: {name} alone");
            assert_eq!(found.is_empty(), !masked, "{what}: {name} found");
        }
    } else {
        let value = exact_keys(&test["value"], &REDACTION_KEYS, what);
        let text = value["text"].as_str().unwrap();
        assert_eq!(bytes, text.as_bytes(), "{what}: hex");
        let secrets: Vec<(&str, &str)> = value["secrets"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str().unwrap()))
            .collect();
        let (redacted, found) = redact(&secrets, text);
        assert_eq!(
            Some(redacted.as_str()),
            value["redacted"].as_str(),
            "{what}"
        );
        assert_eq!(json!(found), value["found"], "{what}: found");
    }
}

#[test]
fn protocol_section_8_4_names_the_forms_in_their_order() {
    let spec =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/PROTOCOL.md")).unwrap();
    let start = spec
        .find("The forms are named, in the order of the list above:")
        .expect("the sentence naming the forms");
    let end = start + spec[start..].find("\n\n").unwrap();
    let named: Vec<&str> = spec[start..end]
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|word| !word.contains(['~', '*']))
        .collect();
    assert_eq!(named, FORM_NAMES);
}
