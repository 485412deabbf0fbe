package bench

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Result summarises the runs of one benchmark. NsPerOp is the fastest
// run: on a shared machine noise only ever adds time, so the minimum is
// the best estimate of a benchmark's own cost (MedianNs is kept to show
// the spread). Allocations and bytes are the median.
type Result struct {
	Name        string // without the Benchmark prefix and -GOMAXPROCS suffix
	Runs        int
	NsPerOp     float64
	MedianNs    float64
	AllocsPerOp float64
	BytesPerOp  float64
}

// ParseBenchOutput reads `go test -bench -benchmem` output (any number of
// rounds, in any order) and summarises each benchmark's runs.
func ParseBenchOutput(r io.Reader) (map[string]Result, error) {
	samples := map[string][][3]float64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, vals, ok := parseBenchLine(sc.Text())
		if ok {
			samples[name] = append(samples[name], vals)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("bench: reading benchmark output: %w", err)
	}
	out := make(map[string]Result, len(samples))
	for name, runs := range samples {
		out[name] = Result{
			Name: name, Runs: len(runs),
			NsPerOp: minimum(runs, 0), MedianNs: median(runs, 0),
			BytesPerOp: median(runs, 1), AllocsPerOp: median(runs, 2),
		}
	}
	return out, nil
}

// parseBenchLine reads "BenchmarkX-2  N  123 ns/op  45 B/op  6 allocs/op".
func parseBenchLine(line string) (string, [3]float64, bool) {
	var vals [3]float64
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
		return "", vals, false
	}
	name := strings.TrimPrefix(f[0], "Benchmark")
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			name = name[:i]
		}
	}
	seen := false
	for i := 2; i+1 < len(f); i++ {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			continue
		}
		switch f[i+1] {
		case "ns/op":
			vals[0], seen = v, true
		case "B/op":
			vals[1] = v
		case "allocs/op":
			vals[2] = v
		}
	}
	return name, vals, seen
}

func median(runs [][3]float64, col int) float64 {
	v := make([]float64, len(runs))
	for i, r := range runs {
		v[i] = r[col]
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func minimum(runs [][3]float64, col int) float64 {
	m := runs[0][col]
	for _, r := range runs[1:] {
		m = min(m, r[col])
	}
	return m
}
