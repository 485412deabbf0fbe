package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerktest"
)

func TestInternalAPI(t *testing.T) {
	srv := clerktest.NewServer(clerktest.Config{})
	t.Cleanup(srv.Close)
	billing := srv.CreateMachine(clerktest.MachineParams{Name: "billing"})
	intruder := srv.CreateMachine(clerktest.MachineParams{Name: "intruder"})
	h, cleanup, err := newApp(clerkauth.Config{
		SecretKey: srv.SecretKey(), PublishableKey: srv.PublishableKey(), APIURL: srv.APIURL(),
	}, []string{billing.ID})
	require.NoError(t, err)
	t.Cleanup(cleanup)

	user := "user_" + strings.Repeat("a", 27)
	reader := srv.MustAPIKey(clerktest.APIKeyParams{Subject: user, Scopes: []string{"reports:read"}})
	plain := srv.MustAPIKey(clerktest.APIKeyParams{Subject: user})
	sess := srv.CreateSession(clerktest.SessionParams{UserID: user})
	cases := []struct {
		name, path, token string
		code              int
	}{
		{"allowed machine, JWT", "/internal/usage", srv.MustM2MToken(billing.ID, clerktest.M2MTokenParams{Format: clerktest.FormatJWT}).Token, 200},
		{"allowed machine, opaque", "/internal/usage", srv.MustM2MToken(billing.ID, clerktest.M2MTokenParams{}).Token, 200},
		{"another machine of the instance", "/internal/usage", srv.MustM2MToken(intruder.ID, clerktest.M2MTokenParams{Format: clerktest.FormatJWT}).Token, 403},
		{"an API key on the machine route", "/internal/usage", reader.Secret, 403},
		{"API key with the scope", "/v1/reports", reader.Secret, 200},
		{"API key without the scope", "/v1/reports", plain.Secret, 403},
		{"a session token", "/whoami", srv.MustToken(sess.ID), 401},
		{"no token", "/whoami", "", 401},
		{"unknown API key", "/whoami", "ak_" + strings.Repeat("0", 32), 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tc.path, nil)
			if tc.token != "" {
				r.Header.Set("Authorization", "Bearer "+tc.token)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			assert.Equal(t, tc.code, rec.Code, rec.Body.String())
		})
	}
	_, _, err = newApp(clerkauth.Config{SecretKey: srv.SecretKey(), PublishableKey: srv.PublishableKey(), APIURL: srv.APIURL()}, []string{""})
	assert.Error(t, err, "an empty allowlist is a configuration error")
}
