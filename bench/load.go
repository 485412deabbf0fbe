package bench

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// LoadResult is one concurrency level of the loopback load test: the same
// server's protected and unprotected endpoints, each driven for the same
// time by the same number of connections.
type LoadResult struct {
	Concurrency    int           `json:"concurrency"`
	Duration       time.Duration `json:"duration"`
	UnprotectedRPS float64       `json:"unprotected_rps"`
	ProtectedRPS   float64       `json:"protected_rps"`
	UnprotectedP99 time.Duration `json:"unprotected_p99"`
	ProtectedP99   time.Duration `json:"protected_p99"`
	Errors         int64         `json:"errors"`
	// SliceRatio is the median, over the alternating slices, of protected
	// over unprotected throughput in back-to-back slices: a neighbour's
	// burst on a shared machine spoils one slice, not the figure.
	SliceRatio float64 `json:"slice_ratio"`
}

// Ratio is protected over unprotected throughput: SliceRatio when known.
func (l LoadResult) Ratio() float64 {
	switch {
	case l.SliceRatio > 0:
		return l.SliceRatio
	case l.UnprotectedRPS == 0:
		return 0
	}
	return l.ProtectedRPS / l.UnprotectedRPS
}

// RunLoad serves an unprotected and a protected endpoint (clerkauth's
// middleware, warm token cache) from one loopback server and drives each
// in turn, for d, at each concurrency level, with keep-alive connections
// sending the tokens round-robin. Both endpoints get the same requests,
// Authorization header included, so the difference is the middleware's
// work and not the kilobyte of header a token adds to every request. It is
// bounded by the levels and d.
func RunLoad(ctx context.Context, f *Fixture, tokens []string, levels []int, d time.Duration) ([]LoadResult, error) {
	keys := NewJWKSServer(f.JWKS)
	defer keys.Close()
	v, err := NewClerkauth(ctx, ClerkauthConfig(keys, 0, nil))
	if err != nil {
		return nil, err
	}
	defer v.Close()
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	protected, done, err := Protect(v, ok)
	if err != nil {
		return nil, err
	}
	defer done()
	mux := http.NewServeMux()
	mux.Handle("/public", ok)
	mux.Handle("/private", protected)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	var out []LoadResult
	for _, c := range levels {
		out = append(out, loadLevel(ctx, srv.URL, tokens, c, d))
	}
	return out, nil
}

// loadLevel warms both endpoints' connections briefly, then alternates
// them in slices of d/loadSlices each, so drift on a shared machine hits
// both alike.
func loadLevel(ctx context.Context, base string, tokens []string, c int, d time.Duration) LoadResult {
	res := LoadResult{Concurrency: c, Duration: d}
	pub := newLoadClient(c)
	priv := newLoadClient(c)
	defer pub.CloseIdleConnections()
	defer priv.CloseIdleConnections()
	drive(ctx, pub, base+"/public", tokens, c, loadWarmup)
	drive(ctx, priv, base+"/private", tokens, c, loadWarmup)
	var pubLat, privLat []time.Duration
	var pubTime, privTime time.Duration
	ratios := make([]float64, 0, loadSlices)
	for range loadSlices {
		lat, took, errs := drive(ctx, pub, base+"/public", tokens, c, d/loadSlices)
		pubLat, pubTime, res.Errors = append(pubLat, lat...), pubTime+took, res.Errors+errs
		pubRate := float64(len(lat)) / took.Seconds()
		lat, took, errs = drive(ctx, priv, base+"/private", tokens, c, d/loadSlices)
		privLat, privTime, res.Errors = append(privLat, lat...), privTime+took, res.Errors+errs
		ratios = append(ratios, float64(len(lat))/took.Seconds()/pubRate)
	}
	slices.Sort(ratios)
	res.SliceRatio = ratios[len(ratios)/2]
	res.UnprotectedRPS = float64(len(pubLat)) / pubTime.Seconds()
	res.ProtectedRPS = float64(len(privLat)) / privTime.Seconds()
	res.UnprotectedP99, res.ProtectedP99 = summarize(pubLat).P99, summarize(privLat).P99
	return res
}

const loadSlices = 8

// loadWarmup opens and warms the connections before a level is measured.
const loadWarmup = 250 * time.Millisecond

func newLoadClient(c int) *http.Client {
	tr := &http.Transport{MaxIdleConns: c, MaxIdleConnsPerHost: c, MaxConnsPerHost: c}
	return &http.Client{Transport: loopbackOnly{tr}, Timeout: 10 * time.Second}
}

// drive sends GET url on c workers for d and returns every latency, the
// time taken and the number of failed requests.
func drive(ctx context.Context, client *http.Client, url string, tokens []string, c int, d time.Duration) ([]time.Duration, time.Duration, int64) {
	start := time.Now()
	deadline := start.Add(d)
	lat := make([][]time.Duration, c)
	var errs atomic.Int64
	var wg sync.WaitGroup
	for w := range c {
		wg.Go(func() {
			for i := w; time.Now().Before(deadline); i += c {
				t0 := time.Now()
				if !get(ctx, client, url, tokens, i) {
					errs.Add(1)
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	return slices.Concat(lat...), time.Since(start), errs.Load()
}

func get(ctx context.Context, client *http.Client, url string, tokens []string, i int) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	if len(tokens) > 0 {
		req.Header.Set("Authorization", "Bearer "+tokens[i%len(tokens)])
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
