//! Every injected control-plane fault, through `ax-run` (which reports the sidecar's exit code
//! and its reason) and through the sidecar on its own: the right exit code and message, no
//! socket left behind, no value anywhere.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::process::Command;

use serde_json::{Value, json};
use support::{Env, assert_no_leak, fingerprint, run, seen, sidecar_bin};

const VALUE: &str = "fault-test-value-9f8e7d6c";

fn env() -> Env {
    let env = Env::start();
    env.tenant("acme", &[("API_KEY", VALUE)]);
    env
}

/// `ax-run` on a tenant with `faults`; returns (code, stderr, the execution's status).
fn with_faults(env: &Env, faults: Value, flags: &[&str]) -> (Option<i32>, String, String) {
    env.admin.set_faults("acme", &faults).unwrap();
    let r = env.probe("acme", flags, &["get", "API_KEY"]);
    env.assert_no_socket_dirs();
    (r.code, r.stderr, r.stdout)
}

fn scan(env: &Env) {
    let mut texts = seen();
    texts.extend(env.responses());
    assert_no_leak(&texts, &[VALUE]);
}

fn assert_refused(code: Option<i32>, stderr: &str, expected: i32) {
    assert_eq!(code, Some(expected), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "ax-run: the sidecar exited with {expected} before it was ready: "
        )),
        "{stderr}"
    );
}

#[test]
fn refusals_by_the_control_plane_exit_77() {
    let env = env();
    for status in [401, 403, 404, 410] {
        let (code, stderr, _) = with_faults(&env, json!({"status": status}), &[]);
        assert_refused(code, &stderr, 77);
        assert!(stderr.contains(&status.to_string()), "{status}: {stderr}");
    }
    scan(&env);
}

#[test]
fn tampered_expired_and_foreign_bundles_exit_65() {
    let env = env();
    for fault in ["tamper", "expired", "wrong_execution"] {
        let (code, stderr, stdout) = with_faults(&env, json!({ fault: true }), &[]);
        assert_refused(code, &stderr, 65);
        assert!(stdout.is_empty(), "{fault}: the command ran: {stdout}");
    }
    scan(&env);
}

#[test]
fn transient_failures_are_retried_within_the_deadline() {
    let env = env();
    let (code, stderr, stdout) = with_faults(&env, json!({"fail_times": 2}), &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains(&fingerprint(VALUE)), "{stdout}");
    let (code, stderr, _) = with_faults(&env, json!({"delay_ms": 200}), &[]);
    assert_eq!(code, Some(0), "{stderr}");
    scan(&env);
}

#[test]
fn an_overloaded_or_failing_control_plane_exits_69_at_the_deadline() {
    let env = env();
    for status in [429, 503] {
        let (code, stderr, _) =
            with_faults(&env, json!({"status": status}), &["--fetch-deadline", "1"]);
        assert_refused(code, &stderr, 69);
    }
    let (code, stderr, _) =
        with_faults(&env, json!({"delay_ms": 5000}), &["--fetch-deadline", "1"]);
    assert_refused(code, &stderr, 69);
    scan(&env);
}

/// The sidecar alone, started with `--token-file`; (exit code, stderr).
fn sidecar_alone(
    env: &Env,
    url: &str,
    execution_id: &str,
    token: &str,
    key: &std::path::Path,
) -> (Option<i32>, String) {
    let dir = env.dir.path().join(format!("alone-{execution_id}"));
    ax_integration::util::create_private_dir(&dir).unwrap();
    let token_file = dir.join("token");
    ax_integration::util::write_private_file(&token_file, token.as_bytes()).unwrap();
    let mut cmd = Command::new(sidecar_bin());
    cmd.args(["serve", "--socket"])
        .arg(dir.join("run").join("s.sock"))
        .args([
            "--control-plane",
            url,
            "--execution-id",
            execution_id,
            "--token-file",
        ])
        .arg(&token_file)
        .arg("--control-plane-key")
        .arg(key)
        .arg("--ca-file")
        .arg(&env.files.ca_file)
        .args(["--fetch-deadline", "1", "--audit-file", "/dev/null"]);
    let r = run(cmd);
    assert!(
        !dir.join("run").join("s.sock").exists(),
        "a socket was left behind"
    );
    (r.code, r.stderr)
}

#[test]
fn the_sidecar_alone_reports_each_failure_in_one_line() {
    let env = env();
    let key = &env.files.public_key_file;
    // No one listens on this port.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let e = env
        .admin
        .create_execution("acme", None, None, None)
        .unwrap();
    let (code, stderr) = sidecar_alone(
        &env,
        &format!("https://127.0.0.1:{port}"),
        &e.execution_id,
        &e.token,
        key,
    );
    assert_eq!(code, Some(69), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");

    // Signed by someone else: the pinned key does not verify it.
    let other_key = env.dir.path().join("other.pub");
    std::fs::write(&other_key, "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n").unwrap();
    let (code, stderr) = sidecar_alone(&env, &env.plane.url, &e.execution_id, &e.token, &other_key);
    assert_eq!(code, Some(65), "{stderr}");

    // A bundle fetch spends the token: the second start is refused.
    let e = env
        .admin
        .create_execution("acme", None, None, None)
        .unwrap();
    let status = env.admin.execution(&e.execution_id).unwrap();
    assert_eq!(status["fetched"], false);
    // The first sidecar fetches and serves; a second one with the same token is refused.
    let dir = env.dir.path().join("twice");
    ax_integration::util::create_private_dir(&dir).unwrap();
    let token_file = dir.join("token");
    ax_integration::util::write_private_file(&token_file, e.token.as_bytes()).unwrap();
    let base = |socket: &str| {
        let mut cmd = Command::new(sidecar_bin());
        cmd.args(["serve", "--socket"])
            .arg(dir.join(socket))
            .args([
                "--control-plane",
                &env.plane.url,
                "--execution-id",
                &e.execution_id,
                "--token-file",
            ])
            .arg(&token_file)
            .arg("--control-plane-key")
            .arg(key)
            .arg("--ca-file")
            .arg(&env.files.ca_file)
            .args(["--audit-file", "/dev/null", "--ready-fd", "1"]);
        cmd
    };
    let mut live = support::Live::spawn(base("a/s.sock"));
    assert_eq!(live.line(), "READY\n");
    assert_eq!(
        env.admin.execution(&e.execution_id).unwrap()["fetched"],
        true
    );
    let r = run(base("b/s.sock"));
    assert_eq!(r.code, Some(77), "{}", r.stderr);
    assert!(r.stderr.contains("401"), "{}", r.stderr);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(live.child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let (code, _) = live.finish();
    assert_eq!(code, Some(0));
    scan(&env);
}
