#!/usr/bin/env bash
# Runs every Go fuzz target for a while: FUZZTIME (default 5s) each. The test command runs
# them briefly; to hunt for real, run them long, e.g. FUZZTIME=30m bash scripts/fuzz.sh, or one
# target: go test ./pkg/plugin -run '^$' -fuzz '^FuzzQueryAnswers$' -fuzztime 1h
# A failing input is saved under the package's testdata/fuzz/<target>/ and then replayed by
# every plain `go test` run: commit it with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-5s}"
# Every func FuzzX in a _test.go file under pkg/ and cmd/, as "package-dir target".
grep -rl --include='*_test.go' '^func Fuzz' pkg cmd | sort | while read -r file; do
  dir=$(dirname "$file")
  grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //' | while read -r target; do
    echo "fuzz $dir $target ($fuzztime)"
    go test "./$dir" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -parallel 2 >/tmp/fuzz-$$.log 2>&1 || {
      cat /tmp/fuzz-$$.log >&2
      rm -f /tmp/fuzz-$$.log
      exit 1
    }
  done
done
rm -f /tmp/fuzz-$$.log
