//! What an execution can see: only its own tenant's snapshot, taken when its sidecar fetched
//! the bundle; only through its own socket and client token, from an allowed uid. And what the
//! control plane learns: the names read, never a value.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::PathBuf;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use support::{AX_PROBE, Env, Live, assert_no_leak, fingerprint, seen};

const ALPHA: &str = "alpha-only-value-31415926";
const BETA: &str = "beta-only-value-27182818";
const SHARED_ALPHA: &str = "alpha-shared-name-value-1";
const SHARED_BETA: &str = "beta-shared-name-value-2";
const V1: &str = "rotating-value-version-one";
const V2: &str = "rotating-value-version-two";
const DOOMED: &str = "doomed-value-to-be-deleted";

fn scan(env: &Env) {
    let mut texts = seen();
    texts.extend(env.responses());
    assert_no_leak(
        &texts,
        &[ALPHA, BETA, SHARED_ALPHA, SHARED_BETA, V1, V2, DOOMED],
    );
}

fn json_line(live: &mut Live) -> Value {
    serde_json::from_str(&live.line()).unwrap()
}

#[test]
fn two_tenants_side_by_side_cannot_read_each_other() {
    let env = Env::start();
    env.tenant("alpha", &[("ALPHA_ONLY", ALPHA), ("SHARED", SHARED_ALPHA)]);
    env.tenant("beta", &[("BETA_ONLY", BETA), ("SHARED", SHARED_BETA)]);

    let mut beta = Live::spawn(env.ax_run("beta", &[], &[AX_PROBE, "socket", "pause"]));
    let beta_socket = PathBuf::from(json_line(&mut beta)["socket"].as_str().unwrap().to_owned());
    let r = env.probe(
        "alpha",
        &[],
        &[
            "get",
            "ALPHA_ONLY",
            "get",
            "BETA_ONLY",
            "get",
            "SHARED",
            "get-at",
            beta_socket.to_str().unwrap(),
            "BETA_ONLY",
        ],
    );
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(r.get("ALPHA_ONLY")["fingerprint"], fingerprint(ALPHA));
    assert_eq!(r.get("BETA_ONLY")["found"], false);
    assert_eq!(r.get("SHARED")["fingerprint"], fingerprint(SHARED_ALPHA));
    // Alpha's client token does not open beta's socket.
    let at = r.lines().into_iter().find(|l| l["op"] == "get-at").unwrap();
    assert!(
        at["error"].as_str().unwrap().contains("Unauthorized"),
        "{at}"
    );
    kill(Pid::from_raw(beta.child.id() as i32), Signal::SIGTERM).unwrap();
    let (code, stderr) = beta.finish();
    assert_eq!(code, Some(143), "{stderr}");

    // An execution token is bound to its execution, so to its tenant.
    let a = env
        .admin
        .create_execution("alpha", None, None, None)
        .unwrap();
    let b = env
        .admin
        .create_execution("beta", None, None, None)
        .unwrap();
    let body = serde_json::json!({"recipient_key": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                                  "suite": "x25519-hkdf-sha256-aes-256-gcm"});
    let stolen = env
        .admin
        .https()
        .json(
            "POST",
            &format!("/v1/executions/{}/bundle", b.execution_id),
            Some(a.token.as_str()),
            &body,
        )
        .unwrap();
    assert_eq!(stolen.status, 401);
    env.assert_no_socket_dirs();
    scan(&env);
}

#[test]
fn a_peer_of_another_uid_is_refused() {
    let env = Env::start();
    env.tenant("alpha", &[("ALPHA_ONLY", ALPHA)]);
    // Allow only a uid that is not ours: our own connection is then refused by SO_PEERCRED.
    let r = env.probe(
        "alpha",
        &["--sidecar-arg=--allow-uid=4242424"],
        &["get", "ALPHA_ONLY"],
    );
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.lines()[0].get("error").is_some(), "{r:?}");
    assert!(!r.stdout.contains(&fingerprint(ALPHA)));
    scan(&env);
}

#[test]
fn replace_and_delete_take_effect_at_the_next_execution() {
    let env = Env::start();
    env.tenant("acme", &[("ROTATING", V1), ("DOOMED", DOOMED)]);
    let mut cmd = env.ax_run(
        "acme",
        &[],
        &[
            AX_PROBE, "get", "ROTATING", "wait", "get", "ROTATING", "get", "DOOMED",
        ],
    );
    cmd.stdin(std::process::Stdio::piped());
    let mut live = Live::spawn(cmd);
    let before = json_line(&mut live);
    assert_eq!(before["fingerprint"], fingerprint(V1));
    // Changed while the execution runs.
    env.admin.put_secret("acme", "ROTATING", V2, true).unwrap();
    env.admin.delete_secret("acme", "DOOMED").unwrap();
    {
        use std::io::Write;
        live.child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    }
    let during = json_line(&mut live);
    let doomed = json_line(&mut live);
    let (code, stderr) = live.finish();
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        during["fingerprint"],
        fingerprint(V1),
        "the snapshot changed"
    );
    assert_eq!(doomed["found"], true, "the snapshot lost a deleted secret");
    let next = env.probe("acme", &[], &["get", "ROTATING", "get", "DOOMED"]);
    assert_eq!(next.get("ROTATING")["fingerprint"], fingerprint(V2));
    assert_eq!(next.get("DOOMED")["found"], false);
    // A config override wins, and node code cannot tell it from the tenant value.
    env.admin.create_config("acme", "nightly").unwrap();
    env.admin
        .put_override("acme", "nightly", "ROTATING", V1, false)
        .unwrap();
    let r = env.probe("acme", &["--config", "nightly"], &["get", "ROTATING"]);
    assert_eq!(r.get("ROTATING")["fingerprint"], fingerprint(V1));
    scan(&env);
}

#[test]
fn audit_events_arrive_with_names_and_never_values() {
    let env = Env::start();
    env.tenant("acme", &[("ROTATING", V1), ("DOOMED", DOOMED)]);
    // The first audit post fails: the sidecar retries, the control plane de-duplicates.
    env.admin
        .set_faults("acme", &serde_json::json!({"audit_fail_times": 1}))
        .unwrap();
    let r = env.probe(
        "acme",
        &[],
        &[
            "get", "ROTATING", "get", "MISSING", "get", "ROTATING", "print", "DOOMED",
        ],
    );
    assert_eq!(r.code, Some(0), "{r:?}");
    let events = env.admin.audit("acme", None, None).unwrap();
    let gets: Vec<(String, bool)> = events
        .iter()
        .filter(|e| e["action"] == "get")
        .map(|e| {
            (
                e["names"][0].as_str().unwrap().to_owned(),
                e["found"] == true,
            )
        })
        .collect();
    assert_eq!(
        gets,
        [
            ("ROTATING".to_owned(), true),
            ("MISSING".to_owned(), false),
            ("ROTATING".to_owned(), true),
            ("DOOMED".to_owned(), true),
        ]
    );
    let mut seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    let n = seqs.len() as u64;
    seqs.dedup();
    assert_eq!(seqs, (1..=n).collect::<Vec<_>>(), "gaps or duplicates");
    for e in events.iter().filter(|e| e["action"] == "get") {
        assert!(e["peer"]["pid"].as_u64().unwrap() > 0);
        assert!(e["time"].as_str().unwrap().ends_with('Z'));
    }
    // The printed value was masked, and the masking is audited by name.
    assert!(
        events
            .iter()
            .any(|e| e["action"] == "redact_stream" && e["names"][0] == "DOOMED"),
        "{events:?}"
    );
    assert_eq!(
        env.admin
            .audit("acme", Some("MISSING"), None)
            .unwrap()
            .len(),
        1
    );
    let text = Value::from(events).to_string();
    assert_no_leak(&[text], &[V1, DOOMED]);
    scan(&env);
}
