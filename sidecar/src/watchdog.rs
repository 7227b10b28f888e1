//! The shutdown watchdog: once SIGTERM or SIGINT has come, the process is gone by a fixed
//! deadline, whatever a client, the log sink or the audit sink is doing.
//!
//! The orderly shutdown in [`crate::daemon`] bounds each of its own waits; this thread is what
//! holds when something it did not foresee does not return (the serving thread stuck in a
//! request, a sink stuck in a write). At the deadline it wipes the secret arena in place,
//! removes the socket file, logs how many audit events were lost, and `_exit`s with the status
//! an orderly stop would have had: [`AUDIT_LOST`](crate::exit::AUDIT_LOST) when any event was
//! lost (and when it fires, the queue usually still holds some). The orderly path disarms it
//! before it frees the arena, so the two never touch the arena at once.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::arena::Wiper;
use crate::audit::AuditQueue;
use crate::ready::ReadyFile;
use crate::socket::SocketFile;
use crate::stream::fifo::RedactFifo;

/// How long the watchdog's last log line may take to reach stderr before it exits anyway.
const LOG_PATIENCE: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Armed(Instant),
    Disarmed,
    Firing,
}

#[derive(Debug)]
struct Shared {
    phase: Mutex<Phase>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What the watchdog tears down when it fires.
#[derive(Debug)]
pub struct Teardown {
    /// The store's arena.
    pub wiper: Wiper,
    /// The socket file.
    pub socket: Arc<SocketFile>,
    /// The `--ready-file`, if any.
    pub ready_file: Option<Arc<ReadyFile>>,
    /// The `--redact-fifo`, if any.
    pub redact_fifo: Option<Arc<RedactFifo>>,
    /// The audit queue, to count what was not written.
    pub queue: Arc<AuditQueue>,
}

/// A handle on the watchdog thread.
#[derive(Debug, Clone)]
pub struct Watchdog {
    shared: Arc<Shared>,
}

impl Watchdog {
    /// Starts the thread, idle until [`Watchdog::arm`].
    ///
    /// # Errors
    ///
    /// If the thread cannot be started.
    pub fn spawn(teardown: Teardown) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            phase: Mutex::new(Phase::Idle),
            changed: Condvar::new(),
        });
        std::thread::Builder::new()
            .name("ax-watchdog".into())
            .stack_size(64 * 1024)
            .spawn({
                let shared = Arc::clone(&shared);
                move || watch(&shared, &teardown)
            })?;
        Ok(Self { shared })
    }

    /// Fires at `deadline` unless disarmed first. Arming again keeps the first deadline.
    pub fn arm(&self, deadline: Instant) {
        let mut phase = self.shared.lock();
        if *phase == Phase::Idle {
            *phase = Phase::Armed(deadline);
            self.shared.changed.notify_all();
        }
    }

    /// Stops the watchdog before the orderly path frees what it would tear down. If it is
    /// already firing, this never returns: the watchdog is about to end the process.
    pub fn disarm(&self) {
        let mut phase = self.shared.lock();
        while *phase == Phase::Firing {
            phase = self
                .shared
                .changed
                .wait(phase)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *phase = Phase::Disarmed;
        self.shared.changed.notify_all();
    }
}

fn watch(shared: &Shared, teardown: &Teardown) {
    let mut phase = shared.lock();
    loop {
        match *phase {
            Phase::Idle => {
                phase = shared
                    .changed
                    .wait(phase)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            Phase::Armed(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    *phase = Phase::Firing;
                    break;
                }
                phase = shared
                    .changed
                    .wait_timeout(phase, left)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            Phase::Disarmed | Phase::Firing => return,
        }
    }
    drop(phase);
    fire(teardown);
}

fn fire(teardown: &Teardown) -> ! {
    // SAFETY: the arena is alive: the orderly path frees it only after `disarm`, which waits
    // while the phase is `Firing`; and the process exits below.
    #[allow(unsafe_code)]
    unsafe {
        teardown.wiper.wipe_before_exit();
    }
    teardown.socket.remove();
    if let Some(file) = &teardown.ready_file {
        file.remove();
    }
    if let Some(fifo) = &teardown.redact_fifo {
        fifo.remove();
    }
    let lost = teardown.queue.unwritten() + crate::audit::ship::lost_events();
    let code = crate::exit::after_serving(lost, crate::audit::ship::execution_ended());
    tracing::error!(
        audit_events_lost = lost,
        exit_status = code,
        "the shutdown deadline passed: {lost} audit events were lost; memory wiped, socket \
         removed, exiting now"
    );
    crate::logging::flush(LOG_PATIENCE);
    // SAFETY: `_exit` ends the process at once; nothing is touched after it.
    #[allow(unsafe_code)]
    unsafe {
        nix::libc::_exit(i32::from(code))
    }
}
