//! `cargo bench -p ax-integration --bench online`: the online path against a reference control
//! plane on loopback, each figure next to a baseline measured in the same run.
//!
//! - spawn-to-ready of `ax-sidecar serve` online (TLS handshake, bundle fetch, signature check,
//!   HPKE open) next to offline (a local sealed file), same 1,000 secrets, p50 over 50 starts;
//! - `ax-run` overhead: a node doing one `get` through `ax-run` against the same node run
//!   directly on an already-started sidecar, p50 of each over 50 runs, and the difference;
//! - executions per second with 8 `ax-run` in parallel, next to 8 direct node runs in parallel.
//!
//! The sidecar is `$AX_SIDECAR_BIN` or a release build made here.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr,
    missing_docs
)]

use std::borrow::Cow;
use std::fs::File;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ax_integration::admin::Admin;
use ax_integration::control_plane::{Config, ControlPlane, StateFiles};
use ax_integration::util;
use ax_protocol::SecretText;
use ax_protocol::bundle::local::{LocalKey, seal_local};
use ax_protocol::bundle::{Bundle, BundleSecret};
use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, pipe2};
use ring::rand::SystemRandom;

const AX_RUN: &str = env!("CARGO_BIN_EXE_ax-run");
const AX_PROBE: &str = env!("CARGO_BIN_EXE_ax-probe");
const SECRETS: usize = 1000;
const STARTS: usize = 50;
const RUNS: usize = 50;
const PARALLEL: usize = 8;
const PARALLEL_TOTAL: usize = 160;

fn name(i: usize) -> String {
    format!("SECRET_{i:06}")
}

fn value(i: usize) -> String {
    format!("value-{i:06}-{}", "x".repeat(19))
}

fn sidecar_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("AX_SIDECAR_BIN").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let ok = Command::new(cargo)
        .args(["build", "-q", "--release", "-p", "ax-sidecar"])
        .current_dir(root)
        .status()
        .unwrap()
        .success();
    assert!(ok, "cargo build --release -p ax-sidecar failed");
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("release")
        .join("ax-sidecar")
}

fn p50(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Spawns `command` with an inheritable ready pipe whose number `args` gets as `--ready-fd`;
/// returns the child and the time to READY.
fn spawn_ready(mut command: Command) -> (Child, Duration) {
    let (r, w) = pipe2(OFlag::O_CLOEXEC).unwrap();
    fcntl(&w, FcntlArg::F_SETFD(FdFlag::empty())).unwrap();
    command.arg("--ready-fd").arg(w.as_raw_fd().to_string());
    let started = Instant::now();
    let child = command.spawn().unwrap();
    drop(w);
    let mut line = Vec::new();
    File::from(r).read_to_end(&mut line).unwrap();
    let elapsed = started.elapsed();
    assert_eq!(line, b"READY\n", "the sidecar did not get ready");
    (child, elapsed)
}

fn stop(child: &mut Child) {
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    assert!(child.wait().unwrap().success());
}

struct Bench {
    sidecar: PathBuf,
    dir: tempfile::TempDir,
    plane: ControlPlane,
    files: StateFiles,
    admin: Admin,
}

impl Bench {
    fn path(&self, what: &str) -> PathBuf {
        self.dir.path().join(what)
    }

    fn online_command(&self, socket: &Path, token_file: &Path, execution_id: &str) -> Command {
        let mut c = Command::new(&self.sidecar);
        c.arg("serve")
            .arg("--socket")
            .arg(socket)
            .arg("--control-plane")
            .arg(&self.plane.url)
            .arg("--execution-id")
            .arg(execution_id)
            .arg("--token-file")
            .arg(token_file)
            .arg("--control-plane-key")
            .arg(&self.files.public_key_file)
            .arg("--ca-file")
            .arg(&self.files.ca_file)
            .args(["--audit-file", "/dev/null", "--log-level", "warn"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    }

    fn start_online(&self, i: usize) -> (Child, Duration, PathBuf) {
        let e = self
            .admin
            .create_execution("bench", None, None, None)
            .unwrap();
        let token = self.path(&format!("token-{i}"));
        util::write_private_file(&token, e.token.as_bytes()).unwrap();
        let socket = self.path(&format!("run-{i}/s.sock"));
        let (child, t) = spawn_ready(self.online_command(&socket, &token, &e.execution_id));
        (child, t, socket)
    }

    /// Online, started as `ax-run` starts it: two `--redact-stream`s and a client token.
    fn start_online_as_ax_run(&self, i: usize) -> Duration {
        let e = self
            .admin
            .create_execution("bench", None, None, None)
            .unwrap();
        let token = self.path(&format!("token-s{i}"));
        util::write_private_file(&token, e.token.as_bytes()).unwrap();
        let client = self.path(&format!("client-s{i}"));
        util::write_private_file(&client, b"client-token-for-the-bench").unwrap();
        let socket = self.path(&format!("run-s{i}/s.sock"));
        let mut command = self.online_command(&socket, &token, &e.execution_id);
        let (out_r, out_w) = pipe2(OFlag::O_CLOEXEC).unwrap();
        let (err_r, err_w) = pipe2(OFlag::O_CLOEXEC).unwrap();
        for fd in [&out_r, &err_r] {
            fcntl(fd, FcntlArg::F_SETFD(FdFlag::empty())).unwrap();
            command
                .arg("--redact-stream")
                .arg(format!("{}:2", fd.as_raw_fd()));
        }
        command.arg("--client-token-file").arg(&client);
        let (mut child, t) = spawn_ready(command);
        drop((out_r, err_r, out_w, err_w));
        stop(&mut child);
        t
    }
}

fn main() {
    let sidecar = sidecar_bin();
    let dir = tempfile::Builder::new()
        .prefix("ax-bench-online-")
        .tempdir()
        .unwrap();
    let plane = ControlPlane::start(Config::default()).unwrap();
    let files = plane.write_state_dir(&dir.path().join("state")).unwrap();
    let admin = Admin::new(&plane.url, plane.ca_pem.as_bytes(), &plane.admin_token).unwrap();
    admin.create_tenant("bench").unwrap();
    for i in 0..SECRETS {
        admin
            .put_secret("bench", &name(i), &value(i), false)
            .unwrap();
    }
    admin.create_tenant("small").unwrap();
    for i in 495..505 {
        admin
            .put_secret("small", &name(i), &value(i), false)
            .unwrap();
    }
    let bench = Bench {
        sidecar,
        dir,
        plane,
        files,
        admin,
    };

    // Offline: the same secrets in a local sealed file.
    let key_bytes = LocalKey::generate(&SystemRandom::new()).unwrap();
    let key_file = bench.path("key");
    util::write_private_file(&key_file, key_bytes.as_ref()).unwrap();
    let now = util::now_secs();
    let bundle = Bundle {
        tenant: Cow::Borrowed("bench"),
        execution_id: Cow::Borrowed("bench-offline"),
        environment: Cow::Borrowed("default"),
        config: None,
        issued_at: now,
        expires_at: now + 3600,
        secrets: (0..SECRETS)
            .map(|i| BundleSecret {
                name: Cow::Owned(name(i)),
                value: SecretText::owned(value(i)),
                version: 1,
                created_at: now,
                updated_at: now,
            })
            .collect(),
        overrides: Vec::new(),
    };
    let sealed = seal_local(
        &bundle,
        &LocalKey::from_bytes(key_bytes.as_ref()).unwrap(),
        &SystemRandom::new(),
    )
    .unwrap();
    let bundle_file = bench.path("bundle.sealed");
    util::write_private_file(&bundle_file, &sealed).unwrap();

    eprintln!("spawn-to-ready, {STARTS} starts each (alternating)...");
    let (mut online, mut offline, mut as_ax_run) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..STARTS + 3 {
        let (mut child, t, _) = bench.start_online(i);
        stop(&mut child);
        let mut c = Command::new(&bench.sidecar);
        c.arg("serve")
            .arg("--socket")
            .arg(bench.path(&format!("off-{i}/s.sock")))
            .arg("--bundle-file")
            .arg(&bundle_file)
            .arg("--key-file")
            .arg(&key_file)
            .args(["--audit-file", "/dev/null", "--log-level", "warn"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let (mut off_child, t_off) = spawn_ready(c);
        stop(&mut off_child);
        let t_streams = bench.start_online_as_ax_run(i);
        if i >= 3 {
            online.push(t);
            offline.push(t_off);
            as_ax_run.push(t_streams);
        }
    }
    let online_p50 = p50(online);
    let as_ax_run_p50 = p50(as_ax_run);
    let offline_p50 = p50(offline);

    eprintln!("ax-run overhead, {RUNS} runs each (alternating)...");
    let (mut standing, _, socket) = bench.start_online(10_000);
    // The standing sidecar has no client token: the direct node needs none.
    let direct_node = |socket: &Path| {
        let mut c = Command::new(AX_PROBE);
        c.args(["get", &name(500)])
            .env("AX_SECRETS_SOCKET", socket)
            .env_remove("AX_SECRETS_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    };
    let state_dir = bench.path("state");
    let through_ax_run = |tenant: &'static str| {
        let mut c = Command::new(AX_RUN);
        c.arg("--state-dir")
            .arg(&state_dir)
            .args(["--tenant", tenant, "--sidecar"])
            .arg(&bench.sidecar)
            .args(["--", AX_PROBE, "get", &name(500)])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    };
    let time = |mut c: Command| {
        let started = Instant::now();
        let status = c.status().unwrap();
        assert!(status.success(), "a run failed: {status}");
        started.elapsed()
    };
    let (mut direct, mut small, mut large) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..RUNS + 3 {
        let d = time(direct_node(&socket));
        let w_small = time(through_ax_run("small"));
        let w_large = time(through_ax_run("bench"));
        if i >= 3 {
            direct.push(d);
            small.push(w_small);
            large.push(w_large);
        }
    }
    let direct_p50 = p50(direct);
    let small_p50 = p50(small);
    let large_p50 = p50(large);

    eprintln!("throughput, {PARALLEL} in parallel, {PARALLEL_TOTAL} runs each way...");
    let parallel = |make: &(dyn Fn() -> Command + Sync)| {
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..PARALLEL {
                let next = Arc::clone(&next);
                s.spawn(move || {
                    while next.fetch_add(1, Ordering::Relaxed) < PARALLEL_TOTAL {
                        assert!(make().status().unwrap().success());
                    }
                });
            }
        });
        PARALLEL_TOTAL as f64 / started.elapsed().as_secs_f64()
    };
    let direct_rate = parallel(&|| direct_node(&socket));
    let small_rate = parallel(&|| through_ax_run("small"));
    let large_rate = parallel(&|| through_ax_run("bench"));
    stop(&mut standing);

    let verdict = |ok: bool| if ok { "met" } else { "**short**" };
    let five = Duration::from_millis(5);
    let ten = Duration::from_millis(10);
    println!();
    println!("| measurement | measured | baseline (same run) | target | |");
    println!("|---|---|---|---|---|");
    println!(
        "| sidecar spawn-to-ready p50, {SECRETS} secrets: online vs offline | {} | {} | ≤ 5 ms online | {} |",
        ms(online_p50),
        ms(offline_p50),
        verdict(online_p50 <= five)
    );
    println!(
        "| the same, online as ax-run starts it (2 redact streams, client token) | {} | {} | | |",
        ms(as_ax_run_p50),
        ms(offline_p50),
    );
    println!(
        "| one-`get` node p50 on a running sidecar (the baseline) | {} | | | |",
        ms(direct_p50)
    );
    for (label, p) in [("10 secrets", small_p50), ("1000 secrets", large_p50)] {
        let overhead = p.saturating_sub(direct_p50);
        println!(
            "| ax-run overhead, tenant of {label} (p50 {} through ax-run) | {} | {} | ≤ 10 ms | {} |",
            ms(p),
            ms(overhead),
            ms(direct_p50),
            verdict(overhead <= ten)
        );
    }
    println!(
        "| executions/s, {PARALLEL} ax-run in parallel, 10 / 1000 secrets | {small_rate:.0}/s / {large_rate:.0}/s | {direct_rate:.0}/s direct node runs | | |"
    );
    drop(bench);
}
