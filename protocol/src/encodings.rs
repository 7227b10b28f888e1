//! The forms a secret value commonly leaks in (PROTOCOL §8.4): what `Redact` and the stream
//! filter match besides the value itself. Here, beside the other rules of the wire contract,
//! so that the sidecar and the Rust shim's mock compute them from one definition.
//!
//! Each function appends one encoding of the value to a caller-owned buffer, so the caller
//! decides where the copies live and wipes them.

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Every form of `value` the sidecar redacts, in the order of PROTOCOL §8.4, duplicates
/// included (a plain ASCII word is its own JSON and percent encoding).
pub fn forms(value: &str) -> [String; 8] {
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
    ]
}

/// RFC 4648 base64 with the given alphabet, padded or not.
pub fn base64(bytes: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        let symbols = chunk.len() + 1;
        for i in 0..4 {
            if i < symbols {
                out.push(char::from(alphabet[(n >> (18 - 6 * i) & 0x3f) as usize]));
            } else if pad {
                out.push('=');
            }
        }
    }
    out
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
}
