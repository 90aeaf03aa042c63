#!/usr/bin/env bash
# Run lint and the whole test suite against a real Neo4j. When none answers at the
# configured address, the local one is started and stopped again afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
started=0
cleanup() {
  if [ "$started" = 1 ]; then "$BIN/connectomedb" neo4j stop || true; fi
}
trap cleanup EXIT

# the dashboard's tests drive Debian's headless Chromium; as root, install it when missing
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing chromium and chromium-driver (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "warning: chromium or chromedriver missing: the dashboard's browser tests will fail" \
      "(apt-get install chromium chromium-driver)" >&2
  fi
fi

"$BIN/ruff" check connectomedb tests bench
"$BIN/mypy" connectomedb

# CONNECTOMEDB_TEST_NEO4J=testcontainers: the tests start Neo4j's official image themselves
if [ "${CONNECTOMEDB_TEST_NEO4J:-}" = testcontainers ]; then
  :
elif ! "$BIN/connectomedb" neo4j status >/dev/null 2>&1; then
  if [ -n "${CONNECTOMEDB_NEO4J_URI:-}" ]; then
    echo "error: Neo4j at $CONNECTOMEDB_NEO4J_URI does not answer" >&2
    exit 1
  fi
  "$BIN/connectomedb" neo4j start
  started=1
fi

set +e
"$BIN/python" -m pytest "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then
  echo "error: no tests ran" >&2
  exit 1
fi
exit "$rc"
