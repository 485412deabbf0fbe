package clerktest_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/clerkauth/clerkauth/clerktest"
)

var apiKeyFields = sorted("object", "id", "type", "subject", "name", "description", "claims", "scopes", "revoked",
	"revocation_reason", "expired", "expiration", "created_by", "last_used_at", "created_at", "updated_at")

func TestCreateAPIKeyHTTP(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	srv.Clock().Set(mustTime(t, "2026-03-01T12:00:00Z"))
	owner := userID("o")
	machine := srv.CreateMachine(clerktest.MachineParams{})
	tests := []struct {
		name, body string
		key        string
		wantStatus int
	}{
		{"minimal", `{"name":"ci key","subject":"` + owner + `"}`, "", 200},
		{"full", `{"name":"ci key","subject":"org_` + strings.Repeat("o", 27) + `","type":"service","description":"d",` +
			`"claims":{"a":1},"scopes":["read"],"created_by":"` + owner + `","seconds_until_expiration":60}`, "", 200},
		{"machine subject", `{"name":"ci key","subject":"` + machine.ID + `"}`, "", 200},
		{"no name", `{"subject":"` + owner + `"}`, "", 400},
		{"short name", `{"name":"ab","subject":"` + owner + `"}`, "", 400},
		{"padded name", `{"name":" key ","subject":"` + owner + `"}`, "", 400},
		{"no subject", `{"name":"key"}`, "", 400},
		{"bad subject", `{"name":"key","subject":"user_1"}`, "", 400},
		{"bad created_by", `{"name":"key","subject":"` + owner + `","created_by":"org_x"}`, "", 400},
		{"short type", `{"name":"key","subject":"` + owner + `","type":"ab"}`, "", 400},
		{"long description", `{"name":"key","subject":"` + owner + `","description":"` + strings.Repeat("d", 256) + `"}`, "", 400},
		{"scopes not strings", `{"name":"key","subject":"` + owner + `","scopes":[1]}`, "", 400},
		{"zero lifetime", `{"name":"key","subject":"` + owner + `","seconds_until_expiration":0}`, "", 400},
		{"unknown field", `{"name":"key","subject":"` + owner + `","secret":"ak_mine"}`, "", 400},
		{"machine key", `{"name":"key","subject":"` + owner + `"}`, machine.SecretKey, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var auth map[string]string
			if tt.key != "" {
				auth = withKey(tt.key)
			}
			r := call(t, srv, "POST", "/api_keys", tt.body, auth)
			equal(t, r.status, tt.wantStatus, "body %s", r.body)
			if tt.wantStatus != 200 {
				r.errorCode(t)
				return
			}
			m := r.json(t)
			equal(t, keys(m), sorted(append(apiKeyFields, "secret")...))
			isTrue(t, strings.HasPrefix(m["secret"].(string), "ak_"), "secret %v", m["secret"])
			isTrue(t, len(m["id"].(string)) == 35, "id %v", m["id"])
			k, err := srv.APIKey(m["id"].(string))
			noErr(t, err)
			equal(t, k.Secret, m["secret"])
		})
	}
}

func TestVerifyAPIKey(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	srv.Clock().Set(mustTime(t, "2026-03-01T12:00:00Z"))
	owner := userID("v")
	live := srv.MustAPIKey(clerktest.APIKeyParams{Subject: owner, Name: "live", Scopes: []string{"read:x"},
		Claims: map[string]any{"tier": "gold"}, Description: "desc", CreatedBy: owner})
	revoked := srv.MustAPIKey(clerktest.APIKeyParams{Subject: owner})
	noErr(t, srv.RevokeAPIKey(revoked.ID, "leaked"))
	short := srv.MustAPIKey(clerktest.APIKeyParams{Subject: owner, Lifetime: time.Minute})
	machine := srv.CreateMachine(clerktest.MachineParams{})
	srv.Clock().Advance(time.Minute)

	tests := []struct {
		name, secret string
		wantStatus   int
	}{
		{"live", live.Secret, 200},
		{"revoked", revoked.Secret, 404},
		{"expired", short.Secret, 404},
		{"unknown", "ak_unknown", 404},
		{"machine secret key is no API key", machine.SecretKey, 404},
		{"key ID is no secret", live.ID, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, srv, "POST", "/api_keys/verify", `{"secret":"`+tt.secret+`"}`, nil)
			equal(t, r.status, tt.wantStatus, "body %s", r.body)
			if tt.wantStatus != 200 {
				equal(t, r.errorCode(t), "resource_not_found")
				return
			}
			m := r.jsonN(t)
			equal(t, keys(m), apiKeyFields)
			equal(t, []any{m["object"], m["id"], m["type"], m["subject"], m["name"], m["description"], m["created_by"]},
				[]any{"api_key", live.ID, "api_key", owner, "live", "desc", owner})
			equal(t, m["scopes"], []any{"read:x"})
			equal(t, m["claims"], map[string]any{"tier": "gold"})
			equal(t, []any{m["revoked"], m["expired"], m["expiration"]}, []any{false, false, nil})
			equal(t, num(t, m["last_used_at"]), srv.Clock().Now().UnixMilli())
		})
	}
	for _, body := range []string{`{}`, `{"secret":1}`, `{"secret":"x","token":"y"}`} {
		equal(t, call(t, srv, "POST", "/api_keys/verify", body, nil).status, 400, body)
	}
	r := call(t, srv, "POST", "/v1/api_keys/verify", `{"secret":"`+live.Secret+`"}`, withKey(machine.SecretKey))
	equal(t, r.status, 401, "API keys are verified with the instance key only")
	equal(t, srv.Requests(clerktest.EndpointAPIKeyVerify), len(tests)+4)
}

func TestAPIKeyRoutes(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	owner := userID("r")
	key := srv.MustAPIKey(clerktest.APIKeyParams{Subject: owner, Name: "first"})
	srv.Clock().Advance(time.Millisecond)
	srv.MustAPIKey(clerktest.APIKeyParams{Subject: owner, Name: "second"})
	srv.MustAPIKey(clerktest.APIKeyParams{Subject: owner, Name: "typed", Type: "service"})
	srv.MustAPIKey(clerktest.APIKeyParams{Subject: userID("s")})

	r := call(t, srv, "GET", "/v1/api_keys/"+key.ID, "", nil)
	equal(t, r.status, 200)
	equal(t, keys(r.json(t)), apiKeyFields)
	equal(t, call(t, srv, "GET", "/v1/api_keys/ak_"+strings.Repeat("0", 32), "", nil).status, 404)
	equal(t, call(t, srv, "GET", "/v1/api_keys/ak_zz", "", nil).status, 400)
	r = call(t, srv, "GET", "/api_keys/"+key.ID+"/secret", "", nil)
	equal(t, r.json(t), map[string]any{"secret": key.Secret})

	r = call(t, srv, "POST", "/api_keys/"+key.ID+"/revoke", `{"revocation_reason":null}`, nil)
	equal(t, r.status, 200, "body %s", r.body)
	equal(t, []any{r.json(t)["revoked"], r.json(t)["revocation_reason"]}, []any{true, nil})
	equal(t, call(t, srv, "POST", "/api_keys/"+key.ID+"/revoke", `{"x":1}`, nil).status, 400)
	equal(t, call(t, srv, "POST", "/api_keys/verify", `{"secret":"`+key.Secret+`"}`, nil).status, 404)

	names := func(query string) []string {
		r := call(t, srv, "GET", "/api_keys?subject="+owner+query, "", nil)
		equal(t, r.status, 200, "body %s", r.body)
		var out []string
		for _, k := range r.json(t)["data"].([]any) {
			out = append(out, k.(map[string]any)["name"].(string))
		}
		return out
	}
	equal(t, names(""), []string{"second"})
	equal(t, names("&include_invalid=true"), []string{"second", "first"})
	equal(t, names("&type=service"), []string{"typed"})
	equal(t, names("&include_invalid=true&query=FIR"), []string{"first"})
	equal(t, names("&include_invalid=true&limit=1&offset=1"), []string{"first"})
	for _, bad := range []string{"", "?subject=bob", "?subject=" + owner + "&include_invalid=yes", "?subject=" + owner + "&limit=0"} {
		equal(t, call(t, srv, "GET", "/api_keys"+bad, "", nil).status, 400, bad)
	}

	err := srv.RevokeAPIKey("ak_missing", "")
	isTrue(t, errors.Is(err, clerktest.ErrNotFound), "revoke unknown: %v", err)
	_, err = srv.CreateAPIKey(clerktest.APIKeyParams{})
	isTrue(t, err != nil, "a subject is required")
}
