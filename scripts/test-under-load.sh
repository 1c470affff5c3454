#!/usr/bin/env bash
# The test command, run several times in a row in fresh clones while every core is kept busy
# by a spinner: the check that no test depends on an idle machine (issue 9). It asserts no
# durations; it prints them, so docs/robustness.md can say what a loaded run costs.
#
#   bash scripts/test-under-load.sh            # 3 runs of HEAD, one spinner per core
#   RUNS=1 SPINNERS=4 bash scripts/test-under-load.sh
#
# Each run is `CI=true bash .ci/run` in a new clone of HEAD under $WORKDIR (default: a temp
# directory), so nothing a run leaves behind (dist/, node_modules, .tools/) helps the next.
# GOCACHE, GOMODCACHE and npm_config_cache are passed through as they are set. Stops at the
# first failing run and exits with its status; the run's output is in $WORKDIR/run-N.out.
set -uo pipefail

repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
commit=$(git -C "$repo" rev-parse HEAD)
runs=${RUNS:-3}
spinners=${SPINNERS:-$(nproc)}
workdir=${WORKDIR:-$(mktemp -d /tmp/test-under-load.XXXXXX)}
mkdir -p "$workdir"

pids=()
stop_spinners() {
  if ((${#pids[@]})); then kill "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null; fi
  pids=()
}
trap stop_spinners EXIT
trap 'exit 130' INT TERM

say() { echo "test-under-load: $*"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

for ((s = 0; s < spinners; s++)); do
  # A shell loop, not `yes`, so that the spinner is pure CPU with no pipe to fill.
  bash -c 'while :; do :; done' &
  pids+=($!)
done
say "commit $commit, $runs runs, $spinners spinners on $(nproc) cores, output in $workdir"

for ((i = 1; i <= runs; i++)); do
  clone="$workdir/clone-$i"
  rm -rf "$clone"
  git clone -q "$repo" "$clone" && git -C "$clone" checkout -q "$commit" || exit 1
  start=$(date +%s)
  say "run $i of $runs: start $(date -u +%H:%M:%SZ), load $(load)"
  (cd "$clone" && CI=true bash .ci/run) >"$workdir/run-$i.out" 2>&1
  rc=$?
  took=$(($(date +%s) - start))
  say "run $i of $runs: exit $rc after $((took / 60)) min $((took % 60)) s, load $(load)"
  if ((rc != 0)); then
    say "run $i failed; its output: $workdir/run-$i.out"
    tail -n 30 "$workdir/run-$i.out"
    exit "$rc"
  fi
  rm -rf "$clone"
done
say "all $runs runs passed with $spinners spinners"
