package clerkauth

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustParseClaims(t testing.TB, payload string) *Claims {
	t.Helper()
	c, err := parseClaims([]byte(payload))
	if err != nil {
		t.Fatalf("parseClaims(%s) = %v", payload, err)
	}
	return c
}

func TestParseClaimsV2(t *testing.T) {
	c := mustParseClaims(t, typicalV2Payload)
	want := &Claims{
		SessionID:             "sess_2abcDEF123ghiJKL456mnoPQR",
		UserID:                "user_2abcDEF123ghiJKL456mnoPQR",
		Issuer:                "https://clerk.example.com",
		AuthorizedParty:       "https://app.example.com",
		ID:                    "2b1c8f0e3d7a9c4b6e5f",
		Expiry:                time.Unix(1800000060, 0).UTC(),
		IssuedAt:              time.Unix(1800000000, 0).UTC(),
		NotBefore:             time.Unix(1799999990, 0).UTC(),
		Version:               2,
		SessionStatus:         "active",
		FactorVerificationAge: []int{5, -1},
		Org: &Organization{
			ID:          "org_2abcDEF123ghiJKL456mnoPQR",
			Slug:        "acme",
			Role:        "org:admin",
			Permissions: []string{"org:dashboard:manage", "org:dashboard:read", "org:teams:read"},
		},
		Features: []string{"o:dashboard", "o:teams", "u:beta"},
		Plans:    []string{"u:free"},
		raw:      typicalV2Payload,
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("parseClaims =\n%+v\n%+v\nwant\n%+v\n%+v", c, c.Org, want, want.Org)
	}
}

func TestParseClaimsV1(t *testing.T) {
	c := mustParseClaims(t, `{"sub":"user_1","sid":"sess_1","exp":1800000060,"iss":"https://x",
		"org_id":"org_1","org_slug":"acme","org_role":"org:admin",
		"org_permissions":["org:admin:example_permission","org:dashboard:read"],
		"act":{"sub":"user_admin","iss":"https://dashboard.clerk.com","sid":"sess_a"}}`)
	if c.Version != 1 || c.Org == nil {
		t.Fatalf("Version, Org = %d, %v; want 1, an org", c.Version, c.Org)
	}
	wantOrg := Organization{ID: "org_1", Slug: "acme", Role: "org:admin",
		Permissions: []string{"org:admin:example_permission", "org:dashboard:read"}}
	if !reflect.DeepEqual(*c.Org, wantOrg) {
		t.Errorf("Org = %+v; want %+v", *c.Org, wantOrg)
	}
	wantActor := Actor{Subject: "user_admin", Issuer: "https://dashboard.clerk.com", SessionID: "sess_a"}
	if c.Actor == nil || *c.Actor != wantActor {
		t.Errorf("Actor = %+v; want %+v", c.Actor, wantActor)
	}
}

func TestParseClaimsOrganization(t *testing.T) {
	const v2 = `"v":2,`
	tests := []struct {
		name    string
		payload string
		want    *Organization
	}{
		{"v2 no o", `{"v":2}`, nil},
		{"v2 o null", `{"v":2,"o":null}`, nil},
		{"v2 o not an object", `{"v":2,"o":"org_1"}`, nil},
		{"v2 o without id", `{"v":2,"o":{"rol":"admin"}}`, nil},
		{"v2 o with empty id", `{"v":2,"o":{"id":""}}`, nil},
		{"v2 o with numeric id", `{"v":2,"o":{"id":1}}`, nil},
		{"v2 minimal", `{"v":2,"o":{"id":"org_1"}}`, &Organization{ID: "org_1"}},
		{"v2 role gets prefix", `{` + v2 + `"o":{"id":"org_1","rol":"admin"}}`, &Organization{ID: "org_1", Role: "org:admin"}},
		{"v2 role keeps one prefix", `{` + v2 + `"o":{"id":"org_1","rol":"org:admin"}}`, &Organization{ID: "org_1", Role: "org:admin"}},
		{"v2 role collapses prefixes", `{` + v2 + `"o":{"id":"org_1","rol":"org:org:org:admin"}}`, &Organization{ID: "org_1", Role: "org:admin"}},
		{"v2 mistyped members read as absent", `{` + v2 + `"o":{"id":"org_1","rol":5,"slg":[],"per":{},"fpm":3},"fea":"o:a"}`, &Organization{ID: "org_1"}},
		{"v2 ignores v1 claims", `{"v":2,"org_id":"org_1","org_role":"org:admin"}`, nil},
		{"v1 ignores o", `{"o":{"id":"org_1","rol":"admin"}}`, nil},
		{"v1 v:1 ignores o", `{"v":1,"o":{"id":"org_1"}}`, nil},
		{"v1 v:\"2\" is v1", `{"v":"2","o":{"id":"org_1"},"org_id":"org_2"}`, &Organization{ID: "org_2"}},
		{"v1 role gets prefix", `{"org_id":"org_1","org_role":"admin"}`, &Organization{ID: "org_1", Role: "org:admin"}},
		{"v1 empty role", `{"org_id":"org_1","org_role":""}`, &Organization{ID: "org_1"}},
		{"v1 numeric org_id", `{"org_id":1,"org_role":"admin"}`, nil},
		{"v1 permissions kept verbatim", `{"org_id":"org_1","org_permissions":["read","org:x"]}`,
			&Organization{ID: "org_1", Permissions: []string{"read", "org:x"}}},
		{"v1 mistyped permission drops all", `{"org_id":"org_1","org_permissions":["org:a",1]}`, &Organization{ID: "org_1"}},
		{"v1 permissions not an array", `{"org_id":"org_1","org_permissions":"org:a"}`, &Organization{ID: "org_1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParseClaims(t, tt.payload)
			if !reflect.DeepEqual(c.Org, tt.want) {
				t.Fatalf("Org = %+v; want %+v", c.Org, tt.want)
			}
		})
	}
}

func TestParseClaimsVersion(t *testing.T) {
	for in, want := range map[string]int{
		`{}`: 1, `{"v":2}`: 2, `{"v":2.0}`: 2, `{"v":2e0}`: 2, `{"v":20e-1}`: 2, `{"v":1}`: 1, `{"v":3}`: 1,
		`{"v":"2"}`: 1, `{"v":null}`: 1, `{"v":[2]}`: 1, `{"v":-2}`: 1, `{"v":1e999}`: 1,
	} {
		if got := mustParseClaims(t, in).Version; got != want {
			t.Errorf("Version of %s = %d; want %d", in, got, want)
		}
	}
}

func TestParseClaimsTimes(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{`0`, time.Unix(0, 0)},
		{`-0`, time.Unix(0, 0)},
		{`1800000000`, time.Unix(1800000000, 0)},
		{`1800000000.5`, time.Unix(1800000000, 5e8)},
		{`1.8e9`, time.Unix(1800000000, 0)},
		{`18000000000e-1`, time.Unix(1800000000, 0)},
		{`9007199254740991`, time.Unix(1<<53-1, 0)},
		{`999999999999999`, time.Unix(999999999999999, 0)},
	}
	for _, tt := range tests {
		for _, claim := range []string{"exp", "nbf", "iat"} {
			c := mustParseClaims(t, `{"`+claim+`":`+tt.in+`}`)
			got := map[string]time.Time{"exp": c.Expiry, "nbf": c.NotBefore, "iat": c.IssuedAt}[claim]
			if !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("%s %s = %v; want %v in UTC", claim, tt.in, got, tt.want.UTC())
			}
		}
	}
	c := mustParseClaims(t, `{"sub":"user_1"}`)
	if !c.Expiry.IsZero() || !c.NotBefore.IsZero() || !c.IssuedAt.IsZero() {
		t.Errorf("absent times = %v, %v, %v; want zero", c.Expiry, c.NotBefore, c.IssuedAt)
	}
}

func TestParseClaimsAudience(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`"a"`, []string{"a"}},
		{`""`, []string{""}},
		{`["a","b"]`, []string{"a", "b"}},
		{`["a\u0062"]`, []string{"ab"}},
		{`[]`, nil},
	}
	for _, tt := range tests {
		c := mustParseClaims(t, `{"aud":`+tt.in+`}`)
		if !reflect.DeepEqual(c.Audience, tt.want) {
			t.Errorf("aud %s = %q; want %q", tt.in, c.Audience, tt.want)
		}
	}
	c := mustParseClaims(t, `{"aud":"a"}`)
	if cap(c.Audience) != 1 {
		t.Errorf("single audience has spare capacity %d: appending would write into the claims", cap(c.Audience))
	}
}

// TestParseClaimsRejectsMistypedClaims checks the error class and that the
// message names the claim but never holds its value.
func TestParseClaimsRejectsMistypedClaims(t *testing.T) {
	const secret = "SECRET-VALUE"
	tests := []struct{ claim, value string }{
		{"sub", `["` + secret + `"]`}, {"sub", `null`}, {"sub", `1`}, {"sub", `{"x":"` + secret + `"}`},
		{"sid", `true`}, {"sid", `null`}, {"iss", `1`}, {"iss", `null`}, {"azp", `["` + secret + `"]`}, {"jti", `{}`},
		{"aud", `1`}, {"aud", `null`}, {"aud", `{"` + secret + `":1}`}, {"aud", `["a",1]`}, {"aud", `[["` + secret + `"]]`},
		{"exp", `"` + secret + `"`}, {"exp", `"1800000000"`}, {"exp", `null`}, {"exp", `true`}, {"exp", `[1]`},
		{"exp", `-1`}, {"exp", `-0.5`}, {"exp", `9007199254740992`}, {"exp", `1e16`}, {"exp", `1e400`},
		{"nbf", `"1"`}, {"nbf", `null`}, {"nbf", `-1`}, {"iat", `false`}, {"iat", `1e999`},
		{"sts", `1`}, {"sts", `["pending"]`}, {"sts", `{"` + secret + `":1}`},
		{"act", `"` + secret + `"`}, {"act", `[]`}, {"act", `1`}, {"act", `{"sub":1}`}, {"act", `{"type":["agent"]}`},
		{"act", `{"iss":{"` + secret + `":1}}`},
	}
	for _, tt := range tests {
		t.Run(tt.claim+"="+tt.value, func(t *testing.T) {
			_, err := parseClaims([]byte(`{"custom":"https://x","` + tt.claim + `":` + tt.value + `,"v":2}`))
			if ReasonOf(err) != ReasonTokenVerificationFailed || !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("err = %v; want reason %s matching ErrInvalidToken", err, ReasonTokenVerificationFailed)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.claim+" claim") || strings.Contains(msg, secret) {
				t.Errorf("message %q must name %q and not hold the value", msg, tt.claim)
			}
		})
	}
}

func TestParseClaimsRejectsMalformedJSON(t *testing.T) {
	for _, in := range []string{``, `null`, `[]`, `"x"`, `{"sub":"a"`, `{"sub":"a"}x`, `{"sub":"a","sub":"b"}`,
		`{"sub":"a","s\u0075b":"b"}`, `{"o":{"id":"a","id":"b"}}`, `{"act":{"sub":"a","sub":"b"}}`,
		"{\"sub\":\"\xff\"}", `{"sub":"\udc00"}`, `{"exp":01}`, `{"x":` + strings.Repeat(`[`, 40) + strings.Repeat(`]`, 40) + `}`} {
		_, err := parseClaims([]byte(in))
		if ReasonOf(err) != ReasonTokenInvalid || !errors.Is(err, ErrInvalidToken) {
			t.Errorf("parseClaims(%.50q) = %v; want reason %s", in, err, ReasonTokenInvalid)
		}
	}
}

func TestParseClaimsLenientClaims(t *testing.T) {
	tests := []struct {
		name, payload string
		check         func(c *Claims) bool
	}{
		{"sts null", `{"sts":null}`, func(c *Claims) bool { return c.SessionStatus == "" }},
		{"sts pending", `{"sts":"pending"}`, func(c *Claims) bool { return c.SessionStatus == SessionStatusPending }},
		{"act null", `{"act":null}`, func(c *Claims) bool { return c.Actor == nil }},
		{"act agent", `{"act":{"sub":"user_a","type":"agent","extra":[1]}}`,
			func(c *Claims) bool { return *c.Actor == Actor{Subject: "user_a", Type: "agent"} }},
		{"act null members", `{"act":{"sub":null,"type":null}}`, func(c *Claims) bool { return *c.Actor == Actor{} }},
		{"act empty", `{"act":{}}`, func(c *Claims) bool { return c.Actor != nil && *c.Actor == Actor{} }},
		{"fea trimmed", `{"fea":" o:a ,\tu:b,\u00a0ou:c\ufeff"}`,
			func(c *Claims) bool { return reflect.DeepEqual(c.Features, []string{"o:a", "u:b", "ou:c"}) }},
		{"fea empty", `{"fea":""}`, func(c *Claims) bool { return c.Features == nil }},
		{"fea mistyped", `{"fea":["o:a"],"pla":"u:free"}`,
			func(c *Claims) bool { return c.Features == nil && reflect.DeepEqual(c.Plans, []string{"u:free"}) }},
		{"fea empty elements kept", `{"fea":"o:a,,"}`,
			func(c *Claims) bool { return reflect.DeepEqual(c.Features, []string{"o:a", "", ""}) }},
		{"pla", `{"pla":"u:free,o:pro"}`, func(c *Claims) bool { return reflect.DeepEqual(c.Plans, []string{"u:free", "o:pro"}) }},
		{"features capacity", `{"fea":"o:a","pla":"u:b"}`, func(c *Claims) bool { return cap(c.Features) == 1 }},
		{"unknown claims of any type", `{"x":[{"y":null}],"email":"a@b","n":1e400}`, func(c *Claims) bool { return true }},
		{"escaped strings", `{"sub":"user_\u0031","iss":"https:\/\/x"}`,
			func(c *Claims) bool { return c.UserID == "user_1" && c.Issuer == "https://x" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c := mustParseClaims(t, tt.payload); !tt.check(c) {
				t.Fatalf("unexpected claims %+v", c)
			}
		})
	}
}

func TestParseClaimsFactorVerificationAge(t *testing.T) {
	tests := []struct {
		in   string
		want []int
	}{
		{`[5,-1]`, []int{5, -1}},
		{`[-1,-1]`, []int{-1, -1}},
		{`[0,0]`, []int{0, 0}},
		{`[1.0,2e1]`, []int{1, 20}},
		{`[5]`, nil},
		{`[]`, nil},
		{`[1,2,3]`, nil},
		{`["1",2]`, nil},
		{`[1.5,2]`, nil},
		{`[-2,0]`, nil},
		{`[1,9007199254740992]`, nil},
		{`[null,null]`, nil},
		{`null`, nil},
		{`"5,-1"`, nil},
		{`{"0":1}`, nil},
	}
	for _, tt := range tests {
		c := mustParseClaims(t, `{"fva":`+tt.in+`}`)
		if !reflect.DeepEqual(c.FactorVerificationAge, tt.want) {
			t.Errorf("fva %s = %v; want %v", tt.in, c.FactorVerificationAge, tt.want)
		}
	}
}

func TestParseClaimsRawAndDecode(t *testing.T) {
	payload := []byte(`{"sub":"user_1","metadata":{"tier":"gold"},"o":{"id":"org_1"}}`)
	c, err := parseClaims(payload)
	if err != nil {
		t.Fatal(err)
	}
	want := string(payload)
	for i := range payload {
		payload[i] = 'x' // the caller reuses its buffer
	}
	if string(c.Raw()) != want || c.UserID != "user_1" {
		t.Fatalf("Raw, UserID = %s, %q after the input changed", c.Raw(), c.UserID)
	}
	raw := c.Raw()
	raw[0] = '['
	if string(c.Raw()) != want {
		t.Error("modifying Raw's result changed the claims")
	}
	var custom struct {
		Metadata struct{ Tier string } `json:"metadata"`
	}
	if err := c.Decode(&custom); err != nil || custom.Metadata.Tier != "gold" {
		t.Errorf("Decode = %+v, %v", custom, err)
	}
}

func TestParseClaimsAllocations(t *testing.T) {
	payload := []byte(typicalV2Payload)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := parseClaims(payload); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 8 {
		t.Errorf("parseClaims of a typical v2 payload makes %v allocations; want at most 8", allocs)
	}
}

// FuzzParseClaims checks that parseClaims never panics, fails only with the
// two documented reasons, accepts only valid JSON, and yields claims that
// keep the package's invariants.
func FuzzParseClaims(f *testing.F) {
	seeds := []string{
		typicalV2Payload,
		`{"sub":"u","org_id":"o","org_role":"admin","org_permissions":["org:a:b"]}`,
		`{"v":2,"fea":"o:a,u:b,o:c","o":{"id":"o","rol":"org:x","per":"r,w","fpm":"3,0,1"}}`,
		`{"v":2,"fea":"u:b,o:a","o":{"id":"o","per":"r","fpm":"18446744073709551617,1"}}`,
		`{"v":2,"fea":"o:a,b","o":{"id":"o","per":"r","fpm":"1"}}`,
		`{"v":2,"fea":"o:a","o":{"id":"o","per":"r","fpm":"-1"}}`,
		`{"aud":["a","b"],"exp":1.5,"fva":[1,-1],"act":{"sub":"x"},"sts":"pending"}`,
		`{"sub":"a","sub":"b"}`, `{"exp":"1"}`, `{"a":"\ud800"}`, `{}`, `[]`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseClaims(data)
		if err != nil {
			if r := ReasonOf(err); r != ReasonTokenInvalid && r != ReasonTokenVerificationFailed {
				t.Fatalf("unexpected reason %q: %v", r, err)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		checkClaimsInvariants(t, c, data)
	})
}

func checkClaimsInvariants(t *testing.T, c *Claims, data []byte) {
	t.Helper()
	if string(c.Raw()) != string(data) {
		t.Fatalf("Raw() = %q; want the input", c.Raw())
	}
	if c.Version != 1 && c.Version != 2 {
		t.Fatalf("Version = %d", c.Version)
	}
	// encoding/json matches struct fields case-insensitively: use a map.
	var std map[string]any
	if err := json.Unmarshal(data, &std); err != nil {
		t.Fatalf("encoding/json rejects accepted claims: %v", err)
	}
	for claim, got := range map[string]string{"sub": c.UserID, "sid": c.SessionID, "iss": c.Issuer, "azp": c.AuthorizedParty} {
		if want, _ := std[claim].(string); got != want {
			t.Fatalf("%s = %q; encoding/json reads %q", claim, got, want)
		}
	}
	if fva := c.FactorVerificationAge; fva != nil && (len(fva) != 2 || fva[0] < -1 || fva[1] < -1) {
		t.Fatalf("FactorVerificationAge = %v", fva)
	}
	if c.Org == nil {
		return
	}
	if c.Org.ID == "" || (c.Org.Role != "" && !strings.HasPrefix(c.Org.Role, "org:")) ||
		strings.HasPrefix(c.Org.Role, "org:org:") {
		t.Fatalf("Org = %+v", c.Org)
	}
	for _, p := range c.Org.Permissions {
		if c.Version == 2 && !strings.HasPrefix(p, "org:") {
			t.Fatalf("v2 permission %q lacks the org: prefix", p)
		}
	}
}
