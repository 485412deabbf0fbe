// Command load is a bounded loopback load test: one server with an
// unprotected and a clerkauth-protected endpoint, driven in turn at several
// concurrency levels by keep-alive Go clients. It prints a table and, with
// -out, writes the results as JSON for cmd/report. Only loopback is
// contacted; the run stops by itself after levels × 2 × -d.
//
// Usage: load [-c 8,64,256] [-d 4s] [-out results/load.json]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/clerkauth/clerkauth/bench"
)

func main() {
	levels := flag.String("c", "8,64,256", "comma-separated concurrency levels")
	d := flag.Duration("d", 4*time.Second, "duration of each endpoint at each level")
	out := flag.String("out", "", "write results as JSON to this file")
	flag.Parse()
	if err := run(*levels, *d, *out); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run(levelList string, d time.Duration, out string) error {
	var levels []int
	for _, s := range strings.Split(levelList, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || c < 1 || c > 1024 {
			return fmt.Errorf("bad concurrency %q (1..1024)", s)
		}
		levels = append(levels, c)
	}
	if total := time.Duration(2*len(levels)) * d; total > 60*time.Second {
		return fmt.Errorf("the run would take %v: keep it under a minute", total)
	}
	fx, err := bench.NewFixture()
	if err != nil {
		return err
	}
	tokens, err := fx.MintPool(64)
	if err != nil {
		return err
	}
	res, err := bench.RunLoad(context.Background(), fx, tokens, levels, d)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "concurrency\tunprotected req/s\tprotected req/s\tmedian slice ratio\tp99 unprot.\tp99 prot.\terrors")
	for _, r := range res {
		fmt.Fprintf(tw, "%d\t%.0f\t%.0f\t%.2f\t%v\t%v\t%d\n", r.Concurrency, r.UnprotectedRPS, r.ProtectedRPS,
			r.Ratio(), r.UnprotectedP99.Round(time.Microsecond), r.ProtectedP99.Round(time.Microsecond), r.Errors)
	}
	tw.Flush()
	if out == "" {
		return nil
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(out, b, 0o644)
}
