//! Properties of the stream readers: the tokio-util codec and the blocking reader reassemble
//! frames however the stream is cut, without reserving memory a peer merely announced.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/strategies.rs"]
mod strategies;

use std::borrow::Cow;
use std::io::{self, Read};

use ax_protocol::blocking::read_frame;
use ax_protocol::frame::{decode_request, to_frame};
use ax_protocol::limits::{FRAME_HEADER_LEN, MAX_REQUEST_FRAME, MAX_RESPONSE_FRAME};
use ax_protocol::{Request, RequestBody, WireError};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

use strategies::*;

// ---- the blocking reader ----------------------------------------------------------------------

/// Serves `data` in the sizes of `schedule` (cycled), failing a read with `Interrupted` first
/// wherever the schedule says so.
struct ChunkedReader<'a> {
    data: &'a [u8],
    schedule: Vec<(usize, bool)>,
    step: usize,
    just_interrupted: bool,
    interruptions: usize,
}

impl<'a> ChunkedReader<'a> {
    fn new(data: &'a [u8], schedule: Vec<(usize, bool)>) -> Self {
        Self {
            data,
            schedule,
            step: 0,
            just_interrupted: false,
            interruptions: 0,
        }
    }
}

impl Read for ChunkedReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let (size, interrupt) = self.schedule[self.step % self.schedule.len()];
        if interrupt && !self.just_interrupted {
            self.just_interrupted = true;
            self.interruptions += 1;
            return Err(io::ErrorKind::Interrupted.into());
        }
        self.just_interrupted = false;
        self.step += 1;
        let n = size.min(out.len()).min(self.data.len());
        let (served, rest) = self.data.split_at(n);
        out[..n].copy_from_slice(served);
        self.data = rest;
        Ok(n)
    }
}

fn schedule() -> impl Strategy<Value = Vec<(usize, bool)>> {
    let size = prop_oneof![1..8usize, 1..2048usize];
    vec((size, any::<bool>()), 1..16)
}

#[test]
fn blocking_reader_retries_every_interrupted_read() {
    let requests = [Request {
        id: 9,
        body: RequestBody::Get {
            name: Cow::Borrowed("API_KEY"),
        },
    }];
    let wire = frames(&requests);
    let mut reader = ChunkedReader::new(&wire, vec![(3, true)]);
    let mut buf = Vec::new();
    let body = read_frame(&mut reader, MAX_REQUEST_FRAME, &mut buf).unwrap();
    assert_eq!(decode_request(body.unwrap()).unwrap(), requests[0]);
    assert!(
        read_frame(&mut reader, MAX_REQUEST_FRAME, &mut buf)
            .unwrap()
            .is_none()
    );
    // Every read that delivered data was interrupted first.
    assert!(reader.interruptions >= wire.len().div_ceil(3));
}

fn wire_error(err: &io::Error) -> Option<WireError> {
    err.get_ref()?.downcast_ref::<WireError>().copied()
}

proptest! {
    #[test]
    fn blocking_reader_reassembles_frames_from_any_read_sizes(
        requests in vec(request(), 1..6),
        schedule in schedule(),
    ) {
        let wire = frames(&requests);
        let mut reader = ChunkedReader::new(&wire, schedule);
        let mut buf = Vec::new();
        let mut got = Vec::new();
        while let Some(body) = read_frame(&mut reader, MAX_REQUEST_FRAME, &mut buf).unwrap() {
            got.push(decode_request(body).unwrap().into_owned());
        }
        prop_assert_eq!(got, requests);
        prop_assert!(reader.data.is_empty());
    }

    #[test]
    fn blocking_reader_refuses_a_length_over_the_limit_without_growing_its_buffer(
        limit in prop_oneof![Just(0), Just(16), Just(MAX_REQUEST_FRAME), Just(u32::MAX - 1)],
        excess in prop_oneof![Just(1u32), Just(u32::MAX), any::<u32>()],
        body in vec(any::<u8>(), 0..64),
        schedule in schedule(),
        held in vec(any::<u8>(), 0..32),
    ) {
        let len = limit.saturating_add(excess.max(1));
        let mut wire = len.to_be_bytes().to_vec();
        wire.extend_from_slice(&body);
        let mut reader = ChunkedReader::new(&wire, schedule);
        let mut buf = held;
        let capacity = buf.capacity();
        let err = read_frame(&mut reader, limit, &mut buf).unwrap_err();
        prop_assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        prop_assert_eq!(wire_error(&err), Some(WireError::FrameTooLarge { len, limit }));
        prop_assert_eq!(buf.capacity(), capacity);
        prop_assert_eq!(reader.data, &body[..], "nothing past the prefix is read");
    }

    /// A peer that announces a large frame and stops short costs what it sent, not what it
    /// announced: a reader that reserved the announced length would hold at least 1 MiB here.
    #[test]
    fn blocking_reader_grows_only_with_bytes_that_arrive(
        len in MAX_REQUEST_FRAME..=MAX_RESPONSE_FRAME,
        body in vec(any::<u8>(), 0..4096),
        schedule in schedule(),
    ) {
        let mut wire = len.to_be_bytes().to_vec();
        wire.extend_from_slice(&body);
        let mut buf = Vec::new();
        let err = read_frame(&mut ChunkedReader::new(&wire, schedule), MAX_RESPONSE_FRAME, &mut buf)
            .unwrap_err();
        prop_assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        prop_assert_eq!(wire_error(&err), Some(WireError::Truncated));
        prop_assert!(buf.capacity() <= 64 * 1024 + 2 * body.len(), "capacity {}", buf.capacity());
    }
}

// ---- the tokio-util codec ---------------------------------------------------------------------

#[cfg(feature = "codec")]
mod codec {
    use super::*;

    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    use ax_protocol::codec::{CodecError, FrameCodec};
    use bytes::BytesMut;
    use futures_core::Stream;
    use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};
    use tokio_util::codec::{Decoder, FramedRead};

    /// How far ahead the decoder reserves for a frame still arriving (`codec::RESERVE_STEP`).
    const RESERVE_STEP: usize = 64 * 1024;

    fn limit() -> impl Strategy<Value = u32> {
        prop_oneof![
            Just(0),
            Just(16),
            Just(1024),
            Just(MAX_REQUEST_FRAME),
            Just(u32::MAX)
        ]
    }

    /// Frames whose length prefix is hostile to a decoder with `limit`, or plain noise.
    fn hostile_stream(limit: u32) -> impl Strategy<Value = Vec<u8>> {
        let announced = prop_oneof![
            Just(limit),
            Just(limit.saturating_add(1)),
            Just(u32::MAX),
            0..=limit.min(64),
            any::<u32>(),
        ];
        let segment = (announced, vec(any::<u8>(), 0..1024)).prop_map(|(len, body)| {
            let mut segment = len.to_be_bytes().to_vec();
            segment.extend(body);
            segment
        });
        prop_oneof![
            vec(segment, 1..4).prop_map(|segments| segments.concat()),
            vec(any::<u8>(), 0..2048),
        ]
    }

    /// Cuts `bytes` at arbitrary points into non-empty chunks that concatenate back to it.
    fn chunks<'a>(bytes: &'a [u8], cuts: &[Index]) -> Vec<&'a [u8]> {
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        points.extend([0, bytes.len()]);
        points.sort_unstable();
        points.dedup();
        points.windows(2).map(|w| &bytes[w[0]..w[1]]).collect()
    }

    fn decode_all(codec: &mut FrameCodec, buf: &mut BytesMut) -> Vec<Request<'static>> {
        let mut out = Vec::new();
        while let Some(body) = codec.decode(buf).unwrap() {
            out.push(decode_request(&body).unwrap().into_owned());
        }
        out
    }

    proptest! {
        #[test]
        fn codec_reassembles_frames_however_the_stream_is_cut(
            requests in vec(request(), 1..6),
            cuts in vec(any::<Index>(), 0..24),
        ) {
            let wire = frames(&requests);
            let mut codec = FrameCodec::server();
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            for chunk in chunks(&wire, &cuts) {
                buf.extend_from_slice(chunk);
                got.extend(decode_all(&mut codec, &mut buf));
            }
            prop_assert_eq!(got, requests);
            prop_assert!(buf.is_empty());
            prop_assert!(codec.decode_eof(&mut buf).unwrap().is_none());
        }

        #[test]
        fn codec_reports_a_stream_cut_inside_a_frame_as_truncated(
            requests in vec(request(), 1..4),
            cut in any::<Index>(),
        ) {
            let wire = frames(&requests);
            let last = to_frame(requests.last().unwrap(), MAX_REQUEST_FRAME).unwrap();
            let start = wire.len() - last.len();
            let end = start + 1 + cut.index(last.len() - 1);
            let mut codec = FrameCodec::server();
            let mut buf = BytesMut::from(&wire[..end]);
            prop_assert_eq!(decode_all(&mut codec, &mut buf), &requests[..requests.len() - 1]);
            let eof = codec.decode_eof(&mut buf);
            prop_assert!(matches!(eof, Err(CodecError::Wire(WireError::Truncated))), "{eof:?}");
        }

        /// The length check comes before any reservation, and a frame still arriving holds
        /// what was sent plus one step: `BytesMut` at most doubles when it grows, so a decoder
        /// that reserved the announced length would break the second bound at once.
        #[test]
        fn codec_never_panics_nor_reserves_what_a_hostile_prefix_announces(
            (limit, stream) in limit().prop_flat_map(|limit| (Just(limit), hostile_stream(limit))),
            cuts in vec(any::<Index>(), 0..16),
        ) {
            let chunks = chunks(&stream, &cuts);
            let largest_chunk = chunks.iter().map(|c| c.len()).max().unwrap_or(0);
            let ceiling = FRAME_HEADER_LEN + limit as usize + RESERVE_STEP + largest_chunk;
            let mut codec = FrameCodec::new(limit, limit);
            let mut buf = BytesMut::new();
            let mut fed = 0;
            for chunk in chunks {
                buf.extend_from_slice(chunk);
                fed += chunk.len();
                loop {
                    let before = buf.capacity();
                    let decoded = codec.decode(&mut buf);
                    let capacity = buf.capacity();
                    prop_assert!(capacity <= ceiling, "capacity {capacity} over {ceiling}");
                    prop_assert!(
                        capacity <= 2 * (fed + RESERVE_STEP + FRAME_HEADER_LEN),
                        "capacity {capacity} after {fed} bytes"
                    );
                    match decoded {
                        Ok(Some(body)) => decode_both(&body)?,
                        Ok(None) => break,
                        Err(CodecError::Wire(WireError::FrameTooLarge { len, limit: l })) => {
                            prop_assert!(l == limit && len > limit);
                            prop_assert_eq!(capacity, before);
                            return Ok(());
                        }
                        Err(other) => prop_assert!(false, "unexpected error {other:?}"),
                    }
                }
            }
            match codec.decode_eof(&mut buf) {
                Ok(None) => prop_assert!(buf.is_empty()),
                Err(CodecError::Wire(WireError::Truncated)) => prop_assert!(!buf.is_empty()),
                other => prop_assert!(false, "unexpected end {other:?}"),
            }
        }
    }

    /// Yields one byte per read and returns `Pending` (having woken the task) before each.
    struct Trickle {
        data: Vec<u8>,
        ready: bool,
    }

    impl AsyncRead for Trickle {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let this = self.get_mut();
            if !this.ready {
                this.ready = true;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            this.ready = false;
            if !this.data.is_empty() {
                buf.put_slice(&[this.data.remove(0)]);
            }
            Poll::Ready(Ok(()))
        }
    }

    /// Polls until ready; returns the item and how many times the stream was pending.
    fn poll_until_ready<S: Stream + Unpin>(stream: &mut S) -> (Option<S::Item>, usize) {
        let mut cx = Context::from_waker(Waker::noop());
        let mut pending = 0;
        loop {
            match Pin::new(&mut *stream).poll_next(&mut cx) {
                Poll::Pending => pending += 1,
                Poll::Ready(item) => return (item, pending),
            }
        }
    }

    fn two_requests() -> [Request<'static>; 2] {
        [
            Request {
                id: 7,
                body: RequestBody::Get {
                    name: Cow::Borrowed("DB_URL"),
                },
            },
            Request {
                id: u32::MAX,
                body: RequestBody::Ping,
            },
        ]
    }

    #[test]
    fn framed_read_yields_each_frame_only_after_its_last_byte_trickles_in() {
        let requests = two_requests();
        let reader = Trickle {
            data: frames(&requests),
            ready: false,
        };
        let mut framed = FramedRead::new(reader, FrameCodec::server());
        for request in &requests {
            let (body, pending) = poll_until_ready(&mut framed);
            let body = body.expect("a frame").expect("a valid frame");
            assert_eq!(&decode_request(&body).unwrap(), request);
            let frame_len = to_frame(request, MAX_REQUEST_FRAME).unwrap().len();
            assert_eq!(
                pending, frame_len,
                "one pending read per byte, no early frame"
            );
        }
        assert!(poll_until_ready(&mut framed).0.is_none());
    }

    #[test]
    fn framed_read_reports_a_frame_cut_short_at_end_of_stream() {
        let mut data = frames(&two_requests()[..1]);
        data.pop();
        let mut framed = FramedRead::new(Trickle { data, ready: false }, FrameCodec::server());
        let (item, _) = poll_until_ready(&mut framed);
        assert!(
            matches!(item, Some(Err(CodecError::Wire(WireError::Truncated)))),
            "{item:?}"
        );
    }

    #[test]
    fn codec_reassembles_frames_split_at_every_byte_boundary() {
        let requests = two_requests();
        let wire = frames(&requests);
        for cut in 0..=wire.len() {
            let mut codec = FrameCodec::server();
            let mut buf = BytesMut::from(&wire[..cut]);
            let mut got = decode_all(&mut codec, &mut buf);
            buf.extend_from_slice(&wire[cut..]);
            got.extend(decode_all(&mut codec, &mut buf));
            assert_eq!(got, requests, "cut at {cut}");
        }
    }

    #[tokio::test]
    async fn framed_read_over_a_one_byte_pipe_gets_every_message() {
        let requests = two_requests();
        let wire = frames(&requests);
        // A pipe that holds one byte: the writer is parked after every byte until it is read.
        let (mut writer, reader) = tokio::io::duplex(1);
        let sending = tokio::spawn(async move { writer.write_all(&wire).await });
        let mut framed = FramedRead::new(reader, FrameCodec::server());
        let mut got = Vec::new();
        while let Some(body) = std::future::poll_fn(|cx| Pin::new(&mut framed).poll_next(cx)).await
        {
            got.push(decode_request(&body.unwrap()).unwrap().into_owned());
        }
        assert_eq!(got, requests);
        sending.await.unwrap().unwrap();
    }
}
