//! The end of an execution and lost audit, end to end: the reference control plane, `ax-run`
//! and the real sidecar. Once the control plane ends an execution its sidecar stops serving
//! within the bound of PROTOCOL §13.2, with the reads before the end in the audit; and a run
//! whose audit could not be shipped does not end as a clean success.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;
use support::{AX_PROBE, Env, Live, PATIENCE};

const VALUE: &str = "revocation-test-value-4d3c2b1a";

/// One heartbeat (1 s) and one answer from a control plane on loopback, with generous slack
/// for a loaded machine; the old sidecar never stops at all.
const REVOCATION_BOUND: Duration = Duration::from_secs(5);

/// The events of the tenant's executions, once at least one has arrived.
fn first_events(env: &Env) -> Vec<serde_json::Value> {
    let started = Instant::now();
    loop {
        let events = env.admin.audit("acme", None, None).unwrap();
        if !events.is_empty() {
            return events;
        }
        assert!(started.elapsed() < PATIENCE, "no audit event arrived");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_finished_execution_stops_its_sidecar_within_the_bound_and_keeps_the_reads_before() {
    let env = Env::start();
    env.tenant("acme", &[("API_KEY", VALUE)]);
    // The node reads once, then once more for every line on its stdin.
    let mut ops = vec![AX_PROBE, "get", "API_KEY", "say", "read"];
    for _ in 0..500 {
        ops.extend(["wait", "get", "API_KEY"]);
    }
    let mut command = env.ax_run("acme", &[], &ops);
    command.stdin(Stdio::piped());
    let mut live = Live::spawn(command);
    let mut stdin = live.child.stdin.take().unwrap();
    assert!(live.line().contains("\"found\":true"), "the first read");
    assert_eq!(live.line().trim(), "read");
    let events = first_events(&env);
    let execution_id = events[0]["execution_id"].as_str().unwrap().to_owned();

    let finished = Instant::now();
    env.admin.finish_execution(&execution_id).unwrap();
    // Read again and again until a read is refused; each is a fresh request.
    let mut served_after = 0;
    loop {
        writeln!(stdin).unwrap();
        let line = live.line();
        if !line.contains("\"found\":true") {
            assert!(
                line.contains("error") || line.is_empty(),
                "neither served nor refused: {line:?}"
            );
            break;
        }
        served_after += 1;
        assert!(
            finished.elapsed() < REVOCATION_BOUND,
            "still serving {:?} after the execution was finished ({served_after} reads)",
            finished.elapsed()
        );
        // Not synchronisation: a pace for the reads while waiting for the refusal.
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(stdin);
    let (code, stderr) = live.finish();
    assert_eq!(code, Some(77), "{stderr}");
    assert!(
        stderr.contains("ax-run: the control plane ended the execution"),
        "{stderr}"
    );
    // Every read is in the control plane's audit: the one before the end, and those served
    // before the sidecar learned of it (their batch is stored though answered 410).
    let audit = env.admin.audit("acme", None, Some(&execution_id)).unwrap();
    let reads = audit
        .iter()
        .filter(|e| e["action"] == "get" && e["names"] == json!(["API_KEY"]))
        .count();
    assert_eq!(reads, 1 + served_after, "{audit:?}");
    env.assert_no_socket_dirs();
    assert!(!stderr.contains(VALUE));
}

#[test]
fn a_run_whose_audit_cannot_be_shipped_exits_75_and_says_so() {
    let env = Env::start();
    env.tenant("acme", &[("API_KEY", VALUE)]);
    env.admin
        .set_faults("acme", &json!({"audit_status": 500}))
        .unwrap();
    let run = env.probe("acme", &[], &["get", "API_KEY"]);
    assert!(run.get("API_KEY")["found"] == true, "{run:?}");
    assert_eq!(run.code, Some(75), "{run:?}");
    assert!(
        run.stderr
            .contains("ax-run: the command exited with 0 but audit events of this run were lost"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("audit_events_lost="), "{}", run.stderr);
    assert!(
        !run.stderr.contains("audit_events_lost=0"),
        "{}",
        run.stderr
    );
    env.assert_no_socket_dirs();
}
