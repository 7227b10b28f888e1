//! Process hardening of the real running binary, read from `/proc/<pid>` (`sidecar/ARCHITECTURE.md`): locked
//! memory, no core files, the arena locked, do-not-dump and read-only, the process undumpable,
//! and a private socket in a private directory.

// Helpers outside `#[test]` functions are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use nix::unistd::{Gid, Uid, chown};
use support::*;

/// The uid and gid the non-root checks run as (`nobody` on most systems).
const NOBODY: u32 = 65_534;

/// A field of `/proc/<pid>/status`, without its name.
fn status_field(pid: u32, field: &str) -> String {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
        .trim()
        .to_owned()
}

/// `VmLck` in kB.
fn vm_lck_kb(pid: u32) -> u64 {
    let value = status_field(pid, "VmLck");
    value.trim_end_matches("kB").trim().parse().unwrap()
}

/// One mapping of `/proc/<pid>/smaps`: its header line and its `VmFlags`.
#[derive(Debug)]
struct Mapping {
    header: String,
    flags: Vec<String>,
}

impl Mapping {
    fn perms(&self) -> &str {
        self.header.split_whitespace().nth(1).unwrap()
    }

    fn has(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }
}

fn mappings(pid: u32) -> Vec<Mapping> {
    let smaps = fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap();
    let mut out = Vec::new();
    let mut header = None;
    for line in smaps.lines() {
        if let Some(flags) = line.strip_prefix("VmFlags:") {
            out.push(Mapping {
                header: header.take().expect("VmFlags before a mapping header"),
                flags: flags.split_whitespace().map(str::to_owned).collect(),
            });
        } else if line
            .split_whitespace()
            .next()
            .is_some_and(|range| range.contains('-') && !range.ends_with(':'))
        {
            header = Some(line.to_owned());
        }
    }
    out
}

#[test]
fn holds_its_memory_locked() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let locked = vm_lck_kb(sidecar.pid());
    assert!(locked > 0, "VmLck is {locked} kB");
    let (status, _, stderr) = sidecar.stop();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("memory_locked=true"), "{stderr}");
}

/// Every mapping of `pid` whose smaps `VmFlags` lack `lo` (locked), skipping the kernel's own
/// ([vvar], [vdso], [vsyscall]).
fn unlocked_mappings(pid: u32) -> Vec<String> {
    let smaps = fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap();
    let mut header = "";
    let mut out = Vec::new();
    for line in smaps.lines() {
        if let Some(flags) = line.strip_prefix("VmFlags:") {
            let kernel = ["[vvar]", "[vdso]", "[vsyscall]", "[vvar_vclock]"]
                .iter()
                .any(|k| header.ends_with(k));
            if !kernel && !flags.split_whitespace().any(|f| f == "lo") {
                out.push(header.to_owned());
            }
        } else if line.split_whitespace().next().is_some_and(|f| {
            f.contains('-') && f.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
        }) {
            header = line;
        }
    }
    out
}

#[test]
fn locks_every_mapping_of_the_process_not_only_the_arena() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    // A request first, so the heap and the serving thread's memory exist.
    assert!(sidecar.client().get("OPENAI_API_KEY").is_some());
    let unlocked = unlocked_mappings(sidecar.pid());
    assert!(unlocked.is_empty(), "unlocked mappings: {unlocked:#?}");
    let (status, _, stderr) = sidecar.stop();
    assert!(status.success(), "{stderr}");
}

#[test]
fn allows_no_core_file() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    let limits = fs::read_to_string(format!("/proc/{}/limits", sidecar.pid())).unwrap();
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .expect("a core file size line");
    let fields: Vec<&str> = core
        .trim_start_matches("Max core file size")
        .split_whitespace()
        .collect();
    assert_eq!(&fields[..2], ["0", "0"], "soft and hard limit: {core}");
}

#[test]
fn keeps_the_arena_locked_out_of_core_dumps_and_read_only() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    // Serve something first: the arena must stay as it was after requests too.
    let mut client = sidecar.client();
    assert_eq!(client.get("EMPTY").as_deref(), Some(""));
    let all = mappings(sidecar.pid());
    let arena: Vec<&Mapping> = all.iter().filter(|m| m.has("lo") && m.has("dd")).collect();
    assert!(
        !arena.is_empty(),
        "no mapping is both locked (lo) and do-not-dump (dd): {all:#?}"
    );
    for mapping in arena {
        assert_eq!(
            mapping.perms(),
            "r--p",
            "the locked arena should be readable and not writable: {mapping:?}"
        );
    }
}

/// Who owns `/proc/<pid>/mem`: (uid, gid).
fn mem_owner(pid: u32) -> (u32, u32) {
    let meta = fs::metadata(format!("/proc/{pid}/mem")).unwrap();
    (meta.uid(), meta.gid())
}

/// Makes `command` run as uid and gid [`NOBODY`] with no supplementary groups.
#[allow(unsafe_code)]
fn as_nobody(command: &mut Command) {
    // SAFETY: between fork and exec the closure only makes the setgroups, setgid and setuid
    // system calls, which are async-signal-safe, and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            if nix::libc::setgroups(0, std::ptr::null()) != 0
                || nix::libc::setgid(NOBODY) != 0
                || nix::libc::setuid(NOBODY) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[test]
fn is_not_dumpable() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &[]);
    // Undumpable processes have their /proc files owned by root. As root this holds for any
    // process, so the telling check is the one below, with the sidecar running as another uid.
    assert_eq!(mem_owner(sidecar.pid()), (0, 0));
    drop(sidecar);

    if !Uid::effective().is_root() {
        // A non-root test cannot start a process as another uid; the sidecar runs as this uid,
        // so an owner of 0 above is already the evidence.
        assert_ne!(Uid::effective().as_raw(), 0);
        return;
    }

    // As root: run the sidecar as `nobody`. The kernel makes a process that changed uid and
    // then executed a program dumpable again, so without PR_SET_DUMPABLE 0 its /proc/PID/mem
    // would belong to `nobody`; the control process below shows that.
    let fixture = Fixture::standard();
    for path in [fixture.dir.path(), &fixture.key, &fixture.bundle] {
        chown(
            path,
            Some(Uid::from_raw(NOBODY)),
            Some(Gid::from_raw(NOBODY)),
        )
        .unwrap();
    }
    let mut args = fixture.serve_args();
    args.extend(["--ready-fd".into(), "3".into()]);
    // Without CAP_IPC_LOCK and under a finite RLIMIT_MEMLOCK (which a container's root may not
    // be allowed to raise), the whole process cannot be locked; the arena still is.
    args.push("--allow-unlocked-memory".into());
    let sidecar =
        match Sidecar::spawn_with(fixture.dir.path(), &args, fixture.socket.clone(), as_nobody) {
            Ok(sidecar) => sidecar,
            Err(failed) => panic!("the sidecar did not start as uid {NOBODY}: {failed:?}"),
        };
    let pid = sidecar.pid();
    assert_eq!(
        status_field(pid, "Uid").split_whitespace().next(),
        Some("65534")
    );
    assert_eq!(
        mem_owner(pid),
        (0, 0),
        "/proc/{pid}/mem of a sidecar running as {NOBODY} should be root's (undumpable)"
    );
    assert!(vm_lck_kb(pid) > 0, "VmLck as {NOBODY}");
    let socket = fs::symlink_metadata(&fixture.socket).unwrap();
    assert_eq!(socket.uid(), NOBODY);

    let mut control = Command::new("cat");
    control.stdin(Stdio::piped()).stdout(Stdio::null());
    as_nobody(&mut control);
    let mut control = control.spawn().unwrap();
    let control_owner = mem_owner(control.id());
    drop(control.stdin.take());
    control.wait().unwrap();
    assert_eq!(
        control_owner,
        (NOBODY, NOBODY),
        "a dumpable process of {NOBODY} owns its /proc/PID/mem; the check above means nothing"
    );
    drop(sidecar);
}

#[allow(unsafe_code)]
fn with_umask_0(command: &mut Command) {
    // SAFETY: umask is async-signal-safe and touches no memory.
    unsafe {
        command.pre_exec(|| {
            nix::libc::umask(0);
            Ok(())
        });
    }
}

#[test]
fn creates_a_0600_socket_in_a_0700_directory_whatever_the_umask() {
    let fixture = Fixture::standard();
    let mut args = fixture.serve_args();
    args.extend(["--ready-fd".into(), "3".into()]);
    let sidecar = match Sidecar::spawn_with(
        fixture.dir.path(),
        &args,
        fixture.socket.clone(),
        with_umask_0,
    ) {
        Ok(sidecar) => sidecar,
        Err(failed) => panic!("{failed:?}"),
    };
    let socket = fs::symlink_metadata(&fixture.socket).unwrap();
    assert!(
        std::os::unix::fs::FileTypeExt::is_socket(&socket.file_type()),
        "not a socket"
    );
    assert_eq!(socket.permissions().mode() & 0o7777, 0o600, "socket mode");
    assert_eq!(socket.uid(), Uid::effective().as_raw());
    let dir = fs::symlink_metadata(fixture.socket.parent().unwrap()).unwrap();
    assert!(dir.is_dir());
    assert_eq!(dir.permissions().mode() & 0o7777, 0o700, "directory mode");
    assert_eq!(dir.uid(), Uid::effective().as_raw());
    // The audit file it created is private too.
    let audit = fs::metadata(fixture.path("audit.jsonl")).unwrap();
    assert_eq!(
        audit.permissions().mode() & 0o7777,
        0o600,
        "audit file mode"
    );
    let (status, _, stderr) = sidecar.stop();
    assert!(status.success(), "{stderr}");
}
