//! Rules of PROTOCOL.md that a careful implementer would otherwise have to guess, each pinned
//! by a test: the plaintext bundle's limits (§11.1), saturating time arithmetic (§11.4 step 7),
//! and exactly which characters the JSON and percent forms escape (§8.4).

#![allow(clippy::unwrap_used)]

use std::borrow::Cow;

use ax_protocol::SecretText;
use ax_protocol::bundle::{Bundle, BundleError, BundleSecret};
use ax_protocol::encodings::{json_escaped, percent_encoded};
use ax_protocol::limits::MAX_CLOCK_SKEW_SECS;

fn bundle() -> Bundle<'static> {
    Bundle {
        tenant: Cow::Borrowed("acme"),
        execution_id: Cow::Borrowed("exec-1"),
        environment: Cow::Borrowed("production"),
        config: Some(Cow::Borrowed("nightly")),
        issued_at: 1_800_000_000,
        expires_at: 1_800_003_600,
        secrets: vec![BundleSecret {
            name: Cow::Borrowed("A"),
            value: SecretText::borrowed("v"),
            version: 1,
            created_at: 0,
            updated_at: 0,
        }],
        overrides: vec![],
    }
}

#[test]
fn labels_are_held_to_128_bytes_and_the_tenant_may_not_be_empty() {
    let long = "t".repeat(128);
    let too_long = "t".repeat(129);
    type SetLabel = fn(&mut Bundle<'static>, Cow<'static, str>);
    let cases: [(&str, SetLabel); 3] = [
        ("tenant", |b, v| b.tenant = v),
        ("environment", |b, v| b.environment = v),
        ("config", |b, v| b.config = Some(v)),
    ];
    for (what, set) in cases {
        let mut ok = bundle();
        set(&mut ok, Cow::Owned(long.clone()));
        assert_eq!(ok.check_contents(), Ok(()), "{what} of 128 bytes");
        let mut bad = bundle();
        set(&mut bad, Cow::Owned(too_long.clone()));
        assert_eq!(
            bad.check_contents(),
            Err(BundleError::InvalidLabel),
            "{what} of 129 bytes"
        );
    }
    let mut empty_tenant = bundle();
    empty_tenant.tenant = Cow::Borrowed("");
    assert_eq!(
        empty_tenant.check_contents(),
        Err(BundleError::InvalidLabel)
    );
    let mut empty_environment = bundle();
    empty_environment.environment = Cow::Borrowed("");
    empty_environment.config = None;
    assert_eq!(empty_environment.check_contents(), Ok(()));
}

#[test]
fn the_lifetime_must_not_be_empty_and_the_execution_id_must_follow_its_rule() {
    let mut same = bundle();
    same.expires_at = same.issued_at;
    assert_eq!(same.check_contents(), Err(BundleError::InvalidLifetime));
    let mut bad_id = bundle();
    bad_id.execution_id = Cow::Borrowed("../x");
    assert_eq!(
        bad_id.check_contents(),
        Err(BundleError::InvalidExecutionId)
    );
}

#[test]
fn the_skew_bound_saturates_instead_of_wrapping() {
    // now + 300 would wrap to a small number; saturated, it admits this issued_at.
    let mut late = bundle();
    late.issued_at = u64::MAX - 1;
    late.expires_at = u64::MAX;
    let now = u64::MAX - 100;
    assert_eq!(late.check_time(now), Ok(()));
    // And an issued_at far in the future of a small clock is refused, never admitted by a wrap.
    let mut future = bundle();
    future.issued_at = u64::MAX - 1;
    future.expires_at = u64::MAX;
    assert!(matches!(
        future.check_time(1_800_000_000),
        Err(BundleError::NotYetValid { .. })
    ));
    assert!(matches!(
        future.check_time(u64::MAX - 1 - MAX_CLOCK_SKEW_SECS - 1),
        Err(BundleError::NotYetValid { .. })
    ));
    assert_eq!(
        future.check_time(u64::MAX - 1 - MAX_CLOCK_SKEW_SECS),
        Ok(())
    );
}

#[test]
fn json_escapes_exactly_quote_backslash_and_c0_controls() {
    for byte in 0u8..=0x7f {
        let c = char::from(byte);
        let expected = match c {
            '"' => "\\\"".to_owned(),
            '\\' => "\\\\".to_owned(),
            '\u{8}' => "\\b".to_owned(),
            '\t' => "\\t".to_owned(),
            '\n' => "\\n".to_owned(),
            '\u{c}' => "\\f".to_owned(),
            '\r' => "\\r".to_owned(),
            c if c < ' ' => format!("\\u{:04x}", byte),
            c => c.to_string(),
        };
        let text = c.to_string();
        assert_eq!(json_escaped(&text, false), expected, "{byte:#04x}");
        assert_eq!(
            json_escaped(&text, true),
            expected,
            "{byte:#04x} ascii-only"
        );
    }
    // Lower-case hex, and `/` and DEL are never escaped.
    assert_eq!(json_escaped("\u{1b}/\u{7f}", false), "\\u001b/\u{7f}");
    // Non-ASCII: kept, or escaped with lower-case hex and surrogate pairs.
    assert_eq!(json_escaped("é\u{ffff}🌍", false), "é\u{ffff}🌍");
    assert_eq!(
        json_escaped("é\u{ffff}🌍", true),
        "\\u00e9\\uffff\\ud83c\\udf0d"
    );
}

#[test]
fn percent_encoding_keeps_exactly_the_unreserved_set_and_writes_upper_case_hex() {
    for byte in 0u8..=0xff {
        let kept = byte.is_ascii_alphanumeric() || b"-._~".contains(&byte);
        let expected = if kept {
            char::from(byte).to_string()
        } else {
            format!("%{byte:02X}")
        };
        assert_eq!(percent_encoded(&[byte]), expected, "{byte:#04x}");
    }
    assert_eq!(percent_encoded(b"a b+c/d"), "a%20b%2Bc%2Fd");
}
