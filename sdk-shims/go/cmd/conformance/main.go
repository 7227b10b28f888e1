// Command conformance is the conformance program of the Go shim
// (integration/conformance/DRIVER.md).
//
// It reads one JSON request per line on stdin and writes one JSON answer per line on stdout,
// using one secrets API for the whole run: the process-wide client of ax.Secrets (configured
// from AX_SECRETS_SOCKET and AX_SECRETS_TOKEN), or the mock built from the JSON map named by
// $AX_CONFORMANCE_MOCK. Built with `go build -o bin/ ./cmd/...` and run as bin/conformance.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"sync"

	"github.com/ax-secrets/ax-secrets/sdk-shims/go/ax"
	"github.com/ax-secrets/ax-secrets/sdk-shims/go/ax/axtest"
)

// answer is one line of output.
type answer = map[string]any

// request is one line of input; absent fields stay nil.
type request struct {
	Op       string  `json:"op"`
	Name     *string `json:"name"`
	Template *string `json:"template"`
	Text     *string `json:"text"`
	Callers  *int    `json:"callers"`
	Calls    *int    `json:"calls"`
}

func secretsAPI() (ax.SecretsAPI, error) {
	path := os.Getenv("AX_CONFORMANCE_MOCK")
	if path == "" {
		return ax.Secrets(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var values map[string]string
	if err := json.Unmarshal(data, &values); err != nil {
		return nil, err
	}
	return axtest.NewMock(values), nil
}

func getAnswer(api ax.SecretsAPI, name string) (answer, error) {
	value, found, err := api.Lookup(name)
	if err != nil {
		return nil, err
	}
	if !found {
		return answer{"found": false}, nil
	}
	return answer{"found": true, "value": value}, nil
}

func concurrentGet(api ax.SecretsAPI, name string, callers, calls int) (answer, error) {
	answers := make([][]answer, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for c := 0; c < callers; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			<-start
			for k := 0; k < calls; k++ {
				a, err := getAnswer(api, name)
				if err != nil {
					errs[c] = err
					return
				}
				answers[c] = append(answers[c], a)
			}
		}(c)
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	distinct := []any{}
	total := 0
	for _, mine := range answers {
		total += len(mine)
		for _, a := range mine {
			if !containsAnswer(distinct, a) {
				distinct = append(distinct, a)
			}
		}
	}
	return answer{"calls": total, "results": distinct}, nil
}

func containsAnswer(list []any, a answer) bool {
	for _, x := range list {
		if reflect.DeepEqual(x, a) {
			return true
		}
	}
	return false
}

var errMissingField = errors.New("a field the op needs is missing")

func run(api ax.SecretsAPI, req request) (answer, error) {
	need := func(fields ...any) error {
		for _, f := range fields {
			if reflect.ValueOf(f).IsNil() {
				return errMissingField
			}
		}
		return nil
	}
	switch req.Op {
	case "get":
		if err := need(req.Name); err != nil {
			return nil, err
		}
		return getAnswer(api, *req.Name)
	case "exists":
		if err := need(req.Name); err != nil {
			return nil, err
		}
		ok, err := api.Exists(*req.Name)
		return answer{"exists": ok}, err
	case "list", "list_info":
		listed, err := api.List()
		if err != nil {
			return nil, err
		}
		names, infos := []any{}, []any{}
		for _, i := range listed {
			names = append(names, i.Name)
			infos = append(infos, answer{"name": i.Name, "version": i.Version, "updated_at": i.UpdatedAt})
		}
		if req.Op == "list" {
			return answer{"names": names}, nil
		}
		return answer{"secrets": infos}, nil
	case "render":
		if err := need(req.Template); err != nil {
			return nil, err
		}
		text, missing, err := api.Render(*req.Template)
		return answer{"text": text, "missing": missing}, err
	case "redact":
		if err := need(req.Text); err != nil {
			return nil, err
		}
		text, found, err := api.Redact(*req.Text)
		return answer{"text": text, "found": found}, err
	case "concurrent_get":
		if err := need(req.Name, req.Callers, req.Calls); err != nil {
			return nil, err
		}
		return concurrentGet(api, *req.Name, *req.Callers, *req.Calls)
	}
	return answer{"error": "unknown_op"}, nil
}

// respond is the answer to one request line, errors included.
func respond(api ax.SecretsAPI, line []byte) answer {
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		return answer{"error": "unexpected", "detail": fmt.Sprintf("%T: %v", err, err)}
	}
	a, err := run(api, req)
	var unavailable *ax.UnavailableError
	switch {
	case errors.As(err, &unavailable):
		socket := os.Getenv("AX_SECRETS_SOCKET")
		var code any // JSON null when the failure was not a sidecar error
		if unavailable.Code != ax.CodeNone {
			code = unavailable.Code.String()
		}
		return answer{
			"error":           "unavailable",
			"mentions_socket": socket != "" && strings.Contains(err.Error(), socket),
			"code":            code,
			"mentions_uid":    strings.Contains(err.Error(), "uid"),
		}
	case err != nil:
		return answer{"error": "unexpected", "detail": fmt.Sprintf("%T: %v", err, err)}
	}
	return a
}

func serve(api ax.SecretsAPI, in io.Reader, out io.Writer) error {
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	r := bufio.NewReader(in)
	for {
		line, err := r.ReadBytes('\n')
		if len(strings.TrimSpace(string(line))) > 0 {
			if err := enc.Encode(respond(api, line)); err != nil {
				return err
			}
			if err := w.Flush(); err != nil {
				return err
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func main() {
	api, err := secretsAPI()
	if err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		os.Exit(1)
	}
	if err := serve(api, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		os.Exit(1)
	}
	if c, ok := api.(*ax.Client); ok {
		_ = c.Close()
	}
}
