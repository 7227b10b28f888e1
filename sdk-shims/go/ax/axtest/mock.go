// Package axtest holds a mock of the secrets API for node authors' unit tests: no sidecar,
// no socket.
//
//	m := axtest.NewMock(map[string]string{"GREETER_SIGNATURE": "test-sig"})
//	value, ok := m.Get("GREETER_SIGNATURE") // ("test-sig", true)
//
// A [*Mock] answers exactly as a sidecar serving those values would: the same name rule, the
// same template rules (PROTOCOL.md §8.3), the same redaction forms and matching (§8.4), the
// same refusal of a Render or Redact argument that is not UTF-8 or over the request limit.
// List reports every secret as version 1, updated at 0, from the tenant.
package axtest

import (
	"fmt"
	"sort"
	"sync"

	"github.com/ax-secrets/ax-secrets/sdk-shims/go/ax"
	"github.com/ax-secrets/ax-secrets/sdk-shims/go/internal/names"
	"github.com/ax-secrets/ax-secrets/sdk-shims/go/internal/redact"
	"github.com/ax-secrets/ax-secrets/sdk-shims/go/internal/template"
	"github.com/ax-secrets/ax-secrets/sdk-shims/go/internal/wire"
)

// Mock is the secrets API over a fixed map of names to values. It is safe for concurrent use.
type Mock struct {
	m *mock // behind a pointer, so that printing a Mock value shows no value
}

type mock struct {
	values   map[string]string
	once     sync.Once
	redactor *redact.Redactor
}

var _ ax.SecretsAPI = (*Mock)(nil)

// NewMock returns a mock serving a copy of secrets. It panics if a key is not a valid secret
// name, or a value is not UTF-8 or longer than 1 MiB: a sidecar could not hold it. The message
// never shows the key or the value (a string that is not a name may be a value).
func NewMock(secrets map[string]string) *Mock {
	values := make(map[string]string, len(secrets))
	for name, value := range secrets {
		if problem := names.Check(name); problem != "" {
			panic(fmt.Sprintf("axtest: the map holds a key that is not a secret name (%s)", problem))
		}
		if wire.FirstInvalidUTF8(value) >= 0 {
			panic(fmt.Sprintf("axtest: the value of %s is not valid UTF-8", name))
		}
		if len(value) > wire.MaxValueLen {
			panic(fmt.Sprintf("axtest: the value of %s is over the 1 MiB limit", name))
		}
		values[name] = value
	}
	return &Mock{m: &mock{values: values}}
}

// TB is the part of testing.TB that Install needs.
type TB interface {
	Helper()
	Cleanup(func())
}

// Install makes [ax.Secrets] return m until the end of the test t (a *testing.T or
// *testing.B), for code that calls ax.Secrets itself. It affects the whole process: do not
// use it in parallel tests.
func Install(t TB, m ax.SecretsAPI) {
	t.Helper()
	t.Cleanup(ax.SetSecrets(m))
}

// Format prints the mock for every verb as its names alone; never a value.
func (m Mock) Format(f fmt.State, verb rune) {
	var list []string
	if m.m != nil {
		list = sortedNames(m.m.values)
	}
	fmt.Fprintf(f, "axtest.Mock{names: %q}", list)
}

// Get returns (value, true), or ("", false) when the map has no such (valid) name.
func (m *Mock) Get(name string) (value string, found bool) {
	if !names.Valid(name) {
		return "", false
	}
	value, found = m.m.values[name]
	return value, found
}

// Lookup is Get; a mock never fails.
func (m *Mock) Lookup(name string) (value string, found bool, err error) {
	value, found = m.Get(name)
	return value, found, nil
}

// Exists reports whether the map has a secret of that name.
func (m *Mock) Exists(name string) (bool, error) {
	_, found := m.Get(name)
	return found, nil
}

// List returns every name, sorted, as version 1, updated at 0, from the tenant.
func (m *Mock) List() ([]ax.SecretInfo, error) {
	list := sortedNames(m.m.values)
	out := make([]ax.SecretInfo, len(list))
	for i, name := range list {
		out[i] = ax.SecretInfo{Name: name, Version: 1, UpdatedAt: 0}
	}
	return out, nil
}

// Render expands {{secrets.NAME}} references as the sidecar does.
func (m *Mock) Render(tmpl string) (text string, missing []string, err error) {
	if err := checkText("Render", tmpl); err != nil {
		return "", nil, err
	}
	text, missing = template.Render(tmpl, func(name string) (string, bool) {
		v, ok := m.m.values[name]
		return v, ok
	})
	return text, missing, nil
}

// Redact replaces every value, and its encodings, by *** as the sidecar does.
func (m *Mock) Redact(text string) (redacted string, found []string, err error) {
	if err := checkText("Redact", text); err != nil {
		return "", nil, err
	}
	// Built on first use, as the sidecar's is.
	m.m.once.Do(func() { m.m.redactor = redact.New(m.m.values) })
	redacted, found = m.m.redactor.Redact(text)
	return redacted, found, nil
}

// checkText refuses what the client refuses before sending, with the same errors (as for
// the client's first request id, 1).
func checkText(op, text string) error {
	if size := wire.TextBodyLen(1, len(text)); size > wire.MaxRequestBody {
		return &ax.RequestTooLargeError{Op: op, Size: size, Limit: wire.MaxRequestBody}
	}
	if offset := wire.FirstInvalidUTF8(text); offset >= 0 {
		return &ax.InvalidUTF8Error{Op: op, Offset: offset}
	}
	return nil
}

func sortedNames(values map[string]string) []string {
	list := make([]string, 0, len(values))
	for name := range values {
		list = append(list, name)
	}
	sort.Strings(list)
	return list
}
