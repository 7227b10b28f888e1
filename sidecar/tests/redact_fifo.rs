//! `serve --redact-fifo PATH`, against the real binary: a FIFO in the socket directory (0620 of
//! the socket group, 0600 without one) whose input reaches the sidecar's stdout masked, writer
//! after writer, with one `redact_stream` audit event per session; refused paths exit 73.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::process::Command;

use support::{Fixture, SECRETS, Sidecar};

fn value(name: &str) -> &'static str {
    SECRETS.iter().find(|(n, _)| *n == name).unwrap().1
}

/// A fixture whose socket directory lies under a directory others may traverse (0711).
fn shared_fixture() -> (Fixture, tempfile::TempDir) {
    let outer = tempfile::Builder::new()
        .prefix("ax-fifo-")
        .tempdir()
        .unwrap();
    fs::set_permissions(outer.path(), fs::Permissions::from_mode(0o711)).unwrap();
    let mut fixture = Fixture::standard();
    fixture.socket = outer.path().join("run").join("sidecar.sock");
    (fixture, outer)
}

/// Runs `script` under `sh` as uid 4752, gid 4711 (the socket group), to completion.
fn write_as_member(script: &str, fifo: &std::path::Path) {
    let status = Command::new("setpriv")
        .args([
            "--reuid",
            "4752",
            "--regid",
            "4711",
            "--clear-groups",
            "sh",
            "-c",
        ])
        .arg(script)
        .arg("sh")
        .arg(fifo)
        .status()
        .unwrap();
    assert!(status.success(), "{script}");
}

/// Waits until the audit trail holds `count` `redact_stream` events: each is written when a
/// session has ended (its last writer closed and the reader saw end of file).
fn wait_for_sessions(fixture: &Fixture, count: usize) {
    let started = std::time::Instant::now();
    while sessions(fixture).len() < count {
        assert!(
            started.elapsed() < support::PATIENCE,
            "session {count} did not end"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

fn sessions(fixture: &Fixture) -> Vec<serde_json::Value> {
    fixture
        .audit()
        .into_iter()
        .filter(|e| e["action"] == "redact_stream")
        .collect()
}

#[test]
fn what_group_members_write_to_the_redact_fifo_reaches_stdout_masked_writer_after_writer() {
    support::peer::require_root();
    let (fixture, _outer) = shared_fixture();
    let fifo = fixture.socket.with_file_name("output.fifo");
    let sidecar = Sidecar::start(
        &fixture,
        &[
            "--socket-group",
            "4711",
            "--redact-fifo",
            fifo.to_str().unwrap(),
        ],
    );
    let meta = fs::symlink_metadata(&fifo).unwrap();
    assert!(meta.file_type().is_fifo());
    assert_eq!(
        (meta.mode() & 0o7777, meta.uid(), meta.gid()),
        (0o620, 0, 4711)
    );

    let key = value("OPENAI_API_KEY");
    let (head, tail) = key.split_at(9);
    // A writer ending in a prefix of a value; one whose value is split across two writes; one
    // with nothing secret. Each session ends before the next writer opens, so each is its own.
    write_as_member(&format!("printf 'first: {head}' > \"$1\""), &fifo);
    wait_for_sessions(&fixture, 1);
    write_as_member(
        &format!("{{ printf 'second: {head}'; printf '{tail} done\\n'; }} > \"$1\""),
        &fifo,
    );
    wait_for_sessions(&fixture, 2);
    write_as_member("printf 'third: nothing secret\\n' > \"$1\"", &fifo);
    wait_for_sessions(&fixture, 3);

    let (status, stdout, stderr) = sidecar.stop();
    assert!(status.success(), "{stderr}");
    assert!(!stdout.contains(key), "a value reached stdout: {stdout}");
    assert!(stdout.contains("second: *** done\n"), "{stdout:?}");
    assert!(stdout.contains("third: nothing secret\n"), "{stdout:?}");
    // A prefix of a value at a writer's end is no value: it is let through when it closes.
    assert!(stdout.contains(&format!("first: {head}")), "{stdout:?}");
    assert!(!fifo.exists(), "the FIFO outlived the sidecar");

    let sessions = sessions(&fixture);
    assert_eq!(sessions.len(), 3, "{sessions:#?}");
    let masked: Vec<_> = sessions.iter().filter(|e| e["found"] == true).collect();
    assert_eq!(masked.len(), 1, "{sessions:#?}");
    assert_eq!(masked[0]["names"], serde_json::json!(["OPENAI_API_KEY"]));
}

#[test]
fn without_a_socket_group_the_redact_fifo_is_0600() {
    let (fixture, _outer) = shared_fixture();
    let fifo = fixture.socket.with_file_name("output.fifo");
    let sidecar = Sidecar::start(&fixture, &["--redact-fifo", fifo.to_str().unwrap()]);
    let meta = fs::symlink_metadata(&fifo).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o600);
    drop(sidecar);
}

#[test]
fn a_redact_fifo_outside_the_socket_directory_or_on_another_file_is_refused_with_exit_73() {
    let (fixture, outer) = shared_fixture();
    let elsewhere = outer.path().join("output.fifo");
    let failed = Sidecar::try_start(&fixture, &["--redact-fifo", elsewhere.to_str().unwrap()])
        .err()
        .expect("refused");
    assert_eq!(failed.status.code(), Some(73), "{}", failed.stderr);
    assert!(
        failed.stderr.contains("socket's directory"),
        "{}",
        failed.stderr
    );
    assert!(!fixture.socket.exists());

    let dir = fixture.socket.parent().unwrap();
    fs::create_dir_all(dir).unwrap();
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).unwrap();
    let occupied = dir.join("output.fifo");
    fs::write(&occupied, "not a fifo").unwrap();
    let failed = Sidecar::try_start(&fixture, &["--redact-fifo", occupied.to_str().unwrap()])
        .err()
        .expect("refused");
    assert_eq!(failed.status.code(), Some(73), "{}", failed.stderr);
    assert!(failed.stderr.contains("not a FIFO"), "{}", failed.stderr);
    assert_eq!(fs::read_to_string(&occupied).unwrap(), "not a fifo");
}
