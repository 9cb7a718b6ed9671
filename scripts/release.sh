#!/usr/bin/env bash
# Builds Tollgate's release artefacts into dist/ (used by `make release`):
#
#   dist/tollgate_<version>_<os>_<arch>/tollgate   static binary (+ LICENSE, NOTICE, README.md)
#   dist/tollgate_<version>_<os>_<arch>.tar.gz     the same directory, archived
#   dist/tollgate_<version>_<os>_<arch>.cdx.json   CycloneDX SBOM of that binary
#   dist/tollgate-<pyversion>-py3-none-any.whl     the Python client's wheel
#   dist/tollgate-<pyversion>.tar.gz               the Python client's sdist
#   dist/tollgate-client-<npmversion>.tgz          the TypeScript client's npm tarball
#   dist/goproxy/                                  the Go modules gen and clients/go (GOPROXY layout)
#   dist/SHA256SUMS                                checksums of all of the above
#   dist/VERSION                                   the version string
#   dist/build.json                                version, commit and date (read by `make image`)
#
# The clients carry the gateway's version, in each ecosystem's spelling
# (internal/clientdist); the Go modules are published by tagging the
# release commit gen/<version> and clients/go/<version> besides <version>,
# which the script prints. CLIENTS=0 builds the binaries only.
#
# Reproducible: the same commit built with the same Go toolchain gives the
# same bytes wherever the checkout lives and whenever it is built. Nothing
# depends on the wall clock (the build date is the commit time), the paths
# (-trimpath), the user, or the environment's Go settings (set here).
#
# Environment: VERSION (default: the v* tag on HEAD, else a Go-style
# pseudo-version from the commit time and hash), PLATFORMS (default: every
# supported os/arch), DIST (default: dist), CYCLONEDX (the SBOM tool; `make
# release` builds the pinned one from tools/go.mod).
set -euo pipefail
cd "$(dirname "$0")/.."

GO="${GO:-go}"
DIST="${DIST:-dist}"
PLATFORMS="${PLATFORMS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64}"
CYCLONEDX="$(realpath "${CYCLONEDX:-.bin/cyclonedx-gomod}")"
MODULE="github.com/tollgate-dev/tollgate"

commit=$(git rev-parse HEAD)
epoch=$(git log -1 --format=%ct HEAD)
date=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)
dirty=""
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  dirty="-dirty"
  echo "release: the working tree has uncommitted changes; the version is marked -dirty and the build is not reproducible" >&2
fi
if [ -z "${VERSION:-}" ]; then
  if tag=$(git describe --tags --exact-match --match 'v[0-9]*' HEAD 2>/dev/null); then
    VERSION="$tag$dirty"
  else
    # A Go pseudo-version (as `go list -m` would print for this commit).
    VERSION="v0.0.0-$(date -u -d "@$epoch" +%Y%m%d%H%M%S)-${commit:0:12}$dirty"
  fi
fi

# The SBOM tool reads the module's Git repository itself and cannot open a
# linked worktree (where .git is a file): it then works on a shared clone
# of the same commit.
sbomdir=.
if [ ! -d .git ]; then
  sbomdir=$(mktemp -d)
  trap 'rm -rf "$sbomdir"' EXIT
  git clone -q --no-checkout "$PWD" "$sbomdir"
  git -C "$sbomdir" checkout -q --detach "$commit"
fi

# Settings that change the bytes of a build, pinned rather than inherited.
export CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" GOAMD64=v1 GOARM64=v8.0
export SOURCE_DATE_EPOCH="$epoch" TZ=UTC LC_ALL=C
ldflags="-s -w -buildid= -X $MODULE/internal/version.version=$VERSION -X $MODULE/internal/version.commit=$commit -X $MODULE/internal/version.date=$date"

rm -rf "$DIST"
mkdir -p "$DIST"
printf '%s\n' "$VERSION" >"$DIST/VERSION"
printf '{"version": "%s", "commit": "%s", "date": "%s"}\n' "$VERSION" "$commit" "$date" >"$DIST/build.json"
for platform in $PLATFORMS; do
  os=${platform%/*}
  arch=${platform#*/}
  name="tollgate_${VERSION}_${os}_${arch}"
  echo "release: $name"
  mkdir -p "$DIST/$name"
  GOOS=$os GOARCH=$arch "$GO" build -trimpath -ldflags "$ldflags" -o "$DIST/$name/tollgate" ./cmd/tollgate
  cp LICENSE NOTICE README.md "$DIST/$name/"
  chmod 0755 "$DIST/$name/tollgate"
  chmod 0644 "$DIST/$name/LICENSE" "$DIST/$name/NOTICE" "$DIST/$name/README.md"
  touch -d "@$epoch" "$DIST/$name" "$DIST/$name"/*
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" --format=gnu \
    -C "$DIST" -cf - "$name" | gzip -n -9 >"$DIST/$name.tar.gz"
  # The SBOM describes the modules and packages linked into this platform's
  # binary, with their licences; no serial number or timestamp, so that it
  # is reproducible too.
  sbom="$PWD/$DIST/$name.cdx.json"
  if ! (cd "$sbomdir" && GOOS=$os GOARCH=$arch "$CYCLONEDX" app -json -packages -licenses -noserial -notimestamp \
    -main cmd/tollgate -output "$sbom" .) 2>"$DIST/sbom.log"; then
    cat "$DIST/sbom.log" >&2
    exit 1
  fi
  rm -f "$DIST/sbom.log"
  # The tool names the main module by its own reading of the tags; name it
  # by the release version instead.
  python3 - "$sbom" "$MODULE" "$VERSION" <<'PY'
import json, sys
path, module, version = sys.argv[1:]
with open(path) as f:
    text = f.read()
old = json.loads(text)["metadata"]["component"]["version"]
text = text.replace(module + "@" + old, module + "@" + version).replace('"version": "%s"' % old, '"version": "%s"' % version)
with open(path, "w") as f:
    f.write(text)
PY
done
clients=()
if [ "${CLIENTS:-1}" != 0 ]; then
  echo "release: clients"
  # With the environment's Go settings, not the ones pinned for the binaries.
  (unset GOFLAGS GOAMD64 GOARM64; CGO_ENABLED=1 "$GO" run ./internal/clientdist/cmd/clientdist -out "$DIST" -version "$VERSION") >/dev/null
  mapfile -t clients < <(cd "$DIST" && ls -- *.whl *.tgz && find goproxy -name '*.zip' | sort)
fi
(cd "$DIST" && sha256sum -- *.tar.gz *.cdx.json */tollgate "${clients[@]}" >SHA256SUMS)
echo "release: $VERSION ($commit, $date) in $DIST/"
cat "$DIST/SHA256SUMS"
if [ "${CLIENTS:-1}" != 0 ]; then
  if [[ "$VERSION" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-(alpha|beta|rc)\.[0-9]+)?$ ]]; then
    echo "release: publish the Go modules by tagging this commit for the gateway and both modules:"
    echo "  git tag $VERSION $commit && git tag gen/$VERSION $commit && git tag clients/go/$VERSION $commit"
    echo "  git push origin $VERSION gen/$VERSION clients/go/$VERSION"
  else
    echo "release: $VERSION is not a release version: no Go module tags (docs/releasing.md)"
  fi
fi
