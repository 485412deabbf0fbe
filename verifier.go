package clerkauth

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/clerkauth/clerkauth/internal/httpx"
	"github.com/clerkauth/clerkauth/internal/jose"
)

// JWT categories in Clerk's cat header.
const (
	categorySession = "cl_B7d4PD111AAA"
	categoryIgnore  = "cl_I7d4PD111III"
)

var defaultAlgorithms = []string{"RS256", "RS384", "RS512"}

// Verifier verifies Clerk session tokens networklessly. It is safe for
// concurrent use by multiple goroutines; create one per Clerk instance and
// share it. Call Close when done with it to stop in-flight key fetches.
type Verifier struct {
	issuers      []string // exact; empty only with InsecureSkipIssuerCheck
	skipIssuer   bool
	parties      []string
	audience     []string
	leeway       time.Duration
	allowPend    bool
	algs         []string
	now          func() time.Time
	staticKey    *verifyKey  // from Config.JWTKey, or nil
	remote       *remoteKeys // JWKS source, or nil
	cache        *tokenCache // nil when disabled
	revocations  RevocationStore
	maxLifetime  time.Duration
	cookieSuffix string // of Config.PublishableKey, "" without one
}

// NewVerifier returns a Verifier for cfg. It fails closed, with an error
// matching ErrInvalidConfig, when cfg has no key source, a malformed
// publishable or PEM key, an invalid leeway, or no known issuer (unless
// InsecureSkipIssuerCheck is set). It makes no network request: call
// [Verifier.Warm] at start-up to fetch keys early.
func NewVerifier(cfg Config) (*Verifier, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	v := &Verifier{
		parties:     slices.Clone(cfg.AuthorizedParties),
		audience:    slices.Clone(cfg.Audience),
		leeway:      cfg.Leeway,
		allowPend:   cfg.AllowPendingSessions,
		skipIssuer:  cfg.InsecureSkipIssuerCheck,
		now:         cfg.Now,
		revocations: cfg.Revocations,
		maxLifetime: cfg.MaxTokenLifetime,
	}
	steps := []func(*Config) error{v.setIssuers, v.setAlgorithms, v.setKeySources}
	for _, step := range steps {
		if err := step(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.TokenCacheSize > 0 {
		v.cache = newTokenCache(cfg.TokenCacheSize)
	}
	return v, nil
}

func (v *Verifier) setIssuers(cfg *Config) error {
	if cfg.PublishableKey != "" {
		info, err := ParsePublishableKey(cfg.PublishableKey)
		if err != nil {
			return err
		}
		v.issuers = append(v.issuers, info.Issuer())
		v.cookieSuffix = CookieSuffix(cfg.PublishableKey)
	}
	for _, iss := range cfg.Issuers {
		if iss = strings.TrimSpace(iss); iss != "" {
			v.issuers = append(v.issuers, iss)
		}
	}
	if len(v.issuers) == 0 && !cfg.InsecureSkipIssuerCheck {
		return fmt.Errorf("%w: no known issuer: set PublishableKey or Issuers (or InsecureSkipIssuerCheck)", ErrInvalidConfig)
	}
	return nil
}

func (v *Verifier) setAlgorithms(cfg *Config) error {
	if len(cfg.Algorithms) == 0 {
		v.algs = defaultAlgorithms
		return nil
	}
	for _, a := range cfg.Algorithms {
		if !slices.Contains(defaultAlgorithms, a) {
			return fmt.Errorf("%w: algorithm %q is not allowed: only RS256, RS384 and RS512 are", ErrInvalidConfig, a)
		}
	}
	v.algs = slices.Clone(cfg.Algorithms)
	return nil
}

func (v *Verifier) setKeySources(cfg *Config) error {
	if cfg.JWTKey != "" {
		pub, err := jose.ParsePEM(cfg.JWTKey)
		if err != nil {
			return fmt.Errorf("%w: JWTKey: %v", ErrInvalidConfig, err)
		}
		v.staticKey = &verifyKey{kid: "pem", pub: pub}
	}
	switch {
	case cfg.JWKSURL != "":
		v.remote = newRemoteKeys(cfg, cfg.JWKSURL, "")
	case cfg.SecretKey != "":
		v.remote = newRemoteKeys(cfg, strings.TrimRight(cfg.APIURL, "/")+"/jwks", cfg.SecretKey)
	}
	if v.staticKey == nil && v.remote == nil {
		return fmt.Errorf("%w: no key source: set JWTKey, SecretKey or JWKSURL", ErrInvalidConfig)
	}
	return nil
}

// withDefaults validates cfg and fills its zero fields.
func (cfg Config) withDefaults() (Config, error) {
	switch {
	case cfg.Leeway < 0:
		return cfg, fmt.Errorf("%w: negative leeway %v", ErrInvalidConfig, cfg.Leeway)
	case cfg.Leeway > MaxLeeway:
		return cfg, fmt.Errorf("%w: leeway %v exceeds %v", ErrInvalidConfig, cfg.Leeway, MaxLeeway)
	case cfg.Leeway == 0:
		cfg.Leeway = DefaultLeeway
	case cfg.Leeway == NoLeeway:
		cfg.Leeway = 0
	}
	if err := cfg.checkHeaderValues(); err != nil {
		return cfg, err
	}
	var err error
	if cfg.JWKSURL != "" {
		if cfg.JWKSURL, err = httpx.ParseServiceURL("JWKSURL", cfg.JWKSURL); err != nil {
			return cfg, err
		}
	}
	if cfg.APIURL, err = parseAPIURL(orDefault(cfg.APIURL, DefaultAPIURL)); err != nil {
		return cfg, err
	}
	cfg.APIVersion = orDefault(cfg.APIVersion, DefaultAPIVersion)
	cfg.JWKSCacheTTL = orDefault(cfg.JWKSCacheTTL, DefaultJWKSCacheTTL)
	cfg.JWKSRefreshCooldown = orDefault(cfg.JWKSRefreshCooldown, DefaultJWKSRefreshCooldown)
	cfg.JWKSMaxStaleness = orDefault(cfg.JWKSMaxStaleness, DefaultJWKSMaxStaleness)
	cfg.MaxTokenLifetime = orDefault(cfg.MaxTokenLifetime, DefaultMaxTokenLifetime)
	cfg.TokenCacheSize = orDefault(cfg.TokenCacheSize, DefaultTokenCacheSize)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = httpx.DefaultClient()
	}
	if cfg.Revocations == nil {
		cfg.Revocations = NewMemoryRevocationStore(cfg.Now)
	}
	return cfg, nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Verify checks a session token and returns its claims. It runs cheap
// structural checks first, then the signature with the key named by the
// token's kid, then the claims; a token seen before is answered from the
// verified-token cache after re-checking its expiry and revocation.
//
// It makes a network request only to fetch signing keys, and never for a
// token whose unverified claims would be rejected anyway. Errors match
// ErrNoToken, ErrInvalidToken or ErrKeysUnavailable (see
// [VerificationError]).
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	if token == "" {
		return nil, verr(ReasonTokenMissing, "no session token")
	}
	now := v.now()
	if v.cache != nil {
		if c, ok := v.cache.get(token); ok {
			return v.recheck(ctx, c, now)
		}
	}
	c, err := v.verifyFresh(ctx, token, now)
	if err != nil {
		return nil, err
	}
	if v.cache != nil {
		v.cache.add(token, c)
	}
	return c, nil
}

// recheck re-applies the checks that change with time to a cached token.
func (v *Verifier) recheck(ctx context.Context, c *Claims, now time.Time) (*Claims, error) {
	if !now.Before(c.Expiry.Add(v.leeway)) {
		return nil, errExpired()
	}
	if err := v.checkRevoked(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

func (v *Verifier) verifyFresh(ctx context.Context, token string, now time.Time) (*Claims, error) {
	t, err := v.parse(token)
	if err != nil {
		return nil, err
	}
	if err := v.checkSignature(ctx, t, now); err != nil {
		return nil, err
	}
	if err := v.checkClaims(t.claims, now); err != nil {
		return nil, err
	}
	if err := v.checkRevoked(ctx, t.claims); err != nil {
		return nil, err
	}
	return t.claims, nil
}

// checkSignature finds the key for the token and checks the signature. The
// unverified claims are consulted only when a key fetch is needed, so a
// token that would fail anyway never causes one.
func (v *Verifier) checkSignature(ctx context.Context, t *parsedToken, now time.Time) error {
	if v.staticKey != nil {
		err := v.verifyWith(t, v.staticKey)
		if err == nil || v.remote == nil {
			return err
		}
	}
	if v.remote == nil {
		return errKidMismatch()
	}
	if t.kid == "" {
		return verr(ReasonJWKKidMismatch, "token has no kid")
	}
	if k := v.remote.lookup(t.kid); k != nil {
		return v.verifyWith(t, k)
	}
	if err := v.checkClaims(t.claims, now); err != nil {
		return err
	}
	k, err := v.remote.resolve(ctx, t.kid)
	if err != nil {
		return err
	}
	return v.verifyWith(t, k)
}

// verifyWith checks the token's signature with k, whose alg (when it has
// one) must equal the header's.
func (v *Verifier) verifyWith(t *parsedToken, k *verifyKey) error {
	if k.alg != "" && k.alg != t.alg {
		return verr(ReasonTokenInvalidAlgorithm, "header alg does not match the key's alg")
	}
	if len(t.sig) != k.pub.Size() {
		return verr(ReasonTokenInvalidSignature, "signature length does not match the key")
	}
	h, digest := hashSigningInput(t.alg, t.signingInput)
	if rsa.VerifyPKCS1v15(k.pub, h, digest, t.sig) != nil {
		return verr(ReasonTokenInvalidSignature, "signature is invalid")
	}
	return nil
}

// hashSigningInput hashes the signing input. An input of ordinary size is
// copied into a stack buffer: []byte(input) would allocate a heap copy of
// it (a kilobyte for a typical token) on every cold verification.
func hashSigningInput(alg, input string) (crypto.Hash, []byte) {
	var buf [2048]byte
	b := append(buf[:0], input...)
	switch alg {
	case "RS384":
		sum := sha512.Sum384(b)
		return crypto.SHA384, sum[:]
	case "RS512":
		sum := sha512.Sum512(b)
		return crypto.SHA512, sum[:]
	}
	sum := sha256.Sum256(b)
	return crypto.SHA256, sum[:]
}

// checkRevoked rejects tokens of a revoked session. A store that cannot
// answer fails closed.
func (v *Verifier) checkRevoked(ctx context.Context, c *Claims) error {
	revoked, err := v.revocations.IsRevoked(ctx, c.SessionID)
	switch {
	case err != nil:
		return verrWrap(ReasonRevocationUnavailable, "revocation store unavailable", err)
	case revoked:
		return verr(ReasonSessionRevoked, "session has been revoked")
	}
	return nil
}

// MarkRevoked records sessionID as revoked in the Verifier's
// RevocationStore, so its tokens are rejected at once by this Verifier (and
// by every replica sharing the store). It does not call Clerk: see
// [SessionsClient.Revoke] and the middleware's Revoke for both.
func (v *Verifier) MarkRevoked(ctx context.Context, sessionID string) error {
	if sessionID == "" {
		return fmt.Errorf("%w: empty session ID", ErrInvalidConfig)
	}
	return v.revocations.Revoke(ctx, sessionID, v.now().Add(v.maxLifetime+v.leeway))
}

// Warm fetches the signing keys now, so the first request does not wait
// for them. It returns an error matching ErrKeysUnavailable when they
// cannot be fetched; with only a PEM key it does nothing.
func (v *Verifier) Warm(ctx context.Context) error {
	if v.remote == nil {
		return nil
	}
	return v.remote.refresh(ctx)
}

// Status reports the state of the signing keys, for readiness probes.
func (v *Verifier) Status() KeyStatus {
	if v.remote == nil {
		return KeyStatus{Source: "pem", Ready: true, Keys: 1}
	}
	st := v.remote.status()
	if v.staticKey != nil {
		st.Ready, st.Keys = true, st.Keys+1
	}
	return st
}

// Close stops in-flight key fetches and waits for them. The Verifier keeps
// verifying with the keys it holds.
func (v *Verifier) Close() error {
	if v.remote != nil {
		v.remote.close()
	}
	return nil
}

func errExpired() error {
	return verr(ReasonTokenExpired, "token has expired")
}
