//! The mock answers as a sidecar serving the same values would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::panic::catch_unwind;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use ax_secrets::{Context, MockAxiomContext, NameError, Redacted, Rendered, SecretInfo};
use serde_json::Value;

const UNICODE: &str = "pässwörd-密码-🔑";

fn ax() -> MockAxiomContext {
    MockAxiomContext::from_map([
        ("GREETER_SIGNATURE", "test-sig"),
        ("EMPTY", ""),
        ("UNI", UNICODE),
        ("QUOTED", "say \"hi\"\\n\tthen\u{1}go"),
        ("SHORT", "k9"),
        ("LONG", "sk-0123456789"),
        ("TWIN", "k9"),
        ("LOOP", "{{secrets.SHORT}}"),
        ("lower", "v"),
    ])
}

#[test]
fn get_returns_the_value_and_true() {
    assert_eq!(
        ax().secrets().get("GREETER_SIGNATURE"),
        ("test-sig".to_owned(), true)
    );
}

#[test]
fn a_missing_secret_is_empty_and_false() {
    assert_eq!(ax().secrets().get("MISSING"), (String::new(), false));
    assert_eq!(ax().secrets().try_get("MISSING").unwrap(), None);
}

#[test]
fn an_empty_value_is_found() {
    assert_eq!(ax().secrets().get("EMPTY"), (String::new(), true));
    assert!(ax().secrets().exists("EMPTY").unwrap());
}

#[test]
fn names_are_case_sensitive() {
    assert_eq!(ax().secrets().get("lower"), ("v".to_owned(), true));
    assert_eq!(ax().secrets().get("LOWER"), (String::new(), false));
}

#[test]
fn invalid_names_are_not_found() {
    let ax = ax();
    for name in ["", "1A", "A-B", "A\n", "test-sig", "Ä", &"A".repeat(129)] {
        assert_eq!(ax.secrets().get(name), (String::new(), false), "{name:?}");
        assert!(!ax.secrets().exists(name).unwrap());
    }
}

#[test]
fn lists_names_sorted_bytewise_with_fixed_metadata() {
    let listed = ax().secrets().list().unwrap();
    let names: Vec<&str> = listed.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "EMPTY",
            "GREETER_SIGNATURE",
            "LONG",
            "LOOP",
            "QUOTED",
            "SHORT",
            "TWIN",
            "UNI",
            "lower"
        ]
    );
    assert_eq!(
        listed[0],
        SecretInfo {
            name: "EMPTY".into(),
            version: 1,
            updated_at: 0,
        }
    );
    assert!(listed.iter().all(|i| (i.version, i.updated_at) == (1, 0)));
}

#[test]
fn renders_found_references_and_keeps_missing_ones_once() {
    let rendered = ax()
        .secrets()
        .render("a={{ secrets.SHORT }} m={{secrets.M}}{{secrets.M}} e=[{{secrets.EMPTY}}]")
        .unwrap();
    assert_eq!(
        rendered,
        Rendered {
            text: "a=k9 m={{secrets.M}}{{secrets.M}} e=[]".into(),
            missing: vec!["M".into()],
        }
    );
}

#[test]
fn never_expands_references_inside_values() {
    let rendered = ax().secrets().render("{{secrets.LOOP}}").unwrap();
    assert_eq!(rendered.text, "{{secrets.SHORT}}");
    assert!(rendered.missing.is_empty());
}

#[test]
fn redacts_every_form_of_every_value() {
    let ax = ax();
    let cases = [
        ("sig=test-sig", "sig=***", vec!["GREETER_SIGNATURE"]),
        (
            "b64 dGVzdC1zaWc= unpadded dGVzdC1zaWc",
            "b64 *** unpadded ***",
            vec!["GREETER_SIGNATURE"],
        ),
        ("url cMOkc3N3w7ZyZC3lr4bnoIEt8J-UkQ", "url ***", vec!["UNI"]),
        (
            "pct p%C3%A4ssw%C3%B6rd-%E5%AF%86%E7%A0%81-%F0%9F%94%91",
            "pct ***",
            vec!["UNI"],
        ),
        (
            "{\"pw\": \"p\\u00e4ssw\\u00f6rd-\\u5bc6\\u7801-\\ud83d\\udd11\"}",
            "{\"pw\": \"***\"}",
            vec!["UNI"],
        ),
        (
            "{\"q\": \"say \\\"hi\\\"\\\\n\\tthen\\u0001go\"}",
            "{\"q\": \"***\"}",
            vec!["QUOTED"],
        ),
    ];
    for (text, redacted, found) in cases {
        assert_eq!(
            ax.secrets().redact(text).unwrap(),
            Redacted {
                text: redacted.into(),
                found: found.into_iter().map(str::to_owned).collect()
            },
            "{text:?}"
        );
    }
}

#[test]
fn redaction_is_leftmost_longest_and_names_every_owner() {
    let redacted = ax()
        .secrets()
        .redact("sk-0123456789sk-0123456789 sk-0123456789k9 [] \"\"")
        .unwrap();
    assert_eq!(redacted.text, "****** ***k9 [] \"\"");
    assert_eq!(redacted.found, ["LONG"]);
}

#[test]
fn values_under_four_bytes_are_never_masked() {
    // SHORT and TWIN are "k9".
    let redacted = ax().secrets().redact("k9k9 k9").unwrap();
    assert_eq!(redacted.text, "k9k9 k9");
    assert!(redacted.found.is_empty());
}

#[test]
fn an_empty_mock_redacts_nothing() {
    let redacted = MockAxiomContext::new().secrets().redact("text").unwrap();
    assert_eq!(redacted.text, "text");
    assert!(redacted.found.is_empty());
}

#[test]
fn a_key_that_is_not_a_name_is_refused_without_showing_it() {
    let panicked = catch_unwind(|| MockAxiomContext::from_map([("sk-live-123", "x")]));
    let payload = panicked.unwrap_err();
    let message = payload.downcast_ref::<String>().unwrap();
    assert!(message.contains("not a secret name"), "{message}");
    assert!(!message.contains("sk-live"), "{message}");
    assert!(matches!(
        MockAxiomContext::try_from_map([("", "x")]),
        Err(NameError::Empty)
    ));
    assert!(MockAxiomContext::try_from_map([("OK", "x")]).is_ok());
}

#[test]
fn builders_add_and_replace_secrets() {
    let from_hash: HashMap<String, String> = [("A".to_owned(), "1".to_owned())].into();
    let ax = MockAxiomContext::from_map(from_hash)
        .with_secret("B", "2")
        .with_secrets([("A", "3")]);
    assert_eq!(ax.secrets().get("A"), ("3".to_owned(), true));
    assert_eq!(ax.secrets().get("B"), ("2".to_owned(), true));
    // A secret added after a redaction is redacted too.
    let ax = MockAxiomContext::new().with_secret("X", "first");
    assert_eq!(ax.secrets().redact("first").unwrap().text, "***");
    let ax = ax.with_secret("Y", "second");
    assert_eq!(ax.secrets().redact("second").unwrap().text, "***");
}

#[test]
fn debug_shows_names_never_values() {
    let ax = ax();
    let shown = format!("{ax:?} {:?}", ax.secrets());
    assert!(shown.contains("GREETER_SIGNATURE"), "{shown}");
    assert!(
        !shown.contains("test-sig") && !shown.contains("k9"),
        "{shown}"
    );
}

#[test]
fn is_shared_between_threads_behind_the_context_trait() {
    let ax = ax();
    let context: &dyn Context = &ax;
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..100 {
                    assert_eq!(context.secrets().get("SHORT"), ("k9".to_owned(), true));
                }
            });
        }
    });
}

/// The conformance program of `examples/conformance.rs`, built by `cargo test` beside the tests.
fn conformance_program() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let program = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join("conformance");
    assert!(
        program.is_file(),
        "no conformance program at {} (cargo test builds the examples)",
        program.display()
    );
    program
}

/// Every scenario of the conformance suite that does not need a live sidecar, run through the
/// conformance program on the mock loaded with the suite's effective values.
#[test]
fn the_conformance_scenarios_pass_on_the_mock() {
    let root = support::workspace_root().join("integration/conformance");
    let read = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(root.join(name)).unwrap()).unwrap()
    };
    let spec = read("secrets.json");
    let mut values = serde_json::Map::new();
    for section in ["secrets", "overrides"] {
        for (name, value) in spec[section].as_object().into_iter().flatten() {
            let value = value.get("value").unwrap_or(value).clone();
            values.insert(name.clone(), value);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("mock.json");
    std::fs::write(&map, serde_json::to_vec(&values).unwrap()).unwrap();

    let scenarios = read("scenarios.json");
    let mut ran = 0;
    for scenario in scenarios["scenarios"].as_array().unwrap() {
        if scenario["live_only"].as_bool().unwrap() {
            continue;
        }
        let name = scenario["name"].as_str().unwrap();
        let mut child = Command::new(conformance_program())
            .env("AX_CONFORMANCE_MOCK", &map)
            .env_remove("AX_SECRETS_SOCKET")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        let mut output = BufReader::new(child.stdout.take().unwrap());
        for step in scenario["steps"].as_array().unwrap() {
            writeln!(input, "{}", step["request"]).unwrap();
            input.flush().unwrap();
            let mut line = String::new();
            output.read_line(&mut line).unwrap();
            let answer: Value = serde_json::from_str(&line).unwrap();
            assert_eq!(answer, step["expect"], "{name}: {}", step["request"]);
        }
        drop(input);
        let mut rest = String::new();
        output.read_line(&mut rest).unwrap();
        assert!(
            rest.is_empty(),
            "{name}: output after the last answer: {rest:?}"
        );
        assert!(
            child.wait().unwrap().success(),
            "{name}: the program failed"
        );
        ran += 1;
    }
    assert!(ran >= 15, "only {ran} scenarios ran");
}
