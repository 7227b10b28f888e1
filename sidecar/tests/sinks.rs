//! The log and audit sinks of the real binary, stalled by whoever holds their other end
//! (issue 11 item 5): a stderr pipe nobody drains must not stop serving or SIGTERM, and an audit
//! FIFO nobody reads must not keep the process alive past `--shutdown-timeout` plus the
//! stated margin (one second).

// Helpers outside `#[test]` functions are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::borrow::Cow;
use std::fs::{self, File};
use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ax_protocol::{Request, RequestBody};
use nix::fcntl::OFlag;
use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, pipe2};
use support::*;

/// What the sidecar promises beyond `--shutdown-timeout` (limits::SHUTDOWN_MARGIN).
const MARGIN: Duration = Duration::from_secs(1);
/// Allowance on top for a loaded two-core machine; the old code never exits at all.
const SLACK: Duration = Duration::from_secs(2);
/// The `--shutdown-timeout` these tests give.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(1);

/// Starts `serve` with `extra` flags and `stderr` as its stderr; waits for READY. An
/// `--audit-file` in `extra` replaces the fixture's.
fn start(fixture: &Fixture, extra: &[&str], stderr: Stdio) -> Child {
    let mut args = fixture.serve_args();
    if extra.contains(&"--audit-file") {
        let at = args.iter().position(|a| a == "--audit-file").unwrap();
        args.drain(at..at + 2);
    }
    args.extend(["--ready-fd".into(), "3".into()]);
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let ReadyCommand {
        mut command,
        read,
        write,
        ..
    } = command_with_ready_pipe(fixture.dir.path(), &args);
    command.stderr(stderr);
    let mut child = command.spawn().unwrap();
    drop(write);
    let mut line = Vec::new();
    File::from(read).read_to_end(&mut line).unwrap();
    if line != b"READY\n" {
        let _ = child.kill();
        panic!("no READY: {:?}", child.wait());
    }
    child
}

/// Sends SIGTERM and waits for the exit, for `patience` at most; the status and how long it
/// took, or `None` (after killing it) if it was still running.
fn stop_within(child: &mut Child, patience: Duration) -> Option<(ExitStatus, Duration)> {
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let sent = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some((status, sent.elapsed()));
        }
        if sent.elapsed() > patience {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Connects with a short read timeout: a sidecar that stopped serving fails the test instead
/// of hanging it.
fn client(socket: &Path) -> Client {
    let client = Client::connect(socket);
    client
        .stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    client
}

fn get_body(name: &str) -> RequestBody<'_> {
    RequestBody::Get {
        name: Cow::Borrowed(name),
    }
}

#[test]
fn keeps_serving_and_stops_in_time_while_nobody_reads_its_stderr() {
    let fixture = Fixture::standard();
    let (read, write): (OwnedFd, OwnedFd) = pipe2(OFlag::O_CLOEXEC).unwrap();
    let timeout = format!("{}ms", SHUTDOWN_TIMEOUT.as_millis());
    let mut child = start(
        &fixture,
        &["--log-level", "debug", "--shutdown-timeout", &timeout],
        Stdio::from(write),
    );
    // Every connection logs two lines at debug: 3,000 of them are far more than a pipe holds
    // (64 KiB), so a sidecar that writes its logs on the serving thread blocks long before.
    for i in 0..3_000 {
        let mut c = client(&fixture.socket);
        c.send(&Request {
            id: 1,
            body: RequestBody::Ping,
        });
        assert!(
            c.stream.read(&mut [0u8; 1]).is_ok_and(|n| n > 0),
            "no answer on connection {i}: the sidecar stopped serving while stderr was full"
        );
    }
    let mut c = client(&fixture.socket);
    c.hello(None);
    assert_eq!(c.get("DB_URL").as_deref(), Some(SECRETS[1].1));
    drop(c);

    // Now drain the pipe: what was dropped is reported once the sink takes lines again.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let reader = std::thread::spawn({
        let seen = Arc::clone(&seen);
        move || {
            let mut pipe = File::from(read);
            let mut buf = [0u8; 65_536];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        }
    });
    let started = Instant::now();
    while !String::from_utf8_lossy(&seen.lock().unwrap()).contains("log lines dropped") {
        assert!(
            started.elapsed() < PATIENCE,
            "no 'log lines dropped' line once stderr was read again"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let (status, took) = stop_within(&mut child, PATIENCE).expect("exits on SIGTERM");
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(took < SHUTDOWN_TIMEOUT + MARGIN + SLACK, "took {took:?}");
    reader.join().unwrap();
    let log = String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
    assert!(log.contains("stopped"), "no final line: {log}");
    assert!(!log.contains("postgres://"), "a value reached the log");
}

#[test]
fn stops_within_the_deadline_while_nobody_reads_its_stderr_at_all() {
    let fixture = Fixture::standard();
    let (_read, write) = pipe2(OFlag::O_CLOEXEC).unwrap();
    let timeout = format!("{}ms", SHUTDOWN_TIMEOUT.as_millis());
    let mut child = start(
        &fixture,
        &["--log-level", "debug", "--shutdown-timeout", &timeout],
        Stdio::from(write),
    );
    for _ in 0..3_000 {
        let mut c = client(&fixture.socket);
        c.send(&Request {
            id: 1,
            body: RequestBody::Ping,
        });
        // An old sidecar blocks here; stop flooding and go on to SIGTERM, which is the point.
        if !c.stream.read(&mut [0u8; 1]).is_ok_and(|n| n > 0) {
            break;
        }
    }
    let patience = SHUTDOWN_TIMEOUT + MARGIN + SLACK;
    match stop_within(&mut child, patience) {
        Some((status, _)) => assert_eq!(status.code(), Some(0), "{status:?}"),
        None => panic!("still running {patience:?} after SIGTERM with its stderr full"),
    }
    assert!(
        fs::symlink_metadata(&fixture.socket).is_err(),
        "socket left"
    );
}

/// A FIFO in the fixture's directory, opened here for reading (never read), so the sidecar
/// can open it for writing.
fn fifo_with_a_reader_that_never_reads(fixture: &Fixture) -> (std::path::PathBuf, File) {
    let path = fixture.path("audit.fifo");
    nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let reader = fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(&path)
        .unwrap();
    (path, reader)
}

#[test]
fn stops_within_the_deadline_and_exits_75_with_the_loss_when_the_audit_fifo_is_not_read() {
    let fixture = Fixture::standard();
    let (fifo, _reader) = fifo_with_a_reader_that_never_reads(&fixture);
    let stderr = fixture.path("stderr");
    let mut args = vec!["--audit-file", fifo.to_str().unwrap()];
    let timeout = format!("{}ms", SHUTDOWN_TIMEOUT.as_millis());
    args.extend(["--shutdown-timeout", &timeout]);
    let mut child = start(&fixture, &args, Stdio::from(File::create(&stderr).unwrap()));
    // ~200 bytes an event: 2,000 Gets are several times what the FIFO holds.
    let mut c = client(&fixture.socket);
    c.hello(None);
    for _ in 0..2_000 {
        let response = c.request(get_body("DB_URL"));
        assert!(matches!(
            response.body,
            ax_protocol::ResponseBody::Secret { .. }
        ));
    }
    drop(c);
    let patience = SHUTDOWN_TIMEOUT + MARGIN + SLACK;
    let Some((status, took)) = stop_within(&mut child, patience) else {
        panic!(
            "still running {patience:?} after SIGTERM with its audit FIFO unread: {}",
            fs::read_to_string(&stderr).unwrap_or_default()
        );
    };
    let log = fs::read_to_string(&stderr).unwrap();
    assert_eq!(status.code(), Some(75), "{status:?}: {log}");
    assert!(took < patience, "took {took:?}");
    assert!(
        fs::symlink_metadata(&fixture.socket).is_err(),
        "socket left"
    );
    let line = log
        .lines()
        .find(|l| l.contains("audit_events_lost="))
        .unwrap_or_else(|| panic!("no report of the audit events lost: {log}"));
    let count: u64 = line
        .split("audit_events_lost=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(count > 0, "{line}");
}

#[test]
fn refuses_an_audit_fifo_that_nobody_has_open_with_exit_73_at_once() {
    let fixture = Fixture::standard();
    let fifo = fixture.path("audit.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let mut args = fixture.serve_args();
    let audit = args.iter().position(|a| a == "--audit-file").unwrap();
    args[audit + 1] = fifo.display().to_string();
    let stderr = fixture.path("stderr");
    let mut child = std::process::Command::new(BIN)
        .args(&args)
        .stdin(Stdio::null())
        .stderr(File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still opening the audit FIFO after 10 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let log = fs::read_to_string(&stderr).unwrap();
    assert_eq!(status.code(), Some(73), "{log}");
    assert!(log.contains("FIFO"), "{log}");
    assert_eq!(log.lines().count(), 1, "{log}");
    assert!(
        fs::symlink_metadata(&fixture.socket).is_err(),
        "socket left"
    );
}
