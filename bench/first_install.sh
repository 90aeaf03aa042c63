#!/usr/bin/env bash
# The first install: `make run` on a fresh clone of this checkout, with pip's cache empty
# (`empty`, the default) or as it is (`warm`), until the API answers /health. Neo4j, the
# API and the clone use their own ports and folders, so a running local setup is left
# alone. Prints `name: value` lines: seconds until the venv is ready and until the API
# serves, and the packages pip built from source (a wheel it made and cached).
# Usage: bash bench/first_install.sh [empty|warm]
set -u
mode=${1:-empty}
src=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d /tmp/connectomedb-first-install.XXXX)
git clone -q "$src" "$dir/repo" && cd "$dir/repo" || exit 1
if [ "$mode" = empty ]; then export PIP_CACHE_DIR="$dir/pip-cache"; fi
export CONNECTOMEDB_HOME="$dir/repo/.neo4j" CONNECTOMEDB_BOLT_PORT=7697 \
  CONNECTOMEDB_HTTP_PORT=7484 CONNECTOMEDB_API_PORT=8017
start=$(date +%s)
make run >"$dir/make_run.log" 2>&1 &
pid=$!
venv=""
while sleep 2; do
  if [ -z "$venv" ] && [ -f .venv/.installed ]; then
    venv=$(($(date +%s) - start))
    echo "venv_ready_s: $venv"
  fi
  if curl -sf http://127.0.0.1:8017/health >/dev/null 2>&1; then
    echo "serving_s: $(($(date +%s) - start))"
    break
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "error: make run ended: $(tail -5 "$dir/make_run.log")" >&2
    break
  fi
done
[ "$mode" = empty ] && echo "built_from_source: $(find "$PIP_CACHE_DIR" -name '*.whl' -printf '%f ' 2>/dev/null)"
pkill -f "$dir/repo/.venv/bin/connectomedb serve" || true
kill "$pid" 2>/dev/null || true
.venv/bin/connectomedb neo4j stop >/dev/null 2>&1 || true
echo "venv_size: $(du -sh .venv | cut -f1)"
echo "folder: $dir (remove it when done)"
