# shipgate's build, test and run targets. `make test` is the whole test suite and what CI runs.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
FUZZTIME ?= 30s
BENCHTIME ?= 1s

# Root installs packages itself; anyone else goes through sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all build deps apt-deps kube-apiserver kube-controller-manager e2e-deps contract-deps demo test fmt-check vet test-race bench bench-growth fuzz run clean

all: build

## build: a static binary in bin/shipgate
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/shipgate ./cmd/shipgate

## deps: what the tests run against: Debian's prometheus (the SLI provider), etcd-server, chromium and curl,
## with fonts-noto-color-emoji (so that the browser tour's screenshots show emoji as people see them),
## kube-apiserver and kube-controller-manager built once into .cache/kube (the helm executor and the job
## executor; see hack/kube-apiserver.sh),
## playwright-core in .cache/e2e (the browser tour of shipgate demo), and TypeScript with Slack's and
## Discord's published API types in .cache/contract (the contract test of what the chat fakes record)
# Installed without recommends (node exporters, IPMI and NVMe tools) that the tests do not use. If the
# packages start system-wide services on :9090 or :2379 that does no harm: the tests run their own on
# free ports.
deps: apt-deps kube-apiserver kube-controller-manager e2e-deps contract-deps

# Each entry is WHAT:PACKAGE:SKIPVAR: the package is installed unless WHAT is there, a command on the PATH
# (or in /usr/bin), or a file when WHAT is an absolute path (a package with no command, such as a font).
# curl runs the curl commands that shipgate demo and make run print, as printed; without it
# (SHIPGATE_SKIP_CURL=1) those tests send the same requests with Go's client.
APT_DEPS = prometheus:prometheus:SHIPGATE_SKIP_PROMETHEUS etcd:etcd-server:SHIPGATE_SKIP_KUBE chromium:chromium:SHIPGATE_SKIP_BROWSER \
	/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf:fonts-noto-color-emoji:SHIPGATE_SKIP_BROWSER \
	curl:curl:SHIPGATE_SKIP_CURL

## e2e-deps: playwright-core (npm) for the browser tour, in .cache/e2e; it drives Debian's chromium and
## never downloads a browser of its own
PLAYWRIGHT_VERSION = 1.64.1
e2e-deps:
	@if [ "$$SHIPGATE_SKIP_BROWSER" = 1 ]; then echo "SHIPGATE_SKIP_BROWSER=1: not installing playwright-core"; \
	elif [ -d .cache/e2e/node_modules/playwright-core ]; then :; \
	else echo "installing playwright-core $(PLAYWRIGHT_VERSION) for the browser tour"; \
		mkdir -p .cache/e2e && cd .cache/e2e && \
		PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --silent --prefix . playwright-core@$(PLAYWRIGHT_VERSION) >/dev/null; \
	fi

## contract-deps: typescript (tsc) and the platforms' published API types (npm) in .cache/contract, which
## adapters/chatfake/contract type-checks the request bodies the Slack and Discord fakes record against;
## reinstalled when the pinned versions change
CONTRACT_PACKAGES = typescript@7.0.2 @slack/web-api@8.2.0 @slack/types@3.2.0 discord-api-types@0.38.57
contract-deps:
	@if [ "$$SHIPGATE_SKIP_CONTRACT" = 1 ]; then echo "SHIPGATE_SKIP_CONTRACT=1: not installing the contract test's TypeScript packages"; \
	elif [ "$$(cat .cache/contract/installed 2>/dev/null)" = "$(CONTRACT_PACKAGES)" ] && \
		[ -d .cache/contract/node_modules/typescript ] && [ -d .cache/contract/node_modules/@slack/web-api ] && \
		[ -d .cache/contract/node_modules/@slack/types ] && [ -d .cache/contract/node_modules/discord-api-types ]; then :; \
	else echo "installing $(CONTRACT_PACKAGES) for the contract test"; \
		mkdir -p .cache/contract && cd .cache/contract && rm -f installed && \
		npm install --no-audit --no-fund --silent --prefix . $(CONTRACT_PACKAGES) >/dev/null && \
		echo "$(CONTRACT_PACKAGES)" > installed; \
	fi

apt-deps:
	@missing=""; for spec in $(APT_DEPS); do \
		what=$${spec%%:*}; rest=$${spec#*:}; pkg=$${rest%%:*}; skip=$${rest#*:}; \
		case $$what in \
		/*) if [ -e $$what ]; then continue; fi; what=$$pkg;; \
		*) if command -v $$what >/dev/null 2>&1 || [ -x /usr/bin/$$what ]; then continue; fi;; \
		esac; \
		if [ "$$(printenv $$skip)" = 1 ]; then echo "$$what is not installed; $$skip=1 skips the tests that need it"; continue; fi; \
		missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing for the tests"; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

## kube-apiserver: build the API server the helm executor's tests deploy to (a few minutes, once)
kube-apiserver:
	@if [ "$$SHIPGATE_SKIP_KUBE" = 1 ]; then echo "SHIPGATE_SKIP_KUBE=1: not building kube-apiserver"; \
	else ./hack/kube-apiserver.sh >/dev/null; fi

## kube-controller-manager: build the controller-manager whose job controller runs the job executor's test
## Jobs (a few minutes, once; kubetest.SharedWithControllers)
kube-controller-manager:
	@if [ "$$SHIPGATE_SKIP_KUBE" = 1 ]; then echo "SHIPGATE_SKIP_KUBE=1: not building kube-controller-manager"; \
	else KUBE_CMD=kube-controller-manager ./hack/kube-apiserver.sh >/dev/null; fi

## test: gofmt check, go vet, and every test with the race detector (installs and builds deps first)
test: deps fmt-check vet test-race

fmt-check:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change these files:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

test-race:
	$(GO) test -race -count=1 ./...

## bench: every benchmark, with allocations (compare runs with benchstat); BenchmarkGrowth takes minutes
bench: deps
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) -timeout 60m ./...

## bench-growth: only the growth benchmark (hack/growth): shipgate serve on 1,000, 10,000 and 100,000 deliveries
bench-growth:
	$(GO) test -run '^$$' -bench '^BenchmarkGrowth$$' -benchtime 1x -timeout 60m ./hack/growth

## fuzz: each fuzz target for FUZZTIME (default 30s)
fuzz:
	@for spec in config:FuzzShipyard config:FuzzSLO config:FuzzExecutors config:FuzzConfig config:FuzzParseCriterion bot:FuzzParseCommand adapters/exec:FuzzOutput adapters/exec:FuzzParseSLIResults adapters/api:FuzzSequenceTrigger adapters/discord:FuzzParseCustomID adapters/discord:FuzzRenderLimits adapters/discord:FuzzEscape; do \
		pkg=$${spec%%:*}; target=$${spec#*:}; \
		echo "== $$pkg $$target"; \
		$(GO) test ./$$pkg -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s || exit 1; \
	done

## demo: the tutorial on the built-in project, with the web console at http://127.0.0.1:8080
demo:
	$(GO) run ./cmd/shipgate demo

## run: shipgate serve --dev on the example project (examples/run.yaml): the web console at
## http://127.0.0.1:8080 and an API token, printed with a curl command for CI; data in .shipgate-run
run:
	$(GO) run ./cmd/shipgate serve --config examples/run.yaml --dev

clean:
	rm -rf bin
