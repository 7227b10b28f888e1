//! The handshake on a fresh connection (PROTOCOL §7.1): the `Hello`, always with a nonzero id,
//! and what its answer means. Nothing here is ever retried: a fresh connection that fails is
//! the caller's error; after a failed write the frame the sidecar left (an id-0 `Busy` or
//! `Unauthorized`) is still read and reported.

use std::borrow::Cow;
use std::path::Path;

use ax_protocol::limits::PROTOCOL_VERSION;
use ax_protocol::{Request, RequestBody, ResponseBody, SecretText};
use zeroize::Zeroizing;

use crate::client::CLIENT_NAME;
use crate::connection::{Connection, SendError};
use crate::error::Reason;
use crate::verdict::{Failure, connection_error, connection_error_code, judge, unavailable};
use crate::wire::encode_request;

/// The id of every `Hello`: nonzero, so that an `Unauthorized` under it (the token) is told
/// from one with id 0 (the uid, refused before the `Hello` was read; PROTOCOL §7.1).
const HELLO_ID: u32 = 1;

/// Sends the `Hello` on a fresh connection and reads its answer.
pub(crate) fn handshake(
    mut conn: Connection,
    token: Option<&SecretText<'static>>,
    socket: &Path,
) -> Result<Connection, Failure> {
    let hello = Request {
        id: HELLO_ID,
        body: RequestBody::Hello {
            version: PROTOCOL_VERSION,
            client: Cow::Borrowed(CLIENT_NAME),
            token: token.map(|token| SecretText::borrowed(token.expose())),
        },
    };
    let mut frame = Zeroizing::new(Vec::new());
    encode_request(&hello, &mut frame).map_err(Failure::Fatal)?;
    let sent = conn.send(&frame);
    drop(frame);
    let write_failed = match sent {
        Ok(()) => None,
        // Closed at once: what the sidecar said first (Busy, Unauthorized) is still readable.
        Err(SendError::PeerGone(reason)) => Some(reason),
        Err(SendError::Failed(reason)) => {
            return Err(Failure::Fatal(unavailable(socket, "Hello", reason)));
        }
    };
    let verdict = match (conn.receive(), write_failed) {
        (Ok(response), write_failed) => match (connection_error_code(&response), write_failed) {
            (Some(code), _) => connection_error(socket, "Hello", code, false),
            (None, Some(reason)) => Err(Failure::Fatal(unavailable(socket, "Hello", reason))),
            (None, None) => {
                judge(response, HELLO_ID, socket, "Hello", &|body| match body {
                    ResponseBody::Hello {
                        version: PROTOCOL_VERSION,
                        ..
                    } => Ok(Ok(())),
                    ResponseBody::Hello { version, .. } => Ok(Err(version)),
                    other => Err(other.kind()),
                })
                .0
            }
        },
        (Err(_), Some(reason)) | (Err(reason), None) => {
            Err(Failure::Fatal(unavailable(socket, "Hello", reason)))
        }
    };
    match verdict? {
        Ok(()) => {
            conn.wipe();
            Ok(conn)
        }
        Err(version) => Err(Failure::Fatal(unavailable(
            socket,
            "Hello",
            Reason::WrongVersion(version),
        ))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;
    use crate::error::Error;
    use ax_protocol::frame::to_frame;
    use ax_protocol::limits::MAX_RESPONSE_FRAME;
    use ax_protocol::{ErrorCode, Response};
    use std::io::Write;
    use std::os::unix::net::UnixStream;

    /// The sidecar at its cap writes `Busy` and closes *before* the client's `Hello` is
    /// written, so that write fails (EPIPE) for certain: the order a fake behind a listener
    /// cannot force, since `connect` returns before the fake accepts.
    #[test]
    fn busy_written_and_closed_before_the_hello_write_is_reported_as_busy() {
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        let busy = Response {
            id: 0,
            body: ResponseBody::Error {
                code: ErrorCode::Busy,
                message: Cow::Borrowed("at the connection cap"),
            },
        };
        theirs
            .write_all(&to_frame(&busy, MAX_RESPONSE_FRAME).unwrap())
            .unwrap();
        drop(theirs);
        let Err(Failure::Fatal(error)) =
            handshake(Connection::from_stream(ours), None, Path::new("/s"))
        else {
            panic!("the handshake did not fail for good");
        };
        assert!(
            matches!(
                error,
                Error::Unavailable {
                    reason: Reason::NotServed(ErrorCode::Busy),
                    ..
                }
            ),
            "{error:?}"
        );
    }

    #[test]
    fn a_hello_write_that_fails_with_nothing_to_read_is_a_transport_error() {
        let (ours, theirs) = UnixStream::pair().unwrap();
        drop(theirs);
        let Err(Failure::Fatal(error)) =
            handshake(Connection::from_stream(ours), None, Path::new("/s"))
        else {
            panic!("the handshake did not fail for good");
        };
        assert!(
            matches!(
                error,
                Error::Unavailable {
                    reason: Reason::Broken(_),
                    request: "Hello",
                    ..
                }
            ),
            "{error:?}"
        );
        assert_eq!(error.code(), None);
    }
}
