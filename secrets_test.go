package clerkauth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUpstreamEchoingTheSecretIsRedacted: an error page that echoes the
// request's Authorization header (a misconfigured proxy, a debugging
// gateway) put the secret key into error strings and the retry log.
func TestUpstreamEchoingTheSecretIsRedacted(t *testing.T) {
	const other = "sk_live_0therSecretShaped123"
	bodies := map[string]string{
		"text page":     "bad gateway; you sent: %s and " + other,
		"Clerk errors":  `{"errors":[{"code":"x","message":"%s","long_message":"key %s","meta":{"k":"` + other + `"}}],"meta":{"echo":"x"}}`,
		"partial entry": `{"errors":[{"code":"%s"}]}`,
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				auth := r.Header.Get("Authorization")
				w.WriteHeader(http.StatusBadGateway)
				fmt.Fprintf(w, strings.ReplaceAll(body, "%s", "%[1]s"), auth)
			}))
			t.Cleanup(srv.Close)
			var log bytes.Buffer
			c, err := NewSessionsClient(Config{
				SecretKey: testSecret, APIURL: srv.URL, MaxRetries: 1,
				Logger: slog.New(slog.NewTextHandler(&lockedWriter{w: &log}, &slog.HandlerOptions{Level: slog.LevelDebug})),
			})
			require.NoError(t, err)
			c.sleep = noSleep
			_, err = c.Get(context.Background(), "sess_1")
			require.Error(t, err)
			var ae *APIError
			require.ErrorAs(t, err, &ae)
			dump := fmt.Sprintf("%v %+v %#v", err, ae, ae)
			require.Contains(t, log.String(), "retrying", "the retry was logged")
			for _, s := range []string{testSecret, other, strings.TrimPrefix(testSecret, "sk_")} {
				assert.NotContains(t, dump, s, "the error")
				assert.NotContains(t, log.String(), s, "the log")
			}
		})
	}
}

// TestCallerClientNeverCarriesTheSecretAway: a caller's client that
// follows redirects sent the secret key to wherever Clerk's URL
// redirected (net/http keeps Authorization for the same host name on
// another port, and on a downgrade to http).
func TestCallerClientNeverCarriesTheSecretAway(t *testing.T) {
	var leaked atomic.Value
	leaked.Store("")
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Store(r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"keys":[]}`))
	}))
	t.Cleanup(elsewhere.Close)
	redirect := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusTemporaryRedirect)
	})
	plain := httptest.NewServer(redirect)
	t.Cleanup(plain.Close)
	tlsSrv := httptest.NewTLSServer(redirect)
	t.Cleanup(tlsSrv.Close)
	for _, tt := range []struct {
		name   string
		url    string
		client *http.Client
	}{
		{"to another port", plain.URL, &http.Client{}},
		{"from https to http", tlsSrv.URL, tlsSrv.Client()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			leaked.Store("")
			c, err := NewSessionsClient(Config{SecretKey: testSecret, APIURL: tt.url, HTTPClient: tt.client, MaxRetries: -1})
			require.NoError(t, err)
			_, err = c.Get(context.Background(), "sess_1")
			var ae *APIError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, http.StatusTemporaryRedirect, ae.StatusCode, "the redirect is answered, not followed")
			assert.Empty(t, leaked.Load())

			v := newTestVerifier(t, Config{SecretKey: testSecret, APIURL: tt.url, HTTPClient: tt.client, PublishableKey: testPK, MaxRetries: -1})
			require.ErrorIs(t, v.Warm(context.Background()), ErrKeysUnavailable)
			assert.Empty(t, leaked.Load(), "nor by the key fetch")
			assert.Nil(t, tt.client.CheckRedirect, "the caller's client is not changed")
		})
	}
}

// TestLiveKeysRefusePlainHTTP: http is allowed to a loopback host for
// clerktest, but never with a live key unless the Insecure switch is set.
func TestLiveKeysRefusePlainHTTP(t *testing.T) {
	const livePK = "pk_live_Y2xlcmsuZXhhbXBsZS50ZXN0JA"
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"test keys over http", Config{SecretKey: testSecret, APIURL: "http://127.0.0.1:9/v1", PublishableKey: testPK}, true},
		{"live secret over http", Config{SecretKey: "sk_live_0123456789", APIURL: "http://127.0.0.1:9/v1", PublishableKey: testPK}, false},
		{"live publishable key, http JWKS", Config{JWKSURL: "http://localhost:9/jwks", PublishableKey: livePK}, false},
		{"live keys over https", Config{SecretKey: "sk_live_0123456789", APIURL: "https://127.0.0.1:9/v1", PublishableKey: livePK}, true},
		{"live secret over http, allowed", Config{SecretKey: "sk_live_0123456789", APIURL: "http://127.0.0.1:9/v1", PublishableKey: testPK, InsecureAllowHTTPWithLiveKeys: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewVerifier(tt.cfg)
			if v != nil {
				_ = v.Close()
			}
			_, cerr := NewSessionsClient(tt.cfg)
			if tt.ok {
				assert.NoError(t, err)
				if tt.cfg.SecretKey != "" {
					assert.NoError(t, cerr)
				}
				return
			}
			assert.ErrorIs(t, err, ErrInvalidConfig)
			assert.Contains(t, fmt.Sprint(err), "InsecureAllowHTTPWithLiveKeys")
			if tt.cfg.SecretKey != "" {
				assert.ErrorIs(t, cerr, ErrInvalidConfig)
			}
		})
	}
}

// TestCallerClientWithoutTimeoutCannotHang: a caller's client without a
// timeout and a context without a deadline hung forever on a server that
// never answers; RequestTimeout now bounds each attempt.
func TestCallerClientWithoutTimeoutCannotHang(t *testing.T) {
	release := make(chan struct{})
	silent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); silent.Close() })
	cfg := Config{
		SecretKey: testSecret, APIURL: silent.URL, PublishableKey: testPK, MaxRetries: -1,
		HTTPClient: &http.Client{}, RequestTimeout: 50 * time.Millisecond,
	}
	c, err := NewSessionsClient(cfg)
	require.NoError(t, err)
	v := newTestVerifier(t, cfg)
	calls := map[string]func() error{
		"sessions client": func() error { _, err := c.Get(context.Background(), "sess_1"); return err },
		"key fetch":       func() error { return v.Warm(context.Background()) },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { done <- call() }()
			select {
			case err := <-done:
				require.Error(t, err)
				assert.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
			case <-time.After(20 * time.Second): // a hang, not a timing assertion
				t.Fatal("the call hung")
			}
		})
	}
}
