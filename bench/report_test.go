package bench

import (
	"strings"
	"testing"
)

func TestParseBenchOutputSummarisesRounds(t *testing.T) {
	out := `goos: linux
BenchmarkLimit-2   	   32110	     30000 ns/op	    1376 B/op	       9 allocs/op
BenchmarkVerifyWarm-2   9867393	       102.1 ns/op	       0 B/op	       0 allocs/op
BenchmarkLimit-2   	   32110	     50000 ns/op	    1376 B/op	       9 allocs/op
BenchmarkLimit-2   	   32110	     40000 ns/op	    1376 B/op	      11 allocs/op
BenchmarkMiddlewareWarmParallel-2  100  55.5 ns/op
PASS
ok  	github.com/clerkauth/clerkauth/bench	11.300s
`
	res, err := ParseBenchOutput(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                  string
		runs                  int
		ns, median, allocs, b float64
	}{
		{"Limit", 3, 30000, 40000, 9, 1376},
		{"VerifyWarm", 1, 102.1, 102.1, 0, 0},
		{"MiddlewareWarmParallel", 1, 55.5, 55.5, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, ok := res[tc.name]
			if !ok || r.Runs != tc.runs || r.NsPerOp != tc.ns || r.MedianNs != tc.median || r.AllocsPerOp != tc.allocs || r.BytesPerOp != tc.b {
				t.Fatalf("got %+v (found %v), want %+v", r, ok, tc)
			}
		})
	}
	if len(res) != len(tests) {
		t.Fatalf("parsed %d benchmarks, want %d", len(res), len(tests))
	}
}
