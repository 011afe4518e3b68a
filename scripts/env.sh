#!/usr/bin/env bash
# Shared by dev.sh and test.sh: a project virtualenv with the package installed (once per change
# of pyproject.toml).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CDP_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "[env] creating $VENV" >&2
  "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.installed-$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
if [ ! -f "$STAMP" ]; then
  echo "[env] installing the project and its test dependencies" >&2
  "$VENV/bin/pip" install -q --disable-pip-version-check -e "$ROOT[test]" >&2
  touch "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
