#!/usr/bin/env bash
# Set up, install the peers (PouchDB and pouchdb-server from npm), run the benchmarks.
# Extra arguments go to `pitline bench` (e.g. --quick, --only push).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if command -v npm >/dev/null 2>&1; then
  if [ ! -x bench/.node/node_modules/.bin/pouchdb-server ]; then
    mkdir -p bench/.node
    (cd bench/.node && npm install --no-audit --no-fund --silent pouchdb@9 pouchdb-server@4 pouchdb-adapter-memory@9)
  fi
else
  echo "npm not found: the PouchDB peer will be reported as not measured" >&2
fi
exec .venv/bin/pitline bench "$@"
