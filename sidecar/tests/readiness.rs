//! Readiness and health without inherited descriptors: `serve --ready-file` (written
//! atomically once serving, removed at shutdown) and `ax-sidecar probe` (Hello and Ping; exit 0
//! on Pong, 69 with one line saying why otherwise), against the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::fs;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use support::{BIN, Fixture, Sidecar};

fn probe(socket: &Path, extra: &[&str]) -> Output {
    probe_as(socket, extra, &[])
}

/// `ax-sidecar probe`, run through `setpriv` with `as_user` (its flags) when given.
fn probe_as(socket: &Path, extra: &[&str], as_user: &[&str]) -> Output {
    let mut command = if as_user.is_empty() {
        Command::new(BIN)
    } else {
        let mut c = Command::new("setpriv");
        c.args(as_user).arg(BIN);
        c
    };
    command
        .arg("probe")
        .arg("--socket")
        .arg(socket)
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts exit 69 and exactly one stderr line that contains `needle`; returns the line.
fn assert_not_ready(output: &Output, needle: &str) -> String {
    let stderr = stderr_of(output);
    assert_eq!(output.status.code(), Some(69), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("ax-sidecar probe: "), "{stderr}");
    assert!(stderr.contains(needle), "{stderr}");
    stderr
}

#[test]
fn the_ready_file_holds_ready_once_serving_and_is_removed_at_shutdown() {
    let fixture = Fixture::standard();
    let ready = fixture.path("ready");
    let ready_arg = ready.display().to_string();
    // The file is renamed into place before the READY line on fd 3, so it is there by now.
    let sidecar = Sidecar::start(&fixture, &["--ready-file", &ready_arg]);
    assert_eq!(fs::read(&ready).unwrap(), b"READY\n");
    let leftovers: Vec<_> = fs::read_dir(fixture.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let (status, _, stderr) = sidecar.stop();
    assert!(status.success(), "{stderr}");
    assert!(!ready.exists(), "the ready file outlived the sidecar");
}

#[test]
fn a_ready_file_whose_directory_is_missing_is_refused_at_start_with_exit_73() {
    let fixture = Fixture::standard();
    let ready = fixture.path("no-such-dir").join("ready");
    let failed = Sidecar::try_start(&fixture, &["--ready-file", &ready.display().to_string()])
        .err()
        .expect("refused");
    assert_eq!(failed.status.code(), Some(73), "{}", failed.stderr);
    assert_eq!(failed.stderr.lines().count(), 1, "{}", failed.stderr);
    assert!(failed.stderr.contains("ready file"), "{}", failed.stderr);
    assert!(!fixture.socket.exists());
}

#[test]
fn a_ready_file_left_by_an_earlier_run_is_replaced() {
    let fixture = Fixture::standard();
    let ready = fixture.path("ready");
    fs::write(&ready, "stale and longer than the line\n").unwrap();
    let sidecar = Sidecar::start(&fixture, &["--ready-file", &ready.display().to_string()]);
    assert_eq!(fs::read(&ready).unwrap(), b"READY\n");
    drop(sidecar);
}

#[test]
fn probe_exits_0_and_prints_nothing_against_a_live_sidecar() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let output = probe(&sidecar.socket, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert!(output.stdout.is_empty() && output.stderr.is_empty());
}

#[test]
fn probe_with_the_right_token_file_exits_0() {
    let fixture = Fixture::standard();
    let token = fixture.path("client-token");
    fs::write(&token, "tok-probe-0001\n").unwrap();
    let token_arg = token.display().to_string();
    let sidecar = Sidecar::start(&fixture, &["--client-token-file", &token_arg]);
    let output = probe(&sidecar.socket, &["--token-file", &token_arg]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
}

#[test]
fn probe_with_a_wrong_or_missing_token_exits_69_and_says_token_not_uid() {
    let fixture = Fixture::standard();
    let token = fixture.path("client-token");
    fs::write(&token, "tok-probe-0001\n").unwrap();
    let wrong = fixture.path("wrong-token");
    fs::write(&wrong, "tok-probe-0002\n").unwrap();
    let sidecar = Sidecar::start(
        &fixture,
        &["--client-token-file", &token.display().to_string()],
    );
    for extra in [vec!["--token-file", wrong.to_str().unwrap()], Vec::new()] {
        let line = assert_not_ready(&probe(&sidecar.socket, &extra), "token");
        assert!(!line.contains("uid"), "{line}");
        assert!(!line.contains("tok-probe"), "a token was printed: {line}");
    }
}

#[test]
fn probe_exits_69_when_no_sidecar_listens() {
    let fixture = Fixture::standard();
    let line = assert_not_ready(&probe(&fixture.socket, &[]), "cannot connect");
    assert!(
        line.contains(&fixture.socket.display().to_string()),
        "{line}"
    );
}

#[test]
fn probe_exits_69_within_its_timeout_against_a_socket_that_never_answers() {
    let fixture = Fixture::standard();
    let path = fixture.path("silent.sock");
    // Bound and listening, never accepted: connect succeeds, Hello is never answered.
    let _listener = UnixListener::bind(&path).unwrap();
    let started = std::time::Instant::now();
    assert_not_ready(
        &probe(&path, &["--timeout", "200ms"]),
        "no Pong within 200ms",
    );
    assert!(started.elapsed() < support::PATIENCE);
}

#[test]
fn probe_exits_69_for_a_socket_path_over_107_bytes() {
    let long = format!("/tmp/{}", "p".repeat(120));
    assert_not_ready(&probe(Path::new(&long), &[]), "at most 107");
}

#[test]
fn probe_refused_for_its_uid_exits_69_and_says_uid_not_token() {
    support::peer::require_root();
    let outer = tempfile::Builder::new()
        .prefix("ax-probe-")
        .tempdir()
        .unwrap();
    fs::set_permissions(
        outer.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o711),
    )
    .unwrap();
    let mut fixture = Fixture::standard();
    fixture.socket = outer.path().join("run").join("s.sock");
    let sidecar = Sidecar::start(&fixture, &["--socket-group", "4711"]);
    // In the group by a supplementary group only: it reaches the socket and is refused.
    let as_user = ["--reuid", "4721", "--regid", "4722", "--groups", "4711"];
    let line = assert_not_ready(&probe_as(&sidecar.socket, &[], &as_user), "uid 4721");
    assert!(!line.contains("token"), "{line}");
    // And a member of the group passes.
    let member = ["--reuid", "4721", "--regid", "4711", "--clear-groups"];
    let output = probe_as(&sidecar.socket, &[], &member);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
}
