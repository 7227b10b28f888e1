//! Every request kind, served by the real binary (PROTOCOL §5–§9): the answers to `Hello`,
//! `Get`, `List`, `Render`, `Redact` and `Ping` for the standard fixture, large values, many
//! requests on one connection, many connections at once, pipelining, the response limit and
//! the audit trail.
//!
//! Expected answers are worked out here from `support::SECRETS` and `support::OVERRIDES`
//! (and encodings from the `base64` crate or written out by hand), never by sidecar code.

// Clippy's allow-*-in-tests settings cover `#[test]` bodies only; the helpers below are test
// code as much as they are.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::borrow::Cow;
use std::collections::BTreeMap;

use ax_protocol::bundle::Bundle;
use ax_protocol::frame::{decode_response, to_frame};
use ax_protocol::limits::{MAX_REQUEST_FRAME, MAX_VALUE_LEN, PROTOCOL_VERSION};
use ax_protocol::{ErrorCode, Request, RequestBody, Response, ResponseBody, SecretText};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use support::{Client, Fixture, OVERRIDES, SECRETS, Sidecar, bundle};

/// The effective value of `name` in the standard fixture: the override, else the tenant's.
fn expected_value(name: &str) -> Option<&'static str> {
    OVERRIDES
        .iter()
        .chain(SECRETS)
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
}

/// Every distinct non-empty value of the standard fixture, replaced tenant values included.
fn all_values() -> impl Iterator<Item = &'static str> {
    SECRETS
        .iter()
        .chain(OVERRIDES)
        .map(|(_, v)| *v)
        .filter(|v| !v.is_empty())
}

fn render(client: &mut Client, template: &str) -> (String, Vec<String>) {
    let body = RequestBody::Render {
        template: SecretText::borrowed(template),
    };
    match client.request(body).body {
        ResponseBody::Rendered { text, missing } => (
            text.into_string(),
            missing.into_iter().map(Cow::into_owned).collect(),
        ),
        other => panic!("expected Rendered, got {other:?}"),
    }
}

fn redact(client: &mut Client, text: &str) -> (String, Vec<String>) {
    let body = RequestBody::Redact {
        text: SecretText::borrowed(text),
    };
    match client.request(body).body {
        ResponseBody::Redacted { text, found } => (
            text.into_owned(),
            found.into_iter().map(Cow::into_owned).collect(),
        ),
        other => panic!("expected Redacted, got {other:?}"),
    }
}

/// Asserts that `form` (some encoding of `name`'s value) is redacted inside a sentence.
fn assert_redacts(client: &mut Client, name: &str, form: &str) {
    let text = format!("before {form} after");
    let (redacted, found) = redact(client, &text);
    assert_eq!(redacted, "before *** after", "form {form:?} of {name}");
    assert_eq!(found, [name], "form {form:?} of {name}");
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

/// A deterministic value of exactly `MAX_VALUE_LEN` bytes with multi-byte characters in it.
fn largest_value() -> String {
    let unit = "abcü🌍-";
    assert_eq!(unit.len(), 10);
    let mut value = unit.repeat(MAX_VALUE_LEN / unit.len());
    while value.len() < MAX_VALUE_LEN {
        value.push('x');
    }
    assert_eq!(value.len(), MAX_VALUE_LEN);
    value
}

fn big_fixture(value: &str) -> Fixture {
    Fixture::with_bundle(&bundle(&[("BIG", value), ("SMALL", "tiny")], &[]))
}

#[test]
fn answers_hello_with_version_sidecar_and_execution_id() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = Client::connect(&sidecar.socket);
    let answer = client.hello(None);
    assert_eq!(answer.id, 1);
    assert_eq!(
        answer.body,
        ResponseBody::Hello {
            version: 2,
            sidecar: Cow::Owned(format!("ax-sidecar/{}", env!("CARGO_PKG_VERSION"))),
            execution_id: Cow::Borrowed("exec-test-1"),
        }
    );
}

#[test]
fn refuses_a_version_1_hello_naming_the_version_it_speaks() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = Client::connect(&sidecar.socket);
    client.send(&Request {
        id: 3,
        body: RequestBody::Hello {
            version: 1,
            client: Cow::Borrowed("old-shim/0.1"),
            token: None,
        },
    });
    let answer = client.read().expect("an answer to the v1 Hello");
    assert_eq!(answer.id, 3);
    match answer.body {
        ResponseBody::Error { code, message } => {
            assert_eq!(code, ErrorCode::UnsupportedVersion);
            assert!(
                message.ends_with(&format!("speaks {PROTOCOL_VERSION}")),
                "the message names the version spoken: {message:?}"
            );
        }
        other => panic!("expected UnsupportedVersion, got {other:?}"),
    }
    client.expect_closed();
}

#[test]
fn ignores_a_token_when_none_is_configured() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = Client::connect(&sidecar.socket);
    client.hello(Some("whatever"));
    assert_eq!(
        client.get("GREETING").as_deref(),
        expected_value("GREETING")
    );
}

#[test]
fn gets_every_secret_with_its_effective_value() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = sidecar.client();
    for (name, _) in SECRETS.iter().chain(OVERRIDES) {
        assert_eq!(
            client.get(name).as_deref(),
            expected_value(name),
            "value of {name}"
        );
    }
    assert_eq!(client.get("GREETING").as_deref(), Some("grüß dich 🌍"));
}

#[test]
fn answers_an_empty_value_as_found() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = sidecar.client();
    let response = client.request(RequestBody::Get {
        name: Cow::Borrowed("EMPTY"),
    });
    assert_eq!(
        response.body,
        ResponseBody::Secret {
            value: Some(SecretText::borrowed(""))
        }
    );
}

#[test]
fn answers_a_missing_name_with_none() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = sidecar.client();
    assert_eq!(client.get("NOPE"), None);
    // Names are case-sensitive.
    assert_eq!(client.get("db_url"), None);
    assert_eq!(client.get(&"A".repeat(128)), None);
}

#[test]
fn answers_invalid_names_with_none() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = sidecar.client();
    let too_long = format!("A{}", "b".repeat(128));
    assert_eq!(too_long.len(), 129);
    for name in [
        "9LIVES",
        "",
        "a-b",
        too_long.as_str(),
        expected_value("OPENAI_API_KEY").unwrap(),
        expected_value("DB_URL").unwrap(),
        " DB_URL",
        "DB_URL\0",
    ] {
        assert_eq!(client.get(name), None, "Get {name:?}");
    }
    // The connection is still good.
    assert_eq!(client.get("DB_URL").as_deref(), expected_value("DB_URL"));
}

#[test]
fn an_override_replaces_the_tenant_value() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = sidecar.client();
    assert_eq!(
        client.get("WEBHOOK_TOKEN").as_deref(),
        Some("whk_override_0001")
    );
}

#[test]
fn lists_every_secret_sorted_with_metadata_and_no_value() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = sidecar.client();

    let source = bundle(SECRETS, OVERRIDES);
    let mut expected = BTreeMap::new();
    // Overrides last, so that an override's metadata replaces its tenant secret's.
    for secret in source.secrets.iter().chain(&source.overrides) {
        expected.insert(secret.name.to_string(), (secret.version, secret.updated_at));
    }

    client.send(&Request {
        id: 77,
        body: RequestBody::List,
    });
    let raw = client.read_body().expect("a List response");
    for value in all_values() {
        assert!(
            !raw.windows(value.len()).any(|w| w == value.as_bytes()),
            "the List response holds the value of a secret"
        );
    }
    let response = decode_response(&raw).unwrap();
    assert_eq!(response.id, 77);
    let ResponseBody::List { secrets } = response.body else {
        panic!("expected List, got {response:?}");
    };
    let got: Vec<_> = secrets
        .iter()
        .map(|s| (s.name.to_string(), (s.version, s.updated_at)))
        .collect();
    let want: Vec<_> = expected.into_iter().collect();
    assert_eq!(got, want);
    let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "DB_URL",
            "EMPTY",
            "GREETING",
            "OPENAI_API_KEY",
            "WEBHOOK_TOKEN"
        ]
    );
    // The tenant's WEBHOOK_TOKEN is version 5; the override that replaces it is version 1.
    assert_eq!(got[4].1, (1, 1_700_000_000));
}

/// The `List` response body and every `Get` answer of `bundle`, as raw bytes.
fn list_and_gets(bundle: &Bundle<'_>, names: &[&str]) -> (Vec<u8>, Vec<Vec<u8>>) {
    let fixture = Fixture::with_bundle(bundle);
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = sidecar.client();
    client.send(&Request {
        id: 9,
        body: RequestBody::List,
    });
    let list = client.read_body().expect("a List response");
    let gets = names
        .iter()
        .map(|name| {
            client.send(&Request {
                id: 10,
                body: RequestBody::Get {
                    name: Cow::Borrowed(name),
                },
            });
            client.read_body().expect("a Secret response")
        })
        .collect();
    (list, gets)
}

#[test]
fn node_code_cannot_tell_an_override_from_a_tenant_value() {
    // One override replaces a tenant secret, the other adds a name of its own.
    let overridden = bundle(
        SECRETS,
        &[
            ("WEBHOOK_TOKEN", "whk_override_0001"),
            ("ZZ_ONLY_OVERRIDE", "zz-override-value"),
        ],
    );
    // The same effective secrets (names, values, versions, timestamps), all the tenant's.
    let mut plain = overridden.clone();
    for secret in std::mem::take(&mut plain.overrides) {
        match plain.secrets.iter_mut().find(|s| s.name == secret.name) {
            Some(slot) => *slot = secret,
            None => plain.secrets.push(secret),
        }
    }
    let names = ["DB_URL", "WEBHOOK_TOKEN", "ZZ_ONLY_OVERRIDE"];
    let (list_a, gets_a) = list_and_gets(&overridden, &names);
    let (list_b, gets_b) = list_and_gets(&plain, &names);
    assert!(
        matches!(decode_response(&list_a).unwrap().body, ResponseBody::List { ref secrets } if secrets.len() == 6),
        "the List holds every effective secret"
    );
    assert_eq!(
        list_a, list_b,
        "List bytes differ between override and tenant"
    );
    assert_eq!(
        gets_a, gets_b,
        "Get bytes differ between override and tenant"
    );
}

#[test]
fn renders_found_references() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = sidecar.client();
    let (text, missing) = render(
        &mut client,
        "key={{secrets.OPENAI_API_KEY}}; url={{secrets.DB_URL}}; hi={{secrets.GREETING}}; \
         hook={{secrets.WEBHOOK_TOKEN}}",
    );
    assert_eq!(
        text,
        "key=sk-test-1234567890abcdef; url=postgres://app:p@ss w0rd/ü@db.internal:5432/app; \
         hi=grüß dich 🌍; hook=whk_override_0001"
    );
    assert!(missing.is_empty(), "{missing:?}");
    assert_eq!(render(&mut client, ""), (String::new(), vec![]));
}

#[test]
fn leaves_missing_references_verbatim_and_reports_each_once_in_order() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = sidecar.client();
    let template = "a={{ secrets.ZETA }} b={{secrets.OPENAI_API_KEY}} c={{secrets.ALPHA}} \
                    d={{secrets.ZETA}} e={{\tsecrets.ALPHA\n}}";
    let (text, missing) = render(&mut client, template);
    assert_eq!(
        text,
        "a={{ secrets.ZETA }} b=sk-test-1234567890abcdef c={{secrets.ALPHA}} \
         d={{secrets.ZETA}} e={{\tsecrets.ALPHA\n}}"
    );
    assert_eq!(missing, ["ZETA", "ALPHA"]);
}

#[test]
fn accepts_whitespace_inside_the_braces() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = sidecar.client();
    let (text, missing) = render(
        &mut client,
        "[{{ secrets.DB_URL }}][{{\t\r\n secrets.GREETING \t\r\n}}][{{secrets.EMPTY }}]",
    );
    assert_eq!(
        text,
        "[postgres://app:p@ss w0rd/ü@db.internal:5432/app][grüß dich 🌍][]"
    );
    assert!(missing.is_empty(), "{missing:?}");
}

#[test]
fn leaves_text_that_is_not_a_reference_alone() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = sidecar.client();
    for literal in [
        "{{ secret.DB_URL }}",
        "{{SECRETS.DB_URL}}",
        "{{ secrets. DB_URL }}",
        "{{secrets.1DB_URL}}",
        "{{secrets.DB_URL",
        "{secrets.DB_URL}",
    ] {
        assert_eq!(
            render(&mut client, literal),
            (literal.to_owned(), vec![]),
            "{literal:?}"
        );
    }
    assert_eq!(
        render(&mut client, "{{{secrets.EMPTY}}}"),
        ("{}".to_owned(), vec![])
    );
}

#[test]
fn never_expands_a_reference_inside_a_value() {
    let fixture = Fixture::with_bundle(&bundle(
        &[
            ("INNER", "inner-value"),
            ("OUTER", "see {{secrets.INNER}} and {{secrets.GONE}}"),
        ],
        &[],
    ));
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = sidecar.client();
    let (text, missing) = render(&mut client, "x={{secrets.OUTER}}");
    assert_eq!(text, "x=see {{secrets.INNER}} and {{secrets.GONE}}");
    assert!(missing.is_empty(), "{missing:?}");
}

#[test]
fn renders_an_empty_value_as_nothing() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = sidecar.client();
    assert_eq!(
        render(&mut client, "<{{secrets.EMPTY}}>"),
        ("<>".to_owned(), vec![])
    );
}

#[test]
fn redacts_raw_values() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = sidecar.client();
    for (name, value) in [
        ("OPENAI_API_KEY", "sk-test-1234567890abcdef"),
        ("DB_URL", "postgres://app:p@ss w0rd/ü@db.internal:5432/app"),
        ("GREETING", "grüß dich 🌍"),
        ("WEBHOOK_TOKEN", "whk_override_0001"),
    ] {
        assert_redacts(&mut client, name, value);
    }
    let (text, found) = redact(
        &mut client,
        "sk-test-1234567890abcdefsk-test-1234567890abcdef\nsk-test-1234567890abcdef",
    );
    assert_eq!(text, "******\n***");
    assert_eq!(found, ["OPENAI_API_KEY"]);
}

#[test]
fn redacts_base64_padded_and_unpadded() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = sidecar.client();
    let mut padded_forms = 0;
    for (name, _) in SECRETS {
        let Some(value) = expected_value(name).filter(|v| !v.is_empty()) else {
            continue;
        };
        let padded = STANDARD.encode(value);
        let unpadded = STANDARD_NO_PAD.encode(value);
        if padded != unpadded {
            padded_forms += 1;
        }
        assert_redacts(&mut client, name, &padded);
        assert_redacts(&mut client, name, &unpadded);
    }
    // GREETING (16 bytes) and WEBHOOK_TOKEN (17 bytes) need padding: both forms were tried.
    assert_eq!(padded_forms, 2);
    assert_redacts(&mut client, "GREETING", "Z3LDvMOfIGRpY2gg8J+MjQ==");
    assert_redacts(&mut client, "GREETING", "Z3LDvMOfIGRpY2gg8J+MjQ");
}

#[test]
fn redacts_base64url_padded_and_unpadded() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = sidecar.client();
    let mut distinct_forms = 0;
    for (name, _) in SECRETS {
        let Some(value) = expected_value(name).filter(|v| !v.is_empty()) else {
            continue;
        };
        let padded = URL_SAFE.encode(value);
        if padded != STANDARD.encode(value) {
            distinct_forms += 1;
        }
        assert_redacts(&mut client, name, &padded);
        assert_redacts(&mut client, name, &URL_SAFE_NO_PAD.encode(value));
    }
    // GREETING's base64 has a '+', which base64url writes as '-'.
    assert_eq!(distinct_forms, 1);
    assert_redacts(&mut client, "GREETING", "Z3LDvMOfIGRpY2gg8J-MjQ==");
    assert_redacts(&mut client, "GREETING", "Z3LDvMOfIGRpY2gg8J-MjQ");
}

#[test]
fn redacts_json_escaped_values_with_utf8_kept_and_with_u_escapes() {
    let quoted = "he said \"hi\"\\ to josé\n\t\u{1}\u{1f}\u{8}\u{c}\r 🔑";
    let fixture = Fixture::with_bundle(&bundle(
        &[
            ("QUOTED", quoted),
            ("GREETING", "grüß dich 🌍"),
            ("DB_URL", "postgres://app:p@ss w0rd/ü@db.internal:5432/app"),
        ],
        &[],
    ));
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = sidecar.client();

    let json = serde_json::to_string(quoted).unwrap();
    let utf8_kept = &json[1..json.len() - 1];
    assert_eq!(
        utf8_kept,
        "he said \\\"hi\\\"\\\\ to josé\\n\\t\\u0001\\u001f\\b\\f\\r 🔑"
    );
    assert_redacts(&mut client, "QUOTED", utf8_kept);
    assert_redacts(
        &mut client,
        "QUOTED",
        "he said \\\"hi\\\"\\\\ to jos\\u00e9\\n\\t\\u0001\\u001f\\b\\f\\r \\ud83d\\udd11",
    );
    assert_redacts(
        &mut client,
        "GREETING",
        "gr\\u00fc\\u00df dich \\ud83c\\udf0d",
    );
    assert_redacts(
        &mut client,
        "DB_URL",
        "postgres://app:p@ss w0rd/\\u00fc@db.internal:5432/app",
    );

    // As it appears in a real JSON document.
    let document = serde_json::json!({ "config": { "greeting": "grüß dich 🌍", "q": quoted } });
    let (text, found) = redact(&mut client, &document.to_string());
    assert_eq!(text, r#"{"config":{"greeting":"***","q":"***"}}"#);
    assert_eq!(found, ["GREETING", "QUOTED"]);
}

#[test]
fn redacts_percent_encoded_values() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = sidecar.client();
    assert_redacts(
        &mut client,
        "DB_URL",
        "postgres%3A%2F%2Fapp%3Ap%40ss%20w0rd%2F%C3%BC%40db.internal%3A5432%2Fapp",
    );
    assert_redacts(
        &mut client,
        "GREETING",
        "gr%C3%BC%C3%9F%20dich%20%F0%9F%8C%8D",
    );
    let (text, found) = redact(
        &mut client,
        "https://h/?db=postgres%3A%2F%2Fapp%3Ap%40ss%20w0rd%2F%C3%BC%40db.internal%3A5432%2Fapp&x=1",
    );
    assert_eq!(text, "https://h/?db=***&x=1");
    assert_eq!(found, ["DB_URL"]);
}

/// The standard fixture's `DB_URL` as common libraries print it (each written out from the
/// library's real output: CPython 3, Go, Node, Java, .NET).
const DB_URL_AS_PRINTED: &[(&str, &str)] = &[
    (
        "Python repr",
        "postgres://app:p@ss w0rd/ü@db.internal:5432/app",
    ),
    (
        "Python repr of bytes",
        "postgres://app:p@ss w0rd/\\xc3\\xbc@db.internal:5432/app",
    ),
    (
        "Python quote",
        "postgres%3A//app%3Ap%40ss%20w0rd/%C3%BC%40db.internal%3A5432/app",
    ),
    (
        "Python quote_plus, Go QueryEscape",
        "postgres%3A%2F%2Fapp%3Ap%40ss+w0rd%2F%C3%BC%40db.internal%3A5432%2Fapp",
    ),
    (
        "Go PathEscape",
        "postgres:%2F%2Fapp:p@ss%20w0rd%2F%C3%BC@db.internal:5432%2Fapp",
    ),
    (
        ".NET HttpUtility.UrlEncode",
        "postgres%3a%2f%2fapp%3ap%40ss+w0rd%2f%c3%bc%40db.internal%3a5432%2fapp",
    ),
    (
        "RFC 3986, lower-case hex",
        "postgres%3a%2f%2fapp%3ap%40ss%20w0rd%2f%c3%bc%40db.internal%3a5432%2fapp",
    ),
    (
        ".NET System.Text.Json",
        "postgres://app:p@ss w0rd/\\u00FC@db.internal:5432/app",
    ),
];

#[test]
fn redacts_values_as_python_go_js_java_and_dotnet_libraries_print_them() {
    let quoted = "it's <b>&\"x\"</b>\n\u{7f}+`=";
    let fixture = Fixture::with_bundle(&bundle(
        &[
            ("DB_URL", "postgres://app:p@ss w0rd/ü@db.internal:5432/app"),
            ("QUOTED", quoted),
        ],
        &[],
    ));
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = sidecar.client();
    for (library, form) in DB_URL_AS_PRINTED {
        let text = format!("before {form} after");
        let (redacted, found) = redact(&mut client, &text);
        assert_eq!(redacted, "before *** after", "{library}: {form:?}");
        assert_eq!(found, ["DB_URL"], "{library}");
    }
    for (library, form) in [
        ("Python repr", "it\\'s <b>&\"x\"</b>\\n\\x7f+`="),
        ("Python repr of bytes", "it\\'s <b>&\"x\"</b>\\n\\x7f+`="),
        (
            "Go json.Marshal",
            "it's \\u003cb\\u003e\\u0026\\\"x\\\"\\u003c/b\\u003e\\n\u{7f}+`=",
        ),
        ("Go %q", "it's <b>&\\\"x\\\"</b>\\n\\x7f+`="),
        (
            "Gson",
            "it\\u0027s \\u003cb\\u003e\\u0026\\\"x\\\"\\u003c/b\\u003e\\n\u{7f}+`\\u003d",
        ),
        (
            ".NET System.Text.Json",
            "it\\u0027s \\u003Cb\\u003E\\u0026\\u0022x\\u0022\\u003C/b\\u003E\\n\\u007F\\u002B\\u0060=",
        ),
        (
            "JavaScript encodeURIComponent",
            "it's%20%3Cb%3E%26%22x%22%3C%2Fb%3E%0A%7F%2B%60%3D",
        ),
        (
            "Java URLEncoder, URLSearchParams",
            "it%27s+%3Cb%3E%26%22x%22%3C%2Fb%3E%0A%7F%2B%60%3D",
        ),
    ] {
        let (redacted, found) = redact(&mut client, &format!("[{form}]"));
        assert_eq!(redacted, "[***]", "{library}: {form:?}");
        assert_eq!(found, ["QUOTED"], "{library}");
    }
    // A Python dict's repr holds the value's repr between quotes.
    let (text, found) = redact(
        &mut client,
        "{'url': 'postgres://app:p@ss w0rd/ü@db.internal:5432/app', 'q': 'it\\'s <b>&\"x\"</b>\\n\\x7f+`='}",
    );
    assert_eq!(text, "{'url': '***', 'q': '***'}");
    assert_eq!(found, ["DB_URL", "QUOTED"]);
}

#[test]
fn leaves_values_shorter_than_four_bytes_unmasked_and_masks_four() {
    let fixture = Fixture::with_bundle(&bundle(
        &[("FLAG", "1"), ("PORT", "5432"), ("TLA", "abc")],
        &[],
    ));
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = sidecar.client();
    assert_eq!(
        redact(&mut client, "flag=1 tla=abc port=5432 v1.2.3"),
        (
            "flag=1 tla=abc port=*** v1.2.3".to_owned(),
            strings(&["PORT"])
        )
    );
}

#[test]
fn names_the_secrets_too_short_to_redact_once_at_start_and_never_their_values() {
    let fixture = Fixture::with_bundle(&bundle(
        &[("FLAG", "1"), ("PORT", "5432"), ("TLA", "q7z")],
        &[],
    ));
    let sidecar = Sidecar::start(&fixture, &[]);
    let (_, _, stderr) = sidecar.stop();
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("values too short to be redacted"))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains("FLAG") && lines[0].contains("TLA"),
        "{}",
        lines[0]
    );
    assert!(!lines[0].contains("PORT"), "{}", lines[0]);
    assert!(!stderr.contains("q7z"), "a value in the log: {stderr}");
}

#[test]
fn prefers_the_leftmost_longest_match_when_one_value_contains_another() {
    let fixture = Fixture::with_bundle(&bundle(
        &[
            ("SHORT", "abc123"),
            ("LONG", "abc123xyz"),
            ("LEFT", "hello-world"),
            ("RIGHT", "world-peace"),
        ],
        &[],
    ));
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = sidecar.client();
    assert_eq!(
        redact(&mut client, "[abc123xyz]"),
        ("[***]".to_owned(), strings(&["LONG"]))
    );
    assert_eq!(
        redact(&mut client, "[abc123xy]"),
        ("[***xy]".to_owned(), strings(&["SHORT"]))
    );
    assert_eq!(
        redact(&mut client, "abc123xyz abc123"),
        ("*** ***".to_owned(), strings(&["LONG", "SHORT"]))
    );
    // Overlapping matches do not nest: the leftmost wins and the rest of the other stays.
    assert_eq!(
        redact(&mut client, "hello-world-peace"),
        ("***-peace".to_owned(), strings(&["LEFT"]))
    );
}

#[test]
fn reports_found_names_sorted_and_once() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = sidecar.client();
    let text = format!(
        "{} {} {} {} {} {}",
        "whk_override_0001",
        "grüß dich 🌍",
        STANDARD.encode("sk-test-1234567890abcdef"),
        "postgres://app:p@ss w0rd/ü@db.internal:5432/app",
        "whk_override_0001",
        "sk-test-1234567890abcdef",
    );
    let (redacted, found) = redact(&mut client, &text);
    assert_eq!(redacted, "*** *** *** *** *** ***");
    assert_eq!(
        found,
        ["DB_URL", "GREETING", "OPENAI_API_KEY", "WEBHOOK_TOKEN"]
    );
}

#[test]
fn leaves_text_without_secrets_unchanged() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = sidecar.client();
    for text in [
        "",
        "nothing to see here",
        "log: ключ=sk-1 🌍\n\t\0end",
        "sk-test-123456789 grüß whk_override_000",
        "***",
    ] {
        assert_eq!(
            redact(&mut client, text),
            (text.to_owned(), vec![]),
            "{text:?}"
        );
    }
}

#[test]
fn redacts_the_override_not_the_replaced_tenant_value() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = sidecar.client();
    // PROTOCOL §8.4: every non-empty *effective* value.
    assert_eq!(
        redact(&mut client, "old whk_9f8e7d6c5b4a new whk_override_0001"),
        (
            "old whk_9f8e7d6c5b4a new ***".to_owned(),
            strings(&["WEBHOOK_TOKEN"])
        )
    );
}

#[test]
fn answers_ping_with_pong() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = sidecar.client();
    client.send(&Request {
        id: 128,
        body: RequestBody::Ping,
    });
    assert_eq!(
        client.read().unwrap(),
        Response {
            id: 128,
            body: ResponseBody::Pong
        }
    );
}

#[test]
fn round_trips_a_value_of_the_maximum_size() {
    let value = largest_value();
    let fixture = big_fixture(&value);
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = sidecar.client();
    assert!(client.get("BIG").as_deref() == Some(value.as_str()));
    let (text, missing) = render(&mut client, "{{secrets.BIG}}");
    assert!(text == value, "rendered {} bytes", text.len());
    assert!(missing.is_empty());
    assert_eq!(client.get("SMALL").as_deref(), Some("tiny"));
}

#[test]
fn refuses_a_response_over_the_limit_and_keeps_the_connection() {
    let value = largest_value();
    let fixture = big_fixture(&value);
    let sidecar = Sidecar::start(&fixture, &["--max-response-bytes", "1048640"]);
    let mut client = sidecar.client();
    client.send(&Request {
        id: 9,
        body: RequestBody::Render {
            template: SecretText::borrowed("{{secrets.BIG}}{{secrets.BIG}}"),
        },
    });
    client.expect_error(9, ErrorCode::TooLarge);
    // The connection stays open (PROTOCOL §6.6), and a value of the maximum size still fits.
    assert_eq!(client.request(RequestBody::Ping).body, ResponseBody::Pong);
    assert!(client.get("BIG").as_deref() == Some(value.as_str()));
    assert_eq!(client.get("SMALL").as_deref(), Some("tiny"));
}

#[test]
fn serves_a_thousand_sequential_requests_on_one_connection() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = sidecar.client();
    for i in 0..1000 {
        match i % 5 {
            0 => assert_eq!(
                client.get("OPENAI_API_KEY").as_deref(),
                expected_value("OPENAI_API_KEY")
            ),
            1 => assert_eq!(client.get(&format!("MISSING_{i}")), None),
            2 => assert_eq!(client.request(RequestBody::Ping).body, ResponseBody::Pong),
            3 => assert_eq!(
                render(&mut client, &format!("{i}:{{{{secrets.GREETING}}}}")),
                (format!("{i}:grüß dich 🌍"), vec![])
            ),
            _ => assert_eq!(
                redact(&mut client, &format!("{i} whk_override_0001")),
                (format!("{i} ***"), strings(&["WEBHOOK_TOKEN"]))
            ),
        }
    }
}

#[test]
fn serves_a_hundred_concurrent_connections() {
    const CLIENTS: usize = 100;
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    // All connected and greeted before any thread starts asking, so all are open at once.
    let clients: Vec<Client> = (0..CLIENTS).map(|_| sidecar.client()).collect();
    std::thread::scope(|scope| {
        for (t, mut client) in clients.into_iter().enumerate() {
            scope.spawn(move || {
                for round in 0..3 {
                    // Each thread starts at a different secret, so the sidecar sees a mix.
                    for k in 0..SECRETS.len() {
                        let (name, _) = SECRETS[(t + round + k) % SECRETS.len()];
                        assert_eq!(
                            client.get(name).as_deref(),
                            expected_value(name),
                            "thread {t}: {name}"
                        );
                    }
                }
                assert_eq!(client.get(&format!("NOPE_{t}")), None);
            });
        }
    });
}

/// What a pipelined request must be answered with.
enum Expected {
    /// Exactly this body.
    Body(ResponseBody<'static>),
    /// A `List` of every secret (its contents are checked in detail elsewhere).
    List,
}

#[test]
fn answers_fifty_pipelined_requests_in_order() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = sidecar.client();
    let names = ["OPENAI_API_KEY", "NOPE", "EMPTY", "GREETING", "9LIVES"];
    let mut batch = Vec::new();
    let mut expected = Vec::new();
    for i in 0..50u32 {
        // Ids of one and of several varint bytes, not in increasing order.
        let id = (i * 7919) % 70_000;
        let name = names[i as usize % names.len()];
        let (body, answer) = match i % 6 {
            0 | 1 => (
                RequestBody::Get {
                    name: Cow::Borrowed(name),
                },
                Expected::Body(ResponseBody::Secret {
                    value: expected_value(name).map(SecretText::borrowed),
                }),
            ),
            2 => (RequestBody::Ping, Expected::Body(ResponseBody::Pong)),
            3 => {
                let template = format!("{i}={{{{secrets.{name}}}}}");
                let (text, missing) = match expected_value(name) {
                    Some(value) => (format!("{i}={value}"), vec![]),
                    // "9LIVES" is no name, so its "reference" is plain text, not missing.
                    None if name == "9LIVES" => (template.clone(), vec![]),
                    None => (template.clone(), vec![Cow::Borrowed(name)]),
                };
                (
                    RequestBody::Render {
                        template: SecretText::owned(template),
                    },
                    Expected::Body(ResponseBody::Rendered {
                        text: SecretText::owned(text),
                        missing,
                    }),
                )
            }
            4 => (
                RequestBody::Redact {
                    text: SecretText::owned(format!("{i} sk-test-1234567890abcdef")),
                },
                Expected::Body(ResponseBody::Redacted {
                    text: Cow::Owned(format!("{i} ***")),
                    found: vec![Cow::Borrowed("OPENAI_API_KEY")],
                }),
            ),
            _ => (RequestBody::List, Expected::List),
        };
        batch.extend(to_frame(&Request { id, body }, MAX_REQUEST_FRAME).unwrap());
        expected.push((id, answer));
    }
    client.send_raw(&batch);
    for (id, answer) in expected {
        let response = client.read().expect("a pipelined response");
        assert_eq!(response.id, id, "responses out of order");
        match answer {
            Expected::Body(body) => assert_eq!(response.body, body, "id {id}"),
            Expected::List => {
                let ResponseBody::List { secrets } = &response.body else {
                    panic!("id {id}: expected List, got {response:?}");
                };
                assert_eq!(secrets.len(), 5, "id {id}");
            }
        }
    }
    // Still in step afterwards.
    assert_eq!(client.get("DB_URL").as_deref(), expected_value("DB_URL"));
}

#[test]
fn audits_every_get_render_and_redact_without_values() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut first = sidecar.client();
    let mut second = sidecar.client();

    assert!(first.get("OPENAI_API_KEY").is_some());
    assert!(first.get("9LIVES").is_none());
    assert!(first.get("sk-test-1234567890abcdef").is_none());
    assert!(first.get("NOPE").is_none());
    assert_eq!(first.request(RequestBody::Ping).body, ResponseBody::Pong);
    assert!(first.get("EMPTY").is_some());
    assert!(matches!(
        first.request(RequestBody::List).body,
        ResponseBody::List { .. }
    ));
    render(
        &mut first,
        "{{secrets.DB_URL}} {{secrets.NOPE}} {{secrets.DB_URL}}",
    );
    render(&mut first, "{{secrets.GREETING}}");
    redact(
        &mut first,
        "key sk-test-1234567890abcdef hook whk_override_0001",
    );
    redact(&mut first, "nothing here");
    assert!(second.get("GREETING").is_some());
    assert!(second.get("").is_none());
    drop((first, second));

    let (status, _, stderr) = sidecar.stop();
    assert!(status.success(), "{stderr}");

    let expected: &[(&str, &[&str], bool)] = &[
        ("get", &["OPENAI_API_KEY"], true),
        ("get", &["<invalid>"], false),
        ("get", &["<invalid>"], false),
        ("get", &["NOPE"], false),
        ("get", &["EMPTY"], true),
        ("list", &[], true),
        ("render", &["DB_URL", "NOPE"], false),
        ("render", &["GREETING"], true),
        ("redact", &["OPENAI_API_KEY", "WEBHOOK_TOKEN"], true),
        ("redact", &[], false),
        ("get", &["GREETING"], true),
        ("get", &["<invalid>"], false),
    ];
    let events = fixture.audit();
    assert_eq!(events.len(), expected.len(), "{events:#?}");
    let pid = std::process::id();
    let uid = nix::unistd::Uid::effective().as_raw();
    let gid = nix::unistd::Gid::effective().as_raw();
    for (index, (event, (action, names, found))) in events.iter().zip(expected).enumerate() {
        let keys: Vec<&str> = event
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        let mut sorted_keys = keys.clone();
        sorted_keys.sort_unstable();
        assert_eq!(
            sorted_keys,
            [
                "action",
                "execution_id",
                "found",
                "names",
                "peer",
                "seq",
                "time"
            ],
            "{event}"
        );
        assert_eq!(event["seq"], index as u64 + 1, "{event}");
        assert_eq!(event["execution_id"], "exec-test-1", "{event}");
        assert_eq!(event["action"], *action, "{event}");
        assert_eq!(event["names"], serde_json::json!(names), "{event}");
        assert_eq!(event["found"], *found, "{event}");
        assert_eq!(
            event["peer"],
            serde_json::json!({ "pid": pid, "uid": uid, "gid": gid }),
            "{event}"
        );
        let time = event["time"].as_str().expect("a time string");
        assert!(is_rfc3339_millis_utc(time), "{time}");
    }

    let trail = std::fs::read_to_string(fixture.path("audit.jsonl")).unwrap();
    for value in all_values() {
        assert!(!trail.contains(value), "the audit trail holds a value");
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
fn is_rfc3339_millis_utc(time: &str) -> bool {
    let shape = "0000-00-00T00:00:00.000Z";
    time.len() == shape.len()
        && time.bytes().zip(shape.bytes()).all(|(t, s)| {
            if s == b'0' {
                t.is_ascii_digit()
            } else {
                t == s
            }
        })
}
