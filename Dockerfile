# syntax=docker/dockerfile:1
# Tollgate's container image: a static binary on distroless/static, as
# nonroot, with nothing else in it. Build it with a container engine:
#
#   docker build --build-arg VERSION=v1.2.3 --build-arg COMMIT=$(git rev-parse HEAD) \
#     --build-arg DATE=$(git log -1 --format=%cI) -t tollgate:v1.2.3 .
#
# or, without one, `make image` (deploy/image assembles the same image from
# the release binaries). The final stage must agree with deploy/image
# (TestDockerfileMatches checks it). No HEALTHCHECK: orchestrators probe
# /healthz and /readyz.

ARG GO_VERSION=1.26.8

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
ARG COMMIT=""
ARG DATE=""
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH GOFLAGS="-mod=readonly -buildvcs=false" \
    go build -trimpath -o /out/tollgate \
      -ldflags "-s -w -buildid= -X github.com/tollgate-dev/tollgate/internal/version.version=${VERSION} -X github.com/tollgate-dev/tollgate/internal/version.commit=${COMMIT} -X github.com/tollgate-dev/tollgate/internal/version.date=${DATE}" \
      ./cmd/tollgate \
 && mkdir -p /out/spill

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG COMMIT=""
ARG DATE=""
COPY --from=build /out/tollgate /tollgate
COPY --from=build --chown=65532:65532 /out/spill /var/lib/tollgate/spill
ENV TOLLGATE_LISTEN_ADDR=:8080 TOLLGATE_SPILL_DIR=/var/lib/tollgate/spill
USER 65532:65532
EXPOSE 8080/tcp
VOLUME ["/var/lib/tollgate/spill"]
STOPSIGNAL SIGTERM
LABEL org.opencontainers.image.title="tollgate" \
      org.opencontainers.image.description="Tollgate, an AI gateway" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.created="${DATE}" \
      org.opencontainers.image.source="https://github.com/tollgate-dev/tollgate" \
      org.opencontainers.image.url="https://github.com/tollgate-dev/tollgate" \
      org.opencontainers.image.licenses="Apache-2.0"
ENTRYPOINT ["/tollgate"]
CMD ["serve"]
