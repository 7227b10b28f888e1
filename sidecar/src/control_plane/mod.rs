//! The control plane (PROTOCOL §13): where an online sidecar gets its bundle and sends its
//! audit trail, over HTTPS.
//!
//! - [`credentials`]: the execution token and the pinned Ed25519 key of the control plane.
//! - [`tls`]: rustls on ring, and the roots it trusts.
//! - [`retry`]: the backoff schedule (100 ms doubling to 2 s, full jitter) and the retry loop.
//! - [`status`]: what each HTTP status means for a fetch and for an audit batch.
//! - [`fetch`]: the start-up fetch, its body read straight into the locked arena.

pub mod credentials;
pub mod fetch;
pub mod retry;
pub mod status;
pub mod tls;

use std::path::Path;
use std::sync::Arc;

use reqwest::Url;
use reqwest::header::HeaderValue;

use crate::exit::StartupError;
use credentials::ExecutionToken;

/// `User-Agent` and the `sidecar` field of every request.
pub const SIDECAR_AGENT: &str = concat!("ax-sidecar/", env!("CARGO_PKG_VERSION"));

/// One execution's control plane: its base URL, the execution, the token, the TLS setup.
pub struct ControlPlane {
    base: String,
    execution_id: String,
    token: ExecutionToken,
    tls: rustls::ClientConfig,
}

impl std::fmt::Debug for ControlPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlPlane")
            .field("base", &self.base)
            .field("execution_id", &self.execution_id)
            .finish_non_exhaustive()
    }
}

impl ControlPlane {
    /// Checks the URL and the execution id and sets up TLS.
    pub fn new(
        url: &str,
        execution_id: &str,
        token: ExecutionToken,
        ca_file: Option<&Path>,
    ) -> Result<Self, StartupError> {
        let base = check_url(url)?;
        ax_protocol::bundle::validate_execution_id(execution_id)
            .map_err(StartupError::ExecutionId)?;
        Ok(Self {
            base,
            execution_id: execution_id.to_owned(),
            token,
            tls: tls::client_config(ca_file)?,
        })
    }

    /// The base URL, for messages.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The execution this sidecar serves.
    pub fn execution_id(&self) -> &str {
        &self.execution_id
    }

    /// `{base}/v1/executions/{execution_id}/{what}`. Execution ids are made of URL-safe
    /// characters only and start with a letter or a digit (never a dot segment), so they need
    /// no escaping.
    pub fn url(&self, what: &str) -> String {
        format!("{}/v1/executions/{}/{what}", self.base, self.execution_id)
    }

    /// The `Authorization` header.
    pub fn authorization(&self) -> Result<HeaderValue, StartupError> {
        self.token
            .authorization()
            .ok_or_else(|| StartupError::Client("the token is not a valid header value".into()))
    }

    /// A fresh HTTP client with its own connection pool (one per runtime that uses it: a
    /// pooled connection lives on the runtime that opened it). Redirects are not followed:
    /// the contract has none, and following one would send the token elsewhere.
    pub fn client(&self) -> Result<reqwest::Client, StartupError> {
        reqwest::Client::builder()
            .use_preconfigured_tls(self.tls.clone())
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(SIDECAR_AGENT)
            .no_proxy()
            .tcp_nodelay(true)
            .build()
            .map_err(|e| StartupError::Client(e.to_string()))
    }
}

/// Accepts an `https` URL with a host and no query or fragment; returns it without a trailing
/// slash.
fn check_url(url: &str) -> Result<String, StartupError> {
    let refuse = |reason| StartupError::ControlPlaneUrl { reason };
    let parsed = Url::parse(url).map_err(|_| refuse("is not a URL"))?;
    if parsed.scheme() != "https" {
        return Err(refuse("must be an https:// URL"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(refuse("has no host"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(refuse("must not have a query or fragment"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(refuse("must not carry credentials"));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

/// Shared by the fetch and the audit shipper.
pub type SharedControlPlane = Arc<ControlPlane>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_plain_https_urls() {
        assert_eq!(
            check_url("https://cp.example:8443/").unwrap(),
            "https://cp.example:8443"
        );
        assert_eq!(
            check_url("https://cp.example/base/").unwrap(),
            "https://cp.example/base"
        );
        for bad in [
            "http://cp.example",
            "cp.example",
            "https://cp.example/?q=1",
            "https://u:p@cp.example",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}
