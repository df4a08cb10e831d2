#!/usr/bin/env bash
# `make test`'s runner: go test over every package; a test that failed is run
# once more, alone, and the run passes only if it passes then. Both outcomes are
# printed: a test that needed the second run is listed as FLAKY at the end, so
# it is seen and fixed, not hidden. A test that fails twice fails the run.
# (Why: the e2e suite drives a real Docker engine, Swarm and a Kubernetes node
# on 2 cores; their schedulers now and then miss a deadline that has nothing to
# do with hcinit.)
# usage: scripts/gotest.sh [go test flags...] PACKAGES...
set -uo pipefail
log=$(mktemp)
trap 'rm -f "$log"' EXIT
go test "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
[ "$status" = 0 ] && exit 0

# Failed top-level tests, with the package each belongs to: a package's
# "--- FAIL: TestX" lines come before its "FAIL<TAB>pkg" line.
mapfile -t failed < <(awk '
	/^--- FAIL: / { split($3, a, "/"); names[a[1]] = 1; next }
	/^FAIL\t/ {
		s = ""; for (n in names) s = s (s == "" ? "" : "|") n
		if (s != "") print $2 " " s
		delete names
	}' "$log" | sort -u)
if [ ${#failed[@]} = 0 ]; then
	echo "gotest: go test failed without a failing test to run again (build error or panic)"
	exit "$status"
fi

# The flags without the package patterns (those start with ./ or name a module path).
flags=()
for a in "$@"; do
	case "$a" in ./* | github.com/*) ;; *) flags+=("$a") ;; esac
done
rc=0
flaky=()
for line in "${failed[@]}"; do
	pkg=${line%% *}
	names=${line#* }
	echo "== gotest: running again, once: $pkg -run '^($names)\$'"
	if go test "${flags[@]}" -run "^($names)\$" "$pkg"; then
		flaky+=("$pkg: $names")
	else
		rc=1
	fi
done
for f in "${flaky[@]}"; do echo "gotest: FLAKY (failed, then passed alone): $f"; done
[ "$rc" = 0 ] && echo "gotest: every failed test passed when run again"
exit "$rc"
