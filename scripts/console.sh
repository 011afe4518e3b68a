#!/usr/bin/env bash
# Builds the admin console (console/ -> console/dist, served at /console/). npm dependencies are
# installed once per change of package-lock.json; the bundle is rebuilt when a source is newer.
#   scripts/console.sh [build|force]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT/console"
command -v npm >/dev/null || { echo "[console] npm is required (Node.js 18+) to build the console" >&2; exit 1; }
STAMP="node_modules/.installed-$(sha256sum package-lock.json | cut -c1-16)"
if [ ! -f "$STAMP" ]; then
  echo "[console] installing npm dependencies" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  touch "$STAMP"
fi
if [ "${1:-build}" = force ] || [ ! -f dist/console.js ] || \
   [ -n "$(find src build.mjs package-lock.json -newer dist/console.js -print -quit)" ]; then
  node build.mjs >&2
fi
