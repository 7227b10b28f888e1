package ax

import (
	"math"
	"time"
)

// SecretsAPI is what node code calls: implemented by [*Client] and by the axtest mock alike,
// so code that takes a SecretsAPI can be tested without a sidecar.
type SecretsAPI interface {
	// Get returns (value, true), or ("", false) when there is no such secret. The client
	// panics with an *UnavailableError when the sidecar cannot be asked (see Lookup).
	Get(name string) (value string, found bool)
	// Lookup is Get that returns a transport failure as an error instead.
	Lookup(name string) (value string, found bool, err error)
	// Exists reports whether a secret of that name exists.
	Exists(name string) (bool, error)
	// List returns every secret's metadata, sorted by name; never a value.
	List() ([]SecretInfo, error)
	// Render expands each {{secrets.NAME}} in template; missing names each once, in order.
	Render(template string) (text string, missing []string, err error)
	// Redact replaces every secret value in text, and its common encodings, by ***; found
	// names each once, sorted.
	Redact(text string) (redacted string, found []string, err error)
}

// SecretInfo is the metadata of one secret; never its value. An override and a tenant value
// look the same: node code cannot tell them apart (operators see overrides in the console).
type SecretInfo struct {
	// Name is the secret's name.
	Name string
	// Version counts replacements in the console (1 for the first value).
	Version uint32
	// UpdatedAt is when the current value was set, in seconds since the Unix epoch (UTC).
	UpdatedAt uint64
}

// Updated is UpdatedAt as a time (UTC).
func (i SecretInfo) Updated() time.Time {
	return time.Unix(int64(min(i.UpdatedAt, math.MaxInt64)), 0).UTC()
}
