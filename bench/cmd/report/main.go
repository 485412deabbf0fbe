// Command report prints the benchmark table: it reads `go test -bench
// -benchmem` output of the bench module (several interleaved rounds; the
// median of each benchmark is used), runs the unknown-kid storm and the
// cache memory measurement in-process, reads the load test's JSON, and
// prints each figure with its ratios to the RSA limit and to each peer, its
// target and PASS or MISS. It exits 0 even when a target is missed: it
// reports, it does not gate.
//
// Usage: report -bench results/bench.txt [-load results/load.json] [-storm=false] [-mem=false]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/bench"
)

func main() {
	benchFile := flag.String("bench", "", "go test -bench output to read")
	loadFile := flag.String("load", "", "JSON written by cmd/load (optional)")
	storm := flag.Bool("storm", true, "run the unknown-kid storm")
	mem := flag.Bool("mem", true, "measure cache memory at -entries tokens")
	machine := flag.Bool("machine", true, "run the opaque machine token scenarios (shared calls, random-key flood)")
	entries := flag.Int("entries", 10000, "cached tokens for the memory figure")
	flag.Parse()
	if err := run(*benchFile, *loadFile, *storm, *mem, *machine, *entries); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run(benchFile, loadFile string, storm, mem, machine bool, entries int) error {
	t := &table{}
	if benchFile != "" {
		f, err := os.Open(benchFile)
		if err != nil {
			return err
		}
		res, err := bench.ParseBenchOutput(f)
		f.Close()
		if err != nil {
			return err
		}
		t.benchRows(res)
		t.adapterRows(res)
	}
	if storm || mem || machine {
		fx, err := bench.NewFixture()
		if err != nil {
			return err
		}
		if storm {
			if err := stormRows(t, fx); err != nil {
				return err
			}
		}
		if mem {
			if err := memoryRow(t, fx, entries); err != nil {
				return err
			}
		}
		if machine {
			if err := machineRows(t, fx); err != nil {
				return err
			}
		}
	}
	if loadFile != "" {
		if err := loadRows(t, loadFile); err != nil {
			return err
		}
	}
	t.print(os.Stdout)
	return nil
}

const stormRounds = 3

func stormRows(t *table, fx *bench.Fixture) error {
	valid, err := fx.MintPool(256)
	if err != nil {
		return err
	}
	var rounds []bench.StormResult
	for range stormRounds {
		r, err := bench.RunStorm(context.Background(), fx, bench.StormOptions{
			Valid: valid, ValidRequests: 4000, ValidWorkers: 2, ValidRate: 4000,
			Forged: 10000, StormWorkers: 2, ForgedRate: 10000,
			MaxDuration: 10 * time.Second, CacheSize: -1,
		})
		if err != nil {
			return err
		}
		rounds = append(rounds, r)
	}
	t.stormRows(rounds)
	return nil
}

const floodRounds = 3

// machineRows runs the opaque token scenarios against a loopback clerktest
// instance: 64 concurrent requests sharing one verify call, then a flood of
// 10,000 random API keys at 10,000/s beside paced valid traffic, the
// Verifier's budget left at its documented sk_test_ default.
func machineRows(t *table, fx *bench.Fixture) error {
	ctx := context.Background()
	env, err := bench.NewMachineEnv(fx)
	if err != nil {
		return err
	}
	defer env.Close()
	var shares []bench.ShareResult
	for _, kind := range []clerkauth.TokenKind{clerkauth.TokenKindAPIKey, clerkauth.TokenKindM2M} {
		r, err := bench.RunShare(ctx, env, kind, 64)
		if err != nil {
			return err
		}
		shares = append(shares, r)
	}
	t.shareRows(shares)
	// Each round floods with random keys, then (the control) with the valid
	// keys themselves at the same rate: the load alone.
	var rounds, controls []bench.FloodResult
	for range floodRounds {
		for _, control := range []bool{false, true} {
			r, err := bench.RunOpaqueFlood(ctx, env, bench.FloodOptions{
				Control: control, ValidKeys: 16, ValidRequests: 4000, ValidWorkers: 2, ValidRate: 4000,
				Random: 10000, FloodWorkers: 2, FloodRate: 10000, MaxDuration: 10 * time.Second,
			})
			if err != nil {
				return err
			}
			if control {
				controls = append(controls, r)
			} else {
				rounds = append(rounds, r)
			}
		}
	}
	t.floodRows(rounds, controls)
	return nil
}

func memoryRow(t *table, fx *bench.Fixture, n int) error {
	tokens, err := fx.MintPool(n)
	if err != nil {
		return err
	}
	srv := bench.NewJWKSServer(fx.JWKS)
	defer srv.Close()
	// Twice the entries, so no shard evicts and every token stays cached.
	v, err := bench.NewClerkauth(context.Background(), bench.ClerkauthConfig(srv, 2*n, nil))
	if err != nil {
		return err
	}
	defer v.Close()
	m, err := bench.MeasureCacheMemory(context.Background(), v, tokens)
	if err != nil {
		return err
	}
	t.memoryRow(m, n)
	return nil
}

func loadRows(t *table, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var res []bench.LoadResult
	if err := json.Unmarshal(b, &res); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	t.loadRows(res)
	return nil
}
