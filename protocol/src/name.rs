//! The secret-name rule: `^[A-Za-z][A-Za-z0-9_]{0,127}$`, case-sensitive, ASCII only.
//!
//! Names are checked where they enter the system (sealing a bundle, opening one); a request for
//! an invalid name is simply "not found", so the sidecar needs only [`is_valid_name`] there.

use core::fmt;

use crate::limits::MAX_NAME_LEN;

/// Why a string is not a secret name. Carries positions, never the text.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameError {
    /// The name is empty.
    Empty,
    /// The name is longer than 128 bytes.
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The first character is not an ASCII letter.
    BadFirstCharacter,
    /// A character other than an ASCII letter, digit or `_`.
    BadCharacter {
        /// Byte offset of the offending character.
        at: usize,
    },
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("a secret name must not be empty"),
            Self::TooLong { len } => {
                write!(
                    f,
                    "a secret name must be 1 to {MAX_NAME_LEN} bytes long, not {len}"
                )
            }
            Self::BadFirstCharacter => {
                f.write_str("a secret name must start with a letter A-Z or a-z")
            }
            Self::BadCharacter { at } => write!(
                f,
                "a secret name may only hold letters, digits and '_' (bad character at byte {at})"
            ),
        }
    }
}

impl std::error::Error for NameError {}

/// Checks a secret name, saying what is wrong with it.
pub fn validate_name(name: &str) -> Result<(), NameError> {
    let bytes = name.as_bytes();
    let Some(first) = bytes.first() else {
        return Err(NameError::Empty);
    };
    if bytes.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong { len: bytes.len() });
    }
    if !first.is_ascii_alphabetic() {
        return Err(NameError::BadFirstCharacter);
    }
    match bytes.iter().position(|&b| !is_name_byte(b)) {
        Some(at) => Err(NameError::BadCharacter { at }),
        None => Ok(()),
    }
}

/// Whether `name` is a valid secret name.
pub fn is_valid_name(name: &str) -> bool {
    validate_name(name).is_ok()
}

/// Whether `b` may appear after the first character of a name.
pub(crate) const fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_shapes() {
        for name in [
            "A",
            "z",
            "OPENAI_API_KEY",
            "db_url_2",
            "a_",
            &"N".repeat(128),
        ] {
            assert_eq!(validate_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn rejects_each_kind_of_bad_name() {
        assert_eq!(validate_name(""), Err(NameError::Empty));
        assert_eq!(
            validate_name(&"N".repeat(129)),
            Err(NameError::TooLong { len: 129 })
        );
        assert_eq!(validate_name("_X"), Err(NameError::BadFirstCharacter));
        assert_eq!(validate_name("1X"), Err(NameError::BadFirstCharacter));
        assert_eq!(validate_name("A-B"), Err(NameError::BadCharacter { at: 1 }));
        assert_eq!(validate_name("AB "), Err(NameError::BadCharacter { at: 2 }));
        assert_eq!(validate_name("Ä"), Err(NameError::BadFirstCharacter));
        assert_eq!(validate_name("AÄ"), Err(NameError::BadCharacter { at: 1 }));
    }
}
