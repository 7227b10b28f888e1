//! ax-secrets for Rust: node code reads its execution's secrets from the execution's
//! `ax-sidecar`.
//!
//! ```no_run
//! use ax_secrets::AxiomContext;
//!
//! let ax = AxiomContext::new(); // AX_SECRETS_SOCKET and AX_SECRETS_TOKEN, read on first use
//! let (key, found) = ax.secrets().get("OPENAI_API_KEY"); // ("sk-...", true) or ("", false)
//! # let _ = (key, found);
//! ```
//!
//! `ax.secrets()` also offers [`try_get`](Secrets::try_get), [`exists`](Secrets::exists),
//! [`list`](Secrets::list), [`render`](Secrets::render) and [`redact`](Secrets::redact). In
//! unit tests, [`MockAxiomContext`] answers the same calls from a map, exactly as a sidecar
//! serving those values would; write node code against the [`Context`] trait both implement:
//!
//! ```
//! use ax_secrets::{Context, MockAxiomContext};
//!
//! fn database_url(ax: &dyn Context) -> String {
//!     let (url, found) = ax.secrets().get("DB_URL");
//!     if found { url } else { "sqlite::memory:".to_owned() }
//! }
//!
//! let ax = MockAxiomContext::from_map([("DB_URL", "postgres://app@db/app")]);
//! assert_eq!(database_url(&ax), "postgres://app@db/app");
//! assert_eq!(database_url(&MockAxiomContext::new()), "sqlite::memory:");
//! ```
//!
//! # Errors
//!
//! A missing secret is never an error: `get` gives `("", false)`, `try_get` `Ok(None)`. A
//! secret whose value is empty is found. A string that is not a valid name
//! (`^[A-Za-z][A-Za-z0-9_]{0,127}$`) is not found, and is never sent to the sidecar.
//!
//! When the sidecar cannot be asked (socket not configured, nothing listening, token refused,
//! the connection broke, a malformed answer), every call but `get` returns an [`Error`] whose
//! message names the socket and never holds a value. `get`'s call shape, `(String, bool)`, has
//! no room for that, and a transport failure must never pass for "not found": **`get` panics**
//! with that message, as Python's `get` raises. Call `try_get` wherever a missing sidecar is
//! something to handle rather than a bug.
//!
//! # The connection
//!
//! [`AxiomContext`] connects lazily, on the first call, does the handshake once and reuses the
//! connection; it is `Send + Sync`, and calls from several threads take turns on it. Every
//! request is idempotent, so one that fails on a reused connection before any byte of its
//! answer arrived (the sidecar closed an idle connection, or restarted) is sent once more on a
//! fresh connection; never on a fresh one, never twice (PROTOCOL §7.4). Buffers the client owns
//! are wiped after each call; values reach the caller as ordinary `String`s.
//!
//! # Layout
//!
//! - `api`: the [`Context`] and [`Secrets`] traits, and what calls return ([`SecretInfo`],
//!   [`Rendered`], [`Redacted`]).
//! - `context`: [`AxiomContext`] and its [`Builder`].
//! - `client`: lazy connection, ids, the resend rule, answers onto results.
//! - `handshake`: the `Hello` on a fresh connection and what its answer means.
//! - `verdict`: what an answer or a failed read means for the call and the connection.
//! - `connection`: one Unix socket, its read buffer and wiping.
//! - [`wire`]: the frames the client writes and reads, on `ax-protocol`'s framing.
//! - `error`: [`Error`] and [`Reason`], and every message a user sees.
//! - `mock`: [`MockAxiomContext`].
//! - `redact`: the mock's redaction, over the same forms as the sidecar's
//!   (`ax_protocol::encodings`).

mod api;
mod client;
mod connection;
mod context;
mod error;
mod handshake;
mod mock;
mod redact;
mod verdict;
pub mod wire;

pub use api::{Context, Redacted, Rendered, SecretInfo, Secrets};
pub use ax_protocol::ErrorCode;
pub use ax_protocol::name::NameError;
pub use client::{SOCKET_ENV, TOKEN_ENV};
pub use context::{AxiomContext, Builder};
pub use error::{Error, Reason, Refused};
pub use mock::MockAxiomContext;
