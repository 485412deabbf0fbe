package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerktest"
)

// pair is the billing API, built by newBillingAPI as `m2m api` builds it,
// and the machines of one clerktest instance that call it.
type pair struct {
	clerk *clerktest.Server
	// gateway is allowed and scoped to billing; reports is scoped to
	// billing but not allowed; stranger is allowed but not scoped to
	// billing, so that only Clerk's scope check can refuse its opaque
	// tokens.
	gateway, reports, stranger *clerktest.Machine
	api                        *httptest.Server // the billing API, with /moved and /old-invoices in front
	statuses                   *statusLog       // what the billing API answered
	third                      *headerLog       // Authorization headers a third host received
}

func newPair(t *testing.T) *pair {
	t.Helper()
	clerk := clerktest.NewServer(clerktest.Config{})
	t.Cleanup(clerk.Close)
	clerk.Clock().Set(time.Unix(1_800_000_000, 0))
	billing := clerk.CreateMachine(clerktest.MachineParams{Name: "billing"})
	p := &pair{
		clerk:    clerk,
		gateway:  clerk.CreateMachine(clerktest.MachineParams{Name: "gateway", ScopedMachines: []string{billing.ID}}),
		reports:  clerk.CreateMachine(clerktest.MachineParams{Name: "reports", ScopedMachines: []string{billing.ID}}),
		stranger: clerk.CreateMachine(clerktest.MachineParams{Name: "stranger"}),
		statuses: &statusLog{},
		third:    &headerLog{},
	}
	h, cleanup, err := newBillingAPI(clerkauth.Config{
		SecretKey: clerk.SecretKey(), PublishableKey: clerk.PublishableKey(), APIURL: clerk.APIURL(),
		MachineSecretKey: billing.SecretKey, // as CLERK_MACHINE_SECRET_KEY of `m2m api`
		Now:              clerk.Clock().Now,
	}, []string{p.gateway.ID, p.stranger.ID})
	require.NoError(t, err)
	t.Cleanup(cleanup)

	third := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.third.add(r.Header.Get("Authorization"))
		_, _ = w.Write([]byte(`{"invoices":[]}`))
	}))
	t.Cleanup(third.Close)
	front := http.NewServeMux()
	front.Handle("/", p.statuses.record(h))
	front.HandleFunc("GET /moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, third.URL+"/invoices", http.StatusFound)
	})
	front.HandleFunc("GET /old-invoices", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/invoices", http.StatusPermanentRedirect)
	})
	p.api = httptest.NewServer(front)
	t.Cleanup(p.api.Close)
	return p
}

// client returns the caller's client, built by newBillingClient as
// `m2m call` builds it, for machine m on the clerktest clock.
func (p *pair) client(t *testing.T, m *clerktest.Machine, format clerkauth.M2MTokenFormat) *http.Client {
	t.Helper()
	client, stop, err := newBillingClient(clerkauth.M2MConfig{
		MachineSecretKey: m.SecretKey, APIURL: p.clerk.APIURL(), Now: p.clerk.Clock().Now,
		Format: format, Lifetime: 2 * time.Minute,
	}, p.api.URL)
	require.NoError(t, err)
	t.Cleanup(stop)
	return client
}

var formats = []clerkauth.M2MTokenFormat{clerkauth.M2MFormatJWT, clerkauth.M2MFormatOpaque}

func TestAllowedMachine(t *testing.T) {
	p := newPair(t)
	for _, format := range formats {
		t.Run(string(format), func(t *testing.T) {
			client := p.client(t, p.gateway, format)
			p.clerk.ResetRequests()
			for range 5 {
				assertCaller(t, client, p.api.URL+"/invoices", p.gateway.ID)
			}
			assert.Equal(t, 1, p.clerk.Requests(clerktest.EndpointM2MCreate), "one token for every request")
		})
	}
}

func TestRefusedMachines(t *testing.T) {
	p := newPair(t)
	cases := []struct {
		name    string
		machine *clerktest.Machine
		format  clerkauth.M2MTokenFormat
		code    int
		error   string // in WWW-Authenticate
	}{
		{"not allowed, JWT", p.reports, clerkauth.M2MFormatJWT, http.StatusForbidden, `error="insufficient_scope"`},
		{"not allowed, opaque", p.reports, clerkauth.M2MFormatOpaque, http.StatusForbidden, `error="insufficient_scope"`},
		// Verified with billing's machine key, Clerk refuses a token not
		// scoped to billing, even from an allowed machine.
		{"not scoped to billing, opaque", p.stranger, clerkauth.M2MFormatOpaque, http.StatusUnauthorized, `error="invalid_token"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := p.client(t, tc.machine, tc.format)
			p.statuses.reset()
			resp, err := client.Get(p.api.URL + "/invoices")
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, tc.code, resp.StatusCode)
			assert.Contains(t, resp.Header.Get("WWW-Authenticate"), tc.error)
			assert.NotContains(t, p.statuses.all(), http.StatusOK)

			_, err = fetch(context.Background(), client, p.api.URL+"/invoices")
			var se *statusError
			require.True(t, errors.As(err, &se), "got %v", err)
			assert.Equal(t, tc.code, se.code)
		})
	}

	// A JWT names no receiver, so Clerk's scopes cannot refuse it: for
	// the allowed but unscoped machine, the allowlist is all that decides.
	assertCaller(t, p.client(t, p.stranger, clerkauth.M2MFormatJWT), p.api.URL+"/invoices", p.stranger.ID)

	t.Run("no token", func(t *testing.T) {
		resp, err := http.Get(p.api.URL + "/invoices")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		assert.Equal(t, `Bearer realm="billing"`, resp.Header.Get("WWW-Authenticate"))
	})
}

// Across many token expiries the caller renews its token before the API
// would refuse it: the API never answers anything but 200, so the
// transport never had to retry.
func TestRenewalAcrossExpiry(t *testing.T) {
	p := newPair(t)
	for _, format := range formats {
		t.Run(string(format), func(t *testing.T) {
			client := p.client(t, p.gateway, format)
			p.clerk.ResetRequests()
			p.statuses.reset()
			const steps, step = 40, 15 * time.Second // 10 min: five lifetimes
			for range steps {
				assertCaller(t, client, p.api.URL+"/invoices", p.gateway.ID)
				p.clerk.Clock().Advance(step)
			}
			codes := p.statuses.all()
			assert.Len(t, codes, steps, "one request each: none was refused and sent again")
			for _, c := range codes {
				assert.Equal(t, http.StatusOK, c)
			}
			created := p.clerk.Requests(clerktest.EndpointM2MCreate)
			assert.GreaterOrEqual(t, created, 5, "a new token for every lifetime")
			assert.Less(t, created, steps, "not a token per request")
			if format == clerkauth.M2MFormatOpaque {
				assert.Positive(t, p.clerk.Requests(clerktest.EndpointM2MVerify), "the API asked Clerk")
			}
		})
	}
}

func TestRedirects(t *testing.T) {
	p := newPair(t)
	client := p.client(t, p.gateway, clerkauth.M2MFormatJWT)

	// Within the API's origin the token follows the redirect.
	assertCaller(t, client, p.api.URL+"/old-invoices", p.gateway.ID)

	// To another host it does not.
	body, err := fetch(context.Background(), client, p.api.URL+"/moved")
	require.NoError(t, err)
	assert.JSONEq(t, `{"invoices":[]}`, body)
	assert.Equal(t, []string{""}, p.third.all(), "the third host got the request, without the token")
}

func TestConfiguration(t *testing.T) {
	clerk := clerktest.NewServer(clerktest.Config{})
	t.Cleanup(clerk.Close)
	cfg := clerkauth.Config{SecretKey: clerk.SecretKey(), PublishableKey: clerk.PublishableKey(), APIURL: clerk.APIURL()}
	secret := "ak_" + strings.Repeat("9", 32)
	for _, allowed := range [][]string{nil, {""}, {" ", ""}, {"billing"}, {"mch_x", secret}} {
		_, _, err := newBillingAPI(cfg, allowed)
		require.Error(t, err, "%q", allowed)
		assert.Contains(t, err.Error(), "ALLOWED_MACHINES")
		assert.NotContains(t, err.Error(), secret, "a key pasted into the list is not echoed")
	}
	_, _, err := newBillingAPI(clerkauth.Config{}, []string{"mch_x"})
	assert.ErrorIs(t, err, clerkauth.ErrInvalidConfig, "no Clerk keys")

	_, _, err = newBillingClient(clerkauth.M2MConfig{APIURL: clerk.APIURL()}, "http://127.0.0.1:8082")
	require.ErrorIs(t, err, clerkauth.ErrInvalidConfig)
	assert.Contains(t, err.Error(), "CLERK_MACHINE_SECRET_KEY")
}

// assertCaller fetches url and checks that the billing API saw machine id.
func assertCaller(t *testing.T, client *http.Client, url, id string) {
	t.Helper()
	body, err := fetch(context.Background(), client, url)
	require.NoError(t, err)
	var doc struct {
		Caller   string   `json:"caller"`
		Invoices []string `json:"invoices"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &doc), body)
	assert.Equal(t, id, doc.Caller)
	assert.NotNil(t, doc.Invoices)
}

// statusLog records the status of every answer of a handler.
type statusLog struct {
	mu    sync.Mutex
	codes []int
}

func (l *statusLog) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		l.mu.Lock()
		l.codes = append(l.codes, rec.code)
		l.mu.Unlock()
	})
}

func (l *statusLog) reset() { l.mu.Lock(); l.codes = nil; l.mu.Unlock() }

func (l *statusLog) all() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int(nil), l.codes...)
}

type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

// headerLog records header values.
type headerLog struct {
	mu     sync.Mutex
	values []string
}

func (l *headerLog) add(v string) { l.mu.Lock(); l.values = append(l.values, v); l.mu.Unlock() }

func (l *headerLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.values...)
}
