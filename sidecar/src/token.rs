//! The client token: checked in constant time, and not kept in memory as such.
//!
//! At start-up the configured token is turned into an HMAC-SHA256 tag under a random key and
//! wiped; a presented token is checked with `ring::hmac::verify`, which compares tags in
//! constant time. Neither the comparison's duration nor the process's memory tells the token.

use ring::hmac;
use ring::rand::SystemRandom;
use zeroize::Zeroizing;

/// A configured client token, as a keyed tag.
pub struct ClientToken {
    key: hmac::Key,
    tag: hmac::Tag,
}

impl std::fmt::Debug for ClientToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientToken([redacted])")
    }
}

/// The token file held nothing usable.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Empty after stripping the final newline.
    #[error("the client token file is empty")]
    Empty,
    /// Longer than a `Hello` can carry.
    #[error("the client token is longer than {max} bytes", max = ax_protocol::limits::MAX_TOKEN_LEN)]
    TooLong,
    /// The system RNG failed.
    #[error("cannot draw a random key")]
    Random,
}

impl ClientToken {
    /// Takes the token file's contents (one trailing `\n` or `\r\n` is ignored) and wipes them.
    pub fn from_file_contents(contents: Zeroizing<Vec<u8>>) -> Result<Self, TokenError> {
        let mut token: &[u8] = &contents;
        token = token.strip_suffix(b"\n").unwrap_or(token);
        token = token.strip_suffix(b"\r").unwrap_or(token);
        if token.is_empty() {
            return Err(TokenError::Empty);
        }
        if token.len() > ax_protocol::limits::MAX_TOKEN_LEN {
            return Err(TokenError::TooLong);
        }
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &SystemRandom::new())
            .map_err(|_| TokenError::Random)?;
        let tag = hmac::sign(&key, token);
        Ok(Self { key, tag })
    }

    /// Whether `presented` is the configured token (constant time in its contents).
    pub fn matches(&self, presented: &str) -> bool {
        hmac::verify(&self.key, presented.as_bytes(), self.tag.as_ref()).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(text: &str) -> Result<ClientToken, TokenError> {
        ClientToken::from_file_contents(Zeroizing::new(text.as_bytes().to_vec()))
    }

    #[test]
    fn matches_only_the_configured_token() {
        let t = token("s3cret-token\n").unwrap();
        assert!(t.matches("s3cret-token"));
        assert!(!t.matches("s3cret-token\n"));
        assert!(!t.matches("s3cret-toke"));
        assert!(!t.matches(""));
        assert!(token("crlf\r\n").unwrap().matches("crlf"));
    }

    #[test]
    fn refuses_empty_and_oversized_tokens() {
        assert!(matches!(token("\n"), Err(TokenError::Empty)));
        assert!(matches!(token(&"t".repeat(4097)), Err(TokenError::TooLong)));
        assert!(format!("{:?}", token("abc").unwrap()).contains("redacted"));
    }
}
