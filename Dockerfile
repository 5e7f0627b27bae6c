# syntax=docker/dockerfile:1
#
# The multus-entrypoint image: upstream Multus' thin plugin binary plus this
# program as the container's entrypoint. A drop-in for
# ghcr.io/k8snetworkplumbingwg/multus-cni:<version> (thin) in a DaemonSet.
#
#   docker build -t multus-entrypoint:0.1.0 .                    # default image
#   docker build --target crio -t multus-entrypoint:0.1.0-crio .  # with systemctl, for --restart-crio
#
# Stages: `multus` (upstream image, the binary), `build` (compile and
# bundle), `crio` (optional variant), `code-cache` (the bundle's V8 code
# cache, made by the runtime image's own node) and the default runtime
# stage, which must stay the last one.

# The Multus binary that gets installed on the node. Pinned: the plugin's
# version is this image's Multus version. Only /usr/src/multus-cni/bin/multus
# (the thin plugin), bin/multus-shim (thick mode's plugin, --mode=thick; the
# thin image ships it too), bin/passthru and the licence are taken;
# thin_entrypoint, install_multus and friends are replaced by this program.
# MULTUS_VERSION is the one line that names the Multus release: the test
# tools (test/tools/build-components.sh, build-images.sh), the e2e and
# real-node suites' upstream peer and the benchmark read it from here.
ARG MULTUS_VERSION=v4.3.0
FROM ghcr.io/k8snetworkplumbingwg/multus-cni:${MULTUS_VERSION} AS multus

# ---------------------------------------------------------------------------
FROM node:24-bookworm-slim AS build
WORKDIR /src
# Dependencies first, so that a source change reuses this layer.
# --ignore-scripts: `prepare` would build before the sources are here, and the
# `node` devDependency's install script would download a second Node 24
# binary (~120 MB) that this base image already provides. Nothing else the
# build uses needs an install script (esbuild finds its platform binary
# through its optional dependency).
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && rm -f node_modules/.bin/node
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bin ./bin
COPY scripts ./scripts
# tsc, the esbuild bundles (dist/bundle/cli.cjs, src/; dist/bundle/vendor/,
# one file per third-party package, loaded on first use: scripts/build.mjs)
# and their V8 code caches, made by running the program with this stage's
# node (the crio stage's).
RUN npm run build
# What the image runs: package.json, bin/ (CommonJS, its own package.json
# says so) and dist/bundle (the bundles and their code caches). The vendor
# bundles hold every runtime dependency (commander, yaml, chokidar, execa,
# prom-client), so the image has no node_modules at all; the tsc output next
# to them in dist/ is not needed either.
WORKDIR /app
RUN mkdir -p dist \
 && cp /src/package.json ./ \
 && cp -R /src/bin ./ \
 && cp -R /src/dist/bundle ./dist/bundle

# ---------------------------------------------------------------------------
# Optional variant for --restart-crio: the program runs `systemctl restart
# crio`, and distroless has no systemctl. Debian's systemd package provides
# it; with the host's /run/systemd and /run/dbus mounted and a privileged
# pod (manifests/restart-crio), it talks to the host's systemd. Same paths
# as the default image; node is /usr/local/bin/node here.
FROM node:24-bookworm-slim AS crio
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends systemd \
 && rm -rf /var/lib/apt/lists/* \
 && rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
           /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack
COPY --from=multus /usr/src/multus-cni/bin/multus /usr/src/multus-cni/bin/multus
COPY --from=multus /usr/src/multus-cni/bin/passthru /usr/src/multus-cni/bin/passthru
COPY --from=multus /usr/src/multus-cni/bin/multus-shim /usr/src/multus-cni/bin/multus-shim
COPY --from=multus /usr/src/multus-cni/LICENSE /usr/src/multus-cni/LICENSE
COPY images/70-multus.conf /usr/src/multus-cni/images/70-multus.conf
COPY --from=build /app /usr/src/multus-entrypoint
WORKDIR /
ENTRYPOINT ["/usr/local/bin/node", "/usr/src/multus-entrypoint/bin/multus-entrypoint.js"]

# ---------------------------------------------------------------------------
# The code caches the default runtime loads the bundles with: V8 accepts a
# cache only from the same node binary and flags, so they are made here by
# the runtime image's own node, on the app at its final path, by running the
# program on a scratch host root in /tmp (scripts/code-cache.cjs).
# Exec form: distroless has no shell.
FROM gcr.io/distroless/nodejs24-debian12 AS code-cache
COPY --from=build /app /usr/src/multus-entrypoint
COPY --from=build /src/scripts/code-cache.cjs /build/code-cache.cjs
RUN ["/nodejs/bin/node", "/build/code-cache.cjs", "/usr/src/multus-entrypoint"]

# ---------------------------------------------------------------------------
# Default runtime. Distroless Node 24 (Debian 12) rather than node:24-slim:
# Node and the C/TLS libraries it needs, no shell, no package manager, no npm,
# so a much smaller attack surface and CVE inventory for a pod that runs on
# every node with host directories mounted; the program needs nothing else
# (it spawns no tools unless --restart-crio, see the crio stage). It runs as
# root (distroless' default user), which writing the host's root-owned
# /etc/cni/net.d and /opt/cni/bin requires; the pod itself is not privileged.
FROM gcr.io/distroless/nodejs24-debian12
LABEL org.opencontainers.image.title="multus-entrypoint" \
      org.opencontainers.image.description="Multus CNI thin plugin with the multus-entrypoint installer" \
      org.opencontainers.image.licenses="Apache-2.0"
# Where --multus-bin-file, --multus-shim-bin-file and --passthru-bin-file
# point by default (as in upstream's image).
COPY --from=multus /usr/src/multus-cni/bin/multus /usr/src/multus-cni/bin/multus
COPY --from=multus /usr/src/multus-cni/bin/passthru /usr/src/multus-cni/bin/passthru
COPY --from=multus /usr/src/multus-cni/bin/multus-shim /usr/src/multus-cni/bin/multus-shim
COPY --from=multus /usr/src/multus-cni/LICENSE /usr/src/multus-cni/LICENSE
# The default non-auto config, at the path v3's entrypoint.sh used for it:
# --multus-conf-file=/usr/src/multus-cni/images/70-multus.conf
COPY images/70-multus.conf /usr/src/multus-cni/images/70-multus.conf
# package.json, bin/ and dist/bundle/ (with the code cache of this node)
# only: no node_modules, no sources, no tests, no npm cache. Only read at
# run time: a read-only root filesystem is fine.
COPY --from=code-cache /usr/src/multus-entrypoint /usr/src/multus-entrypoint
WORKDIR /
# The package's bin, run by distroless' node (there is no /usr/bin/env for
# the script's shebang). The DaemonSet sets no `command`, only args.
ENTRYPOINT ["/nodejs/bin/node", "/usr/src/multus-entrypoint/bin/multus-entrypoint.js"]
