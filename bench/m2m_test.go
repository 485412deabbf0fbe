package bench

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerktest"
)

// m2mLoopback is a receiver on loopback and, for the M2M case, a token
// source holding a token from clerktest.
type m2mLoopback struct {
	receiver *httptest.Server
	source   *clerkauth.M2MTokenSource
	token    string
}

func newM2MLoopback(tb testing.TB) *m2mLoopback {
	tb.Helper()
	clerk := clerktest.NewServer(clerktest.Config{SigningKey: fx.Key})
	tb.Cleanup(clerk.Close)
	m := clerk.CreateMachine(clerktest.MachineParams{})
	src, err := clerkauth.NewM2MTokenSource(clerkauth.M2MConfig{MachineSecretKey: m.SecretKey, APIURL: clerk.APIURL()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = src.Close() })
	tok, err := src.Token(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	l := &m2mLoopback{source: src, token: tok.Token}
	l.receiver = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok"))
	}))
	tb.Cleanup(l.receiver.Close)
	return l
}

func (l *m2mLoopback) client(tb testing.TB, m2m bool) *http.Client {
	tb.Helper()
	base := &http.Transport{MaxIdleConnsPerHost: 4}
	tb.Cleanup(base.CloseIdleConnections)
	if !m2m {
		return &http.Client{Transport: base}
	}
	c, err := clerkauth.NewM2MHTTPClient(l.source, clerkauth.M2MTransportOptions{Origins: []string{l.receiver.URL}, Base: base})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func getOK(tb testing.TB, c *http.Client, url string, authz ...string) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for _, v := range authz {
		req.Header.Set("Authorization", v)
	}
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("status %d", resp.StatusCode)
	}
}

func benchLoopback(b *testing.B, m2m, header bool) {
	l := newM2MLoopback(b)
	c := l.client(b, m2m)
	var authz []string
	if header {
		authz = []string{"Bearer " + l.token}
	}
	getOK(b, c, l.receiver.URL, authz...) // open the connection
	b.ReportAllocs()
	for b.Loop() {
		getOK(b, c, l.receiver.URL, authz...)
	}
}

// BenchmarkTransportBare is a GET over keep-alive loopback with a bare
// http.Transport, the caller setting the same Authorization header: the
// base of the M2M transport figure.
func BenchmarkTransportBare(b *testing.B) { benchLoopback(b, false, true) }

// BenchmarkTransportBareNoAuth is the same GET without any Authorization
// header.
func BenchmarkTransportBareNoAuth(b *testing.B) { benchLoopback(b, false, false) }

// BenchmarkM2MTransport is the same GET through clerkauth's M2M transport
// with a cached token.
func BenchmarkM2MTransport(b *testing.B) { benchLoopback(b, true, false) }

func TestM2MTransportSendsTheToken(t *testing.T) {
	l := newM2MLoopback(t)
	var got string
	l.receiver.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("Authorization")
	})
	getOK(t, l.client(t, true), l.receiver.URL)
	if got != "Bearer "+l.token {
		t.Fatalf("receiver saw Authorization %q; want the source's token", clerkauth.Redact(got))
	}
}
