package bench

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
)

// JWKSServer is a loopback key server that counts its fetches. It serves
// the set at every path (so both clerkauth's JWKSURL and clerk-sdk-go's
// {backend}/jwks reach it). It is safe for concurrent use.
type JWKSServer struct {
	*httptest.Server
	fetches atomic.Int64
}

// NewJWKSServer starts a key server publishing jwks. Close it when done.
func NewJWKSServer(jwks []byte) *JWKSServer {
	s := &JWKSServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(jwks)
	}))
	return s
}

// Fetches returns the number of requests served so far.
func (s *JWKSServer) Fetches() int64 { return s.fetches.Load() }
