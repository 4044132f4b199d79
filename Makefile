# lite: make demo | make test | make bench | make build
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
export LITE_DIR ?= /var/lib/lite

GO ?= go
# mattn/go-sqlite3 links the system's libsqlite3 (the one libdqlite uses) instead of its
# bundled copy, so lited holds one SQLite. Every go build, test and vet gets the tag.
export GOFLAGS := -tags=libsqlite3 $(GOFLAGS)
BIN := bin

.PHONY: all deps test-deps build demo demo-stop test unit e2e bench vet clean install

all: build

deps:
	@./scripts/install-deps.sh

test-deps:
	@./scripts/install-deps.sh --test

build: deps
	$(GO) build -o $(BIN)/lited ./cmd/lited
	$(GO) build -o $(BIN)/lite ./cmd/lite

# demo: packages, build, lited up (in the background, log in $LITE_DIR/lited.log), web1 launched.
demo: build
	@./scripts/demo.sh

demo-stop:
	@./scripts/demo.sh stop

vet:
	$(GO) vet ./...

# Unit and contract tests need no root (tests that do skip, saying so, or fail in CI: see
# internal/roottest); end-to-end tests boot real containers and need root.
unit: deps
	$(GO) vet ./...
	$(GO) test -count=1 $$($(GO) list ./... | grep -vx 'lite/test')

e2e: build test-deps
	LITE_REQUIRE_ROOT=1 $(GO) test -count=1 -p 1 -timeout 60m -v ./test/... 2>&1 | tee e2e.log | grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic)|_test.go' ; exit $${PIPESTATUS[0]}

test: unit e2e

bench: build test-deps
	$(GO) run ./test/bench $(BENCHFLAGS)

install: build
	install -m 0755 $(BIN)/lited /usr/local/bin/lited
	install -m 0755 $(BIN)/lite /usr/local/bin/lite
	install -m 0644 packaging/lited.service /etc/systemd/system/lited.service

clean:
	rm -rf $(BIN) e2e.log
