//! Shared helpers of the integration tests: a real `ax-sidecar` on a sealed bundle, and a
//! scripted fake sidecar for the client's edge cases.
//!
//! The binary is `$AX_SIDECAR_BIN` when set, else `ax-sidecar` next to the test executable
//! (`target/debug/`, which `cargo test --workspace` builds); when it is not there either,
//! `cargo build -q -p ax-sidecar` is run at the workspace root, and the tests fail with a clear
//! message if that does not produce it. A sidecar is ready when it writes `READY\n` on the pipe
//! it was given as fd 3; nothing here sleeps.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::borrow::Cow;
use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ax_protocol::blocking::read_frame;
use ax_protocol::frame::{decode_request, to_frame};
use ax_protocol::limits::{MAX_REQUEST_FRAME, MAX_RESPONSE_FRAME, PROTOCOL_VERSION};
use ax_protocol::{ErrorCode, Request, Response, ResponseBody};
use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, pipe2};
use serde_json::Value;

/// How long a test waits for something that takes milliseconds, before failing.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The workspace root: two levels above this crate.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The `ax-sidecar` binary under test (see the module docs for where it comes from).
pub fn sidecar_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        if let Some(given) = std::env::var_os("AX_SIDECAR_BIN").filter(|p| !p.is_empty()) {
            let given = PathBuf::from(given);
            assert!(
                given.is_file(),
                "AX_SIDECAR_BIN is {}, which is not a file",
                given.display()
            );
            return given;
        }
        // target/debug/deps/<test> -> target/debug/ax-sidecar
        let exe = std::env::current_exe().unwrap();
        let beside = exe
            .parent()
            .and_then(Path::parent)
            .expect("the test executable lives in target/<profile>/deps")
            .join("ax-sidecar");
        if !beside.is_file() {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "-q", "-p", "ax-sidecar"])
                .current_dir(workspace_root())
                .status();
            assert!(
                matches!(status, Ok(s) if s.success()),
                "building ax-sidecar failed ({status:?})"
            );
        }
        assert!(
            beside.is_file(),
            "no ax-sidecar binary at {}: set AX_SIDECAR_BIN, or run `cargo build -p ax-sidecar` \
             (or `cargo test --workspace`) first",
            beside.display()
        );
        beside
    })
}

/// A sealed bundle in a private directory, and the sidecar serving it (once started).
pub struct Sidecar {
    dir: tempfile::TempDir,
    pub socket: PathBuf,
    pub token: Option<String>,
    child: Option<Child>,
    starts: usize,
    /// Further `serve` arguments, e.g. `--allow-uid`.
    extra: Vec<String>,
}

impl Sidecar {
    /// Seals `secrets` and `overrides` (JSON objects of name to value, or to
    /// `{"value", "version", "updated_at"}`) and starts a sidecar on them, requiring `token`
    /// when given.
    pub fn start(secrets: Value, overrides: Value, token: Option<&str>) -> Self {
        Self::start_with(secrets, overrides, token, &[])
    }

    /// As [`start`](Self::start), with further `serve` arguments.
    pub fn start_with(
        secrets: Value,
        overrides: Value,
        token: Option<&str>,
        extra: &[&str],
    ) -> Self {
        let mut sidecar = Self::prepare(secrets, overrides, token);
        sidecar.extra = extra.iter().map(|arg| (*arg).to_owned()).collect();
        sidecar.launch();
        sidecar
    }

    /// Seals, without starting.
    pub fn prepare(secrets: Value, overrides: Value, token: Option<&str>) -> Self {
        // A short private directory: socket paths must stay under 108 bytes.
        let dir = tempfile::Builder::new().prefix("axrs-").tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        let spec = dir.path().join("secrets.json");
        let input = serde_json::json!({ "secrets": secrets, "overrides": overrides });
        fs::write(&spec, serde_json::to_vec(&input).unwrap()).unwrap();
        let sealed = Command::new(sidecar_binary())
            .arg("seal")
            .arg("--input")
            .arg(&spec)
            .arg("--key-file")
            .arg(dir.path().join("key"))
            .arg("--output")
            .arg(dir.path().join("bundle"))
            .arg("--new-key")
            .output()
            .unwrap();
        assert!(
            sealed.status.success(),
            "ax-sidecar seal failed: {}",
            String::from_utf8_lossy(&sealed.stderr)
        );
        if let Some(token) = token {
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(dir.path().join("token"))
                .unwrap();
            file.write_all(token.as_bytes()).unwrap();
        }
        fs::create_dir(dir.path().join("run")).unwrap();
        fs::set_permissions(dir.path().join("run"), fs::Permissions::from_mode(0o700)).unwrap();
        Self {
            socket: dir.path().join("run").join("s.sock"),
            dir,
            token: token.map(str::to_owned),
            child: None,
            starts: 0,
            extra: Vec::new(),
        }
    }

    /// A fresh random-enough token for one test.
    pub fn new_token() -> String {
        use std::hash::{BuildHasher, Hasher};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        // RandomState is seeded at random per process: good enough for a test's token.
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_usize(NEXT.fetch_add(1, Ordering::Relaxed));
        format!("tok-{:016x}{:08x}", hasher.finish(), std::process::id())
    }

    /// A path in the sidecar's private directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn launch(&mut self) {
        self.starts += 1;
        let log = self.path(&format!("sidecar-{}.log", self.starts));
        let mut command = Command::new(sidecar_binary());
        command
            .arg("serve")
            .arg("--socket")
            .arg(&self.socket)
            .arg("--bundle-file")
            .arg(self.path("bundle"))
            .arg("--key-file")
            .arg(self.path("key"))
            .arg("--audit-file")
            .arg(self.path("audit.jsonl"))
            .args(["--ready-fd", "3"])
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(fs::File::create(&log).unwrap())
            .stderr(fs::File::create(&log).unwrap());
        if self.token.is_some() {
            command.arg("--client-token-file").arg(self.path("token"));
        }
        let (read, write) = pipe2(OFlag::O_CLOEXEC).unwrap();
        give_fd3(&mut command, &write);
        let child = command.spawn().unwrap();
        drop(write);
        self.child = Some(child);
        let ready = read_ready(read);
        if ready != b"READY\n" {
            let mut child = self.child.take().unwrap();
            let _ = child.kill();
            let status = child.wait().unwrap();
            panic!(
                "the sidecar did not become ready (read {:?}, {status}):\n{}",
                String::from_utf8_lossy(&ready),
                fs::read_to_string(&log).unwrap_or_default()
            );
        }
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn stop(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("the sidecar is running");
        kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
        child.wait().unwrap()
    }

    /// Stops the sidecar and starts a new one on the same socket and bundle.
    pub fn restart(&mut self) {
        let status = self.stop();
        assert!(status.success(), "the sidecar exited {status} on SIGTERM");
        self.launch();
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

#[allow(unsafe_code)]
fn give_fd3(command: &mut Command, write: &OwnedFd) {
    let fd = write.as_raw_fd();
    // SAFETY: between fork and exec the closure only calls dup2, which is async-signal-safe
    // and touches no memory of the parent; dup2 clears close-on-exec on fd 3.
    unsafe {
        command.pre_exec(move || {
            if nix::libc::dup2(fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Reads the ready pipe until a line or end of file, for at most [`PATIENCE`].
fn read_ready(read: OwnedFd) -> Vec<u8> {
    let deadline = Instant::now() + PATIENCE;
    let mut line = Vec::new();
    let mut file = fs::File::from(read);
    while !line.ends_with(b"\n") {
        let left = deadline.saturating_duration_since(Instant::now());
        let millis = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(file.as_fd(), PollFlags::POLLIN)];
        if millis == 0 || poll(&mut fds, PollTimeout::from(millis)).unwrap() == 0 {
            break;
        }
        let mut chunk = [0u8; 64];
        match file.read(&mut chunk).unwrap() {
            0 => break,
            n => line.extend_from_slice(&chunk[..n]),
        }
    }
    line
}

/// Runs the test `name` of this test executable again in a child process with `env` set
/// (`None` removes a variable), and asserts that it passes there.
///
/// The environment is process-wide, so tests that need `AX_SECRETS_SOCKET` set (or unset) run
/// alone in a child rather than race the other tests' threads. `AX_SHIM_TEST_CHILD` tells the
/// test it is the child.
pub fn run_in_child(name: &str, env: &[(&str, Option<&str>)]) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env("AX_SHIM_TEST_CHILD", "1");
    for (key, value) in env {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{name} failed in the child:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Whether this process is a child started by [`run_in_child`].
pub fn is_child() -> bool {
    std::env::var_os("AX_SHIM_TEST_CHILD").is_some()
}

/// One accepted connection, seen from the fake sidecar.
pub struct Peer {
    pub stream: UnixStream,
    buf: Vec<u8>,
    requests: Arc<Mutex<Vec<Request<'static>>>>,
}

impl Peer {
    /// The next request, or `None` when the client closed the connection.
    pub fn read(&mut self) -> Option<Request<'static>> {
        let body = match read_frame(&mut self.stream, MAX_REQUEST_FRAME, &mut self.buf) {
            Ok(Some(body)) => body,
            Ok(None) => return None,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return None,
            Err(e) => panic!("the fake sidecar could not read a request: {e}"),
        };
        let request = decode_request(body).unwrap().into_owned();
        self.requests.lock().unwrap().push(request.clone());
        Some(request)
    }

    /// Sends one response.
    pub fn answer(&mut self, id: u32, body: ResponseBody<'_>) {
        let frame = to_frame(&Response { id, body }, MAX_RESPONSE_FRAME).unwrap();
        self.stream.write_all(&frame).unwrap();
    }

    /// Reads the `Hello` and accepts it.
    pub fn handshake(&mut self) -> Request<'static> {
        let hello = self.read().expect("a Hello");
        self.answer(
            hello.id,
            ResponseBody::Hello {
                version: PROTOCOL_VERSION,
                sidecar: Cow::Borrowed("fake/0"),
                execution_id: Cow::Borrowed("exec-fake"),
            },
        );
        hello
    }

    /// Sends an `Error` answer.
    pub fn error(&mut self, id: u32, code: ErrorCode) {
        let message = format!("{} from the fake", code.name());
        self.answer(
            id,
            ResponseBody::Error {
                code,
                message: Cow::Owned(message),
            },
        );
    }
}

type Script = dyn Fn(usize, &mut Peer) + Send + Sync;

/// A stand-in sidecar: one thread accepting on a Unix socket, serving connection number `i`
/// (from 0) with `script(i, peer)`; a script's panic fails the test at [`close`](Self::close).
pub struct FakeSidecar {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
    connections: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<Request<'static>>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeSidecar {
    pub fn start(script: impl Fn(usize, &mut Peer) + Send + Sync + 'static) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("axrs-fake-")
            .tempdir()
            .unwrap();
        let path = dir.path().join("s.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let script: Box<Script> = Box::new(script);
        let thread = {
            let (connections, requests, stop) =
                (connections.clone(), requests.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let stream = stream.unwrap();
                    stream.set_read_timeout(Some(PATIENCE)).unwrap();
                    let index = connections.fetch_add(1, Ordering::SeqCst);
                    let mut peer = Peer {
                        stream,
                        buf: Vec::new(),
                        requests: requests.clone(),
                    };
                    script(index, &mut peer);
                }
            })
        };
        Self {
            _dir: dir,
            path,
            connections,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Every request read so far, in order.
    pub fn requests(&self) -> Vec<Request<'static>> {
        self.requests.lock().unwrap().clone()
    }

    /// Stops accepting and fails the test if a script panicked. Close the client first: the
    /// script of its connection runs until the client hangs up.
    pub fn close(mut self) {
        self.shut();
    }

    fn shut(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accepting thread (it fails harmlessly if the thread is gone).
        let _ = UnixStream::connect(&self.path);
        if let Err(panic) = thread.join() {
            if !std::thread::panicking() {
                std::panic::resume_unwind(panic);
            }
        }
    }
}

impl Drop for FakeSidecar {
    fn drop(&mut self) {
        self.shut();
    }
}

/// A context on the fake sidecar's socket.
pub fn context(fake: &FakeSidecar) -> ax_secrets::AxiomContext {
    ax_secrets::AxiomContext::builder()
        .socket(&fake.path)
        .build()
}

/// Answers request `id` with the secret `value`.
pub fn secret(peer: &mut Peer, id: u32, value: &str) {
    peer.answer(
        id,
        ax_protocol::ResponseBody::Secret {
            value: Some(ax_protocol::SecretText::borrowed(value)),
        },
    );
}

/// Answers every request with `value` until the client hangs up (after the handshake).
pub fn serve_gets(peer: &mut Peer, value: &str) {
    while let Some(request) = peer.read() {
        secret(peer, request.id, value);
    }
}
