package clerktest_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/clerkauth/clerkauth/clerktest"
)

// testKey is the one signing key generated for this test binary.
var testKey *rsa.PrivateKey

func TestMain(m *testing.M) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		fmt.Fprintln(os.Stderr, "generating test key:", err)
		os.Exit(1)
	}
	testKey = k
	os.Exit(m.Run())
}

func newServer(t *testing.T, cfg clerktest.Config) *clerktest.Server {
	t.Helper()
	if cfg.SigningKey == nil {
		cfg.SigningKey = testKey
	}
	srv := clerktest.NewServer(cfg)
	t.Cleanup(srv.Close)
	return srv
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	noErr(t, json.Unmarshal(r.body, &m), "body %s", r.body)
	return m
}

// errorCode returns the code of the first error of a ClerkErrors body.
func (r response) errorCode(t *testing.T) string {
	t.Helper()
	m := r.json(t)
	errs, ok := m["errors"].([]any)
	isTrue(t, ok && len(errs) == 1, "want one error in %s", r.body)
	e := errs[0].(map[string]any)
	for _, f := range []string{"message", "long_message", "code"} {
		isTrue(t, e[f] != nil && e[f] != "", "error field %s in %s", f, r.body)
	}
	isTrue(t, m["clerk_trace_id"] != nil, "clerk_trace_id in %s", r.body)
	return e["code"].(string)
}

// call sends a request with the secret key (unless header overrides
// Authorization) and returns the answer.
func call(t *testing.T, srv *clerktest.Server, method, path, body string, header map[string]string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL()+path, rd)
	noErr(t, err)
	req.Header.Set("Authorization", "Bearer "+srv.SecretKey())
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	noErr(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	noErr(t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// verify checks token's RS256 signature against the server's JWKS (fetched
// over HTTP, so the JWK encoding is tested too) and returns its parts.
func verify(t *testing.T, srv *clerktest.Server, token string) (header, payload map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	equal(t, len(parts), 3, "token parts")
	header, payload = decodePart(t, parts[0]), decodePart(t, parts[1])
	key := jwksKey(t, srv, header["kid"].(string))
	isTrue(t, key != nil, "kid %v not in JWKS", header["kid"])
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	noErr(t, err)
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	noErr(t, rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig))
	return header, payload
}

func decodePart(t *testing.T, seg string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	noErr(t, err)
	var m map[string]any
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	noErr(t, d.Decode(&m))
	return m
}

func jwksKey(t *testing.T, srv *clerktest.Server, kid string) *rsa.PublicKey {
	t.Helper()
	r := call(t, srv, "GET", "/.well-known/jwks.json", "", nil)
	equal(t, r.status, http.StatusOK)
	var set struct {
		Keys []struct{ Kid, Kty, Alg, Use, N, E string }
	}
	noErr(t, json.Unmarshal(r.body, &set))
	for _, k := range set.Keys {
		if k.Kid != kid {
			continue
		}
		equal(t, []string{k.Kty, k.Alg, k.Use}, []string{"RSA", "RS256", "sig"})
		n, err := base64.RawURLEncoding.DecodeString(k.N)
		noErr(t, err)
		e, err := base64.RawURLEncoding.DecodeString(k.E)
		noErr(t, err)
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	return nil
}

func num(t *testing.T, v any) int64 {
	t.Helper()
	n, ok := v.(json.Number)
	isTrue(t, ok, "%v is not a number", v)
	i, err := n.Int64()
	noErr(t, err)
	return i
}
