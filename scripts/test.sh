#!/usr/bin/env bash
# The whole test suite on a fresh machine: set-up, then every tier (unit, contract on SQLite
# and PostgreSQL, integration, e2e with real `assay serve`, workers and chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-browser
exec .venv/bin/python -m pytest "$@"
