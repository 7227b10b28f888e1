//! The audit trail's JSON (PROTOCOL §13.2, §13.3): the batch a sidecar POSTs to
//! `{base}/v1/executions/{id}/audit`, its events, and the lines of the local trail.
//!
//! Field order is part of the contract: the local trail's lines are compared byte for byte
//! (§13.3's example), so the structs list their fields in the order they are written.
//!
//! Consumers "must ignore fields and actions they do not know" (§13.2), so these types never
//! deny unknown fields, and an unknown `action` decodes as [`Action::Unknown`].

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// Recorded instead of a name that breaks the name rule (§13.2): it might be a value.
pub const INVALID_NAME: &str = "<invalid>";

/// Recorded instead of a missing name that equals a value of the bundle or one of its forms
/// (§13.2).
pub const VALUE_NAME: &str = "<value>";

/// One POST of audit events (§13.2).
///
/// ```text
/// {"execution_id":"exec-7f3a","sidecar":"ax-sidecar/0.1.0","dropped":0,"events":[...]}
/// ```
///
/// An empty `events` with `dropped` 0 is the heartbeat, which a control plane accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditBatch<'a> {
    /// The execution, the same as in the URL.
    pub execution_id: Cow<'a, str>,
    /// The sidecar's name and version; informational, optional to receive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sidecar: Option<Cow<'a, str>>,
    /// Events the sidecar discarded since the previous batch (a full queue, a refused batch);
    /// 0 when absent.
    #[serde(default)]
    pub dropped: u64,
    /// The events, in `seq` order.
    pub events: Vec<AuditEvent<'a>>,
}

/// One audited request (§13.2), or one line of the local trail (§13.3), which adds
/// `execution_id`.
///
/// ```text
/// {"seq":1,"time":"2026-11-23T01:02:03.456Z","execution_id":"exec-7f3a","action":"get","names":["DB_URL"],"found":true,"peer":{"pid":4242,"uid":1000,"gid":1000}}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent<'a> {
    /// The execution's events numbered from 1 without gaps; a dropped event gets none.
    pub seq: u64,
    /// RFC 3339 UTC with milliseconds, e.g. `2026-11-23T01:02:03.456Z`.
    pub time: Cow<'a, str>,
    /// On the local trail's lines only (§13.3); a batch names its execution once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<Cow<'a, str>>,
    /// What was asked.
    pub action: Action,
    /// The names, or [`INVALID_NAME`] / [`VALUE_NAME`] in their place; empty for `list` and
    /// `refused`.
    pub names: Vec<Cow<'a, str>>,
    /// `get`: the secret exists; `render`: every reference was found; `redact`,
    /// `redact_stream`: any value was found; `list`: true; `refused`: false.
    pub found: bool,
    /// Who asked, from `SO_PEERCRED`.
    pub peer: Peer,
    /// `refused` only: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<RefusalReason>,
    /// `refused` only: how many refusals the event stands for (at least 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

impl AuditEvent<'_> {
    /// The same event, owning its strings (to keep it past what it borrowed from).
    pub fn into_owned(self) -> AuditEvent<'static> {
        AuditEvent {
            seq: self.seq,
            time: Cow::Owned(self.time.into_owned()),
            execution_id: self.execution_id.map(|id| Cow::Owned(id.into_owned())),
            action: self.action,
            names: self
                .names
                .into_iter()
                .map(|name| Cow::Owned(name.into_owned()))
                .collect(),
            found: self.found,
            peer: self.peer,
            reason: self.reason,
            count: self.count,
        }
    }
}

/// The `action` of an event (§13.2, §13.4) or of the local trail's `dropped` line (§13.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A `Get`.
    Get,
    /// A `Render`.
    Render,
    /// A `Redact`.
    Redact,
    /// A stream of the launcher's that reached its end (§13.4).
    RedactStream,
    /// A `List`.
    List,
    /// Refused connections, with `reason` and `count`.
    Refused,
    /// The local trail's line for events lost from a full queue (§13.3); never in a batch.
    Dropped,
    /// An action this version does not know, which a consumer ignores (§13.2). Encoding it
    /// writes `"unknown"`: only a consumer decodes events, and none writes them back.
    #[serde(other)]
    Unknown,
}

impl Action {
    /// The name written to the trail, e.g. `"redact_stream"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Render => "render",
            Self::Redact => "redact",
            Self::RedactStream => "redact_stream",
            Self::List => "list",
            Self::Refused => "refused",
            Self::Dropped => "dropped",
            Self::Unknown => "unknown",
        }
    }
}

/// Why a connection was refused (§13.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalReason {
    /// The peer's uid is not allowed (refused at accept).
    Uid,
    /// `Hello` had no client token or a wrong one.
    Token,
    /// `Hello` asked for an unsupported protocol version.
    Version,
}

impl RefusalReason {
    /// The `reason` written to the trail, e.g. `"token"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Uid => "uid",
            Self::Token => "token",
            Self::Version => "version",
        }
    }
}

/// The peer of an event, from `SO_PEERCRED` at connect time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Peer {
    /// Its process id (0 if unknown).
    pub pid: i32,
    /// Its uid.
    pub uid: u32,
    /// Its gid.
    pub gid: u32,
}

/// The local trail's line for lost events (§13.3): no `seq`, no names, no peer.
///
/// ```text
/// {"time":"2026-11-23T01:02:04.000Z","execution_id":"exec-7f3a","action":"dropped","count":17}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DroppedLine<'a> {
    /// When the line was written, as [`AuditEvent::time`].
    pub time: Cow<'a, str>,
    /// The execution.
    pub execution_id: Cow<'a, str>,
    /// Always [`Action::Dropped`].
    pub action: Action,
    /// How many events were lost since the previous batch.
    pub count: u64,
}

impl<'a> DroppedLine<'a> {
    /// The line for `count` events lost, written at `time`.
    pub fn new(time: Cow<'a, str>, execution_id: Cow<'a, str>, count: u64) -> Self {
        Self {
            time,
            execution_id,
            action: Action::Dropped,
            count,
        }
    }
}
