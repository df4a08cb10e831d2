#!/usr/bin/env bash
# `make fuzz`'s runner: every fuzz target of the module (each
# `func FuzzX(f *testing.F)` in a _test.go file, found here, so a new target
# cannot be left out), one after the other, each for FUZZTIME (a count of
# inputs, not a duration: with a few seconds, go test can end in "context
# deadline exceeded" while the workers still compute the seeds' baseline
# coverage). Every target runs even when one fails, and an input that failed
# is printed whole with the command that reruns it: go test writes it under
# the package's testdata/fuzz, in a clone that CI throws away.
# usage: FUZZTIME=20000x scripts/fuzz.sh [go test flags...]
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
fuzztime=${FUZZTIME:-20000x}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

mapfile -t targets < <(grep -rEo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' . |
	sed -E 's|^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\(.*|\1 \2|' | sort)
if [ ${#targets[@]} = 0 ]; then
	echo "fuzz: no fuzz targets found"
	exit 1
fi
failed=()
for t in "${targets[@]}"; do
	dir=${t% *} name=${t#* }
	echo "== $name ($dir, $fuzztime)"
	"$GO" test -run='^$' -fuzz="^$name\$" -fuzztime="$fuzztime" "$@" "$dir/" 2>&1 | tee "$log"
	[ "${PIPESTATUS[0]}" = 0 ] && continue
	failed+=("$name")
	for f in $(sed -n 's/.*Failing input written to \(testdata\/fuzz\/[^ ]*\).*/\1/p' "$log"); do
		echo "fuzz: $name's failing input, $dir/$f (rerun: go test -run='^$name/${f##*/}\$' $dir/):"
		cat "$dir/$f"
	done
done
if [ ${#failed[@]} != 0 ]; then
	echo "fuzz: FAILED: ${failed[*]}"
	exit 1
fi
echo "fuzz: ${#targets[@]} targets, $fuzztime each: no finding"
