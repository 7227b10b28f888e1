package vectors_test

// Every vector of bundles.json, one sub-test each: open hex with the vector's keys (envelope,
// PROTOCOL.md §11.4; local file, §12), compare the plaintext and the bundle, and re-seal
// valid ones byte for byte; invalid ones must be refused with the vector's error.

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"testing"

	"github.com/ax-secrets/ax-secrets/sdk-shims/go/internal/names"
	"github.com/ax-secrets/ax-secrets/sdk-shims/go/internal/vectors"
	"github.com/ax-secrets/ax-secrets/sdk-shims/go/internal/wire"
)

const (
	envelopeMagic = "ax-secrets/bundle/v1\n"
	localMagic    = "ax-secrets/local-bundle/v1\n"
	maxSkew       = 300
)

type refusal string

func (r refusal) Error() string { return string(r) }

type bundleInputs struct {
	format, expectedExecution                  string
	key, controlPlaneKey, randomness, signSeed []byte
	now                                        uint64
}

func inputs(t *testing.T, value vectors.Object) bundleInputs {
	t.Helper()
	if err := vectors.ExactKeys(value, "format", "key", "control_plane_public_key", "expected_execution_id",
		"now", "seal_randomness", "signing_seed", "plaintext", "bundle"); err != nil {
		t.Fatal(err)
	}
	hexOf := func(key string) []byte {
		if value[key] == nil {
			return nil
		}
		s, _ := value[key].(string)
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		return b
	}
	in := bundleInputs{
		key: hexOf("key"), controlPlaneKey: hexOf("control_plane_public_key"),
		randomness: hexOf("seal_randomness"), signSeed: hexOf("signing_seed"),
	}
	in.format, _ = value["format"].(string)
	in.expectedExecution, _ = value["expected_execution_id"].(string)
	now, _ := value["now"].(json.Number)
	var err error
	if in.now, err = strconv.ParseUint(string(now), 10, 64); err != nil {
		t.Fatalf("now: %v", err)
	}
	return in
}

// openEnvelope follows PROTOCOL.md §11.4 in order; it returns the plaintext.
func openEnvelope(data []byte, in bundleInputs) ([]byte, error) {
	if !bytes.HasPrefix(data, []byte(envelopeMagic)) {
		if bytes.HasPrefix([]byte(envelopeMagic), data) {
			return nil, refusal("Truncated")
		}
		return nil, refusal("BadMagic")
	}
	if len(data) < len(envelopeMagic)+1 {
		return nil, refusal("Truncated")
	}
	l := int(data[len(envelopeMagic)])
	if l == 0 || l > 128 {
		return nil, refusal("InvalidExecutionId")
	}
	idEnd := len(envelopeMagic) + 1 + l
	ctStart := idEnd + 32 + 4
	if len(data) < ctStart {
		return nil, refusal("Truncated")
	}
	c := int(binary.BigEndian.Uint32(data[idEnd+32:]))
	if c < 16 {
		return nil, refusal("LengthMismatch")
	}
	total := ctStart + c + ed25519.SignatureSize
	switch {
	case len(data) < total:
		return nil, refusal("Truncated")
	case len(data) > total:
		return nil, refusal("LengthMismatch")
	}
	signedEnd := ctStart + c
	if !ed25519.Verify(in.controlPlaneKey, data[:signedEnd], data[signedEnd:]) {
		return nil, refusal("BadSignature")
	}
	if string(data[len(envelopeMagic)+1:idEnd]) != in.expectedExecution {
		return nil, refusal("WrongExecution")
	}
	aead, nonce, err := setupReceiver(data[idEnd:idEnd+32], in.key, data[:idEnd])
	if errors.Is(err, errLowOrder) {
		return nil, refusal("BadEncapsulatedKey")
	} else if err != nil {
		return nil, err
	}
	plaintext, err := aead.Open(nil, nonce, data[ctStart:signedEnd], data[:ctStart])
	if err != nil {
		return nil, refusal("DecryptionFailed")
	}
	return plaintext, nil
}

func sealEnvelope(plaintext []byte, executionID string, in bundleInputs) ([]byte, error) {
	recipient, err := ecdh.X25519().NewPrivateKey(in.key)
	if err != nil {
		return nil, err
	}
	head := append([]byte(envelopeMagic), byte(len(executionID)))
	head = append(head, executionID...)
	enc, aead, nonce, err := setupSender(recipient.PublicKey().Bytes(), in.randomness, head)
	if err != nil {
		return nil, err
	}
	out := append(head, enc...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(plaintext)+aead.Overhead()))
	out = aead.Seal(out, nonce, plaintext, out)
	return append(out, ed25519.Sign(ed25519.NewKeyFromSeed(in.signSeed), out)...), nil
}

func localAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// openLocal follows PROTOCOL.md §12.
func openLocal(data []byte, in bundleInputs) ([]byte, error) {
	if !bytes.HasPrefix(data, []byte(localMagic)) {
		if bytes.HasPrefix([]byte(localMagic), data) {
			return nil, refusal("Truncated")
		}
		return nil, refusal("BadMagic")
	}
	header := len(localMagic) + 12
	if len(data) < header+16 {
		return nil, refusal("Truncated")
	}
	aead, err := localAEAD(in.key)
	if err != nil {
		return nil, err
	}
	plaintext, err := aead.Open(nil, data[len(localMagic):header], data[header:], data[:header])
	if err != nil {
		return nil, refusal("DecryptionFailed")
	}
	return plaintext, nil
}

func sealLocal(plaintext []byte, in bundleInputs) ([]byte, error) {
	aead, err := localAEAD(in.key)
	if err != nil {
		return nil, err
	}
	out := append([]byte(localMagic), in.randomness...)
	return aead.Seal(out, in.randomness, plaintext, out), nil
}

// decodeBundle decodes the postcard plaintext of §11.1 into its canonical JSON, and checks
// the validity window.
func decodeBundle(plaintext []byte, in bundleInputs) (vectors.Object, error) {
	r := wire.NewReader(plaintext)
	var err error
	str := func() string {
		var s string
		if err == nil {
			s, err = r.String()
		}
		return s
	}
	u64 := func() uint64 {
		var v uint64
		if err == nil {
			v, err = r.U64()
		}
		return v
	}
	list := func() []any {
		out := []any{}
		var n uint64
		if err == nil {
			n, _, err = r.Count()
		}
		for i := uint64(0); i < n && err == nil; i++ {
			name, value := str(), str()
			var version uint32
			if err == nil {
				version, err = r.U32()
			}
			created, updated := u64(), u64()
			if err == nil && !names.Valid(name) {
				err = refusal("InvalidName")
			}
			out = append(out, vectors.Object{
				"name": name, "value": value, "version": num(uint64(version)),
				"created_at": num(created), "updated_at": num(updated),
			})
		}
		return out
	}
	b := vectors.Object{"tenant": str(), "execution_id": str(), "environment": str()}
	if err == nil {
		config, found, e := r.OptionString()
		err = e
		b["config"] = nil
		if found {
			b["config"] = config
		}
	}
	issued, expires := u64(), u64()
	b["issued_at"], b["expires_at"] = num(issued), num(expires)
	b["secrets"], b["overrides"] = list(), list()
	if err == nil {
		err = r.Finish()
	}
	if err != nil {
		return nil, fmt.Errorf("the plaintext does not decode: %w", err)
	}
	if in.format == "envelope" && b["execution_id"] != in.expectedExecution {
		return nil, refusal("WrongExecution")
	}
	if issued > in.now && issued-in.now > maxSkew {
		return nil, refusal("NotYetValid")
	}
	if in.now >= expires {
		return nil, refusal("Expired")
	}
	return b, nil
}

func TestBundleVectors(t *testing.T) {
	f, err := vectors.Load("bundles.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range f.Tests {
		t.Run(v.Label(f.Name), func(t *testing.T) {
			value, ok := v.Value.(vectors.Object)
			if !ok {
				t.Fatal("value is not an object")
			}
			in := inputs(t, value)
			data, err := hex.DecodeString(v.Hex)
			if err != nil {
				t.Fatal(err)
			}
			var plaintext []byte
			switch in.format {
			case "envelope":
				plaintext, err = openEnvelope(data, in)
			case "local":
				plaintext, err = openLocal(data, in)
			default:
				t.Fatalf("format %q", in.format)
			}
			var bundle vectors.Object
			if err == nil {
				bundle, err = decodeBundle(plaintext, in)
			}
			if !v.Valid {
				var r refusal
				if !errors.As(err, &r) || string(r) != v.Error {
					t.Fatalf("refused with %v, want %s", err, v.Error)
				}
				if value["plaintext"] != nil || value["bundle"] != nil {
					t.Fatal("an invalid vector with a plaintext or bundle")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(plaintext); got != value["plaintext"] {
				t.Fatalf("plaintext %s\nwant      %v", got, value["plaintext"])
			}
			if !reflect.DeepEqual(bundle, value["bundle"]) {
				t.Fatalf("bundle %v\nwant   %v", bundle, value["bundle"])
			}
			var again []byte
			if in.format == "envelope" {
				again, err = sealEnvelope(plaintext, in.expectedExecution, in)
			} else {
				again, err = sealLocal(plaintext, in)
			}
			if err != nil || !bytes.Equal(again, data) {
				t.Fatalf("re-sealing gives %x (%v)\nwant %x", again, err, data)
			}
		})
	}
}
