#!/usr/bin/env bash
# Runs every test of every module with the race detector, then each fuzz
# target briefly, and ends with one line: "N passed, N failed, N skipped"
# (skipped tests are listed above it with their reasons). Exits non-zero on
# any failure, build failures included.
#
# Usage: ./scripts/test-all.sh
#   FUZZTIME=30s       fuzz each target longer (default 3s)
#   TEST_PARALLEL=N    test N modules at once (default 1)
#   CI=true            a missing redis-server or node/npm fails instead of skipping
#
# The counting and the progress output are scripts/testsummary (Go, standard
# library only).
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./scripts/testsummary -fuzztime "${FUZZTIME:-3s}" -parallel "${TEST_PARALLEL:-1}"
