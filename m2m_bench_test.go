package clerkauth

import (
	"net/http"
	"testing"
	"time"
)

// stubTransport answers every request with one shared response.
type stubTransport struct{ resp *http.Response }

func (s stubTransport) RoundTrip(*http.Request) (*http.Response, error) { return s.resp, nil }

// benchTransport returns a transport whose source holds a fresh token, so
// that RoundTrip never calls Clerk.
func benchTransport(b *testing.B) (*M2MTransport, *http.Request, stubTransport) {
	b.Helper()
	s, err := NewM2MTokenSource(M2MConfig{MachineSecretKey: "ak_bench", APIURL: "http://127.0.0.1:1"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	now := time.Now()
	tok := &M2MToken{ID: "mt_1", Token: "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJtY2hfMSJ9.c2ln", CreatedAt: now, Expiration: now.Add(time.Hour)}
	s.cur.Store(s.schedule(tok, now))
	base := stubTransport{resp: &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}}
	tr, err := NewM2MTransport(s, M2MTransportOptions{Origins: []string{"https://billing.internal"}, Base: base})
	if err != nil {
		b.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodGet, "https://billing.internal/items?limit=10", nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Request-Id", "abc")
	return tr, req, base
}

// BenchmarkM2MTransportRoundTrip measures the transport's own cost with a
// cached token: the request copy (struct and header map) plus the
// Authorization value.
func BenchmarkM2MTransportRoundTrip(b *testing.B) {
	tr, req, _ := benchTransport(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tr.RoundTrip(req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkM2MTransportCloneOnly is the request copy alone, the part the
// RoundTripper contract imposes, for comparison.
func BenchmarkM2MTransportCloneOnly(b *testing.B) {
	tr, req, _ := benchTransport(b)
	base := tr.base // called through the interface, as the transport does: the copy escapes
	b.ReportAllocs()
	for b.Loop() {
		r := new(http.Request)
		*r = *req
		r.Header = make(http.Header, len(req.Header)+1)
		for k, v := range req.Header {
			r.Header[k] = v
		}
		if _, err := base.RoundTrip(r); err != nil {
			b.Fatal(err)
		}
	}
}
