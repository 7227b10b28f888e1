//! Properties of messages: every message survives its frame, and no byte string makes a
//! decoder panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/strategies.rs"]
mod strategies;

use std::collections::BTreeSet;

use ax_protocol::frame::{decode_request, decode_response, split_frame, to_frame};
use ax_protocol::limits::{FRAME_HEADER_LEN, MAX_REQUEST_FRAME, MAX_RESPONSE_FRAME};
use ax_protocol::{ErrorCode, RequestBody, ResponseBody, WireError};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

use strategies::*;

/// A strategy that stopped generating some variant would make every property below weaker
/// without failing; the exhaustive matches make a new variant a compile error here.
#[test]
fn strategies_generate_every_variant_code_and_source() {
    let mut runner = TestRunner::deterministic();
    let (requests, responses) = (request(), response());
    let mut seen = BTreeSet::new();
    for _ in 0..2000 {
        let request = requests.new_tree(&mut runner).unwrap().current();
        seen.insert(match request.body {
            RequestBody::Hello { token: None, .. } => "Hello without token".to_owned(),
            RequestBody::Hello { token: Some(_), .. } => "Hello with token".to_owned(),
            RequestBody::Get { .. }
            | RequestBody::List
            | RequestBody::Render { .. }
            | RequestBody::Redact { .. }
            | RequestBody::Ping => format!("request {}", request.body.kind()),
        });
        let response = responses.new_tree(&mut runner).unwrap().current();
        seen.insert(match &response.body {
            ResponseBody::Secret { value: None } => "Secret None".to_owned(),
            ResponseBody::Error { code, .. } => format!("Error {}", code.name()),
            ResponseBody::List { secrets } if secrets.is_empty() => "List empty".to_owned(),
            ResponseBody::Hello { .. }
            | ResponseBody::Secret { value: Some(_) }
            | ResponseBody::List { .. }
            | ResponseBody::Rendered { .. }
            | ResponseBody::Redacted { .. }
            | ResponseBody::Pong => format!("response {}", response.body.kind()),
        });
    }
    let mut expected: BTreeSet<String> = [
        "Hello without token",
        "Hello with token",
        "request Get",
        "request List",
        "request Render",
        "request Redact",
        "request Ping",
        "Secret None",
        "List empty",
        "response List",
        "response Hello",
        "response Secret",
        "response Rendered",
        "response Redacted",
        "response Pong",
    ]
    .map(String::from)
    .into();
    expected.extend(ErrorCode::ALL.map(|c| format!("Error {}", c.name())));
    assert_eq!(seen, expected);
}

// ---- round trip and hostile bodies ------------------------------------------------------------

proptest! {
    #[test]
    fn every_request_survives_its_frame(request in request()) {
        let frame = to_frame(&request, MAX_REQUEST_FRAME).unwrap();
        let (body, used) = split_frame(&frame, MAX_REQUEST_FRAME).unwrap().unwrap();
        prop_assert_eq!(used, frame.len());
        prop_assert_eq!(decode_request(body).unwrap(), request.clone());
        for cut in 0..frame.len() {
            prop_assert_eq!(split_frame(&frame[..cut], MAX_REQUEST_FRAME), Ok(None));
        }
        // The limit is on the body: exactly its length fits, one byte less does not.
        let len = u32::try_from(body.len()).unwrap();
        prop_assert_eq!(to_frame(&request, len).unwrap(), frame);
        prop_assert_eq!(
            to_frame(&request, len - 1),
            Err(WireError::MessageTooLarge { limit: len - 1 })
        );
    }

    #[test]
    fn every_response_survives_its_frame(response in response()) {
        let frame = to_frame(&response, MAX_RESPONSE_FRAME).unwrap();
        let (body, used) = split_frame(&frame, MAX_RESPONSE_FRAME).unwrap().unwrap();
        prop_assert_eq!(used, frame.len());
        prop_assert_eq!(decode_response(body).unwrap(), response.clone());
        let len = u32::try_from(body.len()).unwrap();
        prop_assert_eq!(
            to_frame(&response, len - 1),
            Err(WireError::MessageTooLarge { limit: len - 1 })
        );
    }

    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(body in vec(any::<u8>(), 0..512)) {
        decode_both(&body)?;
    }

    #[test]
    fn decoders_never_panic_on_corrupted_messages(
        request in request(),
        response in response(),
        edits in vec((any::<Index>(), any::<u8>()), 1..4),
        cut in any::<Index>(),
    ) {
        for mut body in [
            to_frame(&request, u32::MAX).unwrap().split_off(FRAME_HEADER_LEN),
            to_frame(&response, u32::MAX).unwrap().split_off(FRAME_HEADER_LEN),
        ] {
            for (at, byte) in &edits {
                let at = at.index(body.len());
                body[at] = *byte;
            }
            decode_both(&body)?;
            decode_both(&body[..cut.index(body.len() + 1)])?;
        }
    }
}
