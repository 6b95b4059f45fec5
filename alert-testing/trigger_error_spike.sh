#!/usr/bin/env bash
# Drive a burst of 5xx answers through the controller's fault-injection endpoint, so the
# HighErrorRate alert (and the availability burn-rate alert) has something to fire on.
#
# GET /chaos/error always fails with an unhandled exception (a JSON 500, logged and counted
# like a real bug). It exists only when the controller runs with VIGIL_CHAOS=1; without it the
# endpoint is a 404 and this script stops at the first request and says so.
#
# Usage: alert-testing/trigger_error_spike.sh [-d SECONDS | -n COUNT] [-r PER_SECOND] URL
#   URL  the controller's base URL, e.g. http://127.0.0.1:8000
#   -d   send for SECONDS seconds (default 30)
#   -n   send exactly COUNT requests instead
#   -r   requests per second (default 10)
#
# Every request carries X-Request-Id spike-<pid>-<n>, so its log records are easy to find, and
# the admin API key from VIGIL_API_KEY (/chaos needs the admin scope; `vigil stack up` writes
# one to .stack/secrets/admin_key).
# Exit status: 0 when at least one request was answered 5xx, 1 when none was, 2 on misuse or
# when the chaos endpoint is disabled.
set -euo pipefail

usage() {
  sed -n 's/^# \{0,1\}//; 9,13p' "$0" >&2
  exit 2
}

duration=30
count=""
rate=10
while getopts ":d:n:r:h" opt; do
  case "$opt" in
    d) duration="$OPTARG" ;;
    n) count="$OPTARG" ;;
    r) rate="$OPTARG" ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
(($# == 1)) || usage
for number in "$duration" "$rate" ${count:+"$count"}; do
  [[ "$number" =~ ^[1-9][0-9]*$ ]] || { echo "not a positive integer: $number" >&2; usage; }
done
command -v curl >/dev/null || { echo "trigger_error_spike: curl is required" >&2; exit 2; }

url="${1%/}/chaos/error"
auth=()
[[ -n "${VIGIL_API_KEY:-}" ]] && auth=(--header "Authorization: Bearer $VIGIL_API_KEY")
pause=$(awk -v rate="$rate" 'BEGIN { printf "%.3f", 1 / rate }')
end=$((SECONDS + duration))
sent=0
errors=0
other=0

while true; do
  if [[ -n "$count" ]]; then
    ((sent < count)) || break
  else
    ((SECONDS < end)) || break
  fi
  # curl prints 000 when it gets no answer at all; that counts as "other", not as a 5xx.
  code=$(curl --silent --output /dev/null --write-out '%{http_code}' --max-time 5 \
    --header "X-Request-Id: spike-$$-$sent" "${auth[@]}" "$url" || true)
  sent=$((sent + 1))
  case "$code" in
    5??) errors=$((errors + 1)) ;;
    404)
      echo "trigger_error_spike: $url is 404: start the controller with VIGIL_CHAOS=1" >&2
      exit 2
      ;;
    401 | 403)
      echo "trigger_error_spike: $url is $code: set VIGIL_API_KEY to an admin API key" >&2
      exit 2
      ;;
    *) other=$((other + 1)) ;;
  esac
  sleep "$pause"
done

echo "trigger_error_spike: sent $sent requests to $url: $errors answered 5xx, $other other"
((errors > 0))
