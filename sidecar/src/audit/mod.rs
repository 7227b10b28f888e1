//! The audit trail: one event per `Get`, `Render` and `Redact`, and one per redacted stream at
//! its end; names only, never a value.
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

pub mod jsonl;
pub mod queue;
pub mod ship;
pub mod tee;
pub mod time;

use std::io;
use std::time::SystemTime;

use crate::store::Store;

pub use queue::{AuditQueue, AuditWriter};

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
}

impl Action {
    /// The name written to the trail.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Render => "render",
            Self::Redact => "redact",
            Self::RedactStream => "redact_stream",
        }
    }
}

/// Who asked, from `SO_PEERCRED` at connect time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    /// Process id of the peer that connected (0 if unknown).
    pub pid: i32,
    /// Its uid.
    pub uid: u32,
    /// Its gid.
    pub gid: u32,
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
}

/// Written instead of a name that breaks the name rule.
pub const INVALID_NAME: &str = "<invalid>";

impl AuditName {
    /// The name as written to the trail.
    pub fn resolve<'s>(&'s self, store: &'s Store) -> &'s str {
        match self {
            Self::Known(index) => store.at(*index).map_or(INVALID_NAME, |s| s.name),
            Self::Missing(name) => name,
            Self::Invalid => INVALID_NAME,
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
