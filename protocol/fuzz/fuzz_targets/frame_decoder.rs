//! Feeds arbitrary bytes to the frame decoders: as one frame body to `decode_request` and
//! `decode_response`, and as a stream, cut into chunks, to the tokio-util codec.
//!
//! Beyond "never panics", it checks that whatever a decoder accepts re-encodes to a message that
//! decodes to the same value, and that the codec's buffer grows with the bytes that arrive, not
//! with the length a prefix announces.
#![no_main]

use ax_protocol::codec::{CodecError, FrameCodec};
use ax_protocol::frame::{decode_request, decode_response, to_frame};
use ax_protocol::limits::{FRAME_HEADER_LEN, MAX_REQUEST_FRAME};
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

/// How far ahead the codec reserves for a frame still arriving (`codec::RESERVE_STEP`).
const RESERVE_STEP: usize = 64 * 1024;

/// The limits the first input byte chooses from: tiny, small, the request limit, none at all.
const LIMITS: [u32; 4] = [16, 1024, MAX_REQUEST_FRAME, u32::MAX];

fuzz_target!(|data: &[u8]| {
    let Some((&control, stream)) = data.split_first() else {
        return;
    };
    check_body(stream);
    let chunk = usize::from(control & 0x3f) + 1;
    let limit = LIMITS[usize::from(control >> 6)];
    feed_codec(stream, chunk, limit);
});

fn check_body(body: &[u8]) {
    if let Ok(request) = decode_request(body) {
        let frame = to_frame(&request, u32::MAX).expect("a decoded request re-encodes");
        assert_eq!(decode_request(&frame[FRAME_HEADER_LEN..]), Ok(request));
    }
    if let Ok(response) = decode_response(body) {
        let frame = to_frame(&response, u32::MAX).expect("a decoded response re-encodes");
        assert_eq!(decode_response(&frame[FRAME_HEADER_LEN..]), Ok(response));
    }
}

fn feed_codec(stream: &[u8], chunk: usize, limit: u32) {
    let mut codec = FrameCodec::new(limit, limit);
    let mut buf = BytesMut::new();
    let mut fed = 0;
    for piece in stream.chunks(chunk) {
        buf.extend_from_slice(piece);
        fed += piece.len();
        loop {
            let before = buf.capacity();
            let decoded = codec.decode(&mut buf);
            // `BytesMut` at most doubles when it grows.
            assert!(buf.capacity() <= 2 * (fed + RESERVE_STEP + FRAME_HEADER_LEN));
            match decoded {
                Ok(Some(body)) => {
                    assert!(body.len() <= limit as usize);
                    check_body(&body);
                }
                Ok(None) => break,
                Err(CodecError::Wire(_)) => {
                    assert_eq!(buf.capacity(), before, "refused before reserving");
                    return;
                }
                Err(err) => panic!("unexpected error {err}"),
            }
        }
    }
    match codec.decode_eof(&mut buf) {
        Ok(None) => assert!(buf.is_empty()),
        Ok(Some(_)) => panic!("decode left a whole frame in the buffer"),
        Err(_) => assert!(!buf.is_empty()),
    }
}
