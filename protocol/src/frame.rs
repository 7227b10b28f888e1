//! Length-prefixed framing and the strict message decoder.
//!
//! Every message travels in one frame:
//!
//! ```text
//! +----------------+--------------------------------+
//! | length: u32 BE |  body: `length` bytes          |
//! |   (4 bytes)    |  one postcard-encoded message  |
//! +----------------+--------------------------------+
//! ```
//!
//! `Request { id: 1, body: Ping }` is the body `01 05` (varint id 1, variant tag 5), so its frame
//! is:
//!
//! ```text
//! 00 00 00 02  01 05
//! ```
//!
//! The announced length is checked against the limit of the direction (requests 1 MiB, responses
//! 16 MiB) before a single byte of body is buffered, so a peer cannot make us allocate by lying.
//! The body must hold exactly one message: postcard's `from_bytes` ignores trailing bytes, so
//! decoding uses `take_from_bytes` and refuses a non-empty rest.

use serde::{Deserialize, Serialize};

use crate::error::WireError;
use crate::limits::FRAME_HEADER_LEN;
use crate::message::{Request, Response};

/// Reads the length prefix at the start of `buf`.
///
/// `Ok(None)` means fewer than four bytes are buffered. The length is refused when over `limit`,
/// before the caller reserves anything for the body.
pub fn body_len(buf: &[u8], limit: u32) -> Result<Option<usize>, WireError> {
    let Some(header) = buf.first_chunk::<FRAME_HEADER_LEN>() else {
        return Ok(None);
    };
    let len = u32::from_be_bytes(*header);
    if len > limit {
        return Err(WireError::FrameTooLarge { len, limit });
    }
    Ok(Some(len as usize))
}

/// Splits the first complete frame off `buf`: its body, and how many bytes it took in all.
///
/// `Ok(None)` means more bytes are needed.
pub fn split_frame(buf: &[u8], limit: u32) -> Result<Option<(&[u8], usize)>, WireError> {
    let Some(len) = body_len(buf, limit)? else {
        return Ok(None);
    };
    let total = FRAME_HEADER_LEN + len;
    Ok(buf.get(FRAME_HEADER_LEN..total).map(|body| (body, total)))
}

/// Decodes exactly one message from a frame body; trailing bytes are an error.
pub fn decode<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, WireError> {
    let (message, rest) = postcard::take_from_bytes(body)?;
    if rest.is_empty() {
        Ok(message)
    } else {
        Err(WireError::TrailingBytes)
    }
}

/// Decodes a request body, borrowing strings from it.
pub fn decode_request(body: &[u8]) -> Result<Request<'_>, WireError> {
    decode(body)
}

/// Decodes a response body, borrowing strings from it.
pub fn decode_response(body: &[u8]) -> Result<Response<'_>, WireError> {
    decode(body)
}

/// The `id` a request or response body starts with, if its first bytes are a valid `u32`
/// varint; for answering a body that fails to decode with the id it was sent under
/// (PROTOCOL §7.3: id 0 when no id can be read).
pub fn peek_id(body: &[u8]) -> Option<u32> {
    postcard::take_from_bytes::<u32>(body)
        .ok()
        .map(|(id, _)| id)
}

/// A growable byte buffer that frames can be appended to (`Vec<u8>` here, `BytesMut` in the
/// codec), so both framings share one encoder.
pub trait FrameSink {
    /// Bytes currently in the buffer.
    fn len(&self) -> usize;
    /// Whether the buffer is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Appends bytes.
    fn put(&mut self, bytes: &[u8]);
    /// Overwrites four bytes at `at` (the length prefix, once the body is written).
    fn patch(&mut self, at: usize, bytes: [u8; FRAME_HEADER_LEN]);
    /// Drops everything from `len` on (undoes a frame that failed to encode).
    fn truncate(&mut self, len: usize);
}

impl FrameSink for Vec<u8> {
    fn len(&self) -> usize {
        Vec::len(self)
    }
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
    fn patch(&mut self, at: usize, bytes: [u8; FRAME_HEADER_LEN]) {
        self[at..at + FRAME_HEADER_LEN].copy_from_slice(&bytes);
    }
    fn truncate(&mut self, len: usize) {
        Vec::truncate(self, len);
    }
}

/// Appends one frame holding `message` to `out`.
///
/// A message whose body would exceed `limit` is refused with [`WireError::MessageTooLarge`]
/// and `out` is left as it was; serialisation stops as soon as the limit is crossed.
pub fn encode_frame<T, S>(message: &T, limit: u32, out: &mut S) -> Result<(), WireError>
where
    T: Serialize + ?Sized,
    S: FrameSink + ?Sized,
{
    let start = out.len();
    out.put(&[0; FRAME_HEADER_LEN]);
    let flavor = LimitedSink {
        sink: &mut *out,
        written: 0,
        limit: limit as usize,
    };
    match postcard::serialize_with_flavor(message, flavor) {
        Ok(written) => {
            // `written <= limit <= u32::MAX`, checked as each byte went in.
            let len = u32::try_from(written).map_err(|_| WireError::MessageTooLarge { limit })?;
            out.patch(start, len.to_be_bytes());
            Ok(())
        }
        Err(_) => {
            out.truncate(start);
            Err(WireError::MessageTooLarge { limit })
        }
    }
}

/// Encodes `message` into a new buffer holding exactly one frame.
pub fn to_frame<T: Serialize + ?Sized>(message: &T, limit: u32) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::new();
    encode_frame(message, limit, &mut out)?;
    Ok(out)
}

/// A postcard flavor that appends to a [`FrameSink`] and fails once `limit` bytes are written.
struct LimitedSink<'s, S: FrameSink + ?Sized> {
    sink: &'s mut S,
    written: usize,
    limit: usize,
}

impl<S: FrameSink + ?Sized> postcard::ser_flavors::Flavor for LimitedSink<'_, S> {
    type Output = usize;

    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        let written = self.written.saturating_add(data.len());
        if written > self.limit {
            return Err(postcard::Error::SerializeBufferFull);
        }
        self.sink.put(data);
        self.written = written;
        Ok(())
    }

    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        self.try_extend(&[data])
    }

    fn finalize(self) -> postcard::Result<usize> {
        Ok(self.written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{MAX_REQUEST_FRAME, MAX_RESPONSE_FRAME};
    use crate::message::{RequestBody, ResponseBody};
    use crate::secret::SecretText;

    #[test]
    fn ping_frame_matches_the_documented_bytes() {
        let frame = to_frame(
            &Request {
                id: 1,
                body: RequestBody::Ping,
            },
            MAX_REQUEST_FRAME,
        );
        assert_eq!(frame.unwrap(), [0, 0, 0, 2, 1, 5]);
    }

    #[test]
    fn needs_four_bytes_before_deciding() {
        assert_eq!(body_len(&[0, 0, 0], 10), Ok(None));
        assert_eq!(split_frame(&[0, 0, 0, 2, 1], 10), Ok(None));
    }

    #[test]
    fn rejects_length_over_limit_before_any_body() {
        let err = body_len(&[0xff, 0xff, 0xff, 0xff], MAX_REQUEST_FRAME).unwrap_err();
        assert_eq!(
            err,
            WireError::FrameTooLarge {
                len: u32::MAX,
                limit: MAX_REQUEST_FRAME
            }
        );
    }

    #[test]
    fn rejects_trailing_bytes_in_body() {
        assert_eq!(decode_request(&[1, 5, 0]), Err(WireError::TrailingBytes));
    }

    #[test]
    fn refuses_to_encode_over_limit_and_leaves_buffer_intact() {
        let value = "x".repeat(100);
        let response = Response {
            id: 7,
            body: ResponseBody::Secret {
                value: Some(SecretText::borrowed(&value)),
            },
        };
        let mut out = vec![9, 9];
        assert_eq!(
            encode_frame(&response, 50, &mut out),
            Err(WireError::MessageTooLarge { limit: 50 })
        );
        assert_eq!(out, [9, 9]);
        encode_frame(&response, MAX_RESPONSE_FRAME, &mut out).unwrap();
        let (body, used) = split_frame(&out[2..], MAX_RESPONSE_FRAME).unwrap().unwrap();
        assert_eq!(used, out.len() - 2);
        assert_eq!(decode_response(body).unwrap(), response);
    }

    #[test]
    fn peeks_the_id_of_a_body_that_does_not_decode() {
        assert_eq!(peek_id(&[0x07, 0xff, 0xff]), Some(7));
        assert_eq!(peek_id(&[0x80, 0x01, 0x63]), Some(128));
        assert_eq!(peek_id(&[0x80]), None);
        assert_eq!(peek_id(&[]), None);
        assert_eq!(peek_id(&[0xff, 0xff, 0xff, 0xff, 0x7f]), None);
    }
}
