//! [`SecretText`]: text that may hold a secret value.
//!
//! Every message field that can carry a value (a secret, a client token, a rendered template, a
//! text sent for redaction) has this type, so that a derived `Debug` on a message, a log line or a
//! panic can never print it, and an owned copy is wiped when dropped.

use core::fmt;
use std::borrow::Cow;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use zeroize::Zeroize;

/// Text that may hold a secret: borrowed (from a locked arena or a received frame) or owned.
///
/// `Debug` prints `[redacted]`; there is deliberately no `Display`. Read it with
/// [`expose`](Self::expose). An owned value is zeroed on drop. `==` is an ordinary comparison
/// (for tests and lookups); compare credentials such as client tokens in constant time instead.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretText<'a>(Cow<'a, str>);

impl<'a> SecretText<'a> {
    /// Wraps a borrowed value without copying it.
    pub const fn borrowed(value: &'a str) -> Self {
        Self(Cow::Borrowed(value))
    }

    /// Wraps an owned value, which will be wiped on drop.
    pub fn owned(value: String) -> Self {
        Self(Cow::Owned(value))
    }

    /// The value. Every call site is a place a secret leaves this wrapper: keep them few.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Length of the value in bytes (not secret: it is visible on the wire anyway).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the value is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Detaches from the buffer it borrows from, copying if needed.
    pub fn into_owned(self) -> SecretText<'static> {
        SecretText::owned(self.into_string())
    }

    /// Hands the owned value to the caller, who becomes responsible for wiping it.
    pub fn into_string(mut self) -> String {
        match &mut self.0 {
            Cow::Borrowed(s) => (*s).to_owned(),
            Cow::Owned(s) => core::mem::take(s),
        }
    }
}

impl Drop for SecretText<'_> {
    fn drop(&mut self) {
        if let Cow::Owned(s) = &mut self.0 {
            s.zeroize();
        }
    }
}

impl fmt::Debug for SecretText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Serialize for SecretText<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for SecretText<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;

        impl<'de> Visitor<'de> for TextVisitor {
            type Value = SecretText<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a UTF-8 string")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(SecretText::borrowed(v))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(SecretText::owned(v.to_owned()))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(SecretText::owned(v))
            }
        }

        deserializer.deserialize_str(TextVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let text = SecretText::borrowed("hunter2");
        assert_eq!(format!("{text:?}"), "[redacted]");
        assert_eq!(
            format!("{:?}", Some(SecretText::owned("hunter2".into()))),
            "Some([redacted])"
        );
    }

    #[test]
    fn decoding_borrows_from_the_buffer() {
        let bytes = postcard::to_allocvec(&SecretText::borrowed("abc")).unwrap();
        let text: SecretText<'_> = postcard::from_bytes(&bytes).unwrap();
        assert!(matches!(text.0, Cow::Borrowed(_)));
        assert_eq!(text.expose(), "abc");
    }

    #[test]
    fn into_owned_keeps_the_value() {
        let buf = String::from("s3cr3t");
        let owned = SecretText::borrowed(&buf).into_owned();
        drop(buf);
        assert_eq!(owned.expose(), "s3cr3t");
        assert_eq!(owned.into_string(), "s3cr3t");
    }
}
