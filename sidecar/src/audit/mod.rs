//! The audit trail: one event per `Get`, `Render`, `Redact` and `List`, one per redacted stream
//! at its end, and one per refused connection (coalesced); names only, never a value.
//!
//! Serving never waits on audit I/O: a request appends its event to a bounded in-memory
//! [`AuditQueue`] (a mutex held for a push), and a dedicated writer thread hands batches to an
//! [`AuditSink`]. When the queue is full, events are counted as dropped instead of blocking
//! reads or growing without bound, and the count reaches the sink with the next batch.
//!
//! - [`queue`]: the bounded queue and the writer thread.
//! - [`jsonl`]: the JSON-lines sink (a file or stderr), and the JSON of one event.
//! - [`ship`]: the control-plane sink, which POSTs batches (PROTOCOL §13.2).
//! - [`tee`]: one sink feeding two.
//! - [`time`]: RFC 3339 timestamps without a date library.
//! - [`value_like`]: recognising a "name" that is really a value, so it is never recorded.

pub mod jsonl;
pub mod queue;
pub mod ship;
pub mod tee;
pub mod time;
pub mod value_like;

use std::io;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use ax_protocol::contract;

use crate::store::Store;

pub use queue::{AuditQueue, AuditWriter};

// The trail's shared vocabulary (PROTOCOL §13.2): the peer (from `SO_PEERCRED` at connect
// time), why a connection was refused (never `Busy`: a full sidecar says nothing about who may
// read secrets, and the connection cap already bounds it), and the placeholders recorded
// instead of a name that might be a value.
pub use ax_protocol::contract::{INVALID_NAME, Peer, RefusalReason, VALUE_NAME};

/// The audited request kinds (PROTOCOL §13.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A `Get`.
    Get,
    /// A `Render`.
    Render,
    /// A `Redact`.
    Redact,
    /// A stream of the launcher's that reached its end (PROTOCOL §13.4).
    RedactStream,
    /// A `List`.
    List,
    /// Connections refused for a credential problem. Refusals are peer-triggered, so one
    /// event stands for `count` of them: the one that was recorded and those folded into it
    /// since the previous refusal event of the same reason (see [`Refusals`]).
    Refused {
        /// Why.
        reason: RefusalReason,
        /// How many refusals this event stands for (at least 1).
        count: u64,
    },
}

/// Coalesces refusal events of one reason: a peer can refuse itself thousands of times a
/// second, and each of those events would push a legitimate one out of the bounded queue. At
/// most one event per reason per [`REFUSAL_INTERVAL`] is recorded; the refusals in between are
/// counted and folded into the next event's `count` (its `peer` is then the latest refused
/// one), and [`Refusals::flush`] records what is still folded at shutdown, so the trail always
/// says how many refusals there were.
#[derive(Debug)]
pub struct Refusals {
    reason: RefusalReason,
    state: Mutex<RefusalState>,
}

/// At most one refusal event of each reason per interval.
pub const REFUSAL_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug)]
struct RefusalState {
    last: Option<Instant>,
    folded: u64,
    peer: Option<Peer>,
}

impl Refusals {
    /// Refusals for `reason`, the first one recorded at once.
    pub const fn new(reason: RefusalReason) -> Self {
        Self {
            reason,
            state: Mutex::new(RefusalState {
                last: None,
                folded: 0,
                peer: None,
            }),
        }
    }

    /// Records one refusal of `peer`, or folds it into the next recorded one.
    pub fn record(&self, queue: &AuditQueue, peer: Peer) {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state
            .last
            .is_some_and(|last| now.saturating_duration_since(last) < REFUSAL_INTERVAL)
        {
            state.folded = state.folded.saturating_add(1);
            state.peer = Some(peer);
            return;
        }
        state.last = Some(now);
        let count = std::mem::take(&mut state.folded).saturating_add(1);
        state.peer = None;
        drop(state);
        self.push(queue, count, peer);
    }

    /// Records the refusals still folded, if any (at shutdown, before the queue closes).
    pub fn flush(&self, queue: &AuditQueue) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let count = std::mem::take(&mut state.folded);
        let peer = state.peer.take();
        drop(state);
        if let (true, Some(peer)) = (count > 0, peer) {
            self.push(queue, count, peer);
        }
    }

    fn push(&self, queue: &AuditQueue, count: u64, peer: Peer) {
        let action = Action::Refused {
            reason: self.reason,
            count,
        };
        queue.record(action, AuditNames::Many(Vec::new()), false, peer);
    }
}

/// The refusals of the whole process, one per reason: the accept loop records `uid`, the
/// handshake `token` and `version`, and the accept loop flushes them all when it stops.
pub static REFUSED_UID: Refusals = Refusals::new(RefusalReason::Uid);
/// See [`REFUSED_UID`].
pub static REFUSED_TOKEN: Refusals = Refusals::new(RefusalReason::Token);
/// See [`REFUSED_UID`].
pub static REFUSED_VERSION: Refusals = Refusals::new(RefusalReason::Version);

/// Records every refusal still folded (see [`Refusals::flush`]).
pub fn flush_refusals(queue: &AuditQueue) {
    for refusals in [&REFUSED_UID, &REFUSED_TOKEN, &REFUSED_VERSION] {
        refusals.flush(queue);
    }
}

impl Action {
    /// The `action` written to the trail (PROTOCOL §13.2).
    pub fn wire(self) -> contract::Action {
        match self {
            Self::Get => contract::Action::Get,
            Self::Render => contract::Action::Render,
            Self::Redact => contract::Action::Redact,
            Self::RedactStream => contract::Action::RedactStream,
            Self::List => contract::Action::List,
            Self::Refused { .. } => contract::Action::Refused,
        }
    }
}

/// A name in an event. A known name is kept as its index in the store, so auditing a `Get` of
/// an existing secret allocates nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditName {
    /// The secret at this position of [`Store::iter`].
    Known(usize),
    /// A valid name the store does not have.
    Missing(Box<str>),
    /// A string that breaks the name rule: it may be a value passed by mistake, so it is never
    /// recorded.
    Invalid,
    /// A valid name the store does not have that equals a value of the bundle, or one of its
    /// forms: a value passed by mistake, so it is never recorded.
    ValueLike,
}

impl AuditName {
    /// The name as written to the trail.
    pub fn resolve<'s>(&'s self, store: &'s Store) -> &'s str {
        match self {
            Self::Known(index) => store.at(*index).map_or(INVALID_NAME, |s| s.name),
            Self::Missing(name) => name,
            Self::Invalid => INVALID_NAME,
            Self::ValueLike => VALUE_NAME,
        }
    }
}

/// The names of one event: one for a `Get`, any number for `Render` and `Redact`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditNames {
    /// Exactly one name (no allocation for a known one).
    One(AuditName),
    /// Several, in the order the request had them.
    Many(Vec<AuditName>),
}

impl AuditNames {
    /// The names, in order.
    pub fn as_slice(&self) -> &[AuditName] {
        match self {
            Self::One(name) => std::slice::from_ref(name),
            Self::Many(names) => names,
        }
    }
}

/// One audited request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Position in the execution's trail, from 1 without gaps (set by the queue).
    pub seq: u64,
    /// When the request was served.
    pub time: SystemTime,
    /// What was asked.
    pub action: Action,
    /// Which names.
    pub names: AuditNames,
    /// `Get`: the secret exists; `Render`: every reference was found; `Redact`: any value
    /// was found.
    pub found: bool,
    /// Who asked.
    pub peer: Peer,
}

/// Where audit events go. Called from the writer thread only, so it may block.
pub trait AuditSink: Send + 'static {
    /// Writes one batch; `dropped` counts the events lost since the previous batch because the
    /// queue was full. Names are resolved through `store`.
    fn write_batch(&mut self, events: &[AuditEvent], dropped: u64, store: &Store)
    -> io::Result<()>;

    /// Called once after the last batch, at shutdown: a sink that ships in the background
    /// delivers what it still holds here, within its own deadline.
    fn finish(&mut self) {}
}
