// Command bench measures what one Get costs through the shim, next to a raw round trip of
// the same frame bytes (the benchmark contract of sidecar/benches/shims.rs).
//
// Usage: bench ECHO_SOCKET NAME CALLS, with AX_SECRETS_SOCKET (and AX_SECRETS_TOKEN) set for
// a real sidecar. ECHO_SOCKET answers a Hello frame with a Hello response and any other frame
// with the sidecar's response bytes for Get(NAME). After 1000 warm-up calls of each, blocks of
// 1000 raw and 1000 shim calls alternate until CALLS of each; every call is timed with the
// monotonic clock. Prints one JSON line.
package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/ax-secrets/ax-secrets/sdk-shims/go/ax"
	"github.com/ax-secrets/ax-secrets/sdk-shims/go/internal/wire"
)

const (
	block  = 1000
	warmUp = 1000
)

// raw is the least a Go program does for the round trip: one write of the frame, then the
// length prefix and the body read into a reused buffer.
type raw struct {
	conn    net.Conn
	request []byte
	buf     []byte
}

func (r *raw) once() error {
	if _, err := r.conn.Write(r.request); err != nil {
		return err
	}
	if _, err := io.ReadFull(r.conn, r.buf[:4]); err != nil {
		return err
	}
	n := int(binary.BigEndian.Uint32(r.buf[:4]))
	if n > len(r.buf) {
		r.buf = make([]byte, n)
	}
	_, err := io.ReadFull(r.conn, r.buf[:n])
	return err
}

func timed(call func() error, count int, into []int64) ([]int64, error) {
	for i := 0; i < count; i++ {
		start := time.Now()
		if err := call(); err != nil {
			return into, err
		}
		into = append(into, int64(time.Since(start)))
	}
	return into, nil
}

func percentile(samples []int64, fraction float64) int64 {
	sorted := append([]int64(nil), samples...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	return sorted[min(len(sorted)-1, int(fraction*float64(len(sorted))))]
}

func run(echoPath, name string, calls int) error {
	conn, err := net.Dial("unix", echoPath)
	if err != nil {
		return err
	}
	defer conn.Close()
	var token *string
	if t := os.Getenv(wire.TokenEnv); t != "" {
		token = &t
	}
	hello := wire.AppendRequestFrame(nil, wire.Request{ID: 0, Body: wire.HelloRequest{
		Version: wire.ProtocolVersion, Client: wire.ClientName, Token: token,
	}})
	r := &raw{conn: conn, request: hello, buf: make([]byte, 64<<10)}
	if err := r.once(); err != nil {
		return fmt.Errorf("echo handshake: %w", err)
	}
	r.request = wire.AppendGetFrame(nil, 1, name)

	client := ax.New(ax.Options{})
	defer client.Close()
	if _, ok, err := client.Lookup(name); err != nil || !ok {
		return fmt.Errorf("the sidecar has no secret named %s (%v)", name, err)
	}
	shim := func() error {
		client.Get(name) // panics, with the typed error, if the sidecar goes away
		return nil
	}

	if _, err := timed(r.once, warmUp, nil); err != nil {
		return err
	}
	if _, err := timed(shim, warmUp, nil); err != nil {
		return err
	}
	rawNS := make([]int64, 0, calls)
	shimNS := make([]int64, 0, calls)
	for len(rawNS) < calls {
		n := min(block, calls-len(rawNS))
		if rawNS, err = timed(r.once, n, rawNS); err != nil {
			return err
		}
		if shimNS, err = timed(shim, n, shimNS); err != nil {
			return err
		}
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"lang":        "go",
		"calls":       calls,
		"raw_p50_ns":  percentile(rawNS, 0.50),
		"raw_p99_ns":  percentile(rawNS, 0.99),
		"shim_p50_ns": percentile(shimNS, 0.50),
		"shim_p99_ns": percentile(shimNS, 0.99),
	})
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: bench ECHO_SOCKET NAME CALLS")
		os.Exit(64)
	}
	calls, err := strconv.Atoi(os.Args[3])
	if err != nil || calls < 1 {
		fmt.Fprintln(os.Stderr, "bench: CALLS must be a positive number")
		os.Exit(64)
	}
	if err := run(os.Args[1], os.Args[2], calls); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
