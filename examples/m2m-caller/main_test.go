package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerktest"
)

// billingStandIn is an internal API that accepts an opaque M2M token only
// when Clerk verifies it with the billing machine's own secret key, which
// succeeds only for tokens of machines scoped to billing. (When clerkauth's
// machine-token middleware is on main, the m2m-api example replaces it.)
func billingStandIn(t *testing.T, clerk *clerktest.Server, billing *clerktest.Machine) *httptest.Server {
	t.Helper()
	deny := clerkauth.DefaultErrorHandler("billing")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			deny(w, r, clerkauth.ErrNoToken)
			return
		}
		body, _ := json.Marshal(map[string]string{"token": token})
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, clerk.URL()+"/m2m_tokens/verify", strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+billing.SecretKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := clerk.Client().Do(req)
		if err != nil {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			deny(w, r, &clerkauth.VerificationError{Reason: clerkauth.ReasonTokenInvalid, Message: "token refused"})
			return
		}
		w.Write([]byte(`{"invoices":[]}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestCallerAgainstBilling(t *testing.T) {
	clerk := clerktest.NewServer(clerktest.Config{})
	defer clerk.Close()
	clerk.Clock().Set(time.Unix(1_800_000_000, 0))
	billing := clerk.CreateMachine(clerktest.MachineParams{Name: "billing"})
	gateway := clerk.CreateMachine(clerktest.MachineParams{Name: "gateway", ScopedMachines: []string{billing.ID}})
	stranger := clerk.CreateMachine(clerktest.MachineParams{Name: "stranger"})
	api := billingStandIn(t, clerk, billing)
	ctx := context.Background()

	config := func(m *clerktest.Machine) clerkauth.M2MConfig {
		return clerkauth.M2MConfig{MachineSecretKey: m.SecretKey, APIURL: clerk.APIURL(), Now: clerk.Clock().Now,
			Format: clerkauth.M2MFormatOpaque, Lifetime: 2 * time.Minute}
	}

	t.Run("allowed machine", func(t *testing.T) {
		client, stop, err := newBillingClient(config(gateway), api.URL)
		require.NoError(t, err)
		defer stop()
		clerk.ResetRequests()
		for range 5 {
			body, err := fetch(ctx, client, api.URL+"/invoices")
			require.NoError(t, err)
			assert.JSONEq(t, `{"invoices":[]}`, body)
		}
		assert.Equal(t, 1, clerk.Requests(clerktest.EndpointM2MCreate), "one token for every request")

		// Across an expiry the caller renews without a failed request.
		clerk.Clock().Advance(3 * time.Minute)
		body, err := fetch(ctx, client, api.URL+"/invoices")
		require.NoError(t, err)
		assert.JSONEq(t, `{"invoices":[]}`, body)
		assert.Equal(t, 2, clerk.Requests(clerktest.EndpointM2MCreate))
		assert.Equal(t, 6, clerk.Requests(clerktest.EndpointM2MVerify), "no request was refused")
	})

	t.Run("machine without scope", func(t *testing.T) {
		client, stop, err := newBillingClient(config(stranger), api.URL)
		require.NoError(t, err)
		defer stop()
		_, err = fetch(ctx, client, api.URL+"/invoices")
		var se *statusError
		require.True(t, errors.As(err, &se), "got %v", err)
		assert.Equal(t, http.StatusUnauthorized, se.code)
	})

	t.Run("missing key", func(t *testing.T) {
		_, _, err := newBillingClient(clerkauth.M2MConfig{APIURL: clerk.APIURL()}, api.URL)
		require.ErrorIs(t, err, clerkauth.ErrInvalidConfig)
		assert.Contains(t, err.Error(), "CLERK_MACHINE_SECRET_KEY")
	})
}
