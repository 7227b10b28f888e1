package vectors_test

// Every message vector (requests*.json, responses*.json), one sub-test each: decode and
// compare, re-encode valid ones byte for byte, refuse invalid ones with the vector's error.

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"testing"
	"testing/iotest"

	"github.com/ax-secrets/ax-secrets/sdk-shims/go/internal/vectors"
	"github.com/ax-secrets/ax-secrets/sdk-shims/go/internal/wire"
)

var messageFiles = []string{"requests.json", "requests-large.json", "responses.json", "responses-large.json"}

func num(v uint64) json.Number { return json.Number(strconv.FormatUint(v, 10)) }

func strs(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// toJSON is the canonical JSON of a decoded message (PROTOCOL.md §10.2).
func toJSON(id uint32, body any) vectors.Object {
	out := vectors.Object{"id": num(uint64(id))}
	switch b := body.(type) {
	case wire.HelloRequest:
		out["type"] = "Hello"
		out["version"], out["client"] = num(uint64(b.Version)), b.Client
		if b.Token == nil {
			out["token"] = nil
		} else {
			out["token"] = *b.Token
		}
	case wire.GetRequest:
		out["type"], out["name"] = "Get", b.Name
	case wire.ListRequest:
		out["type"] = "List"
	case wire.RenderRequest:
		out["type"], out["template"] = "Render", b.Template
	case wire.RedactRequest:
		out["type"], out["text"] = "Redact", b.Text
	case wire.PingRequest:
		out["type"] = "Ping"
	case wire.HelloResponse:
		out["type"] = "Hello"
		out["version"], out["sidecar"], out["execution_id"] = num(uint64(b.Version)), b.Sidecar, b.ExecutionID
	case wire.SecretResponse:
		out["type"] = "Secret"
		if b.Found {
			out["value"] = b.Value
		} else {
			out["value"] = nil
		}
	case wire.ListResponse:
		out["type"] = "List"
		secrets := []any{}
		for _, s := range b.Secrets {
			secrets = append(secrets, vectors.Object{
				"name": s.Name, "version": num(uint64(s.Version)), "updated_at": num(s.UpdatedAt),
			})
		}
		out["secrets"] = secrets
	case wire.RenderedResponse:
		out["type"], out["text"], out["missing"] = "Rendered", b.Text, strs(b.Missing)
	case wire.RedactedResponse:
		out["type"], out["text"], out["found"] = "Redacted", b.Text, strs(b.Found)
	case wire.PongResponse:
		out["type"] = "Pong"
	case wire.ErrorResponse:
		out["type"], out["code"], out["message"] = "Error", b.Code.String(), b.Message
	default:
		panic(fmt.Sprintf("toJSON: %T", body))
	}
	return out
}

// fields reads a canonical JSON message strictly: exactly id, type and fields.
type fields struct {
	obj vectors.Object
	err error
}

func (f *fields) str(key string) string {
	s, ok := f.obj[key].(string)
	if !ok && f.err == nil {
		f.err = fmt.Errorf("%s is not a string", key)
	}
	return s
}

func (f *fields) optStr(key string) *string {
	if f.obj[key] == nil {
		return nil
	}
	s := f.str(key)
	return &s
}

func (f *fields) uint(key string, bits int) uint64 {
	n, ok := f.obj[key].(json.Number)
	v, err := strconv.ParseUint(string(n), 10, bits)
	if (!ok || err != nil) && f.err == nil {
		f.err = fmt.Errorf("%s is not a u%d", key, bits)
	}
	return v
}

func (f *fields) strList(key string) []string {
	list, ok := f.obj[key].([]any)
	if !ok && f.err == nil {
		f.err = fmt.Errorf("%s is not a list", key)
	}
	out := []string{}
	for _, x := range list {
		s, ok := x.(string)
		if !ok && f.err == nil {
			f.err = fmt.Errorf("%s holds a non-string", key)
		}
		out = append(out, s)
	}
	return out
}

// fromJSON is the message a canonical JSON object stands for; it fails on unknown or
// missing fields.
func fromJSON(direction string, value any) (uint32, any, error) {
	obj, ok := value.(vectors.Object)
	if !ok {
		return 0, nil, fmt.Errorf("value is not an object")
	}
	f := &fields{obj: obj}
	id := uint32(f.uint("id", 32))
	typ := f.str("type")
	keys := func(k ...string) {
		if err := vectors.ExactKeys(obj, append([]string{"id", "type"}, k...)...); err != nil && f.err == nil {
			f.err = err
		}
	}
	var body any
	switch direction + "/" + typ {
	case "request/Hello":
		keys("version", "client", "token")
		body = wire.HelloRequest{Version: uint16(f.uint("version", 16)), Client: f.str("client"), Token: f.optStr("token")}
	case "request/Get":
		keys("name")
		body = wire.GetRequest{Name: f.str("name")}
	case "request/List":
		keys()
		body = wire.ListRequest{}
	case "request/Render":
		keys("template")
		body = wire.RenderRequest{Template: f.str("template")}
	case "request/Redact":
		keys("text")
		body = wire.RedactRequest{Text: f.str("text")}
	case "request/Ping":
		keys()
		body = wire.PingRequest{}
	case "response/Hello":
		keys("version", "sidecar", "execution_id")
		body = wire.HelloResponse{Version: uint16(f.uint("version", 16)), Sidecar: f.str("sidecar"), ExecutionID: f.str("execution_id")}
	case "response/Secret":
		keys("value")
		v := f.optStr("value")
		s := wire.SecretResponse{Found: v != nil}
		if v != nil {
			s.Value = *v
		}
		body = s
	case "response/List":
		keys("secrets")
		list, _ := obj["secrets"].([]any)
		var out wire.ListResponse
		for _, x := range list {
			e, _ := x.(vectors.Object)
			if err := vectors.ExactKeys(e, "name", "version", "updated_at"); err != nil {
				return 0, nil, err
			}
			g := &fields{obj: e}
			info := wire.SecretInfo{Name: g.str("name"), Version: uint32(g.uint("version", 32)), UpdatedAt: g.uint("updated_at", 64)}
			if g.err != nil {
				return 0, nil, g.err
			}
			out.Secrets = append(out.Secrets, info)
		}
		body = out
	case "response/Rendered":
		keys("text", "missing")
		body = wire.RenderedResponse{Text: f.str("text"), Missing: f.strList("missing")}
	case "response/Redacted":
		keys("text", "found")
		body = wire.RedactedResponse{Text: f.str("text"), Found: f.strList("found")}
	case "response/Pong":
		keys()
		body = wire.PongResponse{}
	case "response/Error":
		keys("code", "message")
		code, ok := wire.ParseErrorCode(f.str("code"))
		if !ok {
			return 0, nil, fmt.Errorf("code %v", obj["code"])
		}
		body = wire.ErrorResponse{Code: code, Message: f.str("message")}
	default:
		return 0, nil, fmt.Errorf("unknown %s type %q", direction, typ)
	}
	return id, body, f.err
}

func decode(direction string, body []byte) (uint32, any, error) {
	if direction == "request" {
		r, err := wire.DecodeRequest(body)
		return r.ID, r.Body, err
	}
	r, err := wire.DecodeResponse(body)
	return r.ID, r.Body, err
}

func encodeFrame(direction string, id uint32, body any) []byte {
	if direction == "request" {
		return wire.AppendRequestFrame(nil, wire.Request{ID: id, Body: body.(wire.RequestBody)})
	}
	return wire.Frame(wire.AppendResponse(nil, wire.Response{ID: id, Body: body.(wire.ResponseBody)}))
}

func kindOf(err error) string {
	var k wire.Kind
	if errors.As(err, &k) {
		return k.String()
	}
	return fmt.Sprintf("not a wire.Kind: %v", err)
}

func TestMessageVectors(t *testing.T) {
	for _, name := range messageFiles {
		f, err := vectors.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range f.Tests {
			t.Run(v.Label(name), func(t *testing.T) { runMessageVector(t, f, v) })
		}
	}
}

func runMessageVector(t *testing.T, f *vectors.File, v vectors.Test) {
	stream, err := hex.DecodeString(v.Hex)
	if err != nil {
		t.Fatal(err)
	}
	body, err := wire.FromStream(stream, f.Limit)
	if !v.Valid {
		if v.Value != nil {
			t.Fatalf("an invalid vector with a value")
		}
		if err == nil {
			_, _, err = decode(f.Direction, body)
		}
		if got := kindOf(err); got != v.Error {
			t.Fatalf("refused with %s, want %s", got, v.Error)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	id, msg, err := decode(f.Direction, body)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if got := toJSON(id, msg); !reflect.DeepEqual(got, v.Value) {
		t.Fatalf("decoded %v\nwant    %v", got, v.Value)
	}
	wantID, wantMsg, err := fromJSON(f.Direction, v.Value)
	if err != nil {
		t.Fatalf("value: %v", err)
	}
	again := encodeFrame(f.Direction, wantID, wantMsg)
	if v.HasFlag("NonCanonical") {
		if bytes.Equal(again, stream) {
			t.Fatal("the canonical re-encoding equals the non-canonical bytes")
		}
		againBody, err := wire.FromStream(again, f.Limit)
		if err != nil {
			t.Fatal(err)
		}
		if id2, msg2, err := decode(f.Direction, againBody); err != nil || id2 != id || !reflect.DeepEqual(msg2, msg) {
			t.Fatalf("the canonical form decodes differently: %v", err)
		}
	} else if !bytes.Equal(again, stream) {
		t.Fatalf("re-encoded %x\nwant        %x", again, stream)
	}
}

// TestMessageVectorsThroughTheClientsReader feeds every message vector to the buffered
// reader the client reads responses with, whole and one byte at a time, with a read buffer
// larger and smaller than the frames.
func TestMessageVectorsThroughTheClientsReader(t *testing.T) {
	for _, name := range messageFiles {
		f, err := vectors.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range f.Tests {
			t.Run(v.Label(name), func(t *testing.T) {
				stream, err := hex.DecodeString(v.Hex)
				if err != nil {
					t.Fatal(err)
				}
				for _, size := range []int{16, 64 << 10} {
					for _, oneByte := range []bool{false, true} {
						var src io.Reader = bytes.NewReader(stream)
						if oneByte {
							src = iotest.OneByteReader(src)
						}
						readThroughClient(t, f, v, bufio.NewReaderSize(src, size))
					}
				}
			})
		}
	}
}

func readThroughClient(t *testing.T, f *vectors.File, v vectors.Test, r *bufio.Reader) {
	t.Helper()
	var id uint32
	var msg any
	err := wire.ReadFrame(r, f.Limit, func(body []byte) error {
		var err error
		id, msg, err = decode(f.Direction, body)
		return err
	})
	switch {
	case v.Valid:
		if err != nil {
			t.Fatalf("ReadFrame: %v", err)
		}
		if got := toJSON(id, msg); !reflect.DeepEqual(got, v.Value) {
			t.Fatalf("decoded %v", got)
		}
		if err := wire.ReadFrame(r, f.Limit, func([]byte) error { return nil }); err != io.EOF {
			t.Fatalf("after the frame: %v, want a clean end of stream", err)
		}
	case v.Error == "Truncated":
		if err != io.ErrUnexpectedEOF {
			t.Fatalf("got %v, want an end of stream inside the frame", err)
		}
	case v.Error == "TrailingBytes" && err == nil:
		// One complete frame and then more bytes: a stream reader reads the frame; the
		// bytes after it start the next one.
		if err := wire.ReadFrame(r, f.Limit, func([]byte) error { return nil }); err == nil {
			t.Fatal("the trailing bytes read as a frame")
		}
	default:
		if got := kindOf(err); got != v.Error {
			t.Fatalf("refused with %s, want %s", got, v.Error)
		}
	}
}

func TestAVarintAtEveryBoundaryRoundTrips(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 300, 16383, 16384, 2097151, 2097152, 268435455, 268435456, 1<<32 - 1, 1<<64 - 1} {
		enc := wire.AppendVarint(nil, v)
		if len(enc) != wire.VarintLen(v) {
			t.Errorf("%d: %d bytes, VarintLen %d", v, len(enc), wire.VarintLen(v))
		}
		got, err := wire.NewReader(enc).U64()
		if err != nil || got != v {
			t.Errorf("%d: decoded %d, %v", v, got, err)
		}
	}
}
