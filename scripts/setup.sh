#!/usr/bin/env bash
# One-time (idempotent) set-up of a fresh machine: the virtualenv with assay and its test
# dependencies, and Debian's chromium for the browser tests (only when --with-browser).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
# Reinstall only when the project metadata changed since the last set-up.
stamp=.venv/.assay-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e '.[test]'
    touch "$stamp"
fi
if [ "${1:-}" = "--with-browser" ]; then
    bash scripts/install-chromium.sh
fi
