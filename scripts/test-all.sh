#!/usr/bin/env bash
# Runs every test of every module with the race detector, then each fuzz
# target briefly. Usage: ./scripts/test-all.sh   (FUZZTIME=30s for longer fuzzing)
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME="${FUZZTIME:-3s}"

# Every directory holding a go.mod is a module; vendor and node_modules are not ours.
mapfile -t modules < <(find . -name go.mod -not -path '*/node_modules/*' -printf '%h\n' | sort)

status=0
for m in "${modules[@]}"; do
  echo "=== go test -race ${m}/..."
  (cd "$m" && go test -race -count=1 ./...) || status=1
done

# Fuzz targets: package directory and target name, found in *_test.go files.
while IFS=: read -r file target; do
  dir=$(dirname "$file")
  echo "=== fuzz ${target} (${dir}, ${FUZZTIME})"
  (cd "$dir" && go test -run='^$' -fuzz="^${target}\$" -fuzztime="$FUZZTIME" .) || status=1
done < <(grep -rHoE --include='*_test.go' '^func (Fuzz[A-Za-z0-9_]+)' . \
          | grep -v node_modules | sed -E 's/func //' | sort -u)

if [ "$status" -ne 0 ]; then
  echo "FAILED"
fi
exit "$status"
