//! What each HTTP status from the control plane means (the tables of PROTOCOL §13.1, §13.2),
//! and the quoting of its error bodies.

use serde::Deserialize;

use crate::limits::MAX_ERROR_DETAIL;

/// The answer to a bundle fetch, by status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchVerdict {
    /// 200: the body is the envelope.
    Bundle,
    /// 400: the request was malformed, a sidecar bug (exit 70).
    BadRequest,
    /// 401, 403, 404, 409, 410 and anything unexpected: refused for good (exit 77).
    Refused,
    /// 429 and 5xx: try again later.
    Retry,
}

/// Classifies the status of a bundle fetch.
pub fn fetch_verdict(status: u16) -> FetchVerdict {
    match status {
        200 => FetchVerdict::Bundle,
        400 => FetchVerdict::BadRequest,
        429 | 500..=599 => FetchVerdict::Retry,
        _ => FetchVerdict::Refused,
    }
}

/// The answer to an audit batch, by status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditVerdict {
    /// 200, 202, 204: the batch is acknowledged.
    Acknowledged,
    /// 429 and 5xx: send the same batch again later.
    Retry,
    /// 401, 403: the token no longer works; stop shipping.
    Stop,
    /// 410: the control plane ended the execution. It stored the batch; the sidecar must stop
    /// serving values and exit.
    Ended,
    /// Anything else: drop the batch and count it in `dropped`.
    Drop,
}

/// Classifies the status of an audit POST.
pub fn audit_verdict(status: u16) -> AuditVerdict {
    match status {
        200 | 202 | 204 => AuditVerdict::Acknowledged,
        429 | 500..=599 => AuditVerdict::Retry,
        401 | 403 => AuditVerdict::Stop,
        410 => AuditVerdict::Ended,
        _ => AuditVerdict::Drop,
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: Option<String>,
    message: Option<String>,
}

/// `" (code: message)"` from an error body `{"error": ..., "message": ...}`, cut to a line of
/// printable characters; empty when the body is not that JSON.
pub fn error_detail(body: &[u8]) -> String {
    let Ok(parsed) = serde_json::from_slice::<ErrorBody>(body) else {
        return String::new();
    };
    let text = match (parsed.error, parsed.message) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(one), None) | (None, Some(one)) => one,
        (None, None) => return String::new(),
    };
    let printable: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_ERROR_DETAIL)
        .collect();
    format!(" ({printable})")
}
