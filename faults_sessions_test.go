package clerkauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerktest"
)

// Faults of the Sessions API, injected through clerktest. The client's
// sleeper is not reachable from outside the package, so these cases wait
// for real: Retry-After is 1 s, fault counts are small and the cases run in
// parallel (about 1.5 s in all). Nothing is asserted about durations, only
// request counts and outcomes.

// apiSentinels are the errors a Sessions API failure may match.
var apiSentinels = []error{clerkauth.ErrNotFound, clerkauth.ErrUnauthorized,
	clerkauth.ErrRateLimited, clerkauth.ErrEndpointDeprecated, clerkauth.ErrInvalidArgument}

func TestFaultSessionsAPIRetries(t *testing.T) {
	type outcome struct {
		status     int           // 0: success; else the APIError's status
		retryAfter time.Duration // the APIError's RetryAfter
		sentinel   error         // matched by the error, if any
	}
	cases := []struct {
		name     string
		fault    clerktest.Fault
		retries  int
		requests int
		want     outcome
	}{
		{"503 twice, then success", clerktest.Fault{Status: 503, Times: 2}, 3, 3, outcome{}},
		{"500 for good, retries exhausted", clerktest.Fault{Status: 500}, 1, 2, outcome{status: 500}},
		{"500 with retries off", clerktest.Fault{Status: 500}, -1, 1, outcome{status: 500}},
		{"connection dropped once, then success", clerktest.Fault{Down: true, Times: 1}, 2, 2, outcome{}},
		{"429 after 1 s once, then success", clerktest.Fault{RetryAfter: time.Second, Times: 1}, 2, 2, outcome{}},
		{"429 for good, retries exhausted", clerktest.Fault{RetryAfter: time.Second}, 1, 2,
			outcome{status: 429, retryAfter: time.Second, sentinel: clerkauth.ErrRateLimited}},
		{"429 asking for 2 min is not waited for", clerktest.Fault{RetryAfter: 2 * time.Minute}, 3, 1,
			outcome{status: 429, retryAfter: 2 * time.Minute, sentinel: clerkauth.ErrRateLimited}},
		{"404 is never retried", clerktest.Fault{Status: 404}, 3, 1,
			outcome{status: 404, sentinel: clerkauth.ErrNotFound}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := clerktest.NewServer(clerktest.Config{SigningKey: faultSigningKey()})
			defer srv.Close()
			sess := srv.CreateSession(clerktest.SessionParams{})
			c := newSessionsClient(t, srv, tc.retries)
			srv.SetFault(clerktest.EndpointSessionGet, tc.fault)

			got, err := c.Get(context.Background(), sess.ID)
			assert.Equal(t, tc.requests, srv.Requests(clerktest.EndpointSessionGet), "requests")
			if tc.want.status == 0 {
				require.NoError(t, err)
				assert.Equal(t, sess.ID, got.ID)
				return
			}
			var ae *clerkauth.APIError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tc.want.status, ae.StatusCode)
			assert.Equal(t, tc.want.retryAfter, ae.RetryAfter)
			for _, s := range apiSentinels {
				assert.Equal(t, s == tc.want.sentinel, errors.Is(err, s), "matches %v", s)
			}
		})
	}
}

func TestFaultSessionsAPIRevokeRetried(t *testing.T) {
	srv := clerktest.NewServer(clerktest.Config{SigningKey: faultSigningKey()})
	defer srv.Close()
	sess := srv.CreateSession(clerktest.SessionParams{})
	c := newSessionsClient(t, srv, 2)
	srv.SetFault(clerktest.EndpointSessionRevoke, clerktest.Fault{Status: 502, Times: 1})

	got, err := c.Revoke(context.Background(), sess.ID)
	require.NoError(t, err)
	assert.Equal(t, clerkauth.SessionRevoked, got.Status)
	assert.Equal(t, 2, srv.Requests(clerktest.EndpointSessionRevoke))
}

// A 200 answer whose body is cut short is an error of its own, with the
// JSON syntax error inside, never a panic, a retry or a zero Session.
func TestFaultSessionsAPIMalformedBody(t *testing.T) {
	srv := clerktest.NewServer(clerktest.Config{SigningKey: faultSigningKey()})
	defer srv.Close()
	sess := srv.CreateSession(clerktest.SessionParams{})
	c := newSessionsClient(t, srv, 3)
	srv.SetFault(clerktest.EndpointSessions, clerktest.Fault{MalformedBody: true})
	ctx := context.Background()

	ops := map[string]func() (any, error){
		"get":    func() (any, error) { return c.Get(ctx, sess.ID) },
		"revoke": func() (any, error) { return c.Revoke(ctx, sess.ID) },
		"list": func() (any, error) {
			return c.List(ctx, clerkauth.ListSessionsParams{UserID: sess.UserID})
		},
		"create token": func() (any, error) {
			return c.CreateToken(ctx, sess.ID, clerkauth.CreateTokenParams{})
		},
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			before := srv.Requests(clerktest.EndpointSessions)
			var got any
			var err error
			require.NotPanics(t, func() { got, err = op() })
			require.Error(t, err)
			assert.Nil(t, got)
			var syntax *json.SyntaxError
			assert.ErrorAs(t, err, &syntax)
			var ae *clerkauth.APIError
			assert.False(t, errors.As(err, &ae), "a 200 is not an APIError")
			assert.ErrorIs(t, err, clerkauth.ErrUnexpectedResponse)
			for _, s := range apiSentinels {
				assert.NotErrorIs(t, err, s)
			}
			assert.Equal(t, before+1, srv.Requests(clerktest.EndpointSessions), "not retried")
		})
	}
}

// A slow Sessions API is abandoned at the caller's deadline, not retried.
func TestFaultSessionsAPISlowHonoursDeadline(t *testing.T) {
	srv := clerktest.NewServer(clerktest.Config{SigningKey: faultSigningKey()})
	defer srv.Close()
	sess := srv.CreateSession(clerktest.SessionParams{})
	c := newSessionsClient(t, srv, 3)
	srv.SetFault(clerktest.EndpointSessionGet, clerktest.Fault{Delay: time.Hour})

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Get(ctx, sess.ID)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, 1, srv.Requests(clerktest.EndpointSessionGet))
	var ae *clerkauth.APIError
	assert.False(t, errors.As(err, &ae))
}
