//! The generator: every vector file, built from Rust values by the reference encoder.
//!
//! Hand-written bytes appear only for cases the encoder cannot produce (invalid frames and one
//! non-canonical varint); each says why in its comment.

use std::borrow::Cow;

use ax_protocol::limits::{MAX_NAME_LEN, MAX_REQUEST_FRAME, MAX_RESPONSE_FRAME, PROTOCOL_VERSION};
use ax_protocol::name::{NameError, validate_name};
use ax_protocol::template::{Segment, render_into, segments};
use ax_protocol::{
    ErrorCode, Request, RequestBody, Response, ResponseBody, SecretInfo, SecretText,
};
use serde_json::{Map, Value, json};

use crate::json::{request_to_json, response_to_json};

/// One test entry.
pub(crate) struct Case {
    pub(crate) comment: String,
    pub(crate) flags: Vec<&'static str>,
    pub(crate) hex: Vec<u8>,
    pub(crate) value: Value,
    pub(crate) error: Option<&'static str>,
}

/// One vector file.
pub(crate) struct File {
    pub(crate) name: &'static str,
    pub(crate) schema: &'static str,
    pub(crate) area: &'static str,
    pub(crate) description: &'static str,
    /// `(direction, limit)` for message files.
    pub(crate) direction: Option<(&'static str, u32)>,
    pub(crate) cases: Vec<Case>,
}

impl File {
    pub(crate) fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("schema".into(), json!(self.schema));
        out.insert("area".into(), json!(self.area));
        out.insert("description".into(), json!(self.description));
        if let Some((direction, limit)) = self.direction {
            out.insert("direction".into(), json!(direction));
            out.insert("limit".into(), json!(limit));
        }
        out.insert("numberOfTests".into(), json!(self.cases.len()));
        let tests: Vec<Value> = self
            .cases
            .iter()
            .enumerate()
            .map(|(i, c)| {
                json!({
                    "id": i + 1,
                    "comment": c.comment,
                    "flags": c.flags,
                    "hex": hex::encode(&c.hex),
                    "value": c.value,
                    "result": if c.error.is_none() { "valid" } else { "invalid" },
                    "error": c.error,
                })
            })
            .collect();
        out.insert("tests".into(), Value::Array(tests));
        Value::Object(out)
    }
}

pub(crate) const MESSAGE_SCHEMA: &str = "ax-protocol/messages/v2";
pub(crate) const NAME_SCHEMA: &str = "ax-protocol/names/v1";
pub(crate) const TEMPLATE_SCHEMA: &str = "ax-protocol/templates/v1";
pub(crate) const BUNDLE_SCHEMA: &str = "ax-protocol/bundles/v1";
pub(crate) const REDACTION_SCHEMA: &str = "ax-protocol/redaction/v1";

pub(crate) fn all_files() -> Vec<File> {
    vec![
        File {
            name: "requests.json",
            schema: MESSAGE_SCHEMA,
            area: "requests",
            description: "Every request a client sends, as complete frames (4-byte big-endian length, then the postcard body), with edge cases and invalid frames a sidecar must refuse.",
            direction: Some(("request", MAX_REQUEST_FRAME)),
            cases: requests(),
        },
        File {
            name: "requests-large.json",
            schema: MESSAGE_SCHEMA,
            area: "requests-large",
            description: "A request whose body is exactly the 1 MiB request limit (valid); kept apart because it is large.",
            direction: Some(("request", MAX_REQUEST_FRAME)),
            cases: large_requests(),
        },
        File {
            name: "responses.json",
            schema: MESSAGE_SCHEMA,
            area: "responses",
            description: "Every response a sidecar sends, as complete frames, with edge cases and invalid frames a client must refuse.",
            direction: Some(("response", MAX_RESPONSE_FRAME)),
            cases: responses(),
        },
        File {
            name: "responses-large.json",
            schema: MESSAGE_SCHEMA,
            area: "responses-large",
            description: "A Secret response carrying a 1 MiB value (the largest a bundle may hold); kept apart because it is large.",
            direction: Some(("response", MAX_RESPONSE_FRAME)),
            cases: large_responses(),
        },
        File {
            name: "names.json",
            schema: NAME_SCHEMA,
            area: "names",
            description: "Secret names: valid ones match ^[A-Za-z][A-Za-z0-9_]{0,127}$ (ASCII, case-sensitive). hex is the UTF-8 of value.",
            direction: None,
            cases: names(),
        },
        File {
            name: "templates.json",
            schema: TEMPLATE_SCHEMA,
            area: "templates",
            description: "{{secrets.NAME}} templates: how each splits into text and references, and what it renders to with the given secrets (missing references stay as written and are listed once). hex is the UTF-8 of value.template.",
            direction: None,
            cases: templates(),
        },
        File {
            name: "bundles.json",
            schema: BUNDLE_SCHEMA,
            area: "bundles",
            description: "Sealed bundles (PROTOCOL.md sections 11 and 12) made with fixed keys and fixed randomness: open hex with value.key (the X25519 private key for an envelope, the 32-byte key for a local file), value.control_plane_public_key, value.expected_execution_id and value.now (seconds since the epoch); valid cases give value.bundle, and sealing value.bundle with value.seal_randomness (the ephemeral X25519 private key, or the 12-byte nonce) and value.signing_seed (Ed25519, RFC 8032) reproduces hex. Invalid cases name the refusal.",
            direction: None,
            cases: crate::bundles::cases(),
        },
        File {
            name: "redaction.json",
            schema: REDACTION_SCHEMA,
            area: "redaction",
            description: "Redaction (PROTOCOL.md section 8.4). A forms case gives value.secret (hex is its UTF-8), whether it is long enough to be masked (value.masked), and each of its 23 forms by name (value.forms); a mock holding only that value redacts each form, as the whole text, to *** when masked and leaves it unchanged otherwise. A redaction case gives value.secrets (name to value), value.text (hex is its UTF-8), the redacted text and the names found (sorted, each once).",
            direction: None,
            cases: crate::redaction::cases(),
        },
    ]
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = u32::try_from(body.len())
        .expect("small body")
        .to_be_bytes()
        .to_vec();
    out.extend_from_slice(body);
    out
}

fn req(comment: &str, flags: &[&'static str], id: u32, body: RequestBody<'_>) -> Case {
    let request = Request { id, body };
    Case {
        comment: comment.into(),
        flags: flags.to_vec(),
        hex: ax_protocol::frame::to_frame(&request, MAX_REQUEST_FRAME).expect("encodes"),
        value: request_to_json(&request),
        error: None,
    }
}

fn resp(comment: &str, flags: &[&'static str], id: u32, body: ResponseBody<'_>) -> Case {
    let response = Response { id, body };
    Case {
        comment: comment.into(),
        flags: flags.to_vec(),
        hex: ax_protocol::frame::to_frame(&response, MAX_RESPONSE_FRAME).expect("encodes"),
        value: response_to_json(&response),
        error: None,
    }
}

fn invalid(comment: &str, hex: Vec<u8>, error: &'static str) -> Case {
    Case {
        comment: comment.into(),
        flags: vec![],
        hex,
        value: Value::Null,
        error: Some(error),
    }
}

fn get(name: &str) -> RequestBody<'_> {
    RequestBody::Get {
        name: Cow::Borrowed(name),
    }
}

fn secret(value: &str) -> ResponseBody<'_> {
    ResponseBody::Secret {
        value: Some(SecretText::borrowed(value)),
    }
}

fn requests() -> Vec<Case> {
    let hello = |client: &'static str, token: Option<&'static str>| RequestBody::Hello {
        version: PROTOCOL_VERSION,
        client: Cow::Borrowed(client),
        token: token.map(SecretText::borrowed),
    };
    let max_name = "N".repeat(MAX_NAME_LEN);
    let long_127 = "a".repeat(127);
    let long_128 = "b".repeat(128);
    let text_16383 = "c".repeat(16383);
    let text_16384 = "d".repeat(16384);
    let mut cases = vec![
        req("Hello without a token", &[], 0, hello("python/0.1.0", None)),
        req(
            "Hello with a client token",
            &[],
            1,
            hello("go/0.1.0", Some("tok-3f9a")),
        ),
        req(
            "Hello with empty client and empty token (Some(\"\") is not None)",
            &["Empty"],
            2,
            hello("", Some("")),
        ),
        req(
            "Hello with version 128: a u16 varint of two bytes",
            &["VarintBoundary"],
            3,
            RequestBody::Hello {
                version: 128,
                client: Cow::Borrowed("rust/0.1.0"),
                token: None,
            },
        ),
        req(
            "Hello with version 65535: the largest u16, a three-byte varint",
            &["VarintBoundary"],
            4,
            RequestBody::Hello {
                version: u16::MAX,
                client: Cow::Borrowed("x"),
                token: None,
            },
        ),
        req("Get a typical name", &[], 7, get("OPENAI_API_KEY")),
        req(
            "Get a name of the maximum 128 bytes",
            &["MaxLength"],
            8,
            get(&max_name),
        ),
        req(
            "Get an invalid name: a valid message; the sidecar answers not found",
            &[],
            9,
            get("not-a-name"),
        ),
        req(
            "Get the empty name: a valid message; the sidecar answers not found",
            &["Empty"],
            10,
            get(""),
        ),
        req(
            "Get a non-ASCII name: a valid message; the sidecar answers not found",
            &["Unicode"],
            11,
            get("ключ"),
        ),
        req(
            "string of 127 bytes: one-byte length varint",
            &["VarintBoundary"],
            12,
            get(&long_127),
        ),
        req(
            "string of 128 bytes: two-byte length varint",
            &["VarintBoundary"],
            13,
            get(&long_128),
        ),
        req("List", &[], 14, RequestBody::List),
        req(
            "Render with references, whitespace and missing names",
            &[],
            15,
            RequestBody::Render {
                template: SecretText::borrowed("url={{ secrets.DB_URL }} key={{secrets.MISSING}}"),
            },
        ),
        req(
            "Render the empty template",
            &["Empty"],
            16,
            RequestBody::Render {
                template: SecretText::borrowed(""),
            },
        ),
        req(
            "Render 16383 bytes: two-byte length varint",
            &["VarintBoundary"],
            17,
            RequestBody::Render {
                template: SecretText::borrowed(&text_16383),
            },
        ),
        req(
            "Render 16384 bytes: three-byte length varint",
            &["VarintBoundary"],
            18,
            RequestBody::Render {
                template: SecretText::borrowed(&text_16384),
            },
        ),
        req(
            "Redact unicode text with control characters",
            &["Unicode"],
            19,
            RequestBody::Redact {
                text: SecretText::borrowed("log: ключ=sk-1 🌍\n\t\u{0}end"),
            },
        ),
        req("Ping", &[], 20, RequestBody::Ping),
    ];
    for id in [
        127u32,
        128,
        16383,
        16384,
        2_097_151,
        2_097_152,
        268_435_455,
        268_435_456,
        u32::MAX,
    ] {
        cases.push(req(
            &format!("Ping with id {id}: varint boundary"),
            &["VarintBoundary"],
            id,
            RequestBody::Ping,
        ));
    }
    cases.push(Case {
        comment: "Ping with id 1 as the non-canonical varint 81 00: decoders accept it; re-encoding gives 01".into(),
        flags: vec!["NonCanonical"],
        hex: frame(&[0x81, 0x00, 0x05]),
        value: request_to_json(&Request { id: 1, body: RequestBody::Ping }),
        error: None,
    });
    cases.push(Case {
        comment: "Get with its tag 1 as the non-canonical varint 81 00: a tag is a u32 varint, not a byte; re-encoding gives 01".into(),
        flags: vec!["NonCanonical"],
        hex: frame(&[0x01, 0x81, 0x00, 0x01, b'A']),
        value: request_to_json(&Request { id: 1, body: get("A") }),
        error: None,
    });
    cases.extend([
        invalid(
            "length 1048577: one byte over the request limit; refuse before reading the body",
            vec![0x00, 0x10, 0x00, 0x01, 0x01, 0x05],
            "FrameTooLarge",
        ),
        invalid(
            "length 4 GiB - 1: refuse without allocating",
            vec![0xff, 0xff, 0xff, 0xff],
            "FrameTooLarge",
        ),
        invalid(
            "stream ends inside the length prefix",
            vec![0x00, 0x00, 0x00],
            "Truncated",
        ),
        invalid(
            "stream ends inside the body",
            vec![0x00, 0x00, 0x00, 0x05, 0x01, 0x01],
            "Truncated",
        ),
        invalid("zero-length body: no message", frame(&[]), "UnexpectedEnd"),
        invalid(
            "body ends inside the message (Get name length 10, 3 bytes present)",
            frame(&[0x01, 0x01, 0x0a, b'a', b'b', b'c']),
            "UnexpectedEnd",
        ),
        invalid(
            "string length varint of 4 GiB - 1 with no data: refuse without allocating",
            frame(&[0x01, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f]),
            "UnexpectedEnd",
        ),
        invalid(
            "trailing byte after a Ping",
            frame(&[0x01, 0x05, 0x00]),
            "TrailingBytes",
        ),
        invalid(
            "a whole Ping frame, then the first byte of another: a vector is exactly one frame",
            [frame(&[0x01, 0x05]), vec![0x00]].concat(),
            "TrailingBytes",
        ),
        invalid(
            "request tag ff ff ff ff 0f: u32::MAX is a well-formed tag, but not defined",
            frame(&[0x01, 0xff, 0xff, 0xff, 0xff, 0x0f]),
            "UnknownVariant",
        ),
        invalid(
            "request tag varint ff ff ff ff 1f overflows u32 (tags are u32 varints)",
            frame(&[0x01, 0xff, 0xff, 0xff, 0xff, 0x1f]),
            "InvalidVarint",
        ),
        invalid(
            "request tag 6 is not defined in v2",
            frame(&[0x01, 0x06]),
            "UnknownVariant",
        ),
        invalid(
            "request tag 200 (varint c8 01) is not defined",
            frame(&[0x01, 0xc8, 0x01]),
            "UnknownVariant",
        ),
        invalid(
            "Get name with byte ff: not UTF-8",
            frame(&[0x01, 0x01, 0x02, b'A', 0xff]),
            "InvalidUtf8",
        ),
        invalid(
            "Get name with overlong encoding c0 80: not UTF-8",
            frame(&[0x01, 0x01, 0x02, 0xc0, 0x80]),
            "InvalidUtf8",
        ),
        invalid(
            "Get name with a UTF-16 surrogate ed a0 80: not UTF-8",
            frame(&[0x01, 0x01, 0x03, 0xed, 0xa0, 0x80]),
            "InvalidUtf8",
        ),
        invalid(
            "Hello token option tag 02 (postcard's bad bool)",
            frame(&[0x01, 0x00, 0x01, 0x01, b'x', 0x02]),
            "InvalidOptionTag",
        ),
        invalid(
            "id varint of six bytes",
            frame(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x05]),
            "InvalidVarint",
        ),
        invalid(
            "id varint ff ff ff ff 1f overflows u32",
            frame(&[0xff, 0xff, 0xff, 0xff, 0x1f, 0x05]),
            "InvalidVarint",
        ),
        invalid(
            "Hello version varint ff ff 04 overflows u16",
            frame(&[0x01, 0x00, 0xff, 0xff, 0x04, 0x00, 0x00]),
            "InvalidVarint",
        ),
    ]);
    cases
}

fn large_requests() -> Vec<Case> {
    // Body = id (1) + tag (1) + length varint (3) + text: text fills the body to the limit.
    let text = "r".repeat(MAX_REQUEST_FRAME as usize - 5);
    vec![req(
        "Redact with a body of exactly 1048576 bytes: the limit is inclusive",
        &["Large", "MaxLength"],
        1,
        RequestBody::Redact {
            text: SecretText::borrowed(&text),
        },
    )]
}

fn responses() -> Vec<Case> {
    let info = |name, version, updated_at| SecretInfo {
        name: Cow::Borrowed(name),
        version,
        updated_at,
    };
    let v127 = "v".repeat(127);
    let v128 = "w".repeat(128);
    let v16383 = "x".repeat(16383);
    let v16384 = "y".repeat(16384);
    let mut cases = vec![
        resp(
            "Hello accepted",
            &[],
            0,
            ResponseBody::Hello {
                version: PROTOCOL_VERSION,
                sidecar: Cow::Borrowed("ax-sidecar/0.1.0"),
                execution_id: Cow::Borrowed("exec-7f3a"),
            },
        ),
        resp("Secret found", &[], 7, secret("sk-live-4f2b9c")),
        resp(
            "Secret not found",
            &[],
            8,
            ResponseBody::Secret { value: None },
        ),
        resp(
            "Secret found with the empty value (not the same as not found)",
            &["Empty"],
            9,
            secret(""),
        ),
        resp(
            "Secret with a unicode value",
            &["Unicode"],
            10,
            secret("pässwörd-密码-🔑"),
        ),
        resp(
            "Secret with NUL, newline and quote characters",
            &[],
            11,
            secret("a\u{0}b\nc\"d\\"),
        ),
        resp(
            "value of 127 bytes: one-byte length varint",
            &["VarintBoundary"],
            12,
            secret(&v127),
        ),
        resp(
            "value of 128 bytes: two-byte length varint",
            &["VarintBoundary"],
            13,
            secret(&v128),
        ),
        resp(
            "value of 16383 bytes: two-byte length varint",
            &["VarintBoundary"],
            14,
            secret(&v16383),
        ),
        resp(
            "value of 16384 bytes: three-byte length varint",
            &["VarintBoundary"],
            15,
            secret(&v16384),
        ),
        resp(
            "List with no secrets",
            &["Empty"],
            16,
            ResponseBody::List { secrets: vec![] },
        ),
        resp(
            "List of two secrets (an override and a tenant secret look the same)",
            &[],
            17,
            ResponseBody::List {
                secrets: vec![
                    info("DB_URL", 1, 1_800_000_000),
                    info("OPENAI_API_KEY", 3, 1_800_000_500),
                ],
            },
        ),
        resp(
            "List with varint extremes: version u32::MAX, updated_at 0 and 2^32",
            &["VarintBoundary"],
            18,
            ResponseBody::List {
                secrets: vec![info("A", u32::MAX, 0), info("B", 0, 1 << 32)],
            },
        ),
        resp(
            "Rendered with nothing missing",
            &[],
            19,
            ResponseBody::Rendered {
                text: SecretText::borrowed("url=postgres://db"),
                missing: vec![],
            },
        ),
        resp(
            "Rendered with missing names, in order of first appearance",
            &[],
            20,
            ResponseBody::Rendered {
                text: SecretText::borrowed("a={{secrets.A}} b={{secrets.B}}"),
                missing: vec![Cow::Borrowed("A"), Cow::Borrowed("B")],
            },
        ),
        resp(
            "Redacted with one name found",
            &[],
            21,
            ResponseBody::Redacted {
                text: Cow::Borrowed("token=*** ok"),
                found: vec![Cow::Borrowed("OPENAI_API_KEY")],
            },
        ),
        resp(
            "Redacted with nothing found",
            &["Empty"],
            22,
            ResponseBody::Redacted {
                text: Cow::Borrowed("nothing here"),
                found: vec![],
            },
        ),
        resp("Pong", &[], 23, ResponseBody::Pong),
    ];
    for (i, code) in ErrorCode::ALL.into_iter().enumerate() {
        cases.push(resp(
            &format!("Error {} (tag {i})", code.name()),
            &[],
            100 + i as u32,
            ResponseBody::Error {
                code,
                message: Cow::Owned(format!("{} happened", code.name())),
            },
        ));
    }
    cases.push(resp(
        "Error before any request was read: id 0, empty message",
        &["Empty"],
        0,
        ResponseBody::Error {
            code: ErrorCode::Busy,
            message: Cow::Borrowed(""),
        },
    ));
    cases.push(resp(
        "a connection-level error (id 0): Unauthorized for a uid, sent right after accepting",
        &[],
        0,
        ResponseBody::Error {
            code: ErrorCode::Unauthorized,
            message: Cow::Borrowed("this uid may not connect to this sidecar"),
        },
    ));
    cases.extend([
        invalid(
            "length 16777217: one byte over the response limit",
            vec![0x01, 0x00, 0x00, 0x01],
            "FrameTooLarge",
        ),
        invalid(
            "stream ends inside the body",
            vec![0x00, 0x00, 0x00, 0x02, 0x07],
            "Truncated",
        ),
        invalid(
            "response tag 7 is not defined in v2",
            frame(&[0x07, 0x07]),
            "UnknownVariant",
        ),
        invalid(
            "error code varint of six bytes: an error code is a u32 varint like every tag",
            frame(&[0x01, 0x06, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x00]),
            "InvalidVarint",
        ),
        invalid(
            "error code 8 is not defined in v2",
            frame(&[0x01, 0x06, 0x08, 0x00]),
            "UnknownVariant",
        ),
        invalid(
            "a v1 List entry with its source byte (00 = Tenant): a trailing byte in v2",
            frame(&[0x01, 0x02, 0x01, 0x01, b'A', 0x01, 0x00, 0x00]),
            "TrailingBytes",
        ),
        invalid(
            "Secret option tag 02",
            frame(&[0x01, 0x01, 0x02, 0x00]),
            "InvalidOptionTag",
        ),
        invalid(
            "Secret value that is not UTF-8",
            frame(&[0x01, 0x01, 0x01, 0x02, 0xc3, 0x28]),
            "InvalidUtf8",
        ),
        invalid(
            "trailing byte after a Pong",
            frame(&[0x01, 0x05, 0x05]),
            "TrailingBytes",
        ),
        invalid(
            "List announces 3 entries but holds none",
            frame(&[0x01, 0x02, 0x03]),
            "UnexpectedEnd",
        ),
        invalid(
            "updated_at varint of eleven bytes overflows u64",
            frame(&[
                0x01, 0x02, 0x01, 0x01, b'A', 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                0xff, 0xff, 0x01,
            ]),
            "InvalidVarint",
        ),
    ]);
    cases
}

fn large_responses() -> Vec<Case> {
    let value: String = "0123456789abcdef".repeat(65536);
    vec![resp(
        "Secret with a value of 1 MiB (1048576 bytes): three-byte length varint",
        &["Large"],
        1,
        secret(&value),
    )]
}

fn name_error_kind(err: NameError) -> &'static str {
    match err {
        NameError::Empty => "Empty",
        NameError::TooLong { .. } => "TooLong",
        NameError::BadFirstCharacter => "BadFirstCharacter",
        NameError::BadCharacter { .. } => "BadCharacter",
        _ => "Other",
    }
}

fn names() -> Vec<Case> {
    let n128 = format!("A{}", "b".repeat(127));
    let n129 = format!("A{}", "b".repeat(128));
    let list: [(&str, &str); 24] = [
        ("A", "one letter"),
        ("z", "one lower-case letter"),
        ("OPENAI_API_KEY", "typical"),
        ("db_url_2", "lower case, digits, underscore"),
        ("A_", "trailing underscore"),
        ("a1", "digit after the first character"),
        (&n128, "128 bytes: the maximum"),
        (&n129, "129 bytes: one too many"),
        ("", "empty"),
        ("_A", "starts with underscore"),
        ("1A", "starts with a digit"),
        ("A-B", "hyphen"),
        ("A.B", "dot"),
        ("A B", "space"),
        (" A", "leading space"),
        ("A\n", "trailing newline"),
        ("Ä", "non-ASCII first letter"),
        ("AÄ", "non-ASCII later letter"),
        ("A\u{0}", "NUL"),
        ("ＡＢ", "full-width letters"),
        ("A$", "dollar"),
        ("secrets.A", "a template reference is not a name"),
        (
            "a",
            "names are case-sensitive: 'a' and 'A' are different, both valid",
        ),
        ("Z9_z", "mixed"),
    ];
    list.iter()
        .map(|(name, comment)| Case {
            comment: (*comment).into(),
            flags: vec![],
            hex: name.as_bytes().to_vec(),
            value: json!(name),
            error: validate_name(name).err().map(name_error_kind),
        })
        .collect()
}

fn template_case(template: &str, comment: &str) -> Case {
    let secrets = [
        ("A", "alpha"),
        ("EMPTY", ""),
        ("LOOP", "{{secrets.A}}"),
        ("UNI", "ключ🔑"),
    ];
    let parts: Vec<Value> = segments(template)
        .map(|s| match s {
            Segment::Text(text) => json!({ "text": text }),
            Segment::Reference { name, raw } => json!({ "reference": name, "raw": raw }),
        })
        .collect();
    let mut rendered = String::new();
    let mut missing = Vec::new();
    let lookup = |name: &str| secrets.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
    render_into(template, lookup, &mut rendered, &mut missing);
    let secret_map: Map<String, Value> = secrets
        .iter()
        .map(|(n, v)| ((*n).into(), json!(v)))
        .collect();
    Case {
        comment: comment.into(),
        flags: vec![],
        hex: template.as_bytes().to_vec(),
        value: json!({
            "template": template,
            "secrets": secret_map,
            "segments": parts,
            "rendered": rendered,
            "missing": missing,
        }),
        error: None,
    }
}

fn templates() -> Vec<Case> {
    let long = format!("{{{{secrets.A{}}}}}", "b".repeat(128));
    let max = format!("{{{{secrets.A{}}}}}", "b".repeat(127));
    let list: [(&str, &str); 24] = [
        ("", "empty template"),
        ("no references", "plain text"),
        ("{{secrets.A}}", "a reference alone"),
        ("key={{secrets.A}};", "a reference inside text"),
        ("{{ secrets.A }}", "spaces inside the braces"),
        (
            "{{\t\r\nsecrets.A\n\t }}",
            "tabs, CR and LF inside the braces",
        ),
        ("[{{secrets.EMPTY}}]", "a secret with the empty value"),
        (
            "{{secrets.MISSING}} and {{ secrets.MISSING }}",
            "a missing name stays as written, listed once",
        ),
        (
            "{{secrets.M2}}{{secrets.A}}{{secrets.M1}}{{secrets.M2}}",
            "missing names in order of first appearance",
        ),
        (
            "{{secrets.LOOP}}",
            "a value that looks like a reference is not expanded again",
        ),
        ("{{secrets.UNI}} ✓ {{secrets.A}}", "unicode values and text"),
        ("{{{secrets.A}}}", "a stray brace on each side stays text"),
        ("{{secret.A}}", "'secret' is not 'secrets'"),
        ("{{SECRETS.A}}", "the keyword is case-sensitive"),
        ("{{ secrets. A }}", "no whitespace after the dot"),
        ("{{ secrets .A }}", "no whitespace before the dot"),
        ("{{secrets.1A}}", "an invalid name is text"),
        (
            "{{secrets.A-B}}",
            "a hyphen ends the name, so the braces do not close",
        ),
        ("{{secrets.A}", "one closing brace is not enough"),
        ("{{secrets.A", "unclosed"),
        ("{ {secrets.A}}", "split opening braces"),
        ("{{secrets.}}", "empty name"),
        (&max, "a 128-byte name is a reference (here missing)"),
        (&long, "a 129-byte name is text"),
    ];
    list.iter().map(|(t, c)| template_case(t, c)).collect()
}
