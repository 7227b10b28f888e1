//! `ax-run` keeps no copy of the execution token once the sidecar has it: every readable
//! mapping of the running `ax-run` (heap, stacks, every thread arena) is read through
//! `/proc/PID/mem` while the command runs, and the token the control plane issued is searched
//! for. Freed blocks count: the system allocator does not clear what it frees, so a copy that
//! was dropped without being wiped is still there for anyone who can read the process.
//!
//! Reading another process's memory needs root (or `CAP_SYS_PTRACE`): the test fails, never
//! skips, without it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::PathBuf;

use support::{Env, Live};

/// One readable mapping of a process.
struct Region {
    start: u64,
    end: u64,
    name: String,
}

fn readable_regions(pid: u32) -> Vec<Region> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    maps.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let range = fields.next()?;
            let perms = fields.next()?;
            let name = fields.nth(3).unwrap_or("").to_owned();
            let (start, end) = range.split_once('-')?;
            let region = Region {
                start: u64::from_str_radix(start, 16).ok()?,
                end: u64::from_str_radix(end, 16).ok()?,
                name,
            };
            // [vvar] and [vsyscall] are kernel pages that refuse to be read this way.
            let kernel = region.name == "[vvar]" || region.name == "[vsyscall]";
            (perms.starts_with('r') && !kernel).then_some(region)
        })
        .collect()
}

/// What a scan of a process's memory found.
struct Scan {
    /// Bytes read.
    bytes: u64,
    /// For each needle, the mappings (by name) where it occurs, once per occurrence.
    hits: Vec<Vec<String>>,
}

/// Reads every readable mapping of `pid` and counts the occurrences of each needle.
fn scan(pid: u32, needles: &[&[u8]]) -> Scan {
    let mem = File::open(format!("/proc/{pid}/mem")).unwrap_or_else(|e| {
        panic!(
            "cannot open /proc/{pid}/mem ({e}): ax-run is not dumpable, so this test needs root \
             with CAP_SYS_PTRACE (CI has both)"
        )
    });
    let mut scan = Scan {
        bytes: 0,
        hits: vec![Vec::new(); needles.len()],
    };
    for region in readable_regions(pid) {
        let Ok(len) = usize::try_from(region.end - region.start) else {
            continue;
        };
        let mut buf = vec![0u8; len];
        // A mapping can go away or be unreadable (a guard page): skip it, but the byte count
        // below proves the scan read the process's memory at all.
        let Ok(n) = mem.read_at(&mut buf, region.start) else {
            continue;
        };
        buf.truncate(n);
        scan.bytes += n as u64;
        for (i, needle) in needles.iter().enumerate() {
            for _ in memchr::memmem::find_iter(&buf, needle) {
                scan.hits[i].push(region.name.clone());
            }
        }
    }
    scan
}

/// The node: prints a line, then waits until the test writes to the FIFO.
const NODE: &str = "echo node-started; read go < \"$0\"";

/// Releases the node and reaps `ax-run` however the test ends, so nothing is left blocked.
struct Running {
    live: Option<Live>,
    fifo: PathBuf,
}

impl Running {
    fn release(&self) {
        // Non-blocking: fails at once if the node is not (or no longer) reading the FIFO.
        if let Ok(mut w) = OpenOptions::new()
            .write(true)
            .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
            .open(&self.fifo)
        {
            let _ = w.write_all(b"go\n");
        }
    }

    fn finish(mut self) -> (Option<i32>, String) {
        self.release();
        self.live.take().unwrap().finish()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut live) = self.live.take() {
            self.release();
            let _ = live.child.kill();
            let _ = live.child.wait();
        }
    }
}

/// The execution the control plane created for the run: (execution id, token).
fn issued_execution(env: &Env) -> (String, String) {
    let created: Vec<serde_json::Value> = env
        .responses()
        .iter()
        .filter_map(|body| serde_json::from_str::<serde_json::Value>(body).ok())
        .filter(|v| v.get("token").is_some() && v.get("execution_id").is_some())
        .collect();
    assert_eq!(created.len(), 1, "exactly one execution is created");
    let field = |k: &str| created[0][k].as_str().unwrap().to_owned();
    let token = field("token");
    assert!(
        token.starts_with("axe_") && token.len() > 40,
        "a unique token"
    );
    (field("execution_id"), token)
}

fn wait_for_node(running: &mut Running) {
    let line = running.live.as_mut().unwrap().line();
    assert_eq!(line, "node-started\n", "the node runs under ax-run");
}

#[test]
fn ax_run_holds_no_copy_of_the_execution_token_while_the_command_runs() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test reads /proc/PID/mem of ax-run and must run as root (CI does); \
         run it with sudo rather than skipping it"
    );
    let env = Env::start();
    env.tenant("acme", &[("API_KEY", "sk-token-memory-0123456789")]);
    let fifo = env.dir.path().join("release-node");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let mut running = Running {
        live: Some(Live::spawn(env.ax_run(
            "acme",
            &[],
            &["/bin/sh", "-c", NODE, fifo.to_str().unwrap()],
        ))),
        fifo: fifo.clone(),
    };
    // The node starts only after the sidecar said READY, so the token pipe has been written.
    wait_for_node(&mut running);
    let (execution_id, token) = issued_execution(&env);
    let pid = running.live.as_ref().unwrap().child.id();
    let found = scan(pid, &[token.as_bytes(), execution_id.as_bytes()]);

    assert!(found.bytes > 1 << 20, "the scan read ax-run's memory");
    // ax-run keeps the execution id (it finishes the execution at the end): finding it proves
    // the scan sees what ax-run holds, so finding no token means there is none.
    assert!(
        !found.hits[1].is_empty(),
        "the scan finds the execution id ax-run holds"
    );
    assert!(
        found.hits[0].is_empty(),
        "ax-run's memory holds {} copies of the execution token, in {:?}",
        found.hits[0].len(),
        found.hits[0]
    );
    let (code, stderr) = running.finish();
    assert_eq!(code, Some(0), "{stderr}");
    env.assert_no_socket_dirs();
}
