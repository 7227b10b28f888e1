//! ax-secrets integration: the reference control plane, the `ax-run` launcher, and the pieces
//! the end-to-end tests, the benchmark and the demo share.
//!
//! # Layout
//!
//! - [`control_plane`]: the reference control plane, a real HTTPS server (hyper + rustls on
//!   ring) with in-memory or SQLite storage (sealed at rest): tenants, secrets, flow configs with overrides, environments,
//!   one-time execution tokens, the sealed-bundle endpoint and audit ingest of PROTOCOL §13,
//!   and fault injection for tests. Its management API is documented in `CONTROL_PLANE.md`.
//! - [`https`]: a small blocking HTTPS/1.1 client (rustls on ring) for launchers and tests.
//! - [`admin`]: a typed client of the management API, over [`https`].
//! - [`run`]: the `ax-run` launcher: one sidecar per execution around a command.
//! - [`probe`]: a minimal node speaking the socket protocol, used by the tests and the bench.
//! - [`demo`]: the end-to-end demo behind `integration/demo.sh`.
//! - [`util`]: clock, random tokens, private files.

pub mod admin;
pub mod cli;
pub mod control_plane;
pub mod demo;
pub mod https;
pub mod probe;
pub mod run;
pub mod util;
