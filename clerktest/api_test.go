package clerktest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/clerkauth/clerkauth/clerktest"
)

func TestBackendAuth(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	tests := []struct {
		name, path, auth string
		wantStatus       int
		wantCode         string
	}{
		{"jwks ok", "/v1/jwks", "Bearer " + srv.SecretKey(), 200, ""},
		{"jwks lower-case scheme", "/v1/jwks", "bearer " + srv.SecretKey(), 200, ""},
		{"jwks no header", "/v1/jwks", "", 401, "authorization_header_format_invalid"},
		{"jwks basic", "/v1/jwks", "Basic Zm9vOmJhcg==", 401, "authorization_header_format_invalid"},
		{"jwks bearer only", "/v1/jwks", "Bearer", 401, "authorization_header_format_invalid"},
		{"jwks wrong key", "/v1/jwks", "Bearer sk_test_wrong", 401, "clerk_key_invalid"},
		{"sessions wrong key", "/v1/sessions", "Bearer sk_test_wrong", 401, "clerk_key_invalid"},
		{"session no header", "/v1/sessions/sess_x", "", 401, "authorization_header_format_invalid"},
		{"public jwks needs nothing", "/.well-known/jwks.json", "", 200, ""},
		{"unknown route", "/v1/users", "Bearer " + srv.SecretKey(), 404, "resource_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// call() deletes the header when auth is "".
			r := call(t, srv, "GET", tt.path, "", map[string]string{"Authorization": tt.auth})
			equal(t, r.status, tt.wantStatus, "body %s", r.body)
			equal(t, r.header.Get("Content-Type"), "application/json")
			if tt.wantCode != "" {
				equal(t, r.errorCode(t), tt.wantCode)
			}
		})
	}
}

func TestJWKSBody(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	for _, path := range []string{"/v1/jwks", "/.well-known/jwks.json"} {
		r := call(t, srv, "GET", path, "", nil)
		var set map[string][]map[string]string
		noErr(t, json.Unmarshal(r.body, &set))
		equal(t, len(set["keys"]), 1)
		k := set["keys"][0]
		equal(t, []string{k["kid"], k["kty"], k["alg"], k["use"], k["e"]}, []string{srv.KeyID(), "RSA", "RS256", "sig", "AQAB"})
		isTrue(t, len(k["n"]) == 342, "2048-bit modulus encodes to 342 chars, got %d", len(k["n"]))
	}
}

func TestGetSession(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	org := &clerktest.OrgMembership{ID: "org_1", Slug: "acme", Role: "admin"}
	sess := srv.CreateSession(clerktest.SessionParams{Org: org, Actor: &clerktest.Actor{Subject: "user_admin"}})

	r := call(t, srv, "GET", "/v1/sessions/"+sess.ID, "", nil)
	equal(t, r.status, http.StatusOK)
	m := r.json(t)
	for _, f := range []string{"object", "id", "user_id", "client_id", "actor", "status", "last_active_organization_id",
		"last_active_at", "latest_activity", "expire_at", "abandon_at", "updated_at", "created_at", "tasks"} {
		_, ok := m[f]
		isTrue(t, ok, "field %s missing", f)
	}
	equal(t, m["object"], "session")
	equal(t, m["id"], sess.ID)
	equal(t, m["user_id"], sess.UserID)
	equal(t, m["status"], "active")
	equal(t, m["last_active_organization_id"], "org_1")
	equal(t, m["actor"], map[string]any{"sub": "user_admin"})
	equal(t, m["created_at"], float64(sess.CreatedAt.UnixMilli()))
	equal(t, m["latest_activity"].(map[string]any)["is_mobile"], false)

	r = call(t, srv, "GET", "/v1/sessions/sess_missing", "", nil)
	equal(t, r.status, http.StatusNotFound)
	equal(t, r.errorCode(t), "resource_not_found")
}

func TestPendingSession(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	sess := srv.CreateSession(clerktest.SessionParams{Status: "pending"})
	m := call(t, srv, "GET", "/v1/sessions/"+sess.ID, "", nil).json(t)
	equal(t, m["status"], "pending")
	equal(t, m["tasks"], []any{map[string]any{"key": "choose-organization"}})
	_, p := verify(t, srv, srv.MustToken(sess.ID))
	equal(t, p["sts"], "pending")
}

func TestRevokeSession(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	sess := srv.CreateSession(clerktest.SessionParams{})
	r := call(t, srv, "POST", "/v1/sessions/"+sess.ID+"/revoke", "", nil)
	equal(t, r.status, http.StatusOK)
	equal(t, r.json(t)["status"], "revoked")
	equal(t, call(t, srv, "GET", "/v1/sessions/"+sess.ID, "", nil).json(t)["status"], "revoked")

	r = call(t, srv, "POST", "/v1/sessions/sess_missing/revoke", "", nil)
	equal(t, r.status, http.StatusNotFound)
	equal(t, r.errorCode(t), "resource_not_found")

	other := srv.CreateSession(clerktest.SessionParams{})
	noErr(t, srv.RevokeSession(other.ID))
	got, err := srv.Session(other.ID)
	noErr(t, err)
	equal(t, got.Status, "revoked")
	isTrue(t, srv.RevokeSession("sess_missing") != nil, "revoking an unknown session")
	isTrue(t, srv.SetSessionStatus(other.ID, "bogus") != nil, "invalid status")
	noErr(t, srv.SetSessionStatus(other.ID, "ended"))
}

func TestListSessions(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	srv.Clock().Set(mustTime(t, "2030-01-01T00:00:00Z"))
	a1 := srv.CreateSession(clerktest.SessionParams{UserID: "user_a", ClientID: "client_1"})
	a2 := srv.CreateSession(clerktest.SessionParams{UserID: "user_a", ClientID: "client_2"})
	srv.Clock().Advance(1e9)
	a3 := srv.CreateSession(clerktest.SessionParams{UserID: "user_a", ClientID: "client_1"})
	b1 := srv.CreateSession(clerktest.SessionParams{UserID: "user_b", ClientID: "client_1"})
	noErr(t, srv.RevokeSession(a2.ID))

	ids := func(body []byte) []string {
		var list []map[string]any
		noErr(t, json.Unmarshal(body, &list), "body %s", body)
		var out []string
		for _, s := range list {
			out = append(out, s["id"].(string))
		}
		return out
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"user_id=user_a", []string{a3.ID, a2.ID, a1.ID}},
		{"client_id=client_1", []string{b1.ID, a3.ID, a1.ID}},
		{"user_id=user_a&client_id=client_1", []string{a3.ID, a1.ID}},
		{"user_id=user_a&status=revoked", []string{a2.ID}},
		{"user_id=user_a&status=active", []string{a3.ID, a1.ID}},
		{"user_id=user_a&limit=2", []string{a3.ID, a2.ID}},
		{"user_id=user_a&limit=2&offset=2", []string{a1.ID}},
		{"user_id=user_a&offset=9", nil},
		{"user_id=user_nobody", nil},
		{"", []string{b1.ID, a3.ID, a2.ID, a1.ID}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := call(t, srv, "GET", "/v1/sessions?"+tt.query, "", nil)
			equal(t, r.status, http.StatusOK, "body %s", r.body)
			isTrue(t, strings.HasPrefix(string(r.body), "["), "bare array expected: %s", r.body)
			equal(t, ids(r.body), tt.want)
		})
	}

	r := call(t, srv, "GET", "/v1/sessions?user_id=user_a&paginated=true&limit=1", "", nil)
	var page struct {
		Data       []map[string]any `json:"data"`
		TotalCount int              `json:"total_count"`
	}
	noErr(t, json.Unmarshal(r.body, &page))
	equal(t, page.TotalCount, 3)
	equal(t, len(page.Data), 1)
	equal(t, page.Data[0]["id"], a3.ID)
}

func TestListSessionsValidation(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	tests := []struct{ query, param string }{
		{"limit=0", "limit"},
		{"limit=501", "limit"},
		{"limit=abc", "limit"},
		{"limit=8.14", "limit"},
		{"offset=-1", "offset"},
		{"offset=x", "offset"},
		{"status=pending", "status"},
		{"status=bogus", "status"},
		{"paginated=maybe", "paginated"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := call(t, srv, "GET", "/v1/sessions?user_id=u&"+tt.query, "", nil)
			equal(t, r.status, http.StatusUnprocessableEntity)
			equal(t, r.errorCode(t), "form_param_value_invalid")
			meta := r.json(t)["errors"].([]any)[0].(map[string]any)["meta"].(map[string]any)
			equal(t, meta["param_name"], tt.param)
		})
	}
	for _, q := range []string{"limit=1", "limit=500", "offset=0"} {
		equal(t, call(t, srv, "GET", "/v1/sessions?"+q, "", nil).status, http.StatusOK, q)
	}
}

func TestVerifySession(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	sess := srv.CreateSession(clerktest.SessionParams{})
	other := srv.CreateSession(clerktest.SessionParams{})
	revoked := srv.CreateSession(clerktest.SessionParams{})
	noErr(t, srv.RevokeSession(revoked.ID))
	body := func(tok string) string { return `{"token":"` + tok + `"}` }
	tests := []struct {
		name, id, body, path string
		header               map[string]string
		wantStatus           int
		wantCode             string
	}{
		{"no version", sess.ID, body(srv.MustToken(sess.ID)), "", nil, 200, ""},
		{"no token", sess.ID, "", "", nil, 200, ""},
		{"2024-10-01", sess.ID, body(srv.MustToken(sess.ID)), "", map[string]string{"Clerk-API-Version": "2024-10-01"}, 200, ""},
		{"2025-03-12 by query", sess.ID, "", "?__clerk_api_version=2025-03-12", nil, 200, ""},
		{"2025-04-10 removed", sess.ID, "", "", map[string]string{"Clerk-API-Version": "2025-04-10"}, 410, "operation_deprecated"},
		{"2026-05-12 removed", sess.ID, "", "", map[string]string{"Clerk-API-Version": "2026-05-12"}, 410, "operation_deprecated"},
		{"removed by query", sess.ID, "", "?__clerk_api_version=2026-05-12", nil, 410, "operation_deprecated"},
		{"both header and query", sess.ID, "", "?__clerk_api_version=2024-10-01", map[string]string{"Clerk-API-Version": "2024-10-01"}, 400, "api_version_invalid"},
		{"invalid version", sess.ID, "", "", map[string]string{"Clerk-API-Version": "yesterday"}, 400, "api_version_invalid"},
		{"token of other session", sess.ID, body(srv.MustToken(other.ID)), "", nil, 400, "invalid_session_token"},
		{"expired token", sess.ID, body(srv.MustToken(sess.ID, clerktest.WithIssuedAt(srv.Clock().Now().Add(-time.Hour)))), "", nil, 400, "invalid_session_token"},
		{"forged token", sess.ID, body(srv.Mint(nil, map[string]any{"sid": sess.ID}, clerktest.RawSignature([]byte("x")))), "", nil, 400, "invalid_session_token"},
		{"revoked session", revoked.ID, "", "", nil, 400, "session_not_active"},
		{"unknown session", "sess_missing", "", "", nil, 404, "resource_not_found"},
		{"bad body", sess.ID, "{", "", nil, 400, "request_body_invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, srv, "POST", "/v1/sessions/"+tt.id+"/verify"+tt.path, tt.body, tt.header)
			equal(t, r.status, tt.wantStatus, "body %s", r.body)
			if tt.wantCode != "" {
				equal(t, r.errorCode(t), tt.wantCode)
			} else {
				equal(t, r.json(t)["id"], tt.id)
			}
		})
	}
}

func TestCreateSessionEndpoint(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	u := srv.CreateUser(clerktest.UserParams{Email: "a@example.com"})
	r := call(t, srv, "POST", "/v1/sessions", `{"user_id":"`+u.ID+`"}`, nil)
	equal(t, r.status, http.StatusOK, "body %s", r.body)
	m := r.json(t)
	equal(t, m["user_id"], u.ID)
	equal(t, m["status"], "active")
	equal(t, m["last_active_organization_id"], nil)
	_, err := srv.Session(m["id"].(string))
	noErr(t, err)

	// An organization the user belongs to can be made active.
	srv.CreateSession(clerktest.SessionParams{UserID: u.ID, Org: &clerktest.OrgMembership{ID: "org_9", Role: "admin"}})
	m = call(t, srv, "POST", "/v1/sessions", `{"user_id":"`+u.ID+`","active_organization_id":"org_9"}`, nil).json(t)
	equal(t, m["last_active_organization_id"], "org_9")

	tests := []struct {
		name, body string
		wantStatus int
		wantCode   string
	}{
		{"missing user_id", `{}`, 422, "form_param_missing"},
		{"no body", ``, 422, "form_param_missing"},
		{"user_id not a string", `{"user_id":5}`, 422, "form_param_value_invalid"},
		{"unknown user", `{"user_id":"user_nobody"}`, 404, "resource_not_found"},
		{"unknown org", `{"user_id":"` + u.ID + `","active_organization_id":"org_x"}`, 404, "resource_not_found"},
		{"malformed", `[1,2`, 400, "request_body_invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, srv, "POST", "/v1/sessions", tt.body, nil)
			equal(t, r.status, tt.wantStatus, "body %s", r.body)
			equal(t, r.errorCode(t), tt.wantCode)
		})
	}
	_, err = srv.User("user_nobody")
	isTrue(t, err != nil, "unknown user")
}

func TestTokenEndpoints(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	srv.AddJWTTemplate("hasura", map[string]any{"role": "editor", "uid": "{{user.id}}",
		"nested": map[string]any{"sid": "{{session.id}}"}}, 3600*time.Second)
	sess := srv.CreateSession(clerktest.SessionParams{AuthorizedParty: "http://localhost:3000"})
	revoked := srv.CreateSession(clerktest.SessionParams{})
	noErr(t, srv.RevokeSession(revoked.ID))

	jwt := func(r response) string {
		equal(t, r.status, http.StatusOK, "body %s", r.body)
		m := r.json(t)
		equal(t, m["object"], "token")
		return m["jwt"].(string)
	}
	h, p := verify(t, srv, jwt(call(t, srv, "POST", "/v1/sessions/"+sess.ID+"/tokens", "", nil)))
	equal(t, h["cat"], clerktest.CategorySession)
	equal(t, p["sid"], sess.ID)
	equal(t, p["azp"], "http://localhost:3000")
	equal(t, num(t, p["exp"])-num(t, p["iat"]), int64(60))

	_, p = verify(t, srv, jwt(call(t, srv, "POST", "/v1/sessions/"+sess.ID+"/tokens", `{"expires_in_seconds":120}`, nil)))
	equal(t, num(t, p["exp"])-num(t, p["iat"]), int64(120))

	h, p = verify(t, srv, jwt(call(t, srv, "POST", "/v1/sessions/"+sess.ID+"/tokens/hasura", `{}`, nil)))
	equal(t, h["cat"], clerktest.CategoryJWTTemplate)
	_, hasSID := p["sid"]
	isTrue(t, !hasSID, "template token has sid")
	equal(t, p["role"], "editor")
	equal(t, p["uid"], sess.UserID)
	equal(t, p["nested"], map[string]any{"sid": sess.ID})
	equal(t, num(t, p["exp"])-num(t, p["iat"]), int64(3600))

	tests := []struct {
		name, path, body string
		wantStatus       int
		wantCode         string
	}{
		{"too short", "/tokens", `{"expires_in_seconds":10}`, 422, "form_param_value_invalid"},
		{"too long", "/tokens", `{"expires_in_seconds":315360001}`, 422, "form_param_value_invalid"},
		{"not a number", "/tokens", `{"expires_in_seconds":"soon"}`, 422, "form_param_value_invalid"},
		{"unknown template", "/tokens/nope", ``, 404, "resource_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, srv, "POST", "/v1/sessions/"+sess.ID+tt.path, tt.body, nil)
			equal(t, r.status, tt.wantStatus, "body %s", r.body)
			equal(t, r.errorCode(t), tt.wantCode)
		})
	}
	for _, id := range []string{"sess_missing", revoked.ID} {
		r := call(t, srv, "POST", "/v1/sessions/"+id+"/tokens", "", nil)
		equal(t, r.status, http.StatusNotFound, id)
		equal(t, r.errorCode(t), "resource_not_found")
	}
}
