package conformance

import (
	"testing"
	"time"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerktest"
)

// The fixtures below are the instances the adapters' own tests (beyond
// the shared tables) run against. They hold nothing of a framework: an
// adapter's test mounts what it needs around the Verifier or a
// Middleware of a fixture.

// SessionFixture is a Clerk instance with one signed-in user: a clerktest
// server, a Verifier of its instance and a session token of the user.
// NewSessionFixture sets its fields, which are not to be changed after;
// Srv and V are safe for concurrent use.
type SessionFixture struct {
	// Srv is the instance, closed when the test ends. Tests create more
	// sessions and tokens on it.
	Srv *clerktest.Server
	// V verifies the instance's session tokens: its keys come from Srv's
	// JWKS endpoint through Srv's client, its time from Srv's clock, with
	// the default retries. It is closed when the test ends.
	V *clerkauth.Verifier
	// UserID is the user of Token.
	UserID string
	// Token is a session token of UserID, valid for an hour of Srv's
	// clock from when the fixture was made.
	Token string
}

// NewSessionFixture starts a Clerk instance, creates a session of userID
// and mints its token, and builds a Verifier of the instance. Everything
// is closed when t ends; t fails at once if the Verifier cannot be built.
func NewSessionFixture(t testing.TB, userID string) *SessionFixture {
	t.Helper()
	srv := newServer(t)
	v := newVerifier(t, clerkauth.Config{
		PublishableKey: srv.PublishableKey(), JWKSURL: srv.JWKSURL(), HTTPClient: srv.Client(), Now: srv.Clock().Now,
	})
	sess := srv.CreateSession(clerktest.SessionParams{UserID: userID})
	return &SessionFixture{Srv: srv, V: v, UserID: userID, Token: srv.MustToken(sess.ID, clerktest.WithLifetime(time.Hour))}
}

// Middleware returns a Middleware of f's Verifier with opts, closed when
// t ends. It fails t at once if opts are refused.
func (f *SessionFixture) Middleware(t testing.TB, opts clerkauth.MiddlewareOptions) *clerkauth.Middleware {
	t.Helper()
	return newMiddleware(t, f.V, opts)
}

// MachineFixtureScope is the one scope of a MachineFixture's API key.
const MachineFixtureScope = "read"

// MachineFixture is a Clerk instance with a machine and a user's API key,
// and a Verifier that verifies both. NewMachineFixture sets its fields,
// which are not to be changed after; Srv and V are safe for concurrent
// use.
type MachineFixture struct {
	// Srv is the instance, closed when the test ends.
	Srv *clerktest.Server
	// V verifies the instance's machine tokens: with Srv's secret key
	// against its Backend API (and JWT M2M tokens networklessly) through
	// Srv's client, its time from Srv's clock, with the default retries.
	// It is closed when the test ends.
	V *clerkauth.Verifier
	// MachineID is the machine (mch_…) of M2M.
	MachineID string
	// M2M is a JWT M2M token of MachineID.
	M2M string
	// UserID is the owner of Key.
	UserID string
	// Key is an API key (ak_…) of UserID holding [MachineFixtureScope].
	Key string
}

// NewMachineFixture starts a Clerk instance, creates a machine named
// machineName with a JWT M2M token and an API key of userID (a user ID
// as Clerk writes them: user_ and 27 word characters), and builds a
// Verifier of the instance. Everything is closed when t ends; t fails at
// once if the Verifier cannot be built.
func NewMachineFixture(t testing.TB, userID, machineName string) *MachineFixture {
	t.Helper()
	srv := newServer(t)
	v := newVerifier(t, clerkauth.Config{
		SecretKey: srv.SecretKey(), PublishableKey: srv.PublishableKey(), APIURL: srv.APIURL(),
		HTTPClient: srv.Client(), Now: srv.Clock().Now,
	})
	mch := srv.CreateMachine(clerktest.MachineParams{Name: machineName})
	return &MachineFixture{
		Srv: srv, V: v, MachineID: mch.ID, UserID: userID,
		M2M: srv.MustM2MToken(mch.ID, clerktest.M2MTokenParams{Format: clerktest.FormatJWT}).Token,
		Key: srv.MustAPIKey(clerktest.APIKeyParams{Subject: userID, Scopes: []string{MachineFixtureScope}}).Secret,
	}
}

// Middleware returns a Middleware of f's Verifier with opts, accepting
// M2M tokens and API keys only (opts.AcceptsToken is replaced), closed
// when t ends. It fails t at once if opts are refused.
func (f *MachineFixture) Middleware(t testing.TB, opts clerkauth.MiddlewareOptions) *clerkauth.Middleware {
	t.Helper()
	opts.AcceptsToken = []clerkauth.TokenKind{clerkauth.TokenKindM2M, clerkauth.TokenKindAPIKey}
	return newMiddleware(t, f.V, opts)
}

// newServer starts a clerktest server closed when t ends.
func newServer(t testing.TB) *clerktest.Server {
	srv := clerktest.NewServer(clerktest.Config{})
	t.Cleanup(srv.Close)
	return srv
}

// newVerifier builds a Verifier of cfg, closed when t ends, or fails t.
func newVerifier(t testing.TB, cfg clerkauth.Config) *clerkauth.Verifier {
	t.Helper()
	v, err := clerkauth.NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Close() })
	return v
}

// newMiddleware builds a Middleware of v with opts, closed when t ends,
// or fails t.
func newMiddleware(t testing.TB, v *clerkauth.Verifier, opts clerkauth.MiddlewareOptions) *clerkauth.Middleware {
	t.Helper()
	m, err := clerkauth.NewMiddleware(v, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}
