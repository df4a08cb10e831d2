#!/usr/bin/env bash
# Builds the hcinit image: hcinit:$TAG, FROM scratch, holding only /hcinit, from the
# static binary `make build` writes. With --examples it also builds every example
# under examples/ that has a Dockerfile and a main.go, as hcinit-example-NAME:$TAG.
# Nothing is pulled: each build gets a context directory holding only what its
# Dockerfile copies, and the examples take /hcinit from the image built here.
#
# usage: scripts/image.sh [--examples]
# env:   TAG        image tag (default dev)
#        HCINIT_BIN the static hcinit binary (default bin/hcinit, built when missing)
#        LABELS     space-separated KEY=VALUE labels put on every image (the e2e
#                   tests mark theirs this way to remove them afterwards)
#        VERSION    recorded in the image's version label (default: git describe)
#        HCINIT_IMAGE_EXISTS=1  hcinit:$TAG is there already (a release tarball
#                   loaded with docker load): only the examples are built
set -euo pipefail
cd "$(dirname "$0")/.."

examples=false
for a in "$@"; do
	case $a in
	--examples) examples=true ;;
	-h | --help)
		awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
		exit 0
		;;
	*)
		echo "image: unknown argument $a" >&2
		exit 2
		;;
	esac
done

TAG=${TAG:-dev}
HCINIT_BIN=${HCINIT_BIN:-bin/hcinit}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
GO=${GO:-go}

labels=()
for l in ${LABELS:-}; do
	labels+=(--label "$l")
done

if [ "${HCINIT_IMAGE_EXISTS:-}" = 1 ]; then
	docker image inspect "hcinit:$TAG" >/dev/null || { echo "image: HCINIT_IMAGE_EXISTS=1 but there is no hcinit:$TAG" >&2; exit 1; }
elif [ ! -x "$HCINIT_BIN" ]; then
	echo "image: $HCINIT_BIN missing; building it" >&2
	mkdir -p "$(dirname "$HCINIT_BIN")"
	CGO_ENABLED=0 "$GO" build -trimpath -ldflags "-s -w -X main.version=$VERSION" -o "$HCINIT_BIN" ./cmd/hcinit
fi
# A dynamically linked binary would not start in a scratch image; say so here
# rather than as "no such file or directory" from inside a container.
if command -v file >/dev/null 2>&1 && file "$HCINIT_BIN" | grep -q 'dynamically linked'; then
	echo "image: $HCINIT_BIN is dynamically linked; build it with CGO_ENABLED=0 (make build)" >&2
	exit 1
fi

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT

build() { # build IMAGE CONTEXT [docker build args...]
	local image=$1 dir=$2
	shift 2
	local out
	# The output is kept for a failure only: the legacy builder's deprecation
	# notice would otherwise bury the one line that matters.
	if ! out=$(docker build -q "${labels[@]}" "$@" -t "$image" "$dir" 2>&1); then
		echo "$out" >&2
		echo "image: building $image failed" >&2
		exit 1
	fi
	echo "image: built $image" >&2
}

if [ "${HCINIT_IMAGE_EXISTS:-}" != 1 ]; then
	mkdir -p "$ctx/hcinit/bin"
	cp Dockerfile "$ctx/hcinit/Dockerfile"
	cp "$HCINIT_BIN" "$ctx/hcinit/bin/hcinit"
	build "hcinit:$TAG" "$ctx/hcinit" --build-arg "VERSION=$VERSION"
fi

if $examples; then
	for dir in examples/*/; do
		name=$(basename "$dir")
		[ -f "$dir/Dockerfile" ] && [ -f "$dir/main.go" ] || continue
		mkdir -p "$ctx/$name"
		cp "$dir/Dockerfile" "$ctx/$name/Dockerfile"
		CGO_ENABLED=0 "$GO" build -trimpath -ldflags "-s -w" -o "$ctx/$name/app" "./$dir"
		build "hcinit-example-$name:$TAG" "$ctx/$name" --build-arg "HCINIT_IMAGE=hcinit:$TAG"
	done
fi
