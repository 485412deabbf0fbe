package bench

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	jwtmiddleware "github.com/auth0/go-jwt-middleware/v2"
	"github.com/auth0/go-jwt-middleware/v2/validator"
	"github.com/clerk/clerk-sdk-go/v2"
	clerkhttp "github.com/clerk/clerk-sdk-go/v2/http"
	"github.com/clerk/clerk-sdk-go/v2/jwks"
	clerkjwt "github.com/clerk/clerk-sdk-go/v2/jwt"
	"github.com/golang-jwt/jwt/v5"

	"github.com/clerkauth/clerkauth"
)

// Leeway is the clock skew every verifier under test tolerates.
const Leeway = 5 * time.Second

// ClerkauthConfig configures a clerkauth Verifier against srv, with
// cacheSize verified tokens remembered (-1: none) and now as its clock
// (nil: time.Now).
func ClerkauthConfig(srv *JWKSServer, cacheSize int, now func() time.Time) clerkauth.Config {
	return clerkauth.Config{
		PublishableKey:    PublishableKey,
		JWKSURL:           srv.URL + "/.well-known/jwks.json",
		HTTPClient:        LoopbackClient(),
		AuthorizedParties: []string{AuthorizedPty},
		Leeway:            Leeway,
		TokenCacheSize:    cacheSize,
		MaxTokenLifetime:  TokenLifetime, // the fixture's tokens live 2 h
		Now:               now,
	}
}

// NewClerkauth returns a clerkauth Verifier for cfg with its keys already
// fetched, as a server has them after start-up.
func NewClerkauth(ctx context.Context, cfg clerkauth.Config) (*clerkauth.Verifier, error) {
	v, err := clerkauth.NewVerifier(cfg)
	if err != nil {
		return nil, err
	}
	if err := v.Warm(ctx); err != nil {
		_ = v.Close()
		return nil, err
	}
	return v, nil
}

// ClerkSDK holds clerk-sdk-go v2 wired to a loopback key server.
type ClerkSDK struct {
	JWK  *clerk.JSONWebKey
	JWKS *jwks.Client
}

// NewClerkSDK points clerk-sdk-go at srv: its JWKS client, and its
// package-level default backend too, so no code path of the SDK can reach
// Clerk's real API.
func NewClerkSDK(srv *JWKSServer, set []byte) (*ClerkSDK, error) {
	url := srv.URL
	key := "sk_test_bench"
	cfg := clerk.BackendConfig{URL: &url, Key: &key, HTTPClient: LoopbackClient()}
	clerk.SetBackend(clerk.NewBackend(&cfg))
	var parsed clerk.JSONWebKeySet
	if err := json.Unmarshal(set, &parsed); err != nil || len(parsed.Keys) != 1 {
		return nil, fmt.Errorf("bench: clerk-sdk-go cannot read the JWKS: %v", err)
	}
	return &ClerkSDK{
		JWK:  parsed.Keys[0],
		JWKS: jwks.NewClient(&clerk.ClientConfig{BackendConfig: cfg}),
	}, nil
}

// Verify is clerk-sdk-go's jwt.Verify with the key in hand.
func (c *ClerkSDK) Verify(ctx context.Context, token string) (*clerk.SessionClaims, error) {
	return clerkjwt.Verify(ctx, &clerkjwt.VerifyParams{
		Token:                  token,
		JWK:                    c.JWK,
		Leeway:                 Leeway,
		AuthorizedPartyHandler: func(azp string) bool { return azp == AuthorizedPty },
	})
}

// Middleware is clerk-sdk-go's WithHeaderAuthorization with its JWKS
// client on loopback (it caches the key after the first request).
func (c *ClerkSDK) Middleware(next http.Handler) http.Handler {
	return clerkhttp.WithHeaderAuthorization(
		clerkhttp.JWKSClient(c.JWKS),
		clerkhttp.Leeway(Leeway),
		clerkhttp.AuthorizedPartyMatches(AuthorizedPty),
	)(next)
}

// ClerkSDKClaimsFrom reports whether the request carries clerk-sdk-go's
// verified session claims.
func ClerkSDKClaimsFrom(r *http.Request) bool {
	c, ok := clerk.SessionClaimsFromContext(r.Context())
	return ok && c != nil && c.Subject != ""
}

// clerkCustomClaims is the Clerk part of the payload, decoded by the peers
// that know nothing of Clerk so they do comparable work.
type clerkCustomClaims struct {
	SessionID string `json:"sid"`
	AZP       string `json:"azp"`
	Status    string `json:"sts"`
	Version   int    `json:"v"`
	Features  string `json:"fea"`
	Plans     string `json:"pla"`
	FVA       []int  `json:"fva"`
	Org       *struct {
		ID   string `json:"id"`
		Slug string `json:"slg"`
		Role string `json:"rol"`
		Per  string `json:"per"`
		FPM  string `json:"fpm"`
	} `json:"o"`
}

// Validate implements validator.CustomClaims.
func (c *clerkCustomClaims) Validate(context.Context) error {
	if c.SessionID == "" || c.AZP != AuthorizedPty {
		return fmt.Errorf("bench: not a session token of this app")
	}
	return nil
}

// NewAuth0Validator returns go-jwt-middleware's validator with a static
// key func.
func NewAuth0Validator(pub *rsa.PublicKey) (*validator.Validator, error) {
	return validator.New(
		func(context.Context) (any, error) { return pub, nil },
		validator.RS256, Issuer, []string{Audience},
		validator.WithCustomClaims(func() validator.CustomClaims { return &clerkCustomClaims{} }),
		validator.WithAllowedClockSkew(Leeway),
	)
}

// Auth0Middleware is go-jwt-middleware's CheckJWT around v.
func Auth0Middleware(v *validator.Validator, next http.Handler) http.Handler {
	return jwtmiddleware.New(v.ValidateToken).CheckJWT(next)
}

// GolangJWTClaims is the payload as golang-jwt decodes it.
type GolangJWTClaims struct {
	jwt.RegisteredClaims
	clerkCustomClaims
}

// GolangJWT is golang-jwt v5's ParseWithClaims with an RS256 key.
type GolangJWT struct {
	parser *jwt.Parser
	key    jwt.Keyfunc
}

// NewGolangJWT returns a golang-jwt parser for RS256 tokens of Issuer.
func NewGolangJWT(pub *rsa.PublicKey) *GolangJWT {
	return &GolangJWT{
		parser: jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(Issuer),
			jwt.WithLeeway(Leeway), jwt.WithExpirationRequired(), jwt.WithIssuedAt()),
		key: func(*jwt.Token) (any, error) { return pub, nil },
	}
}

// Verify parses and verifies token.
func (g *GolangJWT) Verify(token string) (*GolangJWTClaims, error) {
	var c GolangJWTClaims
	if _, err := g.parser.ParseWithClaims(token, &c, g.key); err != nil {
		return nil, err
	}
	if err := c.Validate(context.Background()); err != nil {
		return nil, err
	}
	return &c, nil
}
