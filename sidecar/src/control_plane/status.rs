//! What each HTTP status from the control plane means (the tables of PROTOCOL §13.1, §13.2,
//! shared with the control plane in `ax_protocol::contract::status`), and the quoting of its
//! error bodies.

use ax_protocol::contract::ErrorDetail;
pub use ax_protocol::contract::{AuditVerdict, FetchVerdict, audit_verdict, fetch_verdict};

use crate::limits::MAX_ERROR_DETAIL;

/// `" (code: message)"` from an error body `{"error": ..., "message": ...}`, cut to a line of
/// printable characters; empty when the body is not that JSON.
pub fn error_detail(body: &[u8]) -> String {
    let Ok(parsed) = serde_json::from_slice::<ErrorDetail<'_>>(body) else {
        return String::new();
    };
    let text = match (parsed.error, parsed.message) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(one), None) | (None, Some(one)) => one.into_owned(),
        (None, None) => return String::new(),
    };
    let printable: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_ERROR_DETAIL)
        .collect();
    format!(" ({printable})")
}
