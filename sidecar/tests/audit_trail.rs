//! The audit trail tells the whole truth (PROTOCOL §13.2, §13.3), with the real binary: a value
//! passed where a name belongs is recorded as a placeholder, never as itself; connections
//! refused for their uid or token are recorded, a storm of them coalesced but counted; `List`
//! is recorded.

// Clippy's allow-*-in-tests settings cover `#[test]` bodies only; the helpers below are test
// code as much as they are.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::borrow::Cow;
use std::time::Instant;

use ax_protocol::frame::to_frame;
use ax_protocol::limits::{MAX_REQUEST_FRAME, PROTOCOL_VERSION};
use ax_protocol::{ErrorCode, Request, RequestBody, ResponseBody, SecretText};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use serde_json::{Value, json};
use support::{Client, Fixture, Sidecar, bundle};

/// A value that is itself a valid name.
const NAME_LIKE_VALUE: &str = "whk_live_5555";
/// An override's value that is a valid name too.
const NAME_LIKE_OVERRIDE: &str = "ovr_key_7777";
/// The tenant value that override replaces: wiped at start-up, still a value.
const SHADOWED_TENANT_VALUE: &str = "tenant_key_1";

fn fixture() -> Fixture {
    Fixture::with_bundle(&bundle(
        &[
            ("HOOK", NAME_LIKE_VALUE),
            ("API_KEY", SHADOWED_TENANT_VALUE),
            ("DB_URL", "postgres://u:p@h/db"),
        ],
        &[("API_KEY", NAME_LIKE_OVERRIDE)],
    ))
}

fn get(client: &mut Client, name: &str) -> Option<String> {
    client.get(name)
}

/// Sends a `Hello` with `token` on a fresh connection and expects it refused.
fn hello_refused(sidecar: &Sidecar, token: Option<&str>) {
    let mut client = Client::connect(&sidecar.socket);
    let hello = Request {
        id: 1,
        body: RequestBody::Hello {
            version: PROTOCOL_VERSION,
            client: Cow::Borrowed("test/0.1"),
            token: token.map(SecretText::borrowed),
        },
    };
    client.send_raw(&to_frame(&hello, MAX_REQUEST_FRAME).unwrap());
    client.expect_error(1, ErrorCode::Unauthorized);
    client.expect_closed();
}

/// The events of `action` in the audit file.
fn events_of<'e>(events: &'e [Value], action: &str) -> Vec<&'e Value> {
    events.iter().filter(|e| e["action"] == action).collect()
}

fn own_peer() -> Value {
    json!({
        "pid": std::process::id(),
        "uid": nix::unistd::Uid::effective().as_raw(),
        "gid": nix::unistd::Gid::effective().as_raw(),
    })
}

#[test]
fn a_get_or_render_of_a_value_that_fits_the_name_rule_is_recorded_as_a_placeholder() {
    let fixture = fixture();
    let sidecar = Sidecar::start(&fixture, &[]);
    let base64_form = STANDARD_NO_PAD.encode(NAME_LIKE_VALUE);
    assert!(ax_protocol::name::is_valid_name(&base64_form));

    let mut client = sidecar.client();
    assert_eq!(get(&mut client, NAME_LIKE_VALUE), None);
    assert_eq!(get(&mut client, &base64_form), None);
    assert_eq!(get(&mut client, NAME_LIKE_OVERRIDE), None);
    assert_eq!(get(&mut client, SHADOWED_TENANT_VALUE), None);
    // A real typo stays readable: it is no value.
    assert_eq!(get(&mut client, "HOOKK"), None);
    let template = format!("{{{{secrets.{NAME_LIKE_VALUE}}}}} {{{{secrets.HOOK}}}}");
    let answer = client.request(RequestBody::Render {
        template: SecretText::borrowed(&template),
    });
    assert!(matches!(answer.body, ResponseBody::Rendered { .. }));
    drop(client);

    let (status, _, stderr) = sidecar.stop();
    assert!(status.success(), "{stderr}");
    let text = std::fs::read_to_string(fixture.path("audit.jsonl")).unwrap();
    for value in [
        NAME_LIKE_VALUE,
        &base64_form,
        NAME_LIKE_OVERRIDE,
        SHADOWED_TENANT_VALUE,
    ] {
        assert!(!text.contains(value), "the trail holds {value:?}:\n{text}");
    }
    let names: Vec<Value> = fixture.audit().iter().map(|e| e["names"].clone()).collect();
    assert_eq!(
        names,
        [
            json!(["<value>"]),
            json!(["<value>"]),
            json!(["<value>"]),
            json!(["<value>"]),
            json!(["HOOKK"]),
            json!(["<value>", "HOOK"]),
        ]
    );
}

#[test]
fn a_connection_refused_for_its_uid_is_audited_with_its_reason() {
    let own = nix::unistd::Uid::effective().as_raw();
    let other = if own == 4242 { 4243 } else { 4242 }.to_string();
    let fixture = fixture();
    // Listing uids replaces the default: ours is no longer allowed.
    let sidecar = Sidecar::start(&fixture, &["--allow-uid", &other]);
    let mut client = Client::connect(&sidecar.socket);
    client.expect_error(0, ErrorCode::Unauthorized);
    client.expect_closed();

    let (status, _, stderr) = sidecar.stop();
    assert!(status.success(), "{stderr}");
    let events = fixture.audit();
    let refused = events_of(&events, "refused");
    assert_eq!(refused.len(), 1, "{events:#?}");
    let event = refused[0];
    assert_eq!(event["reason"], "uid");
    assert_eq!(event["count"], 1);
    assert_eq!(event["names"], json!([]));
    assert_eq!(event["found"], false);
    assert_eq!(event["peer"], own_peer());
    assert!(event["seq"].as_u64().is_some());
}

#[test]
fn a_hello_with_a_wrong_or_missing_token_is_audited_with_its_reason() {
    let fixture = fixture();
    let token_file = fixture.path("client-token");
    std::fs::write(&token_file, "s3cret-token\n").unwrap();
    let token_arg = token_file.display().to_string();
    let sidecar = Sidecar::start(&fixture, &["--client-token-file", &token_arg]);
    hello_refused(&sidecar, Some("tok-nope-7f3a"));
    // The right token is served, and not recorded as a refusal.
    let mut client = Client::connect(&sidecar.socket);
    client.hello(Some("s3cret-token"));
    drop(client);

    let (status, _, stderr) = sidecar.stop();
    assert!(status.success(), "{stderr}");
    let text = std::fs::read_to_string(fixture.path("audit.jsonl")).unwrap();
    assert!(
        !text.contains("tok-nope") && !text.contains("s3cret"),
        "{text}"
    );
    let events = fixture.audit();
    let refused = events_of(&events, "refused");
    assert_eq!(refused.len(), 1, "{events:#?}");
    assert_eq!(refused[0]["reason"], "token");
    assert_eq!(refused[0]["count"], 1);
    assert_eq!(refused[0]["names"], json!([]));
    assert_eq!(refused[0]["peer"], own_peer());
}

#[test]
fn a_storm_of_refusals_is_coalesced_into_few_events_that_count_every_one() {
    const STORM: u64 = 200;
    let fixture = fixture();
    let token_file = fixture.path("client-token");
    std::fs::write(&token_file, "s3cret-token\n").unwrap();
    let token_arg = token_file.display().to_string();
    let sidecar = Sidecar::start(&fixture, &["--client-token-file", &token_arg]);
    let started = Instant::now();
    for i in 0..STORM {
        let token = (i % 2 == 0).then_some("wrong");
        hello_refused(&sidecar, token);
    }
    let elapsed = started.elapsed();

    let (status, _, stderr) = sidecar.stop();
    assert!(status.success(), "{stderr}");
    let events = fixture.audit();
    let refused = events_of(&events, "refused");
    let counted: u64 = refused.iter().map(|e| e["count"].as_u64().unwrap()).sum();
    assert_eq!(counted, STORM, "{refused:#?}");
    // At most one event a second, plus the one flushed at shutdown.
    let bound = elapsed.as_secs() + 2;
    assert!(
        refused.len() as u64 <= bound,
        "{} events in {elapsed:?}",
        refused.len()
    );
}

#[test]
fn a_list_is_audited_without_names() {
    let fixture = fixture();
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = sidecar.client();
    assert!(matches!(
        client.request(RequestBody::List).body,
        ResponseBody::List { .. }
    ));
    drop(client);

    let (status, _, stderr) = sidecar.stop();
    assert!(status.success(), "{stderr}");
    let events = fixture.audit();
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0]["action"], "list");
    assert_eq!(events[0]["names"], json!([]));
    assert_eq!(events[0]["found"], true);
    assert_eq!(events[0]["peer"], own_peer());
    assert_eq!(events[0]["seq"], 1);
}
