//! Proptest strategies for every message, shared by the property-test files.
#![allow(dead_code, unreachable_pub)]

use std::borrow::Cow;

use ax_protocol::frame::{decode_request, decode_response, to_frame};
use ax_protocol::limits::{FRAME_HEADER_LEN, MAX_REQUEST_FRAME};
use ax_protocol::{
    ErrorCode, Request, RequestBody, Response, ResponseBody, SecretInfo, SecretText,
};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::TestCaseError;

pub fn id() -> impl Strategy<Value = u32> {
    prop_oneof![1 => Just(0), 1 => Just(u32::MAX), 8 => any::<u32>()]
}

/// Any unicode text, empty included, sometimes long enough for a two-byte length varint.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just(String::new()),
        8 => vec(any::<char>(), 0..200).prop_map(String::from_iter),
    ]
}

pub fn cow() -> impl Strategy<Value = Cow<'static, str>> {
    text().prop_map(Cow::Owned)
}

pub fn secret() -> impl Strategy<Value = SecretText<'static>> {
    text().prop_map(SecretText::owned)
}

pub fn request_body() -> impl Strategy<Value = RequestBody<'static>> {
    prop_oneof![
        (any::<u16>(), cow(), option::of(secret())).prop_map(|(version, client, token)| {
            RequestBody::Hello {
                version,
                client,
                token,
            }
        }),
        cow().prop_map(|name| RequestBody::Get { name }),
        Just(RequestBody::List),
        secret().prop_map(|template| RequestBody::Render { template }),
        secret().prop_map(|text| RequestBody::Redact { text }),
        Just(RequestBody::Ping),
    ]
}

pub fn request() -> impl Strategy<Value = Request<'static>> {
    (id(), request_body()).prop_map(|(id, body)| Request { id, body })
}

pub fn secret_info() -> impl Strategy<Value = SecretInfo<'static>> {
    let updated_at = prop_oneof![Just(0), Just(u64::MAX), any::<u64>()];
    (cow(), any::<u32>(), updated_at).prop_map(|(name, version, updated_at)| SecretInfo {
        name,
        version,
        updated_at,
    })
}

pub fn response_body() -> impl Strategy<Value = ResponseBody<'static>> {
    prop_oneof![
        (any::<u16>(), cow(), cow()).prop_map(|(version, sidecar, execution_id)| {
            ResponseBody::Hello {
                version,
                sidecar,
                execution_id,
            }
        }),
        option::of(secret()).prop_map(|value| ResponseBody::Secret { value }),
        vec(secret_info(), 0..4).prop_map(|secrets| ResponseBody::List { secrets }),
        (secret(), vec(cow(), 0..4))
            .prop_map(|(text, missing)| ResponseBody::Rendered { text, missing }),
        (cow(), vec(cow(), 0..4)).prop_map(|(text, found)| ResponseBody::Redacted { text, found }),
        Just(ResponseBody::Pong),
        (select(ErrorCode::ALL.to_vec()), cow())
            .prop_map(|(code, message)| ResponseBody::Error { code, message }),
    ]
}

pub fn response() -> impl Strategy<Value = Response<'static>> {
    (id(), response_body()).prop_map(|(id, body)| Response { id, body })
}

pub fn frames(requests: &[Request<'_>]) -> Vec<u8> {
    let parts: Vec<Vec<u8>> = requests
        .iter()
        .map(|r| to_frame(r, MAX_REQUEST_FRAME).unwrap())
        .collect();
    parts.concat()
}

/// Decodes `body` as both message kinds. Whatever is accepted must re-encode to a body that
/// decodes to the same message and is no longer than the input (non-canonical varints are
/// accepted, so the input may be longer, never shorter).
pub fn decode_both(body: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(request) = decode_request(body) {
        let again = to_frame(&request, u32::MAX).unwrap();
        prop_assert!(again.len() - FRAME_HEADER_LEN <= body.len());
        prop_assert_eq!(decode_request(&again[FRAME_HEADER_LEN..]).unwrap(), request);
    }
    if let Ok(response) = decode_response(body) {
        let again = to_frame(&response, u32::MAX).unwrap();
        prop_assert!(again.len() - FRAME_HEADER_LEN <= body.len());
        prop_assert_eq!(
            decode_response(&again[FRAME_HEADER_LEN..]).unwrap(),
            response
        );
    }
    Ok(())
}
