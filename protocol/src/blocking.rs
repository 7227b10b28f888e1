//! Framing over blocking `std::io`, for clients that have no async runtime (the Rust shim).
//!
//! Failures are `std::io::Error`s: transport errors as they came, protocol errors with kind
//! `InvalidData` (or `UnexpectedEof` for a frame cut short) and the [`WireError`] as their source.

use std::io::{self, Read, Write};

use serde::Serialize;

use crate::error::WireError;
use crate::frame::{body_len, encode_frame};
use crate::limits::FRAME_HEADER_LEN;

fn wire_error(err: WireError) -> io::Error {
    let kind = match err {
        WireError::Truncated => io::ErrorKind::UnexpectedEof,
        _ => io::ErrorKind::InvalidData,
    };
    io::Error::new(kind, err)
}

/// Writes `message` as one frame with a single `write_all`.
///
/// `scratch` is cleared and reused so a client allocates once, not per request; it holds the
/// encoded message afterwards, so a caller that sends values should wipe it when done.
pub fn write_frame<W, T>(
    writer: &mut W,
    message: &T,
    limit: u32,
    scratch: &mut Vec<u8>,
) -> io::Result<()>
where
    W: Write + ?Sized,
    T: Serialize + ?Sized,
{
    scratch.clear();
    encode_frame(message, limit, scratch).map_err(wire_error)?;
    writer.write_all(scratch)?;
    writer.flush()
}

/// Reads one frame into `buf` and returns its body.
///
/// `Ok(None)` is a clean end of stream between frames; an end of stream inside a frame is an
/// `UnexpectedEof` error. A length over `limit` is refused before anything is reserved, and
/// the body buffer grows only as bytes actually arrive.
pub fn read_frame<'b, R>(
    reader: &mut R,
    limit: u32,
    buf: &'b mut Vec<u8>,
) -> io::Result<Option<&'b [u8]>>
where
    R: Read + ?Sized,
{
    let mut header = [0u8; FRAME_HEADER_LEN];
    let mut filled = 0;
    while filled < FRAME_HEADER_LEN {
        match reader.read(&mut header[filled..]) {
            Ok(0) if filled == 0 => return Ok(None),
            Ok(0) => return Err(wire_error(WireError::Truncated)),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let len = body_len(&header, limit)
        .map_err(wire_error)?
        .unwrap_or_default();
    buf.clear();
    reader.take(len as u64).read_to_end(buf)?;
    if buf.len() < len {
        return Err(wire_error(WireError::Truncated));
    }
    Ok(Some(buf.as_slice()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::decode_request;
    use crate::limits::MAX_REQUEST_FRAME;
    use crate::message::{Request, RequestBody};
    use std::borrow::Cow;

    #[test]
    fn round_trips_through_a_byte_stream() {
        let request = Request {
            id: 300,
            body: RequestBody::Get {
                name: Cow::Borrowed("DB_URL"),
            },
        };
        let mut wire = Vec::new();
        let mut scratch = Vec::new();
        write_frame(&mut wire, &request, MAX_REQUEST_FRAME, &mut scratch).unwrap();
        write_frame(&mut wire, &request, MAX_REQUEST_FRAME, &mut scratch).unwrap();

        let mut reader = wire.as_slice();
        let mut buf = Vec::new();
        for _ in 0..2 {
            let body = read_frame(&mut reader, MAX_REQUEST_FRAME, &mut buf)
                .unwrap()
                .unwrap();
            assert_eq!(decode_request(body).unwrap(), request);
        }
        assert!(
            read_frame(&mut reader, MAX_REQUEST_FRAME, &mut buf)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn eof_inside_header_or_body_is_unexpected_eof() {
        let mut buf = Vec::new();
        for cut in [&[0u8, 0][..], &[0, 0, 0, 3, 1][..]] {
            let err = read_frame(&mut &cut[..], MAX_REQUEST_FRAME, &mut buf).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        }
    }

    #[test]
    fn oversized_length_is_refused_without_reading_the_body() {
        let mut buf = Vec::new();
        let wire = [0xffu8, 0xff, 0xff, 0xff, 1, 2, 3];
        let mut reader = &wire[..];
        let err = read_frame(&mut reader, MAX_REQUEST_FRAME, &mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(buf.capacity(), 0);
        assert_eq!(reader, [1, 2, 3]);
    }
}
