#!/usr/bin/env bash
# make lint: staticcheck and deadcode must be clean on product code (the
# library, hcinit and internal/, not bench/, e2e/, examples/ or the test
# helpers); the ten most complex product functions are printed (gocyclo). The
# tools are installed at pinned versions through the module proxy.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
bin="$($GO env GOPATH)/bin"
install() { [ -x "$bin/$1" ] && "$bin/$1" -version 2>/dev/null | grep -q -- "$3" || $GO install "$2@$3"; }
install staticcheck honnef.co/go/tools/cmd/staticcheck v0.8.2
[ -x "$bin/deadcode" ] || $GO install golang.org/x/tools/cmd/deadcode@v0.50.0
[ -x "$bin/gocyclo" ] || $GO install github.com/fzipp/gocyclo/cmd/gocyclo@v0.6.0

product=$($GO list ./... | grep -Ev '/(bench|e2e|examples|release)(/|$)|/internal/testbin')
echo "-- staticcheck (product code)"
# shellcheck disable=SC2086
"$bin/staticcheck" -tests=false $product

echo "-- deadcode (from hcinit and the examples; the library's exported API is public)"
dead=$("$bin/deadcode" ./cmd/hcinit ./examples/... | grep -E 'internal/|unreachable func: ([a-z]|[A-Za-z0-9_]+\.[a-z])' || true)
if [ -n "$dead" ]; then
	echo "$dead"
	exit 1
fi

echo "-- gocyclo: the 10 most complex product functions"
"$bin/gocyclo" -top 10 -ignore '_test\.go$|bench/|testbin/|e2e/|examples/|release/' .
