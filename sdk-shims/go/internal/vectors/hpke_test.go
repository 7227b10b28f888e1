package vectors_test

// RFC 9180 HPKE, base mode, DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM, single
// shot: just enough to open and re-seal the bundle vectors (PROTOCOL.md §11.2). Shims never
// open bundles; the tests do, to check the vectors from a second implementation.

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
)

var (
	kemSuite  = []byte{'K', 'E', 'M', 0x00, 0x20}
	hpkeSuite = []byte{'H', 'P', 'K', 'E', 0x00, 0x20, 0x00, 0x01, 0x00, 0x02}
)

var errLowOrder = errors.New("low-order X25519 input")

func extract(salt, ikm []byte) []byte {
	if len(salt) == 0 {
		salt = make([]byte, sha256.Size)
	}
	m := hmac.New(sha256.New, salt)
	m.Write(ikm)
	return m.Sum(nil)
}

func expand(prk, info []byte, n int) []byte {
	var out, t []byte
	for i := byte(1); len(out) < n; i++ {
		m := hmac.New(sha256.New, prk)
		m.Write(t)
		m.Write(info)
		m.Write([]byte{i})
		t = m.Sum(nil)
		out = append(out, t...)
	}
	return out[:n]
}

func labeledExtract(suite, salt []byte, label string, ikm []byte) []byte {
	in := append(append(append([]byte("HPKE-v1"), suite...), label...), ikm...)
	return extract(salt, in)
}

func labeledExpand(suite, prk []byte, label string, info []byte, n int) []byte {
	in := binary.BigEndian.AppendUint16(nil, uint16(n))
	in = append(append(append(append(in, "HPKE-v1"...), suite...), label...), info...)
	return expand(prk, in, n)
}

// keySchedule returns the AEAD and nonce for the shared secret of the KEM and info.
func keySchedule(dh, enc, pkR, info []byte) (cipher.AEAD, []byte, error) {
	kemContext := append(append([]byte(nil), enc...), pkR...)
	eaePRK := labeledExtract(kemSuite, nil, "eae_prk", dh)
	shared := labeledExpand(kemSuite, eaePRK, "shared_secret", kemContext, 32)
	pskIDHash := labeledExtract(hpkeSuite, nil, "psk_id_hash", nil)
	infoHash := labeledExtract(hpkeSuite, nil, "info_hash", info)
	context := append(append([]byte{0x00}, pskIDHash...), infoHash...)
	secret := labeledExtract(hpkeSuite, shared, "secret", nil)
	key := labeledExpand(hpkeSuite, secret, "key", context, 32)
	nonce := labeledExpand(hpkeSuite, secret, "base_nonce", context, 12)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, nil, err
	}
	aead, err := cipher.NewGCM(block)
	return aead, nonce, err
}

// setupReceiver is SetupBaseR(enc, skR, info).
func setupReceiver(enc, skR, info []byte) (cipher.AEAD, []byte, error) {
	sk, err := ecdh.X25519().NewPrivateKey(skR)
	if err != nil {
		return nil, nil, err
	}
	pkE, err := ecdh.X25519().NewPublicKey(enc)
	if err != nil {
		return nil, nil, errLowOrder
	}
	dh, err := sk.ECDH(pkE) // refuses an all-zero result (a low-order enc)
	if err != nil {
		return nil, nil, errLowOrder
	}
	return keySchedule(dh, enc, sk.PublicKey().Bytes(), info)
}

// setupSender is SetupBaseS(pkR, info) with the ephemeral private key skE: it returns enc.
func setupSender(pkR, skE, info []byte) ([]byte, cipher.AEAD, []byte, error) {
	ephemeral, err := ecdh.X25519().NewPrivateKey(skE)
	if err != nil {
		return nil, nil, nil, err
	}
	recipient, err := ecdh.X25519().NewPublicKey(pkR)
	if err != nil {
		return nil, nil, nil, err
	}
	dh, err := ephemeral.ECDH(recipient)
	if err != nil {
		return nil, nil, nil, err
	}
	enc := ephemeral.PublicKey().Bytes()
	aead, nonce, err := keySchedule(dh, enc, pkR, info)
	return enc, aead, nonce, err
}
