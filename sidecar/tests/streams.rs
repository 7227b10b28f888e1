//! The launcher's stream filter through the real binary (PROTOCOL §13.4): `--redact-stream
//! IN_FD:OUT_FD` masks a value split across writes, passes other bytes on at once and unchanged,
//! is drained to its end after SIGTERM, never blocks serving, and is audited at its end.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::{Duration, Instant};

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::Signal;
use support::*;

const VALUE: &str = "sk-test-1234567890abcdef"; // OPENAI_API_KEY in support::SECRETS

/// A sidecar with one stream per entry of `outputs`: the test writes the stream's input and
/// reads its output (or, for `Some(fd)`, the sidecar writes to its own descriptor `fd`).
struct Piped {
    sidecar: Sidecar,
    inputs: Vec<Option<File>>,
    outputs: Vec<Option<File>>,
}

fn high_fd(fd: OwnedFd) -> OwnedFd {
    let raw = fcntl(&fd, FcntlArg::F_DUPFD_CLOEXEC(200)).unwrap();
    // SAFETY: a fresh descriptor from F_DUPFD_CLOEXEC, owned by nothing else.
    #[allow(unsafe_code)]
    unsafe {
        OwnedFd::from_raw_fd(raw)
    }
}

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

/// Starts the sidecar with `streams.len()` streams; stream `i` reads the child's fd `4 + 2i`
/// and writes fd `5 + 2i`, or the given own descriptor.
fn start(fixture: &Fixture, streams: &[Option<i32>], extra: &[&str]) -> Piped {
    let mut args = fixture.serve_args();
    args.extend(["--ready-fd".into(), "3".into()]);
    let mut child_ends = Vec::new();
    let mut inputs = Vec::new();
    let mut outputs = Vec::new();
    for (i, own) in streams.iter().enumerate() {
        let (in_read, in_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
        let in_fd = 4 + 2 * i as i32;
        child_ends.push((high_fd(in_read), in_fd));
        inputs.push(Some(File::from(in_write)));
        let out_fd = match own {
            Some(fd) => {
                outputs.push(None);
                *fd
            }
            None => {
                let (out_read, out_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
                let out_fd = 5 + 2 * i as i32;
                child_ends.push((high_fd(out_write), out_fd));
                outputs.push(Some(File::from(out_read)));
                out_fd
            }
        };
        args.extend(["--redact-stream".into(), format!("{in_fd}:{out_fd}")]);
    }
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let pairs: Vec<(i32, i32)> = child_ends
        .iter()
        .map(|(f, to)| (f.as_raw_fd(), *to))
        .collect();
    let sidecar = Sidecar::spawn_with(fixture.dir.path(), &args, fixture.socket.clone(), |c| {
        for (from, to) in pairs {
            dup_into(c, from, to);
        }
    })
    .unwrap();
    drop(child_ends);
    Piped {
        sidecar,
        inputs,
        outputs,
    }
}

/// Reads until `n` bytes came or the stream ended, failing the test after [`PATIENCE`].
fn read_n(file: &mut File, n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let started = Instant::now();
    while out.len() < n {
        let left = PATIENCE.saturating_sub(started.elapsed());
        let timeout = PollTimeout::try_from(left.as_millis() as i32).unwrap();
        let mut fds = [PollFd::new(file.as_fd(), PollFlags::POLLIN)];
        assert!(
            poll(&mut fds, timeout).unwrap() > 0,
            "no output after {PATIENCE:?}: {out:?}"
        );
        let mut buf = vec![0u8; (n - out.len()).min(64 * 1024)];
        let got = file.read(&mut buf).unwrap();
        if got == 0 {
            break;
        }
        out.extend_from_slice(&buf[..got]);
    }
    out
}

fn read_to_end(file: &mut File) -> Vec<u8> {
    read_n(file, usize::MAX)
}

fn wait_for_log(sidecar: &Sidecar, needle: &str) {
    let started = Instant::now();
    while !sidecar.stderr().contains(needle) {
        assert!(
            started.elapsed() < PATIENCE,
            "no {needle:?}: {}",
            sidecar.stderr()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn masks_a_value_split_across_two_writes_and_passes_the_rest_at_once() {
    let fixture = Fixture::standard();
    let mut piped = start(&fixture, &[None], &[]);
    let input = piped.inputs[0].as_mut().unwrap();
    let output = piped.outputs[0].as_mut().unwrap();
    input.write_all(b"token=sk-te").unwrap();
    // "token=" comes through while "sk-te" is held: it may begin the value.
    assert_eq!(read_n(output, 6), b"token=");
    input
        .write_all(
            b"st-1234567890abcdef \xff\xfe\x80 not utf-8\nc2stdGVzdC0xMjM0NTY3ODkwYWJjZGVm\n",
        )
        .unwrap();
    piped.inputs[0] = None;
    let rest = read_to_end(piped.outputs[0].as_mut().unwrap());
    assert_eq!(rest, b"*** \xff\xfe\x80 not utf-8\n***\n");
    let (status, _, stderr) = piped.sidecar.stop();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains(VALUE));
    let events: Vec<_> = fixture
        .audit()
        .into_iter()
        .filter(|e| e["action"] == "redact_stream")
        .collect();
    assert_eq!(events.len(), 1, "one event per stream");
    assert_eq!(events[0]["names"], serde_json::json!(["OPENAI_API_KEY"]));
    assert_eq!(events[0]["found"], true);
    assert_eq!(
        events[0]["peer"]["pid"],
        std::process::id(),
        "the launcher is the peer"
    );
}

#[test]
fn drains_its_streams_after_sigterm_before_exiting() {
    let fixture = Fixture::standard();
    let mut piped = start(&fixture, &[None], &[]);
    let input = piped.inputs[0].as_mut().unwrap();
    input.write_all(b"before\n").unwrap();
    assert_eq!(read_n(piped.outputs[0].as_mut().unwrap(), 7), b"before\n");
    piped.sidecar.signal(Signal::SIGTERM);
    wait_for_log(&piped.sidecar, "shutting down");
    let input = piped.inputs[0].as_mut().unwrap();
    input
        .write_all(format!("after the signal {VALUE}\n").as_bytes())
        .unwrap();
    piped.inputs[0] = None;
    let rest = read_to_end(piped.outputs[0].as_mut().unwrap());
    assert_eq!(rest, b"after the signal ***\n");
    let (status, _) = piped.sidecar.wait();
    assert_eq!(status.code(), Some(0));
    let streamed = fixture.audit();
    assert!(streamed.iter().any(|e| e["action"] == "redact_stream"));
}

#[test]
fn a_stream_that_never_ends_is_cut_at_the_shutdown_timeout() {
    let fixture = Fixture::standard();
    let piped = start(&fixture, &[None], &["--shutdown-timeout", "200ms"]);
    let started = Instant::now();
    piped.sidecar.signal(Signal::SIGTERM);
    let (status, stderr) = piped.sidecar.wait();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(stderr.contains("before every stream ended"), "{stderr}");
    drop(piped.inputs);
}

#[test]
fn a_blocked_stream_never_blocks_serving_or_another_stream() {
    let fixture = Fixture::standard();
    let mut piped = start(&fixture, &[None, None], &[]);
    // Nobody reads stream 0's output: once the pipes are full its thread blocks on write.
    let mut blocked = piped.inputs[0].take().unwrap();
    let writer = std::thread::spawn(move || {
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..16 {
            if blocked.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    let mut client = piped.sidecar.client();
    assert_eq!(client.get("OPENAI_API_KEY").as_deref(), Some(VALUE));
    let other = piped.inputs[1].as_mut().unwrap();
    other
        .write_all(format!("second {VALUE}\n").as_bytes())
        .unwrap();
    assert_eq!(
        read_n(piped.outputs[1].as_mut().unwrap(), 11),
        b"second ***\n"
    );
    // Unblock stream 0 by reading it all; the writer then finishes and closes its end.
    let mut drained = 0;
    let output = piped.outputs[0].as_mut().unwrap();
    while drained < 16 * 64 * 1024 {
        drained += read_n(output, 64 * 1024).len();
    }
    writer.join().unwrap();
    piped.inputs[1] = None;
    let (status, _, _) = piped.sidecar.stop();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn writes_to_its_own_standard_output_when_asked() {
    let fixture = Fixture::standard();
    let mut piped = start(&fixture, &[Some(1)], &[]);
    piped.inputs[0]
        .as_mut()
        .unwrap()
        .write_all(format!("to stdout: {VALUE}!\n").as_bytes())
        .unwrap();
    piped.inputs[0] = None;
    let started = Instant::now();
    while !fixture
        .audit()
        .iter()
        .any(|e| e["action"] == "redact_stream")
    {
        assert!(started.elapsed() < PATIENCE, "the stream did not end");
        std::thread::sleep(Duration::from_millis(5));
    }
    let (status, stdout, _) = piped.sidecar.stop();
    assert_eq!(status.code(), Some(0));
    assert_eq!(stdout, "to stdout: ***!\n");
}

#[test]
fn refuses_unusable_stream_descriptors_with_64() {
    let fixture = Fixture::standard();
    for spec in ["40:41", "4", "a:b", "-1:1"] {
        let mut args = fixture.serve_args();
        args.extend(["--redact-stream".into(), spec.into()]);
        let out = Command::new(BIN).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(64), "{spec}: {out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).lines().count(),
            1,
            "{out:?}"
        );
    }
}
