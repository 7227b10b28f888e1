//! Lifecycle of the real binary: a clean stop on SIGTERM and SIGINT with clients connected,
//! requests in flight when the signal comes, the launcher dying, and the shutdown deadline
//! (PROTOCOL §7.4, §14).
//!
//! A clean stop means exit status 0, the answers to requests in flight delivered, the socket
//! file removed, and the audit trail flushed.

// Helpers outside `#[test]` functions are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::borrow::Cow;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ax_protocol::frame::to_frame;
use ax_protocol::limits::MAX_REQUEST_FRAME;
use ax_protocol::{ErrorCode, Request, RequestBody, Response, ResponseBody, SecretText};
use nix::fcntl::OFlag;
use nix::sys::signal::Signal;
use support::*;

/// One request frame.
fn frame(id: u32, body: RequestBody<'_>) -> Vec<u8> {
    to_frame(&Request { id, body }, MAX_REQUEST_FRAME).unwrap()
}

fn get_frame(id: u32, name: &str) -> Vec<u8> {
    frame(
        id,
        RequestBody::Get {
            name: Cow::Borrowed(name),
        },
    )
}

/// The value [`SECRETS`] and [`OVERRIDES`] give `name`, as served.
fn expected(name: &str) -> Option<&'static str> {
    OVERRIDES
        .iter()
        .chain(SECRETS)
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
}

/// Asserts `response` answers `Get name` with id `id`.
fn assert_answer(response: &Response<'_>, id: u32, name: &str) {
    assert_eq!(response.id, id, "{response:?}");
    match &response.body {
        ResponseBody::Secret { value } => assert_eq!(
            value.as_ref().map(SecretText::expose),
            expected(name),
            "Get {name}"
        ),
        other => panic!("Get {name} (id {id}): expected Secret, got {other:?}"),
    }
}

/// Waits, by polling with a deadline, until the sidecar has logged `text`.
fn wait_for_log(sidecar: &Sidecar, text: &str) {
    let started = Instant::now();
    while !sidecar.stderr().contains(text) {
        assert!(
            started.elapsed() < PATIENCE,
            "the sidecar never logged {text:?}: {}",
            sidecar.stderr()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The audit events with `action` "get", as names in trail order; checks `seq` has no gaps.
fn audited_gets(fixture: &Fixture) -> Vec<String> {
    let events = fixture.audit();
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event["seq"], i as u64 + 1, "audit seq: {event}");
    }
    events
        .iter()
        .filter(|e| e["action"] == "get")
        .map(|e| e["names"][0].as_str().unwrap().to_owned())
        .collect()
}

fn assert_socket_removed(socket: &Path) {
    assert!(
        fs::symlink_metadata(socket).is_err(),
        "the socket file {} was left behind",
        socket.display()
    );
}

#[test]
fn stops_cleanly_on_sigterm_with_idle_and_busy_clients() {
    const BATCH: u32 = 20_000;
    const NAMES: [&str; 4] = ["OPENAI_API_KEY", "NOPE", "GREETING", "WEBHOOK_TOKEN"];

    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &["--shutdown-timeout", "5s"]);
    let idle_names = ["DB_URL", "EMPTY", "WEBHOOK_TOKEN"];
    let mut idle: Vec<Client> = idle_names
        .iter()
        .map(|name| {
            let mut client = sidecar.client();
            assert_eq!(client.get(name).as_deref(), expected(name));
            client
        })
        .collect();
    let mut not_greeted = Client::connect(&sidecar.socket);

    // A pipelined batch, written by another thread while this one reads: the sidecar is
    // answering it when the signal arrives.
    let mut busy = sidecar.client();
    let mut writer = busy.stream.try_clone().unwrap();
    let batch: Vec<u8> = (0..BATCH)
        .flat_map(|i| get_frame(i + 2, NAMES[i as usize % NAMES.len()]))
        .collect();
    let writer = std::thread::spawn(move || {
        // The sidecar may close before reading it all; that is the point.
        let _ = writer.write_all(&batch);
    });
    let first = busy.read().expect("the first answer of the batch");
    assert_answer(&first, 2, NAMES[0]);

    sidecar.signal(Signal::SIGTERM);

    // Every answer that comes is complete, correct and in order; requests not served may get
    // ShuttingDown, and then the connection ends cleanly.
    let mut answered = 1_u32;
    let mut refused = 0_u32;
    while let Some(response) = busy.read() {
        let id = answered + refused + 2;
        if let ResponseBody::Error { code, .. } = response.body {
            assert_eq!(code, ErrorCode::ShuttingDown, "{response:?}");
            assert_eq!(response.id, id);
            refused += 1;
            continue;
        }
        assert_eq!(refused, 0, "an answer after a ShuttingDown: {response:?}");
        assert_answer(&response, id, NAMES[(id - 2) as usize % NAMES.len()]);
        answered += 1;
    }
    assert!(answered + refused <= BATCH);
    writer.join().unwrap();

    let (status, stderr) = sidecar.wait();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(
        !stderr.contains("the process that started the sidecar exited"),
        "a SIGTERM the launcher sent is no parent death: {stderr}"
    );
    assert_socket_removed(&fixture.socket);
    for client in &mut idle {
        client.expect_shutdown_notice();
    }
    not_greeted.expect_shutdown_notice();

    let gets = audited_gets(&fixture);
    assert_eq!(gets[..3], idle_names, "the idle clients' requests");
    let batch_gets = &gets[3..];
    assert!(
        batch_gets.len() >= answered as usize,
        "{answered} batch requests answered, {} audited",
        batch_gets.len()
    );
    for (i, name) in batch_gets.iter().enumerate() {
        assert_eq!(name, NAMES[i % NAMES.len()], "audit event {i} of the batch");
    }
}

#[test]
fn stops_cleanly_on_sigint() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = sidecar.client();
    assert_eq!(client.get("GREETING").as_deref(), expected("GREETING"));
    let mut other = sidecar.client();
    assert_eq!(other.get("NOPE"), None);

    sidecar.signal(Signal::SIGINT);
    let (status, stderr) = sidecar.wait();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert_socket_removed(&fixture.socket);
    client.expect_shutdown_notice();
    other.expect_shutdown_notice();
    assert_eq!(audited_gets(&fixture), ["GREETING", "NOPE"]);
}

/// The shutdown timeout the next tests use, and what they allow on top for the process to
/// exit on a loaded machine.
const SHUTDOWN: Duration = Duration::from_secs(2);
const SLACK: Duration = Duration::from_secs(2);

#[test]
fn answers_or_closes_a_request_half_sent_when_sigterm_comes() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(
        &fixture,
        &["--shutdown-timeout", "2s", "--partial-frame-timeout", "60s"],
    );
    let mut client = sidecar.client();
    let request = get_frame(2, "OPENAI_API_KEY");
    let (head, tail) = request.split_at(request.len() / 2);
    client.send_raw(head);

    sidecar.signal(Signal::SIGTERM);
    let signalled = Instant::now();
    // The sidecar may have closed already; a failed write is then expected.
    let _ = client.stream.write_all(tail);
    if let Some(response) = client.read() {
        assert_answer(&response, 2, "OPENAI_API_KEY");
        client.expect_shutdown_notice();
    }

    let (status, stderr) = sidecar.wait();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(
        signalled.elapsed() < SHUTDOWN + SLACK,
        "took {:?} to stop",
        signalled.elapsed()
    );
    assert_socket_removed(&fixture.socket);
}

#[test]
fn gives_up_on_a_frame_that_never_completes_within_the_shutdown_timeout() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(
        &fixture,
        &["--shutdown-timeout", "2s", "--partial-frame-timeout", "60s"],
    );
    let mut client = sidecar.client();
    // A Get and the first half of another, in one write: reading the first answer shows the
    // half frame reached the sidecar with it.
    let mut bytes = get_frame(2, "DB_URL");
    let second = get_frame(3, "GREETING");
    bytes.extend_from_slice(&second[..second.len() / 2]);
    client.send_raw(&bytes);
    assert_answer(&client.read().unwrap(), 2, "DB_URL");

    sidecar.signal(Signal::SIGTERM);
    let signalled = Instant::now();
    client.expect_closed();
    let (status, stderr) = sidecar.wait();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(
        signalled.elapsed() < SHUTDOWN + SLACK,
        "took {:?} to stop",
        signalled.elapsed()
    );
    assert_socket_removed(&fixture.socket);
    assert_eq!(audited_gets(&fixture), ["DB_URL"]);
}

#[test]
fn finishes_a_request_in_flight_and_refuses_later_ones_with_shutting_down() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(
        &fixture,
        &["--shutdown-timeout", "5s", "--partial-frame-timeout", "60s"],
    );
    let mut client = sidecar.client();
    let mut bytes = get_frame(2, "DB_URL");
    let in_flight = get_frame(3, "GREETING");
    let (head, tail) = in_flight.split_at(in_flight.len() / 2);
    bytes.extend_from_slice(head);
    client.send_raw(&bytes);
    assert_answer(&client.read().unwrap(), 2, "DB_URL");

    sidecar.signal(Signal::SIGTERM);
    wait_for_log(&sidecar, "shutting down");
    // Shutdown has begun: the rest of the request in flight, then a new request.
    let mut rest = tail.to_vec();
    rest.extend_from_slice(&get_frame(4, "OPENAI_API_KEY"));
    client.send_raw(&rest);

    assert_answer(
        &client.read().expect("the request in flight"),
        3,
        "GREETING",
    );
    let later = client
        .read()
        .expect("an answer to the request sent after shutdown began");
    assert_eq!(later.id, 4, "{later:?}");
    assert!(
        matches!(
            later.body,
            ResponseBody::Error {
                code: ErrorCode::ShuttingDown,
                ..
            }
        ),
        "PROTOCOL §7.4: a request sent after shutdown began is answered with ShuttingDown, \
         got {later:?}"
    );
    client.expect_closed();

    let (status, stderr) = sidecar.wait();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert_socket_removed(&fixture.socket);
    assert_eq!(audited_gets(&fixture), ["DB_URL", "GREETING"]);
}

#[test]
fn stops_accepting_once_shutdown_begins() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(
        &fixture,
        &["--shutdown-timeout", "5s", "--partial-frame-timeout", "60s"],
    );
    // A half-sent request keeps the sidecar draining while the test connects again.
    let mut client = sidecar.client();
    let mut bytes = get_frame(2, "DB_URL");
    let in_flight = get_frame(3, "GREETING");
    let (head, tail) = in_flight.split_at(in_flight.len() / 2);
    bytes.extend_from_slice(head);
    client.send_raw(&bytes);
    assert_answer(&client.read().unwrap(), 2, "DB_URL");

    sidecar.signal(Signal::SIGTERM);
    wait_for_log(&sidecar, "finishing requests in flight");
    let refused = UnixStream::connect(&fixture.socket);
    assert!(
        refused.is_err(),
        "a new connection was accepted during shutdown"
    );

    client.send_raw(tail);
    assert_answer(&client.read().unwrap(), 3, "GREETING");
    let (status, stderr) = sidecar.wait();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert_socket_removed(&fixture.socket);
}

// ---------------------------------------------------------------------------------------------
// The launcher dies.

/// Starts the sidecar as the background child of a `bash`, so that killing the `bash` kills its
/// parent; returns the `bash` and the sidecar's pid once the sidecar is ready.
#[allow(unsafe_code)]
fn spawn_under_bash(fixture: &Fixture) -> (Child, u32) {
    let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
    let mut args = fixture.serve_args();
    args.extend(["--ready-fd".into(), "3".into()]);
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg(r#""$0" "$@" & echo $!; wait"#)
        .arg(BIN)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(File::create(fixture.path("stderr")).unwrap());
    let write_fd = write.as_raw_fd();
    // SAFETY: between fork and exec the closure only calls dup2 and fcntl, which are
    // async-signal-safe, on its own copy of a descriptor number.
    unsafe {
        command.pre_exec(move || {
            // dup2 onto itself keeps FD_CLOEXEC, so clear it explicitly in that case.
            let done = if write_fd == 3 {
                nix::libc::fcntl(3, nix::libc::F_SETFD, 0)
            } else {
                nix::libc::dup2(write_fd, 3)
            };
            if done < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut bash = command.spawn().unwrap();
    drop(write);
    let mut line = String::new();
    BufReader::new(bash.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let pid: u32 = line.trim().parse().unwrap();
    // The bash keeps its copy of the write end open, so read the line, not to the end.
    let mut ready = [0u8; 6];
    File::from(read)
        .read_exact(&mut ready)
        .unwrap_or_else(|e| panic!("no READY ({e}): {}", stderr_of(fixture)));
    assert_eq!(&ready, b"READY\n");
    (bash, pid)
}

fn stderr_of(fixture: &Fixture) -> String {
    fs::read_to_string(fixture.path("stderr")).unwrap_or_default()
}

/// Whether `pid` has exited: gone, or a zombie nobody reaps.
fn has_exited(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => {
            // The state follows the command name, which is in parentheses and may hold any
            // character.
            let state = stat[stat.rfind(')').unwrap() + 1..]
                .split_whitespace()
                .next()
                .unwrap();
            matches!(state, "Z" | "X")
        }
    }
}

/// Kills a process that is not our child if a test fails before it exits.
struct KillOnDrop(u32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if !has_exited(self.0) {
            let _ =
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.0 as i32), Signal::SIGKILL);
        }
    }
}

#[test]
fn stops_cleanly_when_its_parent_dies() {
    let fixture = Fixture::standard();
    let (mut bash, pid) = spawn_under_bash(&fixture);
    let _guard = KillOnDrop(pid);
    let mut client = Client::connect(&fixture.socket);
    client.hello(None);
    assert_eq!(client.get("DB_URL").as_deref(), expected("DB_URL"));

    bash.kill().unwrap();
    bash.wait().unwrap();
    let started = Instant::now();
    while !has_exited(pid) {
        assert!(
            started.elapsed() < PATIENCE,
            "the sidecar {pid} outlived its parent: {}",
            stderr_of(&fixture)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    client.expect_shutdown_notice();
    assert_socket_removed(&fixture.socket);
    let stderr = stderr_of(&fixture);
    assert!(
        stderr.contains("stopped"),
        "no clean-shutdown line in the log: {stderr}"
    );
    // The SIGTERM came from no one: the log says it was the launcher's exit, and the fix.
    assert!(
        stderr.contains("the process that started the sidecar exited")
            && stderr.contains("--no-parent-death"),
        "the log does not say the launcher exited: {stderr}"
    );
    assert_eq!(audited_gets(&fixture), ["DB_URL"]);
}

/// A template of `count` distinct references to names the bundle does not have, 16 bytes each.
fn many_missing_references(count: usize) -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..count)
        .map(|i| {
            let name: String = [
                alphabet[i / (62 * 62 * 62) % 26],
                alphabet[i / (62 * 62) % 62],
                alphabet[i / 62 % 62],
                alphabet[i % 62],
            ]
            .iter()
            .map(|&b| b as char)
            .collect();
            format!("{{{{secrets.{name}}}}}")
        })
        .collect()
}

#[test]
fn exits_within_the_shutdown_deadline_even_while_the_serving_thread_is_busy() {
    // A Render of tens of thousands of distinct missing references has cost seconds of the
    // one serving thread. Whether it still does or not, SIGTERM must end the process within
    // --shutdown-timeout plus the one-second margin, with the socket removed.
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &["--shutdown-timeout", "200ms"]);
    let pid = sidecar.pid();
    let mut busy = Client::connect(&fixture.socket);
    busy.hello(None);
    busy.send(&Request {
        id: 7,
        body: RequestBody::Render {
            template: SecretText::owned(many_missing_references(60_000)),
        },
    });
    // See, within half a second, whether the serving thread is taken by it (a Ping on another
    // connection goes unanswered); either way the deadline below must hold.
    let mut probe = Client::connect(&fixture.socket);
    probe
        .stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    probe.send(&Request {
        id: 1,
        body: RequestBody::Ping,
    });
    let stuck = probe.stream.read(&mut [0u8; 1]).is_err();
    eprintln!("serving thread busy with the Render when SIGTERM was sent: {stuck}");

    sidecar.signal(Signal::SIGTERM);
    let sent = Instant::now();
    let bound = Duration::from_millis(200) + Duration::from_secs(1) + Duration::from_secs(2);
    while !has_exited(pid) {
        assert!(
            sent.elapsed() < bound,
            "still running {bound:?} after SIGTERM (serving thread busy: {stuck}): {}",
            sidecar.stderr()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let (status, stderr) = sidecar.wait();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert_socket_removed(&fixture.socket);
    assert!(
        stderr.contains("stopped") || stderr.contains("the shutdown deadline passed"),
        "{stderr}"
    );
}
