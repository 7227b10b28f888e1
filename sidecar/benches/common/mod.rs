//! What both benchmarks share: the sealed bundle, the sidecar process, the echo server that is
//! the floor for every round trip, and the table they print.
// Each benchmark uses a part of this module.
#![allow(dead_code)]

use std::borrow::Cow;
use std::fs;
use std::io::{BufReader, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ax_protocol::blocking::read_frame;
use ax_protocol::bundle::local::{LocalKey, seal_local};
use ax_protocol::bundle::{Bundle, BundleSecret};
use ax_protocol::frame::{peek_id, to_frame};
use ax_protocol::limits::{MAX_REQUEST_FRAME, MAX_RESPONSE_FRAME, PROTOCOL_VERSION};
use ax_protocol::{Response, ResponseBody, SecretText};
use nix::fcntl::OFlag;
use nix::sched::{CpuSet, sched_getcpu, sched_setaffinity};
use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, pipe2};
use ring::rand::SystemRandom;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_ax-sidecar");
pub(crate) const EXECUTION_ID: &str = "bench";

/// The secret every client asks for (present in both bundles).
pub(crate) const TARGET: usize = 500;

pub(crate) fn name(i: usize) -> String {
    format!("SECRET_{i:06}")
}

/// 32 bytes.
pub(crate) fn value(i: usize) -> String {
    format!("value-{i:06}-{}", "x".repeat(19))
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A private directory (mode 0700, removed on drop) with the key and everything the runs write.
pub(crate) struct Scratch {
    pub dir: tempfile::TempDir,
    pub key_file: PathBuf,
    pub key: LocalKey,
    pub next: usize,
}

impl Scratch {
    pub(crate) fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("ax-sidecar-bench-")
            .tempdir()
            .unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        let bytes = LocalKey::generate(&SystemRandom::new()).unwrap();
        let key_file = dir.path().join("key");
        fs::write(&key_file, bytes.as_ref()).unwrap();
        let key = LocalKey::from_bytes(bytes.as_ref()).unwrap();
        Self {
            dir,
            key_file,
            key,
            next: 0,
        }
    }

    /// A fresh path in the directory.
    pub(crate) fn path(&mut self, what: &str) -> PathBuf {
        self.next += 1;
        self.dir.path().join(format!("{what}-{}", self.next))
    }

    /// Seals a bundle of `count` secrets, valid for an hour, into the directory.
    pub(crate) fn bundle(&mut self, count: usize) -> PathBuf {
        let names: Vec<String> = (0..count).map(name).collect();
        let values: Vec<String> = (0..count).map(value).collect();
        let now = now();
        let bundle = Bundle {
            tenant: Cow::Borrowed("bench"),
            execution_id: Cow::Borrowed(EXECUTION_ID),
            environment: Cow::Borrowed("bench"),
            config: None,
            issued_at: now,
            expires_at: now + 3600,
            secrets: names
                .iter()
                .zip(&values)
                .map(|(name, value)| BundleSecret {
                    name: Cow::Borrowed(name),
                    value: SecretText::borrowed(value),
                    version: 1,
                    created_at: now,
                    updated_at: now,
                })
                .collect(),
            overrides: vec![],
        };
        let sealed = seal_local(&bundle, &self.key, &SystemRandom::new()).unwrap();
        let path = self.path(&format!("bundle-{count}"));
        fs::write(&path, sealed).unwrap();
        path
    }
}

// ---------------------------------------------------------------------------------------------
// Processes: spawn with a ready pipe on fd 3, pin, measure, stop.

#[allow(unsafe_code)]
pub(crate) fn ready_on_fd3(command: &mut Command, write_fd: i32) {
    // SAFETY: between fork and exec the closure only calls dup2 or fcntl, both async-signal-safe,
    // allocates nothing and takes no lock. `write_fd` is open in the child: the parent keeps it
    // open until `spawn` has returned (see `spawn_until_ready`).
    unsafe {
        command.pre_exec(move || {
            // dup2 onto itself would keep the parent's close-on-exec flag: clear it instead.
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
}

/// Spawns `command` with a ready pipe on its fd 3 and reads up to the first newline or the end
/// of the pipe; the time from just before the fork to then, and whether it read "READY\n".
pub(crate) fn spawn_until_ready(mut command: Command) -> (Child, Duration, bool) {
    let (read, write) = pipe2(OFlag::O_CLOEXEC).unwrap();
    ready_on_fd3(&mut command, write.as_raw_fd());
    let start = Instant::now();
    let child = command.spawn().expect("spawning");
    drop(write);
    let mut pipe = fs::File::from(read);
    let mut line = Vec::with_capacity(8);
    let mut chunk = [0u8; 8];
    while !line.contains(&b'\n') {
        match pipe.read(&mut chunk).unwrap() {
            0 => break,
            n => line.extend_from_slice(&chunk[..n]),
        }
    }
    (child, start.elapsed(), line == b"READY\n")
}

/// Sets the affinity of every thread of process `pid` (threads it starts later inherit it).
pub(crate) fn pin_process(pid: u32, cpus: &CpuSet) {
    for task in fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let tid: i32 = task.unwrap().file_name().to_str().unwrap().parse().unwrap();
        match sched_setaffinity(Pid::from_raw(tid), cpus) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
            Err(err) => panic!("sched_setaffinity on thread {tid}: {err}"),
        }
    }
}

pub(crate) fn one_cpu(cpu: usize) -> CpuSet {
    let mut set = CpuSet::new();
    set.set(cpu).unwrap();
    set
}

/// VmRSS of process `pid`, in KiB.
pub(crate) fn rss_kib(pid: u32) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/<pid>/status")
}

/// A running `ax-sidecar serve`, killed if dropped before [`Sidecar::stop`].
pub(crate) struct Sidecar {
    pub child: Child,
    pub socket: PathBuf,
    pub stderr: PathBuf,
}

impl Sidecar {
    /// Starts `serve` on `bundle` and waits for READY; the sidecar and its spawn-to-ready time,
    /// or its exit status and stderr if it never got ready.
    pub(crate) fn start(
        scratch: &mut Scratch,
        bundle: &Path,
        audit: &Path,
        extra: &[&str],
    ) -> Result<(Self, Duration), String> {
        let socket = scratch.path("run").join("sidecar.sock");
        let stderr = scratch.path("stderr");
        let mut command = Command::new(BIN);
        command
            .arg("serve")
            .arg("--socket")
            .arg(&socket)
            .arg("--bundle-file")
            .arg(bundle)
            .arg("--key-file")
            .arg(&scratch.key_file)
            .args(["--ready-fd", "3", "--log-format", "text", "--audit-file"])
            .arg(audit)
            .args(["--max-connections", "1024"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&stderr).unwrap());
        let (child, elapsed, ready) = spawn_until_ready(command);
        let mut sidecar = Self {
            child,
            socket,
            stderr,
        };
        if ready {
            Ok((sidecar, elapsed))
        } else {
            let status = sidecar.child.wait().unwrap();
            Err(format!("{status}: {}", sidecar.stderr_text().trim()))
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn stderr_text(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// SIGTERM, then waits for the exit.
    pub(crate) fn stop(mut self) -> ExitStatus {
        kill(Pid::from_raw(self.pid() as i32), Signal::SIGTERM).unwrap();
        let status = self.child.wait().unwrap();
        if !status.success() {
            println!(
                "note: sidecar exited with {status} after SIGTERM: {}",
                self.stderr_text().trim()
            );
        }
        status
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The echo server: the same frames, no work.

/// Everything after the id of a response frame: the echo server puts the request's id in front.
pub(crate) struct Replies {
    pub hello: Vec<u8>,
    pub secret: Vec<u8>,
}

impl Replies {
    pub(crate) fn new() -> Self {
        let tail = |body: ResponseBody<'_>| {
            let frame = to_frame(&Response { id: 0, body }, MAX_RESPONSE_FRAME).unwrap();
            assert_eq!(frame[4], 0, "id 0 is one zero byte");
            frame[5..].to_vec()
        };
        let sidecar = format!("ax-sidecar/{}", env!("CARGO_PKG_VERSION"));
        let value = value(TARGET);
        Self {
            hello: tail(ResponseBody::Hello {
                version: PROTOCOL_VERSION,
                sidecar: Cow::Owned(sidecar),
                execution_id: Cow::Borrowed(EXECUTION_ID),
            }),
            secret: tail(ResponseBody::Secret {
                value: Some(SecretText::borrowed(&value)),
            }),
        }
    }
}

/// Writes into `out` the frame of `id` (a postcard varint) followed by `tail`.
pub(crate) fn frame_with_id(id: u32, tail: &[u8], out: &mut Vec<u8>) {
    let mut varint = [0u8; 5];
    let mut len = 0;
    let mut rest = id;
    loop {
        let low = (rest & 0x7f) as u8;
        rest >>= 7;
        varint[len] = if rest == 0 { low } else { low | 0x80 };
        len += 1;
        if rest == 0 {
            break;
        }
    }
    out.clear();
    out.extend_from_slice(&((len + tail.len()) as u32).to_be_bytes());
    out.extend_from_slice(&varint[..len]);
    out.extend_from_slice(tail);
}

/// An echo server listening on `socket` until the process ends.
pub(crate) struct Echo {
    pub socket: PathBuf,
    /// With `track`, the CPU its connection threads last answered on.
    pub cpu: Arc<AtomicUsize>,
}

impl Echo {
    /// Starts the server; its connection threads run on `pin` when given and, with `track`,
    /// note their CPU after each answer (one vDSO call: kept out of the throughput runs anyway).
    pub(crate) fn start(
        socket: PathBuf,
        replies: &Arc<Replies>,
        pin: Option<CpuSet>,
        track: bool,
    ) -> Self {
        let listener = UnixListener::bind(&socket).unwrap();
        let replies = Arc::clone(replies);
        let cpu = Arc::new(AtomicUsize::new(usize::MAX));
        let noted = track.then(|| Arc::clone(&cpu));
        thread::spawn(move || {
            for stream in listener.incoming() {
                let stream = stream.unwrap();
                let replies = Arc::clone(&replies);
                let noted = noted.clone();
                thread::spawn(move || {
                    if let Some(cpus) = pin {
                        sched_setaffinity(Pid::from_raw(0), &cpus).unwrap();
                    }
                    // A client that goes away mid-frame is its own business.
                    let _ = echo_connection(stream, &replies, noted.as_deref());
                });
            }
        });
        Self { socket, cpu }
    }
}

/// Answers the first frame with `Hello` and every later one with the `Secret`, under the
/// request's id, until the client closes.
pub(crate) fn echo_connection(
    stream: UnixStream,
    replies: &Replies,
    cpu: Option<&AtomicUsize>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    let mut buf = Vec::with_capacity(64);
    let mut out = Vec::with_capacity(64);
    let mut tail = &replies.hello;
    while let Some(body) = read_frame(&mut reader, MAX_REQUEST_FRAME, &mut buf)? {
        frame_with_id(peek_id(body).unwrap_or(0), tail, &mut out);
        writer.write_all(&out)?;
        tail = &replies.secret;
        if let Some(cpu) = cpu {
            cpu.store(sched_getcpu().unwrap_or(usize::MAX), Ordering::Relaxed);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The table.

/// Rows of figures for what is measured beside its floor, printed as one Markdown table.
pub(crate) struct Table {
    pub rows: Vec<[String; 6]>,
    /// The headings of the measured and the floor columns.
    pub columns: [&'static str; 2],
}

impl Table {
    pub(crate) fn new(measured: &'static str, floor: &'static str) -> Self {
        Self {
            rows: Vec::new(),
            columns: [measured, floor],
        }
    }

    pub(crate) fn row(&mut self, what: &str, sidecar: String, echo: String, ratio: Option<f64>) {
        let ratio = ratio.map_or_else(String::new, |r| format!("{r:.2}x"));
        self.rows.push([
            what.to_owned(),
            sidecar,
            echo,
            ratio,
            String::new(),
            String::new(),
        ]);
    }

    /// Like [`Table::row`], with a target and whether it was met.
    pub(crate) fn target(
        &mut self,
        what: &str,
        sidecar: String,
        echo: String,
        ratio: Option<f64>,
        target: &str,
        met: bool,
    ) {
        self.row(what, sidecar, echo, ratio);
        let last = self.rows.last_mut().unwrap();
        last[4] = target.to_owned();
        last[5] = if met { "met" } else { "short" }.to_owned();
    }

    /// Prints a Markdown table: text left-aligned, figures right-aligned.
    pub(crate) fn print(&self) {
        let header = [
            "measurement",
            self.columns[0],
            self.columns[1],
            "ratio",
            "target",
            "verdict",
        ]
        .map(str::to_owned);
        let mut widths = [0; 6];
        for row in std::iter::once(&header).chain(&self.rows) {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let rule = widths.map(|w| "-".repeat(w));
        for row in [&header, &rule].into_iter().chain(&self.rows) {
            let mut out = String::from("|");
            for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
                let pad = " ".repeat(width - cell.chars().count());
                if (1..=3).contains(&i) {
                    out += &format!(" {pad}{cell} |");
                } else {
                    out += &format!(" {cell}{pad} |");
                }
            }
            println!("{out}");
        }
    }
}

pub(crate) fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

pub(crate) fn millis(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

pub(crate) fn rate(per_second: f64) -> String {
    format!("{:.1}k/s", per_second / 1e3)
}

pub(crate) fn mib(kib: u64) -> String {
    format!("{:.2} MiB", kib as f64 / 1024.0)
}

/// 100000 as "100,000".
pub(crate) fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

pub(crate) fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}
