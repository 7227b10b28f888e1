//! Values live only in locked memory: the running sidecar's memory is read as an attacker
//! with root would read it (`/proc/PID/maps` and `/proc/PID/mem`) and searched for every value,
//! every redaction form of it, and the client token.
//!
//! The secrets are random markers made for this run, so a hit can only be a copy the sidecar
//! made. Every request kind and the stream filter run first; the scan then happens while
//! serving, when idle, and after SIGTERM while a stream still holds the sidecar in its drain.
//! Every hit is classified by mapping and by whether the mapping is locked (`lo` in smaps'
//! `VmFlags`); the test asserts there is none outside locked memory.
//!
//! Reading another process's memory needs root (the sidecar is non-dumpable): run as another
//! user, this test fails and says so, rather than passing without looking.

// Helpers outside `#[test]` functions are test code too: a failed unwrap is a failed test.
// The table of hits is printed for whoever reads a failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod support;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::{Duration, Instant};

use aho_corasick::AhoCorasick;
use ax_protocol::{RequestBody, ResponseBody, SecretText};
use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::Signal;
use ring::rand::{SecureRandom, SystemRandom};
use support::*;

/// The longest prefix of a form searched for: the markers are random from their first byte, so
/// 48 bytes identify a copy, and a 1 MiB needle would only slow the search.
const NEEDLE: usize = 48;

/// Random letters and digits.
fn random_text(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = vec![0u8; len];
    SystemRandom::new().fill(&mut bytes).unwrap();
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// The secrets of one run.
struct Secrets {
    tenant: Vec<(String, String)>,
    overrides: Vec<(String, String)>,
    token: String,
}

impl Secrets {
    fn new() -> Self {
        let tenant = vec![
            ("PLAIN".into(), format!("pl{}", random_text(30))),
            ("SHORT".into(), random_text(8)),
            (
                "SPECIAL".into(),
                format!("{}<>&\"\\/ +=?é🔑\n{}", random_text(16), random_text(8)),
            ),
            ("BIG".into(), format!("bg{}", random_text(1024 * 1024 - 2))),
            ("SHADOWED".into(), format!("sh{}", random_text(30))),
        ];
        let overrides = vec![("SHADOWED".into(), format!("ov{}", random_text(30)))];
        Self {
            tenant,
            overrides,
            token: format!("tk{}", random_text(40)),
        }
    }

    /// Every value served, then the shadowed one.
    fn values(&self) -> Vec<(&str, &str)> {
        let mut out: Vec<(&str, &str)> = self
            .tenant
            .iter()
            .filter(|(n, _)| n != "SHADOWED")
            .chain(&self.overrides)
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        out.push(("SHADOWED(tenant)", self.tenant[4].1.as_str()));
        out
    }

    /// What is searched for: (label, bytes), each form of each value and the token.
    fn needles(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        for (name, value) in self.values() {
            for (i, form) in ax_protocol::encodings::forms(value).iter().enumerate() {
                let bytes = form.as_bytes();
                let needle = bytes[..bytes.len().min(NEEDLE)].to_vec();
                if !out.iter().any(|(_, n)| *n == needle) {
                    out.push((format!("{name} form {i}"), needle));
                }
            }
        }
        out.push(("client token".into(), self.token.as_bytes().to_vec()));
        out
    }
}

/// One readable mapping of the process.
struct Mapping {
    start: u64,
    end: u64,
    name: String,
    locked: bool,
    dontdump: bool,
}

/// The mappings of `pid`, from `/proc/PID/smaps`.
fn mappings(pid: u32) -> Vec<Mapping> {
    let smaps = fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_else(|e| {
        panic!("cannot read /proc/{pid}/smaps ({e}): this test must run as root")
    });
    let mut out: Vec<(Mapping, bool)> = Vec::new();
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let first = fields.next().unwrap_or("");
        if let Some((start, end)) = first.split_once('-')
            && let (Ok(start), Ok(end)) =
                (u64::from_str_radix(start, 16), u64::from_str_radix(end, 16))
        {
            let perms = fields.next().unwrap_or("");
            let name = fields.nth(3).unwrap_or("[anon]").to_owned();
            out.push((
                Mapping {
                    start,
                    end,
                    name,
                    locked: false,
                    dontdump: false,
                },
                perms.starts_with('r'),
            ));
        } else if let Some(flags) = line.strip_prefix("VmFlags:") {
            let (last, _) = out.last_mut().unwrap();
            last.locked = flags.split_whitespace().any(|f| f == "lo");
            last.dontdump = flags.split_whitespace().any(|f| f == "dd");
        }
    }
    out.into_iter()
        .filter(|(_, readable)| *readable)
        .map(|(m, _)| m)
        .collect()
}

/// Hits of one scan: (needle label, mapping name, locked) → count.
type Hits = BTreeMap<(String, String, bool), usize>;

/// Reads every readable mapping of `pid` and counts every needle in it.
fn scan(pid: u32, secrets: &Secrets) -> Hits {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the memory scan reads /proc/PID/mem of a non-dumpable process: run this test as root"
    );
    let needles = secrets.needles();
    let matcher = AhoCorasick::new(needles.iter().map(|(_, n)| n)).unwrap();
    let mem = File::open(format!("/proc/{pid}/mem"))
        .unwrap_or_else(|e| panic!("cannot open /proc/{pid}/mem ({e})"));
    let mut hits = Hits::new();
    let mut read_any = false;
    for mapping in mappings(pid) {
        if mapping.name == "[vsyscall]" || mapping.name == "[vvar]" {
            continue;
        }
        let mut buf = vec![0u8; (mapping.end - mapping.start) as usize];
        // Guard pages and the like refuse to be read: nothing to find there.
        let Ok(n) = mem.read_at(&mut buf, mapping.start) else {
            continue;
        };
        read_any |= n > 0;
        for found in matcher.find_overlapping_iter(&buf[..n]) {
            let label = needles[found.pattern().as_usize()].0.clone();
            let mut name = mapping.name.clone();
            if mapping.dontdump && mapping.locked {
                name.push_str(" (locked, dontdump: the arena)");
            }
            *hits.entry((label, name, mapping.locked)).or_default() += 1;
        }
    }
    assert!(read_any, "no mapping of {pid} could be read");
    hits
}

/// Prints what was found where.
fn print_table(instant: &str, hits: &Hits) {
    eprintln!("--- {instant}: {} kinds of hit", hits.len());
    for ((label, mapping, locked), count) in hits {
        let lock = if *locked { "locked" } else { "UNLOCKED" };
        eprintln!("{count:>7}  {label:<24} {lock:<8} {mapping}");
    }
}

/// Asserts no hit is outside locked memory, and the client token nowhere at all: the sidecar
/// keeps only a keyed tag of it, and the presented copy is wiped with the request.
fn assert_locked_only(instant: &str, hits: &Hits) {
    print_table(instant, hits);
    let token: Vec<_> = hits
        .iter()
        .filter(|((label, _, _), _)| label == "client token")
        .collect();
    assert!(
        token.is_empty(),
        "{instant}: the client token is in memory: {token:?}"
    );
    let unlocked: Vec<_> = hits.iter().filter(|((_, _, locked), _)| !locked).collect();
    assert!(
        unlocked.is_empty(),
        "{instant}: {} kinds of copy outside locked memory: {unlocked:?}",
        unlocked.len()
    );
}

// ---------------------------------------------------------------------------------------------
// The sidecar with one stream.

/// Moves `fd` to a descriptor number no `dup2` target below will clobber.
fn high_fd(fd: OwnedFd) -> OwnedFd {
    let raw = nix::fcntl::fcntl(fd.as_fd(), nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(100)).unwrap();
    // SAFETY: `raw` is a fresh descriptor this process owns.
    #[allow(unsafe_code)]
    unsafe {
        OwnedFd::from_raw_fd(raw)
    }
}

/// Reads from `file` until `needle` came, failing the test after [`PATIENCE`].
fn read_until(file: &mut File, needle: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let started = Instant::now();
    while !out.windows(needle.len()).any(|w| w == needle) {
        let left = PATIENCE.saturating_sub(started.elapsed());
        let timeout = PollTimeout::try_from(left.as_millis() as i32).unwrap();
        let mut fds = [PollFd::new(file.as_fd(), PollFlags::POLLIN)];
        assert!(
            poll(&mut fds, timeout).unwrap() > 0,
            "no stream output after {PATIENCE:?}"
        );
        let mut buf = vec![0u8; 64 * 1024];
        let got = file.read(&mut buf).unwrap();
        assert!(got > 0, "the stream ended before {needle:?}");
        out.extend_from_slice(&buf[..got]);
    }
    out
}

#[test]
fn no_value_or_token_is_ever_in_unlocked_memory_while_serving_idle_or_shutting_down() {
    let secrets = Secrets::new();
    let fixture =
        Fixture::with_bundle(&bundle(&pairs(&secrets.tenant), &pairs(&secrets.overrides)));
    let token_file = fixture.path("client-token");
    fs::write(&token_file, format!("{}\n", secrets.token)).unwrap();

    let (in_read, in_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
    let (out_read, out_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
    let (in_read, out_write) = (high_fd(in_read), high_fd(out_write));
    let mut args = fixture.serve_args();
    args.extend(
        [
            "--ready-fd",
            "3",
            "--redact-stream",
            "4:5",
            "--client-token-file",
            token_file.to_str().unwrap(),
            "--shutdown-timeout",
            "20s",
            "--max-response-bytes",
            "4194304",
        ]
        .map(String::from),
    );
    let (from_in, from_out) = (in_read.as_raw_fd(), out_write.as_raw_fd());
    let sidecar = Sidecar::spawn_with(fixture.dir.path(), &args, fixture.socket.clone(), |c| {
        dup_both(c, from_in, from_out);
    })
    .unwrap();
    drop((in_read, out_write));
    let mut stream_in = File::from(in_write);
    let mut stream_out = File::from(out_read);
    let pid = sidecar.pid();

    // Every request kind, with values in what the client sends.
    let mut client = support::Client::connect(&fixture.socket);
    client.hello(Some(&secrets.token));
    for (name, value) in secrets.values().into_iter().take(5) {
        assert_eq!(client.get(name).as_deref(), Some(value), "{name}");
    }
    match client.request(RequestBody::List).body {
        ResponseBody::List { secrets: listed } => assert_eq!(listed.len(), 5),
        other => panic!("{other:?}"),
    }
    let template = "a {{secrets.PLAIN}} b {{secrets.SHORT}} c {{secrets.SPECIAL}} \
                    d {{secrets.SHADOWED}} e {{secrets.BIG}}";
    match client
        .request(RequestBody::Render {
            template: SecretText::borrowed(template),
        })
        .body
    {
        ResponseBody::Rendered { text, .. } => {
            assert!(text.expose().contains(&secrets.tenant[0].1));
        }
        other => panic!("{other:?}"),
    }
    // Every form of every value but the 1 MiB one, which would exceed the request limit; that
    // one goes through the stream filter below.
    let mut text = String::new();
    for (name, value) in secrets.values() {
        if name == "BIG" {
            continue;
        }
        for form in ax_protocol::encodings::forms(value) {
            text.push_str(&form);
            text.push_str(" | ");
        }
    }
    match client
        .request(RequestBody::Redact {
            text: SecretText::borrowed(&text),
        })
        .body
    {
        ResponseBody::Redacted { text, .. } => assert!(!text.contains(&secrets.tenant[0].1)),
        other => panic!("{other:?}"),
    }
    assert_eq!(client.request(RequestBody::Ping).body, ResponseBody::Pong);

    // The stream filter: every value and form written into the pipe, the masked output read.
    stream_in.write_all(text.as_bytes()).unwrap();
    stream_in.write_all(secrets.tenant[3].1.as_bytes()).unwrap();
    stream_in.write_all(b"\nEND-OF-BATCH\n").unwrap();
    let masked = read_until(&mut stream_out, b"END-OF-BATCH\n");
    assert!(
        !masked
            .windows(32)
            .any(|w| w == &secrets.tenant[0].1.as_bytes()[..32])
    );

    assert_locked_only("while serving", &scan(pid, &secrets));

    // Idle: no traffic for a while, the connection still open.
    let idle = Instant::now();
    while idle.elapsed() < Duration::from_millis(300) {
        std::thread::park_timeout(
            Duration::from_millis(300) - idle.elapsed().min(Duration::from_millis(300)),
        );
    }
    assert_locked_only("when idle", &scan(pid, &secrets));

    // SIGTERM with the stream still open: the sidecar logs that it is shutting down, then
    // drains the stream (up to --shutdown-timeout); scanned then, before it exits.
    drop(client);
    sidecar.signal(Signal::SIGTERM);
    let started = Instant::now();
    while !sidecar.stderr().contains("shutting down") {
        assert!(started.elapsed() < PATIENCE, "no shutdown after SIGTERM");
        std::thread::park_timeout(Duration::from_millis(10));
    }
    assert!(
        fs::metadata(format!("/proc/{pid}/mem")).is_ok(),
        "the sidecar exited before the shutdown scan"
    );
    let hits = scan(pid, &secrets);
    assert!(
        fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| !s.contains("zombie")),
        "the sidecar exited during the shutdown scan: the scan proves nothing"
    );
    assert_locked_only("after SIGTERM", &hits);
    drop(stream_in);
    let (status, _) = sidecar.wait();
    assert!(status.success());
}

fn pairs(list: &[(String, String)]) -> Vec<(&str, &str)> {
    list.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect()
}

/// Makes `from_in` the child's fd 4 and `from_out` its fd 5.
fn dup_both(command: &mut Command, from_in: i32, from_out: i32) {
    // SAFETY: between fork and exec the closure only calls dup2, which is async-signal-safe.
    #[allow(unsafe_code)]
    unsafe {
        command.pre_exec(move || {
            for (from, to) in [(from_in, 4), (from_out, 5)] {
                if nix::libc::dup2(from, to) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}
