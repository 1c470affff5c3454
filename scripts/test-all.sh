#!/usr/bin/env bash
# Installs what the tests need and runs every test: Go vet and tests (with the race detector,
# against the Flows API simulator over loopback HTTP, and against a real Elasticsearch 7.17 and
# OpenSearch 2.19 for the Calico source; Java 17 and Maven are installed with apt-get if
# missing), TypeScript typecheck, lint, jest, the production frontend build, the editors in
# Chromium (Debian's chromium, installed with apt-get if missing) and the backend build. Needs
# Go (see go.mod) and some npm or curl: the project's own Node.js 24 and npm are installed into
# .tools/ from the npm registry (scripts/node-toolchain.sh), whatever Node the machine has.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step says how long the run has taken so far, so a slow step shows in CI's log.
step() { printf '\n==> [%dm%02ds] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }

step "Node.js for the project (scripts/node-toolchain.sh)"
# shellcheck source=scripts/node-toolchain.sh
source ./scripts/node-toolchain.sh
node_toolchain

step "Installing npm packages (npm ci)"
npm ci --no-audit --no-fund

step "Installing moto_server (AWS emulator for the AWS flow-log tests)"
bash ./scripts/install-moto.sh

step "Downloading Go modules"
go mod download

step "gofmt and go vet"
unformatted=$(gofmt -l pkg cmd Magefile.go)
if [ -n "$unformatted" ]; then
  echo "gofmt would change these files (run gofmt -w):" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet ./pkg/... ./cmd/...

step "gosec, the security scan of Grafana's plugin validator: every high-severity rule, G115 integer conversions among them (version pinned in tools/gosec.mod)"
# tools/gosec.mod keeps gosec's own dependencies out of the plugin's go.mod.
go tool -modfile=tools/gosec.mod gosec -quiet -severity high ./pkg/... ./cmd/...

step "Go tests (go test -race), with Elasticsearch and OpenSearch for the Calico source"
# search-engines.sh starts both engines (as an unprivileged user), exports their URLs to the
# tests and stops them afterwards; see the script for what happens without Java.
# -timeout is a hang guard per test binary, not a speed check: pkg/plugin takes 6-10 minutes
# under -race on 2 idle cores, but 40 on a machine whose cores are busy with other work (measured:
# two CPU spinners and other agents' builds beside a fresh-clone run).
bash ./scripts/search-engines.sh run go test -race -count=1 -timeout 75m ./pkg/... ./cmd/...

step "Go fuzz targets, briefly (scripts/fuzz.sh; docs/robustness.md says how to run them long)"
FUZZTIME="${FUZZTIME:-2000x}" bash scripts/fuzz.sh

step "TypeScript typecheck"
npm run typecheck

step "Lint"
npm run lint

step "Frontend tests (jest)"
npm run test:ci

step "Frontend production build"
npm run build

step "Editors in Chromium: the editor playground spec (scripts/editor-playground.sh; writes src/img/screenshot-*.png)"
bash ./scripts/editor-playground.sh

step "Backend build for every platform (mage buildAll) and the query model's JSON schema (mage schema)"
# linux amd64/arm64/arm, darwin amd64/arm64, windows amd64: what Grafana runs plugins on
go run github.com/magefile/mage -v buildAll schema

step "Checking dist/"
node scripts/check-dist.mjs

step "All tests passed"
