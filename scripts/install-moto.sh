#!/usr/bin/env bash
# Installs moto_server (moto 5.2.5 from PyPI), the AWS emulator the tests of the AWS flow-log
# source run against, into a virtual environment under .cache/moto-venv (gitignored). The Go
# tests find it there (pkg/internal/motoserver). Does nothing when it is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."

version=5.2.5
venv=.cache/moto-venv

if [ -x "$venv/bin/moto_server" ] &&
  "$venv/bin/python" -c "import sys, importlib.metadata as m; sys.exit(m.version('moto') != '$version')" 2>/dev/null; then
  echo "moto $version already installed in $venv"
  exit 0
fi

# A fresh Debian machine may lack Python or its venv module.
if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv
fi

rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --disable-pip-version-check --no-input -q "moto[server]==$version"
"$venv/bin/moto_server" --help >/dev/null
echo "moto $version installed in $venv"
