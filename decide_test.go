package clerkauth

import (
	"errors"
	"net/http"
	"testing"
)

// mapSource is a requestSource of no transport at all, as an adapter for
// another framework would provide.
type mapSource struct {
	cookies map[string]string
	headers map[string]string
}

func (s *mapSource) Cookie(name string) (string, bool) { v, ok := s.cookies[name]; return v, ok }
func (s *mapSource) Get(name string) string            { return s.headers[name] }

// TestDecideWithoutNetHTTP drives the transport-neutral decision directly:
// the same verdicts as through Handler, from plain values.
func TestDecideWithoutNetHTTP(t *testing.T) {
	e := newMWEnv(t)
	m := e.middleware(MiddlewareOptions{})
	tok := e.token()
	tests := []struct {
		name   string
		in     credentials
		want   error // nil: signed in
		reason Reason
	}{
		{"bearer", credentials{authorization: []string{"Bearer " + tok}, method: "GET"}, nil, ""},
		{"cookie", credentials{source: &mapSource{cookies: map[string]string{"__session": tok, "__client_uat": "1"}}}, nil, ""},
		{"cookie of a signed-out client", credentials{source: &mapSource{cookies: map[string]string{"__session": tok, "__client_uat": "0"}}},
			ErrInvalidToken, ReasonSessionTokenWithoutClientUAT},
		{"header wins over cookie", credentials{authorization: []string{"Bearer x.y.z"},
			source: &mapSource{cookies: map[string]string{"__session": tok}}}, ErrInvalidToken, ""},
		{"two Authorization headers", credentials{authorization: []string{"Bearer " + tok, "Bearer " + tok}}, ErrInvalidRequest, ""},
		{"nothing", credentials{source: &mapSource{}}, ErrNoToken, ReasonTokenMissing},
		{"no source at all", credentials{}, ErrNoToken, ReasonTokenMissing},
		{"custom extractor", credentials{custom: func() (string, error) { return tok, nil }}, nil, ""},
		{"custom extractor fails", credentials{custom: func() (string, error) { return "", errors.New("x") }}, ErrInvalidRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := m.decide(t.Context(), tt.in)
			if tt.want == nil {
				if err != nil || st.claims == nil || st.token != tok {
					t.Fatalf("decide = %+v, %v; want signed in", st, err)
				}
				return
			}
			if !errors.Is(err, tt.want) || st.claims != nil {
				t.Fatalf("decide error = %v; want %v and signed out", err, tt.want)
			}
			if tt.reason != "" && ReasonOf(err) != tt.reason {
				t.Errorf("reason %q; want %q", ReasonOf(err), tt.reason)
			}
		})
	}
}

func TestPreflightAction(t *testing.T) {
	e := newMWEnv(t)
	pre := credentials{method: http.MethodOptions, source: &mapSource{headers: map[string]string{"Access-Control-Request-Method": "POST"}}}
	plain := credentials{method: http.MethodOptions, source: &mapSource{}}
	tests := []struct {
		name string
		opts MiddlewareOptions
		in   credentials
		want preflightAction
	}{
		{"required: answered", MiddlewareOptions{}, pre, preflightAnswer},
		{"optional: passes signed out", MiddlewareOptions{Optional: true}, pre, preflightPass},
		{"InsecurePassPreflight: passes", MiddlewareOptions{InsecurePassPreflight: true}, pre, preflightPass},
		{"AuthenticatePreflight: decided", MiddlewareOptions{AuthenticatePreflight: true}, pre, preflightDecide},
		{"AuthenticatePreflight, optional: decided", MiddlewareOptions{AuthenticatePreflight: true, Optional: true}, pre, preflightDecide},
		{"plain OPTIONS: decided", MiddlewareOptions{}, plain, preflightDecide},
		{"POST with the header: decided", MiddlewareOptions{},
			credentials{method: http.MethodPost, source: pre.source}, preflightDecide},
		{"no source: decided", MiddlewareOptions{}, credentials{method: http.MethodOptions}, preflightDecide},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.middleware(tt.opts).preflight(tt.in); got != tt.want {
				t.Errorf("preflight = %v; want %v", got, tt.want)
			}
		})
	}
}

// TestRenderErrorMatchesHandler checks that the transport-neutral
// rendering is exactly what DefaultErrorHandler writes.
func TestRenderErrorMatchesHandler(t *testing.T) {
	errs := []error{
		invalidRequest("several Authorization headers"),
		verr(ReasonTokenMissing, "no session token"),
		errExpired(),
		verr(ReasonJWKRemoteFailedToLoad, "down"),
		sessionsUnavailable("could not confirm", &APIError{StatusCode: 429, RetryAfter: 7e9}),
		&ForbiddenError{Check: Check{Role: "admin"}},
		&middlewareError{class: ErrCrossOriginRequest, msg: "cross-origin"},
		&ForbiddenError{Check: Check{Reverification: ReverificationStrict.Reverification()}},
		errors.New("boom"),
	}
	for _, err := range errs {
		rec := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			DefaultErrorHandler("")(w, r, err)
		}), bearerRequest("x"))
		rep := renderError(DefaultRealm, err)
		got := http.Header{}
		rep.EachHeader(got.Set)
		if rec.Code != rep.Status || rec.Body.String() != string(rep.Body) {
			t.Errorf("%v: handler %d %q; render %d %q", err, rec.Code, rec.Body, rep.Status, rep.Body)
		}
		for k := range rec.Header() {
			if rec.Header().Get(k) != got.Get(k) {
				t.Errorf("%v: header %s: handler %q; render %q", err, k, rec.Header().Get(k), got.Get(k))
			}
		}
		if len(got) != len(rec.Header()) {
			t.Errorf("%v: headers %v; handler %v", err, got, rec.Header())
		}
	}
}
