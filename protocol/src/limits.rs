//! Every limit and constant of the protocol, with the reason for its value.
//!
//! Peers enforce these; `PROTOCOL.md` repeats them normatively. A deployment may configure
//! *smaller* frame limits, never larger ones than a peer was written for.

/// The protocol version this crate speaks, sent in both `Hello` messages.
///
/// 2 since `SecretInfo` lost its `source` field; a peer speaking 1 is refused, because the two
/// versions encode a `List` answer differently.
pub const PROTOCOL_VERSION: u16 = 2;

/// Bytes in the big-endian length prefix of every frame.
pub const FRAME_HEADER_LEN: usize = 4;

/// Largest request body (the bytes after the length prefix): 1 MiB.
///
/// Requests carry a name, a template or a text to redact; 1 MiB bounds what one misbehaving
/// client can make the sidecar buffer.
pub const MAX_REQUEST_FRAME: u32 = 1024 * 1024;

/// Largest response body: 16 MiB.
///
/// A response can carry a value (up to [`MAX_VALUE_LEN`]), a listing of every secret, or a
/// rendered template that expands several values.
pub const MAX_RESPONSE_FRAME: u32 = 16 * 1024 * 1024;

/// Longest secret name in bytes: 128 (`^[A-Za-z][A-Za-z0-9_]{0,127}$`).
pub const MAX_NAME_LEN: usize = 128;

/// Largest secret value in bytes: 1 MiB. Enforced when a bundle is sealed and when it is opened.
pub const MAX_VALUE_LEN: usize = 1024 * 1024;

/// Most secrets (tenant secrets plus overrides) one bundle may carry.
pub const MAX_BUNDLE_SECRETS: usize = 1_000_000;

/// Largest sealed bundle in bytes, envelope included: 256 MiB.
pub const MAX_BUNDLE_LEN: usize = 256 * 1024 * 1024;

/// Longest execution id in bytes: 128 (`[A-Za-z0-9._:-]`, so it is safe in a URL path).
pub const MAX_EXECUTION_ID_LEN: usize = 128;

/// Longest `client` string a `Hello` may carry (e.g. `"python/0.1.0"`).
pub const MAX_CLIENT_LEN: usize = 256;

/// Longest client token a `Hello` may carry.
pub const MAX_TOKEN_LEN: usize = 4096;

/// How far a bundle's `issued_at` may lie in the future of the opener's clock: 5 minutes.
///
/// Control plane and sidecar clocks are never perfectly in step; more slack than this would let
/// a bundle minted for later be used now.
pub const MAX_CLOCK_SKEW_SECS: u64 = 300;

/// The value that stands for a secret in `Redact` output.
pub const REDACTION_MARK: &str = "***";

/// Shortest value, in bytes of its UTF-8, that `Redact` and the stream filter mask: 4.
///
/// A secret such as `FLAG=1` or `PORT=5432` would otherwise turn every `1` or `5432` of a log
/// into `***`, corrupting output while hiding nothing an attacker could not guess. A protocol
/// constant rather than a flag, so that the sidecar, the launcher and every shim's mock agree
/// without configuration; the sidecar names the secrets it leaves unmasked once at start.
pub const MIN_REDACTED_LEN: usize = 4;
