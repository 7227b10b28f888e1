//! The bounded audit queue and the thread that drains it into a sink.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use super::{Action, AuditEvent, AuditNames, AuditSink, Peer};
use crate::store::Store;

#[derive(Debug)]
struct State {
    events: Vec<AuditEvent>,
    next_seq: u64,
    dropped: u64,
    closed: bool,
    /// Events taken off the queue and not yet handed to the sink in full.
    in_flight: usize,
    /// The writer thread has handed over its last batch and finished the sink.
    finished: bool,
}

/// A bounded queue of audit events, shared by every connection and the writer thread.
#[derive(Debug)]
pub struct AuditQueue {
    state: Mutex<State>,
    wake: Condvar,
    capacity: usize,
}

impl AuditQueue {
    /// A queue holding at most `capacity` events.
    pub fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::new(State {
                events: Vec::new(),
                next_seq: 1,
                dropped: 0,
                closed: false,
                in_flight: 0,
                finished: false,
            }),
            wake: Condvar::new(),
            capacity: capacity.max(1),
        }
    }

    /// Records one event; when the queue is full (or closed) it is counted as dropped.
    pub fn record(&self, action: Action, names: AuditNames, found: bool, peer: Peer) {
        let time = SystemTime::now();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.closed || state.events.len() >= self.capacity {
            state.dropped += 1;
            return;
        }
        let seq = state.next_seq;
        state.next_seq += 1;
        state.events.push(AuditEvent {
            seq,
            time,
            action,
            names,
            found,
            peer,
        });
        // Wake the writer when the first event of a batch arrives (it then waits one flush
        // interval to gather more) and when the queue is half full; not for every event.
        let len = state.events.len();
        if len == 1 || len == self.capacity / 2 {
            self.wake.notify_one();
        }
    }

    /// Events accepted but not yet written (queued, or in a batch the sink has not taken),
    /// plus those dropped since the last batch: what is lost if the process exits now.
    pub fn unwritten(&self) -> u64 {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        (state.events.len() + state.in_flight) as u64 + state.dropped
    }

    /// Stops accepting events and wakes the writer to write what is left and exit.
    pub fn close(&self) {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .closed = true;
        self.wake.notify_one();
    }
}

/// The writer thread; [`AuditWriter::finish`] closes the queue and waits for the last batch,
/// until a deadline: a sink may block for ever (a FIFO nobody reads), and shutdown must not.
#[derive(Debug)]
pub struct AuditWriter {
    queue: Arc<AuditQueue>,
    thread: Option<JoinHandle<()>>,
}

impl AuditWriter {
    /// Starts the thread that drains `queue` into `sink` every `interval` at most.
    pub fn spawn(
        queue: Arc<AuditQueue>,
        store: Arc<Store>,
        mut sink: Box<dyn AuditSink>,
        interval: Duration,
    ) -> std::io::Result<Self> {
        let thread = std::thread::Builder::new()
            .name("ax-audit".into())
            .stack_size(64 * 1024)
            .spawn({
                let queue = Arc::clone(&queue);
                move || drain(&queue, &store, sink.as_mut(), interval)
            })?;
        Ok(Self {
            queue,
            thread: Some(thread),
        })
    }

    /// Closes the queue and waits until every accepted event has been handed to the sink, or
    /// until `deadline`; returns how many events were not written (0 when all were).
    ///
    /// Past the deadline the thread is left behind, blocked in its sink: the process is about
    /// to exit, which ends it.
    pub fn finish(mut self, deadline: Instant) -> u64 {
        self.queue.close();
        let state = self
            .queue
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let timeout = deadline.saturating_duration_since(Instant::now());
        let (state, _) = self
            .queue
            .wake
            .wait_timeout_while(state, timeout, |s| !s.finished)
            .unwrap_or_else(PoisonError::into_inner);
        if !state.finished {
            return (state.events.len() + state.in_flight) as u64 + state.dropped;
        }
        drop(state);
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the audit writer failed; events may be lost");
            }
        }
        0
    }
}

fn drain(queue: &AuditQueue, store: &Store, sink: &mut dyn AuditSink, interval: Duration) {
    let mut batch = Vec::new();
    let mut failed = false;
    loop {
        let (dropped, closed) = {
            let state = queue.state.lock().unwrap_or_else(PoisonError::into_inner);
            let mut state = queue
                .wake
                .wait_while(state, |s| {
                    s.events.is_empty() && s.dropped == 0 && !s.closed
                })
                .unwrap_or_else(PoisonError::into_inner);
            if !state.closed {
                // Gather a batch: wait one interval unless the queue fills up first.
                let half = queue.capacity / 2;
                state = queue
                    .wake
                    .wait_timeout_while(state, interval, |s| !s.closed && s.events.len() < half)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            std::mem::swap(&mut batch, &mut state.events);
            state.in_flight = batch.len();
            (std::mem::take(&mut state.dropped), state.closed)
        };
        if !batch.is_empty() || dropped > 0 {
            match sink.write_batch(&batch, dropped, store) {
                Ok(()) => failed = false,
                Err(err) if !failed => {
                    failed = true;
                    tracing::error!(error = %err, events = batch.len(), "cannot write audit events");
                }
                Err(_) => {}
            }
        }
        batch.clear();
        let mut state = queue.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.in_flight = 0;
        if closed && state.events.is_empty() && state.dropped == 0 {
            drop(state);
            sink.finish();
            let mut state = queue.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.finished = true;
            drop(state);
            // `finish` waits on the same condition variable as this thread.
            queue.wake.notify_all();
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditName, INVALID_NAME};
    use crate::store::tests::store;
    use std::sync::Mutex as StdMutex;

    /// One collected line: the names, the seq (or the dropped count), found.
    type Line = (Vec<String>, u64, bool);

    /// Collects batches for inspection.
    struct Collect(Arc<StdMutex<Vec<Line>>>);

    impl AuditSink for Collect {
        fn write_batch(
            &mut self,
            events: &[AuditEvent],
            dropped: u64,
            store: &Store,
        ) -> std::io::Result<()> {
            let mut batches = self.0.lock().unwrap();
            for e in events {
                let names = e
                    .names
                    .as_slice()
                    .iter()
                    .map(|n| n.resolve(store).to_owned());
                batches.push((names.collect(), e.seq, e.found));
            }
            if dropped > 0 {
                batches.push((vec!["dropped".into()], dropped, false));
            }
            Ok(())
        }
    }

    const PEER: Peer = Peer {
        pid: 1,
        uid: 2,
        gid: 3,
    };

    #[test]
    fn writes_every_event_in_order_with_gapless_seq_and_flushes_on_finish() {
        let store = Arc::new(store(&[("A", "v")], &[]));
        let queue = Arc::new(AuditQueue::new(100));
        let seen = Arc::new(StdMutex::new(Vec::new()));
        let sink = Box::new(Collect(Arc::clone(&seen)));
        let writer =
            AuditWriter::spawn(Arc::clone(&queue), store, sink, Duration::from_secs(3600)).unwrap();
        queue.record(
            Action::Get,
            AuditNames::One(AuditName::Known(0)),
            true,
            PEER,
        );
        queue.record(
            Action::Get,
            AuditNames::One(AuditName::Missing("B".into())),
            false,
            PEER,
        );
        queue.record(
            Action::Get,
            AuditNames::One(AuditName::Invalid),
            false,
            PEER,
        );
        assert_eq!(writer.finish(Instant::now() + Duration::from_secs(60)), 0);
        let seen = seen.lock().unwrap();
        let expected = [
            (vec!["A".to_owned()], 1, true),
            (vec!["B".to_owned()], 2, false),
            (vec![INVALID_NAME.to_owned()], 3, false),
        ];
        assert_eq!(*seen, expected);
    }

    #[test]
    fn counts_events_beyond_capacity_as_dropped() {
        let store = Arc::new(store(&[("A", "v")], &[]));
        let queue = Arc::new(AuditQueue::new(16));
        // Fill the queue before the writer exists, so nothing drains in between.
        for _ in 0..20 {
            queue.record(
                Action::Get,
                AuditNames::One(AuditName::Known(0)),
                true,
                PEER,
            );
        }
        let seen = Arc::new(StdMutex::new(Vec::new()));
        let sink = Box::new(Collect(Arc::clone(&seen)));
        let writer =
            AuditWriter::spawn(Arc::clone(&queue), store, sink, Duration::from_secs(3600)).unwrap();
        assert_eq!(writer.finish(Instant::now() + Duration::from_secs(60)), 0);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 17);
        assert_eq!(seen[15].1, 16, "seq stays gapless among accepted events");
        assert_eq!(seen[16], (vec!["dropped".to_owned()], 4, false));
    }

    /// A sink that never returns from a write, as a FIFO nobody reads.
    struct Stuck;

    impl AuditSink for Stuck {
        fn write_batch(&mut self, _: &[AuditEvent], _: u64, _: &Store) -> std::io::Result<()> {
            loop {
                std::thread::park();
            }
        }
    }

    #[test]
    fn gives_up_on_a_stuck_sink_at_the_deadline_and_counts_what_was_not_written() {
        let store = Arc::new(store(&[("A", "v")], &[]));
        let queue = Arc::new(AuditQueue::new(100));
        for _ in 0..3 {
            queue.record(
                Action::Get,
                AuditNames::One(AuditName::Known(0)),
                true,
                PEER,
            );
        }
        let writer = AuditWriter::spawn(
            Arc::clone(&queue),
            store,
            Box::new(Stuck),
            Duration::from_millis(1),
        )
        .unwrap();
        let deadline = Instant::now() + Duration::from_millis(200);
        assert_eq!(writer.finish(deadline), 3);
        assert!(Instant::now() >= deadline);
    }
}
