//! The shared vectors in `protocol/vectors/`: regenerated from the reference implementation and
//! compared with the committed files (drift fails), then checked the way every shim checks
//! them: decode each `hex`, compare with `value`, re-encode valid cases byte for byte, and refuse
//! invalid ones with the stated `error`. An unknown key anywhere fails.
//!
//! To regenerate after an intended change: `AX_REGENERATE_VECTORS=1 cargo test -p ax-protocol
//! --test vectors`, then review the diff.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod bundles;
mod control_plane;
mod generate;
mod json;
mod redaction;

use std::path::PathBuf;

use ax_protocol::frame::{decode_request, decode_response, split_frame, to_frame};
use ax_protocol::name::is_valid_name;
use ax_protocol::template::{Segment, render_into, segments};
use ax_protocol::{WireError, limits};
use serde_json::{Map, Value};

use generate::{
    BUNDLE_SCHEMA, MESSAGE_SCHEMA, NAME_SCHEMA, REDACTION_SCHEMA, TEMPLATE_SCHEMA, all_files,
};
use json::{request_from_json, request_to_json, response_from_json, response_to_json};

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors")
}

fn render_file(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap();
    text.push('\n');
    text
}

#[test]
fn committed_vectors_match_the_generator() {
    let regenerate = std::env::var_os("AX_REGENERATE_VECTORS").is_some();
    let mut expected_names: Vec<&str> = Vec::new();
    for file in all_files() {
        expected_names.push(file.name);
        let path = vectors_dir().join(file.name);
        let fresh = render_file(&file.to_json());
        if regenerate {
            // Whole or not at all: the other tests read these files meanwhile.
            let partial = path.with_extension("json.partial");
            std::fs::write(&partial, &fresh).unwrap();
            std::fs::rename(&partial, &path).unwrap();
            continue;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; regenerate with AX_REGENERATE_VECTORS=1",
                path.display()
            )
        });
        assert!(
            committed == fresh,
            "{} drifted from the generator; if the change is intended, run \
             AX_REGENERATE_VECTORS=1 cargo test -p ax-protocol --test vectors and review the diff",
            file.name
        );
    }
    let mut on_disk: Vec<String> = std::fs::read_dir(vectors_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    on_disk.sort();
    expected_names.sort_unstable();
    assert_eq!(on_disk, expected_names, "vector files on disk");
}

/// Checks that an object has exactly the given keys, naming any unknown one.
fn exact_keys<'v>(value: &'v Value, keys: &[&str], what: &str) -> &'v Map<String, Value> {
    let map = value
        .as_object()
        .unwrap_or_else(|| panic!("{what} is not an object"));
    for key in map.keys() {
        assert!(keys.contains(&key.as_str()), "{what}: unknown key {key:?}");
    }
    for key in keys {
        assert!(map.contains_key(*key), "{what}: missing key {key:?}");
    }
    map
}

const TEST_KEYS: [&str; 7] = ["id", "comment", "flags", "hex", "value", "result", "error"];

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(vectors_dir().join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Runs one vector file the way a shim does, returning how many cases ran.
fn check_file(name: &str) -> usize {
    let file = load(name);
    let schema = file["schema"].as_str().unwrap_or_default().to_owned();
    let file_keys: &[&str] = if schema == MESSAGE_SCHEMA {
        &[
            "schema",
            "area",
            "description",
            "direction",
            "limit",
            "numberOfTests",
            "tests",
        ]
    } else {
        &["schema", "area", "description", "numberOfTests", "tests"]
    };
    let map = exact_keys(&file, file_keys, name);
    let tests = map["tests"].as_array().unwrap();
    assert_eq!(
        map["numberOfTests"].as_u64(),
        Some(tests.len() as u64),
        "{name}: numberOfTests"
    );
    for test in tests {
        let what = format!("{name} #{}", test["id"]);
        exact_keys(test, &TEST_KEYS, &what);
        let bytes = hex::decode(test["hex"].as_str().unwrap()).unwrap();
        let flags: Vec<&str> = test["flags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        let valid = match test["result"].as_str() {
            Some("valid") => true,
            Some("invalid") => false,
            other => panic!("{what}: result {other:?}"),
        };
        assert_eq!(
            valid,
            test["error"].is_null(),
            "{what}: error is set exactly for invalid cases"
        );
        match schema.as_str() {
            MESSAGE_SCHEMA => check_message(&file, test, &bytes, &flags, valid, &what),
            NAME_SCHEMA => {
                assert_eq!(
                    bytes,
                    test["value"].as_str().unwrap().as_bytes(),
                    "{what}: hex"
                );
                assert_eq!(
                    is_valid_name(test["value"].as_str().unwrap()),
                    valid,
                    "{what}"
                );
            }
            TEMPLATE_SCHEMA => check_template(test, &bytes, &what),
            BUNDLE_SCHEMA => bundles::check(test, &bytes, valid, &what),
            REDACTION_SCHEMA => redaction::check(test, &bytes, &what),
            other => panic!("{name}: unknown schema {other:?}"),
        }
    }
    tests.len()
}

/// Decodes one complete-stream vector: one frame, then the end of the stream.
fn decode_stream<'b, T>(
    bytes: &'b [u8],
    limit: u32,
    decode: impl Fn(&'b [u8]) -> Result<T, WireError>,
) -> Result<T, WireError> {
    match split_frame(bytes, limit)? {
        None => Err(WireError::Truncated),
        // Bytes after the one frame of a vector are refused like bytes after a message.
        Some((_, used)) if used != bytes.len() => Err(WireError::TrailingBytes),
        Some((body, _)) => decode(body),
    }
}

fn check_message(
    file: &Value,
    test: &Value,
    bytes: &[u8],
    flags: &[&str],
    valid: bool,
    what: &str,
) {
    let limit = u32::try_from(file["limit"].as_u64().unwrap()).unwrap();
    let direction = file["direction"].as_str().unwrap();
    let (decoded, reencoded) = match direction {
        "request" => {
            assert_eq!(limit, limits::MAX_REQUEST_FRAME);
            let decoded = decode_stream(bytes, limit, decode_request).map(|m| request_to_json(&m));
            let reencode = || to_frame(&request_from_json(&test["value"]), limit).unwrap();
            (decoded, valid.then(reencode))
        }
        "response" => {
            assert_eq!(limit, limits::MAX_RESPONSE_FRAME);
            let decoded =
                decode_stream(bytes, limit, decode_response).map(|m| response_to_json(&m));
            let reencode = || to_frame(&response_from_json(&test["value"]), limit).unwrap();
            (decoded, valid.then(reencode))
        }
        other => panic!("{what}: direction {other:?}"),
    };
    match (decoded, valid) {
        (Ok(value), true) => {
            assert_eq!(value, test["value"], "{what}: decoded value");
            let reencoded = reencoded.unwrap();
            if flags.contains(&"NonCanonical") {
                assert_ne!(
                    reencoded, bytes,
                    "{what}: a NonCanonical case re-encodes differently"
                );
            } else {
                assert_eq!(
                    hex::encode(reencoded),
                    hex::encode(bytes),
                    "{what}: re-encoded bytes"
                );
            }
        }
        (Err(err), false) => assert_eq!(
            Some(err.kind()),
            test["error"].as_str(),
            "{what}: error kind"
        ),
        (Ok(value), false) => panic!("{what}: decoded {value} but the vector says invalid"),
        (Err(err), true) => panic!("{what}: refused ({err}) but the vector says valid"),
    }
}

fn check_template(test: &Value, bytes: &[u8], what: &str) {
    let value = exact_keys(
        &test["value"],
        &["template", "secrets", "segments", "rendered", "missing"],
        what,
    );
    let template = value["template"].as_str().unwrap();
    assert_eq!(bytes, template.as_bytes(), "{what}: hex");
    let parts: Vec<Value> = segments(template)
        .map(|s| match s {
            Segment::Text(text) => serde_json::json!({ "text": text }),
            Segment::Reference { name, raw } => {
                serde_json::json!({ "reference": name, "raw": raw })
            }
        })
        .collect();
    assert_eq!(Value::Array(parts), value["segments"], "{what}: segments");
    let secrets = value["secrets"].as_object().unwrap();
    let mut rendered = String::new();
    let mut missing = Vec::new();
    render_into(
        template,
        |n| secrets.get(n).and_then(Value::as_str),
        &mut rendered,
        &mut missing,
    );
    assert_eq!(
        rendered,
        value["rendered"].as_str().unwrap(),
        "{what}: rendered"
    );
    assert_eq!(
        serde_json::json!(missing),
        value["missing"],
        "{what}: missing"
    );
}

#[test]
fn committed_vectors_decode_and_reencode_as_stated() {
    let mut total = 0;
    for file in all_files() {
        total += check_file(file.name);
    }
    assert!(
        total > 100,
        "expected well over a hundred vectors, found {total}"
    );
}

#[test]
fn the_checker_rejects_an_unknown_key() {
    let result = std::panic::catch_unwind(|| {
        let mut test = load("requests.json")["tests"][0].clone();
        test.as_object_mut()
            .unwrap()
            .insert("surprise".into(), Value::Bool(true));
        exact_keys(&test, &TEST_KEYS, "mutated");
    });
    assert!(result.is_err());
}
