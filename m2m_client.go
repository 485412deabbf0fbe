package clerkauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/clerkauth/clerkauth/internal/httpx"
)

// EnvMachineSecretKey is the environment variable Clerk's documentation
// uses for a machine secret key, read by [M2MConfigFromEnv].
const EnvMachineSecretKey = "CLERK_MACHINE_SECRET_KEY"

// M2MTokenFormat is the format of an M2M token.
type M2MTokenFormat string

// Formats of M2M tokens.
const (
	// M2MFormatJWT is a JWT signed by the instance key. Receivers verify it
	// networklessly (no Backend API call, no per-verification cost), but it
	// cannot be revoked: it is valid until it expires.
	M2MFormatJWT M2MTokenFormat = "jwt"
	// M2MFormatOpaque is a random mt_… token that receivers verify with the
	// Backend API on each use (or cache briefly). Choose it when a receiver
	// must see a revocation at once.
	M2MFormatOpaque M2MTokenFormat = "opaque"
)

// Defaults and bounds of M2M tokens.
const (
	// DefaultM2MTokenLifetime is the lifetime asked for when
	// M2MConfig.Lifetime is zero: the default of a machine's
	// default_token_ttl. It is always sent explicitly, because Clerk's
	// documentation and API description disagree on what an absent
	// lifetime means (never expires, or the machine's default).
	DefaultM2MTokenLifetime = time.Hour
	// MaxM2MListLimit is the largest page size of [M2MTokensClient.List].
	MaxM2MListLimit = 100
)

// M2MConfig configures an [M2MTokensClient] and an [M2MTokenSource]. The
// zero value of every optional field selects the documented default; the
// constructors copy it, so changing it afterwards has no effect.
type M2MConfig struct {
	// MachineSecretKey is the calling machine's secret key (ak_…), from
	// CLERK_MACHINE_SECRET_KEY. Required. It is sent only to APIURL and
	// never logged. The instance secret key (sk_…) cannot create M2M
	// tokens and is refused.
	MachineSecretKey string

	// APIURL is the Backend API base URL. Default DefaultAPIURL.
	APIURL string

	// APIVersion is sent as the Clerk-API-Version header. Default
	// DefaultAPIVersion.
	APIVersion string

	// Format is the format of the tokens an M2MTokenSource creates. Default
	// M2MFormatJWT: receivers verify it without calling Clerk. Use
	// M2MFormatOpaque when receivers need instant revocation.
	Format M2MTokenFormat

	// Lifetime is the lifetime of each token an M2MTokenSource creates,
	// in whole seconds. Default DefaultM2MTokenLifetime.
	Lifetime time.Duration

	// Claims are custom claims added to each token (JSON-encoded once, at
	// construction). Clerk reserves iss, sub, exp, nbf, iat and jti.
	Claims map[string]any

	// RefreshMargin is how long before a token expires the source creates
	// the next one, in the background while the current one keeps being
	// handed out. Default min(1 min, lifetime/4). It must be shorter than
	// Lifetime.
	RefreshMargin time.Duration

	// MinRemainingTTL, for opaque tokens, asks Clerk to hand back an
	// existing live token of the machine with the same claims and at least
	// this much life left instead of minting one (min_remaining_ttl_seconds),
	// which pools tokens across processes. It must be longer than the
	// refresh margin and shorter than Lifetime. Default 0: not sent.
	// Since a pooled token may have been created long before, a source
	// counts only MinRemainingTTL of each token's life, and so asks Clerk
	// again every MinRemainingTTL minus the refresh margin.
	MinRemainingTTL time.Duration

	// HTTPClient is used for every request to Clerk. Default a client with
	// a 10 s timeout that never follows redirects.
	HTTPClient *http.Client

	// MaxRetries is the number of retries after a failed request to Clerk
	// (5xx, 429 and network errors). Zero means DefaultMaxRetries; a
	// negative value disables retries.
	MaxRetries int

	// UserAgent is appended to clerkauth's own User-Agent.
	UserAgent string

	// Logger receives rare operational events (a failed token refresh).
	// It never receives tokens or secrets. Default: no logging.
	Logger *slog.Logger

	// Now returns the current time. Default time.Now.
	Now func() time.Time
}

// M2MConfigFromEnv returns an M2MConfig read from CLERK_MACHINE_SECRET_KEY,
// CLERK_API_URL (a URL without a path means its /v1, as for
// [ConfigFromEnv]) and CLERK_API_VERSION. It does not validate: the
// constructors do.
func M2MConfigFromEnv() M2MConfig {
	return m2mConfigFromLookup(os.LookupEnv)
}

func m2mConfigFromLookup(lookup func(string) (string, bool)) M2MConfig {
	get := trimmedEnv(lookup)
	return M2MConfig{
		MachineSecretKey: get(EnvMachineSecretKey),
		APIURL:           envAPIURL(get("CLERK_API_URL")),
		APIVersion:       get("CLERK_API_VERSION"),
	}
}

// checkMachineSecretKey explains what is wrong with a machine secret key,
// naming the variable it usually comes from.
func checkMachineSecretKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: MachineSecretKey (%s) is required", ErrInvalidConfig, EnvMachineSecretKey)
	case strings.HasPrefix(key, "sk_"):
		return fmt.Errorf("%w: MachineSecretKey (%s) holds an instance secret key (sk_…); M2M tokens are created with the machine's secret key (ak_…)", ErrInvalidConfig, EnvMachineSecretKey)
	case !strings.HasPrefix(key, "ak_") || len(key) == len("ak_"):
		return fmt.Errorf("%w: MachineSecretKey (%s) must be a machine secret key (ak_…)", ErrInvalidConfig, EnvMachineSecretKey)
	case !httpx.HeaderSafe(key) || strings.ContainsRune(key, ' '):
		return fmt.Errorf("%w: MachineSecretKey (%s) contains spaces or control characters", ErrInvalidConfig, EnvMachineSecretKey)
	}
	return nil
}

// M2MTokensClient calls the M2M token endpoints of Clerk's Backend API
// with a machine secret key: it creates, lists and revokes that machine's
// tokens. It retries as [SessionsClient] does (429 after Retry-After, 5xx
// and network failures after a backoff); creating is retried too, which
// at worst mints an unused extra token.
//
// An M2MTokensClient is immutable and safe for concurrent use by multiple
// goroutines.
type M2MTokensClient struct {
	api *SessionsClient // the shared Backend API caller, keyed with the machine secret key
}

// NewM2MTokensClient returns a client configured from cfg. It uses
// MachineSecretKey (required), APIURL, APIVersion, HTTPClient, MaxRetries,
// UserAgent, Logger and Now. A configuration it cannot use yields an error
// matching [ErrInvalidConfig].
func NewM2MTokensClient(cfg M2MConfig) (*M2MTokensClient, error) {
	if err := checkMachineSecretKey(cfg.MachineSecretKey); err != nil {
		return nil, err
	}
	api, err := NewSessionsClient(Config{
		SecretKey: cfg.MachineSecretKey, APIURL: cfg.APIURL, APIVersion: cfg.APIVersion,
		HTTPClient: cfg.HTTPClient, MaxRetries: cfg.MaxRetries, UserAgent: cfg.UserAgent,
		Logger: cfg.Logger, Now: cfg.Now,
	})
	if err != nil {
		return nil, err
	}
	return &M2MTokensClient{api: api}, nil
}

// M2MToken is an M2M token as the Backend API describes it. Token, the
// secret, is set only by creation. Its String, GoString and LogValue
// methods never show the whole secret.
type M2MToken struct {
	// ID is the token ID (mt_…); the jti of a JWT token.
	ID string `json:"id"`
	// Token is the secret: an opaque mt_… token or a JWT. Empty in lists.
	Token string `json:"token,omitempty"`
	// Subject is the ID of the machine that created the token (mch_…).
	Subject string `json:"subject"`
	// Scopes are the IDs of the machines the token may call.
	Scopes []string `json:"scopes"`
	// Claims are the custom claims as JSON, nil when none.
	Claims json.RawMessage `json:"claims,omitempty"`
	// Revoked and RevocationReason tell whether and why it was revoked.
	Revoked          bool   `json:"revoked"`
	RevocationReason string `json:"revocation_reason,omitempty"`
	// Expired reports whether Clerk considered it expired when answering.
	Expired bool `json:"expired"`
	// Expiration is when it expires, by Clerk's clock; zero for never.
	Expiration time.Time `json:"expiration,omitzero"`
	// LastUsedAt is when it was last verified; zero for never.
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	// CreatedAt and UpdatedAt date it, by Clerk's clock.
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// String returns a description of t with its secret redacted.
func (t *M2MToken) String() string {
	if t == nil {
		return "<nil>"
	}
	return fmt.Sprintf("M2MToken{ID:%s Subject:%s Token:%s}", t.ID, t.Subject, Redact(t.Token))
}

// GoString is String, so that %#v does not print the secret either.
func (t *M2MToken) GoString() string { return t.String() }

// LogValue logs t without its secret.
func (t *M2MToken) LogValue() slog.Value {
	if t == nil {
		return slog.StringValue("<nil>")
	}
	return slog.GroupValue(slog.String("id", t.ID), slog.String("subject", t.Subject),
		slog.String("token", Redact(t.Token)), slog.Time("expiration", t.Expiration))
}

// m2mTokenJSON is the machine_to_machine_token object on the wire:
// timestamps in milliseconds.
type m2mTokenJSON struct {
	Object           string          `json:"object"`
	ID               string          `json:"id"`
	Token            string          `json:"token"`
	Subject          string          `json:"subject"`
	Scopes           []string        `json:"scopes"`
	Claims           json.RawMessage `json:"claims"`
	Revoked          bool            `json:"revoked"`
	RevocationReason *string         `json:"revocation_reason"`
	Expired          bool            `json:"expired"`
	Expiration       *float64        `json:"expiration"`
	LastUsedAt       *float64        `json:"last_used_at"`
	CreatedAt        float64         `json:"created_at"`
	UpdatedAt        float64         `json:"updated_at"`
}

func (j *m2mTokenJSON) token() (*M2MToken, error) {
	if j.Object != "machine_to_machine_token" {
		return nil, fmt.Errorf("object is %q, not machine_to_machine_token", httpx.Excerpt([]byte(j.Object), 40))
	}
	if j.ID == "" || j.Subject == "" {
		return nil, errors.New("answer holds no token id or subject")
	}
	t := &M2MToken{ID: j.ID, Token: j.Token, Subject: j.Subject, Scopes: j.Scopes, Revoked: j.Revoked,
		Expired: j.Expired, CreatedAt: fromMillis(j.CreatedAt), UpdatedAt: fromMillis(j.UpdatedAt)}
	if len(j.Claims) > 0 && string(j.Claims) != "null" {
		t.Claims = j.Claims
	}
	if j.RevocationReason != nil {
		t.RevocationReason = *j.RevocationReason
	}
	if j.Expiration != nil {
		t.Expiration = fromMillis(*j.Expiration)
	}
	if j.LastUsedAt != nil {
		t.LastUsedAt = fromMillis(*j.LastUsedAt)
	}
	return t, nil
}

func fromMillis(ms float64) time.Time {
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(ms))
}

// CreateM2MTokenParams are the options of [M2MTokensClient.Create]; every
// field is optional.
type CreateM2MTokenParams struct {
	// Format is M2MFormatOpaque or M2MFormatJWT; "" leaves it to Clerk
	// (opaque).
	Format M2MTokenFormat
	// Lifetime is the token's lifetime, in whole seconds; 0 leaves it to
	// Clerk (the machine's default_token_ttl).
	Lifetime time.Duration
	// Claims are custom claims, a JSON object; nil for none.
	Claims json.RawMessage
	// MinRemainingTTL, for opaque tokens, returns an existing live token
	// with at least this much life left instead of minting one; 0: not
	// sent. It must be shorter than the lifetime.
	MinRemainingTTL time.Duration
}

// body returns the JSON request body of p.
func (p CreateM2MTokenParams) body(op string) ([]byte, error) {
	m := map[string]any{}
	switch p.Format {
	case "":
	case M2MFormatJWT, M2MFormatOpaque:
		m["token_format"] = p.Format
	default:
		return nil, argError(op, "token format must be %q or %q", M2MFormatOpaque, M2MFormatJWT)
	}
	switch {
	case p.Lifetime < 0 || p.Lifetime%time.Second != 0 || p.Lifetime > MaxExpiresInSeconds*time.Second:
		return nil, argError(op, "lifetime must be whole seconds, at most %d", MaxExpiresInSeconds)
	case p.Lifetime > 0:
		m["seconds_until_expiration"] = int64(p.Lifetime / time.Second)
	}
	if len(p.Claims) > 0 {
		if !json.Valid(p.Claims) || strings.TrimSpace(string(p.Claims))[0] != '{' {
			return nil, argError(op, "claims must be a JSON object")
		}
		m["claims"] = p.Claims
	}
	switch {
	case p.MinRemainingTTL < 0 || p.MinRemainingTTL%time.Second != 0:
		return nil, argError(op, "min remaining TTL must be whole seconds")
	case p.MinRemainingTTL > 0 && p.Format == M2MFormatJWT:
		return nil, argError(op, "min remaining TTL applies to opaque tokens only")
	case p.MinRemainingTTL > 0 && p.Lifetime > 0 && p.MinRemainingTTL >= p.Lifetime:
		return nil, argError(op, "min remaining TTL must be shorter than the lifetime")
	case p.MinRemainingTTL > 0:
		m["min_remaining_ttl_seconds"] = int64(p.MinRemainingTTL / time.Second)
	}
	return json.Marshal(m)
}

// Create creates an M2M token for the client's machine (POST /m2m_tokens)
// and returns it with its secret. A refused machine secret key yields an
// error matching [ErrUnauthorized].
func (c *M2MTokensClient) Create(ctx context.Context, p CreateM2MTokenParams) (*M2MToken, error) {
	const op = "create M2M token"
	body, err := p.body(op)
	if err != nil {
		return nil, err
	}
	tok, err := c.doToken(ctx, apiRequest{op: op, method: http.MethodPost, path: "/m2m_tokens", body: body})
	if err != nil {
		return nil, err
	}
	if err := checkCreatedSecret(tok); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUnexpectedResponse, op, err)
	}
	return tok, nil
}

// checkCreatedSecret rejects a created token whose secret could not be
// sent as a Bearer token unchanged, or whose life cannot be counted (see
// M2MTokenSource.schedule).
func checkCreatedSecret(t *M2MToken) error {
	switch {
	case t.Token == "":
		return errors.New("answer holds no token")
	case len(t.Token) > MaxTokenSize || !httpx.HeaderSafe(t.Token) || strings.ContainsRune(t.Token, ' '):
		return errors.New("token is too large or holds spaces or control characters")
	case !t.Expiration.IsZero() && t.CreatedAt.IsZero():
		return errors.New("answer holds an expiration but no creation time: the token's life is unknown")
	case !t.Expiration.IsZero() && !t.Expiration.After(t.CreatedAt):
		return errors.New("token expires before it was created")
	}
	return nil
}

// Revoke revokes the opaque M2M token with the given ID (mt_…) and returns
// it (POST /m2m_tokens/{id}/revoke). reason may be empty. JWT tokens cannot
// be revoked: Clerk answers 404 ([ErrNotFound]).
func (c *M2MTokensClient) Revoke(ctx context.Context, tokenID, reason string) (*M2MToken, error) {
	const op = "revoke M2M token"
	seg, err := pathSegment(op, "token ID", tokenID)
	if err != nil {
		return nil, err
	}
	body := []byte(`{}`)
	if reason != "" {
		if body, err = json.Marshal(map[string]string{"revocation_reason": reason}); err != nil {
			return nil, fmt.Errorf("clerkauth: %s: %w", op, err)
		}
	}
	return c.doToken(ctx, apiRequest{op: op, method: http.MethodPost, path: "/m2m_tokens/" + seg + "/revoke", body: body})
}

func (c *M2MTokensClient) doToken(ctx context.Context, r apiRequest) (*M2MToken, error) {
	var tok *M2MToken
	err := c.api.do(ctx, r, func(body []byte) error {
		var j m2mTokenJSON
		if err := json.Unmarshal(body, &j); err != nil {
			return err
		}
		var err error
		tok, err = j.token()
		return err
	})
	return tok, err
}

// ListM2MTokensParams filters and pages [M2MTokensClient.List].
type ListM2MTokensParams struct {
	// Subject is the machine whose tokens are listed (mch_…). Required; with
	// a machine secret key it must be that machine.
	Subject string
	// Revoked lists revoked tokens instead of unrevoked ones.
	Revoked bool
	// Expired lists expired tokens instead of unexpired ones.
	Expired bool
	// Limit is the page size, 1 to MaxM2MListLimit; 0 leaves it to the API
	// (10).
	Limit int
	// Offset skips that many tokens; it must not be negative.
	Offset int
}

// M2MTokenList is one page of M2M tokens.
type M2MTokenList struct {
	// Tokens are the page's tokens, without their secrets.
	Tokens []*M2MToken `json:"m2m_tokens"`
	// TotalCount is the number of tokens matching the filter.
	TotalCount int64 `json:"total_count"`
}

// List returns one page of the opaque M2M tokens of p.Subject, newest
// first (GET /m2m_tokens). JWT tokens are not stored by Clerk and never
// listed.
func (c *M2MTokensClient) List(ctx context.Context, p ListM2MTokensParams) (*M2MTokenList, error) {
	const op = "list M2M tokens"
	switch {
	case p.Subject == "":
		return nil, argError(op, "subject (the machine ID, mch_…) is required")
	case p.Limit < 0 || p.Limit > MaxM2MListLimit:
		return nil, argError(op, "limit must be between 1 and %d (or 0 for the default)", MaxM2MListLimit)
	case p.Offset < 0:
		return nil, argError(op, "offset must not be negative")
	}
	q := url.Values{"subject": {p.Subject}}
	if p.Revoked {
		q.Set("revoked", "true")
	}
	if p.Expired {
		q.Set("expired", "true")
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.Offset > 0 {
		q.Set("offset", strconv.Itoa(p.Offset))
	}
	list := &M2MTokenList{Tokens: []*M2MToken{}}
	err := c.api.do(ctx, apiRequest{op: op, method: http.MethodGet, path: "/m2m_tokens", query: q}, func(body []byte) error {
		var doc struct {
			Tokens     *[]m2mTokenJSON `json:"m2m_tokens"`
			TotalCount int64           `json:"total_count"`
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			return err
		}
		if doc.Tokens == nil {
			return errors.New("answer holds no m2m_tokens")
		}
		for i := range *doc.Tokens {
			t, err := (*doc.Tokens)[i].token()
			if err != nil {
				return err
			}
			t.Token = "" // a list never carries secrets; do not trust one that does
			list.Tokens = append(list.Tokens, t)
		}
		list.TotalCount = doc.TotalCount
		return nil
	})
	if err != nil {
		return nil, err
	}
	return list, nil
}
