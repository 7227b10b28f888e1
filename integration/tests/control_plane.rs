//! The reference control plane on its own, over real HTTPS on loopback: management semantics,
//! the one-time bundle fetch (opened here with ax-protocol, as a sidecar would), every fault,
//! audit ingest and query, and that no response body ever holds a value.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use ax_integration::https::HttpResponse;
use ax_protocol::bundle::{BundleError, open};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::agreement::{EphemeralPrivateKey, X25519};
use ring::rand::SystemRandom;
use serde_json::{Value, json};
use support::{Env, assert_no_leak};

const VALUES: &[(&str, &str)] = &[
    ("OPENAI_API_KEY", "sk-cp-test-0123456789abcdef"),
    ("DB_URL", "postgres://app:s3cr3t pässword@db:5432/app"),
];

/// Fetches and opens the bundle of `execution` with `token`; the status or the opened result.
fn fetch(env: &Env, id: &str, token: &str) -> (HttpResponse, Option<Result<Value, BundleError>>) {
    let rng = SystemRandom::new();
    let key = EphemeralPrivateKey::generate(&X25519, &rng).unwrap();
    let public = key.compute_public_key().unwrap();
    let body = json!({
        "recipient_key": STANDARD.encode(public.as_ref()),
        "suite": "x25519-hkdf-sha256-aes-256-gcm",
        "sidecar": "test/0",
    });
    let response = env
        .admin
        .https()
        .json(
            "POST",
            &format!("/v1/executions/{id}/bundle"),
            Some(token),
            &body,
        )
        .unwrap();
    if response.status != 200 {
        return (response, None);
    }
    let signer = STANDARD.decode(&env.plane.public_key_b64).unwrap();
    let opened = open(
        &response.body,
        key,
        &signer,
        id,
        ax_integration::util::now_secs(),
    )
    .map(|b| {
        let list = |l: &[ax_protocol::bundle::BundleSecret<'_>]| -> Value {
            l.iter()
                .map(|s| (s.name.to_string(), json!([s.value.expose(), s.version])))
                .collect::<serde_json::Map<_, _>>()
                .into()
        };
        json!({"tenant": b.tenant, "config": b.config, "environment": b.environment,
               "secrets": list(&b.secrets), "overrides": list(&b.overrides)})
    });
    (response, Some(opened))
}

#[test]
fn a_bundle_is_a_snapshot_sealed_once_per_token() {
    let env = Env::start();
    env.tenant("acme", VALUES);
    env.admin.create_config("acme", "nightly").unwrap();
    env.admin
        .put_override(
            "acme",
            "nightly",
            "DB_URL",
            "postgres://override-db-url-1",
            false,
        )
        .unwrap();
    env.admin.create_environment("acme", "staging").unwrap();
    let exec = env
        .admin
        .create_execution("acme", Some("nightly"), Some("staging"), None)
        .unwrap();
    // Changes before the fetch are in the snapshot; it is taken at fetch time.
    env.admin
        .put_secret("acme", "LATE", "late-value-123456", false)
        .unwrap();
    let (response, opened) = fetch(&env, &exec.execution_id, &exec.token);
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("application/vnd.ax-secrets.bundle.v1")
    );
    let bundle = opened.unwrap().unwrap();
    assert_eq!(bundle["tenant"], "acme");
    assert_eq!(bundle["config"], "nightly");
    assert_eq!(bundle["environment"], "staging");
    assert_eq!(bundle["secrets"]["OPENAI_API_KEY"][0], VALUES[0].1);
    assert_eq!(bundle["secrets"]["LATE"][0], "late-value-123456");
    assert_eq!(
        bundle["overrides"]["DB_URL"][0],
        "postgres://override-db-url-1"
    );
    // One fetch per token.
    let (again, _) = fetch(&env, &exec.execution_id, &exec.token);
    assert_eq!(again.status, 401);
    assert!(again.error_message().contains("already used"));
    // Another execution's token does not open this one.
    let other = env
        .admin
        .create_execution("acme", None, None, None)
        .unwrap();
    let (wrong, _) = fetch(&env, &exec.execution_id, &other.token);
    assert_eq!(wrong.status, 401);
    let (unknown, _) = fetch(&env, "exec-nope", &other.token);
    assert_eq!(unknown.status, 404);
    assert_no_leak(&env.responses(), &[VALUES[0].1, VALUES[1].1]);
}

#[test]
fn replace_needs_confirmation_and_bumps_the_version() {
    let env = Env::start();
    env.tenant("acme", VALUES);
    let refused = env
        .admin
        .put_secret("acme", "DB_URL", "postgres://new-value-2", false)
        .unwrap_err();
    assert_eq!(refused.status(), Some(409));
    assert!(refused.to_string().contains("replace"));
    let replaced = env
        .admin
        .put_secret("acme", "DB_URL", "postgres://new-value-2", true)
        .unwrap();
    assert_eq!(replaced["version"], 2);
    let list = env.admin.list_secrets("acme").unwrap();
    let names: Vec<&str> = list["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["DB_URL", "OPENAI_API_KEY"]);
    for entry in list["secrets"].as_array().unwrap() {
        let keys: Vec<&String> = entry.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "name",
                "version",
                "created_at",
                "updated_at",
                "description",
                "metadata",
                "rotation_days",
                "rotation_due_at",
                "overdue"
            ]
        );
    }
    env.admin.delete_secret("acme", "DB_URL").unwrap();
    assert_eq!(
        env.admin
            .delete_secret("acme", "DB_URL")
            .unwrap_err()
            .status(),
        Some(404)
    );
    env.admin.create_config("acme", "c1").unwrap();
    env.admin
        .put_override("acme", "c1", "OPENAI_API_KEY", "sk-override-value-9", false)
        .unwrap();
    let configs = env.admin.list_configs("acme").unwrap();
    assert_eq!(
        configs["configs"][0]["overrides"][0]["name"],
        "OPENAI_API_KEY"
    );
    assert!(configs["configs"][0]["overrides"][0].get("value").is_none());
    assert_no_leak(
        &env.responses(),
        &[
            VALUES[0].1,
            VALUES[1].1,
            "postgres://new-value-2",
            "sk-override-value-9",
        ],
    );
}

#[test]
fn management_needs_the_admin_token_and_checks_names() {
    let env = Env::start();
    let https = env.admin.https();
    let anonymous = https.request("GET", "/v1/tenants", None, None).unwrap();
    assert_eq!(anonymous.status, 401);
    let wrong = https
        .request("GET", "/v1/tenants", Some("axadm_wrong"), None)
        .unwrap();
    assert_eq!(wrong.status, 401);
    assert_eq!(
        https
            .request("GET", "/v1/health", None, None)
            .unwrap()
            .status,
        200
    );
    env.tenant("acme", &[]);
    let bad_name = env
        .admin
        .put_secret("acme", "9LIVES", "x", false)
        .unwrap_err();
    assert_eq!(bad_name.status(), Some(400));
    let bad_tenant = env.admin.create_tenant("a/b").unwrap_err();
    assert!(matches!(bad_tenant.status(), Some(400 | 404)));
    assert_eq!(
        env.admin.create_tenant("acme").unwrap_err().status(),
        Some(409)
    );
    assert_eq!(
        env.admin
            .create_execution("acme", Some("nope"), None, None)
            .unwrap_err()
            .status(),
        Some(404)
    );
    assert_eq!(
        env.admin
            .create_execution("ghost", None, None, None)
            .unwrap_err()
            .status(),
        Some(404)
    );
}

#[test]
fn injected_faults_do_what_they_say() {
    let env = Env::start();
    env.tenant("acme", VALUES);
    let exec = |faults: Value| {
        env.admin
            .create_execution("acme", None, None, Some(&faults))
            .unwrap()
    };
    // N x 5xx, then success; the attempts are counted.
    let e = exec(json!({"fail_times": 2, "retry_after": 1}));
    for _ in 0..2 {
        let (r, _) = fetch(&env, &e.execution_id, &e.token);
        assert_eq!(r.status, 503);
        assert_eq!(r.header("retry-after"), Some("1"));
    }
    let (r, opened) = fetch(&env, &e.execution_id, &e.token);
    assert_eq!(r.status, 200);
    assert!(opened.unwrap().is_ok());
    assert_eq!(
        env.admin.execution(&e.execution_id).unwrap()["fetch_attempts"],
        3
    );
    // A fixed status.
    let e = exec(json!({"status": 403}));
    assert_eq!(fetch(&env, &e.execution_id, &e.token).0.status, 403);
    // Tampered, expired, wrong execution: sealed, and refused by the opener.
    let e = exec(json!({"tamper": true}));
    assert_eq!(
        fetch(&env, &e.execution_id, &e.token)
            .1
            .unwrap()
            .unwrap_err(),
        BundleError::BadSignature
    );
    let e = exec(json!({"expired": true}));
    assert!(matches!(
        fetch(&env, &e.execution_id, &e.token)
            .1
            .unwrap()
            .unwrap_err(),
        BundleError::Expired { .. }
    ));
    let e = exec(json!({"wrong_execution": true}));
    assert_eq!(
        fetch(&env, &e.execution_id, &e.token)
            .1
            .unwrap()
            .unwrap_err(),
        BundleError::WrongExecution
    );
    // A delay holds the answer back.
    let e = exec(json!({"delay_ms": 300}));
    let started = std::time::Instant::now();
    assert_eq!(fetch(&env, &e.execution_id, &e.token).0.status, 200);
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    // Tenant-level faults reach new executions.
    env.admin
        .set_faults("acme", &json!({"status": 401}))
        .unwrap();
    let e = env
        .admin
        .create_execution("acme", None, None, None)
        .unwrap();
    assert_eq!(fetch(&env, &e.execution_id, &e.token).0.status, 401);
    assert_eq!(
        env.admin
            .set_faults("acme", &json!({"nonsense": 1}))
            .unwrap_err()
            .status(),
        Some(400)
    );
    assert_no_leak(&env.responses(), &[VALUES[0].1, VALUES[1].1]);
}

#[test]
fn audit_batches_are_deduplicated_by_seq_and_queried_by_name() {
    let env = Env::start();
    env.tenant("acme", VALUES);
    let e = env
        .admin
        .create_execution("acme", None, None, Some(&json!({"audit_fail_times": 1})))
        .unwrap();
    let event = |seq: u64, name: &str, found: bool| {
        json!({"seq": seq, "time": "2026-11-23T01:02:03.456Z", "action": "get",
               "names": [name], "found": found, "peer": {"pid": 1, "uid": 0, "gid": 0}})
    };
    let batch = |events: Vec<Value>| {
        json!({"execution_id": e.execution_id, "sidecar": "test/0", "dropped": 0,
               "events": events})
    };
    let post = |body: &Value, token: &str| {
        env.admin
            .https()
            .json(
                "POST",
                &format!("/v1/executions/{}/audit", e.execution_id),
                Some(token),
                body,
            )
            .unwrap()
    };
    let first = batch(vec![event(1, "DB_URL", true), event(2, "MISSING", false)]);
    assert_eq!(post(&first, &e.token).status, 503); // injected
    assert_eq!(post(&first, &e.token).status, 200);
    // A retry of the same batch plus one new event.
    let retried = batch(vec![
        event(1, "DB_URL", true),
        event(2, "MISSING", false),
        event(3, "DB_URL", true),
    ]);
    let answer = post(&retried, &e.token).json();
    assert_eq!(answer["accepted"], 1);
    assert_eq!(answer["duplicates"], 2);
    assert_eq!(post(&retried, "axe_wrong").status, 401);
    let db = env.admin.audit("acme", Some("DB_URL"), None).unwrap();
    assert_eq!(db.len(), 2);
    assert_eq!(db[0]["execution_id"], e.execution_id.as_str());
    assert_eq!(env.admin.audit("acme", None, None).unwrap().len(), 3);
    // An empty batch (the sidecar's heartbeat) is accepted.
    assert_eq!(post(&batch(vec![]), &e.token).status, 200);
    // After the execution ends, a batch is still stored (no read is lost) and answered 410,
    // which tells the sidecar to stop serving.
    env.admin.finish_execution(&e.execution_id).unwrap();
    let late = post(&batch(vec![event(4, "X", true)]), &e.token);
    assert_eq!(late.status, 410);
    assert_eq!(late.json()["error"], "execution_ended");
    assert_eq!(env.admin.audit("acme", None, None).unwrap().len(), 4);
    assert_eq!(post(&batch(vec![]), &e.token).status, 410);
    assert_eq!(post(&batch(vec![]), "axe_wrong").status, 401);
}

#[test]
fn an_audit_batch_outside_the_contract_is_refused_whole_and_unknown_fields_are_not_stored() {
    let env = Env::start();
    env.tenant("acme", VALUES);
    let e = env
        .admin
        .create_execution("acme", None, None, None)
        .unwrap();
    let event = |seq: u64| {
        json!({"seq": seq, "time": "2026-11-23T01:02:03.456Z", "action": "get",
               "names": ["DB_URL"], "found": true, "peer": {"pid": 1, "uid": 0, "gid": 0}})
    };
    let post = |events: Vec<Value>| {
        let body = json!({"execution_id": e.execution_id, "sidecar": "test/0", "dropped": 0,
                          "events": events});
        let path = format!("/v1/executions/{}/audit", e.execution_id);
        env.admin
            .https()
            .json("POST", &path, Some(&e.token), &body)
            .unwrap()
    };
    let mut no_peer = event(2);
    no_peer.as_object_mut().unwrap().remove("peer");
    // A good event beside a bad one: nothing of the batch is stored.
    for bad in [no_peer, event(0), json!({"seq": 3})] {
        let answer = post(vec![event(1), bad]);
        assert_eq!(answer.status, 400, "{answer:?}");
        assert_eq!(answer.json()["error"], "bad_request");
    }
    assert!(env.admin.audit("acme", None, None).unwrap().is_empty());
    let mut extended = event(1);
    extended["client"] = json!("python/3.12");
    extended["action"] = json!("prefetch");
    assert_eq!(post(vec![extended]).status, 200);
    let stored = env.admin.audit("acme", None, None).unwrap();
    assert_eq!(stored.len(), 1);
    assert!(stored[0].get("client").is_none(), "{}", stored[0]);
    assert_eq!(stored[0]["action"], "unknown");
    assert_eq!(stored[0]["names"], json!(["DB_URL"]));
}

#[test]
fn a_fetch_with_a_field_outside_the_contract_is_malformed_and_spends_no_token() {
    let env = Env::start();
    env.tenant("acme", VALUES);
    let e = env
        .admin
        .create_execution("acme", None, None, None)
        .unwrap();
    let body = json!({"recipient_key": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                      "suite": "x25519-hkdf-sha256-aes-256-gcm", "sidecar": "test/0",
                      "recipient": "someone else"});
    let path = format!("/v1/executions/{}/bundle", e.execution_id);
    let answer = env
        .admin
        .https()
        .json("POST", &path, Some(&e.token), &body)
        .unwrap();
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["error"], "bad_request");
    let (ok, opened) = fetch(&env, &e.execution_id, &e.token);
    assert_eq!(ok.status, 200);
    assert!(opened.unwrap().is_ok());
}

#[test]
fn the_binary_writes_its_state_dir_and_prints_its_url() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ax-control-plane"))
        .arg("--state-dir")
        .arg(&state)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state), 0o700);
    for f in ["ca.pem", "control-plane.pub", "admin-token", "url"] {
        assert_eq!(mode(&state.join(f)), 0o600, "{f}");
    }
    let admin = ax_integration::admin::Admin::from_state_dir(&state).unwrap();
    admin.create_tenant("t1").unwrap();
    let key = std::fs::read_to_string(state.join("control-plane.pub")).unwrap();
    assert_eq!(STANDARD.decode(key.trim()).unwrap().len(), 32);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(child.wait().unwrap().success());
}
