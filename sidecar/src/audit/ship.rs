//! The control-plane audit sink: batches POSTed to `{base}/v1/executions/{id}/audit`
//! (PROTOCOL §13.2).
//!
//! The writer thread hands each batch to [`ControlPlaneSink::write_batch`], which only turns the
//! events into JSON and appends them to a bounded buffer; a thread of its own ships the buffer,
//! so a slow or failing control plane never holds up the writer, the local trail or serving.
//!
//! - A POST goes out once [`AUDIT_SHIP_INTERVAL`](crate::limits::AUDIT_SHIP_INTERVAL) has
//!   passed since the oldest event waiting, or as soon as `--audit-batch` events wait,
//!   whichever is first; it carries at most that many.
//! - 429, 5xx, timeouts and connection errors: the same batch is sent again on the backoff
//!   schedule of the fetch (100 ms doubling to 2 s, full jitter, `Retry-After` honoured) until
//!   it is acknowledged, while new events gather behind it.
//! - The buffer holds at most `--audit-queue` events; beyond that events are counted, sent as
//!   `dropped` with the next batch, and logged. A batch the control plane refuses with another
//!   status is dropped and counted the same way.
//! - 401 and 403 stop shipping for good, with a log line; the sidecar keeps serving.
//! - 410 means the control plane ended the execution: it stored the batch, and the sidecar
//!   must stop serving values. The shipper raises SIGTERM on its own process, so the ordinary
//!   shutdown begins (every further request is answered `ShuttingDown`), and what is left is
//!   still shipped (the control plane stores it and answers 410 again).
//! - With nothing to ship, an empty batch goes out every
//!   [`AUDIT_HEARTBEAT`], so a sidecar that serves no reads
//!   still learns of the end.
//! - At shutdown what is left is shipped within `--audit-flush-timeout`, retries included;
//!   what cannot be is lost.
//!
//! Every lost event is counted in [`lost_events`], which turns the sidecar's exit status into
//! [`AUDIT_LOST`](crate::exit::AUDIT_LOST): lost audit is never silent.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ax_protocol::contract::{self, AuditBatch};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use tokio::sync::Notify;

use super::jsonl::event_json;
use super::{AuditEvent, AuditSink};
use crate::control_plane::fetch::{read_capped, transport_reason};
use crate::control_plane::retry::{Backoff, FullJitter, Jitter, Retry, retry_after};
use crate::control_plane::status::{AuditVerdict, audit_verdict};
use crate::control_plane::{ControlPlane, SIDECAR_AGENT};
use crate::exit::StartupError;
use crate::limits::{AUDIT_HEARTBEAT, AUDIT_REQUEST_TIMEOUT, MAX_ERROR_BODY};
use crate::store::Store;

/// Events the shipper lost in all. Process-wide, not in the shipper's state, because the
/// watchdog must read it at its deadline without a lock a stuck shipper might hold; a process
/// has one shipper.
static LOST: AtomicU64 = AtomicU64::new(0);
/// The control plane answered 410: it ended the execution.
static ENDED: AtomicBool = AtomicBool::new(false);

/// Audit events the control-plane sink lost so far (dropped, refused, or not shipped in time).
pub fn lost_events() -> u64 {
    LOST.load(Ordering::Relaxed)
}

/// Whether the control plane ended the execution (an audit batch was answered 410).
pub fn execution_ended() -> bool {
    ENDED.load(Ordering::Relaxed)
}

/// How the sink batches and how long it may take at shutdown.
#[derive(Debug, Clone, Copy)]
pub struct ShipConfig {
    /// Most events per POST; a full batch goes out at once.
    pub batch: usize,
    /// Most events held; beyond it they are dropped and counted.
    pub capacity: usize,
    /// Longest wait of an event for others to share its POST.
    pub interval: Duration,
    /// At shutdown, the time left to ship what is held.
    pub flush_timeout: Duration,
}

#[derive(Debug, Default)]
struct Pending {
    /// Events, oldest first, owning their names (the store is the writer thread's).
    events: VecDeque<contract::AuditEvent<'static>>,
    /// Events lost since the last batch that went out.
    dropped: u64,
    /// When the oldest thing waiting (an event or a drop count) arrived.
    first_at: Option<Instant>,
    /// When shutdown began.
    closed_at: Option<Instant>,
    /// 401/403: nothing more is shipped.
    stopped: bool,
    /// The buffer is full (logged once per episode).
    overflowing: bool,
    /// Events lost in all, for the last log line.
    lost: u64,
}

impl Pending {
    /// Counts `n` events as lost, here and for the exit status.
    fn lose(&mut self, n: u64) {
        self.lost += n;
        LOST.fetch_add(n, Ordering::Relaxed);
    }
}

#[derive(Debug)]
struct Shared {
    state: Mutex<Pending>,
    wake: Notify,
    config: ShipConfig,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// When shipping must be over, once shutdown has begun.
    fn flush_deadline(&self) -> Option<tokio::time::Instant> {
        let closed = self.lock().closed_at?;
        Some(tokio::time::Instant::from_std(
            closed + self.config.flush_timeout,
        ))
    }
}

/// The sink; its shipping thread runs until [`AuditSink::finish`].
#[derive(Debug)]
pub struct ControlPlaneSink {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl ControlPlaneSink {
    /// Starts the shipping thread for `plane`'s execution.
    pub fn spawn(plane: &ControlPlane, config: ShipConfig) -> Result<Self, StartupError> {
        let shared = Arc::new(Shared {
            state: Mutex::new(Pending::default()),
            wake: Notify::new(),
            config,
        });
        let shipper = Shipper {
            shared: Arc::clone(&shared),
            client: plane.client()?,
            url: plane.url("audit"),
            authorization: plane.authorization()?,
            execution_id: plane.execution_id().to_owned(),
            jitter: FullJitter::default(),
            failing: false,
            last_post: Instant::now(),
        };
        let thread = std::thread::Builder::new()
            .name("ax-audit-ship".into())
            .stack_size(256 * 1024)
            .spawn(move || shipper.run_on_own_runtime())
            .map_err(|source| StartupError::Runtime {
                what: "audit shipper",
                source,
            })?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }
}

impl AuditSink for ControlPlaneSink {
    fn write_batch(
        &mut self,
        events: &[AuditEvent],
        dropped: u64,
        store: &Store,
    ) -> io::Result<()> {
        let lines: Vec<contract::AuditEvent<'static>> = events
            .iter()
            .map(|event| event_json(event, store, None).into_owned())
            .collect();
        let capacity = self.shared.config.capacity;
        let mut state = self.shared.lock();
        if state.stopped {
            let n = events.len() as u64 + dropped;
            state.lose(n);
            return Ok(());
        }
        state.dropped += dropped;
        state.lose(dropped);
        let mut overflow = 0u64;
        for line in lines {
            if state.events.len() < capacity {
                state.events.push_back(line);
            } else {
                overflow += 1;
            }
        }
        state.dropped += overflow;
        state.lose(overflow);
        let losing = overflow + dropped > 0;
        if losing && !state.overflowing {
            tracing::warn!(
                capacity,
                "the audit queue or the buffer for the control plane is full: dropping events \
                 (they are counted and reported as dropped)"
            );
        }
        state.overflowing = losing;
        if state.first_at.is_none() && (!state.events.is_empty() || state.dropped > 0) {
            state.first_at = Some(Instant::now());
        }
        drop(state);
        self.shared.wake.notify_one();
        Ok(())
    }

    fn finish(&mut self) {
        self.shared.lock().closed_at = Some(Instant::now());
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the audit shipper failed; audit events may be lost");
            }
        }
    }
}

/// One POST's worth.
struct Batch {
    body: String,
    events: usize,
    /// The drop count it reports.
    dropped: u64,
}

/// How a batch ended.
enum Delivery {
    Acknowledged,
    Ended,
    Stop(u16),
    Refused(u16),
    Deadline,
}

struct Shipper {
    shared: Arc<Shared>,
    client: reqwest::Client,
    url: String,
    authorization: HeaderValue,
    /// The execution id.
    execution_id: String,
    jitter: FullJitter,
    failing: bool,
    /// When the last POST ended, for the heartbeat.
    last_post: Instant,
}

impl Shipper {
    fn run_on_own_runtime(mut self) {
        // A runtime of its own: the daemon's stops before the last batches are shipped.
        match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime.block_on(self.run()),
            Err(err) => tracing::error!(error = %err, "cannot start the audit shipper"),
        }
    }

    async fn run(&mut self) {
        while let Some(batch) = self.next_batch().await {
            let delivery = self.deliver(&batch.body).await;
            self.last_post = Instant::now();
            match delivery {
                Delivery::Ended => {
                    if !ENDED.swap(true, Ordering::Relaxed) {
                        tracing::warn!(
                            "the control plane ended the execution (HTTP 410): no more values \
                             are served; shutting down"
                        );
                        // The signal thread begins the ordinary shutdown, as for an operator's
                        // SIGTERM: one path to stop, with its deadlines and its watchdog.
                        let _ = nix::sys::signal::kill(
                            nix::unistd::Pid::this(),
                            nix::sys::signal::Signal::SIGTERM,
                        );
                    }
                }
                Delivery::Acknowledged => {
                    if self.failing {
                        self.failing = false;
                        tracing::info!("audit shipping to the control plane works again");
                    }
                }
                Delivery::Stop(status) => {
                    let mut state = self.shared.lock();
                    state.stopped = true;
                    let lost = batch.events as u64 + state.events.len() as u64;
                    state.lose(lost);
                    state.events.clear();
                    tracing::error!(
                        status,
                        "the control plane refused the audit trail: audit events are no longer \
                         shipped and are lost (the sidecar keeps serving)"
                    );
                }
                Delivery::Refused(status) => {
                    let mut state = self.shared.lock();
                    // Its events are lost, and so is the count it carried: report both again.
                    state.dropped += batch.events as u64 + batch.dropped;
                    state.lose(batch.events as u64);
                    state.first_at.get_or_insert_with(Instant::now);
                    tracing::warn!(
                        status,
                        events = batch.events,
                        "the control plane refused an audit batch; its events are counted as dropped"
                    );
                }
                Delivery::Deadline => {
                    let mut state = self.shared.lock();
                    let unshipped = batch.events as u64 + state.events.len() as u64;
                    state.lose(unshipped);
                    tracing::warn!(
                        events = unshipped,
                        "the audit flush timeout passed: these events were not shipped"
                    );
                    return;
                }
            }
        }
        let lost = self.shared.lock().lost;
        if lost > 0 {
            tracing::warn!(
                events = lost,
                "audit events were dropped in all during this run"
            );
        }
    }

    /// Waits until a batch is due and takes it; `None` once shut down with nothing left.
    async fn next_batch(&self) -> Option<Batch> {
        let config = self.shared.config;
        loop {
            let wait = {
                let mut state = self.shared.lock();
                let closed = state.closed_at.is_some() || state.stopped;
                let due = closed
                    || state.events.len() >= config.batch
                    || state
                        .first_at
                        .is_some_and(|t| t.elapsed() >= config.interval);
                let waiting = !state.events.is_empty() || state.dropped > 0;
                // An empty batch while serving, so a 410 reaches even an idle sidecar.
                let heartbeat =
                    !closed && !execution_ended() && self.last_post.elapsed() >= AUDIT_HEARTBEAT;
                if !state.stopped && ((due && waiting) || heartbeat) {
                    return Some(self.take(&mut state));
                }
                if closed {
                    return None;
                }
                let batch_wait = state.first_at.map_or(config.interval, |t| {
                    config.interval.saturating_sub(t.elapsed())
                });
                if execution_ended() {
                    batch_wait
                } else {
                    batch_wait.min(AUDIT_HEARTBEAT.saturating_sub(self.last_post.elapsed()))
                }
            };
            let _ = tokio::time::timeout(wait, self.shared.wake.notified()).await;
        }
    }

    fn take(&self, state: &mut Pending) -> Batch {
        let n = state.events.len().min(self.shared.config.batch);
        let dropped = std::mem::take(&mut state.dropped);
        let batch = AuditBatch {
            execution_id: Cow::Borrowed(&self.execution_id),
            sidecar: Some(Cow::Borrowed(SIDECAR_AGENT)),
            dropped,
            events: state.events.drain(..n).collect(),
        };
        // Strings, numbers and unit enums: encoding cannot fail. Were it to, the empty body
        // would be refused (400) and its events counted as dropped, never lost silently.
        let body = serde_json::to_string(&batch).unwrap_or_default();
        state.first_at = if state.events.is_empty() {
            None
        } else {
            Some(Instant::now())
        };
        Batch {
            body,
            events: n,
            dropped,
        }
    }

    /// Sends one batch until it is answered for good, or the flush deadline passes.
    async fn deliver(&mut self, body: &str) -> Delivery {
        let mut backoff = Backoff::new();
        loop {
            let retry = match self.post_in_time(body).await {
                Some(Ok((status, after))) => match audit_verdict(status) {
                    AuditVerdict::Acknowledged => return Delivery::Acknowledged,
                    AuditVerdict::Stop => return Delivery::Stop(status),
                    AuditVerdict::Ended => return Delivery::Ended,
                    AuditVerdict::Drop => return Delivery::Refused(status),
                    AuditVerdict::Retry => Retry {
                        reason: format!("HTTP {status}"),
                        retry_after: after,
                    },
                },
                Some(Err(reason)) => Retry::because(reason),
                None => Retry::because("timed out"),
            };
            if !self.failing {
                self.failing = true;
                tracing::warn!(reason = %retry.reason, "cannot ship audit events to the control plane; retrying");
            }
            let wait = retry
                .retry_after
                .unwrap_or_else(|| self.jitter.pick(backoff.next_ceiling()));
            let wake_at = tokio::time::Instant::now() + wait;
            // Sleep, but notice the start of shutdown: its deadline may end the wait early.
            loop {
                if self.shared.flush_deadline().is_some_and(|d| wake_at >= d) {
                    return Delivery::Deadline;
                }
                tokio::select! {
                    () = tokio::time::sleep_until(wake_at) => break,
                    () = self.shared.wake.notified() => {}
                }
            }
        }
    }

    /// One POST, abandoned (`None`) after [`AUDIT_REQUEST_TIMEOUT`] or at the flush deadline,
    /// whichever is first. A shutdown that begins while the POST is in flight brings that
    /// deadline forward, so a control plane that never answers cannot hold the sidecar's exit
    /// past `--audit-flush-timeout`.
    async fn post_in_time(&self, body: &str) -> Option<Result<(u16, Option<Duration>), String>> {
        let timeout_at = tokio::time::Instant::now() + AUDIT_REQUEST_TIMEOUT;
        let mut post = std::pin::pin!(self.post(body));
        loop {
            let limit = self
                .shared
                .flush_deadline()
                .map_or(timeout_at, |d| d.min(timeout_at));
            tokio::select! {
                answer = &mut post => return Some(answer),
                () = tokio::time::sleep_until(limit) => return None,
                () = self.shared.wake.notified() => {}
            }
        }
    }

    /// One POST: the status and any `Retry-After`, or why it did not get one.
    async fn post(&self, body: &str) -> Result<(u16, Option<Duration>), String> {
        let response = self
            .client
            .post(&self.url)
            .header(AUTHORIZATION, self.authorization.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_owned())
            .send()
            .await
            .map_err(|e| transport_reason(&e))?;
        let status = response.status().as_u16();
        let after = retry_after(response.headers());
        // Read the (small) answer so the connection can be reused.
        let _ = read_capped(response, MAX_ERROR_BODY).await;
        Ok((status, after))
    }
}
