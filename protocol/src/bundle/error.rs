//! Why a bundle was refused. Allocation-free, and never carries a value or key material.

use core::fmt;

use crate::error::WireError;
use crate::name::NameError;

/// Which list of a bundle an error points into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretList {
    /// `Bundle::secrets`.
    Secrets,
    /// `Bundle::overrides`.
    Overrides,
}

/// Why a bundle could not be sealed or opened. Every variant means "refuse and exit"
/// for a sidecar (exit code 65); none carries a value.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BundleError {
    /// Shorter than the smallest possible envelope, or cut inside a field.
    Truncated,
    /// Does not start with the expected magic line (not a bundle, or another version).
    BadMagic,
    /// The announced ciphertext length does not match the bytes present.
    LengthMismatch,
    /// The execution id is empty, too long or has a character outside `A-Za-z0-9._:-`.
    InvalidExecutionId,
    /// Sealed for another execution than the one opening it.
    WrongExecution,
    /// The Ed25519 signature verifies under none of the pinned control-plane keys.
    BadSignature,
    /// The HPKE encapsulated key is a low-order point (the X25519 result would be all zero).
    BadEncapsulatedKey,
    /// AEAD decryption failed: wrong key, or the ciphertext or its header was altered.
    DecryptionFailed,
    /// The plaintext is not a well-formed bundle.
    Malformed(WireError),
    /// Tenant empty, or tenant, environment or config longer than 128 bytes.
    InvalidLabel,
    /// `expires_at` is not after `issued_at`.
    InvalidLifetime,
    /// More secrets than a bundle may carry.
    TooManySecrets {
        /// How many it carries.
        count: usize,
    },
    /// A secret name breaks the name rule.
    InvalidName {
        /// The list it is in.
        list: SecretList,
        /// Its position in the list.
        index: usize,
        /// What is wrong with it.
        reason: NameError,
    },
    /// A name appears twice in the same list.
    DuplicateName {
        /// The list it is in.
        list: SecretList,
        /// Position of the second occurrence.
        index: usize,
    },
    /// A value is longer than 1 MiB.
    ValueTooLarge {
        /// The list it is in.
        list: SecretList,
        /// Its position in the list.
        index: usize,
        /// Its length in bytes.
        len: usize,
    },
    /// Issued further in the future than the allowed clock skew.
    NotYetValid {
        /// The bundle's `issued_at`.
        issued_at: u64,
        /// The opener's clock.
        now: u64,
    },
    /// Past its `expires_at`.
    Expired {
        /// The bundle's `expires_at`.
        expires_at: u64,
        /// The opener's clock.
        now: u64,
    },
    /// A key of the wrong length (a local key must be 32 bytes, a public key 32 bytes).
    KeyLength {
        /// The length given.
        len: usize,
    },
    /// The sealed bundle would exceed the size limit.
    TooLarge {
        /// Its length in bytes.
        len: usize,
    },
    /// The random number generator or the crypto library failed.
    Internal,
}

impl fmt::Display for SecretList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Secrets => "secrets",
            Self::Overrides => "overrides",
        })
    }
}

impl fmt::Display for BundleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("bundle is truncated"),
            Self::BadMagic => f.write_str("not an ax-secrets bundle of a supported version"),
            Self::LengthMismatch => f.write_str("bundle length does not match its header"),
            Self::InvalidExecutionId => f.write_str(
                "execution id must be 1 to 128 bytes of A-Z, a-z, 0-9, '.', '_', ':' or '-', \
                 starting with a letter or a digit",
            ),
            Self::WrongExecution => f.write_str("bundle was sealed for another execution"),
            Self::BadSignature => {
                f.write_str("bundle signature does not verify under any of the control-plane keys")
            }
            Self::BadEncapsulatedKey => f.write_str("bundle carries a low-order HPKE key"),
            Self::DecryptionFailed => {
                f.write_str("bundle does not decrypt (wrong key, or altered in transit)")
            }
            Self::Malformed(err) => write!(f, "bundle plaintext is malformed: {err}"),
            Self::InvalidLabel => f.write_str(
                "tenant must be 1 to 128 bytes; environment and config at most 128 bytes",
            ),
            Self::InvalidLifetime => f.write_str("bundle expires_at must be after issued_at"),
            Self::TooManySecrets { count } => write!(
                f,
                "bundle carries {count} secrets; at most {} are allowed",
                crate::limits::MAX_BUNDLE_SECRETS
            ),
            Self::InvalidName {
                list,
                index,
                reason,
            } => {
                write!(f, "{list}[{index}] has an invalid name: {reason}")
            }
            Self::DuplicateName { list, index } => {
                write!(f, "{list}[{index}] repeats a name already in {list}")
            }
            Self::ValueTooLarge { list, index, len } => write!(
                f,
                "{list}[{index}] has a value of {len} bytes; at most {} are allowed",
                crate::limits::MAX_VALUE_LEN
            ),
            Self::NotYetValid { issued_at, now } => write!(
                f,
                "bundle is issued at {issued_at}, more than {}s after now ({now}): check the clocks",
                crate::limits::MAX_CLOCK_SKEW_SECS
            ),
            Self::Expired { expires_at, now } => {
                write!(f, "bundle expired at {expires_at} (now {now})")
            }
            Self::KeyLength { len } => write!(f, "key must be exactly 32 bytes, not {len}"),
            Self::TooLarge { len } => write!(
                f,
                "sealed bundle of {len} bytes exceeds the limit of {} bytes",
                crate::limits::MAX_BUNDLE_LEN
            ),
            Self::Internal => f.write_str("cryptographic operation failed unexpectedly"),
        }
    }
}

impl std::error::Error for BundleError {}
