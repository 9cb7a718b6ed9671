# Tollgate's build, code generation and tests. `make test` is the one
# command that runs every test on a fresh Debian machine; CI runs it too.

GO      ?= go
BIN     := $(CURDIR)/.bin
TOOLS   := buf protoc-gen-go protoc-gen-connect-go protoc-gen-go-grpc grpcurl benchstat
export PATH := $(BIN):$(PATH)

.PHONY: all build tools generate check-generated lint deps test test-go bench run clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# Pinned tools, built from tools/go.mod into .bin (nothing is downloaded
# outside the Go module proxy).
tools: $(addprefix $(BIN)/,$(TOOLS))

$(addprefix $(BIN)/,$(TOOLS)): tools/go.mod tools/go.sum
	cd tools && $(GO) build -o $(BIN)/ \
		github.com/bufbuild/buf/cmd/buf \
		google.golang.org/protobuf/cmd/protoc-gen-go \
		connectrpc.com/connect/cmd/protoc-gen-connect-go \
		google.golang.org/grpc/cmd/protoc-gen-go-grpc \
		github.com/fullstorydev/grpcurl/cmd/grpcurl \
		golang.org/x/perf/cmd/benchstat
	@touch $(addprefix $(BIN)/,$(TOOLS))

generate: tools
	buf lint
	buf generate

# Regenerate into a scratch copy and fail on any difference from gen/.
check-generated: tools
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	cp -r proto buf.yaml buf.gen.yaml "$$tmp"/; \
	(cd "$$tmp" && buf generate) && \
	if ! diff -r "$$tmp/gen" gen >/dev/null; then \
		diff -r "$$tmp/gen" gen | head -50; \
		echo "gen/ is stale: run 'make generate' and commit the result" >&2; exit 1; \
	fi; echo "generated code is up to date"

lint: tools
	@out=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go' | grep -v '^gen/')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	buf lint

# System packages the tests need: PostgreSQL's pgvector extension.
deps:
	@bash scripts/install-pgvector.sh

test: deps tools
	$(GO) test -count=1 -timeout 15m ./...

bench: deps tools
	$(GO) test -run '^$$' -bench . -benchmem -count 6 ./... | tee bench.txt
	benchstat bench.txt

# A working demo: local Postgres, a fake OpenAI upstream and the gateway.
run: deps build
	@bash scripts/demo.sh

clean:
	rm -rf $(BIN) .dev bench.txt
