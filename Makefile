# shipgate's build, test and run targets. `make test` is the whole test suite and what CI runs.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
FUZZTIME ?= 30s
BENCHTIME ?= 1s

.PHONY: all build test fmt-check vet test-race bench fuzz run clean

all: build

## build: a static binary in bin/shipgate
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/shipgate ./cmd/shipgate

## test: gofmt check, go vet, and every test with the race detector
test: fmt-check vet test-race

fmt-check:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change these files:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

test-race:
	$(GO) test -race -count=1 ./...

## bench: every benchmark, with allocations (compare runs with benchstat)
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...

## fuzz: each fuzz target for FUZZTIME (default 30s)
fuzz:
	@for target in FuzzShipyard FuzzSLO FuzzExecutors FuzzConfig FuzzParseCriterion; do \
		echo "== $$target"; \
		$(GO) test ./config -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) || exit 1; \
	done

## run: shipgate serve on its built-in defaults (http://127.0.0.1:8080)
run:
	$(GO) run ./cmd/shipgate serve

clean:
	rm -rf bin
