//! The one error of the wire: what was wrong with the bytes, never what they contained.

use core::fmt;

/// Why a frame or message could not be decoded (or, for [`WireError::MessageTooLarge`], encoded).
///
/// Constructing one never allocates, and no variant carries message content, so an error can be
/// logged or sent back to a peer without leaking anything. The names are the ones the shared
/// vectors use in their `error` field.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireError {
    /// The length prefix announces a body larger than the limit for this direction.
    FrameTooLarge {
        /// The announced body length.
        len: u32,
        /// The limit it exceeds.
        limit: u32,
    },
    /// The stream ended inside a frame (inside the prefix or the body).
    Truncated,
    /// The frame body ended before the message did.
    UnexpectedEnd,
    /// Bytes remain in the frame body after the message.
    TrailingBytes,
    /// An enum index (request kind, response kind, error code) this version does not define.
    UnknownVariant,
    /// A string is not valid UTF-8.
    InvalidUtf8,
    /// An `Option` tag other than `0x00` or `0x01`. (the messages have no `bool`; postcard
    /// encodes this tag exactly as it would a `bool`, so this is also the "bad bool" case.)
    InvalidOptionTag,
    /// A varint longer than its type allows, or whose value overflows the type.
    InvalidVarint,
    /// A message would encode to more than the frame limit (when encoding).
    MessageTooLarge {
        /// The limit it exceeds.
        limit: u32,
    },
    /// Any other malformation.
    Malformed,
}

impl WireError {
    /// The stable name used by `PROTOCOL.md` and the shared vectors.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::FrameTooLarge { .. } => "FrameTooLarge",
            Self::Truncated => "Truncated",
            Self::UnexpectedEnd => "UnexpectedEnd",
            Self::TrailingBytes => "TrailingBytes",
            Self::UnknownVariant => "UnknownVariant",
            Self::InvalidUtf8 => "InvalidUtf8",
            Self::InvalidOptionTag => "InvalidOptionTag",
            Self::InvalidVarint => "InvalidVarint",
            Self::MessageTooLarge { .. } => "MessageTooLarge",
            Self::Malformed => "Malformed",
        }
    }
}

impl From<postcard::Error> for WireError {
    fn from(err: postcard::Error) -> Self {
        use postcard::Error as P;
        match err {
            P::DeserializeUnexpectedEnd => Self::UnexpectedEnd,
            P::DeserializeBadVarint => Self::InvalidVarint,
            P::DeserializeBadUtf8 => Self::InvalidUtf8,
            P::DeserializeBadOption => Self::InvalidOptionTag,
            // serde's derived enum visitors report an out-of-range variant index as a custom
            // error; our types raise no other custom error.
            P::DeserializeBadEnum | P::SerdeDeCustom => Self::UnknownVariant,
            _ => Self::Malformed,
        }
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FrameTooLarge { len, limit } => {
                write!(f, "frame of {len} bytes exceeds the limit of {limit} bytes")
            }
            Self::Truncated => f.write_str("stream ended inside a frame"),
            Self::UnexpectedEnd => f.write_str("frame ended before the message did"),
            Self::TrailingBytes => f.write_str("bytes left in the frame after the message"),
            Self::UnknownVariant => f.write_str("unknown enum variant for this protocol version"),
            Self::InvalidUtf8 => f.write_str("string is not valid UTF-8"),
            Self::InvalidOptionTag => f.write_str("option tag is neither 0 nor 1"),
            Self::InvalidVarint => f.write_str("varint is too long or overflows its type"),
            Self::MessageTooLarge { limit } => {
                write!(f, "message would exceed the frame limit of {limit} bytes")
            }
            Self::Malformed => f.write_str("malformed message"),
        }
    }
}

impl std::error::Error for WireError {}
