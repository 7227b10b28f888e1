package wire

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestTheGetFrameIsTheGenericEncoding(t *testing.T) {
	for _, id := range []uint32{1, 127, 128, 1<<32 - 1} {
		for _, name := range []string{"A", "OPENAI_API_KEY", strings.Repeat("N", 128)} {
			want := AppendRequestFrame(nil, Request{ID: id, Body: GetRequest{Name: name}})
			if got := AppendGetFrame(nil, id, name); !bytes.Equal(got, want) {
				t.Fatalf("id %d %q: %x, want %x", id, name, got, want)
			}
		}
	}
}

func TestTheTextFramesAreTheGenericEncoding(t *testing.T) {
	for _, text := range []string{"", "x", strings.Repeat("t", 16384)} {
		want := AppendRequestFrame(nil, Request{ID: 300, Body: RenderRequest{Template: text}})
		if got := AppendTextFrame(nil, TagRender, 300, text); !bytes.Equal(got, want) {
			t.Fatalf("Render %d bytes differs", len(text))
		}
		want = AppendRequestFrame(nil, Request{ID: 300, Body: RedactRequest{Text: text}})
		if got := AppendTextFrame(nil, TagRedact, 300, text); !bytes.Equal(got, want) {
			t.Fatalf("Redact %d bytes differs", len(text))
		}
		if got := TextBodyLen(300, len(text)); got != len(want)-HeaderLen {
			t.Fatalf("TextBodyLen %d, frame body %d", got, len(want)-HeaderLen)
		}
	}
}

func TestReadFrameReadsFramesBackToBackSplitAtEveryByte(t *testing.T) {
	big := strings.Repeat("v", 100)
	var stream []byte
	for _, value := range []string{"a", big, ""} {
		stream = append(stream, Frame(AppendResponse(nil, Response{ID: 7, Body: SecretResponse{Value: value, Found: true}}))...)
	}
	for _, r := range []io.Reader{bytes.NewReader(stream), iotest.OneByteReader(bytes.NewReader(stream)), iotest.HalfReader(bytes.NewReader(stream))} {
		br := bufio.NewReaderSize(r, 16) // smaller than the middle frame
		var got []string
		for {
			err := ReadFrame(br, MaxResponseBody, func(body []byte) error {
				resp, err := DecodeResponse(body)
				if err == nil {
					got = append(got, resp.Body.(SecretResponse).Value)
				}
				return err
			})
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if len(got) != 3 || got[0] != "a" || got[1] != big || got[2] != "" {
			t.Fatalf("read %q", got)
		}
	}
}

func TestReadFrameWipesTheBodyAfterUse(t *testing.T) {
	for _, size := range []int{16, 4096} { // the body read apart, and in place
		stream := Frame(AppendResponse(nil, Response{ID: 1, Body: SecretResponse{Value: "sk-secret-value-xyz", Found: true}}))
		var kept []byte
		err := ReadFrame(bufio.NewReaderSize(bytes.NewReader(stream), size), MaxResponseBody, func(body []byte) error {
			kept = body
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(kept, make([]byte, len(kept))) {
			t.Fatalf("buffer of %d: the body was not wiped: %q", size, kept)
		}
	}
}

func TestReadFrameRefusesAnOversizedLengthBeforeReadingTheBody(t *testing.T) {
	r := bufio.NewReader(iotest.DataErrReader(bytes.NewReader([]byte{0, 0x10, 0, 1})))
	if err := ReadFrame(r, MaxRequestBody, func([]byte) error { return nil }); err != FrameTooLarge {
		t.Fatalf("got %v", err)
	}
}

func TestKindsHaveNamesAndMessages(t *testing.T) {
	for k := FrameTooLarge; k <= MessageTooLarge; k++ {
		if strings.Contains(k.String(), "?") || !strings.HasPrefix(k.Error(), "ax-secrets wire: ") || strings.HasSuffix(k.Error(), "malformed message") {
			t.Errorf("kind %d: %q %q", k, k, k.Error())
		}
	}
}
