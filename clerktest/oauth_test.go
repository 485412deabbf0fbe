package clerktest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/clerkauth/clerkauth/clerktest"
)

var oauthFields = sorted("object", "id", "client_id", "subject", "scopes", "revoked", "revocation_reason",
	"expired", "expiration", "created_at", "updated_at")

func TestOAuthJWTShape(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	tok := srv.MustOAuthToken(clerktest.OAuthTokenParams{UserID: userID("u"), ClientID: "client_1",
		Scopes: []string{"profile", "email"}, Audience: []string{"https://api.example"}})
	equal(t, tok.Format, clerktest.FormatJWT)
	header, payload := verify(t, srv, tok.Token)
	equal(t, header, map[string]any{"alg": "RS256", "kid": srv.KeyID(), "typ": "at+jwt"})
	equal(t, keys(payload), sorted("iss", "sub", "client_id", "scope", "jti", "iat", "nbf", "exp", "aud"))
	equal(t, []any{payload["iss"], payload["sub"], payload["client_id"], payload["scope"], payload["aud"], payload["jti"]},
		[]any{srv.Issuer(), userID("u"), "client_1", "profile email", "https://api.example", tok.ID})
	equal(t, num(t, payload["exp"])-num(t, payload["iat"]), int64(24*3600))

	_, payload = verify(t, srv, srv.MustOAuthToken(clerktest.OAuthTokenParams{Audience: []string{"a", "b"},
		Claims: map[string]any{"nbf": nil, "org_id": "org_1"}}).Token)
	equal(t, payload["aud"], []any{"a", "b"})
	equal(t, payload["org_id"], "org_1")
	_, hasNbf := payload["nbf"]
	isTrue(t, !hasNbf, "a nil claim removes nbf")
	_, hasScope := payload["scope"]
	isTrue(t, !hasScope, "no scope claim without scopes")
}

func TestVerifyOAuthToken(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	srv.Clock().Set(mustTime(t, "2026-03-01T12:00:00Z"))
	p := clerktest.OAuthTokenParams{UserID: userID("o"), ClientID: "client_o", Scopes: []string{"email"}}
	jwt := srv.MustOAuthToken(p)
	p.Format = clerktest.FormatOpaque
	opaque := srv.MustOAuthToken(p)
	revoked := srv.MustOAuthToken(p)
	noErr(t, srv.RevokeOAuthToken(revoked.ID, "grant revoked"))
	p.Lifetime = time.Minute
	shortOpaque := srv.MustOAuthToken(p)
	p.Format = clerktest.FormatJWT
	shortJWT := srv.MustOAuthToken(p)
	h, pl, err := srv.OAuthClaims(clerktest.OAuthTokenParams{})
	noErr(t, err)
	h["typ"] = "JWT"
	idToken := srv.Mint(h, pl, nil)
	h["typ"] = "at+jwt"
	foreign := srv.Mint(h, pl, clerktest.RSASigner(mustKey(t), "RS256"))
	h["typ"] = "application/at+jwt"
	appTyp := srv.Mint(h, pl, nil)
	srv.Clock().Advance(time.Minute)
	now := srv.Clock().Now()

	tests := []struct {
		name, body string
		wantStatus int
		want       map[string]any // checked fields of a 200
	}{
		{"opaque", `{"access_token":"` + opaque.Token + `"}`, 200, map[string]any{"id": opaque.ID, "client_id": "client_o"}},
		{"deprecated secret field", `{"secret":"` + opaque.Token + `"}`, 200, map[string]any{"id": opaque.ID}},
		{"jwt", `{"access_token":"` + jwt.Token + `"}`, 200, map[string]any{"id": jwt.ID, "subject": userID("o")}},
		{"application/at+jwt", `{"access_token":"` + appTyp + `"}`, 200, map[string]any{"id": pl["jti"]}},
		{"expired jwt is inactive", `{"access_token":"` + shortJWT.Token + `"}`, 200, map[string]any{"active": false}},
		{"revoked", `{"access_token":"` + revoked.Token + `"}`, 404, nil},
		{"expired opaque", `{"access_token":"` + shortOpaque.Token + `"}`, 404, nil},
		{"unknown", `{"access_token":"oat_unknown"}`, 404, nil},
		{"id token", `{"access_token":"` + idToken + `"}`, 404, nil},
		{"foreign key", `{"access_token":"` + foreign + `"}`, 404, nil},
		{"no token", `{}`, 400, nil},
		{"token not a string", `{"access_token":5}`, 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, srv, "POST", "/oauth_applications/access_tokens/verify", tt.body, nil)
			equal(t, r.status, tt.wantStatus, "body %s", r.body)
			if tt.wantStatus != 200 {
				r.errorCode(t)
				return
			}
			m := r.jsonN(t)
			if _, inactive := tt.want["active"]; inactive {
				equal(t, m, tt.want)
				return
			}
			equal(t, keys(m), oauthFields)
			equal(t, m["object"], "clerk_idp_oauth_access_token")
			for k, v := range tt.want {
				equal(t, m[k], v, k)
			}
			// Timestamps in seconds.
			isTrue(t, num(t, m["expiration"]) > now.Unix() && num(t, m["expiration"]) < now.Add(48*time.Hour).Unix(),
				"expiration %v", m["expiration"])
		})
	}
	r := call(t, srv, "POST", "/v1/oauth_applications/access_tokens/verify", `{"access_token":"`+opaque.Token+`"}`,
		withKey("ak_"+strings.Repeat("x", 40)))
	equal(t, r.status, 401, "instance key only")
	equal(t, srv.Requests(clerktest.EndpointOAuthTokenVerify), len(tests)+1)
	isTrue(t, srv.RevokeOAuthToken(jwt.ID, "") != nil, "JWTs cannot be revoked")
}
