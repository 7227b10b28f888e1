//! `ax-run` end to end against the real sidecar and a reference control plane on loopback:
//! exit codes, redacted output, signals, and that the socket directory always goes away.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use support::{AX_PROBE, Env, Live, assert_no_leak, fingerprint, run, seen};

const API_KEY: &str = "sk-launcher-0123456789abcdef";
const UNICODE: &str = "grüß dich, geheimnis 🌍 42";
const QUOTED: &str = "pa\"ss/wo rd&x=1+2";

fn env() -> Env {
    let env = Env::start();
    env.tenant(
        "acme",
        &[
            ("OPENAI_API_KEY", API_KEY),
            ("UNICODE", UNICODE),
            ("QUOTED", QUOTED),
            ("EMPTY", ""),
        ],
    );
    env
}

fn scan(env: &Env) {
    let mut texts = seen();
    texts.extend(env.responses());
    assert_no_leak(&texts, &[API_KEY, UNICODE, QUOTED]);
}

#[test]
fn runs_the_command_with_its_secrets_and_propagates_its_exit_code() {
    let env = env();
    let r = env.probe(
        "acme",
        &[],
        &[
            "get",
            "OPENAI_API_KEY",
            "get",
            "EMPTY",
            "get",
            "NOPE",
            "exit",
            "3",
        ],
    );
    assert_eq!(r.code, Some(3), "{r:?}");
    assert_eq!(r.get("OPENAI_API_KEY")["fingerprint"], fingerprint(API_KEY));
    assert_eq!(r.get("EMPTY")["found"], true);
    assert_eq!(r.get("EMPTY")["len"], 0);
    assert_eq!(r.get("NOPE")["found"], false);
    assert!(!r.stderr.contains("ax-run:"), "{}", r.stderr);
    let ok = env.probe("acme", &[], &["get", "OPENAI_API_KEY"]);
    assert_eq!(ok.code, Some(0));
    env.assert_no_socket_dirs();
    scan(&env);
}

#[test]
fn printed_values_are_masked_even_when_split_across_writes() {
    let env = env();
    let r = env.probe(
        "acme",
        &[],
        &[
            "print",
            "OPENAI_API_KEY",
            "split",
            "UNICODE",
            "split",
            "QUOTED",
            "eprint",
            "OPENAI_API_KEY",
        ],
    );
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.contains("OPENAI_API_KEY=***\n"), "{}", r.stdout);
    assert!(r.stdout.contains("UNICODE=***\n"), "{}", r.stdout);
    assert!(r.stdout.contains("QUOTED=***\n"), "{}", r.stdout);
    assert!(r.stderr.contains("OPENAI_API_KEY=***"), "{}", r.stderr);
    scan(&env);
}

#[test]
fn a_command_killed_by_a_signal_exits_128_plus_the_signal() {
    let env = env();
    let r = env.probe("acme", &[], &["get", "OPENAI_API_KEY", "raise", "SIGUSR1"]);
    assert_eq!(r.code, Some(128 + Signal::SIGUSR1 as i32), "{r:?}");
    env.assert_no_socket_dirs();
    scan(&env);
}

#[test]
fn a_missing_command_exits_127_and_cleans_up() {
    let env = env();
    let r = run(env.ax_run("acme", &[], &["/nonexistent/node"]));
    assert_eq!(r.code, Some(127), "{r:?}");
    assert!(
        r.stderr.contains("ax-run: cannot run /nonexistent/node"),
        "{}",
        r.stderr
    );
    env.assert_no_socket_dirs();
}

#[test]
fn control_plane_refusals_of_the_execution_are_ax_runs_own() {
    let env = env();
    let r = env.probe("ghost", &[], &["get", "X"]);
    assert_eq!(r.code, Some(77), "{r:?}");
    assert!(
        r.stderr.contains("ax-run: cannot create the execution"),
        "{}",
        r.stderr
    );
    // The control plane names the kind of thing missing, never the name sent.
    assert!(r.stderr.contains("no such tenant"), "{}", r.stderr);
    assert!(!r.stderr.contains("ghost"), "{}", r.stderr);
    let r = env.probe("acme", &["--config", "Zq7misplaced"], &["get", "X"]);
    assert_eq!(r.code, Some(77), "{r:?}");
    assert!(r.stderr.contains("no such config"), "{}", r.stderr);
    assert!(!r.stderr.contains("Zq7misplaced"), "{}", r.stderr);
    // Unreachable: a port nothing listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let r = run(env.ax_run(
        "acme",
        &["--control-plane", &format!("https://127.0.0.1:{port}")],
        &[AX_PROBE, "get", "X"],
    ));
    assert_eq!(r.code, Some(69), "{r:?}");
    assert!(
        r.stderr.contains("ax-run: cannot reach the control plane"),
        "{}",
        r.stderr
    );
    env.assert_no_socket_dirs();
}

fn socket_of(live: &mut Live) -> PathBuf {
    let line = live.line();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    PathBuf::from(v["socket"].as_str().unwrap())
}

fn signal_test(signal: Signal) {
    let env = env();
    let mut live = Live::spawn(env.ax_run("acme", &[], &[AX_PROBE, "socket", "pause"]));
    let socket = socket_of(&mut live);
    let dir = socket.parent().unwrap().to_owned();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&socket), 0o600);
    assert_eq!(mode(&dir.join("client-token")), 0o600);
    assert!(dir.starts_with(env.runtime_dir()));
    kill(Pid::from_raw(live.child.id() as i32), signal).unwrap();
    let (code, stderr) = live.finish();
    assert_eq!(code, Some(128 + signal as i32), "{stderr}");
    assert!(!dir.exists(), "the socket directory is left behind");
    env.assert_no_socket_dirs();
}

#[test]
fn sigterm_is_forwarded_to_the_command_and_everything_is_removed() {
    signal_test(Signal::SIGTERM);
}

#[test]
fn sigint_is_forwarded_too() {
    signal_test(Signal::SIGINT);
}

#[test]
fn the_sidecar_dying_mid_run_stops_the_command_and_is_reported() {
    let env = env();
    let mut live = Live::spawn(env.ax_run("acme", &[], &[AX_PROBE, "socket", "pause"]));
    let socket = socket_of(&mut live);
    let dir = socket.parent().unwrap().to_owned();
    // The sidecar is ax-run's child: find it by its socket argument.
    let sidecar = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()))
        .find(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| {
                    let c = String::from_utf8_lossy(&c).into_owned();
                    c.contains("serve") && c.contains(socket.to_str().unwrap())
                })
                .unwrap_or(false)
        })
        .expect("the sidecar process");
    kill(Pid::from_raw(sidecar), Signal::SIGKILL).unwrap();
    let (code, stderr) = live.finish();
    assert_eq!(code, Some(70), "{stderr}");
    assert!(
        stderr.contains("ax-run: the sidecar was killed by signal 9 while the command was running"),
        "{stderr}"
    );
    assert!(!dir.exists());
}
