//! Every message the sidecar sends a client in an `Error` response, in one place.
//!
//! None of them carries anything the client sent: a value pasted where a name belongs must not
//! come back in an error, and clients act on the code, never on the text (PROTOCOL §6.6). The
//! one that carries a number, [`uid_not_allowed`], carries the peer's uid as the kernel gave
//! it (`SO_PEERCRED`), which the peer cannot choose and already knows.

/// `BadRequest`: the frame did not decode.
pub const MALFORMED: &str = "malformed request; closing the connection";
/// `TooLarge`: a request frame over the limit.
pub const REQUEST_TOO_LARGE: &str = "request frame over the limit; closing the connection";
/// `TooLarge`: the answer would exceed the response limit.
pub const RESPONSE_TOO_LARGE: &str = "the response would exceed the response size limit";
/// `BadRequest`: a `Hello` whose `client` is longer than the protocol allows.
pub const CLIENT_TOO_LONG: &str = "Hello.client is longer than 256 bytes; closing the connection";
/// `UnsupportedVersion`.
pub const UNSUPPORTED_VERSION: &str = "unsupported protocol version; this sidecar speaks 2";
/// `Unauthorized`: wrong or missing token.
pub const BAD_TOKEN: &str = "client token missing or wrong";
/// `Unauthorized` (id 0): the peer's uid is not on the uid list and its gid not on the gid
/// list. Named by uid: that is what an operator adds with `--allow-uid`, and the word tells a
/// client this refusal from the token's ([`BAD_TOKEN`]).
pub fn uid_not_allowed(uid: u32) -> String {
    format!("this uid ({uid}) may not connect to this sidecar")
}
/// `HandshakeRequired`: a request before `Hello`.
pub const HELLO_FIRST: &str = "the first request on a connection must be Hello";
/// `HandshakeRequired`: a second `Hello`.
pub const HELLO_TWICE: &str = "Hello was already done on this connection";
/// `Busy`: the connection limit is reached.
pub const BUSY: &str = "too many connections; retry later";
/// `ShuttingDown`.
pub const SHUTTING_DOWN: &str = "the sidecar is shutting down";
/// Written once to a `--redact-stream` output whose stream cannot be masked (then discarded).
pub const STREAM_WITHHELD: &str =
    "[ax-sidecar: output withheld: the redaction engine is unavailable; see the sidecar's log]\n";
/// `Internal`: serving one request failed unexpectedly.
pub const INTERNAL: &str = "the sidecar failed to serve this request; see its log";
/// `Internal`: the redaction matcher could not be built.
pub const REDACTION_UNAVAILABLE: &str = "redaction is unavailable; see the sidecar's log";
