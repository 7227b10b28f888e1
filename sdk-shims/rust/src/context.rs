//! [`AxiomContext`]: node code's handle on the execution, with `ax.secrets()` over the sidecar.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use ax_protocol::SecretText;

use crate::api::{Context, Secrets};
use crate::client::{Client, Settings};

/// The execution context node code receives as `ax`, backed by the execution's sidecar.
///
/// Connects **lazily**, on the first call, to the socket in `AX_SECRETS_SOCKET` with the token
/// in `AX_SECRETS_TOKEN` (unset or empty: no token), does the handshake once and reuses the
/// connection for every call. It is `Send + Sync`: share one context between threads (calls
/// take turns on the one connection). Dropping it closes the connection.
///
/// ```no_run
/// use ax_secrets::AxiomContext;
///
/// let ax = AxiomContext::new();
/// let (key, found) = ax.secrets().get("OPENAI_API_KEY");
/// match ax.secrets().try_get("DB_URL") {
///     Ok(Some(url)) => println!("connecting to the database ({} bytes of URL)", url.len()),
///     Ok(None) => println!("no DB_URL for this execution"),
///     Err(error) => eprintln!("{error}"), // names the socket, never a value
/// }
/// # let _ = (key, found);
/// ```
///
/// In unit tests, use [`MockAxiomContext`](crate::MockAxiomContext) instead; write node code
/// against [`Context`] to accept either.
pub struct AxiomContext {
    client: Client,
}

impl AxiomContext {
    /// A context configured from the environment (read at the first call, not here).
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder, to give the socket, the token or a timeout instead of the environment's.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ax_secrets::AxiomContext;
    ///
    /// let ax = AxiomContext::builder()
    ///     .socket("/run/ax/exec-7f3a.sock")
    ///     .token("tok-3f9a")
    ///     .timeout(Duration::from_secs(5))
    ///     .build();
    /// assert!(format!("{ax:?}").contains("exec-7f3a.sock"));
    /// assert!(!format!("{ax:?}").contains("tok-3f9a"));
    /// ```
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The execution's secrets.
    pub fn secrets(&self) -> &dyn Secrets {
        &self.client
    }

    /// Closes the connection to the sidecar; a later call connects again.
    pub fn close(&self) {
        self.client.close();
    }
}

impl Default for AxiomContext {
    fn default() -> Self {
        Self::new()
    }
}

impl Context for AxiomContext {
    fn secrets(&self) -> &dyn Secrets {
        &self.client
    }
}

impl fmt::Debug for AxiomContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AxiomContext")
            .field("socket", &self.client.socket())
            .finish_non_exhaustive()
    }
}

/// Builds an [`AxiomContext`]; whatever is not given is taken from the environment.
#[derive(Debug, Default)]
#[must_use]
pub struct Builder {
    settings: Settings,
}

impl Builder {
    /// The sidecar's socket, instead of `AX_SECRETS_SOCKET`.
    pub fn socket(mut self, path: impl Into<PathBuf>) -> Self {
        self.settings.socket = Some(path.into());
        self
    }

    /// The client token, instead of `AX_SECRETS_TOKEN`; the empty string sends no token.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        let token: String = token.into();
        self.settings.token = Some((!token.is_empty()).then(|| SecretText::owned(token)));
        self
    }

    /// How long to wait for each read and write on the socket (default: no limit). A call
    /// that times out fails with [`Reason::TimedOut`](crate::Reason::TimedOut) and drops the
    /// connection.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeout = Some(timeout);
        self
    }

    /// The context. Nothing is read or connected until the first call.
    pub fn build(self) -> AxiomContext {
        AxiomContext {
            client: Client::new(self.settings),
        }
    }
}
