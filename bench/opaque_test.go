package bench

import (
	"context"
	"testing"
	"time"

	"github.com/clerkauth/clerkauth"
)

func newEnv(t *testing.T) *MachineEnv {
	t.Helper()
	e, err := NewMachineEnv(fx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// TestShareMakesOneCallPerTTL: 64 concurrent requests with one new opaque
// token cost one verify call at the instance, and one more once the TTL
// has passed; clerk-sdk-go makes one per request.
func TestShareMakesOneCallPerTTL(t *testing.T) {
	e := newEnv(t)
	for _, kind := range []clerkauth.TokenKind{clerkauth.TokenKindAPIKey, clerkauth.TokenKindM2M} {
		r, err := RunShare(context.Background(), e, kind, 64)
		if err != nil {
			t.Fatal(err)
		}
		if r.First != 1 || r.AfterTTL != 1 || r.OK != 128 {
			t.Errorf("%s: %+v; want one call per burst and every request answered 200", kind, r)
		}
		if kind == clerkauth.TokenKindM2M && r.SDK != 64 {
			t.Errorf("clerk-sdk-go made %d calls for 64 requests, want 64", r.SDK)
		}
	}
}

// TestOpaqueFloodStaysWithinBudget: random API keys never pass, valid
// cached keys keep working, and the instance sees no more calls than the
// documented burst + rate × elapsed. It uses as many valid keys as the
// report (16: more than the 15 new tokens the default budget admits at
// once), so the report's set-up is tested too.
func TestOpaqueFloodStaysWithinBudget(t *testing.T) {
	e := newEnv(t)
	r, err := RunOpaqueFlood(context.Background(), e, FloodOptions{
		ValidKeys: 16, ValidRequests: 200, ValidWorkers: 2,
		Random: 500, FloodWorkers: 2, MaxDuration: 10 * time.Second, CacheTTL: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case r.Sent != 500 || r.Accepted != 0:
		t.Errorf("sent %d random keys, %d accepted; want 500, 0", r.Sent, r.Accepted)
	case r.Refused+r.Unavailable != r.Sent:
		t.Errorf("random keys answered other than 401 or 503: %+v", r)
	case r.ValidErrors != 0:
		t.Errorf("%d valid requests failed during the flood", r.ValidErrors)
	case r.Calls > r.Allowed || r.Calls < 4:
		t.Errorf("%d verify calls in %v; want the 4 valid keys' and at most %d", r.Calls, r.Elapsed, r.Allowed)
	case r.Unavailable == 0:
		t.Errorf("no random key was answered 503: the budget was not reached: %+v", r)
	}
	if r.Quiet.N != 200 || r.Flood.N != 200 {
		t.Errorf("latency samples %d and %d, want 200 each", r.Quiet.N, r.Flood.N)
	}
}

// TestFloodOutlastingTheCacheTTL shows that a valid key whose cache entry
// ends during a flood that keeps the budget spent is still verified: its
// renewal takes the part of the budget the flood cannot touch (the reserve
// kept for tokens Clerk confirmed before).
func TestFloodOutlastingTheCacheTTL(t *testing.T) {
	e := newEnv(t)
	r, err := RunOpaqueFlood(context.Background(), e, FloodOptions{
		ValidKeys: 2, ValidRequests: 200, ValidWorkers: 2, ValidRate: 100,
		Random: 10000, FloodWorkers: 2, FloodRate: 5000, MaxDuration: 10 * time.Second, CacheTTL: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Accepted != 0 || r.Calls > r.Allowed {
		t.Errorf("%d random keys accepted, %d calls (bound %d)", r.Accepted, r.Calls, r.Allowed)
	}
	if r.ValidErrors != 0 {
		t.Errorf("valid keys failed during a 2 s flood with a 1 s cache TTL: their renewals did not get the reserve: %+v", r)
	}
}
