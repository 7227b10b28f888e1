//! No secret leaves the sidecar through its own outputs: every request kind and every error
//! path is exercised with debug logging, then the sidecar's stdout, stderr and audit trail are
//! searched for every value, the client token, and their common encodings.
//!
//! Responses to `Get`, `Render` and `Redact` hold values by design; these tests are about what
//! the sidecar writes anywhere else.

// Helpers outside `#[test]` functions are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::borrow::Cow;
use std::fs;
use std::io::Write;
use std::net::Shutdown;
use std::path::Path;

use ax_protocol::frame::to_frame;
use ax_protocol::limits::{MAX_REQUEST_FRAME, PROTOCOL_VERSION};
use ax_protocol::{ErrorCode, Request, RequestBody, ResponseBody, SecretText};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use ring::rand::{SecureRandom, SystemRandom};
use support::*;

/// The secrets of one run: (name, value), all values distinctive.
struct Secrets {
    tenant: Vec<(String, String)>,
    overrides: Vec<(String, String)>,
    token: String,
}

impl Secrets {
    fn new() -> Self {
        let mut tenant: Vec<(String, String)> = (0..20)
            .map(|i| (format!("S{i:02}"), format!("lk{i:02}-{}", random_text(28))))
            .collect();
        let unicode = [
            format!("пароль-Ωμέγα-🔑-ключ-{}", random_text(8)),
            format!("密码の秘密-𝓢𝓮𝓬𝓻𝓮𝓽-{}", random_text(8)),
            format!("q\"uote\\back\nnew\tline\u{1}ctl-{}", random_text(8)),
            format!("émoji-🙈🙉🙊-zero\u{200b}width-{}", random_text(8)),
        ];
        tenant.extend(
            unicode
                .into_iter()
                .enumerate()
                .map(|(i, v)| (format!("U{i}"), v)),
        );
        tenant.push(("BIG".into(), format!("big-{}", random_text(4096))));
        let overrides = vec![("S03".into(), format!("ov03-{}", random_text(28)))];
        Self {
            tenant,
            overrides,
            token: format!("tok-{}", random_text(40)),
        }
    }

    /// Every value, served or shadowed.
    fn values(&self) -> impl Iterator<Item = &str> {
        self.tenant
            .iter()
            .chain(&self.overrides)
            .map(|(_, v)| v.as_str())
    }

    /// The value served for `name`.
    fn served(&self, name: &str) -> Option<&str> {
        self.overrides
            .iter()
            .chain(&self.tenant)
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn fixture(&self) -> Fixture {
        Fixture::with_bundle(&bundle(&borrow(&self.tenant), &borrow(&self.overrides)))
    }

    /// Every served secret: (name, value).
    fn effective(&self) -> Vec<(&str, &str)> {
        self.tenant
            .iter()
            .map(|(name, _)| (name.as_str(), self.served(name).unwrap()))
            .collect()
    }
}

fn borrow(list: &[(String, String)]) -> Vec<(&str, &str)> {
    list.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect()
}

/// Random letters and digits.
fn random_text(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = vec![0u8; len];
    SystemRandom::new().fill(&mut bytes).unwrap();
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// The forms a value could take in a log line or an audit event: as it is, base64 and
/// base64url with and without padding, hex in both cases, JSON-escaped (as serde writes it and
/// ASCII-only), and Rust-`Debug`-escaped.
fn forms(value: &str) -> Vec<(&'static str, String)> {
    let bytes = value.as_bytes();
    let json = serde_json::to_string(value).unwrap();
    let debug = format!("{value:?}");
    let mut out = vec![
        ("raw", value.to_owned()),
        ("base64", STANDARD.encode(bytes)),
        ("base64 without padding", STANDARD_NO_PAD.encode(bytes)),
        ("base64url", URL_SAFE.encode(bytes)),
        ("base64url without padding", URL_SAFE_NO_PAD.encode(bytes)),
        ("hex", hex::encode(bytes)),
        ("HEX", hex::encode_upper(bytes)),
        ("JSON-escaped", json[1..json.len() - 1].to_owned()),
        ("JSON-escaped ASCII", ascii_json_escape(value)),
        ("Debug-escaped", debug[1..debug.len() - 1].to_owned()),
    ];
    out.dedup_by(|a, b| a.1 == b.1);
    out
}

/// JSON string escaping with every non-ASCII character as `\uXXXX` (surrogate pairs above the
/// BMP), as Python's `json.dumps` writes it.
fn ascii_json_escape(value: &str) -> String {
    let mut out = String::new();
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out
}

/// Asserts no form of any of `secrets` appears in `output`.
fn assert_clean(what: &str, output: &str, secrets: &[(&str, &str)]) {
    for (label, secret) in secrets {
        for (form, text) in forms(secret) {
            assert!(
                !output.contains(&text),
                "{what} holds {label} ({form}: {text:?}):\n{output}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Exercising every request kind and error path.

fn frame(id: u32, body: RequestBody<'_>) -> Vec<u8> {
    to_frame(&Request { id, body }, MAX_REQUEST_FRAME).unwrap()
}

fn get_body(name: &str) -> RequestBody<'_> {
    RequestBody::Get {
        name: Cow::Borrowed(name),
    }
}

fn hello_body(version: u16, token: Option<&str>) -> RequestBody<'_> {
    RequestBody::Hello {
        version,
        client: Cow::Borrowed("leak-test/0.1"),
        token: token.map(SecretText::borrowed),
    }
}

/// A raw frame: the length header and `body`.
fn raw_frame(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

/// Reads an `Error` with `code`, then the close.
fn expect_error(client: &mut Client, code: ErrorCode) {
    let response = client.read().expect("an error response");
    match response.body {
        ResponseBody::Error { code: got, .. } => assert_eq!(got, code, "{response:?}"),
        other => panic!("expected {code:?}, got {other:?}"),
    }
    client.expect_closed();
}

fn greeted(socket: &Path, secrets: &Secrets) -> Client {
    let mut client = Client::connect(socket);
    client.hello(Some(&secrets.token));
    client
}

/// Every request kind, with values in names, templates and texts.
fn serve_every_request_kind(socket: &Path, secrets: &Secrets) {
    let mut client = greeted(socket, secrets);
    for (name, _) in secrets.tenant.iter().chain(&secrets.overrides) {
        assert_eq!(client.get(name).as_deref(), secrets.served(name), "{name}");
    }
    assert_eq!(client.get("NOT_THERE"), None);
    // A value where a name belongs is an invalid name: not found, never recorded.
    for value in secrets.values() {
        assert_eq!(client.get(value), None);
    }
    match client.request(RequestBody::List).body {
        ResponseBody::List { secrets: listed } => {
            assert_eq!(listed.len(), secrets.tenant.len());
        }
        other => panic!("{other:?}"),
    }
    for (name, value) in secrets.effective() {
        let template = format!(
            "ref {{{{secrets.{name}}}}} literal {value} missing {{{{secrets.NOT_THERE}}}} \
             bogus {{{{secrets.{value}}}}}"
        );
        match client
            .request(RequestBody::Render {
                template: SecretText::borrowed(&template),
            })
            .body
        {
            ResponseBody::Rendered { text, missing } => {
                assert!(text.expose().contains(secrets.served(name).unwrap()));
                assert_eq!(missing, [Cow::Borrowed("NOT_THERE")]);
            }
            other => panic!("{other:?}"),
        }
        let text = format!(
            "raw {value} b64 {} hex {} done",
            STANDARD.encode(value),
            hex::encode(value)
        );
        match client
            .request(RequestBody::Redact {
                text: SecretText::borrowed(&text),
            })
            .body
        {
            ResponseBody::Redacted { text, found } => {
                assert!(!text.contains(value), "not redacted: {name}");
                assert!(!found.is_empty());
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(client.request(RequestBody::Ping).body, ResponseBody::Pong);

    // A render whose answer is over the response limit: TooLarge, and the connection stays.
    let template = "{{secrets.BIG}}".repeat(300);
    match client
        .request(RequestBody::Render {
            template: SecretText::borrowed(&template),
        })
        .body
    {
        ResponseBody::Error { code, .. } => assert_eq!(code, ErrorCode::TooLarge),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_eq!(client.request(RequestBody::Ping).body, ResponseBody::Pong);

    // A pipelined batch of everything.
    let mut batch = Vec::new();
    let mut id = 1000;
    for (name, value) in secrets.effective() {
        for body in [
            get_body(name),
            get_body(value),
            RequestBody::Render {
                template: SecretText::borrowed(value),
            },
            RequestBody::Redact {
                text: SecretText::borrowed(value),
            },
            RequestBody::List,
            RequestBody::Ping,
        ] {
            batch.extend(frame(id, body));
            id += 1;
        }
    }
    client.send_raw(&batch);
    for expected in 1000..id {
        let response = client.read().unwrap();
        assert_eq!(response.id, expected);
        assert!(!matches!(response.body, ResponseBody::Error { .. }));
    }

    // A second Hello closes the connection.
    client.send(&Request {
        id: 1,
        body: hello_body(PROTOCOL_VERSION, Some(&secrets.token)),
    });
    expect_error(&mut client, ErrorCode::HandshakeRequired);
}

/// Every way a client can be refused, with values in what it sends.
fn refuse_every_bad_client(socket: &Path, secrets: &Secrets) {
    let value = secrets.served("S00").unwrap();
    let unicode = secrets.served("U0").unwrap();

    // A value sent as the token, no token, the right token with the wrong version.
    let mut client = Client::connect(socket);
    client.send(&Request {
        id: 1,
        body: hello_body(PROTOCOL_VERSION, Some(value)),
    });
    expect_error(&mut client, ErrorCode::Unauthorized);
    let mut client = Client::connect(socket);
    client.send(&Request {
        id: 1,
        body: hello_body(PROTOCOL_VERSION, None),
    });
    expect_error(&mut client, ErrorCode::Unauthorized);
    let mut client = Client::connect(socket);
    client.send(&Request {
        id: 1,
        body: hello_body(PROTOCOL_VERSION + 1, Some(&secrets.token)),
    });
    expect_error(&mut client, ErrorCode::UnsupportedVersion);

    // Requests before the handshake.
    for body in [
        get_body(value),
        RequestBody::Render {
            template: SecretText::borrowed(value),
        },
        RequestBody::Redact {
            text: SecretText::borrowed(unicode),
        },
    ] {
        let mut client = Client::connect(socket);
        client.send(&Request { id: 7, body });
        expect_error(&mut client, ErrorCode::HandshakeRequired);
    }

    // Bytes that are not a request: garbage holding a value, a valid Get followed by a value,
    // a name that is a value made invalid UTF-8, and a tag that does not exist.
    let get = frame(9, get_body("S00"));
    let mut trailing = get[4..].to_vec();
    trailing.extend_from_slice(value.as_bytes());
    let mut invalid_utf8 = frame(9, get_body(value))[4..].to_vec();
    let last = invalid_utf8.len() - 1;
    invalid_utf8[last] = 0xff;
    let mut unknown_tag = vec![0x09, 0x63];
    unknown_tag.extend_from_slice(unicode.as_bytes());
    for body in [
        format!("garbage {value} {unicode}").into_bytes(),
        trailing,
        invalid_utf8,
        unknown_tag,
    ] {
        let mut client = greeted(socket, secrets);
        client.send_raw(&raw_frame(&body));
        expect_error(&mut client, ErrorCode::BadRequest);
    }

    // A frame over the limit, its body made of values.
    let mut client = greeted(socket, secrets);
    let mut oversized = (MAX_REQUEST_FRAME + 1).to_be_bytes().to_vec();
    oversized.extend(value.repeat(64).into_bytes());
    client.send_raw(&oversized);
    expect_error(&mut client, ErrorCode::TooLarge);

    // A frame cut short by the client closing its side.
    let mut client = greeted(socket, secrets);
    let whole = frame(3, get_body(unicode));
    client.send_raw(&whole[..whole.len() - 3]);
    client.stream.shutdown(Shutdown::Write).unwrap();
    client.expect_closed();

    // A frame the client starts and never finishes: dropped at the partial-frame timeout.
    let mut client = greeted(socket, secrets);
    let whole = frame(
        3,
        RequestBody::Redact {
            text: SecretText::borrowed(value),
        },
    );
    client.send_raw(&whole[..whole.len() - 5]);
    client.expect_closed();

    // A client that leaves in the middle of a pipelined batch of values.
    let mut client = greeted(socket, secrets);
    let mut batch = Vec::new();
    for id in 0..100 {
        batch.extend(frame(
            id + 10,
            RequestBody::Render {
                template: SecretText::borrowed(value),
            },
        ));
    }
    let _ = client.stream.write_all(&batch);
    drop(client);
}

/// Starts `serve` for `fixture` at log level debug with `log_format`, the audit trail at
/// `audit` ("-" or a path) and `extra` flags.
fn start_debug(fixture: &Fixture, log_format: &str, audit: &str, extra: &[&str]) -> Sidecar {
    let mut args: Vec<String> = [
        "serve",
        "--socket",
        fixture.socket.to_str().unwrap(),
        "--bundle-file",
        fixture.bundle.to_str().unwrap(),
        "--key-file",
        fixture.key.to_str().unwrap(),
        "--log-level",
        "debug",
        "--log-format",
        log_format,
        "--audit-file",
        audit,
        "--ready-fd",
        "3",
    ]
    .map(String::from)
    .into();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    match Sidecar::spawn_with(fixture.dir.path(), &args, fixture.socket.clone(), |_| {}) {
        Ok(sidecar) => sidecar,
        Err(failed) => panic!("{failed:?}"),
    }
}

/// Runs the sidecar with `log_format` and the audit trail in `audit` ("-" or a file name in
/// the fixture), exercises it, stops it, and checks every output.
fn run_and_check(log_format: &str, audit: &str) {
    let secrets = Secrets::new();
    let fixture = secrets.fixture();
    let token_file = fixture.path("client-token");
    fs::write(&token_file, format!("{}\n", secrets.token)).unwrap();
    let audit_arg = if audit == "-" {
        "-".to_owned()
    } else {
        fixture.path(audit).display().to_string()
    };
    let sidecar = start_debug(
        &fixture,
        log_format,
        &audit_arg,
        &[
            "--client-token-file",
            token_file.to_str().unwrap(),
            "--partial-frame-timeout",
            "200ms",
            "--max-response-bytes",
            "1048640",
        ],
    );

    serve_every_request_kind(&fixture.socket, &secrets);
    refuse_every_bad_client(&fixture.socket, &secrets);

    let (status, stdout, stderr) = sidecar.stop();
    assert!(status.success(), "{stderr}");
    let audit_text = if audit == "-" {
        String::new()
    } else {
        fs::read_to_string(fixture.path(audit)).unwrap()
    };

    // The run did log at debug level and did audit, or the search below proves nothing.
    assert!(
        stderr.contains("DEBUG") || stderr.contains("\"level\":\"DEBUG\""),
        "no debug logs: {stderr}"
    );
    assert!(stderr.contains("bad token"), "no refusal logged: {stderr}");
    let trail = if audit == "-" { &stderr } else { &audit_text };
    assert!(
        trail.contains("\"action\":\"render\"") && trail.contains("\"action\":\"redact\""),
        "no audit events: {trail}"
    );
    assert!(trail.contains("<invalid>"), "no invalid name recorded");
    // With the audit trail on stderr too, whole lines are the business of the test below.
    if log_format == "json" && audit != "-" {
        for line in stderr.lines() {
            serde_json::from_str::<serde_json::Value>(line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        }
    }

    let values: Vec<String> = secrets.values().map(str::to_owned).collect();
    let mut searched: Vec<(&str, &str)> = values
        .iter()
        .map(|v| ("a secret value", v.as_str()))
        .collect();
    searched.push(("the client token", &secrets.token));
    assert_clean("stdout", &stdout, &searched);
    assert_clean("stderr", &stderr, &searched);
    assert_clean("the audit file", &audit_text, &searched);
}

#[test]
fn json_debug_logs_and_a_file_audit_trail_hold_no_secret() {
    run_and_check("json", "audit.jsonl");
}

#[test]
fn text_debug_logs_and_an_audit_trail_on_stderr_hold_no_secret() {
    run_and_check("text", "-");
}

#[test]
fn json_debug_logs_and_an_audit_trail_on_stderr_hold_no_secret() {
    run_and_check("json", "-");
}

#[test]
fn text_debug_logs_and_a_file_audit_trail_hold_no_secret() {
    run_and_check("text", "audit.jsonl");
}

#[test]
fn seal_prints_no_secret() {
    let secrets = Secrets::new();
    let fixture = Fixture::standard();
    let mut input = serde_json::json!({ "secrets": {}, "overrides": {} });
    for (name, value) in &secrets.tenant {
        input["secrets"][name] = serde_json::json!(value);
    }
    for (name, value) in &secrets.overrides {
        input["overrides"][name] = serde_json::json!({ "value": value, "version": 4 });
    }
    let input_path = fixture.path("secrets.json");
    fs::write(&input_path, input.to_string()).unwrap();
    let output = std::process::Command::new(BIN)
        .args([
            "seal",
            "--input",
            input_path.to_str().unwrap(),
            "--key-file",
            fixture.path("new.key").to_str().unwrap(),
            "--output",
            fixture.path("out.sealed").to_str().unwrap(),
            "--new-key",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let values: Vec<(&str, &str)> = secrets.values().map(|v| ("a secret value", v)).collect();
    assert_clean(
        "seal's stdout",
        &String::from_utf8_lossy(&output.stdout),
        &values,
    );
    assert_clean(
        "seal's stderr",
        &String::from_utf8_lossy(&output.stderr),
        &values,
    );
    let sealed = fs::read(fixture.path("out.sealed")).unwrap();
    let sealed = String::from_utf8_lossy(&sealed);
    assert_clean("the sealed file", &sealed, &values);
}

/// With `--audit-file -` the audit trail shares stderr with the logs: every line of it must
/// still be one whole JSON object, never two writers' bytes spliced together. Many audit
/// events (written in batches) and many log lines (a connection opened and closed over and
/// over) at the same time give a splice every chance to happen.
#[test]
fn audit_lines_on_stderr_stay_whole_beside_the_logs() {
    const ROUNDS: u32 = 40;
    const BATCH: u32 = 1_000;
    let fixture = Fixture::standard();
    let sidecar = start_debug(&fixture, "json", "-", &[]);

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let churn = std::thread::spawn({
        let stop = std::sync::Arc::clone(&stop);
        let socket = fixture.socket.clone();
        move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let mut client = Client::connect(&socket);
                client.hello(None);
            }
        }
    });
    let mut client = Client::connect(&fixture.socket);
    client.hello(None);
    let mut id = 10;
    for _ in 0..ROUNDS {
        let mut batch = Vec::new();
        for _ in 0..BATCH {
            batch.extend(frame(id, get_body("OPENAI_API_KEY")));
            id += 1;
        }
        client.send_raw(&batch);
        for _ in 0..BATCH {
            assert!(matches!(
                client.read().unwrap().body,
                ResponseBody::Secret { value: Some(_) }
            ));
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    churn.join().unwrap();
    drop(client);

    let (status, _, stderr) = sidecar.stop();
    assert!(status.success(), "{stderr}");
    let mut audited = 0;
    for line in stderr.lines() {
        let value: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a broken line on stderr ({e}): {line}"));
        if value["action"] == "get" {
            audited += 1;
        }
    }
    assert_eq!(audited, ROUNDS * BATCH, "audit events on stderr");
}
