//! The client against a real `ax-sidecar` built from this repository (see `support` for where
//! the binary comes from; these tests fail, never skip, when there is none).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Barrier;

use ax_secrets::{AxiomContext, Error, MockAxiomContext, Reason, Redacted, Refused, SecretInfo};
use serde_json::json;
use support::{Sidecar, is_child, run_in_child};

/// Exactly 1 MiB, the largest value a bundle may hold.
fn big() -> String {
    "0123456789abcdef".repeat(1024 * 1024 / 16)
}

const UNICODE: &str = "pässwörd-密码-🔑";

fn standard() -> Sidecar {
    Sidecar::start(
        json!({
            "OPENAI_API_KEY": "sk-live-4f2b9c",
            "EMPTY": "",
            "UNICODE": UNICODE,
            "DB_URL": {"value": "postgres://u:p@db/x", "version": 3, "updated_at": 1_795_000_000},
            "WEBHOOK": "whk_tenant",
            "SHORT": "k9",
        }),
        json!({
            "WEBHOOK": {"value": "whk_override", "version": 9, "updated_at": 1_796_000_000},
            "ONLY_OVERRIDE": "only",
        }),
        Some(&Sidecar::new_token()),
    )
}

fn context(sidecar: &Sidecar) -> AxiomContext {
    AxiomContext::builder()
        .socket(&sidecar.socket)
        .token(sidecar.token.clone().unwrap_or_default())
        .build()
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

#[test]
fn finds_a_secret() {
    let sidecar = standard();
    let ax = context(&sidecar);
    assert_eq!(
        ax.secrets().get("OPENAI_API_KEY"),
        ("sk-live-4f2b9c".to_owned(), true)
    );
    assert_eq!(
        ax.secrets().try_get("OPENAI_API_KEY").unwrap().as_deref(),
        Some("sk-live-4f2b9c")
    );
}

#[test]
fn a_missing_secret_is_not_found_and_not_an_error() {
    let sidecar = standard();
    let ax = context(&sidecar);
    assert_eq!(ax.secrets().get("NOPE"), (String::new(), false));
    assert_eq!(ax.secrets().try_get("NOPE").unwrap(), None);
    assert!(!ax.secrets().exists("NOPE").unwrap());
}

#[test]
fn an_empty_value_is_found() {
    let sidecar = standard();
    let ax = context(&sidecar);
    assert_eq!(ax.secrets().get("EMPTY"), (String::new(), true));
    assert_eq!(ax.secrets().try_get("EMPTY").unwrap().as_deref(), Some(""));
    assert!(ax.secrets().exists("EMPTY").unwrap());
}

#[test]
fn a_unicode_value_comes_back_exactly() {
    let sidecar = standard();
    let ax = context(&sidecar);
    assert_eq!(ax.secrets().get("UNICODE"), (UNICODE.to_owned(), true));
}

#[test]
fn a_value_of_one_mebibyte_comes_back_exactly() {
    let sidecar = Sidecar::start(json!({"BIG": big(), "SMALL": "s"}), json!({}), None);
    let ax = context(&sidecar);
    let (value, found) = ax.secrets().get("BIG");
    assert!(found);
    assert_eq!(value.len(), 1024 * 1024);
    assert!(value == big(), "the 1 MiB value differs");
    // The connection goes on after a large answer.
    assert_eq!(ax.secrets().get("SMALL"), ("s".to_owned(), true));
    assert!(ax.secrets().try_get("BIG").unwrap().unwrap() == big());
}

#[test]
fn an_override_wins_and_may_add_a_name() {
    let sidecar = standard();
    let ax = context(&sidecar);
    assert_eq!(
        ax.secrets().get("WEBHOOK"),
        ("whk_override".to_owned(), true)
    );
    assert_eq!(ax.secrets().get("ONLY_OVERRIDE"), ("only".to_owned(), true));
}

#[test]
fn invalid_names_are_not_found() {
    let sidecar = standard();
    let ax = context(&sidecar);
    let long = "A".repeat(129);
    for name in [
        "",
        "1A",
        "has space",
        "ключ",
        "sk-live-4f2b9c",
        "DB-URL",
        &long,
    ] {
        assert_eq!(ax.secrets().get(name), (String::new(), false), "{name:?}");
    }
    assert_eq!(ax.secrets().get("openai_api_key"), (String::new(), false));
}

#[test]
fn lists_every_secret_sorted_with_its_metadata() {
    let sidecar = standard();
    let ax = context(&sidecar);
    let listed = ax.secrets().list().unwrap();
    let names: Vec<&str> = listed.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "DB_URL",
            "EMPTY",
            "ONLY_OVERRIDE",
            "OPENAI_API_KEY",
            "SHORT",
            "UNICODE",
            "WEBHOOK"
        ]
    );
    let db = listed.iter().find(|i| i.name == "DB_URL").unwrap();
    assert_eq!(
        *db,
        SecretInfo {
            name: "DB_URL".into(),
            version: 3,
            updated_at: 1_795_000_000,
        }
    );
    // An override shows its own metadata and nothing that marks it as an override.
    let webhook = listed.iter().find(|i| i.name == "WEBHOOK").unwrap();
    assert_eq!(
        *webhook,
        SecretInfo {
            name: "WEBHOOK".into(),
            version: 9,
            updated_at: 1_796_000_000,
        }
    );
}

#[test]
fn renders_a_template() {
    let sidecar = standard();
    let ax = context(&sidecar);
    let rendered = ax
        .secrets()
        .render(
            "k={{ secrets.OPENAI_API_KEY }} m={{secrets.M}} {{secrets.M}} u={{secrets.UNICODE}}",
        )
        .unwrap();
    assert_eq!(
        rendered.text,
        format!("k=sk-live-4f2b9c m={{{{secrets.M}}}} {{{{secrets.M}}}} u={UNICODE}")
    );
    assert_eq!(rendered.missing, ["M"]);
}

#[test]
fn redacts_values_and_their_encodings() {
    let sidecar = standard();
    let ax = context(&sidecar);
    let redacted = ax
        .secrets()
        .redact("key=sk-live-4f2b9c b64=c2stbGl2ZS00ZjJiOWM= k9k9 whk_tenant")
        .unwrap();
    assert_eq!(
        redacted,
        Redacted {
            // SHORT ("k9") is under the 4-byte minimum: never masked.
            text: "key=*** b64=*** k9k9 whk_tenant".into(),
            found: vec!["OPENAI_API_KEY".into()],
        }
    );
}

#[test]
fn the_mock_answers_as_the_sidecar_does() {
    let sidecar = standard();
    let ax = context(&sidecar);
    let values: Vec<(String, String)> = ax
        .secrets()
        .list()
        .unwrap()
        .into_iter()
        .map(|info| {
            let value = ax.secrets().try_get(&info.name).unwrap().unwrap();
            (info.name, value)
        })
        .collect();
    let mock = MockAxiomContext::from_map(values);
    for text in [
        "pässwörd-密码-🔑 p%C3%A4ssw%C3%B6rd only k9 {{secrets.SHORT}} whk_override",
        "{\"pw\": \"p\\u00e4ssw\\u00f6rd-\\u5bc6\\u7801-\\ud83d\\udd11\"} cG9zdGdyZXM6Ly91OnBAZGIveA",
        "",
    ] {
        assert_eq!(
            mock.secrets().redact(text).unwrap(),
            ax.secrets().redact(text).unwrap(),
            "{text:?}"
        );
    }
    let template = "{{{secrets.SHORT}}} {{ secrets.X }} {{secrets.UNICODE}} {{secrets.EMPTY}}";
    assert_eq!(
        mock.secrets().render(template).unwrap(),
        ax.secrets().render(template).unwrap()
    );
    assert_eq!(
        mock.secrets().list().unwrap().len(),
        ax.secrets().list().unwrap().len()
    );
}

#[test]
fn a_wrong_token_is_a_typed_error_naming_the_socket() {
    let sidecar = standard();
    let ax = AxiomContext::builder()
        .socket(&sidecar.socket)
        .token("not-the-token")
        .build();
    let error = ax.secrets().try_get("OPENAI_API_KEY").unwrap_err();
    assert!(
        matches!(
            &error,
            Error::Unauthorized { socket, refused: Refused::Token } if *socket == sidecar.socket
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "ax-secrets: the sidecar at {} refused the client token (missing or wrong)",
            sidecar.socket.display()
        )
    );
    assert!(!format!("{error:?}").contains("not-the-token"));
    assert!(matches!(
        ax.secrets().list(),
        Err(Error::Unauthorized { .. })
    ));
    assert!(matches!(
        ax.secrets().exists("SHORT"),
        Err(Error::Unauthorized { .. })
    ));
    let panicked = catch_unwind(AssertUnwindSafe(|| ax.secrets().get("OPENAI_API_KEY")));
    let message = panic_message(&*panicked.unwrap_err());
    assert!(
        message.contains(&sidecar.socket.display().to_string()) && message.contains("try_get"),
        "{message}"
    );
}

#[test]
fn a_missing_token_is_a_typed_error() {
    let sidecar = standard();
    let ax = AxiomContext::builder()
        .socket(&sidecar.socket)
        .token("")
        .build();
    assert!(matches!(
        ax.secrets().try_get("OPENAI_API_KEY"),
        Err(Error::Unauthorized { .. })
    ));
}

#[test]
fn the_environment_configures_the_context() {
    if is_child() {
        let ax = AxiomContext::new();
        assert_eq!(ax.secrets().get("SHORT"), ("k9".to_owned(), true));
        return;
    }
    let sidecar = standard();
    let socket = sidecar.socket.display().to_string();
    run_in_child(
        "the_environment_configures_the_context",
        &[
            ("AX_SECRETS_SOCKET", Some(&socket)),
            ("AX_SECRETS_TOKEN", sidecar.token.as_deref()),
        ],
    );
}

#[test]
fn no_sidecar_is_a_typed_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nobody.sock");
    let ax = AxiomContext::builder().socket(&path).build();
    let error = ax.secrets().try_get("OPENAI_API_KEY").unwrap_err();
    assert!(
        matches!(
            &error,
            Error::Unavailable { socket, reason: Reason::Connect(_), .. } if *socket == path
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains(&path.display().to_string()));
    assert!(error.is_unavailable());
    assert!(matches!(
        ax.secrets().render("{{secrets.A}}"),
        Err(Error::Unavailable { .. })
    ));
    let panicked = catch_unwind(AssertUnwindSafe(|| ax.secrets().get("OPENAI_API_KEY")));
    let message = panic_message(&*panicked.unwrap_err());
    assert!(message.contains(&path.display().to_string()), "{message}");
    // An invalid name needs no sidecar: it is not found.
    assert_eq!(ax.secrets().get("1BAD"), (String::new(), false));
}

#[test]
fn a_restarted_sidecar_is_reconnected_to() {
    let mut sidecar = standard();
    let ax = context(&sidecar);
    assert_eq!(
        ax.secrets().get("OPENAI_API_KEY"),
        ("sk-live-4f2b9c".to_owned(), true)
    );
    sidecar.restart();
    assert_eq!(ax.secrets().get("SHORT"), ("k9".to_owned(), true));
    assert_eq!(
        ax.secrets().get("OPENAI_API_KEY"),
        ("sk-live-4f2b9c".to_owned(), true)
    );
}

#[test]
fn a_stopped_sidecar_is_a_typed_error() {
    let mut sidecar = standard();
    let ax = context(&sidecar);
    assert!(ax.secrets().exists("SHORT").unwrap());
    assert!(sidecar.stop().success());
    let error = ax.secrets().try_get("SHORT").unwrap_err();
    assert!(matches!(error, Error::Unavailable { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .contains(&sidecar.socket.display().to_string())
    );
}

#[test]
fn concurrent_callers_all_get_the_right_value() {
    let sidecar = standard();
    let ax = context(&sidecar);
    let names = ["OPENAI_API_KEY", "SHORT", "UNICODE", "NOPE", "EMPTY"];
    let expected: Vec<(String, bool)> = names.iter().map(|n| ax.secrets().get(n)).collect();
    let start = Barrier::new(16);
    let wrong: Vec<String> = std::thread::scope(|scope| {
        let callers: Vec<_> = (0..16)
            .map(|caller| {
                let (ax, start, expected) = (&ax, &start, &expected);
                scope.spawn(move || {
                    let which = caller % names.len();
                    start.wait();
                    (0..50)
                        .filter(|_| ax.secrets().get(names[which]) != expected[which])
                        .map(|_| names[which].to_owned())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        callers
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect()
    });
    assert!(wrong.is_empty(), "wrong answers for {wrong:?}");
    fn shareable<T: Send + Sync>(_: &T) {}
    shareable(&ax);
}

#[test]
fn no_value_or_token_in_debug_or_errors() {
    let mut sidecar = standard();
    let token = sidecar.token.clone().unwrap();
    let ax = context(&sidecar);
    assert_eq!(ax.secrets().get("OPENAI_API_KEY").0, "sk-live-4f2b9c");
    let shown = format!("{ax:?} {:?}", ax.secrets());
    assert!(
        shown.contains(&sidecar.socket.display().to_string()),
        "{shown}"
    );
    assert!(
        !shown.contains("sk-live") && !shown.contains(&token),
        "{shown}"
    );
    let rendered = ax.secrets().render("{{secrets.OPENAI_API_KEY}}").unwrap();
    assert!(!format!("{rendered:?}").contains("sk-live"));
    assert!(sidecar.stop().success());
    let error = ax
        .secrets()
        .render("secret sk-live-4f2b9c {{secrets.OPENAI_API_KEY}}")
        .unwrap_err();
    let shown = format!("{error} {error:?}");
    assert!(
        !shown.contains("sk-live") && !shown.contains(&token),
        "{shown}"
    );
}

#[test]
fn close_drops_the_connection_and_the_next_call_reconnects() {
    let sidecar = standard();
    let ax = context(&sidecar);
    assert!(ax.secrets().exists("SHORT").unwrap());
    ax.close();
    assert!(ax.secrets().exists("SHORT").unwrap());
}

#[test]
fn a_uid_the_sidecar_does_not_allow_is_refused_as_a_uid_not_a_token() {
    let uid = nix::unistd::getuid().as_raw();
    let other = if uid == 4_242_424 {
        4_242_425
    } else {
        4_242_424
    };
    let sidecar = Sidecar::start_with(
        json!({"A": "v"}),
        json!({}),
        None,
        &["--allow-uid", &other.to_string()],
    );
    let ax = AxiomContext::builder().socket(&sidecar.socket).build();
    let error = ax.secrets().try_get("A").unwrap_err();
    assert!(
        matches!(error, Error::Unauthorized { refused: Refused::Uid(got), .. } if got == uid),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains(&format!("uid {uid}")), "{message}");
    assert!(!message.contains("token"), "{message}");
}
