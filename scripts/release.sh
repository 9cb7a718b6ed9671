#!/usr/bin/env bash
# Builds Tollgate's release artefacts into dist/ (used by `make release`):
#
#   dist/tollgate_<version>_<os>_<arch>/tollgate   static binary (+ LICENSE, NOTICE, README.md)
#   dist/tollgate_<version>_<os>_<arch>.tar.gz     the same directory, archived
#   dist/tollgate_<version>_<os>_<arch>.cdx.json   CycloneDX SBOM of that binary
#   dist/SHA256SUMS                                checksums of all of the above
#   dist/VERSION                                   the version string
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
CYCLONEDX="${CYCLONEDX:-.bin/cyclonedx-gomod}"
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
    VERSION="v0.0.0-$(date -u -d "@$epoch" +%Y%m%d%H%M%S)-${commit:0:12}$dirty"
  fi
fi

# Settings that change the bytes of a build, pinned rather than inherited.
export CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" GOAMD64=v1 GOARM64=v8.0
export SOURCE_DATE_EPOCH="$epoch" TZ=UTC LC_ALL=C
ldflags="-s -w -buildid= -X $MODULE/internal/version.version=$VERSION -X $MODULE/internal/version.commit=$commit -X $MODULE/internal/version.date=$date"

rm -rf "$DIST"
mkdir -p "$DIST"
printf '%s\n' "$VERSION" >"$DIST/VERSION"
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
  if ! GOOS=$os GOARCH=$arch "$CYCLONEDX" app -json -packages -licenses -noserial -notimestamp \
    -main cmd/tollgate -output "$DIST/$name.cdx.json" . 2>"$DIST/sbom.log"; then
    cat "$DIST/sbom.log" >&2
    exit 1
  fi
  rm -f "$DIST/sbom.log"
done
(cd "$DIST" && sha256sum -- *.tar.gz *.cdx.json */tollgate >SHA256SUMS)
echo "release: $VERSION ($commit, $date) in $DIST/"
cat "$DIST/SHA256SUMS"
