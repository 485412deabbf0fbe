package clerktest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/clerkauth/clerkauth/clerktest"
)

// devServer serves srv.DevHandler() on a loopback port of its own (srv
// also serves its plain handler, for the helpers that use srv.URL()).
func devServer(t *testing.T) (*clerktest.Server, *httptest.Server) {
	t.Helper()
	srv := newServer(t, clerktest.Config{})
	ts := httptest.NewServer(srv.DevHandler())
	t.Cleanup(ts.Close)
	return srv, ts
}

func devCall(t *testing.T, ts *httptest.Server, method, path, body string, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	noErr(t, err)
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := ts.Client().Do(req)
	noErr(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	noErr(t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func devToken(t *testing.T, r response) clerktest.DevTokenResponse {
	t.Helper()
	equal(t, r.status, http.StatusOK, "status of %s", r.body)
	var out clerktest.DevTokenResponse
	noErr(t, json.Unmarshal(r.body, &out))
	return out
}

func TestDevCreateSessionWithOrg(t *testing.T) {
	srv, ts := devServer(t)
	body := `{"user_id":"user_dev","org":{"id":"org_acme","role":"admin","permissions":["org:invoices:read"]},"expires_in_seconds":600}`
	out := devToken(t, devCall(t, ts, "POST", "/dev/sessions", body, nil))
	equal(t, []string{out.UserID, out.OrgID}, []string{"user_dev", "org_acme"})
	sess, err := srv.Session(out.SessionID)
	noErr(t, err)
	equal(t, sess.Org.Role, "org:admin")

	_, payload, err := srv.SessionClaims(out.SessionID)
	noErr(t, err)
	equal(t, payload["sid"], out.SessionID)
	parts := strings.Split(out.Token, ".")
	claims := decodePart(t, parts[1])
	equal(t, num(t, claims["exp"])-num(t, claims["iat"]), int64(600))
	equal(t, out.ExpiresAt.Unix(), num(t, claims["exp"]))
	equal(t, claims["o"].(map[string]any)["rol"], "admin")
}

func TestDevCreateSessionReusesMembership(t *testing.T) {
	_, ts := devServer(t)
	first := devToken(t, devCall(t, ts, "POST", "/dev/sessions",
		`{"user_id":"user_a","org":{"id":"org_b","role":"admin"}}`, nil))
	second := devToken(t, devCall(t, ts, "POST", "/dev/sessions", `{"user_id":"user_a","org_id":"org_b"}`, nil))
	isTrue(t, first.SessionID != second.SessionID, "a new session")
	equal(t, second.OrgID, "org_b")

	r := devCall(t, ts, "POST", "/dev/sessions", `{"user_id":"user_a","org_id":"org_other"}`, nil)
	equal(t, r.status, http.StatusNotFound)
}

func TestDevCreateSessionEmptyBody(t *testing.T) {
	_, ts := devServer(t)
	out := devToken(t, devCall(t, ts, "POST", "/dev/sessions", "", nil))
	isTrue(t, strings.HasPrefix(out.SessionID, "sess_") && strings.HasPrefix(out.UserID, "user_"), "ids %+v", out)
	equal(t, out.OrgID, "")
}

func TestDevToken(t *testing.T) {
	srv, ts := devServer(t)
	sess := srv.CreateSession(clerktest.SessionParams{})

	out := devToken(t, devCall(t, ts, "POST", "/dev/token?session="+sess.ID, "", nil))
	equal(t, out.SessionID, sess.ID)
	verify(t, srv, out.Token)
	isTrue(t, out.ExpiresAt.After(srv.Clock().Now()), "expires in the future")

	text := devCall(t, ts, "POST", "/dev/token?session="+sess.ID+"&format=text&expires_in_seconds=120", "", nil)
	equal(t, text.status, http.StatusOK)
	tok := strings.TrimSpace(string(text.body))
	equal(t, strings.Count(tok, "."), 2, "a bare JWT")
	claims := decodePart(t, strings.Split(tok, ".")[1])
	equal(t, num(t, claims["exp"])-num(t, claims["iat"]), int64(120))

	noErr(t, srv.RevokeSession(sess.ID))
	r := devCall(t, ts, "POST", "/dev/token?session="+sess.ID, "", nil)
	equal(t, r.status, http.StatusNotFound)
	equal(t, r.errorCode(t), "resource_not_found")
}

func TestDevRoutesRejectBadRequests(t *testing.T) {
	srv, ts := devServer(t)
	sess := srv.CreateSession(clerktest.SessionParams{})
	tests := []struct {
		name, method, path, body string
		header                   map[string]string
		status                   int
		code                     string
	}{
		{"non-loopback host", "POST", "/dev/sessions", "", map[string]string{"Host": "attacker.example"}, 403, "dev_route_forbidden"},
		{"cross-site origin", "POST", "/dev/token?session=" + sess.ID, "", map[string]string{"Origin": "https://attacker.example"}, 403, "dev_route_forbidden"},
		{"unknown field", "POST", "/dev/sessions", `{"user":"x"}`, nil, 400, "request_body_invalid"},
		{"bad permission", "POST", "/dev/sessions", `{"org":{"permissions":["invoices"]}}`, nil, 422, "form_param_value_invalid"},
		{"bad user id", "POST", "/dev/sessions", `{"user_id":"a/b"}`, nil, 422, "form_param_value_invalid"},
		{"no session", "POST", "/dev/token", "", nil, 422, "form_param_missing"},
		{"unknown session", "POST", "/dev/token?session=sess_nope", "", nil, 404, "resource_not_found"},
		{"short lifetime", "POST", "/dev/token?session=" + sess.ID + "&expires_in_seconds=5", "", nil, 422, "form_param_value_invalid"},
		{"unknown dev route", "GET", "/dev/nothing", "", nil, 404, "resource_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := devCall(t, ts, tt.method, tt.path, tt.body, tt.header)
			equal(t, r.status, tt.status, "body %s", r.body)
			equal(t, r.errorCode(t), tt.code)
		})
	}
}

func TestDevHandlerServesTheAPI(t *testing.T) {
	srv, ts := devServer(t)
	r := devCall(t, ts, "GET", "/v1/sessions", "", map[string]string{"Authorization": "Bearer " + srv.SecretKey()})
	equal(t, r.status, http.StatusOK)
	r = devCall(t, ts, "GET", "/.well-known/jwks.json", "", map[string]string{"Origin": "https://attacker.example"})
	equal(t, r.status, http.StatusOK, "the public JWKS is not a dev route")
}
