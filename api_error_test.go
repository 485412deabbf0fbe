package clerkauth

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/clerkauth/clerkauth/internal/httpx"
)

func TestAPIErrorClasses(t *testing.T) {
	sentinels := []error{ErrNotFound, ErrUnauthorized, ErrRateLimited, ErrEndpointDeprecated}
	tests := []struct {
		name       string
		status     int
		header     http.Header
		body       string
		want       error // the one sentinel matched, or nil
		wantInMsg  []string
		wantTrace  string
		wantCode   string
		wantBody   string
		wantRetry  time.Duration
		maxRetries int
	}{
		{
			name: "not found", status: 404,
			body: `{"errors":[{"code":"resource_not_found","message":"not found","long_message":"No session was found with id sess_1","meta":{"param_name":"session_id"}}],"clerk_trace_id":"trace_1"}`,
			want: ErrNotFound, wantTrace: "trace_1", wantCode: "resource_not_found",
			wantInMsg: []string{"get session: 404 Not Found: resource_not_found: No session was found with id sess_1", "trace trace_1"},
		},
		{
			name: "bad secret key", status: 401, header: http.Header{"Cf-Ray": {"8a1b2c3d4e5f-LIS"}},
			body: `{"errors":[{"code":"clerk_key_invalid","message":"Secret Key is invalid","long_message":"The provided Secret Key is invalid."}]}`,
			want: ErrUnauthorized, wantTrace: "8a1b2c3d4e5f-LIS", wantCode: "clerk_key_invalid",
			wantInMsg: []string{"401 Unauthorized: clerk_key_invalid"},
		},
		{
			name: "rate limited", status: 429, header: http.Header{"Retry-After": {"7"}}, maxRetries: -1,
			body: `{"errors":[{"code":"too_many_requests","message":"Too many requests","long_message":"Too many requests, retry later"}]}`,
			want: ErrRateLimited, wantRetry: 7 * time.Second, wantCode: "too_many_requests",
			wantInMsg: []string{"429 Too Many Requests", "retry after 7s"},
		},
		{
			name: "deprecated endpoint", status: 410,
			body: `{"errors":[{"code":"operation_deprecated","message":"deprecated","long_message":"endpoint is deprecated and pending removal"}]}`,
			want: ErrEndpointDeprecated, wantCode: "operation_deprecated", wantInMsg: []string{"410 Gone"},
		},
		{
			name: "deprecated code on another status", status: 400,
			body: `{"errors":[{"code":"operation_deprecated","message":"m","long_message":"l"},{"code":"other","message":"m","long_message":"l"}]}`,
			want: ErrEndpointDeprecated, wantCode: "operation_deprecated", wantInMsg: []string{"(and 1 more)"},
		},
		{
			name: "validation error", status: 422,
			body:     `{"errors":[{"code":"form_param_value_invalid","message":"is invalid","long_message":"","meta":{"param_name":"limit"}}]}`,
			wantCode: "form_param_value_invalid", wantInMsg: []string{"422 Unprocessable Entity: form_param_value_invalid: is invalid"},
		},
		{
			name: "html error page", status: 502, maxRetries: -1,
			body:      "<html><body>\n<h1>502 Bad Gateway</h1>\n</body></html>",
			wantBody:  "<html><body> <h1>502 Bad Gateway</h1> </body></html>",
			wantInMsg: []string{"502 Bad Gateway: \"<html><body> <h1>502 Bad Gateway</h1>"},
		},
		{
			name: "empty body", status: 503, maxRetries: -1,
			wantInMsg: []string{"clerkauth: get session: 503 Service Unavailable"},
		},
		{
			name: "huge non-JSON body", status: 500, maxRetries: -1,
			body:      strings.Repeat("x", 1<<20),
			wantBody:  strings.Repeat("x", maxBodyExcerpt) + "…",
			wantInMsg: []string{"500 Internal Server Error"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, _ := newFakeClient(t, Config{MaxRetries: tt.maxRetries}, func(_ int, w http.ResponseWriter, _ *http.Request) {
				for k, v := range tt.header {
					w.Header()[k] = v
				}
				answer(w, tt.status, tt.body)
			})
			_, err := c.Get(t.Context(), "sess_1")
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v; want an *APIError", err)
			}
			for _, s := range sentinels {
				if errors.Is(err, s) != (s == tt.want) {
					t.Errorf("errors.Is(err, %v) = %v; want %v", s, !(s == tt.want), s == tt.want)
				}
			}
			checkAPIError(t, ae, tt.status, tt.wantCode, tt.wantTrace, tt.wantBody, tt.wantRetry)
			for _, s := range tt.wantInMsg {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("message %q lacks %q", err.Error(), s)
				}
			}
		})
	}
}

func checkAPIError(t *testing.T, ae *APIError, status int, code, trace, body string, retry time.Duration) {
	t.Helper()
	if ae.StatusCode != status || ae.Op != "get session" {
		t.Errorf("status %d op %q; want %d %q", ae.StatusCode, ae.Op, status, "get session")
	}
	if code != "" && (len(ae.Errors) == 0 || ae.Errors[0].Code != code) {
		t.Errorf("errors %+v; want first code %q", ae.Errors, code)
	}
	if ae.TraceID != trace || ae.Body != body || ae.RetryAfter != retry {
		t.Errorf("trace %q body %q retry %v; want %q %q %v", ae.TraceID, ae.Body, ae.RetryAfter, trace, body, retry)
	}
}

func TestAPIErrorKeepsEntryDetail(t *testing.T) {
	c, _, _ := newFakeClient(t, Config{}, func(_ int, w http.ResponseWriter, _ *http.Request) {
		answer(w, 404, `{"errors":[{"code":"resource_not_found","message":"not found","long_message":"JWT template not found","meta":{"param_name":"template_name"}}],"meta":{"k":"v"},"clerk_trace_id":"t"}`)
	})
	_, err := c.CreateTokenFromTemplate(t.Context(), "sess_1", "hasura", CreateTokenParams{})
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v", err)
	}
	want := APIErrorEntry{Code: "resource_not_found", Message: "not found", LongMessage: "JWT template not found",
		Meta: map[string]any{"param_name": "template_name"}}
	if len(ae.Errors) != 1 || ae.Errors[0].Code != want.Code || ae.Errors[0].LongMessage != want.LongMessage ||
		ae.Errors[0].Meta["param_name"] != "template_name" || ae.Meta["k"] != "v" {
		t.Errorf("APIError %+v; want entry %+v and meta k=v", ae, want)
	}
	if !errors.Is(err, ErrNotFound) || !ae.HasCode("resource_not_found") || ae.HasCode("other") {
		t.Error("classification of a missing template")
	}
}

func TestRedirectIsNotFollowed(t *testing.T) {
	c, api, _ := newFakeClient(t, Config{}, func(_ int, w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	})
	_, err := c.Get(t.Context(), "sess_1")
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusFound {
		t.Fatalf("err = %v; want a 302 APIError", err)
	}
	if n := len(api.requests()); n != 1 {
		t.Errorf("%d requests; want 1 (redirect not followed)", n)
	}
}

func TestNetworkErrorNamesOperation(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens: connection refused
	c, err := NewSessionsClient(Config{SecretKey: testSecretKey, APIURL: "http://" + addr, MaxRetries: 2})
	if err != nil {
		t.Fatal(err)
	}
	sl := &sleeper{}
	c.sleep, c.jitter = sl.sleep, func(time.Duration) time.Duration { return 0 }
	_, err = c.Revoke(t.Context(), "sess_1")
	var ue *url.Error
	if !errors.As(err, &ue) || !strings.HasPrefix(err.Error(), "clerkauth: revoke session (3 attempts): ") {
		t.Errorf("err = %v; want a wrapped *url.Error naming the operation and attempts", err)
	}
	if strings.Contains(err.Error(), testSecretKey) {
		t.Error("error holds the secret key")
	}
	if got := sl.recorded(); len(got) != 2 {
		t.Errorf("waits %v; want 2 retries", got)
	}
}

func TestSuccessBodyIsBounded(t *testing.T) {
	c, api, _ := newFakeClient(t, Config{}, func(_ int, w http.ResponseWriter, _ *http.Request) {
		answer(w, 200, `{"id":"`+strings.Repeat("a", maxSuccessBody)+`"}`)
	})
	_, err := c.Get(t.Context(), "sess_1")
	if !errors.Is(err, httpx.ErrTooLarge) {
		t.Errorf("err = %v; want httpx.ErrTooLarge", err)
	}
	if n := len(api.requests()); n != 1 {
		t.Errorf("%d requests; an oversized answer must not be retried", n)
	}
}

func TestNewAPIErrorTraceFallbackBounded(t *testing.T) {
	rec := httptest.NewRecorder()
	rec.Header().Set("Cf-Ray", strings.Repeat("r", 500))
	rec.WriteHeader(500)
	e := newAPIError("op", rec.Result(), nil, time.Now())
	if len(e.TraceID) > 64+len("…") {
		t.Errorf("trace ID of %d bytes; want it bounded", len(e.TraceID))
	}
}
