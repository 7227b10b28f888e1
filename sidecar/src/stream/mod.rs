//! The launcher's stream filter (PROTOCOL §13.4): `--redact-stream IN_FD:OUT_FD` copies an
//! inherited pipe to another descriptor with every secret value and its encodings masked.
//!
//! - [`filter`]: the masking of a byte stream chunk by chunk, holding back only what could still
//!   begin a match.
//! - [`pump`]: the descriptors, one thread per stream, the audit event at its end.
//! - [`fifo`]: `--redact-fifo`, a named pipe in the socket directory copied masked to stdout,
//!   for writers that cannot hand over a descriptor.

pub mod fifo;
pub mod filter;
pub mod pump;

pub use filter::{StreamFilter, StreamMatcher};
pub use pump::{ClaimedStream, StreamSpec, Streams};
