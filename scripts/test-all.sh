#!/usr/bin/env bash
# Runs every test of every module with the race detector, then each fuzz
# target briefly, and ends with one line: "N passed, N failed, N skipped"
# (skipped tests are listed above it with their reasons). Exits non-zero on
# any failure, build failures included.
#
# Usage: ./scripts/test-all.sh
#   FUZZTIME=30s       fuzz each target longer (default 3s)
#   TEST_PARALLEL=N    test N modules at once (default 3: on 2 cores the module tests
#                      took 22-33 s at 3 against 50-54 s one at a time)
#   CI=true            a missing redis-server or node/npm fails instead of skipping
#
# The counting and the progress output are scripts/testsummary (Go, standard
# library only).
set -euo pipefail
cd "$(dirname "$0")/.."
# Built rather than `go run`, which would print "exit status 1" after the
# summary line.
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/testsummary" ./scripts/testsummary
status=0
"$bin/testsummary" -fuzztime "${FUZZTIME:-3s}" -parallel "${TEST_PARALLEL:-3}" || status=$?
exit "$status"
