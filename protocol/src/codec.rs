//! The framing as a tokio-util [`Decoder`]/[`Encoder`], for the sidecar.
//!
//! The codec only frames: it yields each frame's body as `BytesMut`, and the caller decodes it
//! with [`crate::frame::decode_request`], borrowing strings from the body instead of copying
//! them. Encoding takes any serialisable message, so a response can be written straight from
//! borrowed values. See [`crate::frame`] for the frame layout.

use bytes::{Buf, BytesMut};
use serde::Serialize;
use tokio_util::codec::{Decoder, Encoder};

use crate::error::WireError;
use crate::frame::{FrameSink, body_len, encode_frame};
use crate::limits::{FRAME_HEADER_LEN, MAX_REQUEST_FRAME, MAX_RESPONSE_FRAME};

/// How much the decoder reserves at a time for a frame still arriving.
const RESERVE_STEP: usize = 64 * 1024;

/// Length-prefixed framing with one limit for what is read and one for what is written.
#[derive(Clone, Copy, Debug)]
pub struct FrameCodec {
    read_limit: u32,
    write_limit: u32,
}

impl FrameCodec {
    /// A codec with explicit limits, in bytes of frame body.
    pub const fn new(read_limit: u32, write_limit: u32) -> Self {
        Self {
            read_limit,
            write_limit,
        }
    }

    /// The sidecar's side: reads requests (1 MiB), writes responses (16 MiB).
    pub const fn server() -> Self {
        Self::new(MAX_REQUEST_FRAME, MAX_RESPONSE_FRAME)
    }

    /// A client's side: reads responses, writes requests.
    pub const fn client() -> Self {
        Self::new(MAX_RESPONSE_FRAME, MAX_REQUEST_FRAME)
    }
}

/// Errors of the codec: the transport's, or the peer's bytes'.
#[derive(Debug)]
#[non_exhaustive]
pub enum CodecError {
    /// The transport failed.
    Io(std::io::Error),
    /// The peer sent something that is not a valid frame, or a message was too large to send.
    Wire(WireError),
}

impl From<std::io::Error> for CodecError {
    fn from(err: std::io::Error) -> Self {
        Self::Io(err)
    }
}

impl From<WireError> for CodecError {
    fn from(err: WireError) -> Self {
        Self::Wire(err)
    }
}

impl core::fmt::Display for CodecError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Io(err) => write!(f, "transport error: {err}"),
            Self::Wire(err) => write!(f, "protocol error: {err}"),
        }
    }
}

impl std::error::Error for CodecError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(err) => Some(err),
            Self::Wire(err) => Some(err),
        }
    }
}

impl Decoder for FrameCodec {
    type Item = BytesMut;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, CodecError> {
        let Some(len) = body_len(src, self.read_limit)? else {
            src.reserve(FRAME_HEADER_LEN);
            return Ok(None);
        };
        let total = FRAME_HEADER_LEN + len;
        if src.len() < total {
            // Grow towards the announced size in steps, so a client that announces a large
            // frame and then stalls holds memory in proportion to what it sent (at most about
            // twice that plus one step, as `BytesMut` doubles), never what it announced.
            src.reserve((total - src.len()).min(RESERVE_STEP));
            return Ok(None);
        }
        src.advance(FRAME_HEADER_LEN);
        Ok(Some(src.split_to(len)))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, CodecError> {
        match self.decode(src)? {
            Some(frame) => Ok(Some(frame)),
            None if src.is_empty() => Ok(None),
            None => Err(WireError::Truncated.into()),
        }
    }
}

impl FrameSink for BytesMut {
    fn len(&self) -> usize {
        BytesMut::len(self)
    }
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
    fn patch(&mut self, at: usize, bytes: [u8; FRAME_HEADER_LEN]) {
        self[at..at + FRAME_HEADER_LEN].copy_from_slice(&bytes);
    }
    fn truncate(&mut self, len: usize) {
        BytesMut::truncate(self, len);
    }
}

impl<T: Serialize> Encoder<&T> for FrameCodec {
    type Error = CodecError;

    fn encode(&mut self, message: &T, dst: &mut BytesMut) -> Result<(), CodecError> {
        Ok(encode_frame(message, self.write_limit, dst)?)
    }
}
