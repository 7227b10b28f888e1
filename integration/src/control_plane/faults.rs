//! Fault injection: how the reference control plane misbehaves on purpose, for tests.
//!
//! Faults are set per tenant (`PUT /v1/tenants/{t}/faults`) and copied into every execution
//! created afterwards, or given per execution in its creation request. They act on that
//! execution's bundle fetches and audit posts only.

use serde::{Deserialize, Serialize};

/// What to do wrong. The default does nothing wrong.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Wait this long (milliseconds, at most 60 000) before answering each bundle fetch.
    pub delay_ms: u64,
    /// Answer the first N bundle fetches with 503 (the token stays unused).
    pub fail_times: u32,
    /// Answer every bundle fetch with this status (e.g. 401, 403, 404, 429, 500) and an error
    /// body, leaving the token unused.
    pub status: Option<u16>,
    /// With `fail_times` or a 429/5xx `status`: send `Retry-After: N` (seconds).
    pub retry_after: Option<u64>,
    /// Flip one byte of the ciphertext after signing: the signature no longer verifies.
    pub tamper: bool,
    /// Seal a bundle whose validity ended an hour ago.
    pub expired: bool,
    /// Seal the bundle for another execution id (header and plaintext both).
    pub wrong_execution: bool,
    /// Answer the first N audit posts with 503 (the events are not stored).
    pub audit_fail_times: u32,
    /// Answer every audit post with this status (e.g. 401).
    pub audit_status: Option<u16>,
}

/// The fields of a faults object, for error messages (which never quote what was sent).
pub const FIELDS: &str = "delay_ms, fail_times, status, retry_after, tamper, expired, \
                          wrong_execution, audit_fail_times, audit_status";

/// Longest `delay_ms` accepted.
pub const MAX_DELAY_MS: u64 = 60_000;

impl Faults {
    /// Checks the ranges; the message says what is allowed.
    pub fn validate(&self) -> Result<(), String> {
        if self.delay_ms > MAX_DELAY_MS {
            return Err(format!(
                "faults.delay_ms must be in the range 0 to {MAX_DELAY_MS}"
            ));
        }
        for (field, status) in [("status", self.status), ("audit_status", self.audit_status)] {
            if let Some(code) = status {
                if !(400..=599).contains(&code) {
                    return Err(format!("faults.{field} must be in the range 400 to 599"));
                }
            }
        }
        Ok(())
    }
}
