package clerkauth

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"time"
)

// checkSignature finds the key for the token and checks the signature. The
// unverified claims are consulted only when a key fetch is needed, so a
// token that would fail anyway never causes one.
func (v *Verifier) checkSignature(ctx context.Context, t *parsedToken, now time.Time) error {
	if v.staticKey != nil {
		err := v.verifyWith(t, v.staticKey)
		if err == nil || v.remote == nil {
			return err
		}
	}
	if v.remote == nil {
		return errKidMismatch()
	}
	if t.kid == "" {
		return verr(ReasonJWKKidMismatch, "token has no kid")
	}
	if k := v.remote.lookup(t.kid); k != nil {
		return v.verifyWith(t, k)
	}
	if err := v.checkClaims(t.claims, now); err != nil {
		return err
	}
	k, err := v.resolveKey(ctx, t.kid) // jwks.go's resolve, reported
	if err != nil {
		return err
	}
	return v.verifyWith(t, k)
}

// verifyWith checks the token's signature with k, whose alg (when it has
// one) must equal the header's.
func (v *Verifier) verifyWith(t *parsedToken, k *verifyKey) error {
	if k.alg != "" && k.alg != t.alg {
		return verr(ReasonTokenInvalidAlgorithm, "header alg does not match the key's alg")
	}
	if len(t.sig) != k.pub.Size() {
		return verr(ReasonTokenInvalidSignature, "signature length does not match the key")
	}
	h, digest := hashSigningInput(t.alg, t.signingInput)
	if rsa.VerifyPKCS1v15(k.pub, h, digest, t.sig) != nil {
		return verr(ReasonTokenInvalidSignature, "signature is invalid")
	}
	return nil
}

// hashSigningInput hashes the signing input. An input of ordinary size is
// copied into a stack buffer: []byte(input) would allocate a heap copy of
// it (a kilobyte for a typical token) on every cold verification.
func hashSigningInput(alg, input string) (crypto.Hash, []byte) {
	var buf [2048]byte
	b := append(buf[:0], input...)
	switch alg {
	case "RS384":
		sum := sha512.Sum384(b)
		return crypto.SHA384, sum[:]
	case "RS512":
		sum := sha512.Sum512(b)
		return crypto.SHA512, sum[:]
	}
	sum := sha256.Sum256(b)
	return crypto.SHA256, sum[:]
}
