#!/usr/bin/env bash
# One hot endpoint under wrk: GET /runs/{id} of a run created for the purpose.
#   load-tests/run_wrk.sh [BASE_URL] [SECONDS] [CONNECTIONS]
# BASE_URL defaults to the native stack's controller (http://127.0.0.1:8000). The API key comes
# from VIGIL_API_KEY, else from the native stack's .stack/secrets/admin_key. Prints wrk's report
# with the latency distribution.
set -euo pipefail
base=${1:-http://127.0.0.1:8000}
seconds=${2:-15}
connections=${3:-32}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
key=${VIGIL_API_KEY:-$(cat "$(dirname "$0")/../.stack/secrets/admin_key" 2>/dev/null || true)}
[[ -n "$key" ]] || { echo "set VIGIL_API_KEY (or run make up first)" >&2; exit 1; }
lua=$(mktemp --suffix=.lua)
trap 'rm -f "$lua"' EXIT
printf 'wrk.headers["Authorization"] = "Bearer %s"\n' "$key" >"$lua"
run_id=$(curl -fsS -X POST "$base/runs" -H 'Content-Type: application/json' \
  -H "Authorization: Bearer $key" \
  -d '{"name":"wrk hot endpoint","agent":"wrk","project_id":"load"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
echo "GET $base/runs/$run_id for ${seconds}s with $connections connections"
wrk -t1 -c"$connections" -d"${seconds}s" --latency -s "$lua" "$base/runs/$run_id"
