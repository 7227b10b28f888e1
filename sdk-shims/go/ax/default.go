package ax

import (
	"sync"
	"sync/atomic"
)

var (
	defaultOnce   sync.Once
	defaultClient *Client
	installed     atomic.Pointer[installedAPI]
)

type installedAPI struct{ api SecretsAPI }

// Secrets returns the process-wide secrets API: a [*Client] configured from the environment
// (AX_SECRETS_SOCKET, AX_SECRETS_TOKEN, read at its first request), made on the first call
// and shared by every goroutine; or what [SetSecrets] installed.
//
//	value, ok := ax.Secrets().Get("OPENAI_API_KEY")
func Secrets() SecretsAPI {
	if p := installed.Load(); p != nil {
		return p.api
	}
	defaultOnce.Do(func() { defaultClient = New(Options{}) })
	return defaultClient
}

// SetSecrets makes [Secrets] return api (nil: the client from the environment again) until
// restore is called, which brings back what was there before. It is meant for tests of code
// that calls Secrets (see axtest.Install); it affects every goroutine of the process.
func SetSecrets(api SecretsAPI) (restore func()) {
	var next *installedAPI
	if api != nil {
		next = &installedAPI{api}
	}
	previous := installed.Swap(next)
	return func() { installed.Store(previous) }
}
