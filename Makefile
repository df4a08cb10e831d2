# hcinit / go-healthcheck. `make demo` and `make test` are the two commands the
# README promises on a fresh machine.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GO      ?= go
BIN     := bin
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: build test test-unit e2e bench demo image deps vet windows clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/hcinit ./cmd/hcinit

# Everything: installs the peers (tini, dumb-init, catatonit, curl, Docker) when
# missing, starts dockerd, then runs every test with the race detector.
test: deps
	$(GO) test -race -count=1 -timeout 40m ./...

# Without Docker: -short skips the e2e package.
test-unit:
	$(GO) test -race -count=1 -short ./...

e2e: deps
	$(GO) test -count=1 -v ./e2e/

deps:
	bash scripts/deps.sh

vet:
	gofmt -l . | (! grep .)
	$(GO) vet ./...

windows:
	GOOS=windows $(GO) build ./common/... ./server/... ./client/... ./internal/probe/...

bench: build
	bash bench/run.sh

demo: build
	bash scripts/demo.sh

image: build
	bash scripts/image.sh

clean:
	rm -rf $(BIN)
