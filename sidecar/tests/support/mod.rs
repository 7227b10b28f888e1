//! Shared helpers for the tests that run the real `ax-sidecar` binary.
//!
//! A [`Fixture`] is a private temporary directory with a key and a sealed bundle; a
//! [`Sidecar`] is the binary serving it, started with a ready pipe on fd 3 and waited for on
//! that pipe (never by sleeping), killed when dropped. A [`Client`] speaks the protocol with
//! blocking I/O and a read timeout that only guards against a hung test.

#![allow(dead_code, unreachable_pub)]

pub mod peer;

use std::borrow::Cow;
use std::fs;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ax_protocol::bundle::local::{LocalKey, seal_local};
use ax_protocol::bundle::{Bundle, BundleSecret};
use ax_protocol::frame::{decode_response, to_frame};
use ax_protocol::limits::{MAX_REQUEST_FRAME, MAX_RESPONSE_FRAME, PROTOCOL_VERSION};
use ax_protocol::{Request, RequestBody, Response, SecretText};
use nix::fcntl::OFlag;
use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, pipe2};
use ring::rand::SystemRandom;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_ax-sidecar");

/// How long a test waits for something that should take milliseconds, before failing.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The secrets most tests serve: (name, value).
pub const SECRETS: &[(&str, &str)] = &[
    ("OPENAI_API_KEY", "sk-test-1234567890abcdef"),
    ("DB_URL", "postgres://app:p@ss w0rd/ü@db.internal:5432/app"),
    ("EMPTY", ""),
    ("GREETING", "grüß dich 🌍"),
    ("WEBHOOK_TOKEN", "whk_9f8e7d6c5b4a"),
];

/// Overrides served on top of [`SECRETS`].
pub const OVERRIDES: &[(&str, &str)] = &[("WEBHOOK_TOKEN", "whk_override_0001")];

/// Seconds since the epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A bundle of `secrets` and `overrides`, valid for an hour from now.
pub fn bundle(secrets: &[(&str, &str)], overrides: &[(&str, &str)]) -> Bundle<'static> {
    let list = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .enumerate()
            .map(|(i, (name, value))| BundleSecret {
                name: Cow::Owned((*name).to_owned()),
                value: SecretText::owned((*value).to_owned()),
                version: i as u32 + 1,
                created_at: 1_700_000_000,
                updated_at: 1_700_000_000 + i as u64,
            })
            .collect()
    };
    let now = now();
    Bundle {
        tenant: Cow::Borrowed("acme"),
        execution_id: Cow::Borrowed("exec-test-1"),
        environment: Cow::Borrowed("test"),
        config: Some(Cow::Borrowed("nightly")),
        issued_at: now - 10,
        expires_at: now + 3600,
        secrets: list(secrets),
        overrides: list(overrides),
    }
}

/// A private directory with a key file and a sealed bundle.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub key: PathBuf,
    pub bundle: PathBuf,
    pub socket: PathBuf,
}

impl Fixture {
    /// The standard secrets and overrides.
    pub fn standard() -> Self {
        Self::with_bundle(&bundle(SECRETS, OVERRIDES))
    }

    /// Any bundle.
    pub fn with_bundle(bundle: &Bundle<'_>) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("ax-sidecar-test-")
            .tempdir()
            .unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        let key_bytes = LocalKey::generate(&SystemRandom::new()).unwrap();
        let key = dir.path().join("key");
        fs::write(&key, key_bytes.as_ref()).unwrap();
        let sealed = seal_local(
            bundle,
            &LocalKey::from_bytes(key_bytes.as_ref()).unwrap(),
            &SystemRandom::new(),
        )
        .unwrap();
        let bundle_path = dir.path().join("bundle.sealed");
        fs::write(&bundle_path, sealed).unwrap();
        let socket = dir.path().join("run").join("sidecar.sock");
        Self {
            dir,
            key,
            bundle: bundle_path,
            socket,
        }
    }

    /// A path inside the fixture's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `serve` flags for this fixture: socket, bundle, key, audit file in the directory.
    pub fn serve_args(&self) -> Vec<String> {
        vec![
            "serve".into(),
            "--socket".into(),
            self.socket.display().to_string(),
            "--bundle-file".into(),
            self.bundle.display().to_string(),
            "--key-file".into(),
            self.key.display().to_string(),
            "--audit-file".into(),
            self.path("audit.jsonl").display().to_string(),
        ]
    }

    /// The audit file's lines, parsed.
    pub fn audit(&self) -> Vec<serde_json::Value> {
        fs::read_to_string(self.path("audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// How a process that was expected to fail at start-up ended.
#[derive(Debug)]
pub struct Failed {
    pub status: ExitStatus,
    pub stderr: String,
}

/// A running sidecar, killed when dropped.
pub struct Sidecar {
    child: Option<Child>,
    pub socket: PathBuf,
    stdout: PathBuf,
    stderr: PathBuf,
}

/// A `Command` for the binary with stdout and stderr going to files in `dir` and the write end
/// of a fresh pipe as its fd 3.
pub struct ReadyCommand {
    pub command: Command,
    /// The read end: "READY\n", or end of file if the child exits first.
    pub read: OwnedFd,
    /// The parent's write end: drop it right after spawning.
    pub write: OwnedFd,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
}

/// See [`ReadyCommand`].
pub fn command_with_ready_pipe(dir: &Path, args: &[String]) -> ReadyCommand {
    let (read, write) = pipe2(OFlag::O_CLOEXEC).unwrap();
    let stdout = dir.join(format!("stdout-{}", unique()));
    let stderr = dir.join(format!("stderr-{}", unique()));
    let mut command = Command::new(BIN);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(fs::File::create(&stdout).unwrap())
        .stderr(fs::File::create(&stderr).unwrap());
    install_fd3(&mut command, write.as_raw_fd());
    ReadyCommand {
        command,
        read,
        write,
        stdout,
        stderr,
    }
}

#[allow(unsafe_code)]
fn install_fd3(command: &mut Command, write_fd: i32) {
    // SAFETY: between fork and exec the closure only calls dup2, which is async-signal-safe,
    // and touches no memory of the parent.
    unsafe {
        command.pre_exec(move || {
            if nix::libc::dup2(write_fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

fn unique() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

impl Sidecar {
    /// Starts `serve` for `fixture` with `extra` flags and waits for READY; panics with the
    /// sidecar's stderr if it fails to start.
    pub fn start(fixture: &Fixture, extra: &[&str]) -> Self {
        match Self::try_start(fixture, extra) {
            Ok(sidecar) => sidecar,
            Err(failed) => panic!("sidecar failed to start: {failed:?}"),
        }
    }

    /// Starts `serve`; `Err` if it exits before READY.
    pub fn try_start(fixture: &Fixture, extra: &[&str]) -> Result<Self, Failed> {
        let mut args = fixture.serve_args();
        args.extend(["--ready-fd".into(), "3".into()]);
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        Self::spawn_with(fixture.dir.path(), &args, fixture.socket.clone(), |_| {})
    }

    /// Spawns the binary with `args` (which must include `--ready-fd 3`), after `adjust` has
    /// had a chance to change the command; waits for READY.
    pub fn spawn_with(
        dir: &Path,
        args: &[String],
        socket: PathBuf,
        adjust: impl FnOnce(&mut Command),
    ) -> Result<Self, Failed> {
        let ReadyCommand {
            mut command,
            read,
            write,
            stdout,
            stderr,
        } = command_with_ready_pipe(dir, args);
        adjust(&mut command);
        let child = command.spawn().unwrap();
        drop(write);
        let mut sidecar = Self {
            child: Some(child),
            socket,
            stdout,
            stderr,
        };
        let mut line = Vec::new();
        let mut ready = fs::File::from(read);
        // READY or EOF (the child exited, closing its copy of the pipe).
        ready.read_to_end(&mut line).unwrap();
        if line == b"READY\n" {
            Ok(sidecar)
        } else {
            let status = sidecar.child.take().unwrap().wait().unwrap();
            Err(Failed {
                status,
                stderr: fs::read_to_string(&sidecar.stderr).unwrap_or_default(),
            })
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// A connected client that has done the handshake.
    pub fn client(&self) -> Client {
        let mut client = Client::connect(&self.socket);
        client.hello(None);
        client
    }

    /// Sends a signal.
    pub fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.pid() as i32), signal).unwrap();
    }

    /// Sends SIGTERM and waits for the exit; returns the status, stdout and stderr.
    pub fn stop(mut self) -> (ExitStatus, String, String) {
        self.signal(Signal::SIGTERM);
        let status = self.child.take().unwrap().wait().unwrap();
        (
            status,
            fs::read_to_string(&self.stdout).unwrap_or_default(),
            fs::read_to_string(&self.stderr).unwrap_or_default(),
        )
    }

    /// Waits for the process to exit by itself (with [`PATIENCE`]).
    pub fn wait(mut self) -> (ExitStatus, String) {
        let mut child = self.child.take().unwrap();
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return (status, fs::read_to_string(&self.stderr).unwrap_or_default());
            }
            assert!(started.elapsed() < PATIENCE, "sidecar did not exit");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// What the sidecar wrote to stderr so far.
    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A blocking protocol client.
pub struct Client {
    pub stream: UnixStream,
    next_id: u32,
}

impl Client {
    /// A client on a stream connected elsewhere (e.g. by [`peer::connect_as`]).
    pub fn from_stream(stream: UnixStream) -> Self {
        Self { stream, next_id: 1 }
    }

    /// Connects (no handshake).
    pub fn connect(socket: &Path) -> Self {
        let stream = UnixStream::connect(socket).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        Self { stream, next_id: 1 }
    }

    /// Does the handshake with an optional token; panics unless the answer is `Hello`.
    pub fn hello(&mut self, token: Option<&str>) -> Response<'static> {
        let answer = self.request(RequestBody::Hello {
            version: PROTOCOL_VERSION,
            client: Cow::Borrowed("test/0.1"),
            token: token.map(SecretText::borrowed),
        });
        assert!(
            matches!(answer.body, ax_protocol::ResponseBody::Hello { .. }),
            "handshake failed: {answer:?}"
        );
        answer
    }

    /// Sends one request with a fresh id and reads its response; checks the id.
    pub fn request(&mut self, body: RequestBody<'_>) -> Response<'static> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&Request { id, body });
        let response = self.read().expect("a response");
        assert_eq!(response.id, id, "response id");
        response
    }

    /// Writes one request frame.
    pub fn send(&mut self, request: &Request<'_>) {
        self.send_raw(&to_frame(request, MAX_REQUEST_FRAME).unwrap());
    }

    /// Writes raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Reads one response frame; `None` on a clean end of stream.
    pub fn read(&mut self) -> Option<Response<'static>> {
        let mut header = [0u8; 4];
        match self.stream.read_exact(&mut header) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return None,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return None,
            Err(e) => panic!("reading a response: {e}"),
        }
        let len = u32::from_be_bytes(header);
        assert!(len <= MAX_RESPONSE_FRAME, "response frame of {len} bytes");
        let mut body = vec![0u8; len as usize];
        self.stream.read_exact(&mut body).unwrap();
        Some(decode_response(&body).unwrap().into_owned())
    }

    /// Asserts the sidecar closes the connection (after any responses already sent).
    pub fn expect_closed(&mut self) {
        let mut rest = Vec::new();
        match self.stream.read_to_end(&mut rest) {
            Ok(_) => assert!(rest.is_empty(), "unexpected bytes before close: {rest:?}"),
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
        }
    }

    /// Asserts the sidecar's notice that it is shutting down, sent to a connection with nothing
    /// in flight (an `Error` with id 0, PROTOCOL §7.4), and then the close.
    pub fn expect_shutdown_notice(&mut self) {
        self.expect_error(0, ax_protocol::ErrorCode::ShuttingDown);
        self.expect_closed();
    }

    /// `Get` and the value.
    pub fn get(&mut self, name: &str) -> Option<String> {
        match self
            .request(RequestBody::Get {
                name: Cow::Borrowed(name),
            })
            .body
        {
            ax_protocol::ResponseBody::Secret { value } => value.map(SecretText::into_string),
            other => panic!("expected Secret, got {other:?}"),
        }
    }
}

/// One frame around any `body`, well-formed or not (for feeding the sidecar bad input).
pub fn frame(body: &[u8]) -> Vec<u8> {
    let len = u32::try_from(body.len()).unwrap();
    let mut out = len.to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

/// The resident set size of process `pid` in KiB, from `/proc/<pid>/status`.
pub fn vm_rss_kib(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("a VmRSS line");
    line.trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap()
}

impl Client {
    /// Writes raw bytes and reports a failure instead of panicking: after bad input the
    /// sidecar may already have closed the connection.
    pub fn try_send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Reads one response frame's body without decoding it; `None` on a clean end of stream.
    pub fn read_body(&mut self) -> Option<Vec<u8>> {
        let mut header = [0u8; 4];
        match self.stream.read_exact(&mut header) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return None,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return None,
            Err(e) => panic!("reading a response: {e}"),
        }
        let len = u32::from_be_bytes(header);
        assert!(len <= MAX_RESPONSE_FRAME, "response frame of {len} bytes");
        let mut body = vec![0u8; len as usize];
        self.stream.read_exact(&mut body).unwrap();
        Some(body)
    }

    /// Reads one response and asserts it is an `Error` with `code` and `id`.
    pub fn expect_error(&mut self, id: u32, code: ax_protocol::ErrorCode) {
        let response = self.read().expect("an error response before the close");
        assert_eq!(response.id, id, "error id in {response:?}");
        match response.body {
            ax_protocol::ResponseBody::Error { code: got, .. } => assert_eq!(got, code),
            other => panic!("expected Error {code:?}, got {other:?}"),
        }
    }
}

/// A `kB` field of `/proc/<pid>/status` (`VmHWM`, `VmPeak`, ...), in KiB.
pub fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let prefix = format!("{field}:");
    let line = status
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("a {field} line"));
    line.trim_start_matches(&prefix)
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap()
}

/// The peak resident set size of process `pid` in KiB (`VmHWM`): unlike `VmRSS`, it cannot
/// miss a spike that came and went between two samples.
pub fn vm_hwm_kib(pid: u32) -> u64 {
    proc_status_kib(pid, "VmHWM")
}

/// Waits (up to `patience`) until the peer of `stream` has closed it, without reading: poll
/// reports a hang-up even while unread answers are queued. Returns whether it did.
pub fn wait_for_hangup(stream: &UnixStream, patience: Duration) -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::AsFd;
    let started = Instant::now();
    while started.elapsed() < patience {
        let mut fds = [PollFd::new(stream.as_fd(), PollFlags::empty())];
        if poll(&mut fds, PollTimeout::from(100_u16)).unwrap() > 0 {
            let revents = fds[0].revents().unwrap_or(PollFlags::empty());
            if revents.intersects(PollFlags::POLLHUP | PollFlags::POLLERR) {
                return true;
            }
        }
    }
    false
}
