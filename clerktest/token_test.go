package clerktest_test

import (
	"crypto/x509"
	"encoding/json"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clerkauth/clerkauth/clerktest"
)

// decodeOrgPermissions is Clerk's reference fpm decoding (§4.3): fpm is
// indexed by position among the org-scoped features of fea.
func decodeOrgPermissions(fea, per, fpm string) []string {
	perms := strings.Split(per, ",")
	masks := strings.Split(fpm, ",")
	var orgFeatures []string
	for _, f := range strings.Split(fea, ",") {
		scope, name, _ := strings.Cut(strings.TrimSpace(f), ":")
		if scope == "o" || scope == "ou" || scope == "uo" {
			orgFeatures = append(orgFeatures, name)
		}
	}
	var out []string
	for i, f := range orgFeatures {
		if i >= len(masks) {
			break
		}
		m, ok := new(big.Int).SetString(strings.TrimSpace(masks[i]), 10)
		if !ok {
			return nil
		}
		for j := 0; j < len(perms); j++ {
			if m.Bit(j) == 1 {
				out = append(out, "org:"+f+":"+perms[j])
			}
		}
	}
	return out
}

func TestTokenV2Claims(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	perms := []string{"org:dashboard:manage", "org:dashboard:read", "org:teams:read", "org:sys_memberships:read"}
	sess := srv.CreateSession(clerktest.SessionParams{
		Org: &clerktest.OrgMembership{ID: "org_1", Slug: "acme", Role: "org:admin",
			Permissions: perms, Features: []string{"impersonation"}},
		UserFeatures:    []string{"beta", "dashboard"},
		Plans:           []string{"free", "o:pro"},
		FactorAge:       &[2]int{3, 7},
		Actor:           &clerktest.Actor{Subject: "user_imp", Issuer: "https://dashboard.clerk.com", SessionID: "sess_imp"},
		AuthorizedParty: "https://app.example",
		Claims:          map[string]any{"tenant": "t1"},
	})
	h, p := verify(t, srv, srv.MustToken(sess.ID))
	equal(t, h, map[string]any{"alg": "RS256", "kid": srv.KeyID(), "typ": "JWT", "cat": "cl_B7d4PD111AAA"})
	equal(t, p["v"], json.Number("2"))
	equal(t, p["iss"], srv.Issuer())
	equal(t, p["sub"], sess.UserID)
	equal(t, p["sid"], sess.ID)
	equal(t, p["azp"], "https://app.example")
	equal(t, p["sts"], "active")
	equal(t, p["fva"], []any{json.Number("3"), json.Number("7")})
	equal(t, p["pla"], "u:free,o:pro")
	equal(t, p["tenant"], "t1")
	equal(t, p["act"], map[string]any{"sub": "user_imp", "iss": "https://dashboard.clerk.com", "sid": "sess_imp"})
	isTrue(t, regexp.MustCompile(`^[0-9a-z]{20}$`).MatchString(p["jti"].(string)), "jti %v", p["jti"])
	equal(t, num(t, p["nbf"]), num(t, p["iat"])-10)
	// Organization features first, ou when the user has the feature too.
	equal(t, p["fea"], "o:impersonation,ou:dashboard,o:teams,u:beta")
	o := p["o"].(map[string]any)
	equal(t, o["id"], "org_1")
	equal(t, o["slg"], "acme")
	equal(t, o["rol"], "admin")
	equal(t, o["per"], "manage,read")
	equal(t, o["fpm"], "0,3,2")
	got := decodeOrgPermissions(p["fea"].(string), o["per"].(string), o["fpm"].(string))
	want := slices.DeleteFunc(slices.Clone(perms), func(s string) bool { return strings.Contains(s, ":sys_") })
	slices.Sort(got)
	slices.Sort(want)
	equal(t, got, want)
}

func TestTokenV2ManyPermissions(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	var perms []string
	for i := range 70 { // more than 64 permission names need big masks
		perms = append(perms, "org:big:p"+strings.Repeat("x", i/26)+string(rune('a'+i%26)))
	}
	sess := srv.CreateSession(clerktest.SessionParams{Org: &clerktest.OrgMembership{Permissions: perms}})
	_, p := verify(t, srv, srv.MustToken(sess.ID))
	o := p["o"].(map[string]any)
	equal(t, o["rol"], "member")
	got := decodeOrgPermissions(p["fea"].(string), o["per"].(string), o["fpm"].(string))
	slices.Sort(got)
	slices.Sort(perms)
	equal(t, got, perms)
	want := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 70), big.NewInt(1))
	equal(t, o["fpm"], want.String())
}

func TestTokenWithoutOrg(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	sess := srv.CreateSession(clerktest.SessionParams{})
	_, p := verify(t, srv, srv.MustToken(sess.ID))
	for _, c := range []string{"o", "fea", "pla", "azp", "act", "org_id"} {
		_, ok := p[c]
		isTrue(t, !ok, "claim %s present", c)
	}
	equal(t, p["fva"], []any{json.Number("0"), json.Number("-1")})
}

func TestTokenV1Claims(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	sess := srv.CreateSession(clerktest.SessionParams{Org: &clerktest.OrgMembership{ID: "org_1", Slug: "acme", Role: "admin",
		Permissions: []string{"org:dashboard:read", "org:sys_profile:manage"}}})
	h, p := verify(t, srv, srv.MustToken(sess.ID, clerktest.WithVersion(1)))
	equal(t, h["cat"], clerktest.CategorySession)
	equal(t, p["org_id"], "org_1")
	equal(t, p["org_slug"], "acme")
	equal(t, p["org_role"], "org:admin")
	equal(t, p["org_permissions"], []any{"org:dashboard:read"})
	for _, c := range []string{"v", "o", "fea", "sts", "jti"} {
		_, ok := p[c]
		isTrue(t, !ok, "v1 claim %s present", c)
	}
	_, err := srv.Token(sess.ID, clerktest.WithVersion(3))
	isTrue(t, err != nil, "version 3 should fail")
}

func TestTokenOptions(t *testing.T) {
	srv := newServer(t, clerktest.Config{TokenLifetime: 5 * time.Minute})
	sess := srv.CreateSession(clerktest.SessionParams{AuthorizedParty: "https://a.example"})
	at := mustTime(t, "2029-02-03T04:05:06Z")
	h, p := verify(t, srv, srv.MustToken(sess.ID,
		clerktest.WithIssuedAt(at), clerktest.WithAuthorizedParty("https://b.example"),
		clerktest.WithClaims(map[string]any{"extra": true, "sub": "user_other"}),
		clerktest.WithoutClaims("sid"), clerktest.WithHeader(map[string]any{"typ": nil, "x": "y"})))
	equal(t, num(t, p["iat"]), at.Unix())
	equal(t, num(t, p["exp"]), at.Unix()+300)
	equal(t, p["azp"], "https://b.example")
	equal(t, p["extra"], true)
	equal(t, p["sub"], "user_other")
	_, hasSID := p["sid"]
	isTrue(t, !hasSID, "sid removed")
	_, hasTyp := h["typ"]
	isTrue(t, !hasTyp && h["x"] == "y", "header overrides %v", h)

	_, p = verify(t, srv, srv.MustToken(sess.ID, clerktest.WithLifetime(time.Hour), clerktest.WithAuthorizedParty("")))
	equal(t, num(t, p["exp"])-num(t, p["iat"]), int64(3600))
	_, hasAZP := p["azp"]
	isTrue(t, !hasAZP, "azp removed")

	// A hostile kid in the header still gets signed by the current key.
	tok := srv.MustToken(sess.ID, clerktest.WithHeader(map[string]any{"kid": "ins_unknown"}))
	equal(t, decodePart(t, strings.Split(tok, ".")[0])["kid"], "ins_unknown")

	_, err := srv.Token("sess_missing")
	isTrue(t, err != nil, "unknown session")
	_, err = srv.Token(sess.ID, clerktest.WithTemplate("missing"))
	isTrue(t, err != nil, "unknown template")
	header, payload, err := srv.SessionClaims(sess.ID)
	noErr(t, err)
	equal(t, header["kid"], srv.KeyID())
	equal(t, payload["sid"], sess.ID)
	verify(t, srv, srv.Mint(header, payload, nil))
}

func TestMustTokenPanics(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	defer func() { isTrue(t, recover() != nil, "MustToken did not panic") }()
	srv.MustToken("sess_missing")
}

func TestCreateSessionPanicsOnBadParams(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	for name, p := range map[string]clerktest.SessionParams{
		"status":     {Status: "sleeping"},
		"permission": {Org: &clerktest.OrgMembership{Permissions: []string{"manage"}}},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() { isTrue(t, recover() != nil, "CreateSession did not panic") }()
			srv.CreateSession(p)
		})
	}
}

func TestMintHostile(t *testing.T) {
	srv := newServer(t, clerktest.Config{})
	payload := map[string]any{"sub": "user_x"}

	none := srv.Mint(map[string]any{"alg": "none"}, payload, clerktest.NoneSigner())
	isTrue(t, strings.HasSuffix(none, "."), "alg none token %q", none)
	equal(t, decodePart(t, strings.Split(none, ".")[0]), map[string]any{"alg": "none"})

	pubDER, err := x509.MarshalPKIXPublicKey(&testKey.PublicKey)
	noErr(t, err)
	hs := srv.Mint(map[string]any{"alg": "HS256", "kid": srv.KeyID()}, payload, clerktest.HMACSigner(pubDER, "HS256"))
	equal(t, len(strings.Split(hs, ".")[2]), 43) // 32-byte MAC

	for _, alg := range []string{"RS384", "RS512", "PS256"} {
		tok := srv.Mint(map[string]any{"alg": alg}, payload, clerktest.RSASigner(testKey, alg))
		equal(t, len(strings.Split(tok, ".")[2]), 342, alg)
	}
	raw := srv.Mint(nil, nil, clerktest.RawSignature([]byte{1, 2, 3}))
	equal(t, strings.Split(raw, ".")[1:], []string{"e30", "AQID"})

	equal(t, clerktest.RawToken([]byte("{"), []byte("not json"), nil), "ew.bm90IGpzb24.")

	// The default header and signer give a token that verifies.
	verify(t, srv, srv.Mint(nil, payload, nil))

	defer func() { isTrue(t, recover() != nil, "RSASigner accepted HS256") }()
	clerktest.RSASigner(testKey, "HS256")
}
