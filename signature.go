package clerkauth

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"time"
)

// checkSignature finds the key for the token, checks the signature and
// returns the key that verified it. The unverified claims are consulted
// only when a key fetch is needed, so a token that would fail anyway never
// causes one.
func (v *Verifier) checkSignature(ctx context.Context, t *parsedToken, now time.Time) (*verifyKey, error) {
	return v.checkSignatureWith(ctx, t, now, v.checkClaims)
}

// checkSignatureWith is checkSignature with the claim rules of the token's
// kind, applied to the unverified claims before a key fetch.
func (v *Verifier) checkSignatureWith(ctx context.Context, t *parsedToken, now time.Time, checkClaims func(*Claims, time.Time) error) (*verifyKey, error) {
	if v.staticKey != nil {
		err := v.verifyWith(t, v.staticKey)
		if err == nil || v.remote == nil {
			return v.staticKey, err
		}
	}
	if v.remote == nil {
		return nil, errKidMismatch()
	}
	if t.kid == "" {
		return nil, verr(ReasonJWKKidMismatch, "token has no kid")
	}
	k := v.remote.lookup(t.kid)
	if k == nil {
		if err := checkClaims(t.claims, now); err != nil {
			return nil, err
		}
		var err error
		if k, err = v.resolveKey(ctx, t.kid, t.claims.IssuedAt); err != nil { // jwks.go's resolve, reported
			return nil, err
		}
	}
	return k, v.verifyWith(t, k)
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
