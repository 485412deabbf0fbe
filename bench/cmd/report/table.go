package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/clerkauth/clerkauth/bench"
)

type row struct {
	figure, value, allocs string
	ratios                [4]string // × limit, × clerk-sdk-go, × go-jwt-middleware, × golang-jwt
	target, verdict       string
}

type table struct{ rows []row }

// benchSpec describes one benchmark row: its peers are the verify or the
// middleware benchmarks of clerk-sdk-go, go-jwt-middleware and golang-jwt.
type benchSpec struct {
	name, label string
	middleware  bool
	// limit is the RSA limit benchmark of the row's token (default Limit);
	// peers, when set, replace the verify or middleware peers.
	limit  string
	peers  *[3]string
	target string
	check  func(r, limit bench.Result, all map[string]bench.Result) (bool, bool) // (pass, known)
}

var verifyPeers = [3]string{"ClerkSDKVerify", "Auth0Validator", "GolangJWT"}

// golang-jwt has no middleware: its middleware column compares with its
// ParseWithClaims.
var middlewarePeers = [3]string{"ClerkSDKMiddleware", "Auth0Middleware", "GolangJWT"}

// No peer verifies machine JWTs networklessly; for opaque tokens Clerk's
// SDK makes one Backend API call per request (clerk-sdk-go's m2m_token
// Verify, the only opaque verification of v2.4.2).
var (
	noPeers     = [3]string{}
	opaquePeers = [3]string{"ClerkSDKM2MVerify"}
)

func timesSessionWarm(max float64) func(r, _ bench.Result, all map[string]bench.Result) (bool, bool) {
	return func(r, _ bench.Result, all map[string]bench.Result) (bool, bool) {
		s, ok := all["MiddlewareWarm"]
		return r.NsPerOp <= max*s.NsPerOp, ok
	}
}

func warmLimit(r, limit bench.Result, _ map[string]bench.Result) (bool, bool) {
	return r.NsPerOp*50 <= limit.NsPerOp, limit.Runs > 0
}

func timesLimit(max float64) func(r, limit bench.Result, _ map[string]bench.Result) (bool, bool) {
	return func(r, limit bench.Result, _ map[string]bench.Result) (bool, bool) {
		return r.NsPerOp <= max*limit.NsPerOp, limit.Runs > 0
	}
}

func specs() []benchSpec {
	return []benchSpec{
		{name: "Limit", label: "RSA limit: b64 decode + SHA-256 + rsa.VerifyPKCS1v15"},
		{name: "VerifyCold", label: "clerkauth Verify cold (token cache off)", target: "≤ 1.20× limit", check: timesLimit(1.20)},
		{name: "VerifyColdMiss", label: "clerkauth Verify cold (distinct tokens, miss + insert)", target: "≤ 1.20× limit", check: timesLimit(1.20)},
		{name: "VerifyWarm", label: "clerkauth Verify warm (same token again)", target: "≤ 1/50 limit, ≤ 2 allocs",
			check: func(r, limit bench.Result, _ map[string]bench.Result) (bool, bool) {
				return r.NsPerOp*50 <= limit.NsPerOp && r.AllocsPerOp <= 2, limit.Runs > 0
			}},
		{name: "VerifyWarmParallel", label: "clerkauth Verify warm, RunParallel (2 cores)"},
		{name: "ClerkSDKVerify", label: "clerk-sdk-go v2 jwt.Verify (JWK in hand)"},
		{name: "Auth0Validator", label: "go-jwt-middleware v2 validator (static key)"},
		{name: "GolangJWT", label: "golang-jwt v5 ParseWithClaims (RS256 key)"},
		{name: "MiddlewareCold", label: "clerkauth middleware cold (cache off)", middleware: true, target: "≤ 1.30× limit", check: timesLimit(1.30)},
		{name: "MiddlewareWarm", label: "clerkauth middleware warm", middleware: true, target: "≥ 20× clerk-sdk-go mw throughput",
			check: func(r, _ bench.Result, all map[string]bench.Result) (bool, bool) {
				p, ok := all["ClerkSDKMiddleware"]
				return p.NsPerOp >= 20*r.NsPerOp, ok
			}},
		{name: "MiddlewareWarmSingleCore", label: "clerkauth middleware warm, GOMAXPROCS=1", middleware: true},
		{name: "MiddlewareWarmParallel", label: "clerkauth middleware warm, RunParallel (2 cores)", middleware: true,
			target: "≥ 1.6× single-core warm throughput",
			check: func(r, _ bench.Result, all map[string]bench.Result) (bool, bool) {
				s, ok := all["MiddlewareWarmSingleCore"]
				return s.NsPerOp >= 1.6*r.NsPerOp, ok
			}},
		{name: "ClerkSDKMiddleware", label: "clerk-sdk-go v2 WithHeaderAuthorization (loopback JWKS)", middleware: true},
		{name: "Auth0Middleware", label: "go-jwt-middleware v2 CheckJWT", middleware: true},
		{name: "LimitM2M", label: "RSA limit on the M2M JWT", peers: &noPeers},
		{name: "VerifyM2MCold", label: "clerkauth VerifyMachineToken, M2M JWT cold (cache off)", limit: "LimitM2M", peers: &noPeers,
			target: "≤ 1.20× limit", check: timesLimit(1.20)},
		{name: "VerifyM2MWarm", label: "clerkauth VerifyMachineToken, M2M JWT warm", limit: "LimitM2M", peers: &noPeers,
			target: "≤ 1/50 limit", check: warmLimit},
		{name: "LimitOAuth", label: "RSA limit on the OAuth JWT", peers: &noPeers},
		{name: "VerifyOAuthCold", label: "clerkauth VerifyMachineToken, OAuth JWT cold (cache off)", limit: "LimitOAuth", peers: &noPeers,
			target: "≤ 1.20× limit", check: timesLimit(1.20)},
		{name: "VerifyOAuthWarm", label: "clerkauth VerifyMachineToken, OAuth JWT warm", limit: "LimitOAuth", peers: &noPeers,
			target: "≤ 1/50 limit", check: warmLimit},
		{name: "MiddlewareAPIKeyWarm", label: "clerkauth middleware, API key (ak_) cached", middleware: true, peers: &opaquePeers,
			target: "≤ 2× session mw warm", check: timesSessionWarm(2)},
		{name: "MiddlewareOpaqueM2MWarm", label: "clerkauth middleware, opaque M2M token (mt_) cached", middleware: true, peers: &opaquePeers},
		{name: "ClerkSDKM2MVerify", label: "clerk-sdk-go v2 m2m_token.Verify: 1 Backend API call/request (loopback clerktest)", peers: &noPeers},
		{name: "TransportBare", label: "bare http.Transport GET, keep-alive loopback"},
		{name: "M2MTransport", label: "M2MTransport GET, cached token, same loopback", target: "≤ bare + 1 µs, + 2 allocs",
			check: func(r, _ bench.Result, all map[string]bench.Result) (bool, bool) {
				bare, ok := all["TransportBare"]
				return r.NsPerOp-bare.NsPerOp <= 1000 && r.AllocsPerOp-bare.AllocsPerOp <= 2, ok
			}},
	}
}

func (t *table) benchRows(res map[string]bench.Result) {
	for _, s := range specs() {
		r, ok := res[s.name]
		if !ok {
			t.rows = append(t.rows, row{figure: s.label, value: "not run", target: s.target, verdict: unknownIf(s.target)})
			continue
		}
		peers := verifyPeers
		if s.middleware {
			peers = middlewarePeers
		}
		if s.peers != nil {
			peers = *s.peers
		}
		limit := res["Limit"]
		if s.limit != "" {
			limit = res[s.limit]
		}
		rw := row{figure: s.label, value: fmt.Sprintf("%.0f ns/op (median %.0f)", r.NsPerOp, r.MedianNs), allocs: fmt.Sprintf("%.0f", r.AllocsPerOp), target: s.target}
		rw.ratios[0] = ratio(r, limit)
		for i, p := range peers {
			rw.ratios[i+1] = ratio(r, res[p])
		}
		if s.check != nil {
			rw.verdict = verdict(s.check(r, limit, res))
		}
		if s.name == "MiddlewareAPIKeyWarm" || s.name == "MiddlewareOpaqueM2MWarm" {
			rw.value += fmt.Sprintf(" (%.2f× session mw warm)", r.NsPerOp/res["MiddlewareWarm"].NsPerOp)
		}
		if s.name == "MiddlewareWarmParallel" {
			rw.value += fmt.Sprintf(" (%.2f× single-core)", res["MiddlewareWarmSingleCore"].NsPerOp/r.NsPerOp)
		}
		if s.name == "VerifyWarmParallel" {
			rw.value += fmt.Sprintf(" (%.2f× one goroutine)", res["VerifyWarm"].NsPerOp/r.NsPerOp)
		}
		if s.name == "M2MTransport" {
			bare := res["TransportBare"]
			rw.value += fmt.Sprintf(" (%.2f× bare, %+.0f ns, %+.0f allocs)", r.NsPerOp/bare.NsPerOp, r.NsPerOp-bare.NsPerOp, r.AllocsPerOp-bare.AllocsPerOp)
		}
		if s.name == "MiddlewareWarm" {
			rw.value += fmt.Sprintf(" (%.0f× clerk-sdk mw)", res["ClerkSDKMiddleware"].NsPerOp/r.NsPerOp)
		}
		t.rows = append(t.rows, rw)
	}
}

// adapterRows adds, for each framework, its adapter's warm path against
// the same framework without authentication (added ns, ratio) and against
// clerkauth's own net/http middleware, all from one run.
func (t *table) adapterRows(res map[string]bench.Result) {
	ref := res["AdapterNetHTTP/auth"]
	for _, fw := range []string{"NetHTTP", "Gin", "Echo", "Echo5", "Fiber"} {
		bare, auth := res["Adapter"+fw+"/bare"], res["Adapter"+fw+"/auth"]
		label := "adapter warm: " + strings.ToLower(fw) + " + clerkauth vs bare " + strings.ToLower(fw)
		if bare.Runs == 0 || auth.Runs == 0 {
			t.rows = append(t.rows, row{figure: label, value: "not run"})
			continue
		}
		t.rows = append(t.rows, row{
			figure: label,
			value: fmt.Sprintf("%.0f ns/op, +%.0f ns over bare (%s bare, %s net/http mw)",
				auth.NsPerOp, auth.NsPerOp-bare.NsPerOp, ratio(auth, bare), ratio(auth, ref)),
			allocs: fmt.Sprintf("%.0f (bare %.0f)", auth.AllocsPerOp, bare.AllocsPerOp),
		})
	}
}

func unknownIf(target string) string {
	if target == "" {
		return ""
	}
	return "n/a"
}

func ratio(r, base bench.Result) string {
	if base.Runs == 0 || base.NsPerOp == 0 {
		return "-"
	}
	x := r.NsPerOp / base.NsPerOp
	if x < 0.1 {
		return fmt.Sprintf("1/%.0f", 1/x)
	}
	return fmt.Sprintf("%.2f×", x)
}

func verdict(pass, known bool) string {
	switch {
	case !known:
		return "n/a"
	case pass:
		return "PASS"
	}
	return "MISS"
}

func (t *table) stormRows(rounds []bench.StormResult) {
	var fetches, allowed, forged, bad int64
	var quiet50, quiet99, storm50, storm99 []time.Duration
	for _, r := range rounds {
		fetches = max(fetches, r.StormFetches)
		allowed = max(allowed, r.AllowedFetches)
		forged += int64(r.ForgedSent)
		bad += int64(r.ForgedAccepted + r.ValidErrors)
		quiet50, quiet99 = append(quiet50, r.Quiet.P50), append(quiet99, r.Quiet.P99)
		storm50, storm99 = append(storm50, r.Storm.P50), append(storm99, r.Storm.P99)
	}
	t.rows = append(t.rows, row{
		figure: fmt.Sprintf("storm: JWKS fetches (%d forged random-kid tokens in %d rounds, cooldown %v)",
			forged, len(rounds), rounds[0].Cooldown),
		value: fmt.Sprintf("max %d fetch(es)/round", fetches), target: "≤ 1 per cooldown window",
		verdict: verdict(fetches <= allowed && bad == 0, true),
	})
	q99, s99 := medianDur(quiet99), medianDur(storm99)
	t.rows = append(t.rows, row{
		figure: "storm: valid-request latency, quiet vs storm (median of rounds)",
		value: fmt.Sprintf("p50 %v→%v, p99 %v→%v", round(medianDur(quiet50)), round(medianDur(storm50)),
			round(q99), round(s99)),
		target: "storm p99 ≤ 2× quiet p99", verdict: verdict(s99 <= 2*q99, q99 > 0),
	})
}

func (t *table) memoryRow(m bench.CacheMemory, n int) {
	t.rows = append(t.rows, row{
		figure:  fmt.Sprintf("heap per cached verified token (%d of %d cached)", m.Entries, n),
		value:   fmt.Sprintf("%.0f B/entry", m.BytesPerEntry),
		target:  "≤ 2048 B",
		verdict: verdict(m.BytesPerEntry <= 2048 && m.Entries == n, m.Entries > 0),
	})
}

func (t *table) loadRows(res []bench.LoadResult) {
	for _, l := range res {
		t.rows = append(t.rows, row{
			figure: fmt.Sprintf("load c=%d: protected vs unprotected (%v each, loopback)", l.Concurrency, l.Duration),
			value: fmt.Sprintf("%.0f vs %.0f req/s (median slice ratio %.2f×), p99 %v vs %v", l.ProtectedRPS, l.UnprotectedRPS,
				l.Ratio(), round(l.ProtectedP99), round(l.UnprotectedP99)),
			allocs: "", target: "≥ 0.8× unprotected",
			verdict: verdict(l.Ratio() >= 0.8 && l.Errors == 0, l.UnprotectedRPS > 0),
		})
	}
}

func medianDur(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	d = slices.Clone(d)
	slices.Sort(d)
	return d[len(d)/2]
}

func round(d time.Duration) time.Duration {
	switch {
	case d > time.Millisecond:
		return d.Round(10 * time.Microsecond)
	case d > time.Microsecond:
		return d.Round(100 * time.Nanosecond)
	}
	return d
}

func (t *table) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tns/op or value\tallocs/op\t× limit\t× clerk-sdk-go\t× go-jwt-mw\t× golang-jwt\ttarget\tresult")
	fmt.Fprintln(tw, strings.Repeat("-", 6)+"\t\t\t\t\t\t\t\t")
	pass, miss := 0, 0
	for _, r := range t.rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.figure, r.value, r.allocs,
			r.ratios[0], r.ratios[1], r.ratios[2], r.ratios[3], r.target, r.verdict)
		switch r.verdict {
		case "PASS":
			pass++
		case "MISS":
			miss++
		}
	}
	tw.Flush()
	fmt.Fprintln(w, "\nns/op is the fastest of the interleaved rounds (noise on a shared machine only adds time), the")
	fmt.Fprintln(w, "median follows. × columns: time per op of the row over the base (below 1 is faster). Peers are compared")
	fmt.Fprintln(w, "verify-to-verify and middleware-to-middleware (golang-jwt has no middleware: its ParseWithClaims).")
	fmt.Fprintf(w, "targets: %d PASS, %d MISS\n", pass, miss)
}

func (t *table) shareRows(res []bench.ShareResult) {
	for _, r := range res {
		value := fmt.Sprintf("%d call(s), then %d after the TTL; %d/%d answered 200", r.First, r.AfterTTL, r.OK, 2*r.Requests)
		if r.SDK >= 0 {
			value += fmt.Sprintf(" (clerk-sdk-go: %d calls)", r.SDK)
		} else {
			value += fmt.Sprintf(" (Clerk's SDKs: one per request, %d)", r.Requests)
		}
		t.rows = append(t.rows, row{
			figure: fmt.Sprintf("opaque %s: %d concurrent requests, one new token (calls counted by clerktest)", r.Kind, r.Requests),
			value:  value, target: "exactly 1 per token per TTL",
			verdict: verdict(r.First == 1 && r.AfterTTL == 1 && r.OK == 2*r.Requests, true),
		})
	}
}

func (t *table) floodRows(rounds, controls []bench.FloodResult) {
	var sent, accepted, validErrs, unavailable, refused int
	var calls, allowed, floodCalls []int
	var quiet99, flood99, quiet50, flood50 []time.Duration
	within := true
	for _, r := range rounds {
		sent, accepted, validErrs = sent+r.Sent, accepted+r.Accepted, validErrs+r.ValidErrors
		unavailable, refused = unavailable+r.Unavailable, refused+r.Refused
		calls, allowed, floodCalls = append(calls, r.Calls), append(allowed, r.Allowed), append(floodCalls, r.FloodCalls)
		within = within && r.Calls <= r.Allowed
		quiet50, quiet99 = append(quiet50, r.Quiet.P50), append(quiet99, r.Quiet.P99)
		flood50, flood99 = append(flood50, r.Flood.P50), append(flood99, r.Flood.P99)
	}
	r0 := rounds[0]
	t.rows = append(t.rows, row{
		figure: fmt.Sprintf("opaque flood: %d distinct random ak_ in %d rounds, verify calls per round (budget %g/s, burst %d)",
			sent, len(rounds), r0.Rate, r0.Burst),
		value: fmt.Sprintf("%v calls (%v during the flood) vs bound %v = burst + rate×t; %d accepted, %d answered 503, %d 401 (Clerk's SDKs: %d calls)",
			calls, floodCalls, allowed, accepted, unavailable, refused, sent),
		target:  "≤ burst + rate × t, none accepted",
		verdict: verdict(within && accepted == 0 && validErrs == 0, len(rounds) > 0),
	})
	q99, f99 := medianDur(quiet99), medianDur(flood99)
	t.rows = append(t.rows, row{
		figure: "opaque flood: valid (cached API key) request latency through the middleware, quiet vs flood (median of rounds)",
		value: fmt.Sprintf("p50 %v→%v, p99 %v→%v; %d valid requests failed", round(medianDur(quiet50)), round(medianDur(flood50)),
			round(q99), round(f99), validErrs),
		target: "flood p99 ≤ 2× quiet p99", verdict: verdict(f99 <= 2*q99 && validErrs == 0, q99 > 0),
	})
	var cq99, cf99 []time.Duration
	for _, c := range controls {
		cq99, cf99 = append(cq99, c.Quiet.P99), append(cf99, c.Flood.P99)
	}
	if len(controls) > 0 {
		c99 := medianDur(cf99)
		t.rows = append(t.rows, row{
			figure: "control: the same flood made of the cached valid keys (the load alone), valid p99 quiet vs flood",
			value: fmt.Sprintf("p99 %v→%v; random-key flood p99 / control flood p99 = %.2f×", round(medianDur(cq99)), round(c99),
				float64(f99)/float64(c99)),
		})
	}
}
