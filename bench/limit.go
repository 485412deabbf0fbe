package bench

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"unsafe"
)

// Limit is the least work any verifier must do for a token: base64-decode
// its three segments, SHA-256 its signing input and check the RSA
// signature. It parses no JSON and checks no claim. It is not safe for
// concurrent use (it reuses one buffer).
type Limit struct {
	pub *rsa.PublicKey
	buf []byte
}

// NewLimit returns a Limit checking signatures with pub.
func NewLimit(pub *rsa.PublicKey) *Limit {
	return &Limit{pub: pub, buf: make([]byte, 16<<10)}
}

// Verify checks token's signature.
func (l *Limit) Verify(token string) error {
	dot2 := strings.LastIndexByte(token, '.')
	dot1 := strings.IndexByte(token, '.')
	if dot1 < 0 || dot2 <= dot1 {
		return errors.New("bench: malformed token")
	}
	segs := [3]string{token[:dot1], token[dot1+1 : dot2], token[dot2+1:]}
	var n int
	var err error
	for _, s := range segs {
		if n, err = base64.RawURLEncoding.Decode(l.buf, bytesOf(s)); err != nil {
			return err
		}
	}
	input := token[:dot2]
	sum := sha256.Sum256(bytesOf(input))
	return rsa.VerifyPKCS1v15(l.pub, crypto.SHA256, sum[:], l.buf[:n])
}

// bytesOf views s as bytes without copying; the bytes must not be written.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
