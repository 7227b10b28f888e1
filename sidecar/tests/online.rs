//! Online mode through the real binary against a real HTTPS control plane on loopback
//! (PROTOCOL §13): the fetch, its faults and their exit codes, and audit shipping.

// Helpers outside `#[test]` functions are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod fake_control_plane;
mod support;

use std::fs;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ax_protocol::{RequestBody, ResponseBody};
use fake_control_plane::{BundleReply, FakeControlPlane};
use nix::fcntl::OFlag;
use support::*;

const EXECUTION: &str = "exec-online-1";
const TOKEN: &str = "ax-exec-token.5f2b9c_41";
const SECRETS_ONLINE: &[(&str, &str)] = &[
    ("OPENAI_API_KEY", "sk-online-9f8e7d6c5b4a3210"),
    ("DB_URL", "postgres://app:s3cr3t@db/app"),
];

/// A private directory, a control plane, and the files a launcher would write.
struct Online {
    dir: tempfile::TempDir,
    cp: FakeControlPlane,
    token_file: PathBuf,
    socket: PathBuf,
}

impl Online {
    fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("ax-sidecar-online-")
            .tempdir()
            .unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        let cp = FakeControlPlane::start(dir.path(), EXECUTION, SECRETS_ONLINE);
        let token_file = dir.path().join("token");
        fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
        let socket = dir.path().join("run").join("sidecar.sock");
        Self {
            dir,
            cp,
            token_file,
            socket,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `serve` in online mode against `url`, with `extra` flags.
    fn args_for(&self, url: &str, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = vec![
            "serve".into(),
            "--socket".into(),
            self.socket.display().to_string(),
            "--control-plane".into(),
            url.into(),
            "--execution-id".into(),
            EXECUTION.into(),
            "--token-file".into(),
            self.token_file.display().to_string(),
            "--control-plane-key".into(),
            self.cp.key_file.display().to_string(),
            "--ca-file".into(),
            self.cp.ca_file.display().to_string(),
            "--ready-fd".into(),
            "3".into(),
        ];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    }

    fn start(&self, extra: &[&str]) -> Result<Sidecar, Failed> {
        let args = self.args_for(&self.cp.url, extra);
        Sidecar::spawn_with(self.dir.path(), &args, self.socket.clone(), |_| {})
    }

    fn start_failing(&self, extra: &[&str]) -> Failed {
        self.start_failing_at(&self.cp.url.clone(), extra)
    }

    fn start_failing_at(&self, url: &str, extra: &[&str]) -> Failed {
        let args = self.args_for(url, extra);
        match Sidecar::spawn_with(self.dir.path(), &args, self.socket.clone(), |_| {}) {
            Ok(sidecar) => {
                let (_, _, stderr) = sidecar.stop();
                panic!("the sidecar started but should not have: {stderr}");
            }
            Err(failed) => failed,
        }
    }
}

/// Exit `code`, exactly one line on stderr that starts with `ax-sidecar:`, which never
/// holds the token or a value, and no socket left; returns the line.
fn assert_exit(online: &Online, failed: &Failed, code: i32) -> String {
    assert_eq!(failed.status.code(), Some(code), "{failed:?}");
    let lines: Vec<&str> = failed.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected: {:?}", failed.stderr);
    assert!(lines[0].starts_with("ax-sidecar: "), "{:?}", failed.stderr);
    assert!(
        !failed.stderr.contains(TOKEN),
        "the token leaked: {:?}",
        failed.stderr
    );
    for (_, value) in SECRETS_ONLINE {
        assert!(!failed.stderr.contains(value), "a value leaked");
    }
    assert!(fs::symlink_metadata(&online.socket).is_err(), "socket left");
    lines[0].to_owned()
}

#[test]
fn serves_secrets_fetched_from_the_control_plane() {
    let online = Online::new();
    let sidecar = online.start(&[]).unwrap();
    let mut client = sidecar.client();
    assert_eq!(
        client.get("OPENAI_API_KEY").as_deref(),
        Some("sk-online-9f8e7d6c5b4a3210")
    );
    assert_eq!(client.get("NOPE"), None);
    let fetches = online.cp.fetches();
    assert_eq!(fetches.len(), 1);
    let (authorization, body) = &fetches[0];
    assert_eq!(
        authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(body["recipient_key"].as_str().unwrap().len(), 44);
    assert_eq!(body["suite"], "x25519-hkdf-sha256-aes-256-gcm");
    assert!(body["sidecar"].as_str().unwrap().starts_with("ax-sidecar/"));
    let (status, _, stderr) = sidecar.stop();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains(TOKEN));
}

#[test]
fn every_start_uses_a_fresh_recipient_key() {
    let online = Online::new();
    for _ in 0..2 {
        let sidecar = online.start(&[]).unwrap();
        let _ = sidecar.stop();
    }
    let keys: Vec<String> = online
        .cp
        .fetches()
        .iter()
        .map(|(_, body)| body["recipient_key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys.len(), 2);
    assert_ne!(keys[0], keys[1]);
}

#[test]
fn reads_the_execution_token_from_a_descriptor() {
    let online = Online::new();
    let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
    nix::unistd::write(&write, format!("{TOKEN}\n").as_bytes()).unwrap();
    drop(write);
    let read = high_fd(read);
    let mut args = online.args_for(&online.cp.url, &[]);
    let at = args.iter().position(|a| a == "--token-file").unwrap();
    args.splice(at..at + 2, ["--token-fd".to_owned(), "4".to_owned()]);
    let raw = read.as_raw_fd();
    let sidecar = Sidecar::spawn_with(online.dir.path(), &args, online.socket.clone(), |c| {
        dup_into(c, raw, 4);
    })
    .unwrap();
    drop(read);
    assert_eq!(
        sidecar.client().get("DB_URL").as_deref(),
        Some("postgres://app:s3cr3t@db/app")
    );
    assert_eq!(
        online.cp.fetches()[0].0.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    let (status, _, _) = sidecar.stop();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn a_refused_token_exits_77_without_retrying() {
    let online = Online::new();
    online.cp.script_bundle([BundleReply::Status(401, None)]);
    let failed = online.start_failing(&[]);
    let line = assert_exit(&online, &failed, 77);
    assert!(line.contains("refused") && line.contains("401"), "{line}");
    assert!(
        line.contains("test fault 401"),
        "the error body is quoted: {line}"
    );
    assert_eq!(online.cp.fetches().len(), 1, "401 is never retried");
}

#[test]
fn gone_executions_and_unexpected_statuses_exit_77() {
    for status in [403, 404, 409, 410, 302] {
        let online = Online::new();
        online.cp.script_bundle([BundleReply::Status(status, None)]);
        let failed = online.start_failing(&[]);
        let line = assert_exit(&online, &failed, 77);
        assert!(line.contains(&status.to_string()), "{line}");
    }
}

#[test]
fn a_malformed_request_exits_70() {
    let online = Online::new();
    online.cp.script_bundle([BundleReply::Status(400, None)]);
    let failed = online.start_failing(&[]);
    let line = assert_exit(&online, &failed, 70);
    assert!(line.contains("400"), "{line}");
}

#[test]
fn retries_503_twice_then_serves() {
    let online = Online::new();
    online.cp.script_bundle([
        BundleReply::Status(503, None),
        BundleReply::Status(503, None),
    ]);
    let sidecar = online.start(&[]).unwrap();
    assert_eq!(
        sidecar.client().get("OPENAI_API_KEY").as_deref(),
        Some("sk-online-9f8e7d6c5b4a3210")
    );
    assert_eq!(online.cp.fetches().len(), 3);
    let (status, _, _) = sidecar.stop();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn honours_retry_after_on_429() {
    let online = Online::new();
    online.cp.script_bundle([BundleReply::Status(429, Some(1))]);
    let started = Instant::now();
    let sidecar = online.start(&[]).unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was not waited"
    );
    assert_eq!(online.cp.fetches().len(), 2);
    drop(sidecar);
}

#[test]
fn an_unreachable_control_plane_exits_69_within_the_deadline() {
    let online = Online::new();
    // A port nobody listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let failed = online.start_failing_at(
        &format!("https://127.0.0.1:{port}"),
        &["--fetch-deadline", "1"],
    );
    let elapsed = started.elapsed();
    let line = assert_exit(&online, &failed, 69);
    assert!(line.contains("could not be reached"), "{line}");
    assert!(line.contains("cannot connect"), "{line}");
    assert!(elapsed < Duration::from_secs(4), "took {elapsed:?}");
}

#[test]
fn a_control_plane_failing_past_the_deadline_exits_69() {
    let online = Online::new();
    online
        .cp
        .script_bundle((0..100).map(|_| BundleReply::Status(503, None)));
    let failed = online.start_failing(&["--fetch-deadline", "1"]);
    let line = assert_exit(&online, &failed, 69);
    assert!(line.contains("503"), "{line}");
    assert!(online.cp.fetches().len() >= 2, "it retried");
}

/// Runs a start that must fail, and returns how long the process lived with the failure.
fn lifetime_of_failing_start(online: &Online, extra: &[&str]) -> (Duration, Failed) {
    let started = Instant::now();
    let failed = online.start_failing(extra);
    (started.elapsed(), failed)
}

#[test]
fn a_control_plane_that_accepts_and_never_answers_costs_one_attempt_then_is_retried() {
    let online = Online::new();
    online.cp.script_bundle([BundleReply::Hang]);
    let started = Instant::now();
    let sidecar = online.start(&["--fetch-deadline", "10"]).unwrap();
    let elapsed = started.elapsed();
    // One attempt timeout (2 s) and a wait of at most 100 ms, far from the 10 s deadline.
    assert!(
        elapsed < Duration::from_secs(7),
        "READY came after {elapsed:?}"
    );
    assert_eq!(
        online.cp.fetches().len(),
        2,
        "the hung attempt, then one more"
    );
    assert_eq!(
        sidecar.client().get("DB_URL").as_deref(),
        Some("postgres://app:s3cr3t@db/app")
    );
    let (status, _, _) = sidecar.stop();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn keeps_retrying_until_the_deadline_has_really_passed() {
    let online = Online::new();
    // Retry-After: 1 makes the schedule exact: attempts at 0, 1 and 2 s; a 1 s wait from there
    // would end past 2.5 s, which must not be a reason to give up at 2 s.
    online
        .cp
        .script_bundle((0..100).map(|_| BundleReply::Status(503, Some(1))));
    let deadline = Duration::from_millis(2_500);
    let (lifetime, failed) = lifetime_of_failing_start(&online, &["--fetch-deadline", "2500ms"]);
    let line = assert_exit(&online, &failed, 69);
    assert!(line.contains("503"), "{line}");
    assert!(
        lifetime >= deadline - Duration::from_millis(20),
        "gave up after {lifetime:?}, before the {deadline:?} deadline: {line}"
    );
    assert!(
        lifetime < deadline + Duration::from_secs(3),
        "gave up after {lifetime:?}, long past the {deadline:?} deadline"
    );
    assert!(
        online.cp.fetches().len() >= 3,
        "{:?}",
        online.cp.fetches().len()
    );
}

#[test]
fn a_retry_after_past_the_deadline_gets_one_last_attempt_and_a_true_message() {
    let online = Online::new();
    online
        .cp
        .script_bundle((0..10).map(|_| BundleReply::Status(429, Some(30))));
    let deadline = Duration::from_secs(2);
    let (lifetime, failed) = lifetime_of_failing_start(&online, &["--fetch-deadline", "2"]);
    let line = assert_exit(&online, &failed, 69);
    assert!(
        line.contains("HTTP 429, Retry-After 30s is past the deadline"),
        "{line}"
    );
    assert!(
        lifetime >= deadline - Duration::from_millis(20),
        "gave up after {lifetime:?}, before the {deadline:?} deadline: {line}"
    );
    assert!(lifetime < deadline + Duration::from_secs(3), "{lifetime:?}");
    assert_eq!(
        online.cp.fetches().len(),
        2,
        "one at once, one last just before the deadline"
    );
}

#[test]
fn a_200_cut_short_exits_76_after_exactly_one_fetch() {
    let online = Online::new();
    // A real control plane answers a second fetch with the spent token 401.
    online
        .cp
        .script_bundle([BundleReply::Truncated, BundleReply::Status(401, None)]);
    let failed = online.start_failing(&[]);
    let line = assert_exit(&online, &failed, 76);
    assert!(line.contains("cut short"), "{line}");
    assert!(line.contains("token was spent"), "{line}");
    assert_eq!(
        online.cp.fetches().len(),
        1,
        "a spent token is never presented again"
    );
}

#[test]
fn a_certificate_from_an_unknown_ca_exits_78_after_one_attempt() {
    let online = Online::new();
    let stranger = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "not the control plane's CA");
    let other_ca = online.path("other-ca.pem");
    fs::write(&other_ca, params.self_signed(&stranger).unwrap().pem()).unwrap();
    let mut args = online.args_for(&online.cp.url, &["--fetch-deadline", "5"]);
    let at = args.iter().position(|a| a == "--ca-file").unwrap();
    args[at + 1] = other_ca.display().to_string();
    let started = Instant::now();
    let failed = Sidecar::spawn_with(online.dir.path(), &args, online.socket.clone(), |_| {})
        .err()
        .unwrap();
    let elapsed = started.elapsed();
    let line = assert_exit(&online, &failed, 78);
    assert!(line.contains("certificate"), "{line}");
    assert!(line.contains("UnknownIssuer"), "{line}");
    assert_eq!(
        online.cp.connections(),
        1,
        "a certificate failure is not retried"
    );
    assert!(online.cp.fetches().is_empty());
    assert!(elapsed < Duration::from_secs(4), "took {elapsed:?}");
}

#[test]
fn a_tampered_bundle_exits_65() {
    let online = Online::new();
    online.cp.script_bundle([BundleReply::Tampered]);
    let line = assert_exit(&online, &online.start_failing(&[]), 65);
    assert!(line.contains("signature"), "{line}");
    assert_eq!(
        online.cp.fetches().len(),
        1,
        "a refused bundle is never retried"
    );
}

#[test]
fn a_bundle_for_another_execution_exits_65() {
    let online = Online::new();
    online.cp.script_bundle([BundleReply::WrongExecution]);
    let line = assert_exit(&online, &online.start_failing(&[]), 65);
    assert!(line.contains("another execution"), "{line}");
}

#[test]
fn a_signing_key_that_is_not_the_control_planes_exits_65() {
    let online = Online::new();
    let other = online.path("other.key");
    fs::write(&other, format!("{}\n", "A".repeat(43) + "=")).unwrap();
    let mut args = online.args_for(&online.cp.url, &[]);
    let at = args
        .iter()
        .position(|a| a == "--control-plane-key")
        .unwrap();
    args[at + 1] = other.display().to_string();
    let failed = Sidecar::spawn_with(online.dir.path(), &args, online.socket.clone(), |_| {})
        .err()
        .unwrap();
    let line = assert_exit(&online, &failed, 65);
    assert!(line.contains("signature"), "{line}");
}

#[test]
fn a_key_file_of_several_keys_verifies_a_bundle_signed_by_any_of_them() {
    let online = Online::new();
    let signer = fs::read_to_string(&online.cp.key_file).unwrap();
    let other = format!("{}\n", "A".repeat(43) + "=");
    fs::write(
        &online.cp.key_file,
        format!("# previous\n{other}\n# current\r\n{signer}"),
    )
    .unwrap();
    let sidecar = online.start(&[]).unwrap();
    assert_eq!(
        sidecar.client().get("OPENAI_API_KEY").as_deref(),
        Some("sk-online-9f8e7d6c5b4a3210")
    );
    let (status, _, stderr) = sidecar.stop();
    assert_eq!(status.code(), Some(0), "{stderr}");
}

#[test]
fn a_malformed_key_file_exits_65() {
    let online = Online::new();
    fs::write(&online.cp.key_file, "not a key\n").unwrap();
    let line = assert_exit(&online, &online.start_failing(&[]), 65);
    assert!(line.contains("base64"), "{line}");
    assert!(online.cp.fetches().is_empty());
}

#[test]
fn refuses_bad_flag_combinations_with_64() {
    let online = Online::new();
    let fixture = Fixture::standard();
    let base = online.args_for(&online.cp.url, &[]);
    let cases: Vec<Vec<String>> = vec![
        // Both sources.
        [
            base.clone(),
            vec!["--bundle-file".into(), fixture.bundle.display().to_string()],
        ]
        .concat(),
        // No execution id.
        base.iter()
            .filter(|a| *a != "--execution-id" && *a != EXECUTION)
            .cloned()
            .collect(),
        // Both token flags.
        [base.clone(), vec!["--token-fd".into(), "4".into()]].concat(),
        // No token at all.
        base.iter()
            .filter(|a| *a != "--token-file" && **a != online.token_file.display().to_string())
            .cloned()
            .collect(),
        // A dot segment for an execution id: it would resolve away in the URL path.
        base.iter()
            .map(|a| {
                if a == EXECUTION {
                    "..".to_owned()
                } else {
                    a.clone()
                }
            })
            .collect(),
        // Online flags without --control-plane.
        vec![
            "serve".into(),
            "--socket".into(),
            online.socket.display().to_string(),
            "--bundle-file".into(),
            fixture.bundle.display().to_string(),
            "--key-file".into(),
            fixture.key.display().to_string(),
            "--execution-id".into(),
            EXECUTION.into(),
        ],
    ];
    for args in cases {
        let out = Command::new(BIN)
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(64), "{args:?}: {out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).lines().count(),
            1,
            "{out:?}"
        );
    }
    let failed = online.start_failing_at(&online.cp.url.replace("https", "http"), &[]);
    let line = assert_exit(&online, &failed, 64);
    assert!(line.contains("https"), "{line}");
}

/// Every event of every acknowledged audit POST, by seq.
fn shipped_events(cp: &FakeControlPlane) -> Vec<serde_json::Value> {
    let mut events = std::collections::BTreeMap::new();
    for post in cp.audits().iter().filter(|p| p.status == 204) {
        let body: serde_json::Value = serde_json::from_str(&post.body).unwrap();
        assert_eq!(body["execution_id"], EXECUTION);
        assert!(body["sidecar"].as_str().unwrap().starts_with("ax-sidecar/"));
        for event in body["events"].as_array().unwrap() {
            events.insert(event["seq"].as_u64().unwrap(), event.clone());
        }
    }
    events.into_values().collect()
}

#[test]
fn audit_batches_arrive_with_names_and_never_values() {
    let online = Online::new();
    let audit_file = online.path("audit.jsonl");
    let sidecar = online
        .start(&[
            "--audit-batch",
            "2",
            "--audit-file",
            audit_file.to_str().unwrap(),
        ])
        .unwrap();
    let mut client = sidecar.client();
    client.get("OPENAI_API_KEY");
    client.get("MISSING_ONE");
    let redacted = client.request(RequestBody::Redact {
        text: ax_protocol::SecretText::borrowed("leak: sk-online-9f8e7d6c5b4a3210"),
    });
    assert!(matches!(redacted.body, ResponseBody::Redacted { .. }));
    let (status, _, stderr) = sidecar.stop();
    assert_eq!(status.code(), Some(0), "{stderr}");

    let posts = online.cp.audits();
    assert!(posts.len() >= 2, "a batch of 2 goes out at once: {posts:?}");
    for post in &posts {
        assert_eq!(
            post.authorization.as_deref(),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        for (_, value) in SECRETS_ONLINE {
            assert!(!post.body.contains(value), "a value was shipped");
        }
        let body: serde_json::Value = serde_json::from_str(&post.body).unwrap();
        assert_eq!(body["dropped"], 0);
    }
    let events = shipped_events(&online.cp);
    let summary: Vec<(u64, &str, Vec<&str>, bool)> = events
        .iter()
        .map(|e| {
            (
                e["seq"].as_u64().unwrap(),
                e["action"].as_str().unwrap(),
                e["names"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|n| n.as_str().unwrap())
                    .collect(),
                e["found"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (1, "get", vec!["OPENAI_API_KEY"], true),
            (2, "get", vec!["MISSING_ONE"], false),
            (3, "redact", vec!["OPENAI_API_KEY"], true),
        ]
    );
    assert!(events[0]["peer"]["pid"].as_u64().unwrap() > 0);
    assert!(events[0]["time"].as_str().unwrap().ends_with('Z'));
    assert!(
        events[0].get("execution_id").is_none(),
        "the batch carries it once"
    );
    // The local trail gets the same events.
    let local = fs::read_to_string(&audit_file).unwrap();
    assert_eq!(local.lines().count(), 3);
    assert!(!local.contains("sk-online"));
}

#[test]
fn audit_batches_are_retried_until_acknowledged() {
    let online = Online::new();
    online.cp.script_audit([503, 503]);
    let sidecar = online.start(&[]).unwrap();
    sidecar.client().get("DB_URL");
    let (status, _, stderr) = sidecar.stop();
    assert_eq!(status.code(), Some(0), "{stderr}");
    let posts = online.cp.audits();
    assert_eq!(
        posts.iter().map(|p| p.status).collect::<Vec<_>>(),
        [503, 503, 204],
        "{stderr}"
    );
    assert_eq!(posts[0].body, posts[2].body, "the same batch is sent again");
    let events = shipped_events(&online.cp);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["names"][0], "DB_URL");
}

#[test]
fn a_refused_audit_trail_stops_shipping_but_serving_goes_on() {
    let online = Online::new();
    online.cp.script_audit([401]);
    let sidecar = online.start(&[]).unwrap();
    let mut client = sidecar.client();
    client.get("DB_URL");
    // Wait (without sleeping blindly) until the refusal has been logged.
    let started = Instant::now();
    while !sidecar.stderr().contains("refused the audit trail") {
        assert!(
            started.elapsed() < PATIENCE,
            "no log line: {}",
            sidecar.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        client.get("DB_URL").as_deref(),
        Some("postgres://app:s3cr3t@db/app")
    );
    let (status, _, stderr) = sidecar.stop();
    assert_eq!(
        status.code(),
        Some(75),
        "the refused events are lost: {stderr}"
    );
    assert_eq!(
        online.cp.audits().len(),
        1,
        "nothing is shipped after a 401"
    );
}

/// Duplicates `fd` to a number far above what a child is given, so the dup2 into small
/// numbers between fork and exec cannot clobber it.
fn high_fd(fd: OwnedFd) -> OwnedFd {
    let raw = nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(200)).unwrap();
    // SAFETY: a fresh descriptor from F_DUPFD_CLOEXEC, owned by nothing else.
    #[allow(unsafe_code)]
    unsafe {
        std::os::fd::FromRawFd::from_raw_fd(raw)
    }
}

/// Makes `from` the child's descriptor `to`.
fn dup_into(command: &mut Command, from: i32, to: i32) {
    // SAFETY: between fork and exec the closure only calls dup2, which is async-signal-safe.
    #[allow(unsafe_code)]
    unsafe {
        command.pre_exec(move || {
            if nix::libc::dup2(from, to) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// The count in the sidecar's last line about lost audit events.
fn lost_count(stderr: &str) -> u64 {
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.contains("audit_events_lost="))
        .unwrap_or_else(|| panic!("no line with the count of lost audit events: {stderr}"));
    line.split("audit_events_lost=")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {line}"))
}

#[test]
fn audit_failing_with_500_until_the_flush_timeout_exits_75_with_the_count() {
    let online = Online::new();
    online.cp.script_audit((0..1000).map(|_| 500));
    let sidecar = online.start(&["--audit-flush-timeout", "300ms"]).unwrap();
    let mut client = sidecar.client();
    client.get("DB_URL");
    client.get("OPENAI_API_KEY");
    drop(client);
    let (status, _, stderr) = sidecar.stop();
    assert_eq!(status.code(), Some(75), "{stderr}");
    assert_eq!(lost_count(&stderr), 2, "{stderr}");
}

#[test]
fn shutdown_gives_up_on_audit_after_the_flush_timeout() {
    let online = Online::new();
    online.cp.script_audit((0..1000).map(|_| 503));
    let sidecar = online.start(&["--audit-flush-timeout", "300ms"]).unwrap();
    sidecar.client().get("DB_URL");
    let started = Instant::now();
    let (status, _, stderr) = sidecar.stop();
    assert_eq!(status.code(), Some(75), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    assert!(stderr.contains("flush timeout passed"), "{stderr}");
    assert!(!online.cp.audits().is_empty(), "it tried");
}

#[test]
fn shutdown_abandons_an_audit_post_in_flight_at_the_flush_timeout() {
    let online = Online::new();
    online.cp.script_audit([fake_control_plane::NEVER_ANSWER]);
    let sidecar = online
        .start(&["--audit-batch", "1", "--audit-flush-timeout", "300ms"])
        .unwrap();
    sidecar.client().get("DB_URL");
    // Wait (without sleeping blindly) until the POST that will never be answered is in flight.
    let started = Instant::now();
    while online.cp.audits().is_empty() {
        assert!(started.elapsed() < PATIENCE, "no audit POST");
        std::thread::sleep(Duration::from_millis(20));
    }
    let stopping = Instant::now();
    let (status, _, stderr) = sidecar.stop();
    assert_eq!(status.code(), Some(75), "{stderr}");
    assert!(
        stopping.elapsed() < Duration::from_secs(3),
        "the POST in flight held the exit for {:?}, past the 300 ms flush timeout",
        stopping.elapsed()
    );
    assert!(stderr.contains("flush timeout passed"), "{stderr}");
}

#[test]
fn counts_what_it_could_not_hold_and_reports_it_as_dropped() {
    let online = Online::new();
    online.cp.script_audit([503, 503, 503]);
    let sidecar = online
        .start(&["--audit-queue", "16", "--audit-batch", "4"])
        .unwrap();
    let mut client = sidecar.client();
    for _ in 0..40 {
        client.get("DB_URL");
    }
    let (status, _, stderr) = sidecar.stop();
    assert_eq!(status.code(), Some(75), "events were dropped: {stderr}");
    let acknowledged: Vec<serde_json::Value> = online
        .cp
        .audits()
        .iter()
        .filter(|p| p.status == 204)
        .map(|p| serde_json::from_str(&p.body).unwrap())
        .collect();
    let dropped: u64 = acknowledged
        .iter()
        .map(|b| b["dropped"].as_u64().unwrap())
        .sum();
    let shipped = shipped_events(&online.cp).len() as u64;
    assert_eq!(
        shipped + dropped,
        40,
        "every event is shipped or counted: {stderr}"
    );
    assert!(dropped > 0, "a 16-event buffer cannot hold 40 events");
    assert!(stderr.contains("dropping events"), "{stderr}");
}

#[test]
fn sigterm_during_the_fetch_stops_cleanly_without_serving() {
    let online = Online::new();
    // A listener that never answers: the sidecar's TLS handshake waits on it.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://127.0.0.1:{}", silent.local_addr().unwrap().port());
    let args = online.args_for(&url, &[]);
    let ReadyCommand {
        mut command,
        read,
        write,
        stderr,
        ..
    } = command_with_ready_pipe(online.dir.path(), &args);
    let mut child = command.spawn().unwrap();
    drop(write);
    // Once it has connected, it is inside the fetch.
    let (_connection, _) = silent.accept().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    let mut ready = Vec::new();
    std::io::Read::read_to_end(&mut fs::File::from(read), &mut ready).unwrap();
    assert!(ready.is_empty(), "it never became ready");
    let failed = Failed {
        status,
        stderr: fs::read_to_string(stderr).unwrap(),
    };
    let line = assert_exit(&online, &failed, 0);
    assert!(line.contains("stopped by SIGTERM"), "{line}");
}

/// How soon a sidecar must notice that the control plane ended its execution, when the control
/// plane answers at once: one heartbeat (1 s, PROTOCOL §13.2) plus generous slack for a loaded
/// machine. The old sidecar never notices at all.
const REVOCATION_BOUND: Duration = Duration::from_secs(4);

#[test]
fn a_410_on_the_audit_endpoint_stops_serving_values_and_exits_77() {
    let online = Online::new();
    let sidecar = online.start(&[]).unwrap();
    let mut client = sidecar.client();
    assert_eq!(
        client.get("DB_URL").as_deref(),
        Some("postgres://app:s3cr3t@db/app")
    );
    let ended = Instant::now();
    online.cp.end_execution();
    // The idle connection is told the sidecar is shutting down, and closed.
    client.expect_shutdown_notice();
    let noticed = ended.elapsed();
    assert!(
        noticed < REVOCATION_BOUND,
        "served for {noticed:?} after the end"
    );
    assert!(
        std::os::unix::net::UnixStream::connect(&online.socket).is_err(),
        "the socket still takes connections"
    );
    let (status, stderr) = sidecar.wait();
    assert_eq!(status.code(), Some(77), "{stderr}");
    assert!(stderr.contains("ended the execution"), "{stderr}");
    // The read before the end went out in the batch the 410 answered, which the control plane
    // stores: nothing was lost.
    let posts = online.cp.audits();
    assert!(
        posts
            .iter()
            .any(|p| p.status == 410 && p.body.contains("\"DB_URL\"")),
        "{posts:?}"
    );
}

#[test]
fn a_sidecar_that_serves_no_reads_learns_of_the_end_from_its_heartbeat() {
    let online = Online::new();
    let sidecar = online.start(&[]).unwrap();
    let mut client = sidecar.client();
    let ended = Instant::now();
    online.cp.end_execution();
    client.expect_shutdown_notice();
    assert!(
        ended.elapsed() < REVOCATION_BOUND,
        "served for {:?} after the end",
        ended.elapsed()
    );
    let (status, stderr) = sidecar.wait();
    assert_eq!(status.code(), Some(77), "{stderr}");
    assert!(online.cp.audits().iter().all(|p| p.status == 410));
}

#[test]
fn a_batch_the_control_plane_refused_is_counted_in_the_next_ones_dropped() {
    let online = Online::new();
    online.cp.script_audit([422]);
    let sidecar = online.start(&["--audit-batch", "1"]).unwrap();
    let mut client = sidecar.client();
    client.get("DB_URL");
    // Wait (without sleeping blindly) until the refused batch has been answered.
    let started = Instant::now();
    while online.cp.audits().is_empty() {
        assert!(started.elapsed() < PATIENCE, "no audit POST");
        std::thread::sleep(Duration::from_millis(20));
    }
    client.get("OPENAI_API_KEY");
    drop(client);
    let (status, _, stderr) = sidecar.stop();
    assert_eq!(status.code(), Some(75), "{stderr}");
    assert_eq!(lost_count(&stderr), 1, "{stderr}");
    let dropped: u64 = online
        .cp
        .audits()
        .iter()
        .filter(|p| p.status == 204)
        .map(|p| {
            serde_json::from_str::<serde_json::Value>(&p.body).unwrap()["dropped"]
                .as_u64()
                .unwrap()
        })
        .sum();
    assert_eq!(dropped, 1, "the refused event is reported as dropped");
}

#[test]
fn list_and_refused_events_are_shipped_with_their_fields() {
    let online = Online::new();
    let sidecar = online.start(&[]).unwrap();
    let mut client = sidecar.client();
    assert!(matches!(
        client.request(RequestBody::List).body,
        ResponseBody::List { .. }
    ));
    let mut refused = support::Client::connect(&sidecar.socket);
    let hello = ax_protocol::Request {
        id: 1,
        body: RequestBody::Hello {
            version: ax_protocol::limits::PROTOCOL_VERSION + 1,
            client: std::borrow::Cow::Borrowed("test/0.1"),
            token: None,
        },
    };
    refused.send_raw(
        &ax_protocol::frame::to_frame(&hello, ax_protocol::limits::MAX_REQUEST_FRAME).unwrap(),
    );
    refused.expect_error(1, ax_protocol::ErrorCode::UnsupportedVersion);
    drop((client, refused));
    let (status, _, stderr) = sidecar.stop();
    assert_eq!(status.code(), Some(0), "{stderr}");

    let events = shipped_events(&online.cp);
    assert_eq!(events.len(), 2, "{events:#?}");
    assert_eq!(events[0]["action"], "list");
    assert_eq!(events[0]["names"], serde_json::json!([]));
    assert_eq!(events[0]["found"], true);
    assert_eq!(events[1]["action"], "refused");
    assert_eq!(events[1]["reason"], "version");
    assert_eq!(events[1]["count"], 1);
    assert_eq!(events[1]["found"], false);
}
