package clerkauth

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/clerkauth/clerkauth/internal/httpx"
)

// failThen answers the first len(failures) requests with the given statuses
// and headers, then succeeds with ok.
func failThen(ok string, failures ...func(w http.ResponseWriter)) func(int, http.ResponseWriter, *http.Request) {
	return func(n int, w http.ResponseWriter, _ *http.Request) {
		if n < len(failures) {
			failures[n](w)
			return
		}
		answer(w, 200, ok)
	}
}

func status(code int, header ...string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		answer(w, code, `{"errors":[{"code":"c","message":"m","long_message":"l"}]}`)
	}
}

func TestRetries(t *testing.T) {
	now := time.Date(2026, 5, 12, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		maxRetries int
		failures   []func(http.ResponseWriter)
		wantWaits  []time.Duration
		wantStatus int // 0: the call succeeds
	}{
		{"5xx then success", 0, []func(http.ResponseWriter){status(503), status(500), status(502)},
			[]time.Duration{250 * time.Millisecond, 375 * time.Millisecond, 562500 * time.Microsecond}, 0},
		{"5xx beyond MaxRetries", 2, []func(http.ResponseWriter){status(500), status(500), status(500)},
			[]time.Duration{250 * time.Millisecond, 375 * time.Millisecond}, 500},
		{"retries disabled", -1, []func(http.ResponseWriter){status(503)}, nil, 503},
		{"429 honours Retry-After seconds", 0, []func(http.ResponseWriter){status(429, "Retry-After", "3")},
			[]time.Duration{3 * time.Second}, 0},
		{"429 honours Retry-After date", 0,
			[]func(http.ResponseWriter){status(429, "Retry-After", now.Add(30*time.Second).Format(http.TimeFormat))},
			[]time.Duration{30 * time.Second}, 0},
		{"429 without Retry-After backs off", 0, []func(http.ResponseWriter){status(429)},
			[]time.Duration{250 * time.Millisecond}, 0},
		{"503 honours Retry-After", 0, []func(http.ResponseWriter){status(503, "Retry-After", "1")},
			[]time.Duration{time.Second}, 0},
		{"Retry-After beyond the cap is not waited for", 0, []func(http.ResponseWriter){status(429, "Retry-After", "61")},
			nil, 429},
		{"400 is never retried", 0, []func(http.ResponseWriter){status(400)}, nil, 400},
		{"401 is never retried", 0, []func(http.ResponseWriter){status(401)}, nil, 401},
		{"404 is never retried", 0, []func(http.ResponseWriter){status(404)}, nil, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{MaxRetries: tt.maxRetries, Now: func() time.Time { return now }}
			c, api, sl := newFakeClient(t, cfg, failThen(`{"object":"token","jwt":"j.w.t"}`, tt.failures...))
			_, err := c.CreateToken(t.Context(), "sess_1", CreateTokenParams{ExpiresInSeconds: 60})
			checkRetryResult(t, err, tt.wantStatus)
			if got := sl.recorded(); !reflect.DeepEqual(got, tt.wantWaits) {
				t.Errorf("waits %v; want %v", got, tt.wantWaits)
			}
			reqs := api.requests()
			if len(reqs) != len(tt.wantWaits)+1 {
				t.Errorf("%d requests; want %d", len(reqs), len(tt.wantWaits)+1)
			}
			for i, r := range reqs {
				if string(r.Body) != `{"expires_in_seconds":60}` || r.Header.Get("Content-Type") != "application/json" {
					t.Errorf("attempt %d sent body %q; want the body re-sent whole", i, r.Body)
				}
			}
		})
	}
}

func checkRetryResult(t *testing.T, err error, wantStatus int) {
	t.Helper()
	var ae *APIError
	switch {
	case wantStatus == 0 && err != nil:
		t.Fatalf("err = %v; want success", err)
	case wantStatus == 0:
	case !errors.As(err, &ae) || ae.StatusCode != wantStatus:
		t.Errorf("err = %v; want an APIError with status %d", err, wantStatus)
	}
}

func TestRetryAfterBeyondCapIsReported(t *testing.T) {
	c, _, sl := newFakeClient(t, Config{}, failThen("{}", status(429, "Retry-After", "600")))
	_, err := c.Get(t.Context(), "sess_1")
	var ae *APIError
	if !errors.As(err, &ae) || ae.RetryAfter != 10*time.Minute {
		t.Fatalf("err = %v; want RetryAfter 10m", err)
	}
	if len(sl.recorded()) != 0 {
		t.Errorf("waited %v; want no wait beyond %v", sl.recorded(), httpx.MaxRetryAfter)
	}
}

func TestCancelStopsWaitingAtOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	c, api, _ := newFakeClient(t, Config{}, failThen("{}", status(429, "Retry-After", "60")))
	// The caller gives up just as the client starts its one-minute wait, in
	// the real sleeper: the test would hang for a minute if it ignored ctx.
	c.sleep = func(ctx context.Context, d time.Duration) error {
		cancel()
		return httpx.Sleep(ctx, d)
	}
	_, err := c.Get(ctx, "sess_1")
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrRateLimited) {
		t.Errorf("err = %v; want context.Canceled wrapping the last error", err)
	}
	if n := len(api.requests()); n != 1 {
		t.Errorf("%d requests; want 1", n)
	}
}

func TestCanceledContextIsNotRetried(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	c, api, sl := newFakeClient(t, Config{}, failThen("{}"))
	_, err := c.Get(ctx, "sess_1")
	if !errors.Is(err, context.Canceled) || len(sl.recorded()) != 0 || len(api.requests()) != 0 {
		t.Errorf("err = %v, waits %v; want context.Canceled at once", err, sl.recorded())
	}
}
