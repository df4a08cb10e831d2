#!/usr/bin/env bash
# make lint: staticcheck and deadcode must be clean on product code (the
# library, hcinit and internal/, not bench/, e2e/, examples/ or the test
# helpers); no product function (those and the release tool, release/) may
# be over cyclomatic 15 (gocyclo) or 60 lines, and the ten most complex are
# printed. The tools are installed at pinned versions through the module proxy.
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
"$bin/gocyclo" -top 10 -ignore '_test\.go$|bench/|testbin/|e2e/|examples/' .

files=$(git ls-files '*.go' | grep -Ev '_test\.go$|^(bench|e2e|examples)/|/testbin/')
echo "-- no product function over cyclomatic 15 or 60 lines"
# shellcheck disable=SC2086
over=$("$bin/gocyclo" -over 15 $files || true)
# gofmt'd code: a function runs from "func" at the start of a line to the
# first "}" at the start of a line; one-line functions end where they start.
# shellcheck disable=SC2086
long=$(awk '/^func .*}$/ { start = 0; next }
	/^(func|type|var|const) / { start = ($1 == "func") ? FNR : 0 }
	/^}/ && start { if (FNR - start + 1 > 60) print FILENAME ":" start ": " FNR - start + 1 " lines"; start = 0 }' $files)
if [ -n "$over$long" ]; then
	printf '%s\n' "$over" "$long" | grep .
	exit 1
fi
