//! The wire contract of ax-secrets: everything two parties must agree on byte for byte, and
//! nothing else. No sockets, no async runtime, no global state; the optional `codec` feature adds
//! a tokio-util framing codec for the sidecar.
//!
//! `PROTOCOL.md` beside this crate is the normative specification; this crate is its reference
//! implementation, and the vectors in `vectors/` are generated from it.
//!
//! # Example
//!
//! A client frames a request, and decodes the sidecar's answer borrowing from the frame:
//!
//! ```
//! use std::borrow::Cow;
//! use ax_protocol::frame::{decode_response, split_frame, to_frame};
//! use ax_protocol::limits::{MAX_REQUEST_FRAME, MAX_RESPONSE_FRAME};
//! use ax_protocol::{Request, RequestBody, ResponseBody};
//!
//! let get = Request { id: 7, body: RequestBody::Get { name: Cow::Borrowed("OPENAI_API_KEY") } };
//! let frame = to_frame(&get, MAX_REQUEST_FRAME)?;
//! assert_eq!(&frame[..6], [0x00, 0x00, 0x00, 0x11, 0x07, 0x01]); // length 17, id 7, Get
//!
//! // The sidecar's answer for a missing secret (vector responses.json #3).
//! let answer = [0x00, 0x00, 0x00, 0x03, 0x08, 0x01, 0x00];
//! let (body, used) = split_frame(&answer, MAX_RESPONSE_FRAME)?.expect("a whole frame");
//! assert_eq!(used, answer.len());
//! let response = decode_response(body)?;
//! assert!(matches!(response.body, ResponseBody::Secret { value: None }));
//! # Ok::<(), ax_protocol::WireError>(())
//! ```
//!
//! # Layout
//!
//! - [`limits`]: every size limit and protocol constant, in one place.
//! - [`message`]: the v2 request and response types, with their postcard encoding.
//! - [`frame`]: length-prefixed framing and the strict message decoder (pure functions).
//! - [`blocking`]: framing over `std::io::Read`/`Write`, for blocking clients.
//! - `codec` (feature `codec`): the same framing as a tokio-util `Decoder`/`Encoder`.
//! - [`name`]: the secret-name rule.
//! - [`template`]: the `{{secrets.NAME}}` template parser and renderer.
//! - [`encodings`]: the forms of a value that redaction matches (base64, JSON-escaped, ...).
//! - [`secret`]: [`SecretText`], the wrapper that keeps values out of `Debug` and wipes them.
//! - [`error`]: the wire error (allocation-free, never carries a value).
//! - [`bundle`]: the sealed bundle: plaintext type, HPKE, the signed envelope, the local file.
//! - [`contract`]: the control-plane HTTP contract (JSON bodies and status tables of §13).

pub mod blocking;
pub mod bundle;
#[cfg(feature = "codec")]
pub mod codec;
pub mod contract;
pub mod encodings;
pub mod error;
pub mod frame;
pub mod limits;
pub mod message;
pub mod name;
pub mod secret;
pub mod template;

pub use error::WireError;
pub use message::{ErrorCode, Request, RequestBody, Response, ResponseBody, SecretInfo};
pub use secret::SecretText;
