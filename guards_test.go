package clerkauth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func guardClaims() *Claims {
	return &Claims{
		UserID: "user_1", SessionID: "sess_1",
		Org:                   &Organization{ID: "org_1", Role: "org:admin", Permissions: []string{"org:invoices:create"}},
		Features:              []string{"o:dashboard"},
		Plans:                 []string{"o:pro"},
		FactorVerificationAge: []int{30, -1},
	}
}

func TestGuards(t *testing.T) {
	strict := Reverification{Level: ReverificationSecondFactor, AfterMinutes: 10}
	lax := Reverification{Level: ReverificationSecondFactor, AfterMinutes: 1440}
	tests := []struct {
		name       string
		guard      func(http.Handler) http.Handler
		claims     *Claims
		wantStatus int
	}{
		{"permission held", RequirePermission("org:invoices:create"), guardClaims(), 200},
		{"permission without prefix", RequirePermission("invoices:create"), guardClaims(), 200},
		{"permission missing", RequirePermission("org:invoices:delete"), guardClaims(), 403},
		{"role held", RequireRole("admin"), guardClaims(), 200},
		{"role missing", RequireRole("org:owner"), guardClaims(), 403},
		{"feature held", RequireFeature("o:dashboard"), guardClaims(), 200},
		{"feature missing", RequireFeature("o:billing"), guardClaims(), 403},
		{"plan held", RequirePlan("o:pro"), guardClaims(), 200},
		{"plan missing", RequirePlan("o:enterprise"), guardClaims(), 403},
		{"reverification fresh enough", RequireReverification(lax), guardClaims(), 200},
		{"reverification too old", RequireReverification(strict), guardClaims(), 403},
		{"no session", RequirePermission("org:invoices:create"), nil, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r = r.WithContext(ContextWithSession(r.Context(), tt.claims))
			rec := serve(tt.guard(whoami), r)
			require.Equal(t, tt.wantStatus, rec.Code, rec.Body.String())
			switch tt.wantStatus {
			case 200:
				assert.Equal(t, "user_1", rec.Body.String())
			case 401:
				assert.Equal(t, `Bearer realm="api"`, rec.Header().Get("WWW-Authenticate"))
			case 403:
				assert.Contains(t, rec.Header().Get("WWW-Authenticate"), `error="insufficient_scope"`)
				assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
			}
		})
	}
}

func TestGuardBodies(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r = r.WithContext(ContextWithSession(r.Context(), guardClaims()))

	rec := serve(RequirePermission("org:invoices:delete")(whoami), r)
	assert.Equal(t, `Bearer realm="api", error="insufficient_scope", error_description="the session does not meet the route's requirements"`,
		rec.Header().Get("WWW-Authenticate"))
	assert.Equal(t, string(ReasonInsufficientScope), reasonOf(t, rec))

	rec = serve(RequireReverification(Reverification{Level: ReverificationSecondFactor, AfterMinutes: 10})(whoami), r)
	require.Equal(t, 403, rec.Code)
	assert.JSONEq(t, `{"clerk_error":{"type":"forbidden","reason":"reverification-error",
		"metadata":{"reverification":{"level":"second_factor","afterMinutes":10}}}}`, rec.Body.String())
}

func TestGuardsUseTheMiddlewaresErrorHandler(t *testing.T) {
	e := newMWEnv(t)
	var got error
	m := e.middleware(MiddlewareOptions{Realm: "shop", ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		got = err
		DefaultErrorHandler("shop")(w, r, err)
	}})
	h := m.Handler(RequirePermission("org:invoices:create")(whoami))
	rec := serve(h, bearerRequest(e.token()))
	assert.Equal(t, 403, rec.Code, "stdClaims hold no organization")
	assert.Contains(t, rec.Header().Get("WWW-Authenticate"), `realm="shop"`)
	var fe *ForbiddenError
	require.ErrorAs(t, got, &fe)
	assert.Equal(t, "org:invoices:create", fe.Check.Permission)
	assert.ErrorIs(t, got, ErrForbidden)

}

func TestGuardWithoutMiddleware(t *testing.T) {
	rec := serve(RequireRole("admin")(whoami), httptest.NewRequest("GET", "/", nil).WithContext(context.Background()))
	assert.Equal(t, 401, rec.Code)
	assert.Equal(t, string(ReasonTokenMissing), reasonOf(t, rec))
}
