//! `cargo bench -p ax-sidecar --bench sidecar`: what the sidecar costs its clients, each figure
//! next to a floor measured in the same run.
//!
//! The floor for serving is an echo server written here with blocking std I/O and a thread per
//! connection. It speaks the same framing and answers every request frame with exactly the
//! bytes the sidecar sends for it (checked at start), so it does the least any server on a Unix
//! socket can do: read a frame, write a frame. sidecar/echo is then the cost of the sidecar
//! itself (its runtime, decoding, the lookup, the audit queue), not of the kernel.
//!
//! - `Get` round trip p50/p99 on one connection, with default scheduling and with client and
//!   server pinned to one CPU: on a small VM a cross-CPU wake-up costs several same-CPU ones, so
//!   the default figures mostly say where the scheduler put the server; a row shows how often
//!   it ran on the client's CPU;
//! - `Get` round trips per second with 1, 16 and 64 connections, one client thread each;
//! - spawn-to-ready (fork/exec until "READY\n" is read from the ready pipe) and idle RSS with
//!   1,000 and 100,000 secrets, next to `sh` printing the same line, and the exec of the same
//!   binary alone (`--version`).
//!
//! The client code is the same for both servers, and the two alternate in blocks so that load
//! from elsewhere hits both alike. The machine may be shared: compare ratios.
// A benchmark reports on stdout and may panic on anything unexpected: it has no caller to tell.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::borrow::Cow;
use std::fs;
use std::io::BufReader;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use ax_protocol::blocking::{read_frame, write_frame};
use ax_protocol::frame::decode_response;
use ax_protocol::limits::{MAX_REQUEST_FRAME, MAX_RESPONSE_FRAME, PROTOCOL_VERSION};
use ax_protocol::{Request, RequestBody, Response, ResponseBody};
use nix::sched::{CpuSet, sched_getaffinity, sched_getcpu, sched_setaffinity};
use nix::unistd::Pid;

mod common;
use common::*;

/// Bundle sizes: the usual one, and the largest we promise to start quickly.
const SMALL: usize = 1_000;
const LARGE: usize = 100_000;
const WARM_UP: usize = 3_000;
const TIMED: usize = 20_000;
/// Timed round trips alternate between sidecar and echo in blocks of this many.
const BLOCK: usize = 1_000;
/// Where client and server ran is noted once every this many timed round trips.
const PLACEMENT_EVERY: usize = 50;
/// Throughput alternates between sidecar and echo: this many rounds each, of this long.
const ROUNDS: usize = 3;
const THROUGHPUT_ROUND: Duration = Duration::from_millis(1_000);
const CONNECTIONS: [usize; 3] = [1, 16, 64];
const SPAWN_RUNS_SMALL: usize = 30;
const SPAWN_RUNS_LARGE: usize = 10;
const PINNED_CPU: usize = 0;

/// The CPU thread `tid` of process `pid` last ran on (field 39 of its `stat`).
fn last_cpu(pid: u32, tid: u32) -> usize {
    let stat = fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")).unwrap();
    // The fields after the command name, which may hold spaces, start at field 3.
    let after_name = &stat[stat.rfind(')').unwrap() + 1..];
    after_name
        .split_whitespace()
        .nth(39 - 3)
        .and_then(|cpu| cpu.parse().ok())
        .expect("processor field in /proc/<pid>/task/<tid>/stat")
}

// ---------------------------------------------------------------------------------------------
// The client: one code path for both servers.

struct Client {
    writer: UnixStream,
    reader: BufReader<UnixStream>,
    scratch: Vec<u8>,
    buf: Vec<u8>,
    next_id: u32,
    name: String,
    value_len: usize,
}

impl Client {
    /// Connects and does the handshake.
    fn connect(socket: &Path) -> Self {
        let writer = UnixStream::connect(socket)
            .unwrap_or_else(|e| panic!("connect {}: {e}", socket.display()));
        let reader = BufReader::new(writer.try_clone().unwrap());
        let mut client = Self {
            writer,
            reader,
            scratch: Vec::with_capacity(64),
            buf: Vec::with_capacity(64),
            next_id: 0,
            name: name(TARGET),
            value_len: value(TARGET).len(),
        };
        let hello = RequestBody::Hello {
            version: PROTOCOL_VERSION,
            client: Cow::Borrowed("bench/0.1"),
            token: None,
        };
        match client.exchange(hello) {
            Response {
                body: ResponseBody::Hello { .. },
                ..
            } => {}
            other => panic!("handshake refused: {other:?}"),
        }
        client
    }

    /// Sends one request with the next id, reads the answer and checks its id.
    fn exchange(&mut self, body: RequestBody<'_>) -> Response<'_> {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let request = Request { id, body };
        write_frame(
            &mut self.writer,
            &request,
            MAX_REQUEST_FRAME,
            &mut self.scratch,
        )
        .unwrap();
        let body = read_frame(&mut self.reader, MAX_RESPONSE_FRAME, &mut self.buf)
            .unwrap()
            .expect("the server closed the connection");
        let response = decode_response(body).unwrap();
        assert_eq!(response.id, id, "response id");
        response
    }

    /// One `Get` round trip; panics unless the answer is the value.
    fn get(&mut self) {
        let name = std::mem::take(&mut self.name);
        let value_len = self.value_len;
        match self.exchange(RequestBody::Get {
            name: Cow::Borrowed(&name),
        }) {
            Response {
                body: ResponseBody::Secret { value: Some(v) },
                ..
            } if v.len() == value_len => {}
            other => panic!("unexpected answer to Get: {other:?}"),
        }
        self.name = name;
    }

    /// The body of the last response.
    fn last_body(&self) -> &[u8] {
        &self.buf
    }
}

// ---------------------------------------------------------------------------------------------
// Measurements.

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// p50 and p99 of one server's round trips, and how often it had last run on the client's CPU.
struct Latency {
    p50: Duration,
    p99: Duration,
    same_cpu: f64,
}

/// One server as the latency run sees it: where to connect, and the CPU it last ran on.
struct Server<'a> {
    socket: &'a Path,
    cpu: &'a (dyn Fn() -> usize + Sync),
}

/// `Get` round trips on one connection to each server, from a thread that runs on `pin` when
/// given. The timed round trips alternate between the two servers in blocks, so that a change
/// in the machine's load hits both alike; every [`PLACEMENT_EVERY`]th one, outside the timing,
/// notes whether server and client had run on the same CPU. (sidecar, echo, gets sent to each).
fn get_latency(servers: [Server<'_>; 2], pin: Option<CpuSet>) -> (Latency, Latency, u64) {
    thread::scope(|scope| {
        scope
            .spawn(|| {
                if let Some(cpus) = pin {
                    sched_setaffinity(Pid::from_raw(0), &cpus).unwrap();
                }
                let mut clients = servers.each_ref().map(|s| Client::connect(s.socket));
                let mut samples = [Vec::with_capacity(TIMED), Vec::with_capacity(TIMED)];
                let mut same = [0u32; 2];
                for client in &mut clients {
                    for _ in 0..WARM_UP {
                        client.get();
                    }
                }
                for _ in 0..TIMED / BLOCK {
                    for (i, client) in clients.iter_mut().enumerate() {
                        for n in 0..BLOCK {
                            let start = Instant::now();
                            client.get();
                            samples[i].push(start.elapsed());
                            if n % PLACEMENT_EVERY == 0 {
                                let here = sched_getcpu().unwrap();
                                same[i] += u32::from((servers[i].cpu)() == here);
                            }
                        }
                    }
                }
                let placements = (TIMED / PLACEMENT_EVERY) as f64;
                let mut latencies = samples.into_iter().zip(same).map(|(mut samples, same)| {
                    samples.sort_unstable();
                    Latency {
                        p50: percentile(&samples, 0.50),
                        p99: percentile(&samples, 0.99),
                        same_cpu: f64::from(same) / placements,
                    }
                });
                let sidecar = latencies.next().unwrap();
                let echo = latencies.next().unwrap();
                (sidecar, echo, (WARM_UP + TIMED) as u64)
            })
            .join()
            .unwrap()
    })
}

/// `Get` round trips per second over `connections` connections to `socket`, one client thread
/// each, for [`THROUGHPUT_ROUND`]: (requests per second, gets sent).
fn throughput_round(socket: &Path, connections: usize) -> (f64, u64) {
    let barrier = Arc::new(Barrier::new(connections));
    let threads: Vec<_> = (0..connections)
        .map(|_| {
            let socket = socket.to_owned();
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                let mut client = Client::connect(&socket);
                for _ in 0..100 {
                    client.get();
                }
                barrier.wait();
                let start = Instant::now();
                let mut done = 0u64;
                while start.elapsed() < THROUGHPUT_ROUND {
                    client.get();
                    done += 1;
                }
                (done as f64 / start.elapsed().as_secs_f64(), done + 100)
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|t| t.join().unwrap())
        .fold((0.0, 0), |(rate, gets), (r, g)| (rate + r, gets + g))
}

/// Mean requests per second of each server over [`ROUNDS`] alternating rounds:
/// (sidecar, echo, gets sent to the sidecar).
fn throughput(sidecar: &Path, echo: &Path, connections: usize) -> (f64, f64, u64) {
    let (mut sidecar_rate, mut echo_rate, mut gets) = (0.0, 0.0, 0);
    for _ in 0..ROUNDS {
        let (rate, sent) = throughput_round(sidecar, connections);
        sidecar_rate += rate;
        gets += sent;
        echo_rate += throughput_round(echo, connections).0;
    }
    (
        sidecar_rate / ROUNDS as f64,
        echo_rate / ROUNDS as f64,
        gets,
    )
}

/// Start-up figures over several runs: sorted spawn-to-ready times, sorted idle RSS in KiB.
#[derive(Default)]
struct Starts {
    times: Vec<Duration>,
    rss_kib: Vec<u64>,
}

impl Starts {
    fn push(&mut self, time: Duration, rss_kib: u64) {
        self.times.push(time);
        self.rss_kib.push(rss_kib);
    }

    fn sort(&mut self) {
        self.times.sort_unstable();
        self.rss_kib.sort_unstable();
    }

    fn time(&self, p: f64) -> Duration {
        percentile(&self.times, p)
    }

    fn median_rss(&self) -> u64 {
        self.rss_kib[self.rss_kib.len() / 2]
    }
}

/// Start-up of the sidecar and of two references, interleaved run by run.
struct StartRuns {
    sidecar: Starts,
    /// `sh` writing "READY" to fd 3 and waiting on its stdin: the least a process started
    /// this way costs.
    shell: Starts,
    /// `ax-sidecar --version` until it exits (its fd 3 closes): exec, loading and argument
    /// parsing of this binary, no serving (RSS not measured).
    version: Starts,
    /// Set if the sidecar could not lock its memory and was started without.
    note: Option<String>,
}

/// Starts a sidecar on `bundle` `runs` times, each run followed by the references. A sidecar
/// run waits for READY, does a handshake and a `Get`, reads VmRSS while the connection idles,
/// then stops the sidecar.
fn starts(scratch: &mut Scratch, bundle: &Path, runs: usize) -> StartRuns {
    let audit = scratch.path("audit-starts");
    let mut extra: &[&str] = &[];
    let mut note = None;
    let (mut sidecars, mut shells) = (Starts::default(), Starts::default());
    let mut versions = Starts::default();
    while sidecars.times.len() < runs {
        let (sidecar, elapsed) = match Sidecar::start(scratch, bundle, &audit, extra) {
            Ok(started) => started,
            Err(failure) if extra.is_empty() && failure.contains("exit status: 71") => {
                note = Some(format!("started with --allow-unlocked-memory: {failure}"));
                extra = &["--allow-unlocked-memory"];
                continue;
            }
            Err(failure) => panic!("the sidecar did not start: {failure}"),
        };
        let mut client = Client::connect(&sidecar.socket);
        client.get();
        sidecars.push(elapsed, rss_kib(sidecar.pid()));
        drop(client);
        sidecar.stop();

        let mut command = Command::new("/bin/sh");
        command
            .args(["-c", "echo READY >&3; read _"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null());
        let (mut child, elapsed, ready) = spawn_until_ready(command);
        assert!(ready, "sh wrote READY");
        shells.push(elapsed, rss_kib(child.id()));
        drop(child.stdin.take());
        child.wait().unwrap();

        let mut command = Command::new(BIN);
        command.arg("--version").stdout(Stdio::null());
        let (mut child, elapsed, _) = spawn_until_ready(command);
        assert!(child.wait().unwrap().success(), "ax-sidecar --version");
        versions.push(elapsed, 0);
    }
    for starts in [&mut sidecars, &mut shells, &mut versions] {
        starts.sort();
    }
    StartRuns {
        sidecar: sidecars,
        shell: shells,
        version: versions,
        note,
    }
}

/// Checks that the echo server answers with the very bytes the sidecar sends; gets sent to
/// the sidecar.
fn check_echo_matches(sidecar: &Path, echo: &Path) -> u64 {
    let mut from_sidecar = Client::connect(sidecar);
    let mut from_echo = Client::connect(echo);
    let gets = 200;
    for n in 0..=gets {
        // First the answers to Hello, then to each Get.
        assert_eq!(
            from_sidecar.last_body(),
            from_echo.last_body(),
            "the echo server's answer differs from the sidecar's"
        );
        if n < gets {
            from_sidecar.get();
            from_echo.get();
        }
    }
    gets
}

fn count_lines(path: &Path) -> u64 {
    fs::read(path)
        .map(|bytes| bytes.iter().filter(|&&b| b == b'\n').count() as u64)
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------

/// The echo servers the serving measurements compare against.
struct Echoes {
    /// Default scheduling; notes its CPU.
    default: Echo,
    /// Connection threads on [`PINNED_CPU`]; notes its CPU.
    pinned: Echo,
    /// For throughput: notes nothing.
    bulk: Echo,
}

/// Rows for `Get` latency, default scheduling then everything on [`PINNED_CPU`]; gets sent.
fn latency_rows(table: &mut Table, sidecar: &Sidecar, echoes: &Echoes) -> u64 {
    let all_cpus = sched_getaffinity(Pid::from_raw(0)).unwrap();
    let pinned = one_cpu(PINNED_CPU);
    let pid = sidecar.pid();
    // The default runtime serves on the main thread, whose id is the process id.
    let sidecar_cpu = || last_cpu(pid, pid);
    let mut gets = 0;
    for (label, pin, bound) in [
        ("default scheduling", None, 1.15),
        ("all on CPU 0", Some(pinned), 1.5),
    ] {
        pin_process(pid, pin.as_ref().unwrap_or(&all_cpus));
        let floor = if pin.is_some() {
            &echoes.pinned
        } else {
            &echoes.default
        };
        let echo_cpu = || floor.cpu.load(Ordering::Relaxed);
        let servers = [
            Server {
                socket: &sidecar.socket,
                cpu: &sidecar_cpu,
            },
            Server {
                socket: &floor.socket,
                cpu: &echo_cpu,
            },
        ];
        let (s, e, sent) = get_latency(servers, pin);
        gets += sent;
        table.target(
            &format!("get p50, {label}"),
            micros(s.p50),
            micros(e.p50),
            Some(ratio(s.p50, e.p50)),
            &format!("<= {bound}x echo"),
            ratio(s.p50, e.p50) <= bound,
        );
        table.row(
            &format!("get p99, {label}"),
            micros(s.p99),
            micros(e.p99),
            Some(ratio(s.p99, e.p99)),
        );
        if pin.is_none() {
            let percent = |share: f64| format!("{:.0} %", share * 100.0);
            table.row(
                "  server last ran on the client's CPU",
                percent(s.same_cpu),
                percent(e.same_cpu),
                None,
            );
        }
    }
    pin_process(pid, &all_cpus);
    gets
}

/// Rows for throughput at each of [`CONNECTIONS`]; gets sent.
fn throughput_rows(table: &mut Table, sidecar: &Sidecar, echo: &Echo) -> u64 {
    let mut gets = 0;
    for connections in CONNECTIONS {
        let (s, e, sent) = throughput(&sidecar.socket, &echo.socket, connections);
        gets += sent;
        let what = format!(
            "gets/s, {connections} connection{}",
            if connections == 1 { "" } else { "s" }
        );
        if connections == 16 {
            table.target(
                &what,
                rate(s),
                rate(e),
                Some(s / e),
                ">= 0.75x echo",
                s / e >= 0.75,
            );
        } else {
            table.row(&what, rate(s), rate(e), Some(s / e));
        }
    }
    gets
}

/// Rows for start-up time and idle memory with a bundle of `count` secrets; a note if the
/// sidecar could not lock its memory.
fn startup_rows(
    table: &mut Table,
    scratch: &mut Scratch,
    bundle: &Path,
    count: usize,
    runs: usize,
) -> Option<String> {
    let StartRuns {
        sidecar,
        shell,
        version,
        note,
    } = starts(scratch, bundle, runs);
    let (time_bound_ms, rss_bound_mib) = if count == SMALL {
        (2, Some(4))
    } else {
        (100, None)
    };
    let secrets = format!("{} secrets", thousands(count));
    let (p50, floor) = (sidecar.time(0.5), shell.time(0.5));
    table.target(
        &format!("spawn-to-ready p50, {secrets} ({runs} runs)"),
        millis(p50),
        millis(floor),
        Some(ratio(p50, floor)),
        &format!("<= {time_bound_ms} ms"),
        p50 <= Duration::from_millis(time_bound_ms),
    );
    let tail = |s: &Starts| format!("{} / {}", millis(s.time(0.9)), millis(s.time(1.0)));
    table.row(
        &format!("spawn-to-ready p90 / max, {secrets}"),
        tail(&sidecar),
        tail(&shell),
        None,
    );
    table.row(
        "  exec only: `ax-sidecar --version` to exit, p50",
        millis(version.time(0.5)),
        millis(floor),
        Some(ratio(version.time(0.5), floor)),
    );
    let what = format!("idle RSS, {secrets}");
    let (rss, floor) = (sidecar.median_rss(), shell.median_rss());
    let rss_ratio = Some(rss as f64 / floor as f64);
    match rss_bound_mib {
        Some(bound) => table.target(
            &what,
            mib(rss),
            mib(floor),
            rss_ratio,
            &format!("<= {bound} MiB"),
            rss <= bound * 1024,
        ),
        None => table.row(&what, mib(rss), mib(floor), rss_ratio),
    }
    note.map(|n| format!("{secrets}: {n}"))
}

fn main() {
    let wall = Instant::now();
    let mut scratch = Scratch::new();
    let small = scratch.bundle(SMALL);
    let large = scratch.bundle(LARGE);

    // Start-up first, while this process is small and has one thread: a fork copies its page
    // tables, and the launcher of a real sidecar is no bigger.
    let mut startup = Table::new("sidecar", "floor");
    let mut notes: Vec<String> = [
        startup_rows(&mut startup, &mut scratch, &small, SMALL, SPAWN_RUNS_SMALL),
        startup_rows(&mut startup, &mut scratch, &large, LARGE, SPAWN_RUNS_LARGE),
    ]
    .into_iter()
    .flatten()
    .collect();

    let audit = scratch.path("audit");
    let (sidecar, _) = Sidecar::start(&mut scratch, &small, &audit, &[])
        .unwrap_or_else(|failure| panic!("the sidecar did not start: {failure}"));
    let replies = Arc::new(Replies::new());
    let echoes = Echoes {
        default: Echo::start(scratch.path("echo.sock"), &replies, None, true),
        pinned: Echo::start(
            scratch.path("echo-pinned.sock"),
            &replies,
            Some(one_cpu(PINNED_CPU)),
            true,
        ),
        bulk: Echo::start(scratch.path("echo-bulk.sock"), &replies, None, false),
    };
    let mut gets = check_echo_matches(&sidecar.socket, &echoes.default.socket);
    let mut table = Table::new("sidecar", "floor");
    gets += latency_rows(&mut table, &sidecar, &echoes);
    gets += throughput_rows(&mut table, &sidecar, &echoes.bulk);
    sidecar.stop();
    let audited = count_lines(&audit);
    if audited != gets {
        notes.push(format!(
            "the audit trail has {audited} lines for {gets} gets sent to the sidecar"
        ));
    }
    table.rows.extend(startup.rows);

    let cpus = sched_getaffinity(Pid::from_raw(0)).unwrap();
    let cpus = (0..CpuSet::count())
        .filter(|&cpu| cpus.is_set(cpu).unwrap_or(false))
        .count();
    println!(
        "ax-sidecar against its floor, {cpus} CPUs. Floor: a blocking echo server sending the \
         sidecar's bytes (get, gets/s); `sh -c 'echo READY >&3; read _'` (start-up, RSS)."
    );
    table.print();
    println!("audit trail: {audited} lines for {gets} gets");
    for note in notes {
        println!("note: {note}");
    }
    println!("wall time {:.1} s", wall.elapsed().as_secs_f64());
}
