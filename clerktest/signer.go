package clerktest

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha256" // SHA-256 for RS256, PS256, HS256
	_ "crypto/sha512" // SHA-384 and SHA-512
	"fmt"
	"slices"
)

// Signer signs the signing input (base64url header "." base64url payload)
// of a token minted by [Server.Mint]. It does not look at the header: a
// Signer may disagree with the header's alg on purpose. The Signers of this
// package are safe for concurrent use.
type Signer interface {
	Sign(signingInput []byte) ([]byte, error)
}

type signerFunc func([]byte) ([]byte, error)

func (f signerFunc) Sign(in []byte) ([]byte, error) { return f(in) }

func hashFor(alg string) (crypto.Hash, bool) {
	switch alg[2:] {
	case "256":
		return crypto.SHA256, true
	case "384":
		return crypto.SHA384, true
	case "512":
		return crypto.SHA512, true
	}
	return 0, false
}

// RSASigner signs with key using alg: RS256, RS384, RS512 (PKCS #1 v1.5) or
// PS256, PS384, PS512 (PSS). It panics on another alg.
func RSASigner(key *rsa.PrivateKey, alg string) Signer {
	if len(alg) != 5 || (alg[:2] != "RS" && alg[:2] != "PS") {
		panic(fmt.Sprintf("clerktest: RSASigner: unsupported alg %q", alg))
	}
	h, ok := hashFor(alg)
	if !ok {
		panic(fmt.Sprintf("clerktest: RSASigner: unsupported alg %q", alg))
	}
	pss := alg[:2] == "PS"
	return signerFunc(func(in []byte) ([]byte, error) {
		d := h.New()
		d.Write(in)
		if pss {
			return rsa.SignPSS(rand.Reader, key, h, d.Sum(nil), nil)
		}
		return rsa.SignPKCS1v15(rand.Reader, key, h, d.Sum(nil))
	})
}

// HMACSigner signs with secret using alg HS256, HS384 or HS512, as in an
// algorithm-confusion attack that uses the public key as the HMAC secret.
// It panics on another alg.
func HMACSigner(secret []byte, alg string) Signer {
	h, ok := crypto.Hash(0), false
	if len(alg) == 5 && alg[:2] == "HS" {
		h, ok = hashFor(alg)
	}
	if !ok {
		panic(fmt.Sprintf("clerktest: HMACSigner: unsupported alg %q", alg))
	}
	secret = slices.Clone(secret)
	return signerFunc(func(in []byte) ([]byte, error) {
		m := hmac.New(h.New, secret)
		m.Write(in)
		return m.Sum(nil), nil
	})
}

// NoneSigner returns an empty signature, for alg "none" tokens.
func NoneSigner() Signer {
	return signerFunc(func([]byte) ([]byte, error) { return nil, nil })
}

// RawSignature returns sig whatever the input, for tokens with a forged or
// garbage signature.
func RawSignature(sig []byte) Signer {
	sig = slices.Clone(sig)
	return signerFunc(func([]byte) ([]byte, error) { return slices.Clone(sig), nil })
}

// Signer returns an RS256 signer with the current signing key.
func (s *Server) Signer() Signer {
	return RSASigner(s.currentKey().key, "RS256")
}

// SignerFor returns an RS256 signer with key kid, any key the server ever
// held. It panics for an unknown kid.
func (s *Server) SignerFor(kid string) Signer {
	sg, err := s.signerFor(kid)
	if err != nil {
		panic(err.Error())
	}
	return sg
}

func (s *Server) signerFor(kid string) (Signer, error) {
	key := s.PrivateKey(kid)
	if key == nil {
		return nil, fmt.Errorf("%w: signing key %q", ErrNotFound, kid)
	}
	return RSASigner(key, "RS256"), nil
}

// DefaultHeader returns the header of a session token signed with the
// current key: {"alg":"RS256","kid":…,"typ":"JWT","cat":"cl_B7d4PD111AAA"}.
func (s *Server) DefaultHeader() map[string]any {
	return map[string]any{"alg": "RS256", "kid": s.KeyID(), "typ": "JWT", "cat": CategorySession}
}

// Mint signs an arbitrary token: header and payload are encoded exactly as
// given (a nil header means DefaultHeader, a nil payload {}), and signer
// signs them (nil means [Server.Signer]). It is meant for hostile tokens:
// wrong alg, foreign keys, missing claims. It panics if a map cannot be
// encoded or the signer fails.
func (s *Server) Mint(header, payload map[string]any, signer Signer) string {
	if header == nil {
		header = s.DefaultHeader()
	}
	if payload == nil {
		payload = map[string]any{}
	}
	if signer == nil {
		signer = s.Signer()
	}
	t, err := mint(header, payload, signer)
	if err != nil {
		panic(err.Error())
	}
	return t
}

// RawToken joins the base64url encodings of raw header, payload and
// signature bytes, which need not be JSON, into a compact token.
func RawToken(header, payload, signature []byte) string {
	return encodeSegment(header) + "." + encodeSegment(payload) + "." + encodeSegment(signature)
}
