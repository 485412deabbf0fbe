package clerkauth

import (
	"crypto/sha1"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/clerkauth/clerkauth/internal/httpx"
)

// Defaults applied by [NewVerifier] and [NewSessionsClient] to zero fields.
const (
	// DefaultAPIURL is Clerk's Backend API base URL.
	DefaultAPIURL = "https://api.clerk.com/v1"
	// DefaultAPIVersion is the Clerk-API-Version sent to the Backend API:
	// the newest version described in the specs clerkauth is tested against.
	DefaultAPIVersion = "2026-05-12"
	// DefaultLeeway is the clock skew tolerated on exp, nbf and iat, as in
	// Clerk's SDKs.
	DefaultLeeway = 5 * time.Second
	// MaxLeeway is the largest leeway accepted: a larger one would defeat
	// the 60 s life of session tokens.
	MaxLeeway = 5 * time.Minute
	// NoLeeway asks for no clock skew tolerance at all (a zero Leeway means
	// DefaultLeeway).
	NoLeeway = time.Duration(1)
	// DefaultJWKSCacheTTL is how long fetched keys are fresh before a
	// background refresh.
	DefaultJWKSCacheTTL = 5 * time.Minute
	// DefaultJWKSRefreshCooldown is the minimum interval between two fetches
	// caused by unknown key IDs (see Config.JWKSRefreshCooldown).
	DefaultJWKSRefreshCooldown = 30 * time.Second
	// DefaultJWKSMaxStaleness is how long the last good keys keep serving
	// while the key server fails.
	DefaultJWKSMaxStaleness = 24 * time.Hour
	// DefaultTokenCacheSize is the number of verified tokens remembered.
	DefaultTokenCacheSize = 10000
	// DefaultMaxRetries is the number of retries of a failed request to
	// Clerk (5xx, 429, network errors), after the first attempt.
	DefaultMaxRetries = 3
	// MaxTokenSize is the largest token accepted, in bytes.
	MaxTokenSize = 16 << 10
	// DefaultMaxTokenLifetime is the longest token lifetime (exp - iat)
	// accepted, and so how long a revocation is remembered. Clerk's session
	// tokens live 60 s; tokens from CreateToken or JWT templates may be
	// given longer lives.
	DefaultMaxTokenLifetime = time.Hour
	// DefaultMachineTokenCacheTTL is how long an opaque machine token that
	// Clerk confirmed is trusted without asking again: a revoked token
	// keeps working this long. 5 s keeps revocation prompt while a busy
	// caller costs at most one verify call per token per 5 s, against
	// Clerk's 100 (development) or 1000 (production) calls per 10 s.
	DefaultMachineTokenCacheTTL = 5 * time.Second
	// MaxMachineTokenCacheTTL is the longest MachineTokenCacheTTL accepted.
	MaxMachineTokenCacheTTL = 5 * time.Minute
)

// Config configures a [Verifier] and a [SessionsClient]. The zero value of
// every optional field selects the documented default; a Config is copied by
// the constructors, so changing it afterwards has no effect.
type Config struct {
	// SecretKey is the instance's Backend API secret key (sk_test_… or
	// sk_live_…). It authenticates the JWKS fetch from {APIURL}/jwks and
	// every Sessions API call. It is never logged.
	SecretKey string

	// PublishableKey is the instance's publishable key (pk_test_… or
	// pk_live_…). The expected token issuer, https://<frontend API host>,
	// is decoded from it, as is the suffix of the __session_<suffix> cookie.
	PublishableKey string

	// MachineSecretKey is a machine's secret key (ak_…, the
	// CLERK_MACHINE_SECRET_KEY of Clerk's SDKs). When set, opaque M2M
	// tokens are verified with it instead of SecretKey, so that Clerk
	// accepts only tokens scoped to that machine: with the instance's
	// secret key any M2M token of the instance verifies. It is never
	// logged.
	MachineSecretKey string

	// MachineTokenCacheTTL is how long an opaque machine token (mt_…,
	// oat_…, ak_…) that Clerk confirmed is trusted without asking again,
	// and at most until it expires. Zero means DefaultMachineTokenCacheTTL;
	// a negative value disables the cache (every request asks Clerk); at
	// most MaxMachineTokenCacheTTL. See MiddlewareOptions.StrictMachineTokens
	// for revocation-sensitive routes.
	MachineTokenCacheTTL time.Duration

	// MachineTokenCache is a second-level cache of confirmed opaque
	// machine tokens, shared by replicas (a Redis store, say); the
	// Verifier keeps its own in-process cache in front of it. Default
	// none. Whoever can write to it can make tokens valid: protect it as
	// the secret key. A cache that is also a MachineTokenLeaser or a
	// MachineTokenWatcher (redisstore.MachineCache is both) makes the
	// fleet ask Clerk about a token about once per MachineTokenCacheTTL,
	// and spreads ForgetMachineToken to every replica.
	MachineTokenCache MachineTokenCache

	// MachineVerifyRate and MachineVerifyBurst bound the calls to Clerk's
	// verify endpoints for opaque machine tokens (a token bucket): at most
	// Burst + Rate·t calls in any t, whatever callers send. A token that
	// would need a call beyond it is answered 503 with Retry-After; cached
	// tokens are unaffected. A quarter of the burst (at least one call,
	// none for a burst of 1) is kept for tokens Clerk confirmed before
	// whose cache entry expired, and refills go to it first: unknown
	// tokens spend at most
	// Burst − Burst/4 + Rate·t, and a flood of them cannot keep known
	// callers from being confirmed again. Defaults: 5/s and 20 for a
	// development instance (an sk_test_ secret key or a pk_test_
	// publishable key), 50/s and 200 otherwise, half of Clerk's rate
	// limit, which all Backend API calls of the instance share.
	MachineVerifyRate  float64
	MachineVerifyBurst int

	// JWTKey is the instance's PEM public key ("JWT public key" in the
	// dashboard, CLERK_JWT_KEY), with or without its BEGIN/END lines. With
	// it, verification makes no network request at all. When a JWKS source
	// is also configured, a token the PEM key does not verify (after a key
	// rotation) is checked against the JWKS.
	JWTKey string

	// APIURL is the Backend API base URL. Default DefaultAPIURL.
	APIURL string

	// JWKSURL is an explicit public JWKS URL, such as the Frontend API's
	// https://<frontend API host>/.well-known/jwks.json. When set it is used
	// instead of {APIURL}/jwks and fetched without the secret key.
	JWKSURL string

	// APIVersion is sent as the Clerk-API-Version header. Default
	// DefaultAPIVersion.
	APIVersion string

	// Issuers are accepted token issuers in addition to the one decoded from
	// PublishableKey, such as a proxy or satellite URL. Each is compared
	// exactly.
	Issuers []string

	// InsecureSkipIssuerCheck accepts tokens from any issuer. It MUST NOT be
	// set in production: without an issuer check a token of another Clerk
	// instance that shares a key source is accepted.
	InsecureSkipIssuerCheck bool

	// AuthorizedParties lists the origins allowed in the azp claim, such as
	// "https://example.com". When set, a token without azp is rejected.
	// Strongly recommended: it refuses tokens minted for another origin
	// (another of your apps, or a subdomain that leaks cookies). It does
	// not stop cross-site request forgery, since a victim's own cookie
	// carries a legitimate azp: the middleware's cross-origin check does
	// (see Middleware).
	AuthorizedParties []string

	// Audience, when set, requires the aud claim to contain one of these
	// values; a token without aud is then rejected.
	Audience []string

	// Leeway is the clock skew tolerated on exp, nbf and iat. Zero means
	// DefaultLeeway; NoLeeway means none. Negative values and values above
	// MaxLeeway are rejected.
	Leeway time.Duration

	// AllowPendingSessions accepts tokens whose session status (sts) is
	// pending. By default they are rejected with ErrSessionPending, as
	// Clerk's SDKs treat them as signed out.
	AllowPendingSessions bool

	// Algorithms restricts the accepted signature algorithms. Default RS256,
	// RS384 and RS512. Only those three may be listed: none, HMAC and
	// others are never accepted.
	Algorithms []string

	// JWKSCacheTTL is how long fetched keys are considered fresh; older keys
	// keep serving while a refresh runs. A Cache-Control max-age from the key
	// server, clamped to [1 min, 1 h], takes precedence. Default
	// DefaultJWKSCacheTTL.
	JWKSCacheTTL time.Duration

	// JWKSRefreshCooldown is the minimum interval between fetches caused by
	// an unknown key ID. Default DefaultJWKSRefreshCooldown.
	//
	// This is the one rule for a token whose kid the held keys lack (and
	// whose unverified claims pass every other check):
	//   - If the held key set was fetched at least one Leeway after the
	//     token's iat, the kid is not the instance's: the token is refused
	//     with jwk-kid-mismatch (401), with no fetch and no online fallback.
	//   - Otherwise the kid may belong to a key rotated in since the fetch:
	//     one shared fetch decides, then jwk-kid-mismatch if the kid is
	//     still absent. Such fetches happen at most once per cooldown;
	//     during the cooldown the token is undecided, answered with
	//     jwk-refresh-cooling-down (ErrKeysUnavailable, 503 with Retry-After
	//     set to the rest of the cooldown), never 401: a forged kid cannot
	//     make a genuinely new kid fail.
	//   - With no usable key set (first fetch, or failures past
	//     JWKSMaxStaleness) the token waits for a fetch, limited by the
	//     backoff after failures (1 s doubling up to the cooldown).
	//
	// So forged tokens cost at most one key fetch per cooldown, whatever
	// their number, kids or iat. Only a failing key source, never an
	// unknown kid, lets MiddlewareOptions.OnlineFallback ask Clerk.
	JWKSRefreshCooldown time.Duration

	// JWKSMaxStaleness is how long the last good keys keep verifying tokens
	// after refreshes start failing. Default DefaultJWKSMaxStaleness.
	JWKSMaxStaleness time.Duration

	// TokenCacheSize is the number of verified tokens remembered until their
	// exp, so a repeated token skips the signature check. Zero means
	// DefaultTokenCacheSize; a negative value disables the cache.
	TokenCacheSize int

	// MaxTokenLifetime is the longest session token lifetime accepted: a
	// token whose exp - iat exceeds it is refused with reason
	// token-lifetime-exceeded, and a token without iat is refused too.
	// Machine JWTs (M2M, OAuth: a day by default), which no session
	// revocation concerns, are not bounded by it. A
	// revocation recorded by [Verifier.MarkRevoked] is kept this long plus
	// twice the leeway, so it outlives every token of the session. Set it
	// to the longest lifetime the instance issues (session tokens, JWT
	// templates, CreateToken's ExpiresInSeconds). Default
	// DefaultMaxTokenLifetime.
	MaxTokenLifetime time.Duration

	// Revocations records revoked sessions; tokens of a revoked session are
	// rejected with ErrSessionRevoked. Default an in-memory store local to
	// the Verifier (see [NewMemoryRevocationStore]).
	Revocations RevocationStore

	// HTTPClient is used for every request to Clerk. Default a client with a
	// 10 s timeout that never follows redirects (Clerk does not redirect, and
	// the secret key must not follow one). A client given here is used
	// through a shallow copy that never follows a redirect to another origin
	// (scheme, host or port: so never from https to http), nor one that
	// would re-send a POST as a GET, whatever its own CheckRedirect says;
	// the client itself is not changed. Requests also
	// honour the caller's context and RequestTimeout.
	HTTPClient *http.Client

	// RequestTimeout bounds each request to Clerk (each attempt, its body
	// read included), whatever HTTPClient's own Timeout and the caller's
	// context: a client without a timeout cannot hang a call forever.
	// Default 10 s.
	RequestTimeout time.Duration

	// InsecureAllowHTTPWithLiveKeys allows plain-http (loopback) APIURL and
	// JWKSURL with a live key (sk_live_…, pk_live_…). By default that is
	// refused: http to a loopback host is for local test servers such as
	// clerktest, which never need production keys, and a live secret sent
	// in clear text may be read by anything on the host.
	InsecureAllowHTTPWithLiveKeys bool

	// MaxRetries is the number of retries after a failed request to Clerk
	// (5xx, 429 and network errors; other 4xx are never retried). Zero
	// means DefaultMaxRetries; a negative value disables retries.
	MaxRetries int

	// UserAgent is appended to clerkauth's own User-Agent.
	UserAgent string

	// Logger receives operational events once per transition (keys loaded,
	// stale or unavailable, Clerk rate limiting, the revocation store
	// failing, a breaker opening, configuration warnings) at Info, Warn or
	// Error, and per-request decisions at Debug; see the README's
	// "Operating clerkauth" for the messages and attributes. It never
	// receives tokens or secrets. Default: no logging.
	Logger *slog.Logger

	// Observer receives events for metrics and traces (see [Observer]; the
	// otelclerkauth module provides one for OpenTelemetry). A Middleware
	// reports to its Verifier's Observer. Default: none, at no cost.
	Observer Observer

	// Now returns the current time. Default time.Now. Tests inject a clock.
	Now func() time.Time

	obs *observer // built from Observer and Logger by withDefaults
}

// trimmedEnv returns a getter of the variables lookup finds, trimmed of
// white space, "" for an unset one.
func trimmedEnv(lookup func(string) (string, bool)) func(string) string {
	return func(k string) string {
		v, _ := lookup(k)
		return strings.TrimSpace(v)
	}
}

// envAPIURL is the APIURL of a CLERK_API_URL value. Clerk's JavaScript
// SDKs read that variable as the API's origin and add the version path
// themselves (https://api.clerk.com, then /v1), while APIURL includes it:
// a value with no path gets /v1, so that a variable shared with a
// JavaScript app reaches the same API. A value with a path, or one that
// does not parse, is kept for NewVerifier to judge.
func envAPIURL(v string) string {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return v
	}
	return strings.TrimSuffix(v, "/") + "/v1"
}

// ConfigFromEnv returns a Config read from the environment variables Clerk's
// SDKs use: CLERK_SECRET_KEY, CLERK_MACHINE_SECRET_KEY,
// CLERK_PUBLISHABLE_KEY, CLERK_JWT_KEY, CLERK_API_URL, CLERK_API_VERSION,
// CLERK_JWKS_URL and CLERK_AUTHORIZED_PARTIES (a comma-separated list).
// CLERK_API_URL is read as Clerk's JavaScript SDKs read it: a URL without a
// path (https://api.clerk.com) means its /v1. It does not validate:
// [NewVerifier] does, and its [*ConfigError] names the variable that holds
// a faulty value.
func ConfigFromEnv() Config {
	return configFromLookup(os.LookupEnv)
}

func configFromLookup(lookup func(string) (string, bool)) Config {
	get := trimmedEnv(lookup)
	return Config{
		SecretKey:         get("CLERK_SECRET_KEY"),
		MachineSecretKey:  get(EnvMachineSecretKey),
		PublishableKey:    get("CLERK_PUBLISHABLE_KEY"),
		JWTKey:            get("CLERK_JWT_KEY"),
		APIURL:            envAPIURL(get("CLERK_API_URL")),
		APIVersion:        get("CLERK_API_VERSION"),
		JWKSURL:           get("CLERK_JWKS_URL"),
		AuthorizedParties: splitList(get("CLERK_AUTHORIZED_PARTIES")),
	}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// withDefaults validates cfg and fills its zero fields.
func (cfg Config) withDefaults() (Config, error) {
	switch {
	case cfg.Leeway < 0:
		return cfg, configError("%s is negative: "+cfg.Leeway.String(), "Leeway")
	case cfg.Leeway > MaxLeeway:
		return cfg, configError("%s "+cfg.Leeway.String()+" exceeds "+MaxLeeway.String(), "Leeway")
	case cfg.Leeway == 0:
		cfg.Leeway = DefaultLeeway
	case cfg.Leeway == NoLeeway:
		cfg.Leeway = 0
	}
	if cfg.MaxTokenLifetime < 0 {
		return cfg, configError("%s is negative: "+cfg.MaxTokenLifetime.String(), "MaxTokenLifetime")
	}
	if err := cfg.checkHeaderValues(); err != nil {
		return cfg, err
	}
	if err := cfg.checkTransport(); err != nil {
		return cfg, err
	}
	if cfg.JWKSURL != "" {
		u, err := httpx.ParseServiceURL("JWKSURL", cfg.JWKSURL)
		if err != nil {
			return cfg, err
		}
		cfg.JWKSURL = u
	}
	u, err := parseAPIURL(orDefault(cfg.APIURL, DefaultAPIURL))
	if err != nil {
		return cfg, err
	}
	cfg.APIURL = u
	cfg.APIVersion = orDefault(cfg.APIVersion, DefaultAPIVersion)
	cfg.JWKSCacheTTL = orDefault(cfg.JWKSCacheTTL, DefaultJWKSCacheTTL)
	cfg.JWKSRefreshCooldown = orDefault(cfg.JWKSRefreshCooldown, DefaultJWKSRefreshCooldown)
	cfg.JWKSMaxStaleness = orDefault(cfg.JWKSMaxStaleness, DefaultJWKSMaxStaleness)
	cfg.MaxTokenLifetime = orDefault(cfg.MaxTokenLifetime, DefaultMaxTokenLifetime)
	cfg.TokenCacheSize = orDefault(cfg.TokenCacheSize, DefaultTokenCacheSize)
	if err := cfg.machineDefaults(); err != nil {
		return cfg, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.HTTPClient = httpx.GuardedClient(cfg.HTTPClient)
	cfg.RequestTimeout = orDefault(cfg.RequestTimeout, httpx.DefaultTimeout)
	if cfg.Revocations == nil {
		cfg.Revocations = NewMemoryRevocationStore(cfg.Now)
	}
	hooks := cfg.Observer
	if cfg.TokenCacheSize < 0 {
		hooks.TokenCacheLookup = nil // no cache, no lookups
	}
	cfg.obs = newObserver(hooks, cfg.Logger)
	return cfg, nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// checkHeaderValues rejects values that travel in request headers and
// could not be sent as they are: a secret key with spaces or control
// characters, a UserAgent with control characters, an APIVersion that is
// not a YYYY-MM-DD date. NewVerifier and NewSessionsClient share it.
func (cfg *Config) checkHeaderValues() error {
	switch {
	case !httpx.HeaderSafe(cfg.SecretKey) || strings.ContainsRune(cfg.SecretKey, ' '):
		return configError("%s contains spaces or control characters", "SecretKey")
	case !httpx.HeaderSafe(cfg.MachineSecretKey) || strings.ContainsRune(cfg.MachineSecretKey, ' '):
		return configError("%s contains spaces or control characters", "MachineSecretKey")
	case !httpx.HeaderSafe(cfg.UserAgent):
		return configError("%s contains control characters", "UserAgent")
	}
	if cfg.APIVersion == "" {
		return nil
	}
	if _, err := time.Parse(time.DateOnly, cfg.APIVersion); err != nil {
		return configError("%s "+quoted(httpx.Excerpt([]byte(cfg.APIVersion), 32))+" is not a YYYY-MM-DD date", "APIVersion")
	}
	return nil
}

// checkTransport refuses a negative RequestTimeout, and a live key with a
// plain-http APIURL or JWKSURL unless InsecureAllowHTTPWithLiveKeys says
// so. NewVerifier and NewSessionsClient share it.
func (cfg *Config) checkTransport() error {
	if cfg.RequestTimeout < 0 {
		return configError("%s is negative: "+cfg.RequestTimeout.String(), "RequestTimeout")
	}
	live := strings.HasPrefix(cfg.SecretKey, "sk_live_") || strings.HasPrefix(cfg.PublishableKey, "pk_live_")
	if !live || cfg.InsecureAllowHTTPWithLiveKeys {
		return nil
	}
	for field, u := range map[string]string{"APIURL": cfg.APIURL, "JWKSURL": cfg.JWKSURL} {
		if len(u) >= 7 && strings.EqualFold(u[:7], "http://") {
			return configError("%s uses plain http with a live key (set %s for a local proxy)", field, "InsecureAllowHTTPWithLiveKeys")
		}
	}
	return nil
}

// PublishableKeyInfo is what a publishable key encodes.
type PublishableKeyInfo struct {
	// FrontendAPI is the Frontend API host, such as
	// "clerk.example.com" or "foo-bar-13.clerk.accounts.dev".
	FrontendAPI string
	// Live reports a production (pk_live_) key.
	Live bool
}

// Issuer returns the token issuer of the instance: https://<FrontendAPI>.
func (p PublishableKeyInfo) Issuer() string { return "https://" + p.FrontendAPI }

// ParsePublishableKey decodes a publishable key: pk_test_ or pk_live_
// followed by the base64 of "<frontend API host>$".
func ParsePublishableKey(key string) (PublishableKeyInfo, error) {
	var info PublishableKeyInfo
	var rest string
	switch {
	case strings.HasPrefix(key, "pk_live_"):
		info.Live, rest = true, key[len("pk_live_"):]
	case strings.HasPrefix(key, "pk_test_"):
		rest = key[len("pk_test_"):]
	default:
		return info, configError("%s must start with pk_test_ or pk_live_", "PublishableKey")
	}
	raw, err := decodeLooseBase64(rest)
	if err != nil {
		return info, configError("%s is not valid base64", "PublishableKey")
	}
	host, ok := strings.CutSuffix(string(raw), "$")
	if !ok || !validHost(host) {
		return info, configError("%s does not encode a frontend API host", "PublishableKey")
	}
	info.FrontendAPI = host
	return info, nil
}

func decodeLooseBase64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if b, err := base64.RawStdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawURLEncoding.DecodeString(s)
}

func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, c := range h {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == ':':
		default:
			return false
		}
	}
	return true
}

// CookieSuffix returns the suffix Clerk appends to cookie names for the
// instance of publishableKey (__session_<suffix>): the first 8 characters of
// base64url(SHA-1(publishableKey)).
func CookieSuffix(publishableKey string) string {
	sum := sha1.Sum([]byte(publishableKey))
	return base64.RawURLEncoding.EncodeToString(sum[:])[:8]
}

// Redact returns a form of a secret or token that is safe to log: its first
// seven characters followed by "…", or "" for an empty string.
func Redact(secret string) string {
	const keep = 7
	if secret == "" {
		return ""
	}
	if len(secret) <= keep {
		return "…"
	}
	return secret[:keep] + "…"
}
