# Tollgate's build, code generation and tests. `make test` is the one
# command that runs every test on a fresh Debian machine; CI runs it too.

GO      ?= go
BIN     := $(CURDIR)/.bin
TOOLS   := buf protoc-gen-go protoc-gen-connect-go protoc-gen-go-grpc benchstat staticcheck
export PATH := $(BIN):$(PATH)
# Every module builds against its own go.mod (the in-repo modules gen/,
# clients/go/ and deploy/ are wired with replace directives), so a go.work
# a developer created (see `make work`) never changes what make builds.
export GOWORK := off
# The Go modules of this repository: the gateway, its generated API, the Go
# client and the deployment tooling (tools/ only pins the build tools).
GO_MODULES := . gen clients/go deploy

.PHONY: all build tools grpcurl generate check-generated breaking lint deps pgvector client-deps node-deps browser-deps console check-console test-console test test-go fuzz bench run clean release image docs check-docs test-long test-race pgtestd clients work

# Generated code (see buf.gen.yaml and scripts/generate.sh): gen/tollgate
# is the Go module gen/'s generated part, the rest the clients'.
GENERATED := gen/tollgate clients/python/gen clients/ts/src/gen
TS_STAMP   := clients/ts/node_modules/.package-lock.json
SDK_STAMP  := test/sdk/node/node_modules/.package-lock.json
CONSOLE_STAMP := console/node_modules/.package-lock.json
# Debian packages for Python codegen (protoc and its gRPC plugin), the
# Python client's runtime (protoc and python3-protobuf come from one
# release) and its packaging (wheel and sdist built offline, installed into
# a virtual environment).
APT_PKGS   := protobuf-compiler protobuf-compiler-grpc python3-grpcio python3-protobuf \
	python3-build python3-setuptools python3-wheel python3-venv

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/... ./internal/pgtest/cmd/pgtestd

# Pinned tools, built from tools/go.mod into .bin (nothing is downloaded
# outside the Go module proxy). The tests need only grpcurl (the docs'
# admin examples and the interop tests, in make test-long); buf, the
# protoc plugins, staticcheck and benchstat are for codegen, lint and bench.
tools: $(addprefix $(BIN)/,$(TOOLS)) $(BIN)/grpcurl client-deps

$(addprefix $(BIN)/,$(TOOLS)): tools/go.mod tools/go.sum
	cd tools && $(GO) build -o $(BIN)/ \
		github.com/bufbuild/buf/cmd/buf \
		google.golang.org/protobuf/cmd/protoc-gen-go \
		connectrpc.com/connect/cmd/protoc-gen-connect-go \
		google.golang.org/grpc/cmd/protoc-gen-go-grpc \
		golang.org/x/perf/cmd/benchstat \
		honnef.co/go/tools/cmd/staticcheck
	@touch $(addprefix $(BIN)/,$(TOOLS))

grpcurl: $(BIN)/grpcurl

$(BIN)/grpcurl: tools/go.mod tools/go.sum
	cd tools && $(GO) build -o $(BIN)/ github.com/fullstorydev/grpcurl/cmd/grpcurl
	@touch $@

# The SBOM generator of `make release`, pinned in tools/go.mod and built
# on its own so a release does not build the codegen tools.
$(BIN)/cyclonedx-gomod: tools/go.mod tools/go.sum
	cd tools && $(GO) build -o $(BIN)/ github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod

# Reproducible release artefacts in dist/: static binaries for linux and
# darwin on amd64 and arm64, archives, CycloneDX SBOMs and SHA256SUMS
# (VERSION=v1.2.3 or a tag on HEAD names the version; PLATFORMS=os/arch ...
# limits the build). See scripts/release.sh.
release: $(BIN)/cyclonedx-gomod client-deps
	@CYCLONEDX=$(BIN)/cyclonedx-gomod GO=$(GO) bash scripts/release.sh

# The client packages alone, into dist/ (what `make release` adds to the
# binaries): the Python wheel and sdist, the npm tarball and the Go modules
# gen/ and clients/go/ as a GOPROXY directory. VERSION as for release.
clients: client-deps
	$(GO) run ./internal/clientdist/cmd/clientdist -out dist $(if $(VERSION),-version $(VERSION))

# A go.work for editors and ad-hoc commands across the gateway, gen/ and
# clients/go/ (not committed; make itself ignores it, see GOWORK above).
work:
	@test -e go.work || GOWORK= $(GO) work init . ./gen ./clients/go
	@echo "go.work: $$(GOWORK= $(GO) env GOWORK)"

# The container image without a container engine: an OCI image index for
# linux/amd64 and linux/arm64 from the release binaries, as an OCI layout
# (dist/image) and archive (dist/tollgate_<version>_oci.tar). See
# deploy/image; the Dockerfile builds the same image with an engine.
image:
	@$(MAKE) --no-print-directory release PLATFORMS="linux/amd64 linux/arm64" CLIENTS=0
	cd deploy && $(GO) run ./image -dist ../dist

generate: tools
	buf lint
	bash scripts/generate.sh

# Regenerate into a scratch copy and fail on any difference from the tree.
check-generated: tools
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	cp -r proto buf.yaml buf.gen.yaml "$$tmp"/; \
	mkdir -p "$$tmp/clients/ts" && ln -s "$(CURDIR)/clients/ts/node_modules" "$$tmp/clients/ts/node_modules"; \
	bash scripts/generate.sh "$$tmp" && \
	for d in $(GENERATED); do \
		if ! diff -r -x __pycache__ "$$tmp/$$d" "$$d" >/dev/null; then \
			diff -r -x __pycache__ "$$tmp/$$d" "$$d" | head -50; \
			echo "$$d/ is stale: run 'make generate' and commit the result" >&2; exit 1; \
		fi; \
	done; echo "generated code is up to date"

# Generated parts of the docs (the settings table of docs/operations.md,
# from service/server's flag definitions); check-docs fails when they are
# stale, e.g. after a setting was added without `make docs`.
docs:
	$(GO) run ./internal/docgen

check-docs:
	$(GO) run ./internal/docgen -check

# Wire- and JSON-breaking API changes against main (BASE=ref to compare with another).
BASE ?= main
breaking: tools
	buf breaking --against '.git#branch=$(BASE)'

lint: tools
	@out=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go' | grep -v '^gen/')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@for m in $(GO_MODULES); do echo "go vet, staticcheck ($$m)"; (cd $$m && $(GO) vet ./... && $(BIN)/staticcheck ./...) || exit 1; done
	@for m in $(GO_MODULES) tools; do echo "go mod tidy -diff ($$m)"; (cd $$m && $(GO) mod tidy -diff) || { echo "go.mod/go.sum of $$m are not tidy: run go mod tidy there"; exit 1; }; done
	buf lint

# System packages the tests need: PostgreSQL's pgvector extension (all
# that make test needs), and for make test-long the clients' code
# generators and runtimes, the Node SDKs and Chromium.
deps: pgvector client-deps node-deps browser-deps

pgvector:
	@bash scripts/install-pgvector.sh

# The clients' toolchains, installed only when missing: Debian's protoc, gRPC
# Python plugin, Python runtime and packaging tools (build, setuptools,
# wheel, venv), and the TypeScript client's pinned npm packages
# (reinstalled when its lock file changes).
client-deps: $(TS_STAMP)
	@# The module graphs of the Go client and gen into the module cache (go.mod
	@# files only): test/clients lists, offline, the graph of a program outside
	@# the repository that uses the client, and builds and tests download only
	@# the go.mod files their packages need, not the whole graph's.
	cd clients/go && GOWORK=off $(GO) list -m all >/dev/null
	cd gen && GOWORK=off $(GO) list -m all >/dev/null
	@if ! command -v protoc >/dev/null || ! command -v grpc_python_plugin >/dev/null || \
		! /usr/bin/python3 -c 'import grpc, google.protobuf, build, setuptools, wheel, ensurepip' 2>/dev/null; then \
		echo "installing $(APT_PKGS)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PKGS) >/dev/null; \
	fi

# The runtime packages of the TypeScript client also go into npm's cache
# (with their metadata), so that the client's tarball installs offline in a
# fresh project (test/clients does, as its README says).
$(TS_STAMP): clients/ts/package.json clients/ts/package-lock.json
	cd clients/ts && npm ci --no-audit --no-fund
	cd clients/ts && npm cache add $$(node -e 'const l = require("./package-lock.json"); \
		console.log(Object.entries(l.packages).filter(([p, e]) => p && !e.dev).map(([p, e]) => p.replace(/^.*node_modules\//, "") + "@" + e.version).join(" "))')
	@touch $@

# The pinned SDKs of the Node SDK suite (test/sdk/node, run by TestNodeSDK),
# reinstalled when its lock file changes.
node-deps: $(SDK_STAMP)

$(SDK_STAMP): test/sdk/node/package.json test/sdk/node/package-lock.json
	cd test/sdk/node && npm ci --no-audit --no-fund
	@touch $@

# The web console (console/, TypeScript): its pinned toolchain (npm ci from
# the lock file), the build into service/console/dist (committed, embedded
# by go:embed, so `go build` needs no Node), the drift check CI runs, and
# its own unit tests (tsc, then node --test).
$(CONSOLE_STAMP): console/package.json console/package-lock.json
	cd console && npm ci --no-audit --no-fund
	@touch $@

console: $(CONSOLE_STAMP)
	cd console && node build.mjs

check-console: $(CONSOLE_STAMP)
	cd console && node build.mjs --check

test-console: $(CONSOLE_STAMP)
	cd console && npm test --silent

# Headless Chromium for the console's browser tests (test/console, chromedp),
# Debian's package, installed only when missing.
browser-deps:
	@if ! command -v chromium >/dev/null; then \
		echo "installing chromium"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	fi

# One PostgreSQL server for the whole run: pgtestd starts it, builds the
# pre-migrated template databases once, and hands it to every test binary
# (TOLLGATE_PGTEST_URL), which then copies a template per test instead of
# starting a cluster and migrating. go vet runs in make lint, so the test
# run skips it, and test binaries are linked without DWARF (-ldflags=-w: a
# third less link CPU; stack traces are unaffected). GOTESTFLAGS adds
# flags, e.g. GOTESTFLAGS=-race.
#
# make test is the suite every change runs: every package of the gateway's
# module (unit, integration and end to end through the real server), the
# console's unit tests and the Go client's module. It leaves to make
# test-long, which CI also runs, what is long to run or to build:
#   - the long tests (named TestLong..., skipped under -short; in the main
#     module gated by testutil.Long): the HNSW index and the EXPLAIN at
#     scale, the outage under load, the release's reproducibility, and the
#     tests that run grpcurl (building it, xDS and all, costs more CPU on a
#     fresh machine than any test package; TestReflection covers in make
#     test what grpcurl needs of the gateway);
#   - HEAVY_PKGS, the suites whose clients are other programs: the official
#     SDKs (test/sdk: Go and Node; only they import the SDKs, whose
#     compilation alone was a quarter of the suite's compile CPU), the
#     generated clients in Go, Python and TypeScript (test/clients) and the
#     console in headless Chromium (test/console);
#   - deploy/ (its own module, which builds the Helm SDK and Kubernetes'
#     API types): the chart, the OCI image's contents, the systemd unit,
#     the multi-replica rehearsal and the operator's guide.
# gen/ has no tests; the other modules build it.
#
# -p 4 lets the compiler run beside test binaries that mostly wait (on
# PostgreSQL, the gateway or a subprocess), which on two cores would
# otherwise leave a core idle. The tests that run the real binaries
# (cmd/tollgate, cmd/fakeupstream) take the ones make build left in .bin
# (testutil.Commands) instead of each building and linking its own.
GOTESTFLAGS ?=
TESTFLAGS   := -count=1 -vet=off -ldflags=-w -p 4
TESTENV     := TOLLGATE_TEST_COMMANDS=$(BIN)
HEAVY_PKGS  := ./test/sdk/... ./test/clients/... ./test/console/...
HEAVY_RE    := /test/(sdk|clients|console)(/|$$)
# make test: see scripts/test.sh, which overlaps its steps (the console's
# and the Go client's tests run beside the gateway's build and suite).
test:
	@GO="$(GO)" BIN="$(BIN)" MAKE="$(MAKE)" TESTFLAGS="$(TESTFLAGS)" GOTESTFLAGS="$(GOTESTFLAGS)" \
		HEAVY_RE='$(HEAVY_RE)' bash scripts/test.sh

LONG_PKGS = $(sort $(dir $(shell grep -rlw --include='*_test.go' 'testutil.Long' . | grep -v '^./deploy/')))
test-long: deps tools build
	$(TESTENV) $(BIN)/pgtestd -- $(GO) test $(TESTFLAGS) -short -timeout 30m $(GOTESTFLAGS) $(HEAVY_PKGS)
	$(TESTENV) $(BIN)/pgtestd -- $(GO) test $(TESTFLAGS) -timeout 30m -run '^TestLong' $(GOTESTFLAGS) $(LONG_PKGS)
	cd deploy && TOLLGATE_LONG_TESTS=1 $(BIN)/pgtestd -- $(GO) test $(TESTFLAGS) -timeout 30m $(GOTESTFLAGS) ./...

# make test's suite again under the race detector (CI runs it after make
# test-long): the request path shares state between goroutines by design
# (a stream's chunk timer closes the body a relay reads, budgets' leases,
# the accounting writer's batches, admission's pools), and a data race
# there shows only under load or here. About 9 minutes on two cores; the
# real binaries the end-to-end tests run are make build's.
test-race: build pgtestd
	$(TESTENV) $(BIN)/pgtestd -- $(GO) test -race $(TESTFLAGS) -short -timeout 30m $(GOTESTFLAGS) $$($(GO) list ./... | grep -vE '$(HEAVY_RE)')

pgtestd:
	$(GO) build -o $(BIN)/ ./internal/pgtest/cmd/pgtestd

# Go fuzz targets of the hand-written parsers, FUZZTIME each (CI: 30s):
# the SSE reader, the cache key's canonical JSON, the Anthropic and OpenAI
# streams' fast paths, the Bedrock event-stream reader, the request
# decoders of the three dialects, the page tokens and the record log's
# lines. A target that no longer exists fails the run. They need no
# database: the DSN below keeps TestMain from starting a PostgreSQL
# cluster in every fuzz worker (nothing connects to it). A failing input
# is written to the package's testdata/fuzz/ and then runs with go test.
# Minimizing is capped at 5s: by default the coordinator may spend up to
# 60s shrinking each new interesting input, which on targets whose first
# calls cover lazy initialisation (protobuf's) took the whole run.
FUZZTIME ?= 30s
FUZZ_TARGETS := \
	./providers/internal/upstream/sse:FuzzReader \
	./semcache:FuzzCanonicalJSON \
	./providers/anthropic:FuzzFastDelta \
	./providers/openai:FuzzFastChunk \
	./service/openaiapi:FuzzFastChat \
	./service/anthropicapi:FuzzFastMessages \
	./providers/internal/upstream:FuzzWriteRequest \
	./providers/bedrock:FuzzEventReader \
	./internal/apischema:FuzzOpenAIChatRequest \
	./internal/apischema:FuzzAnthropicMessagesRequest \
	./internal/apischema:FuzzGeminiGenerateRequest \
	./service/rpc:FuzzPageToken \
	./service/accounting:FuzzRecordLine

#
# Go 1.26's fuzzing coordinator can end a run at the -fuzztime boundary with
# a bare "context deadline exceeded" failure (golang/go#75804, fixed in
# Go 1.27): no input failed and none is written. Such a run counts as
# passed, and says so; any other failure, or one that wrote an input to
# testdata/fuzz/, fails.
fuzz:
	@set -e; out=$$(mktemp); trap 'rm -f "$$out"' EXIT; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "== $$name ($$pkg, $(FUZZTIME))"; \
		$(GO) test -list "^$$name$$" $$pkg | grep -qx "$$name" || { echo "make fuzz: no fuzz target $$name in $$pkg" >&2; exit 1; }; \
		rc=0; DATABASE_URL=postgres://fuzz@127.0.0.1:1/none $(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg >"$$out" 2>&1 || rc=$$?; \
		cat "$$out"; \
		if [ $$rc -ne 0 ]; then \
			if grep -q '^    context deadline exceeded$$' "$$out" && ! grep -q 'Failing input written' "$$out" && \
				[ -z "$$(git status --porcelain --untracked-files=all -- $$pkg/testdata/fuzz/$$name)" ]; then \
				echo "== $$name: the toolchain's end-of-run race (golang/go#75804), no failing input: passed"; \
			else exit $$rc; fi; \
		fi; \
	done

bench: deps tools
	$(GO) test -run '^$$' -bench . -benchmem -count 6 ./... | tee bench.txt
	benchstat bench.txt

# A working demo with nothing else installed (no PostgreSQL, no root): the
# gateway on the embedded store in .dev/data and a fake OpenAI upstream.
run: build
	@bash scripts/demo.sh

clean:
	rm -rf $(BIN) .dev bench.txt dist
