//! The start-up guard: from the first instruction of `main` until the sidecar decides to
//! serve, SIGTERM and SIGINT are held pending and the launcher is watched, so that a launcher
//! that dies or changes its mind at any instant gets what PROTOCOL §14 promises: exit 0, no
//! READY, no socket file, and one line saying why.
//!
//! - The signals are blocked (not ignored) first thing: a blocked signal stays pending, where
//!   [`Guard::check`] finds it between the stages of start-up. Left at their default action,
//!   a SIGTERM in the first milliseconds would kill the process with no line, and one that
//!   arrived after a handler was installed would only be seen once serving.
//! - The parent is recorded first thing too, and `PR_SET_PDEATHSIG` armed as soon as the
//!   command line says `serve`: a parent that is no longer the one recorded, or is already
//!   pid 1 (we were reparented to init before we could look), means the launcher is gone and
//!   nobody will ever send the death signal. `--no-parent-death` skips both, for a sidecar
//!   that init or a container runtime starts on purpose.
//! - [`Guard::check`] is called last immediately before READY is written, and only then are
//!   the signals handed to the thread that waits for them ([`Guard::hand_over`]): "READY
//!   written" and "serving" follow from that one check, and a signal after it is an ordinary
//!   shutdown.

use std::time::Duration;

use nix::sys::prctl;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
use nix::unistd::{Pid, getppid};

use crate::exit::StartupError;
use crate::harden::HardenError;
use crate::messages;

/// How often an asynchronous stage of start-up (the bundle fetch) looks for a pending signal
/// or a dead launcher.
const POLL: Duration = Duration::from_millis(10);

/// The signals held during start-up.
fn held() -> SigSet {
    let mut set = SigSet::empty();
    set.add(Signal::SIGTERM);
    set.add(Signal::SIGINT);
    set
}

/// What `main` records before anything else; see the module documentation.
#[derive(Debug)]
pub struct Guard {
    parent: Pid,
    /// The death signal is armed, so the parent is watched.
    watch_parent: bool,
    /// Arming the death signal failed.
    error: Option<HardenError>,
}

impl Guard {
    /// Blocks SIGTERM and SIGINT in the calling thread (and so in every thread it starts
    /// later), records the parent and arms the death signal. Call it first in `main`, while
    /// it is the only thread.
    ///
    /// The command line is not parsed yet (that takes time the launcher may die in), so
    /// `--no-parent-death` is looked for among the raw arguments; [`Guard::end`] undoes
    /// everything for a command other than `serve`.
    pub fn begin() -> Self {
        // Blocking two valid signals cannot fail; if it somehow did, start-up would still be
        // checked at every stage, only a signal would act at once.
        let _ = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&held()), None);
        let parent = getppid();
        let wanted = !std::env::args_os().any(|arg| arg == "--no-parent-death");
        let armed = if wanted {
            prctl::set_pdeathsig(Signal::SIGTERM)
                .map_err(|errno| HardenError::new("PR_SET_PDEATHSIG", errno))
        } else {
            Ok(())
        };
        Self {
            parent,
            watch_parent: wanted && armed.is_ok(),
            error: armed.err(),
        }
    }

    /// For `serve`: whether the death signal could be armed.
    ///
    /// # Errors
    ///
    /// If the kernel refused `PR_SET_PDEATHSIG`.
    pub fn armed(&mut self) -> Result<(), HardenError> {
        self.error.take().map_or(Ok(()), Err)
    }

    /// For anything but `serve`: no death signal, and the signals act at once again.
    pub fn end(self) {
        if self.watch_parent {
            let _ = prctl::set_pdeathsig(None);
        }
        let _ = pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&held()), None);
    }

    /// `Err` if SIGTERM or SIGINT is pending or the launcher is gone: start-up must stop here.
    ///
    /// # Errors
    ///
    /// [`StartupError::Stopped`] or [`StartupError::Orphaned`].
    pub fn check(&self) -> Result<(), StartupError> {
        if let Some(signal) = pending() {
            return Err(StartupError::Stopped { signal });
        }
        if self.watch_parent {
            let now = getppid();
            if now != self.parent || now == Pid::from_raw(1) {
                return Err(StartupError::Orphaned);
            }
        }
        Ok(())
    }

    /// Resolves once [`Guard::check`] would fail; for racing against a slow stage.
    pub async fn stopped(&self) -> StartupError {
        loop {
            if let Err(err) = self.check() {
                return err;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Hands the signals over to a thread of their own, which calls `on_signal` with the
    /// first one's name: one still pending is taken at once, and is an ordinary shutdown.
    ///
    /// The signals stay blocked in every other thread, and are waited for with `sigwait`
    /// rather than caught by a handler that the runtime polls: the serving thread may be
    /// stuck (in a long request), and SIGTERM must still arm the shutdown deadline.
    ///
    /// # Errors
    ///
    /// If the thread cannot be started.
    pub fn hand_over(
        self,
        on_signal: impl FnOnce(&'static str) + Send + 'static,
    ) -> std::io::Result<()> {
        let (parent, watch_parent) = (self.parent, self.watch_parent);
        std::thread::Builder::new()
            .name("ax-signals".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                let name = loop {
                    match held().wait() {
                        Ok(Signal::SIGINT) => break "SIGINT",
                        Ok(_) => break "SIGTERM",
                        // EINTR and the like: wait again.
                        Err(_) => {}
                    }
                };
                // The death signal is a SIGTERM nobody sent: say where it came from, so an
                // operator who started the sidecar from a script that exits knows the fix.
                if watch_parent && getppid() != parent {
                    tracing::warn!(
                        launcher_pid = parent.as_raw(),
                        "{}",
                        messages::LAUNCHER_EXITED
                    );
                }
                on_signal(name);
            })?;
        Ok(())
    }
}

/// The held signal that is pending, if any (SIGTERM first).
fn pending() -> Option<&'static str> {
    let set = sigpending()?;
    if set.contains(Signal::SIGTERM) {
        Some("SIGTERM")
    } else if set.contains(Signal::SIGINT) {
        Some("SIGINT")
    } else {
        None
    }
}

/// The signals pending for the process or the calling thread (nix has no wrapper).
fn sigpending() -> Option<SigSet> {
    let mut raw = std::mem::MaybeUninit::<nix::libc::sigset_t>::uninit();
    // SAFETY: sigpending only fills in the set it is given.
    #[allow(unsafe_code)]
    let ok = unsafe { nix::libc::sigpending(raw.as_mut_ptr()) } == 0;
    if !ok {
        return None;
    }
    // SAFETY: sigpending succeeded, so the set is initialised and valid.
    #[allow(unsafe_code)]
    Some(unsafe { SigSet::from_sigset_t_unchecked(raw.assume_init()) })
}
