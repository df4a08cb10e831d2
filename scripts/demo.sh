#!/usr/bin/env bash
# make demo: hcinit in front of an unmodified HTTP app, no Docker needed.
# It shows the health state going starting → healthy → unhealthy → healthy,
# then stops the app with TERM and reports hcinit's exit status.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
sock="$work/hcinit.sock"
fail="$work/fail"
port=${DEMO_PORT:-18080}
hc() { bin/hcinit "$@"; }
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

CGO_ENABLED=0 go build -trimpath -o "$work/legacy-http" ./examples/legacy-http

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# wait_for WANT: ask hcinit (no more than 20 s) until `hcinit check` says WANT.
wait_for() {
	local want=$1 have=""
	for _ in $(seq 1 100); do
		have=$(hc check --socket "$sock" 2>/dev/null | head -n1 || true)
		case "$have" in "$want"*) echo "hcinit check: $have"; return 0 ;; esac
		sleep 0.2
	done
	echo "demo: hcinit never reported '$want' (last: '$have')" >&2
	return 1
}

say "start: hcinit --check http://127.0.0.1:$port/health -- legacy-http"
bin/hcinit --socket "$sock" --interval 500ms --retries 2 --stop-timeout 5s \
	--check "http://127.0.0.1:$port/health" \
	-- "$work/legacy-http" -listen "127.0.0.1:$port" -fail-file "$fail" &
pid=$!

say "the app comes up: starting → healthy"
wait_for healthy
hc status --socket "$sock" || true

say "the app's health endpoint starts failing (touch $fail)"
touch "$fail"
wait_for unhealthy
hc check --socket "$sock" --json | head -n 20 || true

say "it recovers (rm $fail)"
rm -f "$fail"
wait_for healthy

say "docker stop: TERM to hcinit → readiness off, TERM to the app, graceful exit"
kill -TERM "$pid"
set +e
wait "$pid"
code=$?
set -e
echo "hcinit exited with $code (the app's own status)"
[ "$code" = 0 ] || { echo "demo: unexpected exit status $code" >&2; exit 1; }
say "demo passed"
