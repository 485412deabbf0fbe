package clerktest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"slices"
)

type signingKey struct {
	kid string
	key *rsa.PrivateKey
}

func mustGenerateKey(bits int) *rsa.PrivateKey {
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(fmt.Sprintf("clerktest: generating a %d-bit RSA key: %v", bits, err))
	}
	return key
}

// addKey makes key the current, published signing key and returns its kid.
func (st *state) addKey(key *rsa.PrivateKey) string {
	kid := "ins_" + randomString(27)
	st.keys[kid] = &signingKey{kid: kid, key: key}
	st.current = kid
	st.published = append([]string{kid}, st.published...)
	return kid
}

// RotateKey generates a new signing key and makes it current: new tokens
// carry its kid. With keepOld the previous keys stay in the key set, as
// during a graceful rotation; without it they are dropped from the key set
// (tokens they signed no longer verify), though [Server.SignerFor] can still
// sign with them. It returns the new kid and panics if a key cannot be
// generated.
func (s *Server) RotateKey(keepOld bool) (kid string) {
	key := mustGenerateKey(s.cfg.KeyBits)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !keepOld {
		s.st.published = nil
	}
	return s.st.addKey(key)
}

// KeyID returns the kid of the current signing key.
func (s *Server) KeyID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.current
}

// PublishedKeyIDs returns the kids served in the key set, current first.
func (s *Server) PublishedKeyIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.st.published)
}

// PrivateKey returns the private key of kid, or nil if the server never had
// it. Tests use it to sign tokens by other means.
func (s *Server) PrivateKey(kid string) *rsa.PrivateKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.st.keys[kid]; k != nil {
		return k.key
	}
	return nil
}

func (s *Server) currentKey() *signingKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.keys[s.st.current]
}

// PublicKeyPEM returns the current signing key's public key as a PKIX
// "PUBLIC KEY" PEM block: the form of the dashboard's JWT public key
// (CLERK_JWT_KEY).
func (s *Server) PublicKeyPEM() string {
	der, err := x509.MarshalPKIXPublicKey(&s.currentKey().key.PublicKey)
	if err != nil {
		panic(fmt.Sprintf("clerktest: marshalling public key: %v", err))
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// jwk is the JWKS.rsa.PublicKey shape of Clerk's OpenAPI description.
type jwk struct {
	Use string `json:"use"`
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
}

type jwks struct {
	Keys []jwk `json:"keys"`
}

func publicJWK(kid string, pub *rsa.PublicKey) jwk {
	return jwk{
		Use: "sig", Kty: "RSA", Kid: kid, Alg: "RS256",
		N: base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		E: base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}
}

// JWKS returns the key set the server currently serves, as JSON.
func (s *Server) JWKS() []byte {
	b, _ := json.Marshal(s.keySet())
	return b
}

func (s *Server) keySet() jwks {
	s.mu.Lock()
	defer s.mu.Unlock()
	set := jwks{Keys: []jwk{}}
	for _, kid := range s.st.published {
		set.Keys = append(set.Keys, publicJWK(kid, &s.st.keys[kid].key.PublicKey))
	}
	return set
}

// publishedKey returns the public key of kid if it is in the key set.
func (s *Server) publishedKey(kid string) *rsa.PublicKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.st.published, kid) {
		return nil
	}
	return &s.st.keys[kid].key.PublicKey
}

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randomString returns n random characters of idAlphabet.
func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("clerktest: reading random bytes: %v", err))
	}
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}
