//! Every worked hex example in `PROTOCOL.md` is checked against the shared vectors, and every
//! request and response kind has one, so the spec cannot drift from the bytes.
//!
//! An example is a fenced block whose first line is `# vector: FILE #ID`; each following line is
//! hex bytes, a `|`, and a comment.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use ax_protocol::frame::{decode_request, decode_response, split_frame};
use ax_protocol::limits::{MAX_REQUEST_FRAME, MAX_RESPONSE_FRAME};
use serde_json::Value;

fn protocol_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Example {
    file: String,
    id: u64,
    bytes: Vec<u8>,
}

fn examples() -> Vec<Example> {
    let spec = std::fs::read_to_string(protocol_dir().join("PROTOCOL.md")).unwrap();
    let mut out = Vec::new();
    let mut lines = spec.lines();
    while let Some(line) = lines.next() {
        let Some(marker) = line.strip_prefix("# vector: ") else {
            continue;
        };
        let (file, id) = marker.split_once(" #").expect("marker is `FILE #ID`");
        let mut bytes = Vec::new();
        for body in lines.by_ref().take_while(|l| !l.starts_with("```")) {
            let (hex_part, _) = body
                .split_once('|')
                .unwrap_or_else(|| panic!("no `|` in {body:?}"));
            for token in hex_part.split_whitespace() {
                bytes.push(u8::from_str_radix(token, 16).unwrap_or_else(|_| panic!("{token:?}")));
            }
        }
        out.push(Example {
            file: file.to_owned(),
            id: id.parse().unwrap(),
            bytes,
        });
    }
    out
}

fn vector_hex(file: &str, id: u64) -> Vec<u8> {
    let text = std::fs::read_to_string(protocol_dir().join("vectors").join(file)).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let test = doc["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id);
    let test = test.unwrap_or_else(|| panic!("{file} has no vector #{id}"));
    hex::decode(test["hex"].as_str().unwrap()).unwrap()
}

#[test]
fn every_example_matches_its_vector() {
    let examples = examples();
    assert!(
        examples.len() >= 15,
        "found only {} examples",
        examples.len()
    );
    for ex in &examples {
        assert_eq!(
            hex::encode(&ex.bytes),
            hex::encode(vector_hex(&ex.file, ex.id)),
            "PROTOCOL.md example for {} #{}",
            ex.file,
            ex.id
        );
    }
}

#[test]
fn every_message_kind_has_an_example() {
    let mut requests = BTreeSet::new();
    let mut responses = BTreeSet::new();
    for ex in examples() {
        match ex.file.as_str() {
            "requests.json" => {
                let (body, _) = split_frame(&ex.bytes, MAX_REQUEST_FRAME).unwrap().unwrap();
                requests.insert(decode_request(body).unwrap().body.kind());
            }
            "responses.json" => {
                let (body, _) = split_frame(&ex.bytes, MAX_RESPONSE_FRAME).unwrap().unwrap();
                responses.insert(decode_response(body).unwrap().body.kind());
            }
            "bundles.json" => {}
            other => panic!("unexpected example file {other}"),
        }
    }
    let all_requests = BTreeSet::from(["Hello", "Get", "List", "Render", "Redact", "Ping"]);
    let all_responses = BTreeSet::from([
        "Hello", "Secret", "List", "Rendered", "Redacted", "Pong", "Error",
    ]);
    assert_eq!(requests, all_requests);
    assert_eq!(responses, all_responses);
}
