//! Where the control plane is and who we are: `--url`, `--token-file`, `--ca-file` (or
//! `AX_URL`, `AX_TOKEN`, `AX_CA_FILE`), with `--state-dir` filling in whatever is not given from
//! the files a control plane writes there (`url`, `admin-token`, `ca.pem`), as the admin client
//! does. The token is held in a `Zeroizing` string and never printed.

use std::fs;
use std::path::PathBuf;

use zeroize::Zeroizing;

use super::error::{self, CliError};
use crate::admin::read_line_file;
use crate::control_plane::StateFiles;
use crate::https::{HttpResponse, HttpsClient};

/// The connection flags as parsed (environment variables already applied by clap).
#[derive(Default, Clone)]
pub struct ConnectionArgs {
    /// `--url` / `AX_URL`.
    pub url: Option<String>,
    /// `--token-file`.
    pub token_file: Option<PathBuf>,
    /// `AX_TOKEN` (the token itself, for CI).
    pub token_env: Option<Zeroizing<String>>,
    /// `--ca-file` / `AX_CA_FILE`.
    pub ca_file: Option<PathBuf>,
    /// `--state-dir`.
    pub state_dir: Option<PathBuf>,
}

/// Says whether a token came from the environment, never the token (a derived `Debug` would
/// print it).
impl std::fmt::Debug for ConnectionArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionArgs")
            .field("url", &self.url)
            .field("token_file", &self.token_file)
            .field("token_env", &self.token_env.as_ref().map(|_| "[redacted]"))
            .field("ca_file", &self.ca_file)
            .field("state_dir", &self.state_dir)
            .finish()
    }
}

/// A connected management client: one HTTPS request per call.
pub struct Connection {
    client: HttpsClient,
    token: Zeroizing<String>,
}

fn bad_file(what: &str, e: &std::io::Error) -> CliError {
    CliError::BadInput(format!("cannot read the {what}: {e}"))
}

impl Connection {
    /// Resolves the flags into a client; nothing is sent yet.
    pub fn open(args: &ConnectionArgs) -> Result<Self, CliError> {
        let files = args.state_dir.as_deref().map(StateFiles::in_dir);
        let url = match (&args.url, &files) {
            (Some(u), _) => u.clone(),
            (None, Some(f)) => read_line_file(&f.url_file).map_err(|e| bad_file("URL file", &e))?,
            (None, None) => return Err(CliError::Usage(error::NO_URL.into())),
        };
        let token = if let Some(path) = &args.token_file {
            Zeroizing::new(read_line_file(path).map_err(|e| bad_file("token file", &e))?)
        } else if let Some(t) = &args.token_env {
            t.clone()
        } else if let Some(f) = &files {
            Zeroizing::new(
                read_line_file(&f.admin_token_file).map_err(|e| bad_file("admin token", &e))?,
            )
        } else {
            return Err(CliError::Usage(error::NO_TOKEN.into()));
        };
        let ca_path = match (&args.ca_file, &files) {
            (Some(p), _) => p.clone(),
            (None, Some(f)) => f.ca_file.clone(),
            (None, None) => return Err(CliError::Usage(error::NO_CA.into())),
        };
        let ca = fs::read(&ca_path).map_err(|e| {
            CliError::BadInput(format!(
                "cannot read the CA file {}: {e}",
                ca_path.display()
            ))
        })?;
        let client = HttpsClient::new(&url, &ca).map_err(|e| CliError::Usage(e.to_string()))?;
        Ok(Self { client, token })
    }

    /// Sends one request (a JSON body when given) and turns an error status into [`CliError::Api`].
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<HttpResponse, CliError> {
        let response = self
            .client
            .request(
                method,
                path,
                Some(self.token.as_str()),
                body.map(|b| ("application/json", b)),
            )
            .map_err(CliError::Unreachable)?;
        if (200..300).contains(&response.status) {
            return Ok(response);
        }
        let json = response.json();
        let field = |k: &str| {
            json.get(k)
                .and_then(serde_json::Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        Err(CliError::Api {
            status: response.status,
            code: field("error"),
            message: field("message"),
            hint: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_token_from_the_environment() {
        let args = ConnectionArgs {
            token_env: Some(Zeroizing::new("axtok_secret_marker".to_owned())),
            ..ConnectionArgs::default()
        };
        let shown = format!("{args:?}");
        assert!(!shown.contains("axtok_secret_marker"), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
    }
}
