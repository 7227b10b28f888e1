//! The control-plane HTTP contract of PROTOCOL §13 as types: every JSON body a sidecar and a
//! control plane exchange, and what each HTTP status means to either side.
//!
//! Both sides (the sidecar, the reference control plane, and the sidecar tests' fake control
//! plane) encode and decode these very types, so the schema has one definition and cannot
//! drift between copies; `vectors/control-plane/bodies.json` pins the bytes. The module does no
//! I/O and needs no JSON library: it is serde types, constants and pure functions.
//!
//! None of these types can hold a secret value: the fetch request carries a public key, audit
//! events carry names (or the placeholders [`INVALID_NAME`] and [`VALUE_NAME`] instead of
//! anything that might be a value), error bodies carry codes and messages that quote nothing
//! the caller sent. That is why they may derive `Debug`.
//!
//! - [`fetch`]: the bundle fetch request (§13.1).
//! - [`audit`]: the audit batch, its events, and the local trail's lines (§13.2, §13.3).
//! - [`error`]: the error body `{"error", "message"}` (§13).
//! - [`status`]: the status tables of §13.1 and §13.2.

pub mod audit;
pub mod error;
pub mod fetch;
pub mod status;

pub use audit::{
    Action, AuditBatch, AuditEvent, DroppedLine, INVALID_NAME, Peer, RefusalReason, VALUE_NAME,
};
pub use error::{ErrorBody, ErrorDetail, ErrorName};
pub use fetch::{BUNDLE_MEDIA_TYPE, FetchRequest, SUITE};
pub use status::{AuditVerdict, FetchVerdict, audit_verdict, fetch_verdict};
