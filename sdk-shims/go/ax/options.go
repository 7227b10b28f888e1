package ax

import (
	"fmt"
	"io"
	"time"
)

// Options configure a [Client]. The zero value reads everything from the environment.
type Options struct {
	// Socket is the sidecar's socket path; "" reads AX_SECRETS_SOCKET at the first request.
	Socket string
	// Token is the client token; "" reads AX_SECRETS_TOKEN at the first request (where unset
	// or empty means no token).
	Token string
	// Timeout bounds connecting and each call (write and answer); 0 waits for ever.
	Timeout time.Duration
}

// String shows the options with the token redacted.
func (o Options) String() string {
	token := `""`
	if o.Token != "" {
		token = "[redacted]"
	}
	return fmt.Sprintf("ax.Options{Socket: %q, Token: %s, Timeout: %s}", o.Socket, token, o.Timeout)
}

// GoString is String, for %#v.
func (o Options) GoString() string { return o.String() }

// Format prints String for every verb (%v, %+v, %#v, %s, %d...).
func (o Options) Format(f fmt.State, verb rune) { _, _ = io.WriteString(f, o.String()) }
