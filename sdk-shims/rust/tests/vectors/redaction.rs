//! `redaction.json` through the mock: each forms case by name against
//! `ax_protocol::encodings::forms` (the mock's own), each form alone through the mock's
//! `redact`, and each whole redaction through it (PROTOCOL §8.4, §10.2).

use ax_protocol::encodings::{FORM_NAMES, forms, is_redacted};
use ax_protocol::limits::REDACTION_MARK;
use ax_secrets::MockAxiomContext;
use serde_json::{Value, json};

use crate::{exact_keys, hex};

pub(crate) fn case(test: &Value) {
    let is_forms = test["value"]
        .as_object()
        .is_some_and(|value| value.contains_key("forms"));
    if is_forms {
        forms_case(test);
    } else {
        redaction_case(test);
    }
}

fn forms_case(test: &Value) {
    let value = exact_keys(&test["value"], &["secret", "masked", "forms"], "value").unwrap();
    let secret = value["secret"].as_str().unwrap();
    assert_eq!(
        hex(&test["hex"]),
        secret.as_bytes(),
        "hex is the UTF-8 of the secret"
    );
    let masked = is_redacted(secret);
    assert_eq!(value["masked"].as_bool(), Some(masked), "masked");
    let named = exact_keys(&value["forms"], &FORM_NAMES, "forms").unwrap();
    let mock = MockAxiomContext::from_map([("S", secret)]);
    for (name, form) in FORM_NAMES.iter().zip(forms(secret)) {
        assert_eq!(named[*name].as_str(), Some(form.as_str()), "form {name}");
        let redacted = mock.secrets().redact(&form).unwrap();
        let expected = if masked { REDACTION_MARK } else { &form };
        assert_eq!(redacted.text, expected, "form {name} alone");
        assert_eq!(redacted.found.is_empty(), !masked, "form {name} found");
    }
}

fn redaction_case(test: &Value) {
    let value = exact_keys(
        &test["value"],
        &["secrets", "text", "redacted", "found"],
        "value",
    )
    .unwrap();
    let text = value["text"].as_str().unwrap();
    assert_eq!(
        hex(&test["hex"]),
        text.as_bytes(),
        "hex is the UTF-8 of the text"
    );
    let secrets = value["secrets"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, v)| (name.clone(), v.as_str().expect("a value").to_owned()));
    let redacted = MockAxiomContext::from_map(secrets)
        .secrets()
        .redact(text)
        .unwrap();
    assert_eq!(
        redacted.text,
        value["redacted"].as_str().unwrap(),
        "redacted"
    );
    assert_eq!(json!(redacted.found), value["found"], "found");
}
