package bench

import (
	"context"
	"fmt"
	"net/http"

	clerk "github.com/clerk/clerk-sdk-go/v2"
	"github.com/clerk/clerk-sdk-go/v2/m2m_token"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerktest"
)

// keyOwner owns the benchmark's API keys.
const keyOwner = "user_2NNEqL2nrIRdJ194ndJqAHwEfxF"

// MachineEnv is a Clerk-compatible loopback instance (clerktest) signing
// with the fixture's key, and the machine credentials the benchmarks
// present, each of the shape Clerk issues: a JWT M2M token (header
// {alg,cat,kid}, claims iss, sub, iat, nbf, exp, jti and custom scopes), a
// JWT OAuth access token (typ at+jwt, client_id, scope), an opaque M2M token
// (mt_…) and an API key (ak_…). It is safe for concurrent use; Close it
// when done.
type MachineEnv struct {
	Clerk            *clerktest.Server
	Caller, Receiver *clerktest.Machine
	M2MJWT           string
	OAuthJWT         string
	OpaqueM2M        string
	APIKey           string
}

// NewMachineEnv starts a clerktest instance on loopback, signing with f's
// key, and creates a calling and a receiving machine and one token of each
// kind (JWTs valid for TokenLifetime).
func NewMachineEnv(f *Fixture) (*MachineEnv, error) {
	srv := clerktest.NewServer(clerktest.Config{SigningKey: f.Key})
	e := &MachineEnv{Clerk: srv}
	if err := e.mint(); err != nil {
		srv.Close()
		return nil, err
	}
	return e, nil
}

func (e *MachineEnv) mint() error {
	srv := e.Clerk
	e.Receiver = srv.CreateMachine(clerktest.MachineParams{Name: "billing"})
	e.Caller = srv.CreateMachine(clerktest.MachineParams{Name: "reports", ScopedMachines: []string{e.Receiver.ID}})
	m2m, err := srv.CreateM2MToken(e.Caller.ID, clerktest.M2MTokenParams{
		Format: clerktest.FormatJWT, Lifetime: TokenLifetime,
		Claims: map[string]any{"scopes": e.Receiver.ID},
	})
	if err != nil {
		return fmt.Errorf("bench: M2M JWT: %w", err)
	}
	oauth, err := srv.CreateOAuthToken(clerktest.OAuthTokenParams{
		UserID: keyOwner, Scopes: []string{"profile", "email"}, Lifetime: TokenLifetime,
	})
	if err != nil {
		return fmt.Errorf("bench: OAuth JWT: %w", err)
	}
	opaque, err := srv.CreateM2MToken(e.Caller.ID, clerktest.M2MTokenParams{Lifetime: TokenLifetime})
	if err != nil {
		return fmt.Errorf("bench: opaque M2M token: %w", err)
	}
	e.M2MJWT, e.OAuthJWT, e.OpaqueM2M = m2m.Token, oauth.Token, opaque.Token
	e.APIKey, err = e.NewAPIKey()
	return err
}

// NewAPIKey creates another API key of the instance and returns its secret.
func (e *MachineEnv) NewAPIKey() (string, error) {
	k, err := e.Clerk.CreateAPIKey(clerktest.APIKeyParams{Subject: keyOwner, Scopes: []string{"read:reports"}})
	if err != nil {
		return "", fmt.Errorf("bench: API key: %w", err)
	}
	return k.Secret, nil
}

// Close stops the instance.
func (e *MachineEnv) Close() { e.Clerk.Close() }

// Config configures a clerkauth Verifier against the instance: its secret
// key verifies opaque tokens (one Backend API call per token per
// MachineTokenCacheTTL), its JWKS the JWTs; cacheSize verified JWTs are
// remembered (-1: none).
func (e *MachineEnv) Config(cacheSize int) clerkauth.Config {
	return clerkauth.Config{
		SecretKey:        e.Clerk.SecretKey(),
		PublishableKey:   e.Clerk.PublishableKey(),
		APIURL:           e.Clerk.APIURL(),
		HTTPClient:       LoopbackClient(),
		Leeway:           Leeway,
		TokenCacheSize:   cacheSize,
		MaxTokenLifetime: TokenLifetime,
	}
}

// Guard wraps next in clerkauth's middleware accepting only kinds. Call
// the returned func when done.
func Guard(v *clerkauth.Verifier, next http.Handler, kinds ...clerkauth.TokenKind) (http.Handler, func(), error) {
	m, err := clerkauth.NewMiddleware(v, clerkauth.MiddlewareOptions{AcceptsToken: kinds})
	if err != nil {
		return nil, nil, err
	}
	return m.Handler(next), func() { _ = m.Close() }, nil
}

// ClerkSDKM2M is clerk-sdk-go v2's M2M token client pointed at the
// instance: what Clerk's SDKs do for an opaque token, one Backend API call
// per request (v2.4.2 verifies no API keys; its M2M verify is the opaque
// path they share).
func (e *MachineEnv) ClerkSDKM2M() *m2m_token.Client {
	url, key := e.Clerk.APIURL(), e.Clerk.SecretKey()
	return m2m_token.NewClient(&clerk.ClientConfig{BackendConfig: clerk.BackendConfig{
		URL: &url, Key: &key, HTTPClient: LoopbackClient(),
	}})
}

// VerifySDKM2M verifies token with c, as a handler using clerk-sdk-go does
// on every request.
func VerifySDKM2M(ctx context.Context, c *m2m_token.Client, token string) error {
	_, err := c.Verify(ctx, &m2m_token.VerifyParams{Token: token})
	return err
}
