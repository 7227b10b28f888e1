//! One client connection: framing, timeouts, pipelining, and the output buffer's hygiene.
//!
//! The loop serves every whole frame already received, in order, appending each response to
//! one output buffer, then writes that buffer with a single `write` and wipes it: pipelined
//! requests cost one write per batch, and no response (which may hold a value) stays in
//! memory after it is sent. Bytes of a frame still arriving wait in the input buffer, which
//! grows towards the announced length in steps (never to what a peer merely announces).
//!
//! Time limits: between frames the connection may idle for `idle_timeout`; once a frame has
//! started, the rest must arrive within `partial_frame_timeout`. On shutdown, a connection
//! finishes the request in flight (a frame already begun gets until the shutdown deadline),
//! answers any later request with `ShuttingDown`, and closes.

use std::sync::Arc;

use ax_protocol::ErrorCode;
use ax_protocol::codec::{CodecError, FrameCodec};
use ax_protocol::error::WireError;
use ax_protocol::frame::{decode_request, peek_id};
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::time::{Instant, sleep_until};
use tokio_util::codec::Decoder;
use tokio_util::sync::CancellationToken;
use zeroize::Zeroize;

use crate::audit::Peer;
use crate::messages;
use crate::request::{self, Flow, Service, Session, close_with};

/// Initial size of each connection's buffers: a `Get` and its answer fit many times over.
const INITIAL_BUFFER: usize = 4096;
/// A buffer that grew past this for one large message is given back afterwards.
const KEPT_BUFFER: usize = 64 * 1024;

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
    /// Reading or writing failed.
    Transport,
    /// The sidecar is shutting down.
    Shutdown,
}

/// Serves one connection until it ends.
pub async fn serve(
    mut stream: UnixStream,
    service: Arc<Service>,
    peer: Peer,
    shutdown: CancellationToken,
    shutdown_grace: std::time::Duration,
) -> Ending {
    let limits = service.limits;
    let mut codec = FrameCodec::new(limits.max_request_bytes, limits.max_response_bytes);
    let mut input = BytesMut::with_capacity(INITIAL_BUFFER);
    let mut output = BytesMut::with_capacity(INITIAL_BUFFER);
    let mut session = Session {
        peer,
        greeted: false,
    };
    let mut frame_started: Option<Instant> = None;
    let mut stop_by: Option<Instant> = None;
    // Requests still to be served: all of them until shutdown, then only the one in flight.
    let mut admit = Admit::All;

    loop {
        let (flow, served) = serve_buffered(
            &service,
            &mut session,
            &mut codec,
            &mut input,
            &mut output,
            &mut admit,
        )
        .await;
        if !output.is_empty() {
            let written = stream.write_all(&output).await;
            wipe(&mut output);
            if written.is_err() {
                return Ending::Transport;
            }
        }
        if flow == Flow::Close {
            return Ending::Refused;
        }
        if input.is_empty() {
            frame_started = None;
            if stop_by.is_some() {
                return Ending::Shutdown;
            }
        } else if served || frame_started.is_none() {
            frame_started = Some(Instant::now());
        }
        let deadline = match (frame_started, stop_by) {
            (None, _) => Instant::now() + limits.idle_timeout,
            (Some(start), None) => start + limits.partial_frame_timeout,
            (Some(start), Some(stop)) => (start + limits.partial_frame_timeout).min(stop),
        };
        tokio::select! {
            read = stream.read_buf(&mut input) => match read {
                Ok(0) if input.is_empty() => return Ending::ClientClosed,
                Ok(0) => {
                    clear(&mut input);
                    return Ending::Truncated;
                }
                Ok(_) => {}
                Err(_) => return Ending::Transport,
            },
            () = sleep_until(deadline) => {
                let ending = if frame_started.is_some() { Ending::Stalled } else { Ending::Idle };
                clear(&mut input);
                return if stop_by.is_some() { Ending::Shutdown } else { ending };
            }
            () = shutdown.cancelled(), if stop_by.is_none() => {
                if input.is_empty() {
                    return Ending::Shutdown;
                }
                // Every whole frame was served before waiting, so `input` holds the start of
                // exactly one request: that one is in flight and is finished.
                admit = Admit::InFlight;
                stop_by = Some(Instant::now() + shutdown_grace);
            }
        }
    }
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

/// Serves every whole frame in `input`; returns whether to go on and whether any was served.
async fn serve_buffered(
    service: &Service,
    session: &mut Session,
    codec: &mut FrameCodec,
    input: &mut BytesMut,
    output: &mut BytesMut,
    admit: &mut Admit,
) -> (Flow, bool) {
    let mut served = false;
    loop {
        let mut body = match codec.decode(input) {
            Ok(Some(body)) => body,
            Ok(None) => return (Flow::Continue, served),
            Err(CodecError::Wire(WireError::FrameTooLarge { .. })) => {
                clear(input);
                return (
                    close_with(output, 0, ErrorCode::TooLarge, messages::REQUEST_TOO_LARGE),
                    true,
                );
            }
            Err(_) => {
                clear(input);
                return (
                    close_with(output, 0, ErrorCode::BadRequest, messages::MALFORMED),
                    true,
                );
            }
        };
        served = true;
        let flow = match decode_request(&body) {
            Ok(request) if *admit == Admit::None => close_with(
                output,
                request.id,
                ErrorCode::ShuttingDown,
                messages::SHUTTING_DOWN,
            ),
            Ok(request) => {
                if *admit == Admit::InFlight {
                    *admit = Admit::None;
                }
                request::serve(service, session, request, output).await
            }
            Err(_) => {
                let id = peek_id(&body).unwrap_or(0);
                close_with(output, id, ErrorCode::BadRequest, messages::MALFORMED)
            }
        };
        // The request may have carried a template or a text to redact (or a value by mistake).
        clear(&mut body);
        if flow == Flow::Close {
            clear(input);
            return (flow, served);
        }
    }
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
