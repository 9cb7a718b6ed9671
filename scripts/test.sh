#!/usr/bin/env bash
# test.sh is `make test`: the gateway module's tests (but the suites
# `make test-long` runs), the console's unit tests and the Go client's.
#
# On a fresh machine the run is bound by the CPU, and its steps leave each
# other's idle time: the Go build links one binary at a time while Node
# installs and tests the console and the Go client's module builds and
# tests. So the steps overlap:
#
#   pgvector install (when missing) ───────────┐
#   console: npm ci, npm test ─────────────────┼────────────────────────────┐
#   compile ./cmd/... pgtestd ─┬─ link them ───┴ gateway suite (pgtestd) ──┼─ report
#                              └─ clients/go tests ─────────────────────────┘
#
# The compiler and linker run with GOGC=200: on a fresh machine most of
# the run is compilation, and the toolchain's garbage collection is a good
# part of it (a cold build of modernc.org/libc, pgx and the OpenTelemetry
# SDK: 69 CPU-s at the default GOGC=100, 59 at 200, for 10 % more peak
# memory). The tests themselves run with the environment's GOGC: go test
# gets it through -toolexec, which only wraps the toolchain.
#
# A step's output is shown when it ends, the suite's as it runs; the run
# fails if any step fails. The Makefile passes GO, BIN, MAKE, TESTFLAGS,
# GOTESTFLAGS and HEAVY_RE (the packages left to make test-long).
set -uo pipefail

toolgc=(-toolexec "env GOGC=200")

side=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$side"' EXIT

# start NAME CMD...: runs CMD in the background, its output kept for report.
start() {
	local name=$1
	shift
	("$@") >"$side/$name.log" 2>&1 &
	echo $! >"$side/$name.pid"
}

# report NAME: waits for NAME, shows its output and returns its status.
report() {
	local rc=0
	wait "$(cat "$side/$1.pid")" || rc=$?
	echo "== $1 ($([ $rc -eq 0 ] && echo ok || echo "failed, exit $rc"))"
	cat "$side/$1.log"
	return $rc
}

start pgvector bash scripts/install-pgvector.sh
start console "$MAKE" --no-print-directory test-console

rc=0
# The commands' packages are compiled first (go list -export: both cores
# busy), then linked (go build, the cache has the packages) while the Go
# client's module, whose dependencies are compiled by then, builds and
# tests beside the links.
cmds=(./cmd/... ./internal/pgtest/cmd/pgtestd)
echo "$GO build -toolexec 'env GOGC=200' -o $BIN/ ${cmds[*]}"
if ! "$GO" list "${toolgc[@]}" -export -deps -f '' "${cmds[@]}" >/dev/null; then
	rc=1
fi
start clients-go bash -c 'cd clients/go && exec "$0" test "$1" "$2" $3 $4 ./...' "$GO" "${toolgc[@]}" "$TESTFLAGS" "${GOTESTFLAGS:-}"
if [ $rc -eq 0 ] && ! "$GO" build "${toolgc[@]}" -o "$BIN/" "${cmds[@]}"; then
	rc=1
fi
report pgvector || rc=1
if [ $rc -eq 0 ]; then
	pkgs=$("$GO" list ./... | grep -vE "$HEAVY_RE") || rc=1
	if [ $rc -eq 0 ]; then
		echo "$BIN/pgtestd -- $GO test -toolexec 'env GOGC=200' $TESTFLAGS -short -timeout 15m ${GOTESTFLAGS:-} <./... but the make test-long suites>"
		# shellcheck disable=SC2086 # the flags and packages are word lists
		TOLLGATE_TEST_COMMANDS=$BIN "$BIN/pgtestd" -- "$GO" test "${toolgc[@]}" $TESTFLAGS -short -timeout 15m ${GOTESTFLAGS:-} $pkgs || rc=1
	fi
fi
report clients-go || rc=1
report console || rc=1
exit $rc
