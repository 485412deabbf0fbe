package clerkauth

import (
	"context"
	"errors"
	"net/http"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/clerkauth/clerkauth/internal/httpx"
)

// activeCacheSize is the number of sessions whose status is remembered.
const activeCacheSize = 4096

// sessionNotFound stands for a session Clerk does not know, in the cache.
const sessionNotFound SessionStatus = "not_found"

// activeEntry is what Clerk said about a session, and when.
type activeEntry struct {
	status SessionStatus
	userID string
	at     time.Time
}

// activeChecker confirms with GET /sessions/{sid} that sessions are active.
type activeChecker struct {
	m      *Middleware
	ttl    time.Duration
	cache  *lru.Cache[string, activeEntry]
	flight *flightGroup[activeEntry]
}

func newActiveChecker(m *Middleware, ttl time.Duration) *activeChecker {
	cache, _ := lru.New[string, activeEntry](activeCacheSize)
	return &activeChecker{m: m, ttl: ttl, cache: cache, flight: newFlightGroup[activeEntry](m.flights)}
}

// RequireActiveSession returns next behind a check, for sensitive routes,
// that Clerk still holds the request's session active: it closes the
// minute or so during which a token of a session revoked elsewhere still
// verifies networklessly. Install it after [Middleware.Handler].
//
// Clerk's answer (GET /sessions/{sid}) is trusted for
// MiddlewareOptions.ActiveSessionTTL, and concurrent requests for one
// session share one call. A session Clerk reports as not active is answered
// 401 with reason session-revoked, and is also recorded as revoked in the
// Verifier's RevocationStore. When Clerk cannot be asked, the request is
// answered 503 with Retry-After: it fails closed. A request without a
// session is answered 401.
//
// It panics if the Middleware has no SessionsClient.
func (m *Middleware) RequireActiveSession(next http.Handler) http.Handler {
	if m.active == nil {
		panic("clerkauth: RequireActiveSession needs MiddlewareOptions.SessionsClient")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := authStateFrom(r.Context())
		if st == nil || st.claims == nil {
			m.resp.fail(w, r, verr(ReasonTokenMissing, "no session"))
			return
		}
		if err := m.checkActive(r.Context(), st.claims); err != nil { // m.active.check, reported
			m.resp.fail(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// check returns nil when Clerk holds c's session active.
func (a *activeChecker) check(ctx context.Context, c *Claims) error {
	e, err := a.lookup(ctx, c.SessionID)
	if err != nil {
		return err
	}
	switch {
	case e.status == sessionNotFound:
		return verr(ReasonSessionRevoked, "Clerk has no such session")
	case e.userID != c.UserID:
		return verr(ReasonTokenInvalid, "Clerk's session does not match the token")
	case e.status == SessionActive, e.status == SessionPending && c.SessionStatus == SessionStatusPending:
		return nil
	case e.status == SessionPending:
		return verr(ReasonSessionPending, "session is pending")
	}
	_ = a.m.v.MarkRevoked(ctx, c.SessionID) // best effort: the answer below stands
	return verr(ReasonSessionRevoked, endedMessage(e.status))
}

// endedMessage says which status Clerk reported for a session that is no
// longer in force. The status comes from the upstream's answer and ends
// up in the response body: it is cut to 32 bytes of printable text.
func endedMessage(status SessionStatus) string {
	return "Clerk reports the session is " + httpx.Excerpt([]byte(status), 32)
}

// lookup returns Clerk's recent answer about sessionID.
func (a *activeChecker) lookup(ctx context.Context, sessionID string) (activeEntry, error) {
	if e, ok := a.cache.Get(sessionID); ok && a.m.now().Sub(e.at) < a.ttl {
		return e, nil
	}
	return a.flight.do(ctx, sessionID, func(ctx context.Context) (activeEntry, error) {
		return a.fetch(ctx, sessionID)
	})
}

func (a *activeChecker) fetch(ctx context.Context, sessionID string) (activeEntry, error) {
	s, err := a.m.sessions.Get(ctx, sessionID)
	e := activeEntry{at: a.m.now()}
	switch {
	case errors.Is(err, ErrNotFound):
		e.status = sessionNotFound
	case err != nil:
		return e, unavailable("could not confirm the session with Clerk", err)
	default:
		e.status, e.userID = s.Status, s.UserID
	}
	a.cache.Add(sessionID, e)
	return e, nil
}

// forget drops what is remembered about sessionID.
func (a *activeChecker) forget(sessionID string) { a.cache.Remove(sessionID) }

// unavailable wraps a failed Sessions API call, keeping the Retry-After
// the API asked for.
func unavailable(msg string, err error) error {
	ue := sessionsUnavailable(msg, err)
	var ae *APIError
	if errors.As(err, &ae) {
		ue.retryAfter = ae.RetryAfter
	}
	return ue
}
