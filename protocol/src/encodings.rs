//! The forms a secret value commonly leaks in (PROTOCOL §8.4): what `Redact` and the stream
//! filter match besides the value itself. Here, beside the other rules of the wire contract,
//! so that the sidecar and the Rust shim's mock compute them from one definition.
//!
//! Each function appends one encoding of the value to a caller-owned buffer, so the caller
//! decides where the copies live and wipes them.

/// The standard base64 alphabet (RFC 4648 §4).
pub const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/// The URL- and filename-safe base64 alphabet (RFC 4648 §5).
pub const BASE64URL: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Every form of `value` the sidecar redacts, in the order of PROTOCOL §8.4, duplicates
/// included (a plain ASCII word is its own JSON, repr and percent encoding).
///
/// A value shorter than [`MIN_REDACTED_LEN`](crate::limits::MIN_REDACTED_LEN) bytes is
/// still given its forms here; whether to mask it is [`is_redacted`]'s decision.
pub fn forms(value: &str) -> [String; FORM_COUNT] {
    let bytes = value.as_bytes();
    [
        value.to_owned(),
        base64(bytes, BASE64, true),
        base64(bytes, BASE64, false),
        base64(bytes, BASE64URL, true),
        base64(bytes, BASE64URL, false),
        json_escaped(value, false),
        json_escaped(value, true),
        percent_encoded(bytes),
        json_styled(value, JsonStyle::HtmlSafe),
        json_styled(value, JsonStyle::Gson),
        json_styled(value, JsonStyle::DotNet),
        json_styled(value, JsonStyle::UpperControls),
        python_repr_str(value),
        python_repr_bytes(bytes),
        go_quoted(value),
        url_escaped(bytes, UNRESERVED_TILDE, Space::Plus, Hex::Upper),
        url_escaped(bytes, FORM_STAR, Space::Plus, Hex::Upper),
        url_escaped(bytes, b"-_.~/", Space::Percent, Hex::Upper),
        url_escaped(bytes, GO_PATH, Space::Percent, Hex::Upper),
        url_escaped(bytes, URI_COMPONENT, Space::Percent, Hex::Upper),
        url_escaped(bytes, UNRESERVED_TILDE, Space::Percent, Hex::Lower),
        url_escaped(bytes, DOTNET_FORM, Space::Plus, Hex::Lower),
        url_escaped(bytes, DOTNET_FORM, Space::Plus, Hex::Upper),
    ]
}

/// The forms of `value` that can be a valid name (PROTOCOL §8.1): the value itself and its
/// unpadded base64 and base64url spellings (a padded one holds `=` unless it is the unpadded one).
/// Every other form keeps each character outside `[A-Za-z0-9_]` or writes it with a `\\`, `%`
/// or `+`, none of which a name holds, so it is a name only when it is the value itself.
///
/// Calls `visit` with each of those forms that **is** a valid name, and with no other. Far
/// cheaper than [`forms`]: the spellings are written into `scratch` (cleared first, and left
/// holding the last one: wipe it when done), nothing is allocated once it has grown, and a
/// value too long for its base64 to be a name is not encoded at all.
pub fn visit_name_shaped_forms(value: &str, scratch: &mut String, mut visit: impl FnMut(&str)) {
    use crate::limits::MAX_NAME_LEN;
    use crate::name::is_valid_name;
    if is_valid_name(value) {
        visit(value);
    }
    // Unpadded base64 of n bytes takes ceil(4n/3) characters.
    if value.len().saturating_mul(4).div_ceil(3) > MAX_NAME_LEN {
        return;
    }
    for alphabet in [BASE64, BASE64URL] {
        scratch.clear();
        base64_into(scratch, value.as_bytes(), alphabet, false);
        if is_valid_name(scratch) {
            visit(scratch);
        }
    }
}

/// How many forms [`forms`] gives (before deduplication).
pub const FORM_COUNT: usize = 23;

/// The name of each form [`forms`] gives, in its order: the keys under which
/// `protocol/vectors/redaction.json` lists a value's forms (PROTOCOL §10.2), so that every
/// shim checks each of its forms by the same name, not by a position that could shift.
pub const FORM_NAMES: [&str; FORM_COUNT] = [
    "utf8",
    "base64",
    "base64_unpadded",
    "base64url",
    "base64url_unpadded",
    "json",
    "json_ascii",
    "percent",
    "json_html_safe",
    "json_gson",
    "json_dotnet",
    "json_upper_controls",
    "python_repr_str",
    "python_repr_bytes",
    "go_quoted",
    "query_escape",
    "form_urlencoded",
    "python_quote",
    "go_path_escape",
    "uri_component",
    "percent_lower",
    "dotnet_http_utility",
    "dotnet_web_utility",
];

/// Whether a value is masked at all: it is non-empty and at least
/// [`MIN_REDACTED_LEN`](crate::limits::MIN_REDACTED_LEN) bytes long. Masking every `1` or
/// `5432` of a log because `FLAG=1` and `PORT=5432` are secrets would corrupt the output and
/// hide nothing worth hiding.
pub fn is_redacted(value: &str) -> bool {
    value.len() >= crate::limits::MIN_REDACTED_LEN
}

/// The bytes RFC 3986 leaves unreserved besides letters and digits (Go `url.QueryEscape`,
/// Python `quote_plus`).
const UNRESERVED_TILDE: &[u8] = b"-_.~";
/// What `application/x-www-form-urlencoded` keeps besides letters and digits (Java
/// `URLEncoder`, the WHATWG `URLSearchParams`).
const FORM_STAR: &[u8] = b"-_.*";
/// What Go's `url.PathEscape` keeps besides letters and digits.
const GO_PATH: &[u8] = b"-_.~$&+:=@";
/// What JavaScript's `encodeURIComponent` keeps besides letters and digits.
const URI_COMPONENT: &[u8] = b"-_.!~*'()";
/// What .NET's `HttpUtility.UrlEncode` (lower hex) and `WebUtility.UrlEncode` (upper hex)
/// keep besides letters and digits.
const DOTNET_FORM: &[u8] = b"-_.!*()";

/// How a space is written by a percent-encoding.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Space {
    /// `%20`, like every other escaped byte.
    Percent,
    /// `+`, as form encoding writes it.
    Plus,
}

/// The case of the hex digits of `%XX`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Hex {
    /// `%2F`.
    Upper,
    /// `%2f`.
    Lower,
}

/// Percent-encoding of `bytes`: ASCII letters, digits and the bytes of `kept` as they are, a
/// space as `space` says, every other byte as `%XX` in the case `hex` says.
pub fn url_escaped(bytes: &[u8], kept: &[u8], space: Space, hex: Hex) -> String {
    let digits: &[u8; 16] = match hex {
        Hex::Upper => b"0123456789ABCDEF",
        Hex::Lower => b"0123456789abcdef",
    };
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || kept.contains(&b) {
            out.push(char::from(b));
        } else if b == b' ' && space == Space::Plus {
            out.push('+');
        } else {
            out.push('%');
            out.push(char::from(digits[usize::from(b >> 4)]));
            out.push(char::from(digits[usize::from(b & 0xf)]));
        }
    }
    out
}

/// The JSON encoders whose output differs from [`json_escaped`]'s two forms.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum JsonStyle {
    /// Go's `json.Marshal`: UTF-8 kept, `<` `>` `&` as `\u003c` `\u003e` `\u0026`, U+2028 and
    /// U+2029 as `\u2028` `\u2029`.
    HtmlSafe,
    /// Gson's default: as [`JsonStyle::HtmlSafe`], plus `=` and `'` as `\u003d` `\u0027`.
    Gson,
    /// .NET `System.Text.Json`'s default encoder: every non-ASCII character, DEL and each of
    /// `"` `&` `'` `+` `<` `>` `` ` `` as `\uXXXX` with upper-case hex.
    DotNet,
    /// Jackson's: as the UTF-8-kept form, but other control characters in upper-case hex.
    UpperControls,
}

/// The value between the quotes of a JSON string as the encoder `style` writes it.
pub fn json_styled(value: &str, style: JsonStyle) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(value.len() + 2);
    let upper = matches!(style, JsonStyle::DotNet | JsonStyle::UpperControls);
    let unicode = |out: &mut String, c: char| {
        let mut units = [0u16; 2];
        for unit in c.encode_utf16(&mut units) {
            let _ = if upper {
                write!(out, "\\u{unit:04X}")
            } else {
                write!(out, "\\u{unit:04x}")
            };
        }
    };
    for c in value.chars() {
        let escaped = match style {
            JsonStyle::HtmlSafe => matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}'),
            JsonStyle::Gson => {
                matches!(c, '<' | '>' | '&' | '=' | '\'' | '\u{2028}' | '\u{2029}')
            }
            JsonStyle::DotNet => {
                !c.is_ascii() || matches!(c, '"' | '&' | '\'' | '+' | '<' | '>' | '`' | '\u{7f}')
            }
            JsonStyle::UpperControls => false,
        };
        match c {
            c if escaped => unicode(&mut out, c),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' => unicode(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

/// The characters beyond ASCII that Python's `repr` and Go's `%q` escape and this crate knows:
/// the C1 controls, NO-BREAK SPACE, SOFT HYPHEN and the line and paragraph separators. Both
/// escape other unprintable characters too (from their Unicode tables); those are kept here,
/// an approximation PROTOCOL §8.4 states.
fn unprintable(c: char) -> bool {
    matches!(c, '\u{80}'..='\u{a0}' | '\u{ad}' | '\u{2028}' | '\u{2029}')
}

/// The quote Python's `repr` delimits with: `"` when the text holds a `'` and no `"`, else `'`.
fn python_quote(bytes: &[u8]) -> u8 {
    if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
        b'"'
    } else {
        b'\''
    }
}

/// The value between the quotes of Python's `repr()` of a `str`: `\\`, `\n` `\r` `\t`, the
/// delimiting quote as `\'` or `\"`, other C0 controls, DEL and the C1 controls as `\xNN`
/// (lower hex), other unprintable characters (see `unprintable`) as `\uNNNN`; everything else kept.
pub fn python_repr_str(value: &str) -> String {
    use std::fmt::Write;
    let quote = char::from(python_quote(value.as_bytes()));
    let mut out = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c < ' ' || c == '\u{7f}' || (unprintable(c) && u32::from(c) < 0x100) => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if unprintable(c) => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// The value between the quotes of Python's `repr()` of its UTF-8 as `bytes` (`b'...'`):
/// printable ASCII kept, `\\`, `\t` `\n` `\r`, the delimiting quote escaped as for a `str`,
/// every other byte as `\xNN` (lower hex).
pub fn python_repr_bytes(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let quote = python_quote(bytes);
    let mut out = String::with_capacity(bytes.len() + 2);
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b if b == quote => {
                out.push('\\');
                out.push(char::from(b));
            }
            b' '..=b'~' => out.push(char::from(b)),
            b => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out
}

/// The value between the quotes of Go's `strconv.Quote` (and `%q`): `\"` `\\`,
/// `\a \b \f \n \r \t \v`, other C0 controls and DEL as `\xNN`, unprintable characters
/// as `\uNNNN` (lower hex); everything else kept (`'` included).
pub fn go_quoted(value: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if c < ' ' || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if unprintable(c) => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// RFC 4648 base64 with the given alphabet, padded or not.
pub fn base64(bytes: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    base64_into(&mut out, bytes, alphabet, pad);
    out
}

/// Appends the base64 of `bytes` to `out`: [`base64`] without an allocation of its own.
pub fn base64_into(out: &mut String, bytes: &[u8], alphabet: &[u8; 64], pad: bool) {
    let symbol = |n: u32, shift: u32| char::from(alphabet[(n >> shift & 0x3f) as usize]);
    let mut chunks = bytes.chunks_exact(3);
    for chunk in &mut chunks {
        let n = u32::from(chunk[0]) << 16 | u32::from(chunk[1]) << 8 | u32::from(chunk[2]);
        for shift in [18, 12, 6, 0] {
            out.push(symbol(n, shift));
        }
    }
    let rest = chunks.remainder();
    if rest.is_empty() {
        return;
    }
    let n = rest
        .iter()
        .enumerate()
        .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
    for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
        if i <= rest.len() {
            out.push(symbol(n, shift));
        } else if pad {
            out.push('=');
        }
    }
}

/// Decodes the unpadded base64 `text`, written with `alphabet`, into `out` (cleared first).
/// `false` when `text` is not the canonical unpadded spelling of any bytes: a character outside
/// the alphabet, a length of 4k+1, or bits set after the last byte. So at most one byte string
/// decodes from a text, and [`base64`] of it gives the text back.
pub fn base64_decode_unpadded_into(out: &mut Vec<u8>, text: &[u8], alphabet: &[u8; 64]) -> bool {
    out.clear();
    if text.len() % 4 == 1 {
        return false;
    }
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in text {
        let Some(sextet) = alphabet.iter().position(|&a| a == c) else {
            return false;
        };
        acc = acc << 6 | sextet as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    acc == 0
}

/// The value as it appears between the quotes of a JSON string; with `ascii_only`, every
/// non-ASCII character as `\uXXXX` (lower-case hex, surrogate pairs above U+FFFF).
pub fn json_escaped(value: &str, ascii_only: bool) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c if ascii_only && !c.is_ascii() => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// RFC 3986 percent-encoding: every byte outside `A-Z a-z 0-9 - . _ ~` as `%XX`, upper-case.
pub fn percent_encoded(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_test_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes(), BASE64, true), encoded);
            assert_eq!(
                base64(plain.as_bytes(), BASE64, false),
                encoded.trim_end_matches('=')
            );
        }
        assert_eq!(base64(&[0xfb, 0xff], BASE64, true), "+/8=");
        assert_eq!(base64(&[0xfb, 0xff], BASE64URL, false), "-_8");
    }

    #[test]
    fn json_escapes_like_common_encoders() {
        assert_eq!(
            json_escaped("a\"b\\c\nd\u{1}", false),
            "a\\\"b\\\\c\\nd\\u0001"
        );
        assert_eq!(json_escaped("grüß 🌍", false), "grüß 🌍");
        // Python's json.dumps (ensure_ascii) writes exactly this.
        assert_eq!(
            json_escaped("grüß 🌍", true),
            "gr\\u00fc\\u00df \\ud83c\\udf0d"
        );
    }

    #[test]
    fn percent_encodes_all_but_unreserved() {
        assert_eq!(percent_encoded(b"a-b.c_d~e"), "a-b.c_d~e");
        assert_eq!(
            percent_encoded("p@ss w/ü".as_bytes()),
            "p%40ss%20w%2F%C3%BC"
        );
    }

    /// A value with every character some encoder treats specially.
    const HARD: &str = "p@ss w/\u{fc}<&>'\"\\\n\t\u{1}\u{7f}\u{85}+=*~!()$,;:`\u{2028}\u{1f30d}";

    #[test]
    fn python_reprs_match_cpython() {
        // Printed by CPython 3: repr(HARD)[1:-1], repr(HARD.encode())[2:-1].
        assert_eq!(
            python_repr_str(HARD),
            "p@ss w/\u{fc}<&>\\'\"\\\\\\n\\t\\x01\\x7f\\x85+=*~!()$,;:`\\u2028\u{1f30d}"
        );
        assert_eq!(
            python_repr_bytes(HARD.as_bytes()),
            "p@ss w/\\xc3\\xbc<&>\\'\"\\\\\\n\\t\\x01\\x7f\\xc2\\x85+=*~!()$,;:`\\xe2\\x80\\xa8\\xf0\\x9f\\x8c\\x8d"
        );
        assert_eq!(python_repr_str("it's \"x\""), "it\\'s \"x\"");
        assert_eq!(python_repr_str("it's ok"), "it's ok");
        assert_eq!(python_repr_bytes(b"it's ok"), "it's ok");
    }

    #[test]
    fn go_forms_match_the_go_standard_library() {
        // Printed by Go 1.2x: json.Marshal, strconv.Quote, url.QueryEscape, url.PathEscape.
        assert_eq!(
            json_styled(HARD, JsonStyle::HtmlSafe),
            "p@ss w/\u{fc}\\u003c\\u0026\\u003e'\\\"\\\\\\n\\t\\u0001\u{7f}\u{85}+=*~!()$,;:`\\u2028\u{1f30d}"
        );
        assert_eq!(
            go_quoted(HARD),
            "p@ss w/\u{fc}<&>'\\\"\\\\\\n\\t\\x01\\x7f\\u0085+=*~!()$,;:`\\u2028\u{1f30d}"
        );
        assert_eq!(
            url_escaped(HARD.as_bytes(), UNRESERVED_TILDE, Space::Plus, Hex::Upper),
            "p%40ss+w%2F%C3%BC%3C%26%3E%27%22%5C%0A%09%01%7F%C2%85%2B%3D%2A~%21%28%29%24%2C%3B%3A%60%E2%80%A8%F0%9F%8C%8D"
        );
        assert_eq!(
            url_escaped(HARD.as_bytes(), GO_PATH, Space::Percent, Hex::Upper),
            "p@ss%20w%2F%C3%BC%3C&%3E%27%22%5C%0A%09%01%7F%C2%85+=%2A~%21%28%29$%2C%3B:%60%E2%80%A8%F0%9F%8C%8D"
        );
    }

    #[test]
    fn python_js_and_java_url_forms_match_their_libraries() {
        // urllib.parse.quote (keeps `/`); encodeURIComponent; URLSearchParams and Java's
        // URLEncoder (identical).
        assert_eq!(
            url_escaped(HARD.as_bytes(), b"-_.~/", Space::Percent, Hex::Upper),
            "p%40ss%20w/%C3%BC%3C%26%3E%27%22%5C%0A%09%01%7F%C2%85%2B%3D%2A~%21%28%29%24%2C%3B%3A%60%E2%80%A8%F0%9F%8C%8D"
        );
        assert_eq!(
            url_escaped(HARD.as_bytes(), URI_COMPONENT, Space::Percent, Hex::Upper),
            "p%40ss%20w%2F%C3%BC%3C%26%3E'%22%5C%0A%09%01%7F%C2%85%2B%3D*~!()%24%2C%3B%3A%60%E2%80%A8%F0%9F%8C%8D"
        );
        assert_eq!(
            url_escaped(HARD.as_bytes(), FORM_STAR, Space::Plus, Hex::Upper),
            "p%40ss+w%2F%C3%BC%3C%26%3E%27%22%5C%0A%09%01%7F%C2%85%2B%3D*%7E%21%28%29%24%2C%3B%3A%60%E2%80%A8%F0%9F%8C%8D"
        );
    }

    #[test]
    fn dotnet_and_gson_json_escape_what_their_encoders_escape() {
        assert_eq!(
            json_styled("a\"b&'+<>`\u{7f}\u{fc}\u{1}\n\\", JsonStyle::DotNet),
            "a\\u0022b\\u0026\\u0027\\u002B\\u003C\\u003E\\u0060\\u007F\\u00FC\\u0001\\n\\\\"
        );
        assert_eq!(
            json_styled("\u{1f30d}", JsonStyle::DotNet),
            "\\uD83C\\uDF0D"
        );
        assert_eq!(
            json_styled("a='<b>'", JsonStyle::Gson),
            "a\\u003d\\u0027\\u003cb\\u003e\\u0027"
        );
        assert_eq!(json_styled("x\u{1b}", JsonStyle::UpperControls), "x\\u001B");
    }

    #[test]
    fn a_plain_word_is_one_form_besides_its_two_base64_spellings() {
        let all = forms("hunter2secret");
        let distinct: std::collections::BTreeSet<&String> = all.iter().collect();
        assert_eq!(distinct.len(), 3, "{distinct:?}");
    }

    #[test]
    fn unpadded_base64_decodes_back_to_its_bytes_and_nothing_else_decodes() {
        let mut out = Vec::new();
        for len in 0..40u8 {
            let bytes: Vec<u8> = (0..len)
                .map(|i| i.wrapping_mul(151).wrapping_add(7))
                .collect();
            for alphabet in [BASE64, BASE64URL] {
                let text = base64(&bytes, alphabet, false);
                assert!(base64_decode_unpadded_into(
                    &mut out,
                    text.as_bytes(),
                    alphabet
                ));
                assert_eq!(out, bytes);
            }
        }
        // Not canonical (bits after the last byte), a 4k+1 length, padding, the other alphabet.
        for bad in ["QR", "QUJ", "Q", "QUJDR", "QQ==", "-_8", "+/8"] {
            let alphabet = if bad.contains('+') { BASE64URL } else { BASE64 };
            assert!(
                !base64_decode_unpadded_into(&mut out, bad.as_bytes(), alphabet),
                "{bad:?}"
            );
        }
        assert!(base64_decode_unpadded_into(&mut out, b"QQ", BASE64));
        assert_eq!(out, b"A");
    }

    #[test]
    fn values_shorter_than_the_minimum_are_not_redacted() {
        assert!(!is_redacted(""));
        assert!(!is_redacted("1"));
        assert!(!is_redacted("543"));
        assert!(is_redacted("5432"));
        // Bytes, not characters: two two-byte characters are long enough.
        assert!(is_redacted("\u{fc}\u{fc}"));
    }

    #[test]
    fn the_name_shaped_forms_are_exactly_the_forms_that_are_names() {
        let values = [
            "whk_live_5555",
            "abc",
            "a",
            "Zm9v",
            "p@ss w/ü",
            "sk-test-123",
            "a+b/c=d",
            "x\u{1}y",
            "grüß 🌍",
            "it's \"quoted\"",
            "under_score_9",
            "99bottles",
            "<&>",
            "100%",
            "a~b.c-d",
        ];
        // The longest value whose base64 is still a name (128 characters), and one byte more.
        let (longest, too_long) = ("Ab".repeat(48), "Ab".repeat(48) + "c");
        let mut scratch = String::new();
        for value in values
            .into_iter()
            .chain([longest.as_str(), too_long.as_str()])
        {
            let mut shaped = Vec::new();
            visit_name_shaped_forms(value, &mut scratch, |form| shaped.push(form.to_owned()));
            for form in &shaped {
                assert!(crate::name::is_valid_name(form), "{value:?}: {form:?}");
            }
            let mut expected: Vec<String> = forms(value)
                .into_iter()
                .filter(|form| crate::name::is_valid_name(form))
                .collect();
            expected.sort();
            expected.dedup();
            shaped.sort();
            shaped.dedup();
            assert_eq!(shaped, expected, "{value:?}");
        }
    }
}
