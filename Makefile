# shipgate's build, test and run targets. `make test` is the whole test suite and what CI runs.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
FUZZTIME ?= 30s
BENCHTIME ?= 1s

# Root installs packages itself; anyone else goes through sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all build deps test fmt-check vet test-race bench fuzz run clean

all: build

## build: a static binary in bin/shipgate
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/shipgate ./cmd/shipgate

## deps: the Prometheus server the SLI provider's tests run against (Debian's prometheus package)
# Installed without recommends (node exporters, IPMI and NVMe tools) that the tests do not use. If the
# package starts a system-wide service on :9090 that does no harm: the tests run their own on free ports.
deps:
	@if command -v prometheus >/dev/null 2>&1 || [ -x /usr/bin/prometheus ]; then :; \
	elif [ "$$SHIPGATE_SKIP_PROMETHEUS" = 1 ]; then echo "prometheus is not installed; SHIPGATE_SKIP_PROMETHEUS=1 skips the tests that need it"; \
	else echo "installing prometheus for the SLI provider's tests"; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; \
	fi

## test: gofmt check, go vet, and every test with the race detector (installs Prometheus first if missing)
test: deps fmt-check vet test-race

fmt-check:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change these files:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

test-race:
	$(GO) test -race -count=1 ./...

## bench: every benchmark, with allocations (compare runs with benchstat)
bench: deps
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...

## fuzz: each fuzz target for FUZZTIME (default 30s)
fuzz:
	@for spec in config:FuzzShipyard config:FuzzSLO config:FuzzExecutors config:FuzzConfig config:FuzzParseCriterion bot:FuzzParseCommand; do \
		pkg=$${spec%%:*}; target=$${spec#*:}; \
		echo "== $$pkg $$target"; \
		$(GO) test ./$$pkg -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s || exit 1; \
	done

## run: shipgate serve on its built-in defaults (http://127.0.0.1:8080)
run:
	$(GO) run ./cmd/shipgate serve

clean:
	rm -rf bin
