#!/usr/bin/env bash
# Runs the clerkauth benchmark suite and prints the table (about 3 minutes
# on a 2-core machine; see README.md). Timing-based: never run from CI.
#   ROUNDS=5 BENCHTIME=0.5s LOAD_D=4s ./run.sh
set -euo pipefail
cd "$(dirname "$0")"
ROUNDS="${ROUNDS:-5}"
BENCHTIME="${BENCHTIME:-0.5s}"
LOAD_D="${LOAD_D:-6s}"
out=results
mkdir -p "$out"

echo "== building"
go test -c -o "$out/bench.test" .
go build -o "$out/report" ./cmd/report
go build -o "$out/load" ./cmd/load

# Rounds interleave every benchmark, so drift on a shared machine hits all
# of them alike; the report takes each benchmark's median.
: > "$out/bench.txt"
for i in $(seq "$ROUNDS"); do
  echo "== benchmarks, round $i/$ROUNDS"
  "$out/bench.test" -test.run '^$' -test.bench . -test.benchmem -test.benchtime "$BENCHTIME" \
    | tee -a "$out/bench.txt" | grep '^Benchmark'
done

echo "== loopback load test"
"$out/load" -d "$LOAD_D" -out "$out/load.json"

echo "== storm, cache memory, table"
"$out/report" -bench "$out/bench.txt" -load "$out/load.json" | tee "$out/table.txt"
