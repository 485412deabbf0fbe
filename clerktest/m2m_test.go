package clerktest_test

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clerkauth/clerkauth/clerktest"
)

// m2mFields are the fields of the machine_to_machine_token object of
// Clerk's description (verify, revoke and list answers).
var m2mFields = sorted("object", "id", "subject", "claims", "scopes", "revoked", "revocation_reason",
	"expired", "expiration", "last_used_at", "created_at", "updated_at")

func TestCreateM2MTokenHTTP(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	srv.Clock().Set(mustTime(t, "2026-03-01T12:00:00Z"))
	caller, target, _ := trio(t, srv)
	now := srv.Clock().Now().UnixMilli()
	tests := []struct {
		name       string
		auth       map[string]string
		body       string
		wantStatus int
		wantCode   string
		wantExp    int64 // ms after now; 0: not checked
	}{
		{name: "default TTL", auth: withKey(caller.SecretKey), body: `{}`, wantStatus: 201, wantExp: 3600_000},
		{name: "JS SDK body", auth: withKey(caller.SecretKey),
			body: `{"seconds_until_expiration":null,"claims":null,"token_format":"opaque"}`, wantStatus: 201, wantExp: 3600_000},
		{name: "lifetime", auth: withKey(caller.SecretKey), body: `{"seconds_until_expiration":90}`, wantStatus: 201, wantExp: 90_000},
		{name: "fractional lifetime", auth: withKey(caller.SecretKey), body: `{"seconds_until_expiration":1.5}`, wantStatus: 201, wantExp: 1500},
		{name: "jwt", auth: withKey(caller.SecretKey), body: `{"token_format":"jwt","claims":{"x":1}}`, wantStatus: 201, wantExp: 3600_000},
		{name: "instance key", body: `{}`, wantStatus: 403, wantCode: "authorization_invalid"},
		{name: "no header", auth: map[string]string{"Authorization": ""}, body: `{}`, wantStatus: 401, wantCode: "authorization_header_format_invalid"},
		{name: "unknown machine key", auth: withKey("ak_unknown"), body: `{}`, wantStatus: 401, wantCode: "machine_secret_key_invalid"},
		{name: "bad format", auth: withKey(caller.SecretKey), body: `{"token_format":"paseto"}`, wantStatus: 400, wantCode: "bad_request"},
		{name: "zero lifetime", auth: withKey(caller.SecretKey), body: `{"seconds_until_expiration":0}`, wantStatus: 400, wantCode: "bad_request"},
		{name: "string lifetime", auth: withKey(caller.SecretKey), body: `{"seconds_until_expiration":"60"}`, wantStatus: 400, wantCode: "bad_request"},
		{name: "unknown field", auth: withKey(caller.SecretKey), body: `{"scopes":["mch_x"]}`, wantStatus: 400, wantCode: "bad_request"},
		{name: "claims array", auth: withKey(caller.SecretKey), body: `{"claims":[1]}`, wantStatus: 400, wantCode: "bad_request"},
		{name: "reserved claim in jwt", auth: withKey(caller.SecretKey), body: `{"token_format":"jwt","claims":{"sub":"user_x"}}`,
			wantStatus: 400, wantCode: "bad_request"},
		{name: "min ttl not below lifetime", auth: withKey(caller.SecretKey),
			body: `{"seconds_until_expiration":60,"min_remaining_ttl_seconds":60}`, wantStatus: 400, wantCode: "bad_request"},
		{name: "negative min ttl", auth: withKey(caller.SecretKey), body: `{"min_remaining_ttl_seconds":-1}`, wantStatus: 400, wantCode: "bad_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, srv, "POST", "/m2m_tokens", tt.body, tt.auth)
			equal(t, r.status, tt.wantStatus, "body %s", r.body)
			if tt.wantCode != "" {
				equal(t, r.errorCode(t), tt.wantCode)
				return
			}
			m := r.jsonN(t)
			equal(t, keys(m), sorted(append(m2mFields, "token")...))
			equal(t, m["object"], "machine_to_machine_token")
			equal(t, m["subject"], caller.ID)
			equal(t, m["scopes"], []any{target.ID})
			isTrue(t, strings.HasPrefix(m["id"].(string), "mt_") && len(m["id"].(string)) == 35, "id %v", m["id"])
			equal(t, num(t, m["expiration"])-now, tt.wantExp)
			equal(t, num(t, m["created_at"]), now)
			equal(t, m["last_used_at"], nil)
		})
	}
}

func TestM2MJWTShape(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	caller, _, _ := trio(t, srv)
	tok := srv.MustM2MToken(caller.ID, clerktest.M2MTokenParams{Format: clerktest.FormatJWT, Lifetime: 90 * time.Second,
		Claims: map[string]any{"aud": []string{"mch_x"}, "tier": "gold"}})
	header, payload := verify(t, srv, tok.Token)
	equal(t, header, map[string]any{"alg": "RS256", "cat": clerktest.CategoryM2M, "kid": srv.KeyID()})
	equal(t, keys(payload), sorted("iss", "sub", "exp", "nbf", "iat", "jti", "aud", "tier"))
	equal(t, []any{payload["iss"], payload["sub"], payload["jti"]}, []any{srv.Issuer(), caller.ID, tok.ID})
	equal(t, num(t, payload["exp"])-num(t, payload["iat"]), int64(90))
	equal(t, payload["nbf"], payload["iat"])
	equal(t, tok.Expiration.Unix(), num(t, payload["exp"]))
	_, err := srv.M2MToken(tok.ID)
	isTrue(t, errors.Is(err, clerktest.ErrNotFound), "JWT tokens are not stored: %v", err)

	_, err = srv.CreateM2MToken(caller.ID, clerktest.M2MTokenParams{Format: clerktest.FormatJWT, NeverExpires: true})
	isTrue(t, err != nil, "a JWT must expire")
	_, err = srv.CreateM2MToken("mch_unknown", clerktest.M2MTokenParams{})
	isTrue(t, errors.Is(err, clerktest.ErrNotFound), "unknown machine: %v", err)
}

func TestVerifyM2MToken(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	srv.Clock().Set(mustTime(t, "2026-03-01T12:00:00Z"))
	caller, target, other := trio(t, srv)
	mint := func(p clerktest.M2MTokenParams) string { return srv.MustM2MToken(caller.ID, p).Token }
	live := mint(clerktest.M2MTokenParams{Claims: map[string]any{"k": "v"}})
	revoked := srv.MustM2MToken(caller.ID, clerktest.M2MTokenParams{})
	noErr(t, srv.RevokeM2MToken(revoked.ID, "gone"))
	shortLived := mint(clerktest.M2MTokenParams{Lifetime: time.Minute})
	jwt := mint(clerktest.M2MTokenParams{Format: clerktest.FormatJWT, Lifetime: 10 * time.Minute})
	shortJWT := mint(clerktest.M2MTokenParams{Format: clerktest.FormatJWT, Lifetime: time.Minute})
	h, p, err := srv.M2MClaims(caller.ID, clerktest.M2MTokenParams{})
	noErr(t, err)
	h["cat"] = clerktest.CategorySession
	sessionCat := srv.Mint(h, p, nil)
	h["cat"] = clerktest.CategoryM2M
	foreign := srv.Mint(h, p, clerktest.RSASigner(mustKey(t), "RS256"))
	srv.Clock().Advance(time.Minute) // shortLived and shortJWT expire

	tests := []struct {
		name, token, key string
		wantStatus       int
	}{
		{"target key", live, target.SecretKey, 200},
		{"instance key", live, srv.SecretKey(), 200},
		{"unscoped machine", live, other.SecretKey, 404},
		{"own machine", live, caller.SecretKey, 404},
		{"revoked", revoked.Token, srv.SecretKey(), 404},
		{"expired", shortLived, srv.SecretKey(), 404},
		{"unknown", "mt_unknown", srv.SecretKey(), 404},
		{"jwt instance key", jwt, srv.SecretKey(), 200},
		{"jwt target key", jwt, target.SecretKey, 200},
		{"jwt unscoped machine", jwt, other.SecretKey, 404},
		{"jwt expired", shortJWT, srv.SecretKey(), 404},
		{"jwt session category", sessionCat, srv.SecretKey(), 404},
		{"jwt foreign key", foreign, srv.SecretKey(), 404},
		{"api key secret is no m2m token", other.SecretKey, srv.SecretKey(), 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, srv, "POST", "/m2m_tokens/verify", `{"token":"`+tt.token+`"}`, withKey(tt.key))
			equal(t, r.status, tt.wantStatus, "body %s", r.body)
			if tt.wantStatus != 200 {
				equal(t, r.errorCode(t), "resource_not_found")
				isTrue(t, !strings.Contains(string(r.body), tt.token), "the answer echoes the token")
				return
			}
			m := r.jsonN(t)
			equal(t, keys(m), m2mFields)
			equal(t, []any{m["subject"], m["revoked"], m["expired"], m["revocation_reason"]}, []any{caller.ID, false, false, nil})
		})
	}

	// The opaque token's details, and its last use.
	r := call(t, srv, "POST", "/v1/m2m_tokens/verify", `{"token":"`+live+`"}`, nil)
	m := r.jsonN(t)
	equal(t, m["claims"], map[string]any{"k": "v"})
	equal(t, m["scopes"], []any{target.ID})
	equal(t, num(t, m["last_used_at"]), srv.Clock().Now().UnixMilli())
	// The JWT's: id from jti, no scopes (no aud or scopes claim), ms times.
	m = call(t, srv, "POST", "/v1/m2m_tokens/verify", `{"token":"`+jwt+`"}`, nil).jsonN(t)
	isTrue(t, strings.HasPrefix(m["id"].(string), "mt_"), "id %v", m["id"])
	equal(t, m["scopes"], []any{})
	equal(t, m["claims"], nil)
	equal(t, m["last_used_at"], nil)

	for _, body := range []string{`{}`, `{"token":1}`, `{"token":"x","extra":1}`, `not json`} {
		r := call(t, srv, "POST", "/m2m_tokens/verify", body, nil)
		equal(t, r.status, 400, body)
	}
	// Both URL forms count as one route.
	equal(t, srv.Requests(clerktest.EndpointM2MVerify), len(tests)+6)
}

func TestVerifyReportsInvalid(t *testing.T) {
	srv := newServer(t, clerktest.Config{VerifyReportsInvalid: true})
	caller, _, _ := trio(t, srv)
	revoked := srv.MustM2MToken(caller.ID, clerktest.M2MTokenParams{})
	noErr(t, srv.RevokeM2MToken(revoked.ID, "gone"))
	expired := srv.MustM2MToken(caller.ID, clerktest.M2MTokenParams{Lifetime: time.Second})
	key := srv.MustAPIKey(clerktest.APIKeyParams{Subject: userID("K")})
	noErr(t, srv.RevokeAPIKey(key.ID, ""))
	oat := srv.MustOAuthToken(clerktest.OAuthTokenParams{Format: clerktest.FormatOpaque})
	noErr(t, srv.RevokeOAuthToken(oat.ID, ""))
	srv.Clock().Advance(time.Second)

	m := call(t, srv, "POST", "/m2m_tokens/verify", `{"token":"`+revoked.Token+`"}`, nil).json(t)
	equal(t, []any{m["revoked"], m["revocation_reason"], m["expired"]}, []any{true, "gone", false})
	m = call(t, srv, "POST", "/m2m_tokens/verify", `{"token":"`+expired.Token+`"}`, nil).json(t)
	equal(t, []any{m["revoked"], m["expired"]}, []any{false, true})
	m = call(t, srv, "POST", "/api_keys/verify", `{"secret":"`+key.Secret+`"}`, nil).json(t)
	equal(t, m["revoked"], true)
	m = call(t, srv, "POST", "/oauth_applications/access_tokens/verify", `{"access_token":"`+oat.Token+`"}`, nil).json(t)
	equal(t, m["revoked"], true)
}

func TestRevokeM2MToken(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	caller, target, _ := trio(t, srv)
	tok := srv.MustM2MToken(caller.ID, clerktest.M2MTokenParams{})
	jwt := srv.MustM2MToken(caller.ID, clerktest.M2MTokenParams{Format: clerktest.FormatJWT})
	tests := []struct {
		name, id, body, key string
		wantStatus          int
	}{
		{"other machine", tok.ID, `{}`, target.SecretKey, 404},
		{"bad id", "mt_xyz", `{}`, caller.SecretKey, 400},
		{"jwt", jwt.ID, `{}`, srv.SecretKey(), 404},
		{"extra field", tok.ID, `{"why":"x"}`, caller.SecretKey, 400},
		{"reason not a string", tok.ID, `{"revocation_reason":1}`, caller.SecretKey, 400},
		{"owner", tok.ID, `{"revocation_reason":"rotated"}`, caller.SecretKey, 200},
		{"again with the instance key", tok.ID, `{"revocation_reason":null}`, srv.SecretKey(), 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, srv, "POST", "/v1/m2m_tokens/"+tt.id+"/revoke", tt.body, withKey(tt.key))
			equal(t, r.status, tt.wantStatus, "body %s", r.body)
			if tt.wantStatus == 200 {
				m := r.json(t)
				equal(t, keys(m), m2mFields)
				equal(t, m["revoked"], true)
			}
		})
	}
	got, err := srv.M2MToken(tok.ID)
	noErr(t, err)
	equal(t, []any{got.Revoked, got.RevocationReason}, []any{true, ""})
	equal(t, call(t, srv, "POST", "/m2m_tokens/verify", `{"token":"`+tok.Token+`"}`, withKey(target.SecretKey)).status, 404)
}

func TestListM2MTokens(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	caller, target, _ := trio(t, srv)
	var ids []string
	for range 3 {
		ids = append(ids, srv.MustM2MToken(caller.ID, clerktest.M2MTokenParams{}).ID)
	}
	srv.MustM2MToken(caller.ID, clerktest.M2MTokenParams{Format: clerktest.FormatJWT}) // not listed
	noErr(t, srv.RevokeM2MToken(ids[0], ""))
	short := srv.MustM2MToken(caller.ID, clerktest.M2MTokenParams{Lifetime: time.Second})
	srv.Clock().Advance(time.Second)
	list := func(query, key string) response {
		return call(t, srv, "GET", "/m2m_tokens?subject="+caller.ID+query, "", withKey(key))
	}
	idsOf := func(r response) []string {
		var out []string
		for _, tok := range r.json(t)["m2m_tokens"].([]any) {
			out = append(out, tok.(map[string]any)["id"].(string))
		}
		return out
	}
	tests := []struct {
		name, query, key string
		want             []string
	}{
		{"live, newest first", "", caller.SecretKey, []string{ids[2], ids[1]}},
		{"instance key", "", srv.SecretKey(), []string{ids[2], ids[1]}},
		{"revoked", "&revoked=true", srv.SecretKey(), []string{ids[0]}},
		{"expired", "&expired=true", srv.SecretKey(), []string{short.ID}},
		{"page", "&limit=1&offset=1", srv.SecretKey(), []string{ids[1]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := list(tt.query, tt.key)
			equal(t, r.status, 200, "body %s", r.body)
			equal(t, keys(r.json(t)), []string{"m2m_tokens", "total_count"})
			equal(t, idsOf(r), tt.want)
		})
	}
	equal(t, list("", target.SecretKey).status, http.StatusForbidden, "another machine's tokens")
	equal(t, list("&limit=101", srv.SecretKey()).status, 400)
	equal(t, list("&revoked=maybe", srv.SecretKey()).status, 400)
	equal(t, call(t, srv, "GET", "/m2m_tokens", "", nil).status, 400, "subject is required")
	equal(t, call(t, srv, "GET", "/m2m_tokens?subject=mch_"+strings.Repeat("u", 27), "", nil).status, 404)
}

func TestM2MScopeChangesApplyToNewTokens(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	caller, target, other := trio(t, srv)
	before := srv.MustM2MToken(caller.ID, clerktest.M2MTokenParams{})
	noErr(t, srv.AddMachineScope(caller.ID, other.ID))
	noErr(t, srv.RemoveMachineScope(caller.ID, target.ID))
	after := srv.MustM2MToken(caller.ID, clerktest.M2MTokenParams{})
	equal(t, before.Scopes, []string{target.ID})
	equal(t, after.Scopes, []string{other.ID})
	verifyWith := func(tok, key string) int {
		return call(t, srv, "POST", "/m2m_tokens/verify", `{"token":"`+tok+`"}`, withKey(key)).status
	}
	equal(t, verifyWith(before.Token, target.SecretKey), 200, "old tokens keep their scopes")
	equal(t, verifyWith(after.Token, target.SecretKey), 404)
	equal(t, verifyWith(after.Token, other.SecretKey), 200)

	noErr(t, srv.DeleteMachine(caller.ID))
	equal(t, verifyWith(before.Token, srv.SecretKey()), 404, "tokens of a deleted machine")
}

func TestM2MTokenReuse(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	caller, _, _ := trio(t, srv)
	create := func(body string) map[string]any {
		r := call(t, srv, "POST", "/m2m_tokens", body, withKey(caller.SecretKey))
		equal(t, r.status, 201, "body %s", r.body)
		return r.json(t)
	}
	first := create(`{"seconds_until_expiration":600,"claims":{"a":1}}`)
	equal(t, create(`{"seconds_until_expiration":600,"claims":{"a":1},"min_remaining_ttl_seconds":300}`)["id"], first["id"])
	equal(t, create(`{"seconds_until_expiration":600,"claims":{"a":1},"min_remaining_ttl_seconds":300}`)["token"], first["token"])
	isTrue(t, create(`{"seconds_until_expiration":600,"claims":{"a":2},"min_remaining_ttl_seconds":300}`)["id"] != first["id"], "other claims")
	srv.Clock().Advance(301 * time.Second)
	isTrue(t, create(`{"seconds_until_expiration":600,"claims":{"a":1},"min_remaining_ttl_seconds":300}`)["id"] != first["id"],
		"too little life left")
}

func TestMachineRouteFaults(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	caller, target, _ := trio(t, srv)
	tok := srv.MustM2MToken(caller.ID, clerktest.M2MTokenParams{})
	key := srv.MustAPIKey(clerktest.APIKeyParams{Subject: userID("F")})
	oat := srv.MustOAuthToken(clerktest.OAuthTokenParams{Format: clerktest.FormatOpaque})
	routes := []struct {
		ep                clerktest.Endpoint
		method, path, arg string
	}{
		{clerktest.EndpointM2MVerify, "POST", "/m2m_tokens/verify", `{"token":"` + tok.Token + `"}`},
		{clerktest.EndpointM2MCreate, "POST", "/v1/m2m_tokens", `{}`},
		{clerktest.EndpointAPIKeyVerify, "POST", "/api_keys/verify", `{"secret":"` + key.Secret + `"}`},
		{clerktest.EndpointOAuthTokenVerify, "POST", "/oauth_applications/access_tokens/verify", `{"access_token":"` + oat.Token + `"}`},
		{clerktest.EndpointMachineGet, "GET", "/v1/machines/" + caller.ID, ""},
	}
	for _, rt := range routes {
		t.Run(string(rt.ep), func(t *testing.T) {
			auth := withKey(target.SecretKey)
			if rt.ep == clerktest.EndpointM2MCreate {
				auth = withKey(caller.SecretKey)
			}
			if rt.ep != clerktest.EndpointM2MVerify && rt.ep != clerktest.EndpointM2MCreate {
				auth = nil
			}
			srv.ResetRequests()
			srv.SetFault(rt.ep, clerktest.Fault{Status: 503, Times: 1})
			r := call(t, srv, rt.method, rt.path, rt.arg, auth)
			equal(t, r.status, 503)
			equal(t, r.errorCode(t), "internal_clerk_error")

			srv.SetFault(rt.ep, clerktest.Fault{RetryAfter: 2 * time.Second, Times: 1})
			r = call(t, srv, rt.method, rt.path, rt.arg, auth)
			equal(t, []any{r.status, r.header.Get("Retry-After")}, []any{429, "2"})

			srv.SetFault(rt.ep, clerktest.Fault{MalformedBody: true, Times: 1})
			r = call(t, srv, rt.method, rt.path, rt.arg, auth)
			equal(t, r.status, 200)
			isTrue(t, !strings.HasSuffix(string(r.body), "}"), "body %s is not truncated", r.body)

			srv.SetFault(rt.ep, clerktest.Fault{Down: true, Times: 1})
			req, _ := http.NewRequest(rt.method, srv.URL()+rt.path, strings.NewReader(rt.arg))
			// A fresh connection: net/http retries a GET that fails on a
			// reused one, which would take a second request.
			fresh := &http.Client{Transport: &http.Transport{}}
			resp, err := fresh.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			isTrue(t, err != nil, "want a connection error")

			srv.SetFault(rt.ep, clerktest.Fault{Delay: 50 * time.Millisecond, Times: 1})
			start := time.Now()
			r = call(t, srv, rt.method, rt.path, rt.arg, auth)
			isTrue(t, time.Since(start) >= 50*time.Millisecond, "not delayed")
			isTrue(t, r.status < 300, "status %d body %s", r.status, r.body)

			// Times exhausted: the route answers normally, at once, again.
			r = call(t, srv, rt.method, rt.path, rt.arg, auth)
			isTrue(t, r.status < 300, "status %d body %s", r.status, r.body)
			equal(t, srv.Requests(rt.ep), 6)
		})
	}
}

func TestMachineEndpointGroups(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	caller, target, _ := trio(t, srv)
	srv.ResetRequests()
	tok := call(t, srv, "POST", "/m2m_tokens", `{}`, withKey(caller.SecretKey)).json(t)["token"].(string)
	call(t, srv, "POST", "/m2m_tokens/verify", `{"token":"`+tok+`"}`, withKey(target.SecretKey))
	call(t, srv, "POST", "/v1/api_keys/verify", `{"secret":"ak_x"}`, nil)
	call(t, srv, "POST", "/oauth_applications/access_tokens/verify", `{"access_token":"oat_x"}`, nil)
	call(t, srv, "GET", "/machines", "", nil)
	equal(t, srv.Requests(clerktest.EndpointM2MTokens), 2)
	equal(t, srv.Requests(clerktest.EndpointMachineVerify), 3)
	equal(t, srv.Requests(clerktest.EndpointAPIKeys), 1)
	equal(t, srv.Requests(clerktest.EndpointMachines), 1)
	equal(t, srv.Requests(clerktest.EndpointSessions), 0)
	equal(t, srv.Requests(clerktest.EndpointAll), 5)

	srv.SetFault(clerktest.EndpointMachineVerify, clerktest.Fault{Status: 500})
	equal(t, call(t, srv, "POST", "/m2m_tokens/verify", `{"token":"`+tok+`"}`, nil).status, 500)
	equal(t, call(t, srv, "POST", "/api_keys/verify", `{"secret":"ak_x"}`, nil).status, 500)
	equal(t, call(t, srv, "GET", "/machines", "", nil).status, 200, "the group covers only verify routes")
}

func mustKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	noErr(t, err)
	return k
}

func userID(fill string) string { return "user_" + strings.Repeat(fill, 27) }

// Concurrent creation, verification and revocation keep the counts exact
// (and, under -race, show the store is safely locked).
func TestMachineCredentialsConcurrently(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	caller, target, _ := trio(t, srv)
	// post does not use t: FailNow may not run outside the test goroutine.
	post := func(path, body, key string) int {
		req, err := http.NewRequest("POST", srv.URL()+path, strings.NewReader(body))
		if err != nil {
			return -1
		}
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := srv.Client().Do(req)
		if err != nil {
			return -1
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	const n = 16
	var wg sync.WaitGroup
	statuses := make([][3]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := srv.CreateM2MToken(caller.ID, clerktest.M2MTokenParams{})
			key, err2 := srv.CreateAPIKey(clerktest.APIKeyParams{Subject: userID("c")})
			if err != nil || err2 != nil {
				return
			}
			statuses[i][0] = post("/m2m_tokens/verify", `{"token":"`+tok.Token+`"}`, target.SecretKey)
			statuses[i][1] = post("/api_keys/verify", `{"secret":"`+key.Secret+`"}`, srv.SecretKey())
			if srv.RevokeM2MToken(tok.ID, "") == nil {
				statuses[i][2] = post("/m2m_tokens/verify", `{"token":"`+tok.Token+`"}`, srv.SecretKey())
			}
		}()
	}
	wg.Wait()
	for i := range n {
		equal(t, statuses[i], [3]int{200, 200, 404}, "goroutine %d", i)
	}
	equal(t, srv.Requests(clerktest.EndpointM2MVerify), 2*n)
	equal(t, srv.Requests(clerktest.EndpointAPIKeyVerify), n)
	r := call(t, srv, "GET", "/m2m_tokens?subject="+caller.ID+"&revoked=true&limit=100", "", nil)
	equal(t, len(r.json(t)["m2m_tokens"].([]any)), n)
}
