package wire

// Every limit and constant of protocol v2 the shim relies on (PROTOCOL.md §9).
const (
	// ProtocolVersion is the version this shim speaks, sent in Hello.
	ProtocolVersion = 2
	// ClientName is how this shim names itself in Hello (at most 256 bytes).
	ClientName = "go/0.1.0"
	// HeaderLen is the size of the big-endian length prefix of every frame.
	HeaderLen = 4
	// MaxRequestBody is the largest request body, inclusive: 1 MiB.
	MaxRequestBody = 1 << 20
	// MaxResponseBody is the largest response body, inclusive: 16 MiB.
	MaxResponseBody = 16 << 20
	// MaxNameLen is the longest secret name, in bytes.
	MaxNameLen = 128
	// MaxValueLen is the longest secret value, in bytes.
	MaxValueLen = 1 << 20
	// MinRedactedLen is the shortest value, in bytes of its UTF-8, that is redacted (PROTOCOL §8.4): a shorter one such as `1` or `5432` would mask every such digit run of a log.
	MinRedactedLen = 4
	// RedactionMark stands for a secret in redacted text.
	RedactionMark = "***"
	// HelloID is the request id of every Hello: nonzero, so that an Unauthorized under id 0
	// (sent before the Hello was read: the uid) is told apart from one under this id (the
	// token).
	HelloID = 1
	// MaxSocketPath is the longest socket path in bytes: a sockaddr_un holds 108 with the
	// closing NUL.
	MaxSocketPath = 107
	// SocketEnv holds the sidecar's socket path.
	SocketEnv = "AX_SECRETS_SOCKET"
	// TokenEnv holds the client token (unset or empty: none).
	TokenEnv = "AX_SECRETS_TOKEN"
)
