package ax

import (
	"github.com/ax-secrets/ax-secrets/sdk-shims/go/internal/names"
	"github.com/ax-secrets/ax-secrets/sdk-shims/go/internal/wire"
)

var _ SecretsAPI = (*Client)(nil)

// Get returns the secret's value: (value, true), or ("", false) when there is none. An empty
// value is found: ("", true). A string that is not a valid name is not found and is never
// sent to the sidecar.
//
// Get never reports an outage as "not found": when the sidecar cannot be asked it panics
// with the *UnavailableError that [Client.Lookup] would return.
func (c *Client) Get(name string) (value string, found bool) {
	value, found, err := c.Lookup(name)
	if err != nil {
		panic(err)
	}
	return value, found
}

// Lookup returns the secret's value as Get does, or an *UnavailableError when the sidecar
// cannot be asked. A missing secret is never an error.
func (c *Client) Lookup(name string) (value string, found bool, err error) {
	if !names.Valid(name) {
		return "", false, nil
	}
	body, err := c.c.do("Get", wire.TagSecret, func(dst []byte, id uint32) ([]byte, error) {
		return wire.AppendGetFrame(dst, id, name), nil
	})
	if err != nil {
		return "", false, err
	}
	s := body.(wire.SecretResponse)
	return s.Value, s.Found, nil
}

// Exists reports whether a secret of that name exists (asked with Get).
func (c *Client) Exists(name string) (bool, error) {
	_, found, err := c.Lookup(name)
	return found, err
}

// List returns the metadata of every secret, sorted by name; never a value.
func (c *Client) List() ([]SecretInfo, error) {
	body, err := c.c.do("List", wire.TagListResponse, func(dst []byte, id uint32) ([]byte, error) {
		return wire.AppendRequestFrame(dst, wire.Request{ID: id, Body: wire.ListRequest{}}), nil
	})
	if err != nil {
		return nil, err
	}
	listed := body.(wire.ListResponse).Secrets
	out := make([]SecretInfo, len(listed))
	for i, s := range listed {
		out[i] = SecretInfo{Name: s.Name, Version: s.Version, UpdatedAt: s.UpdatedAt}
	}
	return out, nil
}

// Render expands each {{secrets.NAME}} reference of template (whitespace allowed inside the
// braces), on the sidecar. A reference to a missing secret stays as written; missing names
// them once each, in order of first appearance.
//
// A template that is not UTF-8, or that makes a request over 1 MiB, is refused before
// anything is sent ([*InvalidUTF8Error], [*RequestTooLargeError]).
func (c *Client) Render(template string) (text string, missing []string, err error) {
	body, err := c.text("Render", wire.TagRender, wire.TagRendered, template)
	if err != nil {
		return "", nil, err
	}
	r := body.(wire.RenderedResponse)
	return r.Text, r.Missing, nil
}

// Redact replaces, on the sidecar, every secret value in text and each of its base64,
// base64url, JSON-escaped and percent-encoded forms by ***; found names the secrets found,
// each once, sorted.
//
// A text that is not UTF-8, or that makes a request over 1 MiB, is refused before anything
// is sent ([*InvalidUTF8Error], [*RequestTooLargeError]).
func (c *Client) Redact(text string) (redacted string, found []string, err error) {
	body, err := c.text("Redact", wire.TagRedact, wire.TagRedacted, text)
	if err != nil {
		return "", nil, err
	}
	r := body.(wire.RedactedResponse)
	return r.Text, r.Found, nil
}

func (c *Client) text(op string, tag, want uint32, text string) (wire.ResponseBody, error) {
	return c.c.do(op, want, func(dst []byte, id uint32) ([]byte, error) {
		if err := checkText(op, text, id); err != nil {
			return nil, err
		}
		return wire.AppendTextFrame(dst, tag, id, text), nil
	})
}

// checkText is the check Render and Redact make before sending text (in a request with id
// id): a body within the 1 MiB request limit, and valid UTF-8. The axtest mock makes the same.
func checkText(op, text string, id uint32) error {
	if size := wire.TextBodyLen(id, len(text)); size > wire.MaxRequestBody {
		return &RequestTooLargeError{Op: op, Size: size, Limit: wire.MaxRequestBody}
	}
	if offset := wire.FirstInvalidUTF8(text); offset >= 0 {
		return &InvalidUTF8Error{Op: op, Offset: offset}
	}
	return nil
}
