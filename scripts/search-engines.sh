#!/usr/bin/env bash
# Runs a command with a real Elasticsearch 7.17.10, a real Elasticsearch 8.19.21 and a real
# OpenSearch 2.19.1 on loopback, for the Calico source's tests:
#
#   bash scripts/search-engines.sh run go test ./pkg/sources/calico/...
#
# All three come from their integ-test zips on Maven Central (mvn dependency:get), are unpacked
# once into a cache folder, and start at the same time as the unprivileged user 65534 (they
# refuse to run as root, and CI runs as root) with the machine's Java 17. The command sees their
# base URLs in CALICO_TEST_ELASTICSEARCH_URL, CALICO_TEST_ELASTICSEARCH8_URL and
# CALICO_TEST_OPENSEARCH_URL, and the Elasticsearch superuser (both run with security on, the
# same users and password) in CALICO_TEST_ELASTICSEARCH_USER and
# CALICO_TEST_ELASTICSEARCH_PASSWORD, and a user who may only read tigera_secure_ee_flows.* in
# CALICO_TEST_ELASTICSEARCH_READER (same password); the engines are stopped when the command
# ends, however it ends.
#
# Without Java or Maven (after trying apt-get when root) the command runs without the engines and
# the Calico tests skip with a loud message; with CI=true that is an error instead.
set -euo pipefail

ES_VERSION=7.17.10
# The newest 8.x (8.19 is the last minor of 8; 9.x needs Java 21).
ES8_VERSION=8.19.21
OS_VERSION=2.19.1
ES_ARTIFACT=org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip
ES8_ARTIFACT=org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES8_VERSION:zip
OS_ARTIFACT=org.opensearch.distribution.integ-test-zip:opensearch:$OS_VERSION:zip
# Unpacked distributions live outside the checkout: user 65534 must be able to reach them, and a
# clone under /root is not reachable for it.
CACHE_DIR=${SEARCH_ENGINES_CACHE:-${TMPDIR:-/tmp}/flowlens-search-engines}
# Ports reserved for the Calico tests (docs: the team's port ranges); a second run on the same
# machine can take the upper half (SEARCH_ENGINES_PORT_FIRST=19550), so that two runs starting
# at the same moment do not race for the same free port.
PORT_FIRST=${SEARCH_ENGINES_PORT_FIRST:-19500}
PORT_LAST=19599
RUN_AS=65534
ES_USER=calico-test
ES_READER=calico-reader
ES_READER_ROLE=calico_flows_reader
# Three engines side by side on a shared machine: the tests' few tens of thousands of documents
# need little heap.
HEAP=${SEARCH_ENGINES_HEAP:-384m}
# A fresh password per run (it protects nothing but a throw-away cluster on loopback).
ES_PASSWORD="pw-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"

say() { printf 'search-engines: [%ds] %s\n' "$SECONDS" "$*" >&2; }

loud() {
  printf '\n%s\n' '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!' >&2
  printf '!!! %s\n' "$@" >&2
  printf '%s\n\n' '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!' >&2
}

is_ci() { [ "${CI:-}" = "true" ] || [ "${CI:-}" = "1" ]; }

# ensure_tools installs Java 17 and Maven with apt-get when they are missing and we are root.
ensure_tools() {
  local missing=()
  command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null 2>&1 || missing+=(maven)
  command -v unzip >/dev/null 2>&1 || missing+=(unzip)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
  if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing[*]} with apt-get"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2 || true
  fi
  for tool in java mvn unzip curl setpriv; do
    command -v "$tool" >/dev/null 2>&1 || { echo "$tool"; return; }
  done
}

java_home() {
  local java
  java=$(readlink -f "$(command -v java)")
  dirname "$(dirname "$java")"
}

# unpack <artifact> <name>-<version> prints the distribution folder, downloading it if needed.
unpack() {
  local artifact=$1 dir=$2 group name version zip
  IFS=: read -r group name version _ <<<"$artifact"
  if [ ! -x "$CACHE_DIR/$dir/bin/$name" ]; then
    mvn -B -q dependency:get -Dartifact="$artifact" -Dtransitive=false >&2
    zip="${MAVEN_REPO:-$HOME/.m2/repository}/${group//.//}/$name/$version/$name-$version.zip"
    mkdir -p "$CACHE_DIR"
    rm -rf "$CACHE_DIR/$dir.tmp" "$CACHE_DIR/$dir"
    unzip -q "$zip" -d "$CACHE_DIR/$dir.tmp"
    mv "$CACHE_DIR/$dir.tmp/$dir" "$CACHE_DIR/$dir"
    rm -rf "$CACHE_DIR/$dir.tmp"
  fi
  # The engine writes its keystore into its config folder, and must read everything.
  chown -R "$RUN_AS:$RUN_AS" "$CACHE_DIR/$dir" 2>/dev/null || true
  chmod 755 "$CACHE_DIR"
  echo "$CACHE_DIR/$dir"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port prints a free port of the reserved range that is not in the arguments.
free_port() {
  local p taken
  for ((p = PORT_FIRST; p <= PORT_LAST; p++)); do
    taken=0
    for t in "$@"; do [ "$t" = "$p" ] && taken=1; done
    if [ $taken = 0 ] && port_free "$p"; then
      echo "$p"
      return
    fi
  done
  say "no free port in $PORT_FIRST-$PORT_LAST"
  return 1
}

WORK_DIR=""
PIDS=()
COMMAND_PID=""

stop_all() {
  local pid
  [ -n "$COMMAND_PID" ] && kill "$COMMAND_PID" 2>/dev/null
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  done
  PIDS=()
  [ -n "$WORK_DIR" ] && rm -rf "$WORK_DIR"
}

# es_config <name> <distribution> writes an Elasticsearch's own config folder, with security on
# and users in the file realm, so that the tests use basic auth and API keys against the real
# thing and see its real 401: a superuser, and a user that may only read the Calico indices, as
# a production data source's user would (it may not read GET /, which needs the monitor cluster
# privilege). (The OpenSearch integ-test zip has no security plugin.) Each user is one run of a
# JVM tool, slow on a loaded machine: both Elasticsearch versions do this at the same time.
es_config() {
  local dir="$WORK_DIR/$1" dist=$2
  mkdir -p "$dir"
  cp -r "$dist/config" "$dir/config"
  printf '\n%s:\n  indices:\n    - names: [%s]\n      privileges: [read]\n' \
    "$ES_READER_ROLE" "'tigera_secure_ee_flows.*'" >>"$dir/config/roles.yml"
  chown -R "$RUN_AS:$RUN_AS" "$dir"
  local tool=(setpriv --reuid="$RUN_AS" --regid="$RUN_AS" --clear-groups
    env -i PATH=/usr/bin:/bin HOME="$dir" "ES_JAVA_HOME=$(java_home)" "ES_PATH_CONF=$dir/config"
    "$dist/bin/elasticsearch-users" useradd)
  "${tool[@]}" "$ES_USER" -p "$ES_PASSWORD" -r superuser >&2
  "${tool[@]}" "$ES_READER" -p "$ES_PASSWORD" -r "$ES_READER_ROLE" >&2
}

# start <name> <engine: elasticsearch|opensearch> <distribution> <http port> <transport port>
# (name: the run's folder and how messages call it).
start() {
  local name=$1 engine=$2 dist=$3 http=$4 transport=$5 dir env_prefix
  dir="$WORK_DIR/$name"
  mkdir -p "$dir/data" "$dir/logs" "$dir/tmp"
  chown -R "$RUN_AS:$RUN_AS" "$dir"
  if [ "$engine" = elasticsearch ]; then env_prefix=ES; else env_prefix=OPENSEARCH; fi
  local settings=(
    -E "http.host=127.0.0.1" -E "http.port=$http"
    -E "transport.host=127.0.0.1" -E "transport.port=$transport"
    -E "discovery.type=single-node"
    -E "path.data=$dir/data" -E "path.logs=$dir/logs"
    # Shared machines often have full disks; the tests' few MB must still be allocated.
    -E "cluster.routing.allocation.disk.threshold_enabled=false"
  )
  local conf_env=()
  if [ "$engine" = elasticsearch ]; then
    conf_env=("ES_PATH_CONF=$dir/config") # written by es_config
    settings+=(-E "xpack.security.enabled=true" -E "xpack.security.authc.api_key.enabled=true")
  fi
  # In the foreground (no -d) so that its pid is known at once and the EXIT trap can stop it
  # even when it dies or hangs while starting.
  setpriv --reuid="$RUN_AS" --regid="$RUN_AS" --clear-groups \
    env -i PATH=/usr/bin:/bin HOME="$dir" TMPDIR="$dir/tmp" \
    "${env_prefix}_JAVA_HOME=$(java_home)" "${env_prefix}_JAVA_OPTS=-Xms$HEAP -Xmx$HEAP" "${conf_env[@]}" \
    "$dist/bin/$engine" -p "$dir/pid" "${settings[@]}" >"$dir/stdout" 2>&1 &
  PIDS+=("$!")
  echo "$!" >"$dir/launcher.pid"
}

# wait_healthy <name> <url> [curl args]: up to 180 s for a yellow or green cluster.
wait_healthy() {
  local engine=$1 url=$2 pid
  shift 2
  pid=$(cat "$WORK_DIR/$engine/launcher.pid")
  for _ in $(seq 1 180); do
    if curl -fsS "$@" "$url/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null 2>&1; then
      say "$engine up at $url"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      break
    fi
    sleep 1
  done
  say "$engine is not healthy at $url; last log lines:"
  tail -n 40 "$WORK_DIR/$engine/stdout" >&2
  return 1
}

run() {
  local missing
  missing=$(ensure_tools)
  if [ -n "$missing" ]; then
    if is_ci; then
      loud "CI=true but '$missing' is missing and could not be installed:" \
        "the Calico tests against Elasticsearch and OpenSearch cannot run."
      exit 1
    fi
    loud "'$missing' is missing: Elasticsearch and OpenSearch are NOT started," \
      "so the Calico source's tests against them will SKIP."
    exec "$@"
  fi

  local es_dist es8_dist os_dist es_http es_tr es8_http es8_tr os_http os_tr
  es_dist=$(unpack "$ES_ARTIFACT" "elasticsearch-$ES_VERSION")
  es8_dist=$(unpack "$ES8_ARTIFACT" "elasticsearch-$ES8_VERSION")
  os_dist=$(unpack "$OS_ARTIFACT" "opensearch-$OS_VERSION")

  WORK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/search-engines-run.XXXXXX")
  chmod 755 "$WORK_DIR"
  trap stop_all EXIT
  trap 'exit 130' INT TERM

  es_http=$(free_port)
  es_tr=$(free_port "$es_http")
  es8_http=$(free_port "$es_http" "$es_tr")
  es8_tr=$(free_port "$es_http" "$es_tr" "$es8_http")
  os_http=$(free_port "$es_http" "$es_tr" "$es8_http" "$es8_tr")
  os_tr=$(free_port "$es_http" "$es_tr" "$es8_http" "$es8_tr" "$os_http")
  # All three start at once and are waited for afterwards: starting takes most of the time.
  start opensearch opensearch "$os_dist" "$os_http" "$os_tr"
  local config7 config8
  es_config elasticsearch-7 "$es_dist" &
  config7=$!
  es_config elasticsearch-8 "$es8_dist" &
  config8=$!
  wait "$config7"
  wait "$config8"
  start elasticsearch-7 elasticsearch "$es_dist" "$es_http" "$es_tr"
  start elasticsearch-8 elasticsearch "$es8_dist" "$es8_http" "$es8_tr"
  wait_healthy elasticsearch-7 "http://127.0.0.1:$es_http" -u "$ES_USER:$ES_PASSWORD"
  wait_healthy elasticsearch-8 "http://127.0.0.1:$es8_http" -u "$ES_USER:$ES_PASSWORD"
  wait_healthy opensearch "http://127.0.0.1:$os_http"

  export CALICO_TEST_ELASTICSEARCH_URL="http://127.0.0.1:$es_http"
  export CALICO_TEST_ELASTICSEARCH8_URL="http://127.0.0.1:$es8_http"
  export CALICO_TEST_OPENSEARCH_URL="http://127.0.0.1:$os_http"
  export CALICO_TEST_ELASTICSEARCH_USER="$ES_USER" CALICO_TEST_ELASTICSEARCH_PASSWORD="$ES_PASSWORD"
  export CALICO_TEST_ELASTICSEARCH_READER="$ES_READER"
  # In the background, so that a signal to this script stops the engines at once.
  local rc=0
  "$@" &
  COMMAND_PID=$!
  wait "$COMMAND_PID" || rc=$?
  COMMAND_PID=""
  exit $rc
}

case "${1:-}" in
run)
  shift
  [ $# -gt 0 ] || { echo "usage: $0 run COMMAND [ARGS...]" >&2; exit 2; }
  run "$@"
  ;;
*)
  echo "usage: $0 run COMMAND [ARGS...]" >&2
  exit 2
  ;;
esac
