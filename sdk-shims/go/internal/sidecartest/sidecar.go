// Package sidecartest starts a real ax-sidecar built from this repository, for live tests.
//
// The binary is $AX_SIDECAR_BIN when set, else `cargo build -q -p ax-sidecar` is run at the
// workspace root (found from this file) and target/debug/ax-sidecar is used. A sidecar is
// ready when it writes "READY\n" on the pipe given as --ready-fd; nothing here sleeps.
package sidecartest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	startTimeout = 30 * time.Second
	stopTimeout  = 30 * time.Second
)

// WorkspaceRoot is the Cargo workspace this package's source lives in.
func WorkspaceRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("sidecartest: cannot locate its own source")
	}
	for dir := filepath.Dir(file); ; dir = filepath.Dir(dir) {
		data, err := os.ReadFile(filepath.Join(dir, "Cargo.toml"))
		if err == nil && bytes.Contains(data, []byte("[workspace]")) {
			return dir, nil
		}
		if parent := filepath.Dir(dir); parent == dir {
			return "", errors.New("sidecartest: no Cargo workspace above " + file)
		}
	}
}

var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
)

// Binary is the sidecar binary, built once per test process when $AX_SIDECAR_BIN is unset.
func Binary(t testing.TB) string {
	t.Helper()
	binaryOnce.Do(func() {
		if given := os.Getenv("AX_SIDECAR_BIN"); given != "" {
			binaryPath = given
			return
		}
		root, err := WorkspaceRoot()
		if err != nil {
			binaryErr = err
			return
		}
		cmd := exec.Command("cargo", "build", "-q", "-p", "ax-sidecar")
		cmd.Dir = root
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			binaryErr = fmt.Errorf("sidecartest: cargo build -p ax-sidecar: %w", err)
			return
		}
		binaryPath = filepath.Join(root, "target", "debug", "ax-sidecar")
	})
	if binaryErr != nil {
		t.Fatal(binaryErr)
	}
	return binaryPath
}

// NewToken is a fresh random client token.
func NewToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Sidecar is a sealed bundle in a private directory, and the sidecar serving it.
type Sidecar struct {
	Socket string // the socket path
	Token  string // the client token the sidecar requires ("" for none)

	t      testing.TB
	binary string
	work   string
	cmd    *exec.Cmd
	starts int
}

// Start seals secrets and overrides (name to a value string, or to an object of value,
// version and updated_at) and starts a sidecar serving them, with the client token token
// when it is not "". The sidecar is stopped and its directory removed when the test ends.
func Start(t testing.TB, secrets, overrides map[string]any, token string) *Sidecar {
	t.Helper()
	binary := Binary(t)
	// A short private directory of our own: socket paths must stay under 108 bytes.
	work, err := os.MkdirTemp("", "axgo-")
	if err != nil {
		t.Fatal(err)
	}
	s := &Sidecar{Socket: filepath.Join(work, "run", "s.sock"), Token: token, t: t, binary: binary, work: work}
	t.Cleanup(func() {
		if _, err := s.Stop(); err != nil {
			t.Error(err)
		}
		_ = os.RemoveAll(work)
	})
	if err := s.seal(secrets, overrides); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	return s
}

// Seal runs `ax-sidecar seal` on a spec; it returns the command's error, for tests of what
// sealing refuses.
func Seal(t testing.TB, secrets map[string]any) error {
	t.Helper()
	work := t.TempDir()
	s := &Sidecar{t: t, binary: Binary(t), work: work}
	return s.seal(secrets, nil)
}

func (s *Sidecar) seal(secrets, overrides map[string]any) error {
	if overrides == nil {
		overrides = map[string]any{}
	}
	spec, err := json.Marshal(map[string]any{"secrets": secrets, "overrides": overrides})
	if err != nil {
		return err
	}
	specPath := filepath.Join(s.work, "secrets.json")
	if err := os.WriteFile(specPath, spec, 0o600); err != nil {
		return err
	}
	cmd := exec.Command(s.binary, "seal", "--input", specPath,
		"--key-file", filepath.Join(s.work, "key"),
		"--output", filepath.Join(s.work, "bundle"), "--new-key")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ax-sidecar seal: %w: %s", err, out)
	}
	if s.Token != "" {
		return os.WriteFile(filepath.Join(s.work, "token"), []byte(s.Token), 0o600)
	}
	return nil
}

// Start starts the sidecar (again) and waits for its ready line.
func (s *Sidecar) Start() error {
	s.starts++
	logPath := filepath.Join(s.work, fmt.Sprintf("sidecar-%d.log", s.starts))
	log, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer log.Close()
	ready, readyWrite, err := os.Pipe()
	if err != nil {
		return err
	}
	defer ready.Close()
	args := []string{"serve", "--socket", s.Socket,
		"--bundle-file", filepath.Join(s.work, "bundle"),
		"--key-file", filepath.Join(s.work, "key"),
		"--audit-file", filepath.Join(s.work, "audit.jsonl"),
		"--ready-fd", "3"}
	if s.Token != "" {
		args = append(args, "--client-token-file", filepath.Join(s.work, "token"))
	}
	cmd := exec.Command(s.binary, args...)
	cmd.ExtraFiles = []*os.File{readyWrite} // fd 3
	cmd.Stdout, cmd.Stderr = log, log
	err = cmd.Start()
	readyWrite.Close()
	if err != nil {
		return err
	}
	s.cmd = cmd
	line := readReady(ready)
	if line != "READY\n" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		s.cmd = nil
		logged, _ := os.ReadFile(logPath)
		return fmt.Errorf("the sidecar did not become ready (read %q):\n%s", line, logged)
	}
	return nil
}

func readReady(r *os.File) string {
	_ = r.SetReadDeadline(time.Now().Add(startTimeout))
	var got []byte
	buf := make([]byte, 64)
	for !strings.HasSuffix(string(got), "\n") {
		n, err := r.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			break
		}
	}
	return string(got)
}

// Stop sends SIGTERM and waits for the exit; it returns the exit code (0 when not running).
func (s *Sidecar) Stop() (int, error) {
	cmd := s.cmd
	if cmd == nil {
		return 0, nil
	}
	s.cmd = nil
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return cmd.ProcessState.ExitCode(), nil
	case <-time.After(stopTimeout):
		_ = cmd.Process.Kill()
		<-done
		return -1, errors.New("the sidecar did not stop within 30 s of SIGTERM")
	}
}

// Restart stops the sidecar and starts a new one on the same socket.
func (s *Sidecar) Restart() {
	s.t.Helper()
	if code, err := s.Stop(); err != nil || code != 0 {
		s.t.Fatalf("stopping the sidecar: exit %d, %v", code, err)
	}
	if err := s.Start(); err != nil {
		s.t.Fatal(err)
	}
}
