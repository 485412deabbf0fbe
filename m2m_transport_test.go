package clerkauth

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clerkauth/clerkauth/clerktest"
)

// receiver is an internal API that accepts the tokens in its allow set and
// answers others as clerkauth's middleware does (401 invalid_token).
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	accept   func(token string) bool
	seen     []string // Authorization values, in order
	bodies   []string
	requests atomic.Int32
}

func newReceiver(t *testing.T, accept func(token string) bool) *receiver {
	t.Helper()
	rc := &receiver{accept: accept}
	deny := DefaultErrorHandler("")
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.requests.Add(1)
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.seen = append(rc.seen, r.Header.Get("Authorization"))
		rc.bodies = append(rc.bodies, string(body))
		accept := rc.accept
		rc.mu.Unlock()
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		switch {
		case !ok:
			deny(w, r, verr(ReasonTokenMissing, "no token"))
		case !accept(token):
			deny(w, r, verr(ReasonTokenExpired, "token expired"))
		default:
			w.Write([]byte("ok " + r.Method))
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) authorizations() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.seen...)
}

func (rc *receiver) setAccept(f func(string) bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.accept = f
}

func acceptAll(string) bool { return true }

func (e *m2mEnv) client(t *testing.T, s *M2MTokenSource, origins ...string) *http.Client {
	t.Helper()
	c, err := NewM2MHTTPClient(s, M2MTransportOptions{Origins: origins})
	require.NoError(t, err)
	return c
}

func do(t *testing.T, c *http.Client, req *http.Request) (int, string) {
	t.Helper()
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func newReq(t *testing.T, method, url string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	return req
}

func TestM2MTransportSetsToken(t *testing.T) {
	e := newM2MEnv(t)
	s := e.source(t, e.config())
	rc := newReceiver(t, acceptAll)
	c := e.client(t, s, rc.URL)
	req := newReq(t, http.MethodGet, rc.URL+"/items", nil)
	req.Header.Set("Authorization", "Bearer caller-set")
	req.Header.Set("X-Trace", "1")
	status, body := do(t, c, req)
	require.Equal(t, http.StatusOK, status, body)
	tok, err := s.Token(bg())
	require.NoError(t, err)
	assert.Equal(t, []string{"Bearer " + tok.Token}, rc.authorizations())
	assert.Equal(t, "Bearer caller-set", req.Header.Get("Authorization"), "the caller's request is not modified")
	assert.Len(t, req.Header, 2)
	e.requireNoSecrets(t, tok.Token)
}

// TestM2MTransportRedirects follows redirects across two servers: the
// token reaches only the configured origin.
func TestM2MTransportRedirects(t *testing.T) {
	e := newM2MEnv(t)
	s := e.source(t, e.config())
	other := newReceiver(t, acceptAll)
	var home *receiver
	home = newReceiver(t, acceptAll)
	home.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		home.mu.Lock()
		home.seen = append(home.seen, r.Header.Get("Authorization"))
		home.mu.Unlock()
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, other.URL+"/landing", http.StatusFound)
		case "/again":
			http.Redirect(w, r, "/final", http.StatusTemporaryRedirect)
		default:
			w.Write([]byte("home"))
		}
	})
	c := e.client(t, s, home.URL)
	tok, err := s.Token(bg())
	require.NoError(t, err)

	status, _ := do(t, c, newReq(t, http.MethodGet, home.URL+"/away", nil))
	require.Equal(t, http.StatusUnauthorized, status, "the other host saw no token")
	assert.Equal(t, []string{"Bearer " + tok.Token}, home.authorizations())
	assert.Equal(t, []string{""}, other.authorizations(), "no token after a redirect to another host")

	status, _ = do(t, c, newReq(t, http.MethodGet, home.URL+"/again", nil))
	require.Equal(t, http.StatusOK, status)
	assert.Len(t, home.authorizations(), 3, "a same-origin redirect keeps the token")
	assert.Equal(t, "Bearer "+tok.Token, home.authorizations()[2])

	// Same host, another port: another origin.
	status, _ = do(t, c, newReq(t, http.MethodGet, other.URL, nil))
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Equal(t, "", other.authorizations()[1])
}

func TestM2MTransportRetriesOn401(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		body      func() io.Reader
		wantRetry bool
	}{
		{"GET", http.MethodGet, nil, true},
		{"HEAD", http.MethodHead, nil, true},
		{"DELETE", http.MethodDelete, nil, true},
		{"PUT with a rewindable body", http.MethodPut, func() io.Reader { return strings.NewReader("payload") }, true},
		{"PUT with a one-shot body", http.MethodPut, func() io.Reader { return io.MultiReader(strings.NewReader("payload")) }, false},
		{"POST", http.MethodPost, func() io.Reader { return bytes.NewReader([]byte("payload")) }, false},
		{"PATCH", http.MethodPatch, func() io.Reader { return strings.NewReader("payload") }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newM2MEnv(t)
			s := e.source(t, e.config())
			first, err := s.Token(bg())
			require.NoError(t, err)
			rc := newReceiver(t, func(tok string) bool { return tok != first.Token })
			var body io.Reader
			if tt.body != nil {
				body = tt.body()
			}
			status, _ := do(t, e.client(t, s, rc.URL), newReq(t, tt.method, rc.URL, body))
			if !tt.wantRetry {
				assert.Equal(t, http.StatusUnauthorized, status)
				assert.Len(t, rc.authorizations(), 1)
				assert.Equal(t, 1, e.creates())
				return
			}
			require.Equal(t, http.StatusOK, status)
			seen := rc.authorizations()
			require.Len(t, seen, 2, "one retry")
			assert.Equal(t, "Bearer "+first.Token, seen[0])
			assert.NotEqual(t, seen[0], seen[1], "with a new token")
			assert.Equal(t, 2, e.creates())
			if tt.body != nil {
				assert.Equal(t, []string{"payload", "payload"}, rc.bodies, "the body is sent whole again")
			}
		})
	}
}

func TestM2MTransportRejectionBounds(t *testing.T) {
	e := newM2MEnv(t)
	s := e.source(t, e.config())
	rc := newReceiver(t, func(string) bool { return false }) // rejects every token
	c := e.client(t, s, rc.URL)
	for range 100 {
		status, _ := do(t, c, newReq(t, http.MethodGet, rc.URL, nil))
		require.Equal(t, http.StatusUnauthorized, status)
	}
	assert.Equal(t, 2, e.creates(), "one token plus one replacement per 10 s, however many requests")
	assert.Equal(t, int32(101), rc.requests.Load(), "one retry in all")

	e.clerk.Clock().Advance(minRenewInterval)
	rc.setAccept(acceptAll)
	status, _ := do(t, c, newReq(t, http.MethodGet, rc.URL, nil))
	assert.Equal(t, http.StatusOK, status)

	// Concurrent rejections of one token are merged into one replacement.
	e.clerk.Clock().Advance(minRenewInterval)
	cur, err := s.Token(bg())
	require.NoError(t, err)
	rc.setAccept(func(tok string) bool { return tok != cur.Token })
	before := e.creates()
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			resp, err := c.Get(rc.URL)
			if assert.NoError(t, err) {
				assert.Equal(t, http.StatusOK, resp.StatusCode)
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, before+1, e.creates())
}

func TestM2MTransportNoRetryWithoutInvalidToken(t *testing.T) {
	e := newM2MEnv(t)
	s := e.source(t, e.config())
	for name, h := range map[string]http.HandlerFunc{
		"bare challenge": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="api"`)
			w.WriteHeader(http.StatusUnauthorized)
		},
		"403 insufficient_scope": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope"`)
			w.WriteHeader(http.StatusForbidden)
		},
		"401 of another scheme": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WWW-Authenticate", `Basic realm="x", error="invalid_token"`)
			w.WriteHeader(http.StatusUnauthorized)
		},
	} {
		t.Run(name, func(t *testing.T) {
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.Add(1); h(w, r) }))
			defer srv.Close()
			resp, err := e.client(t, s, srv.URL).Get(srv.URL)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, int32(1), n.Load())
		})
	}
	assert.Equal(t, 1, e.creates())
}

func TestM2MTransportSourceFailure(t *testing.T) {
	e := newM2MEnv(t)
	s := e.source(t, e.config())
	e.clerk.SetFault(clerktest.EndpointM2MCreate, clerktest.Fault{Status: 500})
	rc := newReceiver(t, acceptAll)
	body := &closeRecorder{Reader: strings.NewReader("x")}
	req := newReq(t, http.MethodPut, rc.URL, body)
	_, err := e.client(t, s, rc.URL).Do(req)
	require.ErrorIs(t, err, ErrM2MTokenUnavailable)
	assert.True(t, body.closed.Load(), "the request body is closed on error")
	assert.Zero(t, rc.requests.Load(), "nothing sent without a token")
}

type closeRecorder struct {
	io.Reader
	closed atomic.Bool
}

func (c *closeRecorder) Close() error { c.closed.Store(true); return nil }

func TestM2MTransportOptions(t *testing.T) {
	e := newM2MEnv(t)
	s := e.source(t, e.config())
	for name, origins := range map[string][]string{
		"none":          nil,
		"http remote":   {"http://billing.internal"},
		"with path":     {"https://billing.internal/v1"},
		"with userinfo": {"https://u:p@billing.internal"},
		"with query":    {"https://billing.internal?x=1"},
		"relative":      {"billing.internal"},
		"ftp":           {"ftp://billing.internal"},
	} {
		_, err := NewM2MTransport(s, M2MTransportOptions{Origins: origins})
		assert.ErrorIs(t, err, ErrInvalidConfig, name)
	}
	_, err := NewM2MTransport(nil, M2MTransportOptions{Origins: []string{"https://a"}})
	assert.ErrorIs(t, err, ErrInvalidConfig)
	tr, err := NewM2MTransport(s, M2MTransportOptions{Origins: []string{"http://billing.internal"}, InsecureAllowHTTP: true})
	require.NoError(t, err)
	assert.True(t, tr.allowed(mustURL(t, "http://BILLING.internal:80/x")))

	tr, err = NewM2MTransport(s, M2MTransportOptions{Origins: []string{"https://Billing.Internal/", "http://127.0.0.1:8080"}})
	require.NoError(t, err)
	for u, want := range map[string]bool{
		"https://billing.internal/a":       true,
		"https://billing.internal:443/a":   true,
		"https://billing.internal:8443/a":  false,
		"http://billing.internal/a":        false,
		"https://billing.internal.evil/a":  false,
		"https://evil/?https://billing":    false,
		"http://127.0.0.1:8080/":           true,
		"http://127.0.0.1:8081/":           false,
		"https://billing.internal@evil/":   false,
		"https://evil#@billing.internal/":  false,
		"https://127.0.0.1:8080/":          false,
		"https://[::1]:8080/":              false,
		"https://billing.internal./a":      false,
		"https://billing%2einternal/a":     false,
		"HTTPS://billing.internal/":        true,
		"https://billing.internal:0443/a/": false,
	} {
		assert.Equal(t, want, tr.allowed(mustURL(t, u)), u)
	}
}

// mustURL parses raw as net/http does; a URL it refuses never reaches the
// transport, and counts as nil.
func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	r, err := http.NewRequest(http.MethodGet, raw, nil)
	if err != nil {
		return nil
	}
	return r.URL
}

func TestInvalidTokenChallenge(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{`Bearer realm="api", error="invalid_token", error_description="token expired"`, true},
		{`Bearer error=invalid_token`, true},
		{`bearer ERROR="invalid_token"`, true},
		{`Basic realm="x", Bearer realm="api", error="invalid_token"`, true},
		{`Bearer realm="a,b", error="invalid_token"`, true},
		{`Bearer realm="api"`, false},
		{`Bearer error="insufficient_scope"`, false},
		{`Bearer error="invalid_token_x"`, false},
		{`Basic error="invalid_token"`, false},
		{`Bearer realm="api, error=\"invalid_token\""`, false},
		{`Bearer realm="unterminated, error="invalid_token"`, false},
		{``, false},
		{`=`, false},
		{`Bearer abc==, error="invalid_token"`, false}, // token68 then params: not a valid challenge
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, invalidTokenChallenge([]string{tt.in}), tt.in)
	}
	assert.True(t, invalidTokenChallenge([]string{`Basic realm="x"`, `Bearer error="invalid_token"`}))
}
