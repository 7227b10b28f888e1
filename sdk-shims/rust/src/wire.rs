//! The frames the client writes and reads, on `ax-protocol`'s framing (PROTOCOL §2) with the
//! limits of [`ax_protocol::limits`].
//!
//! Node code never needs this module. It is public so that tools, and the shared-vector tests,
//! drive exactly the code the client runs: requests are encoded with
//! [`ax_protocol::frame::encode_frame`] under the 1 MiB request limit, and responses are read
//! with [`ax_protocol::blocking::read_frame`] under the 16 MiB response limit and decoded
//! strictly (no trailing bytes) with [`ax_protocol::frame::decode_response`].
//!
//! ```
//! use std::borrow::Cow;
//! use ax_protocol::{Request, RequestBody, ResponseBody};
//! use ax_secrets::wire::{encode_request, read_response};
//!
//! let mut out = Vec::new();
//! let ping = Request { id: 20, body: RequestBody::Ping };
//! encode_request(&ping, &mut out)?;
//! assert_eq!(out, [0, 0, 0, 2, 0x14, 0x05]); // vector requests.json #19
//!
//! let answer = [0x00, 0x00, 0x00, 0x03, 0x08, 0x01, 0x00]; // Secret None, id 8
//! let mut frame = Vec::new();
//! let response = read_response(&mut &answer[..], &mut frame).expect("a valid answer");
//! assert_eq!(response.id, 8);
//! assert!(matches!(response.body, ResponseBody::Secret { value: None }));
//! # Ok::<(), ax_secrets::Error>(())
//! ```

use std::io::{self, Read};

use ax_protocol::frame::{decode_response, encode_frame};
use ax_protocol::limits::{MAX_REQUEST_FRAME, MAX_RESPONSE_FRAME};
use ax_protocol::{Request, Response, WireError, blocking};

use crate::error::{Error, Reason};

/// Replaces the contents of `out` with one frame holding `request`.
///
/// # Errors
///
/// [`Error::TooLarge`] when the body would exceed the 1 MiB request limit; `out` is then empty.
pub fn encode_request(request: &Request<'_>, out: &mut Vec<u8>) -> Result<(), Error> {
    out.clear();
    encode_frame(request, MAX_REQUEST_FRAME, out).map_err(|_| Error::TooLarge {
        request: request.body.kind(),
        limit: MAX_REQUEST_FRAME,
    })
}

/// Reads one response frame into `frame` and decodes it, borrowing its strings from `frame`.
///
/// # Errors
///
/// - [`Reason::Closed`]: the stream ended cleanly before a frame began.
/// - [`Reason::Malformed`]: a frame over 16 MiB (`FrameTooLarge`, refused before reading its
///   body), a stream that ends inside a frame (`Truncated`), or a body that is not exactly one
///   v2 response (the other [`WireError`]s of PROTOCOL §10.2).
/// - [`Reason::TimedOut`] or [`Reason::Broken`]: the reader failed.
pub fn read_response<'b, R>(reader: &mut R, frame: &'b mut Vec<u8>) -> Result<Response<'b>, Reason>
where
    R: Read + ?Sized,
{
    match blocking::read_frame(reader, MAX_RESPONSE_FRAME, frame) {
        Ok(Some(body)) => decode_response(body).map_err(Reason::Malformed),
        Ok(None) => Err(Reason::Closed),
        Err(error) => Err(classify(error)),
    }
}

/// Sorts an I/O failure of the connection into the reason the caller is given.
pub(crate) fn classify(error: io::Error) -> Reason {
    if let Some(wire) = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<WireError>())
    {
        return Reason::Malformed(*wire);
    }
    match error.kind() {
        // A read timeout shows as WouldBlock on Unix, TimedOut elsewhere.
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Reason::TimedOut,
        io::ErrorKind::UnexpectedEof => Reason::Malformed(WireError::Truncated),
        _ => Reason::Broken(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ax_protocol::RequestBody;
    use std::borrow::Cow;

    #[test]
    fn a_request_over_the_limit_leaves_nothing_to_send() {
        let text = "x".repeat(MAX_REQUEST_FRAME as usize);
        let request = Request {
            id: 1,
            body: RequestBody::Redact {
                text: ax_protocol::SecretText::borrowed(&text),
            },
        };
        let mut out = vec![1, 2, 3];
        let refused = encode_request(&request, &mut out);
        assert!(matches!(
            refused,
            Err(Error::TooLarge {
                request: "Redact",
                limit: MAX_REQUEST_FRAME
            })
        ));
        assert!(out.is_empty());
    }

    #[test]
    fn a_stream_cut_inside_a_frame_is_truncated() {
        let mut frame = Vec::new();
        let cut = [0u8, 0, 0, 3, 8, 1];
        assert!(matches!(
            read_response(&mut &cut[..], &mut frame),
            Err(Reason::Malformed(WireError::Truncated))
        ));
        let get = Request {
            id: 1,
            body: RequestBody::Get {
                name: Cow::Borrowed("A"),
            },
        };
        encode_request(&get, &mut frame).unwrap();
        assert!(matches!(
            read_response(&mut &[][..], &mut frame),
            Err(Reason::Closed)
        ));
    }
}
