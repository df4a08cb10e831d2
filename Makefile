# hcinit / go-healthcheck. `make demo` and `make test` are the two commands the
# README promises on a fresh machine.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GO      ?= go
BIN     := bin
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: fuzz lint build test test-unit e2e bench demo image deps k8s vet windows clean release release-check publish

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/hcinit ./cmd/hcinit

# Everything: installs the peers (tini, dumb-init, catatonit, curl, Docker) when
# missing, starts dockerd, builds the Kubernetes binaries once (k8s), then runs
# every test with the race detector; the e2e tests bring a real cluster up and
# take it down (scripts/k8s.sh).
test: deps k8s
	bash scripts/gotest.sh -race -count=1 -timeout 40m ./...

# Every fuzz target, briefly (CI: .ci/run): scripts/fuzz.sh finds them all and
# prints any input that failed. The seeds and every input that once failed are
# in testdata/fuzz and run with every `go test`. A count, not a duration (see
# the script). To search longer: make fuzz FUZZTIME=3m FUZZFLAGS=-parallel=1.
FUZZTIME ?= 20000x
FUZZFLAGS ?=
fuzz:
	FUZZTIME=$(FUZZTIME) GO=$(GO) bash scripts/fuzz.sh $(FUZZFLAGS)

# Without Docker: -short skips the e2e package.
test-unit:
	$(GO) test -race -count=1 -short ./...

e2e: deps k8s
	$(GO) test -count=1 -v ./e2e/

deps:
	bash scripts/deps.sh

# kubelet, kube-apiserver, etcd, scheduler, controller-manager and kubectl,
# built from the Go module proxy into /var/cache/hcinit-k8s/VERSION/bin when
# missing (cold: ~10-12 min on 2 cores), and the apt packages the cluster needs.
k8s:
	bash scripts/k8s.sh build

# staticcheck and deadcode clean on product code, no product function over
# cyclomatic 15 or 60 lines; prints gocyclo's top 10.
lint:
	GO=$(GO) bash scripts/lint.sh

vet:
	gofmt -l . | (! grep .)
	$(GO) vet ./...

windows:
	GOOS=windows $(GO) build ./common/... ./server/... ./client/... ./internal/hcclient/...

bench: build
	bash bench/run.sh

demo: build
	bash scripts/demo.sh

image: build
	bash scripts/image.sh

clean:
	rm -rf $(BIN) $(DIST)

# Releases (README "Install"). Every input is a function of the commit, so two
# builds of one commit are byte-identical: VERSION and REVISION from git, file
# and image dates from the commit time.
DIST     ?= dist
IMAGE    ?= wisdomoss/hcinit
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
RELEASE_FLAGS = -root $(CURDIR) -dist $(abspath $(DIST)) -go $(GO) -version $(VERSION) \
	-revision $(REVISION) -epoch $(SOURCE_DATE_EPOCH)

# Static binaries for every architecture, image tarballs, the OCI layout and
# SHA256SUMS in $(DIST); the tool is the nested module release/.
release:
	cd release && $(GO) run . build $(RELEASE_FLAGS) -image $(IMAGE)

# What CI proves about a release: reproducible (a second build from a fresh
# clone with an empty build cache is byte-identical), the index and tarballs
# valid, the foreign binaries run under qemu-user-static.
release-check: release
	DIST=$(DIST) VERSION=$(VERSION) REVISION=$(REVISION) SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) \
		IMAGE=$(IMAGE) GO=$(GO) bash scripts/release-check.sh

# Pushes the multi-architecture image of $(DIST)/oci, once verified, as
# $(PUBLISH_TO):$(VERSION) with the credentials of `docker login`.
PUBLISH_TO ?= $(IMAGE)
publish:
	cd release && $(GO) run . verify $(RELEASE_FLAGS) -image $(IMAGE)
	cd release && $(GO) run . push $(RELEASE_FLAGS) -image $(PUBLISH_TO):$(VERSION)
