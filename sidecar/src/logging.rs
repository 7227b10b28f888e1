//! Logs on stderr through `tracing`, as text or JSON lines, without ever blocking the caller.
//!
//! Nothing that can hold a value is ever given to a log macro: handlers log names, counts,
//! peers and error kinds only, and every type that holds a value prints `[redacted]`.
//!
//! stderr is whatever the launcher gave us, often a pipe, and a pipe nobody drains fills up:
//! a synchronous write would then stop the serving thread, and with it every client and the
//! handling of SIGTERM. And a client decides how much is logged (one line per refused or
//! dropped connection). So a log line is formatted into memory and handed to a dedicated
//! writer thread through a bounded queue ([`QUEUE_BYTES`]); when the queue is full the line is
//! dropped and counted, and once the sink drains again the writer logs "N log lines dropped".
//! Only the writer thread ever waits on stderr. At exit, [`flush`] gives the queue a bounded
//! time to drain and then lets go, whatever the sink is doing.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use tracing::Level;
use tracing_subscriber::fmt::MakeWriter;

use crate::cli::LogFormat;

/// Most bytes of log lines held for the writer thread; beyond it lines are dropped and counted.
/// 256 KiB is thousands of lines: a burst is never lost while stderr is read, and a sink that
/// is not read costs no more than this.
pub const QUEUE_BYTES: usize = 256 * 1024;

/// Longest log line kept whole; a longer one is cut (no line is anywhere near this).
const MAX_LINE: usize = 16 * 1024;

/// What a queued line costs beyond its bytes (its `Vec` and its slot), counted against
/// [`QUEUE_BYTES`] so that many short lines are bounded as well as a few long ones.
const LINE_OVERHEAD: usize = 48;

#[derive(Debug, Default)]
struct State {
    lines: VecDeque<Vec<u8>>,
    bytes: usize,
    dropped: u64,
    /// A line is being written by the writer thread (taken off the queue, not yet written).
    writing: bool,
}

/// The queue between every logging thread and the writer thread.
#[derive(Debug, Default)]
struct Queue {
    state: Mutex<State>,
    /// Signalled when a line arrives.
    arrived: Condvar,
    /// Signalled when the queue has become empty and nothing is being written.
    drained: Condvar,
}

static QUEUE: OnceLock<Queue> = OnceLock::new();

impl Queue {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `line`, or counts it as dropped when the queue is full. Never waits on I/O.
    fn push(&self, mut line: Vec<u8>) {
        line.truncate(MAX_LINE);
        line.shrink_to_fit();
        let cost = line.len() + LINE_OVERHEAD;
        let mut state = self.lock();
        if state.bytes + cost > QUEUE_BYTES {
            state.dropped += 1;
            return;
        }
        state.bytes += cost;
        state.lines.push_back(line);
        drop(state);
        self.arrived.notify_one();
    }

    /// The writer thread's loop: one line at a time to stderr, then the drop count, if any.
    fn run(&self) {
        let mut stderr = std::io::stderr();
        loop {
            let line = {
                let mut state = self.lock();
                state.writing = false;
                if state.lines.is_empty() {
                    self.drained.notify_all();
                }
                let mut state = self
                    .arrived
                    .wait_while(state, |s| s.lines.is_empty() && s.dropped == 0)
                    .unwrap_or_else(PoisonError::into_inner);
                match state.lines.pop_front() {
                    Some(line) => {
                        state.bytes -= line.len() + LINE_OVERHEAD;
                        state.writing = true;
                        line
                    }
                    None => {
                        // Everything queued is written: the sink drains again, so say how
                        // much it missed, through the same queue (so in the chosen format).
                        let dropped = std::mem::take(&mut state.dropped);
                        drop(state);
                        tracing::warn!(
                            lines = dropped,
                            "log lines dropped: stderr was not read fast enough"
                        );
                        continue;
                    }
                }
            };
            // A failed write (stderr closed) loses the line; there is nowhere to report it.
            let _ = stderr.write_all(&line);
        }
    }
}

/// One log line being formatted; queued whole when tracing is done with it.
pub struct LineWriter {
    queue: &'static Queue,
    line: Vec<u8>,
}

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.line.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        if !self.line.is_empty() {
            self.queue.push(std::mem::take(&mut self.line));
        }
    }
}

/// Hands tracing a [`LineWriter`] per event.
#[derive(Debug, Clone, Copy)]
pub struct NonBlocking(&'static Queue);

impl<'a> MakeWriter<'a> for NonBlocking {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            queue: self.0,
            line: Vec::with_capacity(256),
        }
    }
}

/// Installs the global subscriber and starts the writer thread. A second call does nothing.
pub fn init(format: LogFormat, level: Level) {
    let mut fresh = false;
    let queue = QUEUE.get_or_init(|| {
        fresh = true;
        Queue::default()
    });
    if !fresh {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("ax-log".into())
        .stack_size(64 * 1024)
        .spawn(|| queue.run());
    if spawned.is_err() {
        // Without its thread the queue would only fill up: lines are then dropped (and
        // counted) rather than written on the serving thread.
        let _ = writeln!(
            std::io::stderr(),
            "ax-sidecar: cannot start the log writer thread; logs are lost"
        );
    }
    let builder = tracing_subscriber::fmt()
        .with_writer(NonBlocking(queue))
        .with_max_level(level)
        .with_target(false)
        .with_ansi(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// Writes `line` (which should end in a newline) to stderr: through the queue once [`init`]
/// has run, so it never blocks; directly before that (nothing else can stall then but the
/// write itself, and the process is about to exit anyway).
pub fn write_line(line: &str) {
    match QUEUE.get() {
        Some(queue) => queue.push(line.as_bytes().to_vec()),
        None => {
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }
}

/// Waits until every queued line is written, for `patience` at most; `false` if lines were
/// still waiting (a sink that is not read), which the caller can only accept: it is exiting.
pub fn flush(patience: Duration) -> bool {
    let Some(queue) = QUEUE.get() else {
        return true;
    };
    let deadline = Instant::now() + patience;
    let mut state = queue.lock();
    while !state.lines.is_empty() || state.writing {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        state = queue
            .drained
            .wait_timeout(state, left)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_and_counts_lines_beyond_the_queue_instead_of_waiting() {
        let queue = Queue::default();
        let line = vec![b'x'; 1024 - LINE_OVERHEAD];
        for _ in 0..QUEUE_BYTES / 1024 + 10 {
            queue.push(line.clone());
        }
        let state = queue.lock();
        assert_eq!(state.lines.len(), QUEUE_BYTES / 1024);
        assert_eq!(state.dropped, 10);
        assert!(state.bytes <= QUEUE_BYTES);
    }

    #[test]
    fn cuts_an_overlong_line() {
        let queue = Queue::default();
        queue.push(vec![b'x'; MAX_LINE * 2]);
        assert_eq!(queue.lock().lines[0].len(), MAX_LINE);
    }
}
