//! What each HTTP status of the control plane means (the tables of PROTOCOL §13.1 and §13.2):
//! the verdicts a sidecar draws from a status, and the statuses a control plane answers with.
//!
//! Both sides use these, so "the control plane answers X" and "the sidecar does Y on X" are
//! one table: a control plane's test can check that each answer it gives draws the verdict
//! it intends.

/// The status of a bundle sealed and sent (§13.1).
pub const FETCH_OK: u16 = 200;
/// The status of a malformed fetch: a bad `recipient_key`, an unknown `suite` or field.
pub const MALFORMED: u16 = 400;
/// The status of a token that is missing, unknown, expired, already spent, or not for this
/// execution (§13.1).
pub const TOKEN_REFUSED: u16 = 401;
/// The status of a fetch for an execution that does not exist.
pub const NO_SUCH_EXECUTION: u16 = 404;
/// The status of a fetch for an execution that is no longer running, and of an audit batch
/// stored for an execution that ended (§13.2), with the code `execution_ended`.
pub const EXECUTION_ENDED: u16 = 410;
/// The status of an audit batch stored (or a heartbeat taken) while the execution runs.
pub const AUDIT_OK: u16 = 200;

/// A sidecar's reading of a bundle fetch's status (§13.1).
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

/// Classifies the status of a bundle fetch (§13.1).
pub const fn fetch_verdict(status: u16) -> FetchVerdict {
    match status {
        200 => FetchVerdict::Bundle,
        400 => FetchVerdict::BadRequest,
        429 | 500..=599 => FetchVerdict::Retry,
        _ => FetchVerdict::Refused,
    }
}

/// A sidecar's reading of an audit POST's status (§13.2).
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

/// Classifies the status of an audit POST (§13.2).
pub const fn audit_verdict(status: u16) -> AuditVerdict {
    match status {
        200 | 202 | 204 => AuditVerdict::Acknowledged,
        429 | 500..=599 => AuditVerdict::Retry,
        401 | 403 => AuditVerdict::Stop,
        410 => AuditVerdict::Ended,
        _ => AuditVerdict::Drop,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_statuses_a_control_plane_answers_with_mean_what_they_say_to_a_sidecar() {
        assert_eq!(fetch_verdict(FETCH_OK), FetchVerdict::Bundle);
        assert_eq!(fetch_verdict(MALFORMED), FetchVerdict::BadRequest);
        assert_eq!(fetch_verdict(TOKEN_REFUSED), FetchVerdict::Refused);
        assert_eq!(fetch_verdict(NO_SUCH_EXECUTION), FetchVerdict::Refused);
        assert_eq!(fetch_verdict(EXECUTION_ENDED), FetchVerdict::Refused);
        assert_eq!(audit_verdict(AUDIT_OK), AuditVerdict::Acknowledged);
        assert_eq!(audit_verdict(EXECUTION_ENDED), AuditVerdict::Ended);
        assert_eq!(audit_verdict(TOKEN_REFUSED), AuditVerdict::Stop);
    }

    #[test]
    fn overload_and_failure_are_retried_on_both_endpoints_and_nothing_else_is() {
        for status in [429, 500, 503, 599] {
            assert_eq!(fetch_verdict(status), FetchVerdict::Retry, "{status}");
            assert_eq!(audit_verdict(status), AuditVerdict::Retry, "{status}");
        }
        for status in [201, 302, 403, 404, 409, 413, 428, 600] {
            assert_ne!(fetch_verdict(status), FetchVerdict::Retry, "{status}");
            assert_ne!(audit_verdict(status), AuditVerdict::Retry, "{status}");
        }
        assert_eq!(audit_verdict(400), AuditVerdict::Drop);
        assert_eq!(audit_verdict(403), AuditVerdict::Stop);
    }
}
