package conformance

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/clerkauth/clerkauth"
)

// TestSessionFixture checks what the adapters' tests rely on: the token
// is the user's, valid for an hour of the instance's clock and no longer,
// and Middleware passes its options on.
func TestSessionFixture(t *testing.T) {
	f := NewSessionFixture(t, "user_fixture")
	c, err := f.V.Verify(t.Context(), f.Token)
	if err != nil || c.UserID != "user_fixture" || f.UserID != "user_fixture" {
		t.Fatalf("Verify: %v, %+v; UserID %q", err, c, f.UserID)
	}

	m := f.Middleware(t, clerkauth.MiddlewareOptions{Realm: "fixture"})
	rec := httptest.NewRecorder()
	m.Handler(Handler()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, PrivatePath, nil))
	if got := rec.Header().Get("WWW-Authenticate"); rec.Code != http.StatusUnauthorized || got != `Bearer realm="fixture"` {
		t.Errorf("no token: %d, WWW-Authenticate %q", rec.Code, got)
	}

	f.Srv.Clock().Advance(59 * time.Minute)
	if _, err := f.V.Verify(t.Context(), f.Token); err != nil {
		t.Errorf("59 minutes on: %v", err)
	}
	f.Srv.Clock().Advance(2 * time.Minute)
	if _, err := f.V.Verify(t.Context(), f.Token); !errors.Is(err, clerkauth.ErrTokenExpired) {
		t.Errorf("61 minutes on: %v; want ErrTokenExpired", err)
	}
}

// TestMachineFixture checks the machine fixture's credentials as the
// Verifier reads them, and that Middleware accepts M2M tokens and API
// keys whatever AcceptsToken it was given.
func TestMachineFixture(t *testing.T) {
	const user = "user_fixture00000000000000000000" // user_ and 27 word characters
	f := NewMachineFixture(t, user, "fixture-caller")
	for _, tc := range []struct {
		name, token string
		kind        clerkauth.TokenKind
		subject     string
		scopes      []string
	}{
		{"M2M", f.M2M, clerkauth.TokenKindM2M, f.MachineID, nil},
		{"API key", f.Key, clerkauth.TokenKindAPIKey, user, []string{MachineFixtureScope}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mt, err := f.V.VerifyMachineToken(t.Context(), tc.token)
			if err != nil {
				t.Fatal(err)
			}
			if mt.Kind != tc.kind || mt.Subject != tc.subject || (tc.scopes != nil && !slices.Equal(mt.Scopes, tc.scopes)) {
				t.Errorf("%s %s %q; want %s %s %q", mt.Kind, mt.Subject, mt.Scopes, tc.kind, tc.subject, tc.scopes)
			}
		})
	}
	if f.UserID != user || f.MachineID == "" {
		t.Errorf("UserID %q, MachineID %q", f.UserID, f.MachineID)
	}

	m := f.Middleware(t, clerkauth.MiddlewareOptions{AcceptsToken: []clerkauth.TokenKind{clerkauth.TokenKindSession}})
	h := m.Handler(MachineHandler())
	for _, tok := range []string{f.M2M, f.Key} {
		r := httptest.NewRequest(http.MethodGet, MachinePath, nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			t.Errorf("%.6s…: %d %q", tok, rec.Code, rec.Body)
		}
	}
}
