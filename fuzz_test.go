package clerkauth

import (
	"context"
	"strings"
	"testing"
)

// FuzzVerify feeds arbitrary tokens to a Verifier: it must never panic, and
// it may accept only tokens whose signed part is a genuine one.
func FuzzVerify(f *testing.F) {
	a, _, _ := testKeys(f)
	clock := newClock()
	v, err := NewVerifier(Config{JWTKey: pemOf(f, &a.PublicKey), PublishableKey: testPK, Now: clock.Now})
	if err != nil {
		f.Fatal(err)
	}
	valid := mint(f, a, stdHeader("ins_a"), stdClaims(clock.Now()))
	signed := valid[:strings.LastIndexByte(valid, '.')]
	f.Add(valid)
	f.Add(valid + "=")
	f.Add("a.b.c")
	f.Add("..")
	f.Add(strings.Repeat(".", 100))
	f.Add(b64json(f, map[string]any{"alg": "none"}) + "." + b64json(f, stdClaims(clock.Now())) + ".")
	f.Add(b64json(f, map[string]any{"alg": "RS256", "crit": []string{"x"}}) + "." + b64([]byte(`{"exp":1e999}`)) + ".AA")
	f.Add(b64([]byte(`{"alg":"RS256","alg":"none"}`)) + "." + b64([]byte(`{"sub":"a","sub":"b"}`)) + ".AA")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Verify(context.Background(), token)
		if err != nil {
			if c != nil {
				t.Fatal("claims returned with an error")
			}
			if ReasonOf(err) == "" {
				t.Fatalf("error without a reason: %v", err)
			}
			return
		}
		if !strings.HasPrefix(token, signed+".") {
			t.Fatalf("accepted a token whose signed part was altered")
		}
	})
}
