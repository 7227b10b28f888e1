//! Connection-level errors (PROTOCOL §7.3): an `Error` with id 0, sent before the client's
//! first frame is read, stays readable after the client's own first write has failed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::borrow::Cow;
use std::os::fd::AsFd;
use std::time::Instant;

use ax_protocol::frame::to_frame;
use ax_protocol::limits::{MAX_REQUEST_FRAME, PROTOCOL_VERSION};
use ax_protocol::{ErrorCode, Request, RequestBody};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use support::*;

/// Waits until the peer of `client` has closed its end (the sidecar is done with it).
fn wait_for_peer_close(client: &Client) {
    let started = Instant::now();
    loop {
        let mut fds = [PollFd::new(client.stream.as_fd(), PollFlags::POLLIN)];
        poll(&mut fds, PollTimeout::from(100u16)).unwrap();
        let seen = fds[0].revents().unwrap_or(PollFlags::empty());
        // A Unix socket whose peer has closed polls as hung up (with its data still readable).
        if seen.contains(PollFlags::POLLHUP) {
            return;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "the sidecar never closed the connection"
        );
    }
}

#[test]
fn a_busy_refusal_is_still_read_after_the_hello_write_failed() {
    let fixture = Fixture::standard();
    let sidecar = Sidecar::start(&fixture, &["--max-connections", "1"]);
    let mut holder = sidecar.client();

    let mut refused = Client::connect(&sidecar.socket);
    wait_for_peer_close(&refused);
    let hello = Request {
        id: 1,
        body: RequestBody::Hello {
            version: PROTOCOL_VERSION,
            client: Cow::Borrowed("test/0.1"),
            token: None,
        },
    };
    let written = refused.try_send_raw(&to_frame(&hello, MAX_REQUEST_FRAME).unwrap());
    let err = written.expect_err("a write to a closed connection fails");
    assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe, "{err}");
    // The error frame the sidecar wrote before closing is still there to read.
    refused.expect_error(0, ErrorCode::Busy);
    refused.expect_closed();

    // The connection that holds the slot is unaffected.
    assert_eq!(
        holder.get("OPENAI_API_KEY").as_deref(),
        Some("sk-test-1234567890abcdef")
    );
}
