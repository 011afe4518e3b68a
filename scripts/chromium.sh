#!/usr/bin/env bash
# Debian's Chromium for the browser tests (tests/browser), installed once.
#   scripts/chromium.sh ensure   -> prints the executable's path
set -euo pipefail
BIN="${CDP_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$BIN" ]; then
  echo "[chromium] installing Debian's chromium" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
echo "$BIN"
