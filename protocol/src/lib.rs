//! The wire contract of ax-secrets: everything two parties must agree on byte for byte, and
//! nothing else. No sockets, no async runtime, no global state; the optional `codec` feature adds
//! a tokio-util framing codec for the sidecar.
//!
//! `PROTOCOL.md` beside this crate is the normative specification; this crate is its reference
//! implementation, and the vectors in `vectors/` are generated from it.
//!
//! # Layout
//!
//! - [`limits`]: every size limit and protocol constant, in one place.
//! - [`message`]: the v1 request and response types, with their postcard encoding.
//! - [`frame`]: length-prefixed framing and the strict message decoder (pure functions).
//! - [`blocking`]: framing over `std::io::Read`/`Write`, for blocking clients.
//! - `codec` (feature `codec`): the same framing as a tokio-util `Decoder`/`Encoder`.
//! - [`name`]: the secret-name rule.
//! - [`template`]: the `{{secrets.NAME}}` template parser and renderer.
//! - [`secret`]: [`SecretText`], the wrapper that keeps values out of `Debug` and wipes them.
//! - [`error`]: the wire error (allocation-free, never carries a value).
//! - [`bundle`]: the sealed bundle: plaintext type, HPKE, the signed envelope, the local file.

pub mod blocking;
pub mod bundle;
#[cfg(feature = "codec")]
pub mod codec;
pub mod error;
pub mod frame;
pub mod limits;
pub mod message;
pub mod name;
pub mod secret;
pub mod template;

pub use error::WireError;
pub use message::{
    ErrorCode, Request, RequestBody, Response, ResponseBody, SecretInfo, SecretSource,
};
pub use secret::SecretText;
