//! `control-plane/control-plane.json` (schema `ax-protocol/control-plane/v1`): the JSON bodies of
//! PROTOCOL §13, valid and invalid, decoded by the types of `ax_protocol::contract`.
//!
//! The file sits in a folder of its own because the shims' vector loaders take every `*.json`
//! of `vectors/` and fail on a schema they do not know; a shim never talks to the control plane,
//! so it has no use for these. Valid bodies are written by the contract's encoder; invalid ones
//! by hand, each one field away from a valid body.

use std::borrow::Cow;
use std::path::PathBuf;

use ax_protocol::contract::{
    Action, AuditBatch, AuditEvent, DroppedLine, ErrorBody, ErrorDetail, ErrorName, FetchRequest,
    INVALID_NAME, Peer, RefusalReason, SUITE, VALUE_NAME,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::{exact_keys, render_file};

pub(crate) const CONTROL_PLANE_SCHEMA: &str = "ax-protocol/control-plane/v1";
const FILE_KEYS: [&str; 5] = ["schema", "area", "description", "numberOfTests", "tests"];
const TEST_KEYS: [&str; 7] = ["id", "comment", "flags", "body", "json", "result", "error"];
/// The errors an invalid case may name.
const ERRORS: [&str; 5] = [
    "UnknownField",
    "MissingField",
    "WrongType",
    "UnknownVariant",
    "Syntax",
];

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors/control-plane")
}

const FILE_NAME: &str = "control-plane.json";

struct Case {
    comment: &'static str,
    flags: Vec<&'static str>,
    body: &'static str,
    json: String,
    error: Option<&'static str>,
}

fn valid(comment: &'static str, body: &'static str, value: &impl Serialize) -> Case {
    Case {
        comment,
        flags: Vec::new(),
        body,
        json: serde_json::to_string(value).unwrap(),
        error: None,
    }
}

/// A valid body that is not what the encoder writes (a field ignored, an optional one
/// spelled out): decoding succeeds and re-encoding differs.
fn lenient(comment: &'static str, body: &'static str, json: &str) -> Case {
    Case {
        comment,
        flags: vec!["NonCanonical"],
        body,
        json: json.to_owned(),
        error: None,
    }
}

fn invalid(comment: &'static str, body: &'static str, json: &str, error: &'static str) -> Case {
    Case {
        comment,
        flags: Vec::new(),
        body,
        json: json.to_owned(),
        error: Some(error),
    }
}

const PEER: Peer = Peer {
    pid: 4242,
    uid: 1000,
    gid: 1000,
};

fn event(
    seq: u64,
    millis: &'static str,
    action: Action,
    names: &[&'static str],
) -> AuditEvent<'static> {
    AuditEvent {
        seq,
        time: Cow::Owned(format!("2026-11-23T01:02:03.{millis}Z")),
        execution_id: None,
        action,
        names: names.iter().map(|n| Cow::Borrowed(*n)).collect(),
        found: true,
        peer: PEER,
        reason: None,
        count: None,
    }
}

fn refused(seq: u64) -> AuditEvent<'static> {
    AuditEvent {
        found: false,
        peer: Peer { pid: 4250, ..PEER },
        reason: Some(RefusalReason::Token),
        count: Some(1),
        ..event(seq, "500", Action::Refused, &[])
    }
}

fn local(mut event: AuditEvent<'static>) -> AuditEvent<'static> {
    event.execution_id = Some(Cow::Borrowed("exec-7f3a"));
    event
}

fn cases() -> Vec<Case> {
    let key = "3q2+7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhs=";
    let fetch = FetchRequest {
        recipient_key: Cow::Borrowed(key),
        suite: Cow::Borrowed(SUITE),
        sidecar: Some(Cow::Borrowed("ax-sidecar/0.1.0")),
    };
    let batch = AuditBatch {
        execution_id: Cow::Borrowed("exec-7f3a"),
        sidecar: Some(Cow::Borrowed("ax-sidecar/0.1.0")),
        dropped: 0,
        events: vec![event(1, "456", Action::Get, &["DB_URL"])],
    };
    let every_action = AuditBatch {
        dropped: 3,
        events: vec![
            event(1, "456", Action::Get, &["DB_URL"]),
            AuditEvent {
                found: false,
                ..event(2, "460", Action::Get, &[VALUE_NAME])
            },
            AuditEvent {
                found: false,
                ..event(3, "465", Action::Render, &["DB_URL", INVALID_NAME])
            },
            event(4, "470", Action::Redact, &["DB_URL"]),
            event(5, "475", Action::List, &[]),
            event(6, "480", Action::RedactStream, &["DB_URL"]),
            refused(7),
        ],
        ..batch.clone()
    };
    let heartbeat = AuditBatch {
        events: Vec::new(),
        ..batch.clone()
    };
    let get = r#"{"seq":1,"time":"2026-11-23T01:02:03.456Z","action":"get","names":["DB_URL"],"found":true,"peer":{"pid":4242,"uid":1000,"gid":1000}}"#;
    let in_batch = |event: &str| {
        format!(
            r#"{{"execution_id":"exec-7f3a","sidecar":"ax-sidecar/0.1.0","dropped":0,"events":[{event}]}}"#
        )
    };
    vec![
        valid("§13.1: the bundle fetch", "FetchRequest", &fetch),
        valid(
            "§13.1: sidecar is informational and may be left out",
            "FetchRequest",
            &FetchRequest {
                sidecar: None,
                ..fetch.clone()
            },
        ),
        invalid(
            "§13.1: a fetch with a field the control plane does not know is refused (400)",
            "FetchRequest",
            &format!(
                r#"{{"recipient_key":"{key}","suite":"{SUITE}","sidecar":"ax-sidecar/0.1.0","recipient":"x"}}"#
            ),
            "UnknownField",
        ),
        invalid(
            "§13.1: a fetch without suite",
            "FetchRequest",
            &format!(r#"{{"recipient_key":"{key}","sidecar":"ax-sidecar/0.1.0"}}"#),
            "MissingField",
        ),
        invalid(
            "§13.1: recipient_key is a string",
            "FetchRequest",
            &format!(r#"{{"recipient_key":42,"suite":"{SUITE}"}}"#),
            "WrongType",
        ),
        valid("§13.2: the batch of the example", "AuditBatch", &batch),
        valid(
            "§13.2: every action, the placeholders, a refusal with reason and count, and dropped",
            "AuditBatch",
            &every_action,
        ),
        valid("§13.2: the heartbeat", "AuditBatch", &heartbeat),
        lenient(
            "§13.2: consumers ignore fields they do not know",
            "AuditBatch",
            &in_batch(&get.replace(r#""found":true"#, r#""found":true,"client":"python/3.12""#)),
        ),
        lenient(
            "§13.2: consumers ignore actions they do not know (decoded as unknown)",
            "AuditBatch",
            &in_batch(&get.replace(r#""action":"get""#, r#""action":"prefetch""#)),
        ),
        lenient(
            "§13.2: dropped is 0 when left out",
            "AuditBatch",
            r#"{"execution_id":"exec-7f3a","events":[]}"#,
        ),
        invalid(
            "§13.2: a batch without events",
            "AuditBatch",
            r#"{"execution_id":"exec-7f3a","sidecar":"ax-sidecar/0.1.0","dropped":0}"#,
            "MissingField",
        ),
        invalid(
            "§13.2: dropped is a number",
            "AuditBatch",
            r#"{"execution_id":"exec-7f3a","sidecar":"ax-sidecar/0.1.0","dropped":"3","events":[]}"#,
            "WrongType",
        ),
        invalid(
            "§13.2: an event without seq",
            "AuditBatch",
            &in_batch(&get.replace(r#""seq":1,"#, "")),
            "MissingField",
        ),
        invalid(
            "§13.2: an event without peer",
            "AuditBatch",
            &in_batch(&get.replace(r#","peer":{"pid":4242,"uid":1000,"gid":1000}"#, "")),
            "MissingField",
        ),
        invalid(
            "§13.2: a negative seq",
            "AuditBatch",
            &in_batch(&get.replace(r#""seq":1"#, r#""seq":-1"#)),
            "WrongType",
        ),
        invalid(
            "§13.2: a refusal reason that is none of uid, token, version",
            "AuditBatch",
            &in_batch(
                &get.replace(r#""found":true"#, r#""found":false"#)
                    .replace("}}", r#"},"reason":"sideways","count":1}"#),
            ),
            "UnknownVariant",
        ),
        valid(
            "§13.3: a line of the local trail (execution_id added)",
            "AuditEvent",
            &local(event(1, "456", Action::Get, &["DB_URL"])),
        ),
        valid("§13.3: a refusal line", "AuditEvent", &local(refused(4))),
        valid(
            "§13.3: the dropped line (no seq)",
            "DroppedLine",
            &DroppedLine::new(
                Cow::Borrowed("2026-11-23T01:02:04.000Z"),
                Cow::Borrowed("exec-7f3a"),
                17,
            ),
        ),
        valid(
            "§13.2: the answer to a batch for an ended execution (410)",
            "ErrorBody",
            &ErrorBody {
                error: ErrorName::ExecutionEnded,
                message: Cow::Borrowed(
                    "the execution has ended: the batch is stored, stop serving",
                ),
            },
        ),
        valid(
            "§13: a token already spent (401)",
            "ErrorBody",
            &ErrorBody {
                error: ErrorName::Unauthorized,
                message: Cow::Borrowed("the execution token was already used to fetch the bundle"),
            },
        ),
        invalid(
            "§13: an error code the reference control plane does not write",
            "ErrorBody",
            r#"{"error":"teapot","message":"short and stout"}"#,
            "UnknownVariant",
        ),
        invalid(
            "§13: an error body without message",
            "ErrorBody",
            r#"{"error":"execution_ended"}"#,
            "MissingField",
        ),
        valid(
            "§13: a sidecar quotes any code, and a body with only one of the two fields",
            "ErrorDetail",
            &ErrorDetail {
                error: Some(Cow::Borrowed("execution_ended")),
                message: None,
            },
        ),
        lenient(
            "§13: a sidecar ignores the other fields of an error body",
            "ErrorDetail",
            r#"{"error":"token_used","message":"already used","trace":"abc"}"#,
        ),
        invalid(
            "§13: an error body is an object",
            "ErrorDetail",
            r#""execution_ended""#,
            "WrongType",
        ),
        invalid(
            "§13: an error body that is not JSON (a proxy's page) is quoted as nothing",
            "ErrorDetail",
            "<html>502 Bad Gateway</html>",
            "Syntax",
        ),
    ]
}

fn to_json(cases: &[Case]) -> Value {
    let tests: Vec<Value> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            json!({
                "id": i + 1,
                "comment": c.comment,
                "flags": c.flags,
                "body": c.body,
                "json": c.json,
                "result": if c.error.is_none() { "valid" } else { "invalid" },
                "error": c.error,
            })
        })
        .collect();
    let mut out = Map::new();
    out.insert("schema".into(), json!(CONTROL_PLANE_SCHEMA));
    out.insert("area".into(), json!("control-plane"));
    out.insert(
        "description".into(),
        json!(
            "The JSON bodies of the control-plane HTTP contract (PROTOCOL.md section 13). body names \
             the type (FetchRequest, AuditBatch, AuditEvent, DroppedLine, ErrorBody, ErrorDetail) and \
             json is the body's exact text. A valid case decodes, and encoding the result gives json \
             byte for byte, except with the flag NonCanonical, where it differs. An invalid case is \
             refused with error: UnknownField, MissingField, WrongType, UnknownVariant or Syntax. \
             Only the sidecar and the control plane use this file; the shims never talk to the \
             control plane."
        ),
    );
    out.insert("numberOfTests".into(), json!(tests.len()));
    out.insert("tests".into(), Value::Array(tests));
    Value::Object(out)
}

#[test]
fn committed_control_plane_vectors_match_the_generator() {
    let path = dir().join(FILE_NAME);
    let fresh = render_file(&to_json(&cases()));
    if std::env::var_os("AX_REGENERATE_VECTORS").is_some() {
        std::fs::create_dir_all(dir()).unwrap();
        let partial = path.with_extension("json.partial");
        std::fs::write(&partial, &fresh).unwrap();
        std::fs::rename(&partial, &path).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; regenerate with AX_REGENERATE_VECTORS=1",
            path.display()
        )
    });
    assert!(
        committed == fresh,
        "{FILE_NAME} drifted from the generator; if the change is intended, run \
         AX_REGENERATE_VECTORS=1 cargo test -p ax-protocol --test vectors and review the diff"
    );
    let on_disk: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.ends_with(".partial"))
        .collect();
    assert_eq!(on_disk, [FILE_NAME], "files in vectors/control-plane");
}

/// The name of the error serde_json reports, by the start of its message.
fn error_kind(error: &serde_json::Error) -> &'static str {
    let text = error.to_string();
    [
        ("unknown field", "UnknownField"),
        ("missing field", "MissingField"),
        ("invalid type", "WrongType"),
        ("invalid value", "WrongType"),
        ("unknown variant", "UnknownVariant"),
    ]
    .into_iter()
    .find(|(start, _)| text.starts_with(start))
    .map_or("Syntax", |(_, kind)| kind)
}

/// Decodes `json` as `T` and encodes it again.
fn round_trip<T: Serialize + DeserializeOwned>(json: &str) -> Result<String, &'static str> {
    let decoded: T = serde_json::from_str(json).map_err(|e| error_kind(&e))?;
    Ok(serde_json::to_string(&decoded).unwrap())
}

fn run(body: &str, json: &str) -> Result<String, &'static str> {
    match body {
        "FetchRequest" => round_trip::<FetchRequest<'static>>(json),
        "AuditBatch" => round_trip::<AuditBatch<'static>>(json),
        "AuditEvent" => round_trip::<AuditEvent<'static>>(json),
        "DroppedLine" => round_trip::<DroppedLine<'static>>(json),
        "ErrorBody" => round_trip::<ErrorBody<'static>>(json),
        "ErrorDetail" => round_trip::<ErrorDetail<'static>>(json),
        other => panic!("unknown body type {other:?}"),
    }
}

#[test]
fn every_control_plane_vector_decodes_as_stated_and_valid_ones_encode_back_byte_for_byte() {
    let text = std::fs::read_to_string(dir().join(FILE_NAME)).unwrap();
    let file: Value = serde_json::from_str(&text).unwrap();
    let map = exact_keys(&file, &FILE_KEYS, FILE_NAME);
    assert_eq!(map["schema"], CONTROL_PLANE_SCHEMA);
    let tests = map["tests"].as_array().unwrap();
    assert_eq!(map["numberOfTests"].as_u64(), Some(tests.len() as u64));
    let mut invalid = 0;
    for (i, test) in tests.iter().enumerate() {
        let what = format!("{FILE_NAME} #{}", test["id"]);
        exact_keys(test, &TEST_KEYS, &what);
        assert_eq!(test["id"].as_u64(), Some(i as u64 + 1), "{what}: id");
        let json = test["json"].as_str().unwrap();
        let outcome = run(test["body"].as_str().unwrap(), json);
        let non_canonical = test["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "NonCanonical");
        match (test["result"].as_str().unwrap(), outcome) {
            ("valid", Ok(encoded)) if non_canonical => assert_ne!(encoded, json, "{what}"),
            ("valid", Ok(encoded)) => assert_eq!(encoded, json, "{what}"),
            ("invalid", Err(kind)) => {
                invalid += 1;
                assert!(ERRORS.contains(&kind), "{what}: {kind}");
                assert_eq!(Some(kind), test["error"].as_str(), "{what}: error");
            }
            (result, outcome) => panic!("{what}: expected {result}, got {outcome:?}"),
        }
    }
    assert!(
        invalid >= 3,
        "unknown field, wrong type and missing field are all covered"
    );
}

#[test]
fn an_action_a_consumer_does_not_know_decodes_as_unknown_and_its_known_fields_are_kept() {
    let line = r#"{"seq":9,"time":"2026-11-23T01:02:03.456Z","action":"prefetch","names":["A"],"found":true,"peer":{"pid":1,"uid":2,"gid":3},"new":1}"#;
    let event: AuditEvent<'_> = serde_json::from_str(line).unwrap();
    assert_eq!(event.action, Action::Unknown);
    assert_eq!((event.seq, event.names.len()), (9, 1));
}

/// The §13.3 example of PROTOCOL.md, line by line: each decodes as the local trail's line and
/// encodes back to the very same bytes, so the example is what the sidecar writes.
#[test]
fn the_local_trail_example_of_the_spec_is_what_the_contract_types_write() {
    let spec =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("PROTOCOL.md"))
            .unwrap();
    let section = spec
        .split("### 13.3 ")
        .nth(1)
        .and_then(|rest| rest.split("### 13.4 ").next())
        .unwrap();
    let lines: Vec<&str> = section.lines().filter(|l| l.starts_with("{\"")).collect();
    assert_eq!(lines.len(), 5, "the §13.3 example has five lines");
    for line in lines {
        let encoded = if line.contains(r#""action":"dropped""#) {
            round_trip::<DroppedLine<'static>>(line)
        } else {
            round_trip::<AuditEvent<'static>>(line)
        };
        assert_eq!(encoded.as_deref(), Ok(line));
    }
}
