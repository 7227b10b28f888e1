//! Process hardening, done first, before any secret exists in memory.
//!
//! The parent-death signal is armed earlier still, by the start-up guard in [`crate::startup`],
//! since the launcher may die before `serve` gets this far.

use nix::errno::Errno;
use nix::sys::prctl;
use nix::sys::resource::{Resource, getrlimit, setrlimit};

/// What could not be hardened: the step and the OS error.
#[derive(Debug, thiserror::Error)]
#[error("cannot harden the process ({step}): {errno}")]
pub struct HardenError {
    step: &'static str,
    errno: nix::errno::Errno,
}

impl HardenError {
    /// The step that failed and its error.
    pub fn new(step: &'static str, errno: nix::errno::Errno) -> Self {
        Self { step, errno }
    }
}

/// What the refusal to run unlocked says: the step and the way out.
const LOCK_STEP: &str = "mlockall: every page must be locked (CAP_IPC_LOCK or an unlimited \
                         RLIMIT_MEMLOCK), or pass --allow-unlocked-memory";

/// `CAP_IPC_LOCK` (linux/capability.h).
const CAP_IPC_LOCK: u32 = 14;
/// What `/proc/self/ns/user` names in the initial user namespace (inode `0xEFFFFFFD`).
const INITIAL_USER_NAMESPACE: &str = "user:[4026531837]";

/// Makes the process undumpable and core-less, and locks all its memory.
///
/// - `PR_SET_DUMPABLE 0` is what stops another process of the same uid from reading
///   `/proc/PID/mem` or attaching with ptrace, and makes `/proc/PID/*` owned by root.
/// - `RLIMIT_CORE 0` (soft and hard) means no core file, even if dumpable were turned back on.
/// - `mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)`: every page of the process, present or
///   future, is locked as soon as it is touched. Values are copied on their way through the
///   heap, glibc's per-thread arenas, thread stacks and library buffers; locking the whole
///   process is the one rule that keeps every such copy out of swap without chasing each one.
///   `MCL_ONFAULT` keeps the cost to the pages actually used (reserved but untouched address
///   space, such as thread stacks and malloc arenas, is not faulted in).
///
/// With `MCL_FUTURE`, every later mapping counts against `RLIMIT_MEMLOCK`; under a finite
/// limit an allocation could fail at any moment, and an allocation failure aborts. So the lock
/// only counts as held when the process has `CAP_IPC_LOCK` or an unlimited limit (the soft
/// limit is raised to the hard one first). Otherwise, and when `mlockall` itself fails, the
/// start is refused, unless `allow_unlocked` is set: then the process unlocks everything and
/// goes on with a warning (the arena still tries its own lock).
pub fn harden(allow_unlocked: bool) -> Result<(), HardenError> {
    let step = |step| move |errno| HardenError { step, errno };
    prctl::set_dumpable(false).map_err(step("PR_SET_DUMPABLE"))?;
    setrlimit(Resource::RLIMIT_CORE, 0, 0).map_err(step("RLIMIT_CORE"))?;
    match lock_all_memory() {
        Ok(()) => Ok(()),
        Err(errno) if allow_unlocked => {
            // SAFETY: munlockall takes no pointer; it only drops the locks taken above.
            #[allow(unsafe_code)]
            unsafe {
                nix::libc::munlockall();
            }
            tracing::warn!(%errno, "process memory is NOT locked: copies of values may reach swap");
            Ok(())
        }
        Err(errno) => Err(HardenError::new(LOCK_STEP, errno)),
    }
}

/// Locks every page of the process, present and future; `Err` when that cannot hold.
fn lock_all_memory() -> Result<(), Errno> {
    let privileged = has_ipc_lock();
    if !privileged {
        let (soft, hard) = getrlimit(Resource::RLIMIT_MEMLOCK)?;
        if soft != hard {
            setrlimit(Resource::RLIMIT_MEMLOCK, hard, hard)?;
        }
        if hard != nix::libc::RLIM_INFINITY {
            // A finite limit would make some later allocation fail: refuse now instead.
            return Err(Errno::ENOMEM);
        }
    }
    let flags = nix::libc::MCL_CURRENT | nix::libc::MCL_FUTURE | nix::libc::MCL_ONFAULT;
    // SAFETY: mlockall takes no pointer and changes no memory contents.
    #[allow(unsafe_code)]
    Errno::result(unsafe { nix::libc::mlockall(flags) })?;
    Ok(())
}

/// Whether `CAP_IPC_LOCK` is in the effective set (from `/proc/self/status`) **and** counts:
/// the kernel checks it against the initial user namespace, so inside any other (a rootless
/// container, `hostUsers: false`) a process that holds it is still bound by `RLIMIT_MEMLOCK`.
fn has_ipc_lock() -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    let held = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_IPC_LOCK) != 0);
    held && in_initial_user_namespace()
}

/// Whether this process runs in the initial user namespace, whose inode the kernel fixes
/// (`PROC_USER_INIT_INO`, include/linux/proc_ns.h); a namespace's uid map alone cannot tell,
/// since a privileged parent may map every uid into a child.
fn in_initial_user_namespace() -> bool {
    std::fs::read_link("/proc/self/ns/user")
        .is_ok_and(|target| target.as_os_str() == INITIAL_USER_NAMESPACE)
}
