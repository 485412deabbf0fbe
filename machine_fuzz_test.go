package clerkauth

import (
	"context"
	"strings"
	"testing"
)

// FuzzClassifyToken feeds arbitrary strings to the token classifier and to
// machine token verification (PEM key, no Backend API): nothing panics,
// the classification is consistent with the token's shape, and no string
// but a genuine signed token verifies.
func FuzzClassifyToken(f *testing.F) {
	a, _, _ := testKeys(f)
	clock := newClock()
	v, err := NewVerifier(Config{JWTKey: pemOf(f, &a.PublicKey), PublishableKey: testPK, Now: clock.Now})
	if err != nil {
		f.Fatal(err)
	}
	m2m := mint(f, a, with(m2mHeader(), "kid", nil), m2mClaims(clock.Now()))
	oauth := mint(f, a, with(oauthHeader(), "kid", nil), oauthClaims(clock.Now()))
	for _, s := range []string{m2m, oauth, "mt_x", "oat_x", "ak_x", "mt_a.b.c", "a.b.c", "..", "ak_", "",
		b64([]byte(`{"alg":"RS256","typ":"at+jwt"}`)) + "." + b64([]byte(`{"sub":"mch_1"}`)) + ".AA",
		b64([]byte(`{"cat":1}`)) + "." + b64([]byte(`{"sub":["mch_"]}`)) + ".AA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		c := classifyToken(token)
		if c.jwt && strings.Count(token, ".") != 2 {
			t.Fatalf("a JWT class for a token with %d dots", strings.Count(token, "."))
		}
		if !c.jwt && !c.malformed && c.kind != TokenKindSession {
			prefix := map[TokenKind]string{TokenKindM2M: prefixM2M, TokenKindOAuth: prefixOAuth, TokenKindAPIKey: prefixAPIKey}[c.kind]
			if !strings.HasPrefix(token, prefix) {
				t.Fatalf("opaque %s without its prefix", c.kind)
			}
		}
		mt, err := v.VerifyMachineToken(context.Background(), token)
		if err != nil {
			if mt != nil || ReasonOf(err) == "" {
				t.Fatalf("bad error: %v", err)
			}
			return
		}
		if token != m2m && token != oauth {
			t.Fatalf("accepted a token that was not minted: %q", token)
		}
	})
}
