#!/usr/bin/env bash
# The editor playground spec (playground/editors.spec.mts): builds the page (esbuild, from npm)
# and its server (cmd/editor-playground), then drives the config, query and variable editors in
# Chromium with playwright-core, writing the catalog screenshots to src/img/screenshot-*.png.
# Needs node_modules (npm ci) and the project's Node (scripts/node-toolchain.sh) on PATH.
# Chromium is Debian's `chromium` (playwright's own browser downloads are not available); when
# missing it is installed with apt-get as root. In CI (CI=true) a browser that cannot be
# installed or started fails the run; elsewhere, without root, it says how to install it.
set -euo pipefail
cd "$(dirname "$0")/.."

chromium_bin="${CHROMIUM:-$(command -v chromium || true)}"
if [ -z "$chromium_bin" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "editor-playground: installing Debian's chromium with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends chromium >/dev/null; then
      apt-get update >/dev/null
      apt-get install -y --no-install-recommends chromium >/dev/null
    fi
    chromium_bin="$(command -v chromium || true)"
  fi
fi
if [ -z "$chromium_bin" ]; then
  echo "editor-playground: no chromium; install Debian's package: apt-get install -y --no-install-recommends chromium" >&2
  exit 1
fi
export CHROMIUM="$chromium_bin"
echo "editor-playground: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"

mkdir -p .cache/editor-playground
node playground/build.mjs
go build -o .cache/editor-playground/server ./cmd/editor-playground
export EDITOR_PLAYGROUND_SERVER="$PWD/.cache/editor-playground/server"
node --test --test-reporter=spec playground/editors.spec.mts
