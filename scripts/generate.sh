#!/usr/bin/env bash
# Generates every client's code from proto/ (used by `make generate` and,
# in a scratch copy of the tree, by `make check-generated`):
#
#   gen/tollgate/             Go (the github.com/tollgate-dev/tollgate/gen module)
#   clients/python/gen/       Python messages, type stubs and gRPC stubs
#   clients/ts/src/gen/       TypeScript (protoc-gen-es)
#
# buf.gen.yaml does not clean its output directories, because gen/ is also
# the root of a Go module (gen/go.mod, gen/go.sum, gen/LICENSE, gen/README.md
# stay): this script removes the generated directories itself, so that a
# deleted or renamed proto leaves no stale file behind.
#
# The Python client carries its own copy of google/type/money.proto's
# module (Debian has no googleapis-common-protos, and a second distribution
# installing a top-level google/type would collide with it): its imports
# are pointed at tollgate._googleapis, which the wheel maps to
# clients/python/gen/google/type (see clients/python/pyproject.toml).
#
# Usage: scripts/generate.sh [DIR]  (DIR holds proto/ and buf.*.yaml; default: the repository)
set -euo pipefail
dir="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
cd "$dir"

rm -rf gen/tollgate clients/python/gen clients/ts/src/gen
buf generate

# `from google.type import money_pb2` (in .py and .pyi files) becomes
# `from tollgate._googleapis import money_pb2`.
find clients/python/gen/tollgate -type f \( -name '*.py' -o -name '*.pyi' \) \
  -exec sed -i -E 's/^from google\.type import /from tollgate._googleapis import /' {} +
