//! The sealed bundle: what a control plane hands one execution's sidecar.
//!
//! - [`Bundle`]: the plaintext (tenant, execution, environment, validity window, secrets, config
//!   overrides), postcard-encoded, and the checks every opened bundle must pass.
//! - [`hpke`]: RFC 9180 base mode, DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM, on ring.
//! - [`envelope`]: the signed envelope, [`seal`] (control plane) and [`open_in_place`] (sidecar).
//! - [`local`]: the offline sealed file, AES-256-GCM under a 32-byte key.
//!
//! Opening decrypts in place, so a sidecar that copies the envelope into locked memory first
//! never has the plaintext anywhere else, and [`Bundle`] borrows every value from that buffer.

pub mod envelope;
mod error;
pub mod hpke;
pub mod local;

use std::borrow::Cow;
use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::frame::decode;
use crate::limits::{MAX_BUNDLE_SECRETS, MAX_CLOCK_SKEW_SECS, MAX_EXECUTION_ID_LEN, MAX_VALUE_LEN};
use crate::name::validate_name;
use crate::secret::SecretText;

pub use envelope::{open, open_in_place, seal};
pub use error::{BundleError, SecretList};

/// Longest tenant, environment or config label in bytes.
pub const MAX_LABEL_LEN: usize = 128;

/// The plaintext of a sealed bundle. Postcard-encoded, fields in this order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle<'a> {
    /// The tenant whose secrets these are.
    #[serde(borrow)]
    pub tenant: Cow<'a, str>,
    /// The execution this bundle was sealed for.
    #[serde(borrow)]
    pub execution_id: Cow<'a, str>,
    /// The environment (e.g. `production`) the execution runs in.
    #[serde(borrow)]
    pub environment: Cow<'a, str>,
    /// The flow config the execution was invoked with, if any.
    #[serde(borrow)]
    pub config: Option<Cow<'a, str>>,
    /// When the control plane sealed it, seconds since the Unix epoch.
    pub issued_at: u64,
    /// After this instant (seconds since the epoch) the bundle must not be opened.
    pub expires_at: u64,
    /// The tenant's secrets, a snapshot taken when the execution started.
    #[serde(borrow)]
    pub secrets: Vec<BundleSecret<'a>>,
    /// The config's overrides; each replaces the tenant secret of the same name (or adds one).
    #[serde(borrow)]
    pub overrides: Vec<BundleSecret<'a>>,
}

/// One secret in a bundle. `Debug` never shows the value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleSecret<'a> {
    /// The name.
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    /// The value.
    #[serde(borrow)]
    pub value: SecretText<'a>,
    /// Increases with each replacement in the console (1 for the first value).
    pub version: u32,
    /// When the secret was first created, seconds since the epoch.
    pub created_at: u64,
    /// When the current value was set, seconds since the epoch.
    pub updated_at: u64,
}

impl Bundle<'_> {
    /// Checks everything about the bundle that does not depend on the clock: the execution id
    /// and labels, the validity window's shape, every name, no duplicates, value sizes.
    pub fn check_contents(&self) -> Result<(), BundleError> {
        validate_execution_id(&self.execution_id)?;
        let labels = [
            Some(&self.tenant),
            Some(&self.environment),
            self.config.as_ref(),
        ];
        if self.tenant.is_empty() || labels.iter().flatten().any(|l| l.len() > MAX_LABEL_LEN) {
            return Err(BundleError::InvalidLabel);
        }
        if self.expires_at <= self.issued_at {
            return Err(BundleError::InvalidLifetime);
        }
        let count = self.secrets.len().saturating_add(self.overrides.len());
        if count > MAX_BUNDLE_SECRETS {
            return Err(BundleError::TooManySecrets { count });
        }
        check_list(&self.secrets, SecretList::Secrets)?;
        check_list(&self.overrides, SecretList::Overrides)
    }

    /// Checks the validity window against `now` (seconds since the epoch), allowing
    /// [`MAX_CLOCK_SKEW_SECS`] of clock difference on the `issued_at` side.
    pub fn check_time(&self, now: u64) -> Result<(), BundleError> {
        if self.issued_at > now.saturating_add(MAX_CLOCK_SKEW_SECS) {
            return Err(BundleError::NotYetValid {
                issued_at: self.issued_at,
                now,
            });
        }
        if now >= self.expires_at {
            return Err(BundleError::Expired {
                expires_at: self.expires_at,
                now,
            });
        }
        Ok(())
    }

    /// Detaches the bundle from the buffer it was opened in. Owned values are wiped on drop.
    pub fn into_owned(self) -> Bundle<'static> {
        let own = |s: Cow<'_, str>| Cow::Owned(s.into_owned());
        let own_secrets = |list: Vec<BundleSecret<'_>>| -> Vec<BundleSecret<'static>> {
            list.into_iter()
                .map(|s| BundleSecret {
                    name: Cow::Owned(s.name.into_owned()),
                    value: s.value.into_owned(),
                    version: s.version,
                    created_at: s.created_at,
                    updated_at: s.updated_at,
                })
                .collect()
        };
        Bundle {
            tenant: own(self.tenant),
            execution_id: own(self.execution_id),
            environment: own(self.environment),
            config: self.config.map(own),
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            secrets: own_secrets(self.secrets),
            overrides: own_secrets(self.overrides),
        }
    }
}

fn check_list(list: &[BundleSecret<'_>], which: SecretList) -> Result<(), BundleError> {
    let mut seen = HashSet::with_capacity(list.len());
    for (index, secret) in list.iter().enumerate() {
        validate_name(&secret.name).map_err(|reason| BundleError::InvalidName {
            list: which,
            index,
            reason,
        })?;
        if !seen.insert(secret.name.as_ref()) {
            return Err(BundleError::DuplicateName { list: which, index });
        }
        if secret.value.len() > MAX_VALUE_LEN {
            return Err(BundleError::ValueTooLarge {
                list: which,
                index,
                len: secret.value.len(),
            });
        }
    }
    Ok(())
}

/// Checks an execution id: 1 to 128 bytes of `A-Z a-z 0-9 . _ : -`, the first a letter or a
/// digit, so it can stand in a URL path segment and a log line as it is (a leading letter or
/// digit rules out the dot segments `.` and `..`, which a URL library would resolve away).
pub fn validate_execution_id(id: &str) -> Result<(), BundleError> {
    let ok_byte = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-');
    let ok_first = id.as_bytes().first().is_some_and(u8::is_ascii_alphanumeric);
    if !ok_first || id.len() > MAX_EXECUTION_ID_LEN || !id.as_bytes().iter().all(ok_byte) {
        return Err(BundleError::InvalidExecutionId);
    }
    Ok(())
}

/// Decodes a plaintext bundle (exactly one postcard message) and checks its contents and time.
fn decode_and_check(plaintext: &[u8], now: u64) -> Result<Bundle<'_>, BundleError> {
    let bundle: Bundle<'_> = decode(plaintext).map_err(BundleError::Malformed)?;
    bundle.check_contents()?;
    bundle.check_time(now)?;
    Ok(bundle)
}

/// The postcard encoding of `bundle`, appended to `out`, which the caller sized with
/// [`encoded_len`]. The writer refuses to grow `out` beyond its capacity: a reallocation would
/// leave a plaintext copy behind in freed memory.
fn encode_into(bundle: &Bundle<'_>, out: &mut Vec<u8>) -> Result<(), BundleError> {
    struct NoGrow<'v>(&'v mut Vec<u8>);
    impl postcard::ser_flavors::Flavor for NoGrow<'_> {
        type Output = ();
        fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
            if self.0.capacity() - self.0.len() < data.len() {
                return Err(postcard::Error::SerializeBufferFull);
            }
            self.0.extend_from_slice(data);
            Ok(())
        }
        fn try_push(&mut self, data: u8) -> postcard::Result<()> {
            self.try_extend(&[data])
        }
        fn finalize(self) -> postcard::Result<()> {
            Ok(())
        }
    }
    postcard::serialize_with_flavor(bundle, NoGrow(out)).map_err(|_| BundleError::Internal)
}

/// Length in bytes of the postcard encoding of `bundle`.
fn encoded_len(bundle: &Bundle<'_>) -> Result<usize, BundleError> {
    postcard::experimental::serialized_size(bundle).map_err(|_| BundleError::Internal)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small valid bundle for tests across the bundle modules.
    pub(crate) fn sample(execution_id: &str) -> Bundle<'static> {
        let secret = |name: &str, value: &str, version| BundleSecret {
            name: Cow::Owned(name.to_owned()),
            value: SecretText::owned(value.to_owned()),
            version,
            created_at: 1_700_000_000,
            updated_at: 1_700_000_500,
        };
        Bundle {
            tenant: Cow::Borrowed("acme"),
            execution_id: Cow::Owned(execution_id.to_owned()),
            environment: Cow::Borrowed("production"),
            config: Some(Cow::Borrowed("nightly")),
            issued_at: 1_800_000_000,
            expires_at: 1_800_003_600,
            secrets: vec![
                secret("OPENAI_API_KEY", "sk-test-123", 3),
                secret("EMPTY", "", 1),
                secret("GREETING", "grüß dich 🌍", 1),
            ],
            overrides: vec![secret("OPENAI_API_KEY", "sk-override", 1)],
        }
    }

    #[test]
    fn accepts_the_sample() {
        let bundle = sample("exec-1");
        bundle.check_contents().unwrap();
        bundle.check_time(1_800_000_000).unwrap();
    }

    #[test]
    fn debug_output_names_secrets_but_never_shows_values() {
        let text = format!("{:?}", sample("exec-1"));
        assert!(text.contains("OPENAI_API_KEY"));
        for value in ["sk-test-123", "sk-override", "grüß dich"] {
            assert!(!text.contains(value), "{value} leaked into Debug");
        }
    }

    #[test]
    fn rejects_duplicates_bad_names_and_big_values() {
        let mut bundle = sample("exec-1");
        bundle.secrets[1].name = Cow::Borrowed("OPENAI_API_KEY");
        assert_eq!(
            bundle.check_contents(),
            Err(BundleError::DuplicateName {
                list: SecretList::Secrets,
                index: 1
            })
        );
        let mut bundle = sample("exec-1");
        bundle.overrides[0].name = Cow::Borrowed("9LIVES");
        assert!(matches!(
            bundle.check_contents(),
            Err(BundleError::InvalidName {
                list: SecretList::Overrides,
                index: 0,
                ..
            })
        ));
        let mut bundle = sample("exec-1");
        bundle.secrets[2].value = SecretText::owned("v".repeat(MAX_VALUE_LEN + 1));
        assert!(matches!(
            bundle.check_contents(),
            Err(BundleError::ValueTooLarge { index: 2, .. })
        ));
        let mut bundle = sample("exec-1");
        bundle.secrets[2].value = SecretText::owned("v".repeat(MAX_VALUE_LEN));
        assert_eq!(bundle.check_contents(), Ok(()));
    }

    #[test]
    fn enforces_the_validity_window() {
        let bundle = sample("exec-1");
        let skew = MAX_CLOCK_SKEW_SECS;
        assert!(bundle.check_time(bundle.issued_at - skew).is_ok());
        assert!(matches!(
            bundle.check_time(bundle.issued_at - skew - 1),
            Err(BundleError::NotYetValid { .. })
        ));
        assert!(bundle.check_time(bundle.expires_at - 1).is_ok());
        assert!(matches!(
            bundle.check_time(bundle.expires_at),
            Err(BundleError::Expired { .. })
        ));
        let mut bundle = sample("exec-1");
        bundle.expires_at = bundle.issued_at;
        assert_eq!(bundle.check_contents(), Err(BundleError::InvalidLifetime));
    }

    #[test]
    fn execution_ids_are_url_safe() {
        for ok in ["e", "exec-1", "0f8a.b:c_d", &"x".repeat(128)] {
            assert_eq!(validate_execution_id(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "a/b",
            "a b",
            "é",
            &"x".repeat(129),
            ".",
            "..",
            ".x",
            "-x",
            "_x",
            ":x",
        ] {
            assert_eq!(
                validate_execution_id(bad),
                Err(BundleError::InvalidExecutionId),
                "{bad}"
            );
        }
    }
}
