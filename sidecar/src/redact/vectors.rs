//! The sidecar's matcher against the shared vectors of `protocol/vectors/redaction.json`
//! (PROTOCOL §10.2): every form alone is masked exactly when the value is long enough, and every
//! whole redaction gives the stated text and names. The protocol crate generates the file with a
//! direct scan written from §8.4; this ties the real matcher (automaton, long-form hashes) to it.

use serde_json::Value;

use super::Redactor;
use crate::store::tests::store;

fn vectors() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../protocol/vectors/redaction.json"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let file: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(file["schema"], "ax-protocol/redaction/v1");
    file["tests"].as_array().unwrap().clone()
}

/// `text` redacted by the sidecar's matcher over `secrets`, and the names it found.
fn redact(secrets: &[(&str, &str)], text: &str) -> (String, Vec<String>) {
    let s = store(secrets, &[]);
    let redactor = Redactor::build(&s).unwrap();
    let mut out = String::new();
    let found = redactor.redact_into(text, &mut out, usize::MAX).unwrap();
    let names = found
        .into_iter()
        .map(|p| s.at(p).unwrap().name.to_owned())
        .collect();
    (out, names)
}

#[test]
fn the_matcher_gives_every_redaction_vector_its_stated_answer() {
    let mut checked = 0;
    for test in vectors() {
        let value = &test["value"];
        let what = format!("redaction.json #{}", test["id"]);
        if let Some(forms) = value["forms"].as_object() {
            let secret = value["secret"].as_str().unwrap();
            let masked = value["masked"].as_bool().unwrap();
            for (name, form) in forms {
                let form = form.as_str().unwrap();
                let (out, found) = redact(&[("S", secret)], form);
                let expected = if masked { "***" } else { form };
                assert_eq!(out, expected, "{what}: {name} alone");
                assert_eq!(found.is_empty(), !masked, "{what}: {name} found");
            }
        } else {
            let secrets: Vec<(&str, &str)> = value["secrets"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str().unwrap()))
                .collect();
            let (out, found) = redact(&secrets, value["text"].as_str().unwrap());
            assert_eq!(out, value["redacted"].as_str().unwrap(), "{what}");
            assert_eq!(serde_json::json!(found), value["found"], "{what}: found");
        }
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} vectors");
}
