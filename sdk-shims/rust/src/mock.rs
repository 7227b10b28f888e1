//! [`MockAxiomContext`]: the secrets API over an in-memory map, for node authors' unit tests.

use std::fmt;
use std::sync::OnceLock;

use ax_protocol::SecretText;
use ax_protocol::name::{NameError, validate_name};
use ax_protocol::template::render_into;

use crate::api::{Context, Redacted, Rendered, SecretInfo, Secrets};
use crate::error::Error;
use crate::redact::Redactor;

/// A stand-in for [`AxiomContext`](crate::AxiomContext) in tests: no sidecar, no socket.
///
/// It answers exactly as a sidecar serving those values would: the same name rule, the same
/// template rules and the same redaction forms and matching (leftmost-longest). [`list`]
/// reports every secret as version 1, updated at 0. It never fails, so its
/// [`get`] never panics. Values are wiped from memory when it is dropped.
///
/// ```
/// use ax_secrets::{Context, MockAxiomContext};
///
/// // Node code, written against the trait both contexts implement.
/// fn signed(ax: &dyn Context, body: &str) -> String {
///     let (signature, found) = ax.secrets().get("GREETER_SIGNATURE");
///     assert!(found, "GREETER_SIGNATURE is not set");
///     format!("{body}\n-- {signature}")
/// }
///
/// let ax = MockAxiomContext::from_map([("GREETER_SIGNATURE", "test-sig")]);
/// assert_eq!(signed(&ax, "hello"), "hello\n-- test-sig");
///
/// let ax = MockAxiomContext::new().with_secret("A", "1").with_secrets([("B", "2")]);
/// assert!(ax.secrets().exists("B")?);
/// # Ok::<(), ax_secrets::Error>(())
/// ```
///
/// [`list`]: Secrets::list
/// [`get`]: Secrets::get
#[derive(Default)]
pub struct MockAxiomContext {
    secrets: MockSecrets,
}

impl MockAxiomContext {
    /// A mock with no secrets.
    pub fn new() -> Self {
        Self::default()
    }

    /// A mock serving `secrets`, pairs of name and value (a `HashMap`, a `BTreeMap`, an array of
    /// tuples...). A name given twice keeps its last value.
    ///
    /// # Panics
    ///
    /// When a name is not a valid secret name (`^[A-Za-z][A-Za-z0-9_]{0,127}$`): the sidecar
    /// could never serve it. The message says what is wrong, not the name, which may be a
    /// value given by mistake. [`try_from_map`](Self::try_from_map) returns the error instead.
    pub fn from_map<I, N, V>(secrets: I) -> Self
    where
        I: IntoIterator<Item = (N, V)>,
        N: Into<String>,
        V: Into<String>,
    {
        Self::new().with_secrets(secrets)
    }

    /// As [`from_map`](Self::from_map), without panicking.
    ///
    /// ```
    /// use ax_secrets::{MockAxiomContext, NameError};
    ///
    /// let refused = MockAxiomContext::try_from_map([("DB-URL", "x")]);
    /// assert!(matches!(refused, Err(NameError::BadCharacter { at: 2 })));
    /// ```
    ///
    /// # Errors
    ///
    /// The first name that is not a valid secret name, and why.
    pub fn try_from_map<I, N, V>(secrets: I) -> Result<Self, NameError>
    where
        I: IntoIterator<Item = (N, V)>,
        N: Into<String>,
        V: Into<String>,
    {
        let mut mock = Self::new();
        for (name, value) in secrets {
            mock.secrets.insert(name.into(), value.into())?;
        }
        Ok(mock)
    }

    /// This mock with one more secret (replacing one of the same name).
    ///
    /// # Panics
    ///
    /// As [`from_map`](Self::from_map).
    pub fn with_secret(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.with_secrets([(name, value)])
    }

    /// This mock with more secrets (replacing those of the same names).
    ///
    /// # Panics
    ///
    /// As [`from_map`](Self::from_map).
    pub fn with_secrets<I, N, V>(mut self, secrets: I) -> Self
    where
        I: IntoIterator<Item = (N, V)>,
        N: Into<String>,
        V: Into<String>,
    {
        for (name, value) in secrets {
            if let Err(problem) = self.secrets.insert(name.into(), value.into()) {
                // Test set-up that cannot work: fail loudly, as a test helper should.
                #[allow(clippy::panic)]
                {
                    panic!(
                        "MockAxiomContext: a key is not a secret name ({problem}); the key is not shown, as it may be a value"
                    );
                }
            }
        }
        self
    }

    /// The mock's secrets.
    pub fn secrets(&self) -> &dyn Secrets {
        &self.secrets
    }
}

impl Context for MockAxiomContext {
    fn secrets(&self) -> &dyn Secrets {
        &self.secrets
    }
}

impl fmt::Debug for MockAxiomContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockAxiomContext")
            .field("names", &self.secrets.names().collect::<Vec<_>>())
            .finish()
    }
}

/// `ax.secrets()` of the mock: names and values sorted by name, unique.
#[derive(Default)]
struct MockSecrets {
    entries: Vec<(String, SecretText<'static>)>,
    /// Built on the first `redact`, like the sidecar's.
    redactor: OnceLock<Redactor>,
}

impl MockSecrets {
    fn insert(&mut self, name: String, value: String) -> Result<(), NameError> {
        let value = SecretText::owned(value);
        validate_name(&name)?;
        match self.position(&name) {
            Ok(at) => self.entries[at].1 = value,
            Err(at) => self.entries.insert(at, (name, value)),
        }
        self.redactor = OnceLock::new();
        Ok(())
    }

    fn position(&self, name: &str) -> Result<usize, usize> {
        self.entries
            .binary_search_by(|(known, _)| known.as_str().cmp(name))
    }

    fn value(&self, name: &str) -> Option<&str> {
        let at = self.position(name).ok()?;
        Some(self.entries[at].1.expose())
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(name, _)| name.as_str())
    }
}

impl Secrets for MockSecrets {
    fn try_get(&self, name: &str) -> Result<Option<String>, Error> {
        Ok(self.value(name).map(str::to_owned))
    }

    fn list(&self) -> Result<Vec<SecretInfo>, Error> {
        Ok(self
            .names()
            .map(|name| SecretInfo {
                name: name.to_owned(),
                version: 1,
                updated_at: 0,
            })
            .collect())
    }

    fn render(&self, template: &str) -> Result<Rendered, Error> {
        let mut text = String::new();
        let mut missing = Vec::new();
        render_into(template, |name| self.value(name), &mut text, &mut missing);
        Ok(Rendered {
            text,
            missing: missing.into_iter().map(str::to_owned).collect(),
        })
    }

    fn redact(&self, text: &str) -> Result<Redacted, Error> {
        let redactor = self
            .redactor
            .get_or_init(|| Redactor::new(self.entries.iter().map(|(_, v)| v.expose())));
        let (text, found) = redactor.redact(text);
        let found = found
            .into_iter()
            .map(|at| self.entries[at].0.clone())
            .collect();
        Ok(Redacted { text, found })
    }
}

impl fmt::Debug for MockSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockSecrets")
            .field("names", &self.names().collect::<Vec<_>>())
            .finish()
    }
}
