//! `cargo bench -p ax-sidecar --bench shims`: what one `get` costs node code in each language,
//! next to the least a program in that language can spend on the same round trip.
//!
//! Every shim listed with a `bench` program in `integration/conformance/shims.json` is built
//! (its `build` steps) and run as `<bench> ECHO_SOCKET NAME CALLS` with `AX_SECRETS_SOCKET`
//! pointing at a real sidecar. The program times, in its own language and clock, `get(NAME)`
//! through the shim against the sidecar, and a raw round trip of the same frame bytes over a
//! plain socket against the echo server of `common` (which answers with the sidecar's exact
//! bytes), alternating the two in blocks, and prints one JSON line of percentiles. The ratio is
//! then the shim's own cost plus the sidecar's, over the language's socket floor.
//!
//! Each program runs twice: with default scheduling, and with the program, the sidecar and the
//! echo server all pinned to one CPU, which takes cross-CPU wake-ups (tens of µs on a small
//! VM, and placed by the scheduler, not by us) out of the figure.
// A benchmark reports on stdout and may panic on anything unexpected: it has no caller to tell.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::unistd::Pid;
use serde_json::Value;

mod common;
use common::*;

/// Timed calls of each kind (raw and shim) per program and scheduling.
const CALLS: usize = 20_000;
const PINNED_CPU: usize = 0;
/// The target of the shims issue: a shim's `get` within 1.5× its language's raw round trip.
const PINNED_BOUND: f64 = 1.5;

/// One shim's benchmark program, from `shims.json`.
struct Shim {
    name: String,
    dir: PathBuf,
    build: Vec<Vec<String>>,
    bench: Vec<String>,
}

/// What a benchmark program printed.
struct Figures {
    raw_p50: Duration,
    raw_p99: Duration,
    shim_p50: Duration,
    shim_p99: Duration,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

fn shims() -> Vec<Shim> {
    let root = repo_root();
    let path = root.join("integration/conformance/shims.json");
    let doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    doc.as_object()
        .unwrap()
        .iter()
        .filter_map(|(name, shim)| {
            Some(Shim {
                name: name.clone(),
                dir: root.join(shim["dir"].as_str().unwrap()),
                build: shim["build"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(strings)
                    .collect(),
                bench: strings(shim.get("bench")?),
            })
        })
        .collect()
}

fn build(shim: &Shim) {
    for step in &shim.build {
        let status = Command::new(&step[0])
            .args(&step[1..])
            .current_dir(&shim.dir)
            .stdout(Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("{}: cannot run {step:?}: {e}", shim.name));
        assert!(status.success(), "{}: {step:?} failed: {status}", shim.name);
    }
}

/// Runs the shim's program once; `pin` puts it (and every thread it starts) on those CPUs.
fn run(shim: &Shim, sidecar: &Path, echo: &Path, pin: Option<CpuSet>) -> Figures {
    let mut command = Command::new(&shim.bench[0]);
    command
        .args(&shim.bench[1..])
        .arg(echo)
        .arg(name(TARGET))
        .arg(CALLS.to_string())
        .current_dir(&shim.dir)
        .env("AX_SECRETS_SOCKET", sidecar)
        .env_remove("AX_SECRETS_TOKEN")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    if let Some(cpus) = pin {
        // SAFETY: between fork and exec the closure only makes one system call (no allocation,
        // no lock).
        #[allow(unsafe_code)]
        unsafe {
            command.pre_exec(move || {
                sched_setaffinity(Pid::from_raw(0), &cpus).map_err(std::io::Error::from)
            });
        }
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{}: cannot run {:?}: {e}", shim.name, shim.bench));
    assert!(
        output.status.success(),
        "{}: the benchmark program failed: {}",
        shim.name,
        output.status
    );
    let line = String::from_utf8(output.stdout).unwrap();
    let doc: Value = serde_json::from_str(line.trim())
        .unwrap_or_else(|e| panic!("{}: not one JSON line ({e}): {line:?}", shim.name));
    let ns = |key: &str| {
        Duration::from_nanos(
            doc[key]
                .as_u64()
                .unwrap_or_else(|| panic!("{}: no {key} in {line:?}", shim.name)),
        )
    };
    Figures {
        raw_p50: ns("raw_p50_ns"),
        raw_p99: ns("raw_p99_ns"),
        shim_p50: ns("shim_p50_ns"),
        shim_p99: ns("shim_p99_ns"),
    }
}

fn main() {
    let wall = Instant::now();
    let shims = shims();
    for shim in &shims {
        build(shim);
    }
    let mut scratch = Scratch::new();
    let bundle = scratch.bundle(1_000);
    let audit = scratch.path("audit");
    let (sidecar, _) = Sidecar::start(&mut scratch, &bundle, &audit, &[])
        .unwrap_or_else(|failure| panic!("the sidecar did not start: {failure}"));
    let replies = Arc::new(Replies::new());
    let pinned = one_cpu(PINNED_CPU);
    let echo = Echo::start(scratch.path("echo.sock"), &replies, None, false);
    let echo_pinned = Echo::start(
        scratch.path("echo-pinned.sock"),
        &replies,
        Some(pinned),
        false,
    );
    let all_cpus = sched_getaffinity(Pid::from_raw(0)).unwrap();

    let mut table = Table::new("shim", "raw socket");
    for shim in &shims {
        for (label, pin) in [("default scheduling", None), ("all on CPU 0", Some(pinned))] {
            pin_process(sidecar.pid(), pin.as_ref().unwrap_or(&all_cpus));
            let floor = if pin.is_some() { &echo_pinned } else { &echo };
            let f = run(shim, &sidecar.socket, &floor.socket, pin);
            let what = format!("{} get p50, {label}", shim.name);
            let r50 = ratio(f.shim_p50, f.raw_p50);
            if pin.is_some() {
                table.target(
                    &what,
                    micros(f.shim_p50),
                    micros(f.raw_p50),
                    Some(r50),
                    &format!("<= {PINNED_BOUND}x raw"),
                    r50 <= PINNED_BOUND,
                );
            } else {
                table.row(&what, micros(f.shim_p50), micros(f.raw_p50), Some(r50));
            }
            table.row(
                &format!("{} get p99, {label}", shim.name),
                micros(f.shim_p99),
                micros(f.raw_p99),
                Some(ratio(f.shim_p99, f.raw_p99)),
            );
        }
    }
    pin_process(sidecar.pid(), &all_cpus);
    sidecar.stop();

    println!(
        "Each shim's get through a real ax-sidecar against a raw round trip of the same bytes in \
         the same language (a blocking echo server sending the sidecar's bytes), {CALLS} calls \
         of each."
    );
    table.print();
    println!("wall time {:.1} s", wall.elapsed().as_secs_f64());
}
