#!/usr/bin/env bash
# Benchmarks of hcinit against its budgets (DESIGN.md, "Budgets"), side by side
# with minimal Go baselines and the peers (tini, dumb-init, catatonit,
# supervisord, s6-svscan, curl, wget) in one
# run. Prints a Markdown report and writes it to bench/out/results.md.
#
#   make bench                      # builds bin/hcinit, then runs this
#   bash bench/run.sh               # uses bin/hcinit as it is (builds it if missing)
#   bash bench/run.sh -quick        # a smoke test: few repetitions
#   bash bench/run.sh -only start,rss
#   HCINIT=/path/to/hcinit bash bench/run.sh
#   bash bench/run.sh -only start,rss -also new=/tmp/hcinit-new   # A/B, side by side
#   BENCH_HYPERFINE=1 bash bench/run.sh   # also cross-check section 1 with hyperfine
#
# Exit status 0 even when a budget is missed (the row says "OVER BUDGET");
# non-zero only when the benchmark itself cannot run.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=bench/out
HCINIT=${HCINIT:-bin/hcinit}
GO=${GO:-go}
mkdir -p "$OUT"

if [[ ! -x $HCINIT ]]; then
	echo "bench: $HCINIT missing, running make build" >&2
	make build >&2
fi

# The baselines are built exactly like hcinit: static, trimmed, stripped. They
# are timed as copies, like hcinit (the driver copies that one): a freshly
# linked binary starts 6–9 % slower from the page cache than the same bytes
# copied.
mkdir -p "$OUT/build"
for name in minwrap empty stamp unixping httpd orphans; do
	CGO_ENABLED=0 "$GO" build -trimpath -ldflags '-s -w' -o "$OUT/build/$name" "./bench/baseline/$name"
	cp "$OUT/build/$name" "$OUT/$name.tmp" && mv "$OUT/$name.tmp" "$OUT/$name"
done
CGO_ENABLED=0 "$GO" build -trimpath -o "$OUT/driver" ./bench/driver

for tool in tini dumb-init catatonit supervisord s6-svscan curl wget unshare; do
	command -v "$tool" >/dev/null || echo "bench: $tool not installed; its rows will show n/a (make deps installs the peers)" >&2
done

"$OUT/driver" -hcinit "$HCINIT" -out "$OUT" "$@"

if [[ ${BENCH_HYPERFINE:-0} == 1 ]] && command -v hyperfine >/dev/null; then
	echo
	echo "## hyperfine cross-check of section 1 (not interleaved)"
	echo
	hyperfine -N --warmup 20 --runs 300 --style basic --export-markdown "$OUT/hyperfine.md" \
		--export-json "$OUT/hyperfine.json" \
		"$OUT/minwrap /bin/true" \
		"$HCINIT --socket $OUT/run/sock/hf.sock -- /bin/true" \
		"tini -s -- /bin/true" \
		"dumb-init /bin/true" >&2
	cat "$OUT/hyperfine.md"
fi
