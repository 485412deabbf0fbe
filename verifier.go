package clerkauth

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/clerkauth/clerkauth/internal/jose"
)

// Verifier verifies Clerk session tokens networklessly, and machine tokens
// (see [Verifier.VerifyMachineToken]). It is safe for
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
	staticKey    *verifyKey           // from Config.JWTKey, or nil
	remote       *remoteKeys          // JWKS source, or nil
	cache        *tokenCache[*Claims] // nil when disabled
	revocations  RevocationStore
	maxLifetime  time.Duration
	cookieSuffix string    // of Config.PublishableKey, "" without one
	obs          *observer // nil when nothing observes

	machineCache *tokenCache[*MachineToken] // verified machine JWTs; nil when disabled
	opaque       *opaqueVerifier            // machine_opaque.go
}

// NewVerifier returns a Verifier for cfg. It fails closed, with a
// [*ConfigError] (matching ErrInvalidConfig) naming the field, when cfg has
// no key source, a malformed
// publishable or PEM key, an invalid leeway, or no known issuer (unless
// InsecureSkipIssuerCheck is set). It makes no network request: call
// [Verifier.Warm] at start-up to fetch keys early.
func NewVerifier(cfg Config) (*Verifier, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, cfg.attribute(err)
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
		obs:         cfg.obs,
	}
	steps := []func(*Config) error{v.setIssuers, v.setAlgorithms, v.setKeySources}
	for _, step := range steps {
		if err := step(&cfg); err != nil {
			return nil, cfg.attribute(err)
		}
	}
	if cfg.TokenCacheSize > 0 {
		v.cache = newTokenCache[*Claims](cfg.TokenCacheSize)
		v.machineCache = newTokenCache[*MachineToken](cfg.TokenCacheSize)
	}
	v.opaque = newOpaqueVerifier(&cfg)
	v.obs.warnConfig(context.Background(), &cfg) // observe_points.go
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
		return configError("no known issuer: set %s or %s (or %s)", "PublishableKey", "Issuers", "InsecureSkipIssuerCheck")
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
			return configError("%s: "+quoted(a)+" is not allowed: only RS256, RS384 and RS512 are", "Algorithms")
		}
	}
	v.algs = slices.Clone(cfg.Algorithms)
	return nil
}

func (v *Verifier) setKeySources(cfg *Config) error {
	if cfg.JWTKey != "" {
		pub, err := jose.ParsePEM(cfg.JWTKey)
		if err != nil {
			return configError("%s is not a usable PEM public key", "JWTKey").withCause(err)
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
		return configError("no key source: set %s, %s or %s", "JWTKey", "SecretKey", "JWKSURL")
	}
	return nil
}

// Verify checks a session token and returns its claims. It runs cheap
// structural checks first, then the signature with the key named by the
// token's kid, then the claims; a token seen before is answered from the
// verified-token cache after re-checking its expiry, its revocation and its
// key: a cached token whose key left the key set, or whose key set is past
// JWKSMaxStaleness, is verified again in full.
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
	if e, ok := v.cached(token); ok && v.keyCurrent(e.key, now) { // tokencache.go
		v.obs.cacheLookup(ctx, true) // observer.go
		return v.recheck(ctx, e.claims, now)
	}
	v.obs.cacheLookup(ctx, false)
	t, err := v.parse(token) // parse.go: size, shape, header, claim syntax
	if err != nil {
		return nil, err
	}
	key, err := v.checkSignature(ctx, t, now) // signature.go, keys from jwks.go
	if err != nil {
		return nil, err
	}
	t.claims.expandPermissions() // claims.go: only signed claims are expanded

	if err := v.checkClaims(t.claims, now); err != nil { // claimchecks.go
		return nil, err
	}
	if err := v.checkRevoked(ctx, t.claims); err != nil { // revocation.go
		return nil, err
	}
	v.remember(token, t.claims, key) // tokencache.go
	return t.claims, nil
}

// MarkRevoked records sessionID as revoked in the Verifier's
// RevocationStore, so its tokens are rejected at once by this Verifier (and
// by every replica sharing the store). It does not call Clerk: see
// [SessionsClient.Revoke] and the middleware's Revoke for both.
//
// The record is kept for Config.MaxTokenLifetime plus twice the leeway:
// the Verifier refuses tokens living longer than MaxTokenLifetime (exp -
// iat), a token of the session was issued before now (its iat at most one
// leeway ahead of this clock) and is accepted up to one leeway past its
// exp, so no token of the session outlives the record.
func (v *Verifier) MarkRevoked(ctx context.Context, sessionID string) error {
	if sessionID == "" {
		return fmt.Errorf("%w: empty session ID", ErrInvalidConfig)
	}
	return v.obs.revocationResult(ctx, opRevoke, v.revocations.Revoke(ctx, sessionID, v.revokedUntil()))
}

// revokedUntil is how long a revocation recorded now must be kept.
func (v *Verifier) revokedUntil() time.Time {
	return v.now().Add(v.maxLifetime + 2*v.leeway)
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

// Close stops in-flight key fetches and machine token verifications, and
// waits for them; no fetch starts after it, even one racing with it. The
// Verifier keeps verifying with the keys it holds, which are no longer
// refreshed: a token needing a fetch, and an opaque machine token it has
// not cached, is then answered with an error matching ErrKeysUnavailable.
// Close may be called more than once.
func (v *Verifier) Close() error {
	if v.remote != nil {
		v.remote.close()
	}
	v.opaque.close()
	return nil
}
