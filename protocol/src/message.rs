//! The v2 messages.
//!
//! Each type derives serde and is encoded with postcard 1.x; `PROTOCOL.md` spells out the bytes.
//! Enum variant order is the wire format (a variant's index is its tag): append, never reorder,
//! and any change to these types is a new protocol version.
//!
//! Strings are `Cow` and values are [`SecretText`] so that the sidecar can decode a request
//! without allocating and encode a response straight from its locked arena without copying a
//! value onto the ordinary heap; clients that want owned messages call `into_owned`.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::secret::SecretText;

/// A request: a client-chosen `id` that the response echoes, and what is asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request<'a> {
    /// Chosen by the client; echoed in the response. Any value is allowed, including reuse.
    pub id: u32,
    /// What the client asks for.
    #[serde(borrow)]
    pub body: RequestBody<'a>,
}

/// What a request asks for. The variant index is the tag on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RequestBody<'a> {
    /// Tag 0. The handshake; must be the first request on a connection, and only the first.
    Hello {
        /// The protocol version the client speaks ([`crate::limits::PROTOCOL_VERSION`]).
        version: u16,
        /// Who is calling, for logs, e.g. `"python/0.1.0"`. At most 256 bytes.
        #[serde(borrow)]
        client: Cow<'a, str>,
        /// The client token, when the sidecar requires one.
        #[serde(borrow)]
        token: Option<SecretText<'a>>,
    },
    /// Tag 1. One secret by name. A missing secret or an invalid name is not an error.
    Get {
        /// The secret's name.
        #[serde(borrow)]
        name: Cow<'a, str>,
    },
    /// Tag 2. The names and metadata of every secret, never a value.
    List,
    /// Tag 3. Expand `{{secrets.NAME}}` references in a template.
    Render {
        /// The template text.
        #[serde(borrow)]
        template: SecretText<'a>,
    },
    /// Tag 4. Replace every secret value (and its common encodings) in a text with `***`.
    Redact {
        /// The text to redact; it may contain values, so it is secret.
        #[serde(borrow)]
        text: SecretText<'a>,
    },
    /// Tag 5. Liveness check.
    Ping,
}

/// A response: the `id` of the request it answers, and the answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response<'a> {
    /// The `id` of the request this answers (0 for an error sent before any request was read).
    pub id: u32,
    /// The answer.
    #[serde(borrow)]
    pub body: ResponseBody<'a>,
}

/// The answer to a request. The variant index is the tag on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseBody<'a> {
    /// Tag 0. Handshake accepted.
    Hello {
        /// The protocol version the sidecar will speak on this connection.
        version: u16,
        /// The sidecar's name and version, e.g. `"ax-sidecar/0.1.0"`.
        #[serde(borrow)]
        sidecar: Cow<'a, str>,
        /// The execution this sidecar serves.
        #[serde(borrow)]
        execution_id: Cow<'a, str>,
    },
    /// Tag 1. Answer to `Get`: `None` when not found (or the name is invalid).
    Secret {
        /// The value; `Some("")` is an existing secret whose value is empty.
        #[serde(borrow)]
        value: Option<SecretText<'a>>,
    },
    /// Tag 2. Answer to `List`.
    List {
        /// Every secret the execution can read, sorted by name.
        #[serde(borrow)]
        secrets: Vec<SecretInfo<'a>>,
    },
    /// Tag 3. Answer to `Render`.
    Rendered {
        /// The template with every resolvable reference replaced by its value.
        #[serde(borrow)]
        text: SecretText<'a>,
        /// Names referenced but not found, each once, in order of first appearance.
        #[serde(borrow)]
        missing: Vec<Cow<'a, str>>,
    },
    /// Tag 4. Answer to `Redact`.
    Redacted {
        /// The text with every value and encoded value replaced by `***`.
        #[serde(borrow)]
        text: Cow<'a, str>,
        /// Names whose value (in any form) was found, each once, sorted.
        #[serde(borrow)]
        found: Vec<Cow<'a, str>>,
    },
    /// Tag 5. Answer to `Ping`.
    Pong,
    /// Tag 6. The request was refused; see [`ErrorCode`] for which codes close the connection.
    Error {
        /// What went wrong.
        code: ErrorCode,
        /// A human-readable reason. Never contains a value.
        #[serde(borrow)]
        message: Cow<'a, str>,
    },
}

/// Metadata of one secret. Names and timestamps are not secret; values never appear here.
///
/// Nothing here says whether the effective value is the tenant's or a flow config's override
/// (protocol v1 had a `source` field): node code must not be able to tell the two apart; only
/// operators see overrides, in the console.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretInfo<'a> {
    /// The secret's name.
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    /// Increases each time the secret is replaced in the console (1 for the first value).
    pub version: u32,
    /// When the value was last set, in seconds since the Unix epoch (UTC).
    pub updated_at: u64,
}

/// Why a request was refused. A closed set for this protocol version: a new code is a new version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorCode {
    /// Tag 0. The frame or message was malformed; the connection is closed.
    BadRequest,
    /// Tag 1. The `Hello` version is not spoken; the connection is closed.
    UnsupportedVersion,
    /// Tag 2. Missing or wrong client token, or peer not allowed; the connection is closed.
    Unauthorized,
    /// Tag 3. A request frame over the limit (connection closed), or a response that would
    /// exceed the response limit (connection stays open).
    TooLarge,
    /// Tag 4. The sidecar is shutting down; the request was not served; the connection is closed.
    ShuttingDown,
    /// Tag 5. The sidecar failed to serve this request; the connection stays open.
    Internal,
    /// Tag 6. A request other than `Hello` came first, or `Hello` came twice; the connection is
    /// closed.
    HandshakeRequired,
    /// Tag 7. The sidecar is at its connection limit; the connection is closed.
    Busy,
}

impl ErrorCode {
    /// Every code, in tag order.
    pub const ALL: [ErrorCode; 8] = [
        Self::BadRequest,
        Self::UnsupportedVersion,
        Self::Unauthorized,
        Self::TooLarge,
        Self::ShuttingDown,
        Self::Internal,
        Self::HandshakeRequired,
        Self::Busy,
    ];

    /// The code's name, as used in `PROTOCOL.md`, the vectors and every shim.
    pub fn name(self) -> &'static str {
        match self {
            Self::BadRequest => "BadRequest",
            Self::UnsupportedVersion => "UnsupportedVersion",
            Self::Unauthorized => "Unauthorized",
            Self::TooLarge => "TooLarge",
            Self::ShuttingDown => "ShuttingDown",
            Self::Internal => "Internal",
            Self::HandshakeRequired => "HandshakeRequired",
            Self::Busy => "Busy",
        }
    }
}

impl RequestBody<'_> {
    /// The request kind's name, for logs and audit records.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Hello { .. } => "Hello",
            Self::Get { .. } => "Get",
            Self::List => "List",
            Self::Render { .. } => "Render",
            Self::Redact { .. } => "Redact",
            Self::Ping => "Ping",
        }
    }
}

impl ResponseBody<'_> {
    /// The response kind's name, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Hello { .. } => "Hello",
            Self::Secret { .. } => "Secret",
            Self::List { .. } => "List",
            Self::Rendered { .. } => "Rendered",
            Self::Redacted { .. } => "Redacted",
            Self::Pong => "Pong",
            Self::Error { .. } => "Error",
        }
    }
}

impl Request<'_> {
    /// Detaches the request from the buffer it was decoded from.
    pub fn into_owned(self) -> Request<'static> {
        let body = match self.body {
            RequestBody::Hello {
                version,
                client,
                token,
            } => RequestBody::Hello {
                version,
                client: Cow::Owned(client.into_owned()),
                token: token.map(SecretText::into_owned),
            },
            RequestBody::Get { name } => RequestBody::Get {
                name: Cow::Owned(name.into_owned()),
            },
            RequestBody::List => RequestBody::List,
            RequestBody::Render { template } => RequestBody::Render {
                template: template.into_owned(),
            },
            RequestBody::Redact { text } => RequestBody::Redact {
                text: text.into_owned(),
            },
            RequestBody::Ping => RequestBody::Ping,
        };
        Request { id: self.id, body }
    }
}

fn owned_names(names: Vec<Cow<'_, str>>) -> Vec<Cow<'static, str>> {
    names
        .into_iter()
        .map(|n| Cow::Owned(n.into_owned()))
        .collect()
}

impl Response<'_> {
    /// Detaches the response from the buffer it was decoded from.
    pub fn into_owned(self) -> Response<'static> {
        let body = match self.body {
            ResponseBody::Hello {
                version,
                sidecar,
                execution_id,
            } => ResponseBody::Hello {
                version,
                sidecar: Cow::Owned(sidecar.into_owned()),
                execution_id: Cow::Owned(execution_id.into_owned()),
            },
            ResponseBody::Secret { value } => ResponseBody::Secret {
                value: value.map(SecretText::into_owned),
            },
            ResponseBody::List { secrets } => ResponseBody::List {
                secrets: secrets
                    .into_iter()
                    .map(|s| SecretInfo {
                        name: Cow::Owned(s.name.into_owned()),
                        version: s.version,
                        updated_at: s.updated_at,
                    })
                    .collect(),
            },
            ResponseBody::Rendered { text, missing } => ResponseBody::Rendered {
                text: text.into_owned(),
                missing: owned_names(missing),
            },
            ResponseBody::Redacted { text, found } => ResponseBody::Redacted {
                text: Cow::Owned(text.into_owned()),
                found: owned_names(found),
            },
            ResponseBody::Pong => ResponseBody::Pong,
            ResponseBody::Error { code, message } => ResponseBody::Error {
                code,
                message: Cow::Owned(message.into_owned()),
            },
        };
        Response { id: self.id, body }
    }
}
