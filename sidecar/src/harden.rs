//! Process hardening, done first, before any secret exists in memory (DESIGN §6).

use nix::sys::prctl;
use nix::sys::resource::{Resource, setrlimit};
use nix::sys::signal::Signal;
use nix::unistd::getppid;

/// What could not be hardened: the step and the OS error.
#[derive(Debug, thiserror::Error)]
#[error("cannot harden the process ({step}): {errno}")]
pub struct HardenError {
    step: &'static str,
    errno: nix::errno::Errno,
}

/// The outcome of [`harden`].
#[derive(Debug, Clone, Copy)]
pub struct Hardened {
    /// The parent died before the death signal was armed: nobody will send it.
    pub orphaned: bool,
}

/// Makes the process undumpable and core-less, and asks for SIGTERM when the parent dies.
///
/// - `PR_SET_DUMPABLE 0` is what stops another process of the same uid from reading
///   `/proc/PID/mem` or attaching with ptrace, and makes `/proc/PID/*` owned by root.
/// - `RLIMIT_CORE 0` (soft and hard) means no core file, even if dumpable were turned back on.
/// - `PR_SET_PDEATHSIG SIGTERM`: a sidecar whose launcher died shuts down cleanly (wiping its
///   memory and removing its socket) instead of serving an execution that no longer exists.
///   The parent may have died before the call; comparing the parent pid taken before it with
///   the one after tells (`orphaned`).
pub fn harden() -> Result<Hardened, HardenError> {
    let step = |step| move |errno| HardenError { step, errno };
    prctl::set_dumpable(false).map_err(step("PR_SET_DUMPABLE"))?;
    setrlimit(Resource::RLIMIT_CORE, 0, 0).map_err(step("RLIMIT_CORE"))?;
    let parent = getppid();
    prctl::set_pdeathsig(Signal::SIGTERM).map_err(step("PR_SET_PDEATHSIG"))?;
    Ok(Hardened {
        orphaned: getppid() != parent,
    })
}
