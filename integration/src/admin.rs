//! A typed client of the reference control plane's management API (`CONTROL_PLANE.md`), for
//! `ax-run`, the tests and the demo. Every call sends the admin token.

use std::fs;
use std::io;
use std::path::Path;

use ax_protocol::SecretText;
use serde::Deserialize;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::control_plane::StateFiles;
use crate::https::{HttpResponse, HttpsClient};

/// Why a management call failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The control plane could not be reached or spoke nonsense.
    #[error("cannot reach the control plane: {0}")]
    Transport(#[from] io::Error),
    /// It answered with an error status.
    #[error("the control plane answered {status}: {message}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// Its `message`, which never holds a value nor quotes what was sent.
        message: String,
    },
}

impl AdminError {
    /// The HTTP status, if the control plane answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            Self::Transport(_) => None,
        }
    }
}

/// An execution just created: its id and its one-time token.
#[derive(Clone)]
pub struct NewExecution {
    /// The execution id.
    pub execution_id: String,
    /// The execution token, wiped when dropped; `Debug` does not show it.
    pub token: Zeroizing<String>,
}

/// The part of `POST /v1/tenants/{t}/executions`'s answer we keep. The token is read straight
/// out of the response body (borrowed when it needs no unescaping), with no `serde_json::Value`
/// in between to hold a copy that would be freed unwiped.
#[derive(Deserialize)]
struct Created<'a> {
    execution_id: String,
    #[serde(borrow)]
    token: SecretText<'a>,
}

impl std::fmt::Debug for NewExecution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewExecution")
            .field("execution_id", &self.execution_id)
            .field("token", &"[redacted]")
            .finish()
    }
}

/// The management client.
#[derive(Clone)]
pub struct Admin {
    client: HttpsClient,
    token: String,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Admin({:?})", self.client)
    }
}

/// The first line of a file, trimmed.
pub fn read_line_file(path: &Path) -> io::Result<String> {
    let text = fs::read_to_string(path)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display())))?;
    Ok(text.lines().next().unwrap_or("").trim().to_owned())
}

/// Percent-encodes one path segment or query value.
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn check(response: HttpResponse) -> Result<HttpResponse, AdminError> {
    if (200..300).contains(&response.status) {
        Ok(response)
    } else {
        let message = response
            .json()
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("no message")
            .to_owned();
        Err(AdminError::Status {
            status: response.status,
            message,
        })
    }
}

impl Admin {
    /// A client of `url`, trusting `ca_pem`, authenticating with `admin_token`.
    pub fn new(url: &str, ca_pem: &[u8], admin_token: &str) -> io::Result<Self> {
        Ok(Self {
            client: HttpsClient::new(url, ca_pem)?,
            token: admin_token.to_owned(),
        })
    }

    /// A client from the files a control plane wrote into its state directory.
    pub fn from_state_dir(dir: &Path) -> io::Result<Self> {
        let files = StateFiles::in_dir(dir);
        let url = read_line_file(&files.url_file)?;
        let ca = fs::read(&files.ca_file)?;
        let token = read_line_file(&files.admin_token_file)?;
        Self::new(&url, &ca, &token)
    }

    /// The underlying HTTPS client.
    pub fn https(&self) -> &HttpsClient {
        &self.client
    }

    /// Any call; error statuses are returned, not turned into errors.
    pub fn raw(&self, method: &str, path: &str, body: Option<&Value>) -> io::Result<HttpResponse> {
        match body {
            Some(b) => self.client.json(method, path, Some(&self.token), b),
            None => self.client.request(method, path, Some(&self.token), None),
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, AdminError> {
        let response = check(self.raw(method, path, body)?)?;
        Ok(response.json())
    }

    /// `POST /v1/tenants`.
    pub fn create_tenant(&self, tenant: &str) -> Result<Value, AdminError> {
        self.call("POST", "/v1/tenants", Some(&json!({"name": tenant})))
    }

    /// `PUT /v1/tenants/{t}/secrets/{name}`: creates, or replaces when `replace` is set.
    pub fn put_secret(
        &self,
        tenant: &str,
        name: &str,
        value: &str,
        replace: bool,
    ) -> Result<Value, AdminError> {
        let path = format!(
            "/v1/tenants/{}/secrets/{}",
            encode_component(tenant),
            encode_component(name)
        );
        self.call(
            "PUT",
            &path,
            Some(&json!({"value": value, "replace": replace})),
        )
    }

    /// `DELETE /v1/tenants/{t}/secrets/{name}`.
    pub fn delete_secret(&self, tenant: &str, name: &str) -> Result<(), AdminError> {
        let path = format!(
            "/v1/tenants/{}/secrets/{}",
            encode_component(tenant),
            encode_component(name)
        );
        self.call("DELETE", &path, None).map(|_| ())
    }

    /// `GET /v1/tenants/{t}/secrets`: names and metadata.
    pub fn list_secrets(&self, tenant: &str) -> Result<Value, AdminError> {
        self.call(
            "GET",
            &format!("/v1/tenants/{}/secrets", encode_component(tenant)),
            None,
        )
    }

    /// `PUT /v1/tenants/{t}/environments/{e}`.
    pub fn create_environment(&self, tenant: &str, env: &str) -> Result<Value, AdminError> {
        let path = format!(
            "/v1/tenants/{}/environments/{}",
            encode_component(tenant),
            encode_component(env)
        );
        self.call("PUT", &path, None)
    }

    /// `PUT /v1/tenants/{t}/configs/{c}`.
    pub fn create_config(&self, tenant: &str, config: &str) -> Result<Value, AdminError> {
        let path = format!(
            "/v1/tenants/{}/configs/{}",
            encode_component(tenant),
            encode_component(config)
        );
        self.call("PUT", &path, None)
    }

    /// `GET /v1/tenants/{t}/configs`: each config with the names it overrides.
    pub fn list_configs(&self, tenant: &str) -> Result<Value, AdminError> {
        self.call(
            "GET",
            &format!("/v1/tenants/{}/configs", encode_component(tenant)),
            None,
        )
    }

    /// `PUT /v1/tenants/{t}/configs/{c}/overrides/{name}`.
    pub fn put_override(
        &self,
        tenant: &str,
        config: &str,
        name: &str,
        value: &str,
        replace: bool,
    ) -> Result<Value, AdminError> {
        let path = format!(
            "/v1/tenants/{}/configs/{}/overrides/{}",
            encode_component(tenant),
            encode_component(config),
            encode_component(name)
        );
        self.call(
            "PUT",
            &path,
            Some(&json!({"value": value, "replace": replace})),
        )
    }

    /// `PUT /v1/tenants/{t}/faults`: faults for the tenant's next executions.
    pub fn set_faults(&self, tenant: &str, faults: &Value) -> Result<Value, AdminError> {
        self.call(
            "PUT",
            &format!("/v1/tenants/{}/faults", encode_component(tenant)),
            Some(faults),
        )
    }

    /// `POST /v1/tenants/{t}/executions`.
    pub fn create_execution(
        &self,
        tenant: &str,
        config: Option<&str>,
        environment: Option<&str>,
        faults: Option<&Value>,
    ) -> Result<NewExecution, AdminError> {
        let mut body = json!({});
        if let Some(c) = config {
            body["config"] = json!(c);
        }
        if let Some(e) = environment {
            body["environment"] = json!(e);
        }
        if let Some(f) = faults {
            body["faults"] = f.clone();
        }
        let path = format!("/v1/tenants/{}/executions", encode_component(tenant));
        // The response (and so its body) is wiped when it goes out of scope below.
        let response = check(self.raw("POST", &path, Some(&body))?)?;
        let created: Created<'_> = serde_json::from_slice(&response.body).map_err(|_| {
            AdminError::Transport(io::Error::other(
                "the execution answer has no execution_id or token",
            ))
        })?;
        Ok(NewExecution {
            execution_id: created.execution_id,
            token: Zeroizing::new(created.token.expose().to_owned()),
        })
    }

    /// `POST /v1/executions/{id}/finish`.
    pub fn finish_execution(&self, execution_id: &str) -> Result<(), AdminError> {
        self.call(
            "POST",
            &format!("/v1/executions/{}/finish", encode_component(execution_id)),
            None,
        )
        .map(|_| ())
    }

    /// `GET /v1/executions/{id}`.
    pub fn execution(&self, execution_id: &str) -> Result<Value, AdminError> {
        self.call(
            "GET",
            &format!("/v1/executions/{}", encode_component(execution_id)),
            None,
        )
    }

    /// `GET /v1/tenants/{t}/audit[?name=..][&execution=..]`: the events.
    pub fn audit(
        &self,
        tenant: &str,
        name: Option<&str>,
        execution_id: Option<&str>,
    ) -> Result<Vec<Value>, AdminError> {
        let mut query = Vec::new();
        if let Some(n) = name {
            query.push(format!("name={}", encode_component(n)));
        }
        if let Some(e) = execution_id {
            query.push(format!("execution={}", encode_component(e)));
        }
        let mut path = format!("/v1/tenants/{}/audit", encode_component(tenant));
        if !query.is_empty() {
            path.push('?');
            path.push_str(&query.join("&"));
        }
        let answer = self.call("GET", &path, None)?;
        Ok(answer
            .get("events")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
    }

    /// The same client, authenticating with `token` (an API token) instead.
    pub fn with_token(&self, token: &str) -> Self {
        Self {
            client: self.client.clone(),
            token: token.to_owned(),
        }
    }

    /// `PUT /v1/tenants/{t}/secrets/{name}` with a whole body: `value`, `replace`, and the
    /// optional `description`, `metadata`, `rotation_days`, `reason`.
    pub fn put_secret_body(
        &self,
        tenant: &str,
        name: &str,
        body: &Value,
    ) -> Result<Value, AdminError> {
        let path = format!(
            "/v1/tenants/{}/secrets/{}",
            encode_component(tenant),
            encode_component(name)
        );
        self.call("PUT", &path, Some(body))
    }

    /// `GET /v1/tenants/{t}/secrets/{name}`: its metadata, never its value.
    pub fn secret(&self, tenant: &str, name: &str) -> Result<Value, AdminError> {
        let path = format!(
            "/v1/tenants/{}/secrets/{}",
            encode_component(tenant),
            encode_component(name)
        );
        self.call("GET", &path, None)
    }

    /// `GET /v1/tenants/{t}/secrets/{name}/history`: its versions.
    pub fn history(&self, tenant: &str, name: &str) -> Result<Value, AdminError> {
        let path = format!(
            "/v1/tenants/{}/secrets/{}/history",
            encode_component(tenant),
            encode_component(name)
        );
        self.call("GET", &path, None)
    }

    /// `GET /v1/tenants/{t}/audit?QUERY` (QUERY already encoded, e.g.
    /// `kind=management&action=secret_rotate&limit=10`): the whole answer.
    pub fn audit_query(&self, tenant: &str, query: &str) -> Result<Value, AdminError> {
        let path = format!("/v1/tenants/{}/audit?{query}", encode_component(tenant));
        self.call("GET", &path, None)
    }

    /// `POST /v1/tokens` (owner): the new token's name, role and (shown once) token.
    pub fn create_token(&self, name: &str, role: &str) -> Result<Value, AdminError> {
        self.call(
            "POST",
            "/v1/tokens",
            Some(&json!({"name": name, "role": role})),
        )
    }

    /// `GET /v1/tokens` (owner): names, roles and times, never a token.
    pub fn list_tokens(&self) -> Result<Value, AdminError> {
        self.call("GET", "/v1/tokens", None)
    }

    /// `GET /v1/tokens/audit` (owner): tokens made and revoked, by whom.
    pub fn token_audit(&self) -> Result<Value, AdminError> {
        self.call("GET", "/v1/tokens/audit", None)
    }

    /// `DELETE /v1/tokens/{name}` (owner).
    pub fn revoke_token(&self, name: &str) -> Result<(), AdminError> {
        self.call(
            "DELETE",
            &format!("/v1/tokens/{}", encode_component(name)),
            None,
        )
        .map(|_| ())
    }
}
