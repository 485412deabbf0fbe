package clerktest

import (
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Defaults applied by [NewServer] to zero Config fields.
const (
	// DefaultFrontendAPI is the Frontend API host of a test instance. Its
	// issuer, https://clerk.clerktest.localhost, passes the issuer check of
	// Clerk's Go SDK, which wants "https://clerk." or ".clerk.accounts".
	DefaultFrontendAPI = "clerk.clerktest.localhost"
	// DefaultTokenLifetime is the life of a session token, as in Clerk.
	DefaultTokenLifetime = 60 * time.Second
	// DefaultKeyBits is the size of generated RSA signing keys.
	DefaultKeyBits = 2048
	// DefaultSessionLifetime is how long a session lasts (expire_at).
	DefaultSessionLifetime = 7 * 24 * time.Hour
	// DefaultSessionInactivity is when an idle session is abandoned
	// (abandon_at).
	DefaultSessionInactivity = 30 * 24 * time.Hour
)

// Config configures a [Server]; it is copied by the constructors. The zero
// value is ready to use.
type Config struct {
	// FrontendAPI is the instance's Frontend API host, from which the
	// publishable key and the token issuer (https://<FrontendAPI>) derive.
	// Default DefaultFrontendAPI.
	FrontendAPI string
	// Now is the base time source of the server's [Clock]. Default
	// time.Now.
	Now func() time.Time
	// TokenLifetime is the default life of minted session tokens. Default
	// DefaultTokenLifetime.
	TokenLifetime time.Duration
	// KeyBits is the size of generated RSA keys. Default DefaultKeyBits.
	KeyBits int
	// SigningKey, when set, is the first signing key instead of a freshly
	// generated one (tests share one key to save generation time).
	SigningKey *rsa.PrivateKey
	// SecretKey, when set, is the instance's secret key instead of a random
	// sk_test_ key.
	SecretKey string
	// VerifyReportsInvalid makes the verify endpoints of M2M tokens, API
	// keys and opaque OAuth access tokens answer 200 with "revoked": true or
	// "expired": true for a revoked or expired token, instead of 404 as
	// clerktest does by default. Clerk documents neither behaviour; the
	// switch lets a verifier be tested on refusing such answers.
	VerifyReportsInvalid bool
}

// Server is an in-process Clerk instance: a Backend API and Frontend API
// JWKS endpoint, the Sessions API and a Go API for tests. It is safe for
// concurrent use.
type Server struct {
	cfg      Config
	clock    *Clock
	ts       *httptest.Server
	handler  http.Handler
	closing  chan struct{}
	closeOne sync.Once

	secretKey      string
	publishableKey string
	instanceID     string

	mu sync.Mutex
	st state
}

// NewServer starts a Server on a random port of 127.0.0.1, as
// httptest.NewServer does. Like httptest, it panics if the server cannot be
// started or a key cannot be generated. The caller must Close it.
func NewServer(cfg Config) *Server {
	s := NewUnstartedServer(cfg)
	s.Start()
	return s
}

// NewUnstartedServer returns a Server that is not yet listening, for
// [Server.Handler], [Server.Start] or [Server.StartOn]. It panics if a
// signing key cannot be generated.
func NewUnstartedServer(cfg Config) *Server {
	cfg = withDefaults(cfg)
	s := &Server{
		cfg:            cfg,
		clock:          newClock(cfg.Now),
		closing:        make(chan struct{}),
		secretKey:      cfg.SecretKey,
		publishableKey: "pk_test_" + base64.StdEncoding.EncodeToString([]byte(cfg.FrontendAPI+"$")),
		instanceID:     "ins_" + randomString(27),
	}
	if s.secretKey == "" {
		s.secretKey = "sk_test_" + randomString(40)
	}
	s.st = newState()
	key := cfg.SigningKey
	if key == nil {
		key = mustGenerateKey(cfg.KeyBits)
	}
	s.st.addKey(key)
	s.handler = s.routes()
	return s
}

func withDefaults(cfg Config) Config {
	if cfg.FrontendAPI == "" {
		cfg.FrontendAPI = DefaultFrontendAPI
	}
	if cfg.TokenLifetime == 0 {
		cfg.TokenLifetime = DefaultTokenLifetime
	}
	if cfg.KeyBits == 0 {
		cfg.KeyBits = DefaultKeyBits
	}
	return cfg
}

// Handler returns the server's HTTP handler, for mounting it on another
// server. Its routes are absolute (/v1/…, /.well-known/jwks.json).
func (s *Server) Handler() http.Handler { return s.handler }

// Start starts the server on a random port of 127.0.0.1. It panics if the
// server is already started or cannot listen.
func (s *Server) Start() {
	if s.ts != nil {
		panic("clerktest: server already started")
	}
	s.ts = httptest.NewServer(s.handler)
}

// StartOn starts the server on addr, which must be a loopback address such
// as "127.0.0.1:8787" or "[::1]:0".
func (s *Server) StartOn(addr string) error {
	if s.ts != nil {
		return fmt.Errorf("clerktest: server already started")
	}
	if err := checkLoopback(addr); err != nil {
		return err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("clerktest: listen: %w", err)
	}
	ts := httptest.NewUnstartedServer(s.handler)
	ts.Listener.Close()
	ts.Listener = l
	ts.Start()
	s.ts = ts
	return nil
}

func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("clerktest: bad address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("clerktest: address %q is not a loopback address", addr)
	}
	return nil
}

// Close shuts the server down, ending delayed (slow) requests at once. It
// may be called more than once.
func (s *Server) Close() {
	s.closeOne.Do(func() {
		close(s.closing)
		if s.ts != nil {
			s.ts.CloseClientConnections()
			s.ts.Close()
		}
	})
}

// URL returns the server's base URL, such as http://127.0.0.1:41234, or ""
// before it is started.
func (s *Server) URL() string {
	if s.ts == nil {
		return ""
	}
	return s.ts.URL
}

// APIURL returns the Backend API base URL, URL()+"/v1" (Clerk's
// https://api.clerk.com/v1).
func (s *Server) APIURL() string { return s.URL() + "/v1" }

// JWKSURL returns the public Frontend API JWKS URL,
// URL()+"/.well-known/jwks.json".
func (s *Server) JWKSURL() string { return s.URL() + "/.well-known/jwks.json" }

// Client returns an HTTP client for the server (httptest's client).
func (s *Server) Client() *http.Client {
	if s.ts == nil {
		return http.DefaultClient
	}
	return s.ts.Client()
}

// SecretKey returns the instance's secret key (sk_test_…).
func (s *Server) SecretKey() string { return s.secretKey }

// PublishableKey returns the instance's publishable key: "pk_test_"
// followed by the base64 of "<FrontendAPI>$".
func (s *Server) PublishableKey() string { return s.publishableKey }

// InstanceID returns the instance's ID (ins_…), the instance_id of its
// machines.
func (s *Server) InstanceID() string { return s.instanceID }

// FrontendAPI returns the instance's Frontend API host.
func (s *Server) FrontendAPI() string { return s.cfg.FrontendAPI }

// Issuer returns the iss of the instance's tokens: https://<FrontendAPI>.
func (s *Server) Issuer() string { return "https://" + strings.TrimSuffix(s.cfg.FrontendAPI, "/") }

// Clock returns the server's clock, which dates tokens and sessions.
func (s *Server) Clock() *Clock { return s.clock }
