//! One Unix-socket connection to the sidecar: connect, write a frame, read a frame.
//!
//! This layer knows nothing of handshakes or retries (see `client.rs`); it only tells apart the
//! facts the retry rules care about: the peer had gone when the request was written
//! ([`SendError::PeerGone`]: what it said first may still be readable), whether any byte of an
//! answer arrived ([`Connection::answer_began`]), and whether the connection already carried
//! an answered request ([`Connection::is_reused`]).
//!
//! Reads go through a small buffer of our own rather than `std::io::BufReader`, so that the
//! bytes of an answer (values) can be wiped once the call is done; a small answer arrives with
//! its length prefix in one `read`. The frame buffer is sized from the announced length before
//! the body is read, so it never grows by reallocation (which would leave unwiped copies
//! behind); the announced length is checked against the 16 MiB response limit first.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use ax_protocol::Response;
use ax_protocol::frame::body_len;
use ax_protocol::limits::{FRAME_HEADER_LEN, MAX_RESPONSE_FRAME};
use zeroize::Zeroize;

use crate::error::Reason;
use crate::wire::{classify, read_response};

/// Bytes the read buffer holds: a typical answer and its prefix fit in one `read`.
const INPUT_CAPACITY: usize = 8 * 1024;
/// Room beyond the announced body, for the short probe `read_to_end` makes at the end.
const FRAME_SLACK: usize = 64;

/// Why a request could not be written.
#[derive(Debug)]
pub(crate) enum SendError {
    /// The peer had closed the connection (EPIPE, ECONNRESET): a connection-level error it
    /// wrote before closing may still wait to be read.
    PeerGone(Reason),
    /// Writing failed otherwise, or timed out.
    Failed(Reason),
}

/// A connected stream with its read buffer. Not thread-safe on its own: the client locks.
pub(crate) struct Connection {
    stream: UnixStream,
    input: Input,
    frame: Vec<u8>,
    /// Whether a request (not the handshake) was answered on this connection.
    answered: bool,
}

impl Connection {
    /// Connects to the socket at `path`; `timeout` bounds each read and write.
    pub(crate) fn connect(path: &Path, timeout: Option<Duration>) -> io::Result<Self> {
        let stream = UnixStream::connect(path)?;
        stream.set_read_timeout(timeout)?;
        stream.set_write_timeout(timeout)?;
        Ok(Self::from_stream(stream))
    }

    /// Wraps a connected stream (the tests' socket pairs).
    pub(crate) fn from_stream(stream: UnixStream) -> Self {
        Self {
            stream,
            input: Input::new(),
            frame: Vec::new(),
            answered: false,
        }
    }

    /// Whether this connection already carried an answered request: only then may a request
    /// that fails on it before its answer began be resent (PROTOCOL §7.4).
    pub(crate) fn is_reused(&self) -> bool {
        self.answered
    }

    /// Records that a request was answered on this connection.
    pub(crate) fn mark_answered(&mut self) {
        self.answered = true;
    }

    /// Whether any byte arrived since the last [`wipe`](Self::wipe): after a failed
    /// [`receive`](Self::receive), whether the answer had begun. (A connection holding unread
    /// bytes is never used for another request, so every receive starts from nothing.)
    pub(crate) fn answer_began(&self) -> bool {
        self.input.dirty > 0
    }

    /// Whether bytes arrived that no request asked for: the stream is out of step and the
    /// connection must not be used for another request.
    pub(crate) fn has_unread(&self) -> bool {
        self.input.pos < self.input.filled
    }

    /// Writes all of `bytes`.
    pub(crate) fn send(&mut self, bytes: &[u8]) -> Result<(), SendError> {
        let mut stream = &self.stream;
        stream.write_all(bytes).map_err(|e| {
            if peer_gone(&e) {
                SendError::PeerGone(Reason::Broken(e))
            } else {
                SendError::Failed(classify(e))
            }
        })
    }

    /// Reads and decodes the next answer; it borrows from this connection's frame buffer until
    /// [`wipe`](Self::wipe).
    pub(crate) fn receive(&mut self) -> Result<Response<'_>, Reason> {
        let mut reader = Reader {
            stream: &self.stream,
            input: &mut self.input,
        };
        if let Some(len) = reader.announced_len()? {
            let needed = len.saturating_add(FRAME_SLACK);
            if self.frame.capacity() < needed {
                self.frame.zeroize();
                self.frame = Vec::with_capacity(needed);
            }
        }
        read_response(&mut reader, &mut self.frame)
    }

    /// Zeroes the bytes of the last answer (kept: any unread bytes, which make
    /// [`has_unread`](Self::has_unread) true).
    pub(crate) fn wipe(&mut self) {
        self.frame.as_mut_slice().zeroize();
        self.frame.clear();
        self.input.wipe();
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.frame.zeroize();
        self.input.buf.zeroize();
    }
}

/// Whether `error` says the peer closed the connection (rather than a timeout or a bug).
pub(crate) fn peer_gone(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::NotConnected
    )
}

/// Bytes read from the stream and not yet handed on.
struct Input {
    buf: Box<[u8]>,
    /// Next byte to hand on.
    pos: usize,
    /// End of the bytes read.
    filled: usize,
    /// End of the bytes written into `buf` since the last wipe.
    dirty: usize,
}

impl Input {
    fn new() -> Self {
        Self {
            buf: vec![0; INPUT_CAPACITY].into_boxed_slice(),
            pos: 0,
            filled: 0,
            dirty: 0,
        }
    }

    fn wipe(&mut self) {
        if self.pos == self.filled {
            self.buf[..self.dirty].zeroize();
            self.pos = 0;
            self.filled = 0;
            self.dirty = 0;
        } else {
            self.buf[..self.pos].zeroize();
        }
    }
}

/// The stream seen through the read buffer.
struct Reader<'c> {
    stream: &'c UnixStream,
    input: &'c mut Input,
}

impl Reader<'_> {
    /// Buffers the next frame's length prefix and returns the announced body length, if it is
    /// within the response limit. `None` when the stream ended first or the length is refused:
    /// reading the frame then reports that from what is buffered, without waiting again.
    fn announced_len(&mut self) -> Result<Option<usize>, Reason> {
        let input = &mut *self.input;
        if input.buf.len() - input.pos < FRAME_HEADER_LEN {
            input.buf.copy_within(input.pos..input.filled, 0);
            input.filled -= input.pos;
            input.pos = 0;
        }
        while input.filled - input.pos < FRAME_HEADER_LEN {
            match self.stream.read(&mut input.buf[input.filled..]) {
                Ok(0) => return Ok(None),
                Ok(read) => {
                    input.filled += read;
                    input.dirty = input.dirty.max(input.filled);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(classify(e)),
            }
        }
        Ok(
            body_len(&input.buf[input.pos..input.filled], MAX_RESPONSE_FRAME)
                .ok()
                .flatten(),
        )
    }
}

impl Read for Reader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let input = &mut *self.input;
        if input.pos == input.filled {
            if out.len() >= input.buf.len() {
                return self.stream.read(out);
            }
            input.pos = 0;
            input.filled = 0;
            let mut stream = self.stream;
            input.filled = stream.read(&mut input.buf)?;
            input.dirty = input.dirty.max(input.filled);
        }
        let count = out.len().min(input.filled - input.pos);
        out[..count].copy_from_slice(&input.buf[input.pos..input.pos + count]);
        input.pos += count;
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ax_protocol::frame::to_frame;
    use ax_protocol::limits::MAX_RESPONSE_FRAME;
    use ax_protocol::{ResponseBody, SecretText};
    use std::io::Write;

    fn pair() -> (Connection, UnixStream) {
        let (ours, theirs) = UnixStream::pair().unwrap();
        (Connection::from_stream(ours), theirs)
    }

    fn secret(id: u32, value: &str) -> Vec<u8> {
        let response = Response {
            id,
            body: ResponseBody::Secret {
                value: Some(SecretText::borrowed(value)),
            },
        };
        to_frame(&response, MAX_RESPONSE_FRAME).unwrap()
    }

    fn value_of(conn: &mut Connection) -> (u32, String) {
        let response = conn.receive().unwrap();
        let ResponseBody::Secret { value: Some(value) } = response.body else {
            panic!("not a value: {:?}", response.body.kind());
        };
        (response.id, value.expose().to_owned())
    }

    #[test]
    fn reads_answers_split_at_every_byte() {
        let frame = secret(7, "pässwörd");
        for cut in 1..frame.len() {
            let (mut conn, mut theirs) = pair();
            theirs.write_all(&frame[..cut]).unwrap();
            let rest = frame[cut..].to_vec();
            let writer = std::thread::spawn(move || theirs.write_all(&rest).unwrap());
            assert_eq!(value_of(&mut conn), (7, "pässwörd".to_owned()), "cut {cut}");
            writer.join().unwrap();
            conn.wipe();
            assert!(!conn.has_unread());
        }
    }

    #[test]
    fn a_large_answer_is_read_without_regrowing_the_frame() {
        let value = "v".repeat(3 * INPUT_CAPACITY + 5);
        let frame = secret(1, &value);
        let (mut conn, mut theirs) = pair();
        let writer = std::thread::spawn(move || theirs.write_all(&frame).unwrap());
        assert_eq!(value_of(&mut conn).1, value);
        writer.join().unwrap();
        assert!(conn.frame.capacity() < value.len() + 2 * FRAME_SLACK);
    }

    #[test]
    fn bytes_after_an_answer_are_kept_and_reported() {
        let (mut conn, mut theirs) = pair();
        let mut two = secret(1, "a");
        two.extend(secret(9, "b"));
        theirs.write_all(&two).unwrap();
        assert_eq!(value_of(&mut conn).0, 1);
        conn.wipe();
        assert!(conn.has_unread());
        assert_eq!(value_of(&mut conn), (9, "b".to_owned()));
    }

    #[test]
    fn wiping_zeroes_what_was_read() {
        let (mut conn, mut theirs) = pair();
        theirs.write_all(&secret(1, "hunter2")).unwrap();
        let _ = value_of(&mut conn);
        conn.wipe();
        assert!(conn.input.buf.iter().all(|&b| b == 0));
        assert!(conn.frame.is_empty());
    }

    #[test]
    fn a_closed_peer_is_reported_as_gone_and_nothing_arrived() {
        let (mut conn, theirs) = pair();
        drop(theirs);
        assert!(matches!(
            conn.send(b"\0\0\0\x02\x01\x05"),
            Err(SendError::PeerGone(_))
        ));
        assert!(matches!(conn.receive(), Err(Reason::Closed)));
        assert!(!conn.answer_began());
    }

    #[test]
    fn an_answer_cut_after_its_first_byte_has_begun() {
        let (mut conn, mut theirs) = pair();
        theirs.write_all(&secret(1, "v")[..1]).unwrap();
        drop(theirs);
        assert!(conn.receive().is_err());
        assert!(conn.answer_began());
    }
}
