//! Process hardening, done first, before any secret exists in memory.
//!
//! The parent-death signal is armed earlier still, by the start-up guard in [`crate::startup`],
//! since the launcher may die before `serve` gets this far.

use nix::sys::prctl;
use nix::sys::resource::{Resource, setrlimit};

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

/// Makes the process undumpable and core-less.
///
/// - `PR_SET_DUMPABLE 0` is what stops another process of the same uid from reading
///   `/proc/PID/mem` or attaching with ptrace, and makes `/proc/PID/*` owned by root.
/// - `RLIMIT_CORE 0` (soft and hard) means no core file, even if dumpable were turned back on.
pub fn harden() -> Result<(), HardenError> {
    let step = |step| move |errno| HardenError { step, errno };
    prctl::set_dumpable(false).map_err(step("PR_SET_DUMPABLE"))?;
    setrlimit(Resource::RLIMIT_CORE, 0, 0).map_err(step("RLIMIT_CORE"))?;
    Ok(())
}
