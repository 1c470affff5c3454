# syntax=docker/dockerfile:1
#
# Demo images for the Flows API data source. Built by docker-compose.yml
# (`docker compose up --build`); see docs/provisioning.md.
#
# Targets:
#   frontend         the plugin's frontend (webpack production build) in /src/dist
#   backend          the plugin's Go backend, gpx_flows_<os>_<arch>, in /src/dist
#   simulator-build  the Flows API simulator and calico-loader binaries
#   simulator        a small image running the simulator
#   calico-loader    loads Calico-shaped flow logs into OpenSearch (cmd/calico-loader)
#   grafana          Grafana with the plugin in /var/lib/grafana/plugins/flowlens-flows-datasource
#
# The Grafana version is pinned: it must satisfy src/plugin.json's
# dependencies.grafanaDependency and match the @grafana/* packages (13.1.x).
# pkg/plugin/provisioning_test.go checks both.

# ---------------------------------------------------------------- frontend
FROM node:24.21.0 AS frontend
WORKDIR /src
# Dependencies first, so that source edits reuse the npm ci layer.
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund
COPY .config/ .config/
COPY tsconfig.json LICENSE CHANGELOG.md ./
COPY src/ src/
RUN npm run build

# ---------------------------------------------------------------- Go builds
# Cross-compiled on the build machine's platform for the target platform, so
# that the images also work on arm64 hosts (Grafana looks for
# gpx_flows_linux_<arch> next to plugin.json).
FROM --platform=$BUILDPLATFORM golang:1.26.8 AS go-modules
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

FROM go-modules AS backend
# No defaults: BuildKit sets TARGETOS/TARGETARCH from the platform being built, and a default
# here would win over it (docker/buildx#510), giving an arm64 Grafana an amd64 backend.
ARG TARGETOS
ARG TARGETARCH
# Built the way dist/ is (scripts/test-all.sh): mage with the plugin SDK's build targets, which
# read the executable name from plugin.json, set the SDK's build flags and write
# go_plugin_build_manifest. The same Go files as the repository, so the same manifest.
COPY Magefile.go ./
COPY src/plugin.json src/plugin.json
COPY pkg/ pkg/
COPY cmd/ cmd/
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go run github.com/magefile/mage -v build:custom "$TARGETOS" "$TARGETARCH"

FROM go-modules AS simulator-build
ARG TARGETOS
ARG TARGETARCH
COPY pkg/ pkg/
COPY cmd/ cmd/
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w" -o /out/flows-simulator ./cmd/flows-simulator && \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w" -o /out/calico-loader ./cmd/calico-loader

# ---------------------------------------------------------------- simulator
FROM alpine:3.22 AS simulator
COPY --from=simulator-build /out/flows-simulator /usr/local/bin/flows-simulator
USER 65534:65534
EXPOSE 8080
# The token comes from FLOWS_API_TOKEN (default demo-token); see -help for the rest.
ENTRYPOINT ["/usr/local/bin/flows-simulator"]
CMD ["-listen", "0.0.0.0:8080"]

# ---------------------------------------------------------------- calico-loader
# Writes Calico-shaped flow logs from the simulator's traffic into OpenSearch (the Calico demo).
FROM alpine:3.22 AS calico-loader
COPY --from=simulator-build /out/calico-loader /usr/local/bin/calico-loader
USER 65534:65534
ENTRYPOINT ["/usr/local/bin/calico-loader"]

# ---------------------------------------------------------------- grafana
FROM grafana/grafana:13.1.3 AS grafana
COPY --from=frontend --chown=472:0 /src/dist/ /var/lib/grafana/plugins/flowlens-flows-datasource/
COPY --from=backend --chown=472:0 /src/dist/ /var/lib/grafana/plugins/flowlens-flows-datasource/
