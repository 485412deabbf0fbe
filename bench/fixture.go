// Package bench measures clerkauth against the cost of the RSA signature
// check it cannot avoid and against its peers (clerk-sdk-go v2,
// go-jwt-middleware v2, golang-jwt v5), all on the same Clerk-shaped session
// token. It is a separate module so the peers never enter clerkauth's own
// dependencies. Nothing here contacts any host but loopback.
package bench

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// Identity of the benchmark's Clerk instance. The issuer starts with
// "https://clerk." because clerk-sdk-go rejects any other (non-proxy) issuer.
const (
	Issuer         = "https://clerk.example.test"
	PublishableKey = "pk_test_Y2xlcmsuZXhhbXBsZS50ZXN0JA" // clerk.example.test$
	AuthorizedPty  = "https://app.example.test"
	KeyID          = "ins_2NNEqL2nrIRdJ194ndJqAHwEfxC"
	// Audience is carried by the token only because go-jwt-middleware's
	// validator refuses to work without an expected audience; clerkauth
	// and the other peers ignore it.
	Audience = "https://api.example.test"
	// TokenLifetime is the lifetime of minted tokens: long, so a token
	// minted before a run stays valid through it.
	TokenLifetime = 2 * time.Hour
)

// Fixture is one signing key and the tokens it signs. It is safe for
// concurrent use once made.
type Fixture struct {
	Key    *rsa.PrivateKey
	KID    string
	Issued time.Time
	// Token is the reference token every benchmark verifies.
	Token string
	// JWKS is the JSON Web Key Set publishing the key.
	JWKS []byte
	// PEM is the public key as a PEM document.
	PEM string
}

// NewFixture generates a 2048-bit RSA key and mints the reference token.
func NewFixture() (*Fixture, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("bench: generate key: %w", err)
	}
	f := &Fixture{Key: key, KID: KeyID, Issued: time.Now().Truncate(time.Second)}
	if f.JWKS, err = jwksOf(&key.PublicKey, f.KID); err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("bench: marshal key: %w", err)
	}
	f.PEM = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	if f.Token, err = f.Mint("jti_0"); err != nil {
		return nil, err
	}
	return f, nil
}

func jwksOf(pub *rsa.PublicKey, kid string) ([]byte, error) {
	key := map[string]string{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
		"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes()),
	}
	return json.Marshal(map[string]any{"keys": []any{key}})
}

// Header is the JOSE header of a Clerk session token with the given kid.
func Header(kid string) map[string]any {
	return map[string]any{"alg": "RS256", "typ": "JWT", "kid": kid, "cat": "cl_B7d4PD111AAA"}
}

// Claims is the payload of a Clerk v2 session token with an active
// organization, distinguished by jti.
func (f *Fixture) Claims(jti string) map[string]any {
	iat := f.Issued.Unix()
	return map[string]any{
		"azp": AuthorizedPty,
		"aud": Audience,
		"exp": iat + int64(TokenLifetime/time.Second),
		"fea": "o:dashboard,o:billing,u:beta",
		"fva": []int{3, -1},
		"iat": iat,
		"iss": Issuer,
		"jti": jti,
		"nbf": iat - 10,
		"o": map[string]any{
			"id":  "org_2NNEqL2nrIRdJ194ndJqAHwEfxD",
			"slg": "acme",
			"rol": "admin",
			"per": "manage,read",
			"fpm": "3,2",
		},
		"pla": "u:free,o:pro",
		"sid": "sess_2NNEqL2nrIRdJ194ndJqAHwEfxE",
		"sts": "active",
		"sub": "user_2NNEqL2nrIRdJ194ndJqAHwEfxF",
		"v":   2,
	}
}

// Mint signs the reference claims with jti under the fixture's key.
func (f *Fixture) Mint(jti string) (string, error) {
	input, err := signingInput(Header(f.KID), f.Claims(jti))
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, f.Key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("bench: sign: %w", err)
	}
	return input + "." + b64(sig), nil
}

// Forge returns a token with the reference claims under an unknown kid and
// a random signature: what an attacker sends to make a verifier fetch keys.
func (f *Fixture) Forge(kid string) (string, error) {
	input, err := signingInput(Header(kid), f.Claims("forged"))
	if err != nil {
		return "", err
	}
	sig := make([]byte, f.Key.Size())
	_, _ = rand.Read(sig)
	return input + "." + b64(sig), nil
}

// MintPool mints n distinct tokens (jti_1 … jti_n) on every core.
func (f *Fixture) MintPool(n int) ([]string, error) {
	pool := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				pool[i], errs[i] = f.Mint("jti_" + strconv.Itoa(i+1))
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return pool, nil
}

func signingInput(header, claims map[string]any) (string, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("bench: header: %w", err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("bench: claims: %w", err)
	}
	return b64(h) + "." + b64(c), nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// LoopbackClient returns an HTTP client that refuses any host but
// loopback, so a misconfigured peer can never reach Clerk's real API.
func LoopbackClient() *http.Client {
	return &http.Client{Transport: loopbackOnly{http.DefaultTransport}, Timeout: 10 * time.Second}
}

type loopbackOnly struct{ base http.RoundTripper }

func (l loopbackOnly) RoundTrip(r *http.Request) (*http.Response, error) {
	if !IsLoopback(r.URL.Hostname()) {
		return nil, fmt.Errorf("bench: refusing to contact non-loopback host %q", r.URL.Hostname())
	}
	return l.base.RoundTrip(r)
}

// IsLoopback reports whether host is localhost or a loopback address.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
