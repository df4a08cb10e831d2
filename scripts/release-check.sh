#!/usr/bin/env bash
# Checks a release that `make release` wrote (make release-check; CI runs it):
#   1. the artifacts with the library that wrote them: SHA256SUMS, static
#      stripped ELF per machine, the OCI index (every platform, each image only
#      /hcinit with the binary's sha256, labels) and the per-arch tarballs;
#   2. the arm64 and s390x binaries under qemu-user-static: version, PID 1 in a
#      fresh PID namespace (exit code, forwarded signals, a reaped orphan),
#      `hcinit check` against it (release/qemu_test.go);
#   3. reproducibility: a second `make release` from a fresh clone of HEAD, in
#      another directory, with an empty Go build cache, is byte-identical.
#
# env: DIST (default dist), VERSION, REVISION, SOURCE_DATE_EPOCH, IMAGE, GO as
#      the Makefile passes them; REPRO=0 skips step 3.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
GO=${GO:-go}
DIST=$(cd "${DIST:-dist}" && pwd)
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
REVISION=${REVISION:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
IMAGE=${IMAGE:-wisdomoss/hcinit}
flags=(-root "$root" -dist "$DIST" -go "$GO" -version "$VERSION" -revision "$REVISION" -epoch "$SOURCE_DATE_EPOCH" -image "$IMAGE")

echo "== release: vet the release tool (a module of its own: go vet ./... at the root skips it)"
(cd release && "$GO" vet ./...)

echo "== release: verify $DIST (go-containerregistry)"
(cd release && "$GO" run . verify "${flags[@]}")

echo "== release: the release tool's tests (a changed binary is caught, push to a loopback registry) and the foreign binaries under qemu-user-static"
for q in qemu-aarch64-static qemu-s390x-static; do
	command -v "$q" >/dev/null || { echo "release-check: $q missing (apt-get install qemu-user-static; scripts/deps.sh does)" >&2; exit 1; }
done
(cd release && HCINIT_DIST="$DIST" HCINIT_VERSION="$VERSION" HCINIT_REVISION="$REVISION" \
	HCINIT_EPOCH="$SOURCE_DATE_EPOCH" HCINIT_IMAGE="$IMAGE" "$GO" test -count=1 -v ./...)

if [ "${REPRO:-1}" = 0 ]; then
	echo "== release: reproducibility check skipped (REPRO=0)"
	exit 0
fi
echo "== release: reproducible? a second build from a fresh clone, empty build cache"
if [ -n "$(git status --porcelain)" ]; then
	echo "release-check: the working tree has uncommitted changes; a clone of HEAD cannot build the same bytes. Commit first (or REPRO=0)." >&2
	exit 1
fi
tmp=$(mktemp -d /tmp/hcinit-repro.XXXXXX)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
git clone -q --no-checkout "$root" "$tmp/src"
git -C "$tmp/src" checkout -q --detach "$REVISION"
start=$(date +%s)
# The module cache is shared (it holds sources, verified by go.sum); hcinit's
# builds get an empty build cache, so every package of it is compiled again
# (the release tool itself comes from the usual cache).
RELEASE_GOCACHE="$tmp/gocache" make -s -C "$tmp/src" release GO="$GO" DIST="$tmp/dist" \
	VERSION="$VERSION" REVISION="$REVISION" SOURCE_DATE_EPOCH="$SOURCE_DATE_EPOCH" IMAGE="$IMAGE"
echo "release-check: second build took $(($(date +%s) - start))s"
if diff -r "$DIST" "$tmp/dist"; then
	echo "release-check: reproducible: every file in $DIST is byte-identical to the second build ($(wc -l <"$DIST/SHA256SUMS") sums, oci/ $(find "$DIST/oci" -type f | wc -l) files)"
else
	echo "release-check: NOT reproducible: the files above differ between two builds of $REVISION" >&2
	exit 1
fi
