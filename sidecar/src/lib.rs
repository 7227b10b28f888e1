//! `ax-sidecar`: the per-execution daemon that serves a sealed secret bundle from locked memory
//! over a Unix socket to the nodes of one execution. The binary's `main` only parses arguments; everything
//! else lives here, one idea per module.
//!
//! # Layout
//!
//! - [`cli`]: the command line and the documentation of every flag.
//! - [`limits`]: every tunable limit, with its default and valid range.
//! - [`exit`]: exit codes and the start-up errors that map onto them.
//! - [`messages`]: every error text sent to clients.
//! - [`daemon`]: `serve`: start-up order, serving, shutdown.
//! - [`mode`]: online or offline: the bundle source, the audit sinks and the descriptors the
//!   flags choose.
//! - [`seal`]: `seal`: JSON secrets into a local sealed file.
//! - [`startup`]: signals held and the launcher watched from the first instruction of `main`.
//! - [`harden`]: dumpable off, no core, every page of the process locked.
//! - [`alloc`]: the global allocator that wipes freed memory.
//! - [`arena`]: the one locked, guarded, read-only region holding the values.
//! - [`source`]: where the bundle comes from: the local file, or the control plane.
//! - [`control_plane`]: HTTPS to the control plane: credentials, TLS, retries, the fetch.
//! - [`store`]: the effective secrets: an index into the arena.
//! - [`socket`]: the private (or group-shared) directory and the socket file.
//! - [`server`]: the accept loop, who may connect, the connection cap, drained shutdown.
//! - [`connection`]: one connection: framing, timeouts, pipelining, buffer wiping.
//! - [`request`]: one module per request kind.
//! - [`token`]: the client token, checked in constant time.
//! - [`redact`]: the redaction engine (over the forms of `ax_protocol::encodings`).
//! - [`audit`]: the audit queue, its writer thread, the JSON-lines and control-plane sinks.
//! - [`stream`]: the launcher's stream filter (`--redact-stream`) and the FIFO (`--redact-fifo`).
//! - [`ready`]: the ready line for the launcher, on a descriptor or in a file.
//! - [`probe`]: `probe`: Hello and Ping against a running sidecar, for health checks.
//! - [`logging`]: tracing to stderr, text or JSON, through a bounded queue that never blocks.
//! - [`log_limit`]: at most one line a second of each warning a peer can trigger.
//! - [`watchdog`]: the process is gone by a deadline once shutdown starts.

pub mod alloc;
pub mod arena;
pub mod audit;
pub mod cli;
pub mod connection;
pub mod control_plane;
pub mod daemon;
pub mod exit;
pub mod harden;
pub mod limits;
pub mod log_limit;
pub mod logging;
pub mod messages;
pub mod mode;
pub mod probe;
pub mod ready;
pub mod redact;
pub mod request;
pub mod seal;
pub mod server;
pub mod socket;
pub mod source;
pub mod startup;
pub mod store;
pub mod stream;
pub mod token;
pub mod watchdog;
