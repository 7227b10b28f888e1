//! The bundle fetch request (PROTOCOL §13.1): `POST {base}/v1/executions/{id}/bundle`.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// The only HPKE suite of this protocol (§11.2); a control plane answers any other with 400.
pub const SUITE: &str = "x25519-hkdf-sha256-aes-256-gcm";

/// The media type of a sealed bundle: the fetch's `Accept` and its 200's `Content-Type`.
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.ax-secrets.bundle.v1";

/// The body of a bundle fetch (§13.1), in this field order:
///
/// ```text
/// {"recipient_key":"<base64 of 32 bytes>","suite":"x25519-hkdf-sha256-aes-256-gcm","sidecar":"ax-sidecar/0.1.0"}
/// ```
///
/// A control plane refuses a body with a field it does not know (400, §13.1): the request names
/// the key a bundle is sealed to, so nothing in it may be silently ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchRequest<'a> {
    /// The sidecar's fresh X25519 public key, standard base64 with padding (44 characters).
    pub recipient_key: Cow<'a, str>,
    /// The HPKE suite, [`SUITE`].
    pub suite: Cow<'a, str>,
    /// The sidecar's name and version, e.g. `ax-sidecar/0.1.0`; informational, and optional
    /// for a control plane to receive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sidecar: Option<Cow<'a, str>>,
}
