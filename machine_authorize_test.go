package clerkauth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

// ginLike is a framework context that does not reach the request's
// context but answers ContextKey from its own store, as *gin.Context and
// fiber.Ctx do with the clerkgin and clerkfiber adapters.
type ginLike struct {
	context.Context
	keys map[any]any
}

func (c *ginLike) Value(key any) any {
	if v, ok := c.keys[key]; ok {
		return v
	}
	return c.Context.Value(key)
}

// TestAuthorizeMachine is the verdict every transport's machine guards
// answer with: 401 without a token, 403 for a session or a token failing
// the check, and fail-closed for lists that are set but empty.
func TestAuthorizeMachine(t *testing.T) {
	m2m := &MachineToken{Kind: TokenKindM2M, Subject: testMachine, Scopes: []string{testTarget}}
	orgKey := &MachineToken{Kind: TokenKindAPIKey, Subject: "org_1", Scopes: []string{"read:users", "write:users"}}
	userKey := &MachineToken{Kind: TokenKindAPIKey, Subject: "user_1", Scopes: []string{"read:users"}}
	session := ContextWithSession(context.Background(), &Claims{UserID: "user_1"})
	withToken := func(mt *MachineToken) context.Context { return ContextWithMachineToken(context.Background(), mt) }
	cases := []struct {
		name  string
		ctx   context.Context
		check MachineCheck
		want  error  // nil, ErrNoToken or ErrForbidden
		msg   string // the refusal, for ErrForbidden
	}{
		{"zero check, M2M", withToken(m2m), MachineCheck{}, nil, ""},
		{"zero check, API key", withToken(userKey), MachineCheck{}, nil, ""},
		{"zero check, session", session, MachineCheck{}, ErrForbidden, refusalKind},
		{"zero check, signed out", ContextWithSession(context.Background(), nil), MachineCheck{}, ErrNoToken, ""},
		{"no middleware", context.Background(), MachineCheck{Scopes: []string{"x"}}, ErrNoToken, ""},
		{"scopes held", withToken(orgKey), MachineCheck{Scopes: []string{"write:users", "read:users"}}, nil, ""},
		{"scope missing", withToken(userKey), MachineCheck{Scopes: []string{"read:users", "write:users"}}, ErrForbidden, refusalScope},
		{"scopes, session", session, MachineCheck{Scopes: []string{"read:users"}}, ErrForbidden, refusalScope},
		{"machine allowed", withToken(m2m), MachineCheck{Machines: []string{testTarget, testMachine}}, nil, ""},
		{"machine not allowed", withToken(m2m), MachineCheck{Machines: []string{testTarget}}, ErrForbidden, refusalMachine},
		{"machine: an API key of the machine", withToken(&MachineToken{Kind: TokenKindAPIKey, Subject: testMachine}), MachineCheck{Machines: []string{testMachine}}, ErrForbidden, refusalMachine},
		{"machine, session", session, MachineCheck{Machines: []string{testMachine}}, ErrForbidden, refusalMachine},
		{"empty machine list allows none", withToken(m2m), MachineCheck{Machines: []string{}}, ErrForbidden, refusalMachine},
		{"owner allowed", withToken(orgKey), MachineCheck{APIKeyOwners: []OwnerKind{OwnerOrganization}}, nil, ""},
		{"owner refused", withToken(userKey), MachineCheck{APIKeyOwners: []OwnerKind{OwnerOrganization}}, ErrForbidden, refusalOwner},
		{"owner unknown never matches", withToken(&MachineToken{Kind: TokenKindAPIKey, Subject: "scim_1"}), MachineCheck{APIKeyOwners: []OwnerKind{OwnerUnknown}}, ErrForbidden, refusalOwner},
		{"empty owner list allows none", withToken(orgKey), MachineCheck{APIKeyOwners: []OwnerKind{}}, ErrForbidden, refusalOwner},
		{"owner and scope, scope missing", withToken(orgKey), MachineCheck{APIKeyOwners: []OwnerKind{OwnerOrganization}, Scopes: []string{"admin"}}, ErrForbidden, refusalScope},
		{"machines and owners allow nothing", withToken(m2m), MachineCheck{Machines: []string{testMachine}, APIKeyOwners: []OwnerKind{OwnerMachine}}, ErrForbidden, refusalOwner},
		{"through ContextKey", &ginLike{Context: context.Background(), keys: map[any]any{ContextKey: withToken(m2m)}}, MachineCheck{Machines: []string{testMachine}}, nil, ""},
		{"through ContextKey, refused", &ginLike{Context: context.Background(), keys: map[any]any{ContextKey: withToken(m2m)}}, MachineCheck{Scopes: []string{"x"}}, ErrForbidden, refusalScope},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := AuthorizeMachine(tc.ctx, tc.check)
			if tc.want == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tc.want)
			rep := RenderError("", err)
			if tc.want == ErrForbidden {
				assert.Equal(t, 403, rep.Status)
				var me *middlewareError
				if assert.True(t, errors.As(err, &me)) {
					assert.Equal(t, tc.msg, me.msg)
				}
				return
			}
			assert.Equal(t, 401, rep.Status)
		})
	}
}

// TestMachineGuardsCloneArguments checks that the guards clone their
// arguments: changing the caller's slice afterwards changes nothing.
func TestMachineGuardsCloneArguments(t *testing.T) {
	ids := []string{testMachine}
	guard := RequireMachine(ids...)
	ids[0] = testTarget
	ctx := ContextWithMachineToken(context.Background(), &MachineToken{Kind: TokenKindM2M, Subject: testMachine})
	h := guard(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	rec := serve(h, httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx))
	assert.Equal(t, http.StatusNoContent, rec.Code, "the guard kept the caller's slice")
}
