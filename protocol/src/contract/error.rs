//! The error body of the control plane's answers (PROTOCOL §13):
//! `{"error": "<code>", "message": "<text>"}`.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// The error codes the reference control plane answers with, on the §13 endpoints and on its
/// management API alike. A sidecar reads only [`ErrorDetail`], which takes any code: the codes
/// are for people and logs, the status decides what a sidecar does ([`super::status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorName {
    /// 400: the body or a parameter is malformed (§13.1: a bad `recipient_key`, an unknown
    /// `suite`, an unknown field; §13.2: a batch that is not one).
    BadRequest,
    /// 401: the token is missing, unknown, expired or already spent (§13.1).
    Unauthorized,
    /// 403: the management token's role does not allow this route (a viewer's change, a
    /// manager on the token routes).
    Forbidden,
    /// 404: no such execution (or tenant, config, secret, ...).
    NotFound,
    /// 409: a management create of a name that exists, without the confirmation to replace.
    Exists,
    /// 413: a body larger than the control plane takes.
    TooLarge,
    /// 410 on a fetch: the execution has finished (§13.1).
    Finished,
    /// 410 on a fetch: what the execution would be sealed from no longer exists.
    Gone,
    /// 410 on an audit batch: the batch is stored, and the sidecar must stop serving (§13.2).
    ExecutionEnded,
    /// A fault injected by a test (any status).
    Fault,
    /// 500: the control plane failed.
    Internal,
    /// 500 on a fetch: a stored value did not open (tampered, or moved to another name,
    /// tenant, scope or version); the log names the secret, the answer does not.
    Unreadable,
    /// 500: the control plane's storage refused a change, which was therefore not made.
    Storage,
}

impl ErrorName {
    /// The code as it appears in the body, e.g. `"execution_ended"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::Exists => "exists",
            Self::TooLarge => "too_large",
            Self::Finished => "finished",
            Self::Gone => "gone",
            Self::ExecutionEnded => "execution_ended",
            Self::Fault => "fault",
            Self::Internal => "internal",
            Self::Unreadable => "unreadable",
            Self::Storage => "storage",
        }
    }
}

/// An error body as a control plane writes it. The message names the kind of problem and
/// never quotes what the caller sent (it might be a value put where a name goes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody<'a> {
    /// The code.
    pub error: ErrorName,
    /// A line for people.
    pub message: Cow<'a, str>,
}

/// An error body as a sidecar reads it (§13: "MAY carry a JSON body ..., which the sidecar
/// logs"): any code, either field optional, other fields ignored, since the body is the
/// platform's and only ever quoted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail<'a> {
    /// The code, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Cow<'a, str>>,
    /// The message, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Cow<'a, str>>,
}
