//! The interface node code programs against, shared by the sidecar client and the mock, and
//! what its calls return.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use zeroize::Zeroize;

use crate::error::{Error, GET_PANIC_HINT};

/// The execution context node code receives as `ax`: [`AxiomContext`](crate::AxiomContext)
/// in production, [`MockAxiomContext`](crate::MockAxiomContext) in tests.
///
/// Write node code against `&dyn Context` (or `&impl Context`) and it runs on either:
///
/// ```
/// use ax_secrets::{Context, MockAxiomContext};
///
/// fn authorization(ax: &dyn Context) -> Option<String> {
///     let (key, found) = ax.secrets().get("OPENAI_API_KEY");
///     found.then(|| format!("Bearer {key}"))
/// }
///
/// let ax = MockAxiomContext::from_map([("OPENAI_API_KEY", "sk-test")]);
/// assert_eq!(authorization(&ax).as_deref(), Some("Bearer sk-test"));
/// assert_eq!(authorization(&MockAxiomContext::new()), None);
/// ```
pub trait Context: Send + Sync {
    /// The execution's secrets.
    fn secrets(&self) -> &dyn Secrets;
}

/// `ax.secrets()`: read the execution's secrets by name.
///
/// Names follow `^[A-Za-z][A-Za-z0-9_]{0,127}$` and are case-sensitive; a string that is not a
/// valid name is simply not found (and the sidecar client never sends it: it may be a value
/// pasted by mistake). Every method but [`get`](Self::get) reports a failure to reach the
/// sidecar as an [`Error`]; a missing secret is never an error.
pub trait Secrets: Send + Sync + fmt::Debug {
    /// The secret's value: `Ok(Some(value))`, or `Ok(None)` when there is no such secret.
    ///
    /// An existing secret whose value is empty is `Ok(Some(String::new()))`.
    ///
    /// # Errors
    ///
    /// Any [`Error`] but [`Error::TooLarge`]: the sidecar could not be asked.
    ///
    /// ```
    /// use ax_secrets::MockAxiomContext;
    ///
    /// let ax = MockAxiomContext::from_map([("DB_URL", "postgres://db/app"), ("EMPTY", "")]);
    /// assert_eq!(ax.secrets().try_get("DB_URL")?.as_deref(), Some("postgres://db/app"));
    /// assert_eq!(ax.secrets().try_get("EMPTY")?.as_deref(), Some(""));
    /// assert_eq!(ax.secrets().try_get("NOPE")?, None);
    /// # Ok::<(), ax_secrets::Error>(())
    /// ```
    fn try_get(&self, name: &str) -> Result<Option<String>, Error>;

    /// The secret's value and whether it exists: `(value, true)`, or `("", false)` when there
    /// is no such secret. An empty value is found: `("", true)`.
    ///
    /// ```
    /// use ax_secrets::MockAxiomContext;
    ///
    /// let ax = MockAxiomContext::from_map([("GREETER_SIGNATURE", "test-sig")]);
    /// assert_eq!(ax.secrets().get("GREETER_SIGNATURE"), ("test-sig".to_owned(), true));
    /// assert_eq!(ax.secrets().get("MISSING"), (String::new(), false));
    /// assert_eq!(ax.secrets().get("not a name"), (String::new(), false));
    /// ```
    ///
    /// # Panics
    ///
    /// When the sidecar cannot be asked (not configured, not reachable, token refused, the
    /// connection broke, a malformed answer): the panic message is the [`Error`]'s, which
    /// names the socket and never holds a value. A transport failure is never reported as
    /// "not found"; call [`try_get`](Self::try_get) to handle it instead. The mock never
    /// panics.
    fn get(&self, name: &str) -> (String, bool) {
        match self.try_get(name) {
            Ok(Some(value)) => (value, true),
            Ok(None) => (String::new(), false),
            // The call shape every shim shares, `(value, found)`, has no room for an error, and a transport failure
            // must not pass for "not found": panicking is the Rust form of Python's raise.
            #[allow(clippy::panic)]
            Err(error) => panic!("{error} {GET_PANIC_HINT}"),
        }
    }

    /// Whether a secret of that name exists (asked with a `Get`; the value is wiped at once).
    ///
    /// # Errors
    ///
    /// As [`try_get`](Self::try_get).
    fn exists(&self, name: &str) -> Result<bool, Error> {
        Ok(self
            .try_get(name)?
            .map(|mut value| value.zeroize())
            .is_some())
    }

    /// The metadata of every secret, sorted by name (bytewise); never a value, and nothing that
    /// says whether a value is an override.
    ///
    /// ```
    /// use ax_secrets::MockAxiomContext;
    ///
    /// let ax = MockAxiomContext::from_map([("B", "2"), ("A", "1")]);
    /// let listed = ax.secrets().list()?;
    /// let names: Vec<&str> = listed.iter().map(|info| info.name.as_str()).collect();
    /// assert_eq!(names, ["A", "B"]);
    /// assert_eq!((listed[0].version, listed[0].updated_at), (1, 0));
    /// # Ok::<(), ax_secrets::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`try_get`](Self::try_get).
    fn list(&self) -> Result<Vec<SecretInfo>, Error>;

    /// Expands each `{{secrets.NAME}}` reference in `template` (whitespace allowed inside the
    /// braces). A reference to a missing secret stays exactly as written and its name is listed
    /// once in [`Rendered::missing`], in order of first appearance. Values are inserted as they
    /// are, never expanded again.
    ///
    /// ```
    /// use ax_secrets::MockAxiomContext;
    ///
    /// let ax = MockAxiomContext::from_map([("DB_HOST", "db.internal")]);
    /// let rendered = ax.secrets().render("{{ secrets.DB_HOST }}:{{secrets.DB_PORT}}")?;
    /// assert_eq!(rendered.text, "db.internal:{{secrets.DB_PORT}}");
    /// assert_eq!(rendered.missing, ["DB_PORT"]);
    /// # Ok::<(), ax_secrets::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`try_get`](Self::try_get), and [`Error::TooLarge`] when the template makes a
    /// request over 1 MiB (nothing is sent).
    fn render(&self, template: &str) -> Result<Rendered, Error>;

    /// Replaces every secret value in `text`, and the forms it commonly leaks in (base64 and
    /// base64url, padded or not; JSON-string escaped; percent-encoded), by `***`.
    /// [`Redacted::found`] names the secrets found, sorted, each once. Empty values match
    /// nothing.
    ///
    /// ```
    /// use ax_secrets::MockAxiomContext;
    ///
    /// let ax = MockAxiomContext::from_map([("TOKEN", "s3cr3t/+")]);
    /// let redacted = ax.secrets().redact("t=s3cr3t/+ url=s3cr3t%2F%2B b64=czNjcjN0Lys=")?;
    /// assert_eq!(redacted.text, "t=*** url=*** b64=***");
    /// assert_eq!(redacted.found, ["TOKEN"]);
    /// # Ok::<(), ax_secrets::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`render`](Self::render).
    fn redact(&self, text: &str) -> Result<Redacted, Error>;
}

/// Metadata of one secret; never its value.
///
/// An override and a tenant value look the same here: node code cannot tell them apart (the
/// console shows overrides to operators).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SecretInfo {
    /// The secret's name.
    pub name: String,
    /// Counts replacements in the console (1 for the first value).
    pub version: u32,
    /// When the current value was set, in seconds since the Unix epoch (UTC).
    pub updated_at: u64,
}

impl SecretInfo {
    /// [`updated_at`](Self::updated_at) as a point in time.
    pub fn updated(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.updated_at)
    }
}

/// A rendered template. Its `Debug` leaves the text out: it holds secret values.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    /// The template with every found reference replaced by its value.
    pub text: String,
    /// The names referenced but not found, each once, in order of first appearance.
    pub missing: Vec<String>,
}

impl fmt::Debug for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rendered")
            .field("text", &format_args!("[redacted]"))
            .field("missing", &self.missing)
            .finish()
    }
}

/// A redacted text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Redacted {
    /// The text with every value, and every encoded form of one, replaced by `***`.
    pub text: String,
    /// The names of the secrets found, sorted (bytewise), each once.
    pub found: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_a_rendered_template_leaves_the_text_out() {
        let rendered = Rendered {
            text: "Bearer sk-live-1".into(),
            missing: vec!["M".into()],
        };
        let shown = format!("{rendered:?}");
        assert!(!shown.contains("sk-live"), "{shown}");
        assert!(shown.contains("\"M\""), "{shown}");
    }

    #[test]
    fn updated_is_seconds_after_the_epoch() {
        let info = SecretInfo {
            name: "A".into(),
            version: 1,
            updated_at: 60,
        };
        assert_eq!(info.updated(), UNIX_EPOCH + Duration::from_secs(60));
    }
}
