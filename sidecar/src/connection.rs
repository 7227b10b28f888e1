//! One client connection: framing, timeouts, pipelining, back-pressure, and buffer hygiene.
//!
//! The loop serves the whole frames already received, in order, appending each response to
//! one output buffer, then writes that buffer and wipes it: pipelined requests cost one write
//! per batch, and no response (which may hold a value) stays in memory after it is sent.
//!
//! What a client can make a connection hold is bounded by what it may send and receive, never
//! by how many requests it pipelines:
//! - serving stops once the output holds [`OUTPUT_BUDGET`] bytes; that output is written
//!   before the next request is decoded, so the answers waiting for one client are at most the
//!   budget plus one response;
//! - nothing is read while a whole request waits to be served, so the input holds at most one
//!   request frame (it grows towards the announced length in steps, never to what a peer merely
//!   announces) plus what one read brought;
//! - `Render` and `Redact` are served on the blocking pool (see [`request::heavy`]) while the
//!   connection waits, reading and writing nothing.
//!
//! Time limits: between frames the connection may idle for `idle_timeout`; once a frame has
//! started, the rest must arrive within `partial_frame_timeout`; an answer that the peer does
//! not read for `idle_timeout` (no byte of it accepted by the socket) ends the connection, its
//! buffers wiped.
//!
//! Shutdown (PROTOCOL §7.4): the request in flight (the one being served, or else the first one
//! received and not yet served, whole or in part) is finished; any later request is answered
//! with `ShuttingDown` and the connection closed; a connection with nothing (more) in flight is
//! sent a connection-level `ShuttingDown` (id 0) and closed at once, so an idle client never
//! holds shutdown up. Answers are written until the deadline; a frame begun by then gets
//! [`FINISH_MARGIN`] more to be read whole, and the connection is otherwise closed between
//! frames.

use std::sync::Arc;
use std::time::Duration;

use ax_protocol::ErrorCode;
use ax_protocol::codec::{CodecError, FrameCodec};
use ax_protocol::error::WireError;
use ax_protocol::frame::{decode_request, peek_id};
use ax_protocol::limits::FRAME_HEADER_LEN;
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::time::{Instant, sleep_until};
use tokio_util::codec::Decoder;
use tokio_util::sync::CancellationToken;
use zeroize::Zeroize;

use crate::audit::Peer;
use crate::messages;
use crate::request::{self, Flow, Outcome, Service, Session, close_with};

/// Initial size of each connection's buffers: a `Get` and its answer fit many times over.
const INITIAL_BUFFER: usize = 4096;
/// A buffer that grew past this for one large message is given back afterwards.
const KEPT_BUFFER: usize = 64 * 1024;
/// Answered-but-unwritten bytes after which a connection stops serving its pipelined requests
/// until the output is written: large enough that small pipelined answers share one write,
/// small enough that a client that never reads holds one response plus this.
pub const OUTPUT_BUDGET: usize = 64 * 1024;
/// After the shutdown deadline, how long a response frame already partly written may take to
/// be read whole before the connection is closed regardless (a peer that does not read cannot
/// hold shutdown up).
pub const FINISH_MARGIN: Duration = Duration::from_millis(200);

/// Why a connection ended, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The client closed it between frames.
    ClientClosed,
    /// The client closed it in the middle of a frame.
    Truncated,
    /// The sidecar closed it after an error response.
    Refused,
    /// No request for `idle_timeout`.
    Idle,
    /// A frame not finished within `partial_frame_timeout`.
    Stalled,
    /// The peer did not read its answers for `idle_timeout`.
    NotReading,
    /// Reading or writing failed.
    Transport,
    /// The sidecar is shutting down.
    Shutdown,
}

/// Which requests a connection still serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Admit {
    /// Every request: the sidecar is running.
    All,
    /// Only the request that had begun when shutdown started.
    InFlight,
    /// None: later requests are answered with `ShuttingDown`.
    None,
}

/// One connection's state between the steps of [`serve`].
struct Connection {
    stream: UnixStream,
    service: Arc<Service>,
    session: Session,
    codec: FrameCodec,
    input: BytesMut,
    output: BytesMut,
    admit: Admit,
    shutdown: CancellationToken,
    shutdown_grace: Duration,
    /// When shutdown began, the instant by which this connection closes.
    stop_by: Option<Instant>,
}

/// What serving the buffered frames left to do.
struct Served {
    flow: Flow,
    /// Whether any frame was served.
    any: bool,
    /// Whether serving stopped at the output budget with whole frames left in the input.
    more: bool,
}

/// Serves one connection until it ends.
pub async fn serve(
    stream: UnixStream,
    service: Arc<Service>,
    peer: Peer,
    shutdown: CancellationToken,
    shutdown_grace: Duration,
) -> Ending {
    let limits = service.limits;
    let mut conn = Connection {
        stream,
        service,
        session: Session {
            peer,
            greeted: false,
        },
        codec: FrameCodec::new(limits.max_request_bytes, limits.max_response_bytes),
        input: BytesMut::with_capacity(INITIAL_BUFFER),
        output: BytesMut::with_capacity(INITIAL_BUFFER),
        admit: Admit::All,
        shutdown,
        shutdown_grace,
        stop_by: None,
    };
    let ending = conn.run().await;
    clear(&mut conn.input);
    clear(&mut conn.output);
    ending
}

impl Connection {
    async fn run(&mut self) -> Ending {
        let limits = self.service.limits;
        let mut frame_started: Option<Instant> = None;
        loop {
            let served = match self.serve_buffered().await {
                Ok(served) => served,
                Err(ending) => return ending,
            };
            if !self.output.is_empty() {
                if let Err(ending) = self.write_output().await {
                    return ending;
                }
            }
            if served.flow == Flow::Close {
                return Ending::Refused;
            }
            if served.more {
                continue;
            }
            if self.stop_by.is_some() && self.input.is_empty() {
                // A request sent before the answer to the one in flight went out gets its own
                // `ShuttingDown`; only a connection with nothing more to answer is closed.
                read_now(&self.stream, &mut self.input);
                if self.input.is_empty() {
                    return self.say_shutting_down().await;
                }
                continue;
            }
            if self.input.is_empty() {
                frame_started = None;
            } else if served.any || frame_started.is_none() {
                frame_started = Some(Instant::now());
            }
            let deadline = match (frame_started, self.stop_by) {
                (None, None) => Instant::now() + limits.idle_timeout,
                (None, Some(stop)) => stop,
                (Some(start), None) => start + limits.partial_frame_timeout,
                (Some(start), Some(stop)) => (start + limits.partial_frame_timeout).min(stop),
            };
            tokio::select! {
                read = self.stream.read_buf(&mut self.input) => match read {
                    Ok(0) if self.input.is_empty() => return Ending::ClientClosed,
                    Ok(0) => return Ending::Truncated,
                    Ok(_) => {}
                    Err(_) => return Ending::Transport,
                },
                () = sleep_until(deadline) => {
                    if self.stop_by.is_some() {
                        return Ending::Shutdown;
                    }
                    return if frame_started.is_some() { Ending::Stalled } else { Ending::Idle };
                }
                () = self.shutdown.cancelled(), if self.stop_by.is_none() => {
                    // What the peer sent before shutdown began was received, even if this
                    // task had not read it yet: its first request is the one in flight.
                    if self.input.is_empty() {
                        read_now(&self.stream, &mut self.input);
                    }
                    self.begin_shutdown(false);
                    if self.input.is_empty() {
                        return self.say_shutting_down().await;
                    }
                }
            }
        }
    }

    /// Nothing is in flight and shutdown has begun: tells the peer with a connection-level
    /// `ShuttingDown` (id 0, PROTOCOL §7.3) and closes, instead of holding the connection (and
    /// the shutdown) open for a request that may never come. A request the peer sends meanwhile
    /// finds that error waiting before the end of the stream.
    async fn say_shutting_down(&mut self) -> Ending {
        close_with(
            &mut self.output,
            0,
            ErrorCode::ShuttingDown,
            messages::SHUTTING_DOWN,
        );
        match self.write_output().await {
            Ok(()) | Err(Ending::Shutdown) => Ending::Shutdown,
            Err(ending) => ending,
        }
    }

    /// Notes that shutdown began. A heavy request being served is the one in flight;
    /// otherwise the first request in the input, if any, is.
    fn begin_shutdown(&mut self, serving: bool) {
        self.stop_by = Some(Instant::now() + self.shutdown_grace);
        self.admit = if serving || self.input.is_empty() {
            Admit::None
        } else {
            Admit::InFlight
        };
    }

    /// Serves whole frames in the input until none is left or the output budget is reached.
    async fn serve_buffered(&mut self) -> Result<Served, Ending> {
        let mut served = Served {
            flow: Flow::Continue,
            any: false,
            more: false,
        };
        loop {
            if self.output.len() >= OUTPUT_BUDGET {
                served.more = true;
                return Ok(served);
            }
            let mut body = match self.codec.decode(&mut self.input) {
                Ok(Some(body)) => body,
                Ok(None) => return Ok(served),
                Err(err) => {
                    let (code, message) = match err {
                        CodecError::Wire(WireError::FrameTooLarge { .. }) => {
                            (ErrorCode::TooLarge, messages::REQUEST_TOO_LARGE)
                        }
                        _ => (ErrorCode::BadRequest, messages::MALFORMED),
                    };
                    clear(&mut self.input);
                    served.any = true;
                    served.flow = close_with(&mut self.output, 0, code, message);
                    return Ok(served);
                }
            };
            served.any = true;
            let outcome = match decode_request(&body) {
                Ok(request) if self.admit == Admit::None => Outcome::Done(close_with(
                    &mut self.output,
                    request.id,
                    ErrorCode::ShuttingDown,
                    messages::SHUTTING_DOWN,
                )),
                Ok(request) => {
                    if self.admit == Admit::InFlight {
                        self.admit = Admit::None;
                    }
                    request::serve(&self.service, &mut self.session, request, &mut self.output)
                }
                Err(_) => {
                    let id = peek_id(&body).unwrap_or(0);
                    Outcome::Done(close_with(
                        &mut self.output,
                        id,
                        ErrorCode::BadRequest,
                        messages::MALFORMED,
                    ))
                }
            };
            let flow = match outcome {
                Outcome::Done(flow) => {
                    // The request may have carried a template or a text to redact (or a value
                    // by mistake).
                    clear(&mut body);
                    flow
                }
                Outcome::Offload(kind) => {
                    let service = Arc::clone(&self.service);
                    let job = request::heavy::serve(&service, self.session.peer, kind, body);
                    let frame = self.await_heavy(job).await?;
                    self.append(frame);
                    Flow::Continue
                }
            };
            if flow == Flow::Close {
                clear(&mut self.input);
                served.flow = flow;
                return Ok(served);
            }
        }
    }

    /// Waits for a heavy request's answer; notes a shutdown that begins meanwhile, and gives up
    /// (closing between frames) if the shutdown deadline passes first.
    async fn await_heavy(
        &mut self,
        job: impl std::future::Future<Output = BytesMut>,
    ) -> Result<BytesMut, Ending> {
        tokio::pin!(job);
        loop {
            let stop = self.stop_by;
            tokio::select! {
                frame = &mut job => return Ok(frame),
                () = self.shutdown.cancelled(), if stop.is_none() => self.begin_shutdown(true),
                () = sleep_until(stop.unwrap_or_else(Instant::now)), if stop.is_some() => {
                    return Err(Ending::Shutdown);
                }
            }
        }
    }

    /// Appends a response frame produced elsewhere, moving it when the output is empty.
    fn append(&mut self, mut frame: BytesMut) {
        if self.output.is_empty() {
            std::mem::swap(&mut self.output, &mut frame);
        } else {
            self.output.extend_from_slice(&frame);
        }
        clear(&mut frame);
    }

    /// Writes the whole output, then wipes it. Fails when the peer reads nothing for
    /// `idle_timeout`, and after the shutdown deadline (see the module's documentation).
    async fn write_output(&mut self) -> Result<(), Ending> {
        let idle = self.service.limits.idle_timeout;
        let mut written = 0;
        // The frame `written` is in: where it starts and ends.
        let mut frame = (0, frame_end(&self.output, 0));
        let mut progress_by = Instant::now() + idle;
        let result = loop {
            while written >= frame.1 && frame.1 < self.output.len() {
                frame = (frame.1, frame_end(&self.output, frame.1));
            }
            if written == self.output.len() {
                break Ok(());
            }
            let stop = self.stop_by.map(|stop| {
                if written == frame.0 {
                    stop
                } else {
                    stop + FINISH_MARGIN
                }
            });
            let deadline = stop.map_or(progress_by, |stop| stop.min(progress_by));
            tokio::select! {
                write = self.stream.write(&self.output[written..]) => match write {
                    Ok(0) | Err(_) => break Err(Ending::Transport),
                    Ok(n) => {
                        written += n;
                        progress_by = Instant::now() + idle;
                    }
                },
                () = sleep_until(deadline) => {
                    break Err(if stop.is_some_and(|s| s <= progress_by) {
                        Ending::Shutdown
                    } else {
                        Ending::NotReading
                    });
                }
                () = self.shutdown.cancelled(), if self.stop_by.is_none() => {
                    self.begin_shutdown(false);
                }
            }
        };
        wipe(&mut self.output);
        result
    }
}

/// Appends to `input` what the peer has already sent, without waiting. A plain non-blocking
/// `recv` rather than tokio's `try_read`, which answers "would block" without asking the kernel
/// while the runtime has not yet seen the socket become readable.
fn read_now(stream: &UnixStream, input: &mut BytesMut) {
    use nix::sys::socket::{MsgFlags, recv};
    use std::os::fd::AsRawFd;
    let start = input.len();
    input.resize(start + INITIAL_BUFFER, 0);
    let got = recv(
        stream.as_raw_fd(),
        &mut input[start..],
        MsgFlags::MSG_DONTWAIT,
    );
    input.truncate(start + got.unwrap_or(0));
}

/// Where the frame starting at `start` of `output` ends. Every frame in the output was encoded
/// here, so its header is whole and its length true.
fn frame_end(output: &[u8], start: usize) -> usize {
    let header = output
        .get(start..start + FRAME_HEADER_LEN)
        .and_then(|h| <[u8; FRAME_HEADER_LEN]>::try_from(h).ok());
    header.map_or(output.len(), |h| {
        start + FRAME_HEADER_LEN + u32::from_be_bytes(h) as usize
    })
}

/// Wipes a sent buffer and gives back memory one large response made it take.
fn wipe(buffer: &mut BytesMut) {
    clear(buffer);
    if buffer.capacity() > KEPT_BUFFER {
        *buffer = BytesMut::with_capacity(INITIAL_BUFFER);
    }
}

/// Zeroes the bytes a buffer holds and empties it.
fn clear(buffer: &mut BytesMut) {
    buffer.as_mut().zeroize();
    buffer.clear();
}
