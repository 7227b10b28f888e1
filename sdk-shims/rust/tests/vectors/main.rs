//! Every shared vector of `protocol/vectors/`, one named case each (PROTOCOL §10.2), run through
//! the shim's own code paths:
//!
//! - responses through [`ax_secrets::wire::read_response`], the client's reader, fed the stream
//!   over a socket pair: decoded and compared, refused with the named error, and the stream must
//!   end after the frame; valid ones re-encoded byte for byte;
//! - requests decoded and compared, and re-encoded by [`ax_secrets::wire::encode_request`], the
//!   client's encoder, byte for byte (`NonCanonical` cases must re-encode differently);
//! - names through the client (an invalid name is not found without connecting; a valid one
//!   makes it connect) and the mock (which accepts exactly the valid ones, saying why not);
//! - templates through the mock's `render`, and their segments;
//! - bundles for shape only: shims never open bundles, the sidecar does;
//! - redaction through the mock: each value's forms by name, each form alone, whole texts.
//!
//! An unknown key in a file or a test fails. The runner is this file's own (`harness = false`)
//! so that each vector is its own line (`test requests.json#12 ... ok`) with the usual closing
//! `test result:` line; arguments filter by substring (`--exact` for whole names), `--list`
//! lists the cases.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

// The canonical JSON of messages is the protocol's own (PROTOCOL §10.2): one reader and writer
// for the reference implementation and this shim, so the two cannot drift apart.
#[path = "../../../../protocol/tests/vectors/json.rs"]
mod json;
mod redaction;

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use ax_protocol::blocking::read_frame;
use ax_protocol::frame::{decode_request, to_frame};
use ax_protocol::limits::{MAX_REQUEST_FRAME, MAX_RESPONSE_FRAME};
use ax_protocol::name::{NameError, is_valid_name};
use ax_protocol::template::{Segment, segments};
use ax_protocol::{Request, WireError};
use ax_secrets::wire::{encode_request, read_response};
use ax_secrets::{AxiomContext, Error, MockAxiomContext, Reason};
use serde_json::{Map, Value, json};

use json::{request_from_json, request_to_json, response_from_json, response_to_json};

const MESSAGES: &str = "ax-protocol/messages/v2";
const NAMES: &str = "ax-protocol/names/v1";
const TEMPLATES: &str = "ax-protocol/templates/v1";
const BUNDLES: &str = "ax-protocol/bundles/v1";
const REDACTION: &str = "ax-protocol/redaction/v1";

/// Every vector file and its schema; a file on disk that is not here fails the run.
const FILES: [(&str, &str); 8] = [
    ("requests.json", MESSAGES),
    ("requests-large.json", MESSAGES),
    ("responses.json", MESSAGES),
    ("responses-large.json", MESSAGES),
    ("names.json", NAMES),
    ("templates.json", TEMPLATES),
    ("bundles.json", BUNDLES),
    ("redaction.json", REDACTION),
];
const FILE_KEYS: [&str; 5] = ["schema", "area", "description", "numberOfTests", "tests"];
const MESSAGE_FILE_KEYS: [&str; 7] = [
    "schema",
    "area",
    "description",
    "direction",
    "limit",
    "numberOfTests",
    "tests",
];
const TEST_KEYS: [&str; 7] = ["id", "comment", "flags", "hex", "value", "result", "error"];

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../protocol/vectors")
}

// ---------------------------------------------------------------------------------------------
// Strict loading.

/// Checks that `value` is an object with exactly `keys`, naming what is unknown or missing.
fn exact_keys<'v>(
    value: &'v Value,
    keys: &[&str],
    what: &str,
) -> Result<&'v Map<String, Value>, String> {
    let map = value
        .as_object()
        .ok_or(format!("{what}: not a JSON object"))?;
    if let Some(unknown) = map.keys().find(|k| !keys.contains(&k.as_str())) {
        return Err(format!("{what}: unknown key {unknown:?}"));
    }
    if let Some(missing) = keys.iter().find(|k| !map.contains_key(**k)) {
        return Err(format!("{what}: missing key {missing:?}"));
    }
    Ok(map)
}

/// The file-level rules: keys, schema, `numberOfTests`, unique ids.
fn check_file(name: &str, schema: &str, file: &Value) -> Result<(), String> {
    let keys: &[&str] = if schema == MESSAGES {
        &MESSAGE_FILE_KEYS
    } else {
        &FILE_KEYS
    };
    let map = exact_keys(file, keys, name)?;
    if map["schema"] != schema {
        return Err(format!("{name}: schema {} is not {schema}", map["schema"]));
    }
    let tests = map["tests"]
        .as_array()
        .ok_or(format!("{name}: tests is not an array"))?;
    if map["numberOfTests"].as_u64() != Some(tests.len() as u64) {
        return Err(format!("{name}: numberOfTests is not the number of tests"));
    }
    let mut ids: Vec<u64> = tests.iter().filter_map(|t| t["id"].as_u64()).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.len() != tests.len() {
        return Err(format!("{name}: ids are missing or repeated"));
    }
    Ok(())
}

/// The test-level rules: keys, `result`, and `error` set exactly for invalid cases.
fn check_test(what: &str, test: &Value) -> Result<bool, String> {
    exact_keys(test, &TEST_KEYS, what)?;
    let valid = match test["result"].as_str() {
        Some("valid") => true,
        Some("invalid") => false,
        other => return Err(format!("{what}: result {other:?}")),
    };
    if valid != test["error"].is_null() {
        return Err(format!("{what}: error must be null exactly when valid"));
    }
    if !test["flags"]
        .as_array()
        .is_some_and(|f| f.iter().all(Value::is_string))
    {
        return Err(format!("{what}: flags is not a list of strings"));
    }
    Ok(valid)
}

fn hex(text: &Value) -> Vec<u8> {
    let text = text.as_str().expect("hex is a string");
    assert!(text.len() % 2 == 0, "odd hex length");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digits"))
        .collect()
}

fn has_flag(test: &Value, flag: &str) -> bool {
    test["flags"].as_array().unwrap().iter().any(|f| f == flag)
}

// ---------------------------------------------------------------------------------------------
// One case per vector.

/// Decodes a request stream: one frame, a strict body, then the end of the stream.
fn decode_request_stream(bytes: &[u8], limit: u32) -> Result<Value, String> {
    let mut reader = bytes;
    let mut buf = Vec::new();
    let wire_kind = |e: std::io::Error| {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<WireError>())
            .map_or_else(|| format!("io: {e}"), |w| w.kind().to_owned())
    };
    let body = read_frame(&mut reader, limit, &mut buf)
        .map_err(wire_kind)?
        .ok_or("Truncated")?;
    if !reader.is_empty() {
        // A vector is exactly one frame (PROTOCOL §10.2).
        return Err("TrailingBytes".to_owned());
    }
    let request = decode_request(body).map_err(|e| e.kind().to_owned())?;
    Ok(request_to_json(&request))
}

fn request_case(file: &Value, test: &Value, valid: bool) {
    let limit = u32::try_from(file["limit"].as_u64().unwrap()).unwrap();
    assert_eq!(
        limit, MAX_REQUEST_FRAME,
        "the request limit the client encodes with"
    );
    let bytes = hex(&test["hex"]);
    let decoded = decode_request_stream(&bytes, limit);
    if !valid {
        assert!(test["value"].is_null());
        assert_eq!(decoded.err().as_deref(), test["error"].as_str(), "refusal");
        return;
    }
    assert_eq!(decoded.unwrap(), test["value"], "decoded value");
    let request: Request<'_> = request_from_json(&test["value"]);
    let mut out = Vec::new();
    encode_request(&request, &mut out).unwrap();
    if has_flag(test, "NonCanonical") {
        assert_ne!(
            out, bytes,
            "a NonCanonical case re-encodes to the canonical form"
        );
        assert_eq!(decode_request_stream(&out, limit).unwrap(), test["value"]);
    } else {
        assert!(
            out == bytes,
            "the client's encoding differs from the vector"
        );
    }
}

fn response_case(file: &Value, test: &Value, valid: bool) {
    let limit = u32::try_from(file["limit"].as_u64().unwrap()).unwrap();
    assert_eq!(
        limit, MAX_RESPONSE_FRAME,
        "the response limit the client reads with"
    );
    let bytes = hex(&test["hex"]);
    let (mut ours, theirs) = UnixStream::pair().unwrap();
    let sent = bytes.clone();
    let writer = std::thread::spawn(move || {
        let mut theirs = theirs;
        // A refused frame is not read to its end: the write may then fail.
        let _ = theirs.write_all(&sent);
    });
    let mut frame = Vec::new();
    let first = read_response(&mut ours, &mut frame).map(|r| response_to_json(&r));
    match (valid, first) {
        (true, Ok(decoded)) => {
            assert_eq!(decoded, test["value"], "decoded value");
            let mut again = Vec::new();
            assert!(
                matches!(read_response(&mut ours, &mut again), Err(Reason::Closed)),
                "the stream ends after the frame"
            );
        }
        (false, Err(Reason::Malformed(error))) => {
            assert!(test["value"].is_null());
            assert_eq!(Some(error.kind()), test["error"].as_str(), "refusal");
        }
        (true, Err(reason)) => panic!("refused ({reason:?}) but the vector is valid"),
        (false, other) => panic!("expected {} but got {other:?}", test["error"]),
    }
    drop(ours);
    writer.join().unwrap();
    if valid {
        let encoded = to_frame(&response_from_json(&test["value"]), limit).unwrap();
        if has_flag(test, "NonCanonical") {
            assert_ne!(
                encoded, bytes,
                "a NonCanonical case re-encodes to the canonical form"
            );
        } else {
            assert!(encoded == bytes, "re-encoding differs from the vector");
        }
    }
}

fn name_error(error: NameError) -> &'static str {
    match error {
        NameError::Empty => "Empty",
        NameError::TooLong { .. } => "TooLong",
        NameError::BadFirstCharacter => "BadFirstCharacter",
        NameError::BadCharacter { .. } => "BadCharacter",
        _ => "unknown",
    }
}

fn name_case(test: &Value, valid: bool) {
    let name = test["value"].as_str().expect("the name is a string");
    assert_eq!(
        hex(&test["hex"]),
        name.as_bytes(),
        "hex is the name's UTF-8"
    );
    assert_eq!(is_valid_name(name), valid);
    // Against a socket where nothing listens: an invalid name is not found without connecting,
    // a valid one makes the client try.
    let dir = tempfile::tempdir().unwrap();
    let ax = AxiomContext::builder()
        .socket(dir.path().join("nobody.sock"))
        .build();
    match (valid, ax.secrets().try_get(name)) {
        (false, Ok(None)) => {}
        (
            true,
            Err(Error::Unavailable {
                reason: Reason::Connect(_),
                ..
            }),
        ) => {}
        (_, other) => panic!("the client answered {other:?}"),
    }
    match (valid, MockAxiomContext::try_from_map([(name, "v")])) {
        (true, Ok(mock)) => assert_eq!(mock.secrets().get(name), ("v".to_owned(), true)),
        (false, Err(error)) => assert_eq!(Some(name_error(error)), test["error"].as_str()),
        (_, other) => panic!("the mock answered {other:?}"),
    }
}

fn template_case(test: &Value) {
    let value = exact_keys(
        &test["value"],
        &["template", "secrets", "segments", "rendered", "missing"],
        "value",
    )
    .unwrap();
    let template = value["template"].as_str().unwrap();
    assert_eq!(
        hex(&test["hex"]),
        template.as_bytes(),
        "hex is the template's UTF-8"
    );
    let parts: Vec<Value> = segments(template)
        .map(|s| match s {
            Segment::Text(text) => json!({ "text": text }),
            Segment::Reference { name, raw } => json!({ "reference": name, "raw": raw }),
        })
        .collect();
    for segment in value["segments"].as_array().unwrap() {
        let map = segment.as_object().unwrap();
        let keys: Vec<&str> = map.keys().map(String::as_str).collect();
        assert!(
            keys == ["text"] || keys == ["raw", "reference"] || keys == ["reference", "raw"],
            "unknown segment keys {keys:?}"
        );
    }
    assert_eq!(Value::Array(parts), value["segments"], "segments");
    let secrets = value["secrets"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, v)| (name.clone(), v.as_str().expect("a value").to_owned()));
    let mock = MockAxiomContext::from_map(secrets);
    let rendered = mock.secrets().render(template).unwrap();
    assert_eq!(
        rendered.text,
        value["rendered"].as_str().unwrap(),
        "rendered"
    );
    assert_eq!(json!(rendered.missing), value["missing"], "missing");
}

fn bundle_case(test: &Value, valid: bool) {
    let sealed = hex(&test["hex"]);
    let value = exact_keys(
        &test["value"],
        &[
            "format",
            "key",
            "control_plane_public_key",
            "expected_execution_id",
            "now",
            "seal_randomness",
            "signing_seed",
            "plaintext",
            "bundle",
        ],
        "value",
    )
    .unwrap();
    let magic: &[u8] = match value["format"].as_str() {
        Some("envelope") => b"ax-secrets/bundle/v1\n",
        Some("local") => b"ax-secrets/local-bundle/v1\n",
        other => panic!("unknown format {other:?}"),
    };
    assert!(value["now"].is_u64());
    hex(&value["key"]);
    hex(&value["seal_randomness"]);
    if test["error"] != "BadMagic" {
        assert!(
            sealed.starts_with(magic),
            "the sealed bytes start with the magic"
        );
    }
    if valid {
        hex(&value["plaintext"]);
        let bundle = exact_keys(
            &value["bundle"],
            &[
                "tenant",
                "execution_id",
                "environment",
                "config",
                "issued_at",
                "expires_at",
                "secrets",
                "overrides",
            ],
            "bundle",
        )
        .unwrap();
        for section in ["secrets", "overrides"] {
            for entry in bundle[section].as_array().unwrap() {
                let entry = exact_keys(
                    entry,
                    &["name", "value", "version", "created_at", "updated_at"],
                    "secret",
                )
                .unwrap();
                assert!(is_valid_name(entry["name"].as_str().unwrap()));
            }
        }
    } else {
        assert!(value["bundle"].is_null() && value["plaintext"].is_null());
        let known = [
            "BadMagic",
            "Truncated",
            "LengthMismatch",
            "BadSignature",
            "WrongExecution",
            "BadEncapsulatedKey",
            "DecryptionFailed",
            "NotYetValid",
            "Expired",
        ];
        assert!(
            known.contains(&test["error"].as_str().unwrap()),
            "unknown refusal"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The runner.

type Run = Box<dyn FnOnce()>;

fn file_cases(name: &'static str, schema: &'static str, cases: &mut Vec<(String, Run)>) {
    let text = std::fs::read_to_string(vectors_dir().join(name));
    let file: Arc<Value> = match text.map(|t| serde_json::from_str(&t)) {
        Ok(Ok(file)) => Arc::new(file),
        failed => {
            let problem = format!("{failed:?}");
            cases.push((
                name.to_owned(),
                Box::new(move || panic!("cannot load: {problem}")),
            ));
            return;
        }
    };
    let checked = check_file(name, schema, &file);
    let ok = checked.is_ok();
    cases.push((name.to_owned(), Box::new(move || checked.unwrap())));
    if !ok {
        return;
    }
    for (index, test) in file["tests"].as_array().unwrap().iter().enumerate() {
        let label = format!("{name}#{}", test["id"]);
        let file = Arc::clone(&file);
        let what = label.clone();
        cases.push((
            label,
            Box::new(move || {
                let test = &file["tests"][index];
                let valid = check_test(&what, test).unwrap();
                match (schema, file["direction"].as_str()) {
                    (MESSAGES, Some("request")) => request_case(&file, test, valid),
                    (MESSAGES, Some("response")) => response_case(&file, test, valid),
                    (NAMES, _) => name_case(test, valid),
                    (TEMPLATES, _) => template_case(test),
                    (BUNDLES, _) => bundle_case(test, valid),
                    (REDACTION, _) => redaction::case(test),
                    (_, direction) => panic!("unknown direction {direction:?}"),
                }
            }),
        ));
    }
}

fn loader_cases(cases: &mut Vec<(String, Run)>) {
    let test = || json!({"id": 1, "comment": "", "flags": [], "hex": "41", "value": "A", "result": "valid", "error": null});
    let file = |tests: Value, count: u64| json!({"schema": NAMES, "area": "x", "description": "x", "numberOfTests": count, "tests": tests});
    cases.push((
        "loader: every vector file is covered".into(),
        Box::new(|| {
            let mut on_disk: Vec<String> = std::fs::read_dir(vectors_dir())
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .filter(|n| n.ends_with(".json"))
                .collect();
            on_disk.sort();
            let mut known: Vec<&str> = FILES.iter().map(|(name, _)| *name).collect();
            known.sort_unstable();
            assert_eq!(on_disk, known, "vector files on disk");
        }),
    ));
    cases.push((
        "loader: accepts a well-formed file".into(),
        Box::new(move || {
            check_file("x.json", NAMES, &file(json!([test()]), 1)).unwrap();
            check_test("x.json#1", &test()).unwrap();
        }),
    ));
    cases.push((
        "loader: refuses an unknown key at file level".into(),
        Box::new(move || {
            let mut extra = file(json!([]), 0);
            extra["extra"] = json!(1);
            assert!(
                check_file("x.json", NAMES, &extra)
                    .unwrap_err()
                    .contains("unknown key")
            );
        }),
    ));
    cases.push((
        "loader: refuses an unknown key at test level".into(),
        Box::new(move || {
            let mut surprise = test();
            surprise["surprise"] = json!(true);
            assert!(
                check_test("x.json#1", &surprise)
                    .unwrap_err()
                    .contains("unknown key")
            );
        }),
    ));
    cases.push((
        "loader: refuses a wrong test count".into(),
        Box::new(move || assert!(check_file("x.json", NAMES, &file(json!([]), 2)).is_err())),
    ));
}

struct Options {
    filters: Vec<String>,
    exact: bool,
    list: bool,
}

fn options() -> Options {
    let mut options = Options {
        filters: Vec::new(),
        exact: false,
        list: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--exact" => options.exact = true,
            "--list" => options.list = true,
            // libtest options that take a value; nothing here needs them.
            "--test-threads" | "--format" | "--color" | "--logfile" | "--skip" => {
                args.next();
            }
            flag if flag.starts_with('-') => {}
            filter => options.filters.push(filter.to_owned()),
        }
    }
    options
}

fn main() -> ExitCode {
    let options = options();
    let mut cases: Vec<(String, Run)> = Vec::new();
    loader_cases(&mut cases);
    for (name, schema) in FILES {
        file_cases(name, schema, &mut cases);
    }
    let total = cases.len();
    let chosen: Vec<(String, Run)> = cases
        .into_iter()
        .filter(|(name, _)| {
            options.filters.is_empty()
                || options.filters.iter().any(|f| {
                    if options.exact {
                        name == f
                    } else {
                        name.contains(f.as_str())
                    }
                })
        })
        .collect();
    if options.list {
        for (name, _) in &chosen {
            println!("{name}: test");
        }
        return ExitCode::SUCCESS;
    }

    // The panic message of a failing case, shown in the summary rather than mid-line.
    let last_panic = Arc::new(Mutex::new(String::new()));
    {
        let last_panic = Arc::clone(&last_panic);
        std::panic::set_hook(Box::new(move |info| {
            *last_panic.lock().unwrap() = info.to_string();
        }));
    }
    println!("\nrunning {} tests", chosen.len());
    let filtered_out = total - chosen.len();
    let mut failures: Vec<(String, String)> = Vec::new();
    let mut passed = 0;
    for (name, run) in chosen {
        let outcome = catch_unwind(AssertUnwindSafe(run));
        if outcome.is_ok() {
            passed += 1;
            println!("test {name} ... ok");
        } else {
            println!("test {name} ... FAILED");
            failures.push((name, last_panic.lock().unwrap().clone()));
        }
    }
    let _ = std::panic::take_hook();
    if !failures.is_empty() {
        println!("\nfailures:\n");
        for (name, message) in &failures {
            println!("---- {name} ----\n{message}\n");
        }
    }
    let verdict = if failures.is_empty() { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {verdict}. {passed} passed; {} failed; 0 ignored; 0 measured; {filtered_out} filtered out\n",
        failures.len()
    );
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(101)
    }
}
