package clerkauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/clerkauth/clerkauth/internal/httpx"
)

// Bounds of the Sessions API parameters, from Clerk's OpenAPI spec.
const (
	// MaxListLimit is the largest page size of [SessionsClient.List].
	MaxListLimit = 500
	// MinExpiresInSeconds and MaxExpiresInSeconds bound
	// [CreateTokenParams.ExpiresInSeconds].
	MinExpiresInSeconds = 30
	MaxExpiresInSeconds = 315360000
)

const (
	maxSuccessBody = 4 << 20 // bytes read from a successful answer
	allPageSize    = 100     // page size of All when Limit is 0
)

// SessionsClient calls Clerk's Backend Sessions API: it reads, lists and
// revokes sessions and creates session tokens. It authenticates with the
// secret key, sends the Clerk-API-Version header, bounds every body it reads
// and retries up to Config.MaxRetries times: 429 after its Retry-After (a
// wait over 60 s is not made: the error is returned at once), 5xx and
// network failures after an exponential backoff with jitter (500 ms × 1.5ⁿ,
// as Clerk's spec asks). Other 4xx answers are never retried.
//
// Every operation is safe to repeat (a revoked session stays revoked, an
// extra token is harmless), so POSTs are retried like GETs, as Clerk's own
// SDKs do, even when a timeout leaves it unknown whether the first attempt
// was processed. One caveat: a Revoke whose first answer was lost may come
// back with the API's answer to revoking an already revoked session.
//
// A SessionsClient is immutable and safe for concurrent use by multiple
// goroutines.
type SessionsClient struct {
	baseURL    string // without a trailing slash
	secretKey  string
	apiVersion string
	userAgent  string
	httpClient *http.Client
	timeout    time.Duration // per attempt
	maxRetries int
	now        func() time.Time
	logger     *slog.Logger
	obs        *observer // nil when nothing observes

	// sleep waits between attempts; tests replace it to observe the waits.
	sleep func(ctx context.Context, d time.Duration) error
	// jitter returns a random duration in [0, d); tests make it fixed.
	jitter func(d time.Duration) time.Duration
}

// pinnedTo returns a copy of c that sends the given Clerk-API-Version.
func (c *SessionsClient) pinnedTo(version string) *SessionsClient {
	cp := *c
	cp.apiVersion = version
	return &cp
}

// NewSessionsClient returns a client configured from cfg. It uses
// cfg.SecretKey (required), APIURL, APIVersion, HTTPClient, RequestTimeout,
// MaxRetries, UserAgent, Logger, Now and InsecureAllowHTTPWithLiveKeys, and
// ignores the verification fields. APIURL must be https, or http to a
// loopback host (for local test servers, and not with a live key). A
// configuration it cannot use yields a [*ConfigError] (matching
// [ErrInvalidConfig]) naming the field.
func NewSessionsClient(cfg Config) (*SessionsClient, error) {
	if cfg.SecretKey == "" {
		return nil, configError("%s is required by the sessions client", "SecretKey")
	}
	if err := cfg.checkHeaderValues(); err != nil {
		return nil, cfg.attribute(err)
	}
	if err := cfg.checkTransport(); err != nil {
		return nil, cfg.attribute(err)
	}
	base, err := parseAPIURL(orDefault(cfg.APIURL, DefaultAPIURL))
	if err != nil {
		return nil, cfg.attribute(err)
	}
	c := &SessionsClient{
		baseURL:    base,
		secretKey:  cfg.SecretKey,
		apiVersion: orDefault(cfg.APIVersion, DefaultAPIVersion),
		userAgent:  httpx.UserAgent(userAgentProduct, cfg.UserAgent),
		httpClient: httpx.GuardedClient(cfg.HTTPClient),
		timeout:    orDefault(cfg.RequestTimeout, httpx.DefaultTimeout),
		maxRetries: httpx.Retries(cfg.MaxRetries, DefaultMaxRetries),
		now:        cfg.Now,
		logger:     cfg.Logger,
		obs:        newObserver(cfg.Observer, cfg.Logger),
		sleep:      httpx.Sleep,
		jitter:     httpx.RandomJitter,
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// parseAPIURL checks the Backend API base URL and returns it without a
// trailing slash.
func parseAPIURL(raw string) (string, error) { return httpx.ParseServiceURL("APIURL", raw) }

// Get returns the session with the given ID (GET /sessions/{session_id}).
// An unknown ID yields an error matching [ErrNotFound].
func (c *SessionsClient) Get(ctx context.Context, sessionID string) (*Session, error) {
	const op = "get session"
	p, err := sessionPath(op, sessionID)
	if err != nil {
		return nil, err
	}
	return c.doSession(ctx, apiRequest{op: op, method: http.MethodGet, path: p})
}

// Revoke sets the session's status to revoked and returns the session
// (POST /sessions/{session_id}/revoke). Tokens already issued for it stay
// valid for networkless verification until they expire (about a minute)
// unless the verifier is told through a [RevocationStore].
func (c *SessionsClient) Revoke(ctx context.Context, sessionID string) (*Session, error) {
	const op = "revoke session"
	p, err := sessionPath(op, sessionID, "revoke")
	if err != nil {
		return nil, err
	}
	return c.doSession(ctx, apiRequest{op: op, method: http.MethodPost, path: p})
}

// Verify checks token against the session over the network and returns the
// session if it is authenticated (POST /sessions/{session_id}/verify).
//
// Deprecated: Clerk deprecated this endpoint and removed it from API
// versions 2025-04-10 onward, where it answers 404, or 410 matching
// [ErrEndpointDeprecated]. Verify tokens networklessly with a [Verifier]
// instead; if the online state of the session matters, follow with
// [SessionsClient.Get].
func (c *SessionsClient) Verify(ctx context.Context, sessionID, token string) (*Session, error) {
	const op = "verify session"
	p, err := sessionPath(op, sessionID, "verify")
	if err != nil {
		return nil, err
	}
	if token == "" || len(token) > MaxTokenSize {
		return nil, argError(op, "token must be non-empty and at most %d bytes", MaxTokenSize)
	}
	body, err := json.Marshal(map[string]string{"token": token})
	if err != nil {
		return nil, fmt.Errorf("clerkauth: %s: %w", op, err)
	}
	return c.doSession(ctx, apiRequest{op: op, method: http.MethodPost, path: p, body: body})
}

func (c *SessionsClient) doSession(ctx context.Context, r apiRequest) (*Session, error) {
	var s Session
	if err := c.do(ctx, r, decodeObject(&s, func(s *Session) bool { return s.ID == "" }, "answer holds no session id")); err != nil {
		return nil, err
	}
	return &s, nil
}

// decodeObject returns a decoder of an answer into dst that fails with
// missing when empty(dst) holds after decoding.
func decodeObject[T any](dst *T, empty func(*T) bool, missing string) func([]byte) error {
	return func(body []byte) error {
		if err := json.Unmarshal(body, dst); err != nil {
			return err
		}
		if empty(dst) {
			return errors.New(missing)
		}
		return nil
	}
}

// ListSessionsParams filters and pages [SessionsClient.List]. Clerk asks for
// at least one of ClientID or UserID.
type ListSessionsParams struct {
	// ClientID lists the sessions of this client (client_…).
	ClientID string
	// UserID lists the sessions of this user (user_…).
	UserID string
	// Status keeps only sessions with this status. Any status but
	// SessionPending, which the API cannot filter on; "" for all.
	Status SessionStatus
	// Limit is the page size, 1 to MaxListLimit; 0 leaves it to the API
	// (10).
	Limit int
	// Offset skips that many sessions; it must not be negative.
	Offset int
}

// check validates p as the API would, naming op in the error.
func (p ListSessionsParams) check(op string) error {
	switch {
	case p.Limit < 0 || p.Limit > MaxListLimit:
		return argError(op, "limit must be between 1 and %d (or 0 for the default)", MaxListLimit)
	case p.Offset < 0:
		return argError(op, "offset must not be negative")
	case p.Status == SessionPending:
		return argError(op, "the API cannot filter sessions on status %q", p.Status)
	case p.Status != "" && !p.Status.canFilter():
		return argError(op, "unknown session status %q", httpx.Excerpt([]byte(p.Status), 32))
	}
	return nil
}

// query returns the query string of p, always asking for the paginated
// answer shape.
func (p ListSessionsParams) query() url.Values {
	q := url.Values{"paginated": {"true"}}
	setIf := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	setIf("client_id", p.ClientID)
	setIf("user_id", p.UserID)
	setIf("status", string(p.Status))
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.Offset > 0 {
		q.Set("offset", strconv.Itoa(p.Offset))
	}
	return q
}

// List returns one page of sessions, newest first (GET /sessions). It asks
// for the paginated shape and accepts both it and a bare array (then
// TotalCount is -1).
func (c *SessionsClient) List(ctx context.Context, p ListSessionsParams) (*SessionList, error) {
	const op = "list sessions"
	if err := p.check(op); err != nil {
		return nil, err
	}
	r := apiRequest{op: op, method: http.MethodGet, path: "/sessions", query: p.query()}
	var list *SessionList
	err := c.do(ctx, r, func(body []byte) (err error) {
		list, err = decodeSessionList(body)
		return err
	})
	if err != nil {
		return nil, err
	}
	return list, nil
}

// All iterates over every session matching p, fetching page after page
// from p.Offset on, with p.Limit sessions per page (100 when 0). It stops
// when the caller breaks, after yielding an error (the session is then
// nil), after a page shorter than the limit, or when TotalCount is reached.
// A page holding the same sessions as the one before means the API ignored
// the offset: All then yields an error matching [ErrUnexpectedResponse]
// rather than fetch the same page without end.
//
// Sessions created or removed while iterating may shift pages, so a
// session can be seen twice or missed, as with any offset pagination.
func (c *SessionsClient) All(ctx context.Context, p ListSessionsParams) iter.Seq2[*Session, error] {
	if p.Limit == 0 {
		p.Limit = allPageSize
	}
	return func(yield func(*Session, error) bool) {
		var prev []*Session
		for {
			list, err := c.List(ctx, p)
			if err != nil {
				yield(nil, err)
				return
			}
			if prev != nil && sameSessions(prev, list.Data) {
				yield(nil, fmt.Errorf("%w: list sessions: offset %d answered the same sessions as the page before: the API ignores offset", ErrUnexpectedResponse, p.Offset))
				return
			}
			prev = list.Data
			for _, s := range list.Data {
				if !yield(s, nil) {
					return
				}
			}
			if lastPage(p, list) {
				return
			}
			p.Offset += len(list.Data)
		}
	}
}

// sameSessions reports whether a and b hold the same session IDs in the
// same order.
func sameSessions(a, b []*Session) bool {
	return slices.EqualFunc(a, b, func(x, y *Session) bool { return x.ID == y.ID })
}

// lastPage reports whether list, fetched with p, is the last page. A page
// larger than asked for means the API ignored the paging parameters; it is
// then taken as the whole result rather than risk looping.
func lastPage(p ListSessionsParams, list *SessionList) bool {
	n := len(list.Data)
	return n == 0 || n != p.Limit ||
		list.TotalCount >= 0 && int64(p.Offset+n) >= list.TotalCount
}

// CreateTokenParams are the options of [SessionsClient.CreateToken] and
// [SessionsClient.CreateTokenFromTemplate].
type CreateTokenParams struct {
	// ExpiresInSeconds overrides the token lifetime: MinExpiresInSeconds to
	// MaxExpiresInSeconds seconds. 0 keeps the default lifetime (the session
	// token's or the template's) and sends no request body.
	ExpiresInSeconds int
}

// body returns the request body of p, or nil for none.
func (p CreateTokenParams) body(op string) ([]byte, error) {
	if p.ExpiresInSeconds == 0 {
		return nil, nil
	}
	if p.ExpiresInSeconds < MinExpiresInSeconds || p.ExpiresInSeconds > MaxExpiresInSeconds {
		return nil, argError(op, "expires_in_seconds must be between %d and %d", MinExpiresInSeconds, MaxExpiresInSeconds)
	}
	return []byte(`{"expires_in_seconds":` + strconv.Itoa(p.ExpiresInSeconds) + `}`), nil
}

// CreateToken creates a session token for the session
// (POST /sessions/{session_id}/tokens).
func (c *SessionsClient) CreateToken(ctx context.Context, sessionID string, p CreateTokenParams) (*SessionToken, error) {
	const op = "create session token"
	path, err := sessionPath(op, sessionID, "tokens")
	if err != nil {
		return nil, err
	}
	return c.doToken(ctx, op, path, p)
}

// CreateTokenFromTemplate creates a JWT for the session from the instance's
// JWT template named template
// (POST /sessions/{session_id}/tokens/{template_name}). An unknown template
// yields an error matching [ErrNotFound].
func (c *SessionsClient) CreateTokenFromTemplate(ctx context.Context, sessionID, template string, p CreateTokenParams) (*SessionToken, error) {
	const op = "create session token from template"
	path, err := sessionPath(op, sessionID, "tokens")
	if err != nil {
		return nil, err
	}
	seg, err := pathSegment(op, "template name", template)
	if err != nil {
		return nil, err
	}
	return c.doToken(ctx, op, path+"/"+seg, p)
}

func (c *SessionsClient) doToken(ctx context.Context, op, path string, p CreateTokenParams) (*SessionToken, error) {
	body, err := p.body(op)
	if err != nil {
		return nil, err
	}
	var tok SessionToken
	r := apiRequest{op: op, method: http.MethodPost, path: path, body: body}
	if err := c.do(ctx, r, decodeObject(&tok, func(t *SessionToken) bool { return t.JWT == "" }, "answer holds no jwt")); err != nil {
		return nil, err
	}
	return &tok, nil
}
