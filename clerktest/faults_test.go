package clerktest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/clerkauth/clerkauth/clerktest"
)

func TestFaults(t *testing.T) {
	tests := []struct {
		name       string
		fault      clerktest.Fault
		path       string
		wantStatus int
		wantCode   string
		check      func(t *testing.T, r response)
	}{
		{name: "503", fault: clerktest.Fault{Status: 503}, path: "/v1/jwks", wantStatus: 503, wantCode: "internal_clerk_error"},
		{name: "500 on sessions", fault: clerktest.Fault{Status: 500}, path: "/v1/sessions?user_id=u", wantStatus: 500, wantCode: "internal_clerk_error"},
		{name: "429 retry-after", fault: clerktest.Fault{Status: 429, RetryAfter: 1500 * time.Millisecond}, path: "/v1/jwks",
			wantStatus: 429, wantCode: "too_many_requests",
			check: func(t *testing.T, r response) { equal(t, r.header.Get("Retry-After"), "2") }},
		{name: "retry-after implies 429", fault: clerktest.Fault{RetryAfter: 3 * time.Second}, path: "/.well-known/jwks.json",
			wantStatus: 429, wantCode: "too_many_requests",
			check: func(t *testing.T, r response) { equal(t, r.header.Get("Retry-After"), "3") }},
		{name: "empty keys", fault: clerktest.Fault{EmptyKeys: true}, path: "/v1/jwks", wantStatus: 200,
			check: func(t *testing.T, r response) { equal(t, string(r.body), `{"keys":[]}`) }},
		{name: "empty keys ignored elsewhere", fault: clerktest.Fault{EmptyKeys: true}, path: "/v1/sessions?user_id=u", wantStatus: 200,
			check: func(t *testing.T, r response) { equal(t, string(r.body), `[]`) }},
		{name: "malformed", fault: clerktest.Fault{MalformedBody: true}, path: "/.well-known/jwks.json", wantStatus: 200,
			check: func(t *testing.T, r response) {
				var v any
				isTrue(t, json.Unmarshal(r.body, &v) != nil, "body %s parses", r.body)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, clerktest.Config{})
			srv.SetFault(clerktest.EndpointAll, tt.fault)
			r := call(t, srv, "GET", tt.path, "", nil)
			equal(t, r.status, tt.wantStatus, "body %s", r.body)
			if tt.wantCode != "" {
				equal(t, r.errorCode(t), tt.wantCode)
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

func TestFaultDown(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	srv.SetFault(clerktest.EndpointJWKS, clerktest.Fault{Down: true})
	for _, path := range []string{"/v1/jwks", "/.well-known/jwks.json"} {
		resp, err := srv.Client().Get(srv.URL() + path)
		if err == nil {
			resp.Body.Close()
		}
		isTrue(t, err != nil, "%s: want a connection error", path)
	}
	// Other routes are unaffected.
	equal(t, call(t, srv, "GET", "/v1/sessions", "", nil).status, http.StatusOK)
	equal(t, srv.Requests(clerktest.EndpointJWKS), 2)
}

func TestFaultTimesAndScope(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	srv.SetFault(clerktest.EndpointAPIJWKS, clerktest.Fault{Status: 503, Times: 2})
	equal(t, call(t, srv, "GET", "/.well-known/jwks.json", "", nil).status, 200)
	equal(t, call(t, srv, "GET", "/v1/jwks", "", nil).status, 503)
	equal(t, call(t, srv, "GET", "/v1/jwks", "", nil).status, 503)
	equal(t, call(t, srv, "GET", "/v1/jwks", "", nil).status, 200)

	// The most recent fault covering a route wins; clearing restores.
	srv.SetFault(clerktest.EndpointAll, clerktest.Fault{Status: 500})
	srv.SetFault(clerktest.EndpointSessions, clerktest.Fault{Status: 429})
	equal(t, call(t, srv, "GET", "/v1/sessions", "", nil).status, 429)
	equal(t, call(t, srv, "GET", "/v1/jwks", "", nil).status, 500)
	srv.SetFault(clerktest.EndpointSessions, clerktest.Fault{})
	equal(t, call(t, srv, "GET", "/v1/sessions", "", nil).status, 500)
	srv.ClearFaults()
	equal(t, call(t, srv, "GET", "/v1/sessions", "", nil).status, 200)
}

func TestFaultsBeforeAuth(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	srv.SetFault(clerktest.EndpointAPIJWKS, clerktest.Fault{Status: 503})
	r := call(t, srv, "GET", "/v1/jwks", "", map[string]string{"Authorization": "Bearer wrong"})
	equal(t, r.status, 503)
}

// waitForRequests waits until ep has seen n requests (no timing assertion:
// it only yields until the server has counted them).
func waitForRequests(t *testing.T, srv *clerktest.Server, ep clerktest.Endpoint, n int) {
	t.Helper()
	for srv.Requests(ep) < n {
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

func TestFaultDelayHonoursContext(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	srv.SetFault(clerktest.EndpointJWKS, clerktest.Fault{Delay: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.JWKSURL(), nil)
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	waitForRequests(t, srv, clerktest.EndpointFrontendJWKS, 1)
	cancel()
	isTrue(t, <-done != nil, "cancelled request should fail")
}

func TestCloseEndsDelayedRequests(t *testing.T) {
	srv := clerktest.NewServer(clerktest.Config{SigningKey: testKey})
	srv.SetFault(clerktest.EndpointAll, clerktest.Fault{Delay: time.Hour})
	done := make(chan error, 1)
	go func() {
		resp, err := srv.Client().Get(srv.JWKSURL())
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	waitForRequests(t, srv, clerktest.EndpointAll, 1)
	srv.Close() // must not wait an hour
	srv.Close() // idempotent
	<-done
}

func TestDelayThenAnswer(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	srv.SetFault(clerktest.EndpointAPIJWKS, clerktest.Fault{Delay: time.Millisecond})
	equal(t, call(t, srv, "GET", "/v1/jwks", "", nil).status, 200)
}

func TestRequestCounters(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	sess := srv.CreateSession(clerktest.SessionParams{})
	call(t, srv, "GET", "/v1/jwks", "", nil)
	call(t, srv, "GET", "/v1/jwks", "", map[string]string{"Authorization": "Bearer nope"})
	call(t, srv, "GET", "/.well-known/jwks.json", "", nil)
	call(t, srv, "GET", "/v1/sessions/"+sess.ID, "", nil)
	call(t, srv, "POST", "/v1/sessions/"+sess.ID+"/tokens", "", nil)
	call(t, srv, "POST", "/v1/sessions/"+sess.ID+"/tokens/tpl", "", nil)
	call(t, srv, "POST", "/v1/sessions/"+sess.ID+"/revoke", "", nil)
	call(t, srv, "GET", "/nowhere", "", nil)
	for ep, want := range map[clerktest.Endpoint]int{
		clerktest.EndpointAPIJWKS: 2, clerktest.EndpointFrontendJWKS: 1, clerktest.EndpointJWKS: 3,
		clerktest.EndpointSessionGet: 1, clerktest.EndpointSessionToken: 1, clerktest.EndpointSessionTemplateToken: 1,
		clerktest.EndpointSessionRevoke: 1, clerktest.EndpointSessionList: 0, clerktest.EndpointSessions: 4,
		clerktest.EndpointOther: 1, clerktest.EndpointAll: 8,
	} {
		equal(t, srv.Requests(ep), want, string(ep))
	}
	srv.ResetRequests()
	equal(t, srv.Requests(clerktest.EndpointAll), 0)
}

func TestConcurrentUse(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	sess := srv.CreateSession(clerktest.SessionParams{})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				if _, err := srv.Token(sess.ID); err != nil {
					errs <- err
				}
				s := srv.CreateSession(clerktest.SessionParams{UserID: "user_c"})
				resp, err := srv.Client().Get(srv.JWKSURL())
				if err != nil {
					errs <- err
					continue
				}
				resp.Body.Close()
				if i%4 == 0 {
					srv.SetFault(clerktest.EndpointSessionList, clerktest.Fault{Status: 503, Times: 1})
					_ = srv.RevokeSession(s.ID)
				}
				srv.Clock().Advance(time.Second)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	equal(t, srv.Requests(clerktest.EndpointFrontendJWKS), 40)
}
