// Package ax lets node code read its flow execution's secrets from the execution's
// ax-sidecar, over the Unix socket named by AX_SECRETS_SOCKET:
//
//	value, ok := ax.Secrets().Get("OPENAI_API_KEY") // ("sk-...", true) or ("", false)
//
// Standard library only.
//
// # The client
//
// [Secrets] returns the process-wide client, configured from the environment: the socket in
// AX_SECRETS_SOCKET and the client token in AX_SECRETS_TOKEN (unset or empty: no token), both
// read at the first request. [New] makes a client with explicit [Options]. A client connects
// lazily, on its first request; does the handshake once per connection; reuses the connection
// for every call; and is safe for concurrent use by any number of goroutines (one request is in
// flight at a time on its one connection). A connection found closed before a request goes out
// (idle timeout, sidecar restarted) is replaced once, transparently. [Client.Close] closes the
// connection; a later call connects again.
//
// # Calls
//
//   - [Client.Get] returns (value, true), or ("", false) when there is no such secret. An empty
//     value is found: ("", true). A string that is not a valid name
//     (^[A-Za-z][A-Za-z0-9_]{0,127}$) is not found, and is never sent to the sidecar.
//   - [Client.Lookup] is Get that returns the transport error instead of panicking.
//   - [Client.Exists], [Client.List] (names and metadata, never values, sorted by name),
//     [Client.Render] ({{secrets.NAME}} templates) and [Client.Redact] (every value, and its
//     base64, base64url, JSON-escaped and percent-encoded forms, replaced by ***).
//
// # Errors
//
// A missing secret or an invalid name is never an error. When the sidecar cannot be asked
// (AX_SECRETS_SOCKET unset, nothing listening, the token refused, the connection broken while a
// request was in flight, a malformed or mismatched answer, an error answer) the call fails with
// an [*UnavailableError], whose message names the socket path and what happened, and which
// matches [ErrUnavailable] with [errors.Is]. Lookup, Exists, List, Render and Redact return it.
// Render and Redact refuse, before anything is sent, an argument that is not UTF-8 or that
// would make a request over the 1 MiB limit ([*InvalidUTF8Error], [*RequestTooLargeError]);
// those are not ErrUnavailable.
//
// Get, whose signature (string, bool) has no room for an error, never reports an outage as
// "not found": it panics with the *UnavailableError, so a node that cannot reach its secrets
// stops loudly instead of running on without them. The panic value is an error: recover it and
// use [errors.As], or call Lookup where an outage is to be handled.
//
// No error message and no String, GoString or %v of a Client or [Options] ever holds a secret
// value or the token. The shim wipes its own read and write buffers after each call; the
// strings it returns belong to the caller (Go strings cannot be wiped).
//
// # Tests
//
// The axtest package holds a mock with the same interface, [SecretsAPI], loaded from a map.
// Code that calls [Secrets] can be pointed at a mock in a test with axtest.Install.
package ax
