#!/usr/bin/env bash
# Run the engine on the embedded SQLite default with the example "hello" worker, start one
# workflow, and leave both running (Ctrl-C stops them). Open http://127.0.0.1:8080/workflow/
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PORT="${PORT:-8080}"
URL="http://127.0.0.1:${PORT}"
.venv/bin/assay serve --port "$PORT" &
ENGINE=$!
trap 'kill $ENGINE ${WORKER:-} 2>/dev/null; wait 2>/dev/null' EXIT INT TERM
for _ in $(seq 1 100); do
    curl -fs "$URL/api/v1/health" >/dev/null 2>&1 && break
    sleep 0.1
done
ASSAY_ENGINE_URL="$URL" .venv/bin/assay run examples/hello/worker.lua &
WORKER=$!
sleep 1
ID="hello-$(date +%s)"
export ASSAY_ENGINE_URL="$URL"
.venv/bin/assay workflow start --type Hello --id "$ID" --input '{"name":"world"}' --queue hello
.venv/bin/assay workflow wait "$ID" --timeout 30 && .venv/bin/assay workflow describe "$ID"
echo
echo "Engine:    $URL   (dashboard $URL/workflow/ , API docs $URL/api/v1/engine/workflow/docs)"
echo "Workflows: ASSAY_ENGINE_URL=$URL .venv/bin/assay workflow list"
wait $ENGINE
