package clerktest_test

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/clerkauth/clerkauth/clerktest"
)

func TestIdentity(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	pk := srv.PublishableKey()
	isTrue(t, strings.HasPrefix(pk, "pk_test_"), "publishable key %q", pk)
	host, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(pk, "pk_test_"))
	noErr(t, err)
	equal(t, string(host), clerktest.DefaultFrontendAPI+"$")
	equal(t, srv.Issuer(), "https://clerk.clerktest.localhost")
	isTrue(t, strings.HasPrefix(srv.SecretKey(), "sk_test_") && len(srv.SecretKey()) > 30, "secret key")
	isTrue(t, strings.HasPrefix(srv.URL(), "http://127.0.0.1:"), "URL %s", srv.URL())
	equal(t, srv.APIURL(), srv.URL()+"/v1")
	equal(t, srv.JWKSURL(), srv.URL()+"/.well-known/jwks.json")
	isTrue(t, strings.HasPrefix(srv.KeyID(), "ins_"), "kid %s", srv.KeyID())

	custom := newServer(t, clerktest.Config{FrontendAPI: "foo-bar-13.clerk.accounts.dev", SecretKey: "sk_test_fixed"})
	equal(t, custom.Issuer(), "https://foo-bar-13.clerk.accounts.dev")
	equal(t, custom.SecretKey(), "sk_test_fixed")
	equal(t, custom.FrontendAPI(), "foo-bar-13.clerk.accounts.dev")
}

func TestPublicKeyPEMMatchesJWKS(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	block, _ := pem.Decode([]byte(srv.PublicKeyPEM()))
	isTrue(t, block != nil && block.Type == "PUBLIC KEY", "PEM block")
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	noErr(t, err)
	isTrue(t, pub.(*rsa.PublicKey).Equal(jwksKey(t, srv, srv.KeyID())), "PEM key differs from JWKS key")
}

func TestStartOnLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "example.com:80", "10.0.0.1:0", "nonsense"} {
		srv := clerktest.NewUnstartedServer(clerktest.Config{SigningKey: testKey})
		isTrue(t, srv.StartOn(addr) != nil, "StartOn(%q) should fail", addr)
		srv.Close()
	}
	srv := clerktest.NewUnstartedServer(clerktest.Config{SigningKey: testKey})
	defer srv.Close()
	equal(t, srv.URL(), "")
	noErr(t, srv.StartOn("127.0.0.1:0"))
	isTrue(t, srv.StartOn("127.0.0.1:0") != nil, "second start should fail")
	r := call(t, srv, "GET", "/v1/jwks", "", nil)
	equal(t, r.status, http.StatusOK)
}

func TestHandlerMountable(t *testing.T) {
	srv := clerktest.NewUnstartedServer(clerktest.Config{SigningKey: testKey})
	defer srv.Close()
	mux := http.NewServeMux()
	mux.Handle("/", srv.Handler())
	rec := newRecorder()
	req, _ := http.NewRequest("GET", "/.well-known/jwks.json", nil)
	mux.ServeHTTP(rec, req)
	equal(t, rec.Code, http.StatusOK)
	equal(t, rec.Header().Get("Content-Type"), "application/json")
	isTrue(t, strings.Contains(rec.Body.String(), srv.KeyID()), "key set lacks kid")
}

func TestRotateKey(t *testing.T) {
	srv := newServer(t, clerktest.Config{KeyBits: 2048})
	sess := srv.CreateSession(clerktest.SessionParams{})
	first := srv.KeyID()
	oldToken := srv.MustToken(sess.ID)

	second := srv.RotateKey(true)
	isTrue(t, second != first && strings.HasPrefix(second, "ins_"), "new kid %s", second)
	equal(t, srv.PublishedKeyIDs(), []string{second, first})
	verify(t, srv, oldToken) // still verifies
	h, _ := verify(t, srv, srv.MustToken(sess.ID))
	equal(t, h["kid"], second)

	third := srv.RotateKey(false)
	equal(t, srv.PublishedKeyIDs(), []string{third})
	isTrue(t, jwksKey(t, srv, first) == nil, "dropped key still served")
	// The dropped key can still sign, for tests of stale tokens.
	stale := srv.MustToken(sess.ID, clerktest.WithKeyID(first))
	h = decodePart(t, strings.Split(stale, ".")[0])
	equal(t, h["kid"], first)
	isTrue(t, srv.PrivateKey(first) != nil && srv.PrivateKey("ins_nope") == nil, "PrivateKey lookup")
	_, err := srv.Token(sess.ID, clerktest.WithKeyID("ins_nope"))
	isTrue(t, err != nil, "unknown kid should fail")
}

func TestClock(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	c := srv.Clock()
	at := mustTime(t, "2030-01-02T03:04:05Z")
	c.Set(at)
	equal(t, c.Now(), at)
	c.Advance(90e9)
	equal(t, c.Now(), at.Add(90e9))

	c.Set(at)
	sess := srv.CreateSession(clerktest.SessionParams{})
	_, p := verify(t, srv, srv.MustToken(sess.ID))
	equal(t, num(t, p["iat"]), at.Unix())
	equal(t, num(t, p["exp"]), at.Unix()+60)
	equal(t, num(t, p["nbf"]), at.Unix()-10)

	r := call(t, srv, "GET", "/v1/sessions/"+sess.ID, "", nil)
	m := r.json(t)
	equal(t, m["created_at"], float64(at.UnixMilli()))
	equal(t, m["expire_at"], float64(at.Add(clerktest.DefaultSessionLifetime).UnixMilli()))

	// Past expire_at the session reads as expired and gets no tokens.
	c.Advance(clerktest.DefaultSessionLifetime)
	equal(t, call(t, srv, "GET", "/v1/sessions/"+sess.ID, "", nil).json(t)["status"], "expired")
	r = call(t, srv, "POST", "/v1/sessions/"+sess.ID+"/tokens", "", nil)
	equal(t, r.status, http.StatusNotFound)
}

func TestClockFollowsBase(t *testing.T) {
	base := mustTime(t, "2031-05-06T07:08:09Z")
	srv := newServer(t, clerktest.Config{Now: func() time.Time { return base }})
	equal(t, srv.Clock().Now(), base)
	srv.Clock().Advance(-time.Hour)
	equal(t, srv.Clock().Now(), base.Add(-time.Hour))
}
