#!/usr/bin/env bash
# Builds the multus-entrypoint images with buildah: no Docker engine, no
# registry (vfs storage, chroot isolation, --pull=never).
#   1. Stand-ins for the three bases the Dockerfile names, under those exact
#      names and with the layout it relies on, built from local inputs and
#      cached in buildah's storage, keyed by what they are built from:
#        ghcr.io/k8snetworkplumbingwg/multus-cni:$MULTUS_VERSION  upstream's binaries (FROM scratch)
#        node:24-bookworm-slim                 Debian bookworm (mmdebstrap) + Node 24 + npm
#        gcr.io/distroless/nodejs24-debian12   FROM scratch: /nodejs/bin/node, its libraries, CAs, passwd
#   2. The project's Dockerfile as it is in the checkout, default target and
#      --target crio (rebuilt on every run).
#   3. The real-node suite's peer: upstream's thin image under the name its
#      own multus-daemonset.yml uses (the multus stand-in, same layout).
#   4. Upstream's thick image of the same release (multus-daemon, multus-shim,
#      install_multus; the name manifests/thick names), for thick mode's
#      real-node scenarios: the daemon beside ours, and upstream's own
#      multus-daemonset-thick.yml.
# Each image is exported to a docker-archive (for `ctr images import`), then
# the two product images run `--help` under a throwaway containerd + runc.
# The archives are cached in <out>, keyed by everything that goes into them
# (product_key): a run whose inputs did not change reuses them, building
# and smoke-running nothing (they passed the smoke when they were built).
# Delete <out>/images.key to force a rebuild; --print-key prints the key
# this checkout gives and builds nothing.
#
# stdout: `image <name> <archive> <bytes>`, one line per image (also written
# to <out>/images.lines); logs on stderr.
# Exits non-zero on any failure (a broken Dockerfile, an image that does not start).
#
# Usage: build-images.sh [--out DIR] [--no-run] [--print-key]
# Env: IMAGE (localhost/multus-entrypoint:dev), IMAGE_CRIO ($IMAGE-crio),
#      IMAGE_OUT_DIR ($CACHE/images), MULTUS_ENTRYPOINT_CACHE (~/.cache/multus-entrypoint),
#      MULTUS_VERSION (the Dockerfile's ARG MULTUS_VERSION), DEBIAN_MIRROR (http://deb.debian.org/debian),
#      STANDIN_NPM_VERSION (npm put into the node stand-in, 11.19.1).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${MULTUS_ENTRYPOINT_CACHE:-$HOME/.cache/multus-entrypoint}
# The Multus release: the Dockerfile's `ARG MULTUS_VERSION` line, the only
# place it is named; an override in the environment reaches the Dockerfile
# as a --build-arg, so the stand-in and the FROM line always agree.
MULTUS_VERSION=${MULTUS_VERSION:-$(sed -n 's/^ARG MULTUS_VERSION=//p' "$ROOT/Dockerfile")}
IMAGE=${IMAGE:-localhost/multus-entrypoint:dev}
IMAGE_CRIO=${IMAGE_CRIO:-$IMAGE-crio}
OUT=${IMAGE_OUT_DIR:-$CACHE/images}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
NPM_VERSION=${STANDIN_NPM_VERSION:-11.19.1}
RUN_SMOKE=1
PRINT_KEY=0

while [ $# -gt 0 ]; do
  case $1 in
    --out) OUT=$2; shift 2 ;;
    --out=*) OUT=${1#--out=}; shift ;;
    --no-run) RUN_SMOKE=0; shift ;;
    --print-key) PRINT_KEY=1; shift ;;
    *) echo "build-images: unknown argument $1 (usage: build-images.sh [--out DIR] [--no-run] [--print-key])" >&2; exit 2 ;;
  esac
done

# The names the Dockerfile's FROM lines use, and the one upstream's manifest uses.
MULTUS_BASE=ghcr.io/k8snetworkplumbingwg/multus-cni:$MULTUS_VERSION
NODE_BASE=node:24-bookworm-slim
DISTROLESS_BASE=gcr.io/distroless/nodejs24-debian12
MULTUS_DIR=$CACHE/multus-$MULTUS_VERSION
THICK_DIR=$CACHE/multus-thick-$MULTUS_VERSION
THICK=ghcr.io/k8snetworkplumbingwg/multus-cni:$MULTUS_VERSION-thick
KEY_LABEL=io.multus-entrypoint.stand-in-key

# A storage of our own: the stand-ins never mix with other images on the
# machine, and the cache is one directory to delete.
STORE=$CACHE/buildah
B=(buildah --root "$STORE/root" --runroot "$STORE/runroot" --storage-driver vfs)

log() { printf 'build-images [%4ss]: %s\n' "$SECONDS" "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ -n "$MULTUS_VERSION" ] || die "$ROOT/Dockerfile has no ARG MULTUS_VERSION=<version> line (or set MULTUS_VERSION)"
for tool in buildah mmdebstrap containerd ctr runc npm sha256sum flock; do
  command -v "$tool" >/dev/null || die "$tool not found (Debian: apt-get install buildah mmdebstrap containerd runc)"
done

mkdir -p "$STORE" "$OUT"
exec 9>"$STORE/lock"
flock -n 9 || { log "waiting for another build-images run (lock $STORE/lock)"; flock 9; }

# A run killed mid-build (SIGKILL skips the EXIT trap, and so does a bud's own
# cleanup) leaves its working containers in this store. They pin the multus
# stand-in, which the next bud then fails to delete (see build_product:
# "image used by <container>: image is in use by a container"), after the
# image was built. The store is ours and the lock is held: no container in it
# belongs to a live run.
STALE=$("${B[@]}" containers --all --quiet)
if [ -n "$STALE" ]; then
  log "removing $(wc -w <<<"$STALE") working container(s) left by a killed run: $(echo $STALE)"
  "${B[@]}" rm --all >/dev/null || die "buildah rm --all in $STORE failed"
fi

# A failed run must not leave the last run's list pointing at its archives.
[ $PRINT_KEY = 1 ] || rm -f "$OUT/images.lines"

TMP=$(mktemp -d /tmp/build-images.XXXXXX)
CONTAINERS=()     # buildah working containers to remove on exit
SMOKE_DIR=''      # the throwaway containerd's directory, while it exists
CTRD_PID=''

cleanup() {
  local rc=$?
  set +e
  [ -n "$SMOKE_DIR" ] && stop_containerd
  local c
  for c in "${CONTAINERS[@]}"; do "${B[@]}" rm "$c" >/dev/null 2>&1; done
  rm -rf "$TMP"
  [ $rc -ne 0 ] && log "FAILED (exit $rc)"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A short content key: the recipe (the function's own text) plus its inputs
# (file contents, or strings).
key_of() {
  local fn=$1; shift
  {
    declare -f "$fn"
    local x
    for x in "$@"; do
      if [ -f "$x" ]; then sha256sum < "$x"; else echo "$x"; fi
    done
  } | sha256sum | cut -c1-16
}

# The stand-in key label of a local image, empty when it is absent.
key_in_store() {
  "${B[@]}" inspect --type image --format "{{index .OCIv1.Config.Labels \"$KEY_LABEL\"}}" "$1" 2>/dev/null || true
}

# An image FROM scratch of $ctx/rootfs (owned by root), with its entrypoint,
# the recipe's key and where it came from as labels.
commit_scratch_image() {
  local name=$1 key=$2 ctx=$3 entrypoint=$4 source=$5 c
  tar -C "$ctx/rootfs" --numeric-owner --owner=0 --group=0 -cf "$ctx/rootfs.tar" .
  c=$("${B[@]}" from --pull=never scratch); CONTAINERS+=("$c")
  "${B[@]}" add "$c" "$ctx/rootfs.tar" / >/dev/null
  "${B[@]}" config --workingdir / --entrypoint "$entrypoint" --cmd '' \
    --label "$KEY_LABEL=$key" --label "org.opencontainers.image.source=$source, built by build-images.sh" "$c"
  "${B[@]}" commit --quiet --rm "$c" "$name" >/dev/null
}

# ---------------------------------------------------------------------------
# Stand-in: ghcr.io/k8snetworkplumbingwg/multus-cni (thin). Upstream's image is
# distroless/base plus build-go.sh's bin/ at /usr/src/multus-cni/bin, the
# LICENSE, and /install_multus and /thin_entrypoint at the root. The
# binaries are static (CGO_ENABLED=0), so FROM scratch runs them.
build_multus_base() {
  local name=$1 key=$2 ctx=$TMP/multus-ctx b
  rm -rf "$ctx"
  mkdir -p "$ctx/rootfs/usr/src/multus-cni/bin" "$ctx/rootfs/tmp"
  chmod 1777 "$ctx/rootfs/tmp"
  for b in multus multus-shim passthru install_multus thin_entrypoint; do
    cp "$MULTUS_DIR/$b" "$ctx/rootfs/usr/src/multus-cni/bin/$b"
  done
  cp "$MULTUS_DIR/install_multus" "$MULTUS_DIR/thin_entrypoint" "$ctx/rootfs/"
  cp "$MULTUS_DIR/LICENSE" "$ctx/rootfs/usr/src/multus-cni/LICENSE"
  commit_scratch_image "$name" "$key" "$ctx" '["/thin_entrypoint"]' "multus-cni $MULTUS_VERSION"
}

# Upstream's thick image (Dockerfile.thick): distroless/base plus build-go.sh's
# bin/ at /usr/src/multus-cni/bin and the LICENSE; its DaemonSet runs
# bin/multus-daemon, and bin/install_multus -t thick (which copies
# bin/multus-shim and bin/passthru) as init container. Static binaries: FROM scratch runs them.
# Both directories hold the same release (build-components.sh).
build_thick_image() {
  local name=$1 key=$2 ctx=$TMP/thick-ctx b
  rm -rf "$ctx"
  mkdir -p "$ctx/rootfs/usr/src/multus-cni/bin" "$ctx/rootfs/tmp" "$ctx/rootfs/etc"
  chmod 1777 "$ctx/rootfs/tmp"
  # distroless/base's users: multus-daemon looks itself up (os/user reads
  # /etc/passwd) to check it runs as root, and panics when it cannot.
  printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
    'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' > "$ctx/rootfs/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'nonroot:x:65532:' > "$ctx/rootfs/etc/group"
  # distroless' /var/run -> /run: the runtime names netns /var/run/netns/..., mounted at /run/netns
  mkdir -p "$ctx/rootfs/var" "$ctx/rootfs/run"
  ln -s /run "$ctx/rootfs/var/run"
  for b in multus-daemon multus-shim; do cp "$THICK_DIR/$b" "$ctx/rootfs/usr/src/multus-cni/bin/$b"; done
  # install_multus -t thick copies multus-shim and passthru to the node
  cp "$MULTUS_DIR/install_multus" "$MULTUS_DIR/passthru" "$ctx/rootfs/usr/src/multus-cni/bin/"
  cp "$MULTUS_DIR/LICENSE" "$ctx/rootfs/usr/src/multus-cni/LICENSE"
  commit_scratch_image "$name" "$key" "$ctx" '["/usr/src/multus-cni/bin/multus-daemon"]' "multus-cni $MULTUS_VERSION thick"
}

# Debian bookworm, minbase, docs and locales left out like the -slim images.
# Cached as a tarball: both the node and the distroless stand-ins start from it.
build_bookworm_rootfs() {
  local tar=$1
  mmdebstrap --variant=minbase --format=tar --quiet \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --aptopt='Acquire::Retries "3"' \
    bookworm "$tar.tmp" "deb $DEBIAN_MIRROR bookworm main" "deb $DEBIAN_MIRROR bookworm-updates main" >&2
  mv "$tar.tmp" "$tar"
}

# This machine's npm trust: npm in the node stand-in must reach the registry
# the way npm on the host does (a proxy's CA, a registry mirror).
NPM_CAFILE=$(npm config get cafile 2>/dev/null || true)
case $NPM_CAFILE in null|undefined) NPM_CAFILE='' ;; esac
[ -n "$NPM_CAFILE" ] && [ ! -f "$NPM_CAFILE" ] && NPM_CAFILE=''
NPM_REGISTRY=$(npm config get registry 2>/dev/null || echo https://registry.npmjs.org/)

# Stand-in: node:24-bookworm-slim. Node at /usr/local/bin/node, npm in
# /usr/local/lib/node_modules/npm with the usual bin links, as the official
# image lays them out.
build_node_base() {
  local key=$1 rootfs_tar=$2 node_bin=$3 npm_tgz=$4 st=$TMP/node-stage
  mkdir -p "$st/usr/local/bin" "$st/usr/local/lib/node_modules" "$st/usr/local/etc"
  cp "$node_bin" "$st/usr/local/bin/node"
  chmod 755 "$st/usr/local/bin/node"
  tar -xzf "$npm_tgz" -C "$st/usr/local/lib/node_modules"
  mv "$st/usr/local/lib/node_modules/package" "$st/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$st/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$st/usr/local/bin/npx"
  {
    echo "registry=$NPM_REGISTRY"
    if [ -n "$NPM_CAFILE" ]; then
      cp "$NPM_CAFILE" "$st/usr/local/etc/npm-ca.crt"
      echo "cafile=/usr/local/etc/npm-ca.crt"
    fi
  } > "$st/usr/local/etc/npmrc"
  tar -C "$st" --numeric-owner --owner=0 --group=0 -cf "$TMP/node-stage.tar" .
  local c; c=$("${B[@]}" from --pull=never scratch); CONTAINERS+=("$c")
  "${B[@]}" add "$c" "$rootfs_tar" / >/dev/null
  "${B[@]}" add "$c" "$TMP/node-stage.tar" / >/dev/null
  "${B[@]}" config --workingdir / --cmd '["node"]' \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env NODE_VERSION="$("$node_bin" --version | tr -d v)" \
    --label "$KEY_LABEL=$key" "$c"
  "${B[@]}" commit --quiet --rm "$c" "$NODE_BASE" >/dev/null
}

# Stand-in: gcr.io/distroless/nodejs24-debian12. FROM scratch: node at
# /nodejs/bin/node with exactly the shared libraries ldd says it loads (from
# the bookworm rootfs), CA certificates, passwd/group with root and nonroot
# as distroless has them, /tmp; no shell, no package manager.
build_distroless_base() {
  local key=$1 rootfs_tar=$2 node_bin=$3 fs=$TMP/bookworm st=$TMP/distroless-stage lib
  mkdir -p "$fs" "$st/nodejs/bin" "$st/etc/ssl/certs" "$st/tmp" "$st/root" "$st/home/nonroot"
  tar -xf "$rootfs_tar" -C "$fs" --exclude='./dev/*'
  cp "$node_bin" "$fs/usr/local/bin/node"
  cp "$node_bin" "$st/nodejs/bin/node"
  chmod 755 "$st/nodejs/bin/node"
  local libs
  libs=$(chroot "$fs" /usr/bin/ldd /usr/local/bin/node | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}')
  [ -n "$libs" ] || die "ldd found no libraries for node in the bookworm rootfs"
  for lib in $libs; do
    mkdir -p "$st$(dirname "$lib")"
    cp -L "$fs$lib" "$st$lib"
  done
  log "distroless stand-in: node loads $(echo "$libs" | tr '\n' ' ')"
  cp /etc/ssl/certs/ca-certificates.crt "$st/etc/ssl/certs/ca-certificates.crt"
  cp "$fs/etc/os-release" "$st/etc/os-release" 2>/dev/null || cp "$fs/usr/lib/os-release" "$st/etc/os-release"
  printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
    'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' > "$st/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'tty:x:5:' 'staff:x:50:' 'nonroot:x:65532:' > "$st/etc/group"
  chmod 1777 "$st/tmp"; chmod 700 "$st/root" "$st/home/nonroot"
  chown 65532:65532 "$st/home/nonroot"
  tar -C "$st" --numeric-owner -cf "$TMP/distroless-stage.tar" .
  local c; c=$("${B[@]}" from --pull=never scratch); CONTAINERS+=("$c")
  "${B[@]}" add "$c" "$TMP/distroless-stage.tar" / >/dev/null
  "${B[@]}" config --workingdir / --entrypoint '["/nodejs/bin/node"]' --cmd '' \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    --label "$KEY_LABEL=$key" "$c"
  "${B[@]}" commit --quiet --rm "$c" "$DISTROLESS_BASE" >/dev/null
  rm -rf "$fs"
}

# The multus stand-in (and the peer, the same layout under the name
# upstream's DaemonSet uses: a separate image, see build_product).
ensure_multus_components() {
  local b
  for b in multus multus-shim passthru install_multus thin_entrypoint LICENSE multus-daemonset.yml; do
    [ -e "$MULTUS_DIR/$b" ] && continue
    log "upstream multus $MULTUS_VERSION not in $MULTUS_DIR: bash test/tools/build-components.sh multus"
    MULTUS_VERSION=$MULTUS_VERSION bash "$ROOT/test/tools/build-components.sh" multus >/dev/null
    break
  done
}

ensure_thick_components() {
  local b
  for b in multus-daemon multus-shim multus-daemonset-thick.yml; do
    [ -e "$THICK_DIR/$b" ] && continue
    log "upstream multus-daemon $MULTUS_VERSION not in $THICK_DIR: bash test/tools/build-components.sh multus-thick"
    MULTUS_VERSION=$MULTUS_VERSION bash "$ROOT/test/tools/build-components.sh" multus-thick >/dev/null
    break
  done
}

ensure_multus_image() {
  local name=$1 key=$MULTUS_KEY
  if [ "$(key_in_store "$name")" = "$key" ]; then
    log "$name: cached stand-in ($key)"
  else
    log "$name: building the stand-in from $MULTUS_DIR"
    build_multus_base "$name" "$key"
  fi
}

# node and distroless: Node 24 from the npm `node` package (the project's devDependency)
NODE_BIN=$ROOT/node_modules/node/bin/node

# Each stand-in's key: its recipe and its inputs. The product's key covers them.
standin_keys() {
  [ -x "$NODE_BIN" ] || die "$NODE_BIN missing: run npm ci first (the node devDependency brings Node 24)"
  case $("$NODE_BIN" --version) in v24.*) ;; *) die "$NODE_BIN is not Node 24: $("$NODE_BIN" --version)" ;; esac
  ROOTFS_KEY=$(key_of build_bookworm_rootfs "$DEBIAN_MIRROR")
  NODE_KEY=$(key_of build_node_base "$ROOTFS_KEY" "$NODE_BIN" "npm@$NPM_VERSION" "$NPM_REGISTRY" ${NPM_CAFILE:+"$NPM_CAFILE"})
  DISTROLESS_KEY=$(key_of build_distroless_base "$ROOTFS_KEY" "$NODE_BIN" /etc/ssl/certs/ca-certificates.crt)
  # Both recipes end in commit_scratch_image: its text is part of their keys.
  MULTUS_KEY=$(key_of build_multus_base "$(declare -f commit_scratch_image)" "$MULTUS_VERSION" "$MULTUS_DIR/multus" "$MULTUS_DIR/multus-shim" \
    "$MULTUS_DIR/passthru" "$MULTUS_DIR/install_multus" "$MULTUS_DIR/thin_entrypoint" "$MULTUS_DIR/LICENSE")
  THICK_KEY=$(key_of build_thick_image "$(declare -f commit_scratch_image)" "$MULTUS_VERSION" "$THICK_DIR/multus-daemon" "$THICK_DIR/multus-shim" \
    "$MULTUS_DIR/install_multus" "$MULTUS_DIR/passthru" "$MULTUS_DIR/LICENSE")
}

ensure_bases() {
  local node_bin=$NODE_BIN rootfs_key=$ROOTFS_KEY node_key=$NODE_KEY distroless_key=$DISTROLESS_KEY
  local rootfs_tar=$CACHE/stand-ins/bookworm-minbase-$rootfs_key.tar
  local need_node=1 need_distroless=1
  [ "$(key_in_store "$NODE_BASE")" = "$node_key" ] && need_node=0 && log "$NODE_BASE: cached stand-in ($node_key)"
  [ "$(key_in_store "$DISTROLESS_BASE")" = "$distroless_key" ] && need_distroless=0 && log "$DISTROLESS_BASE: cached stand-in ($distroless_key)"
  if [ $need_node = 1 ] || [ $need_distroless = 1 ]; then
    if [ ! -f "$rootfs_tar" ]; then
      log "Debian bookworm rootfs: mmdebstrap from $DEBIAN_MIRROR into $rootfs_tar"
      mkdir -p "$(dirname "$rootfs_tar")"
      rm -f "$(dirname "$rootfs_tar")"/bookworm-minbase-*.tar
      build_bookworm_rootfs "$rootfs_tar"
    fi
  fi
  if [ $need_node = 1 ]; then
    log "$NODE_BASE: building the stand-in (Node $("$node_bin" --version), npm $NPM_VERSION)"
    local npm_tgz
    npm_tgz=$(cd "$TMP" && npm pack "npm@$NPM_VERSION" --silent 2>/dev/null | tail -1)
    [ -f "$TMP/$npm_tgz" ] || die "npm pack npm@$NPM_VERSION failed"
    build_node_base "$node_key" "$rootfs_tar" "$node_bin" "$TMP/$npm_tgz"
  fi
  if [ $need_distroless = 1 ]; then
    log "$DISTROLESS_BASE: building the stand-in"
    build_distroless_base "$distroless_key" "$rootfs_tar" "$node_bin"
  fi
}

# ---------------------------------------------------------------------------
# The product: the Dockerfile exactly as checked out. No layer cache: with
# vfs every cached step is a full copy of the root filesystem, which costs
# more than running the build stage again for the crio target.
# buildah 1.28 (Debian 12) deletes the base image of a stage that has no
# instructions (the Dockerfile's `multus` stage) after a build without
# --layers (fixed in buildah 1.33, containers/buildah#5081), so the multus
# stand-in is re-made from its cached binaries before each build.
build_product() {
  local target=$1 name=$2
  ensure_multus_image "$MULTUS_BASE"
  log "$name: buildah bud${target:+ --target $target} $ROOT/Dockerfile"
  "${B[@]}" bud --isolation chroot --pull=never --layers=false --force-rm \
    --build-arg "MULTUS_VERSION=$MULTUS_VERSION" \
    ${target:+--target "$target"} -f "$ROOT/Dockerfile" -t "$name" "$ROOT" >&2 \
    || die "buildah bud${target:+ --target $target} of $ROOT/Dockerfile failed"
}

# docker-archive: `ctr -n k8s.io images import <archive>` names the image
# from the archive.
ARCHIVES=()
export_image() {
  local name=$1 file tmp
  file=$OUT/$(echo "$name" | tr '/:' '__').tar
  tmp=$file.tmp.$$
  rm -f "$tmp"
  "${B[@]}" push --quiet "$name" "docker-archive:$tmp:$name" >&2 || die "exporting $name to $file failed"
  mv "$tmp" "$file"
  ARCHIVES+=("$name=$file")
}

# The product archives' key: everything that goes into them. The Dockerfile
# and the build context it may copy (.dockerignore is an allow-list: every
# file under each `!` path, with its mode and content), the stand-ins' keys,
# the Multus version, the image names (an archive names its image), buildah's
# version and this script (the recipe).
product_key() {
  local bad
  bad=$(grep -vE '^(#.*|\*|![A-Za-z0-9._/-]+|)$' "$ROOT/.dockerignore" || true)
  [ -z "$bad" ] || die "$ROOT/.dockerignore: product_key reads only '*' and '!path' lines; teach it: $bad"
  {
    echo "$MULTUS_VERSION $IMAGE $IMAGE_CRIO $PEER $THICK $NODE_KEY $DISTROLESS_KEY $MULTUS_KEY $THICK_KEY"
    "${B[@]}" --version
    sha256sum < "${BASH_SOURCE[0]}"
    cd "$ROOT"
    sha256sum Dockerfile .dockerignore
    # shellcheck disable=SC2046  # the allow-list's paths, one word each
    find $(sed -n 's/^!//p' .dockerignore) \( -type f -o -type l \) -printf '%m %p\n' | LC_ALL=C sort -k2 | while read -r m f; do
      echo "$m $(sha256sum < "$f") $f"
    done
  } | sha256sum | cut -c1-16
}

# ---------------------------------------------------------------------------
# Smoke test under containerd + runc: a containerd of our own, all its state
# under $SMOKE_DIR, its own namespace, runc root and FIFO dir.
SMOKE_NS=build-images-$$

# The shim's socket dir is fixed (/run/containerd/s): what we create there
# goes again, what was there stays.
RUN_DIRS_NEW=()

start_containerd() {
  local d
  for d in /run/containerd /run/containerd/s; do [ -e "$d" ] || RUN_DIRS_NEW=("$d" "${RUN_DIRS_NEW[@]}"); done
  SMOKE_DIR=$(mktemp -d /tmp/build-images-containerd.XXXXXX)
  mkdir -p "$SMOKE_DIR/cni-conf" "$SMOKE_DIR/cni-bin" "$SMOKE_DIR/fifo" "$SMOKE_DIR/runc"
  cat > "$SMOKE_DIR/config.toml" <<EOF
version = 2
root = "$SMOKE_DIR/root"
state = "$SMOKE_DIR/state"
[grpc]
  address = "$SMOKE_DIR/containerd.sock"
[ttrpc]
  address = "$SMOKE_DIR/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  # this sandbox lacks CAP_SYS_RESOURCE (see shared/notes/real-node.md)
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$SMOKE_DIR/cni-bin"
    conf_dir = "$SMOKE_DIR/cni-conf"
EOF
  # 9>&-: containerd and its shims must not hold this script's lock
  containerd --config "$SMOKE_DIR/config.toml" > "$SMOKE_DIR/containerd.log" 2>&1 9>&- &
  CTRD_PID=$!
  local i
  for i in $(seq 1 120); do
    ctr --address "$SMOKE_DIR/containerd.sock" version >/dev/null 2>&1 && return 0
    kill -0 "$CTRD_PID" 2>/dev/null || { cat "$SMOKE_DIR/containerd.log" >&2; die "containerd exited at start"; }
    sleep 0.5
  done
  cat "$SMOKE_DIR/containerd.log" >&2
  die "containerd did not answer on $SMOKE_DIR/containerd.sock within 60 s"
}

CTR() { ctr --address "$SMOKE_DIR/containerd.sock" -n "$SMOKE_NS" "$@"; }

# Processes whose command line names our socket: containerd's shims.
our_shims() {
  local p
  for p in /proc/[0-9]*; do
    { tr '\0' ' ' < "$p/cmdline"; } 2>/dev/null | grep -qF -- "$SMOKE_DIR/containerd.sock" && echo "${p#/proc/}"
  done
  return 0
}

stop_containerd() {
  local t pids m
  if [ -n "$CTRD_PID" ] && kill -0 "$CTRD_PID" 2>/dev/null; then
    for t in $(CTR tasks ls -q 2>/dev/null); do
      CTR tasks kill -s SIGKILL "$t" >/dev/null 2>&1
      CTR tasks delete -f "$t" >/dev/null 2>&1
    done
    for t in $(CTR containers ls -q 2>/dev/null); do CTR containers delete "$t" >/dev/null 2>&1; done
    kill "$CTRD_PID" 2>/dev/null
    for _ in $(seq 1 40); do kill -0 "$CTRD_PID" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$CTRD_PID" 2>/dev/null
    wait "$CTRD_PID" 2>/dev/null
  fi
  CTRD_PID=''
  pids=$(our_shims)
  # shims (and so their containers' init processes) by pid, never by name
  [ -n "$pids" ] && kill -9 $pids 2>/dev/null
  # mounts under our dir, deepest first
  for m in $(awk -v d="$SMOKE_DIR" 'index($2, d) == 1 {print $2}' /proc/self/mounts | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
  done
  # the cgroups runc made for our namespace (cgroup v1 and v2 layouts)
  for m in /sys/fs/cgroup/*/"$SMOKE_NS" /sys/fs/cgroup/"$SMOKE_NS"; do
    [ -d "$m" ] && find "$m" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  rm -rf "$SMOKE_DIR"
  SMOKE_DIR=''
  # only if empty: another containerd may use them by now
  for m in "${RUN_DIRS_NEW[@]}"; do rmdir "$m" 2>/dev/null; done
  RUN_DIRS_NEW=()
}

# The image's ENTRYPOINT: `ctr run` replaces the whole command line with the
# arguments it is given, where the kubelet would append them to it.
entrypoint_of() {
  "${B[@]}" inspect --type image --format '{{range .OCIv1.Config.Entrypoint}}{{println .}}{{end}}' "$1"
}

# Import an archive, run the image with the given command line under runc:
# exit 0 and output matching `expect`.
smoke_run() {
  local name=$1 file=$2 expect=$3; shift 3
  local id out rc
  id=smoke-$(echo "$name" | tr -c 'a-zA-Z0-9\n' '-')
  CTR images import --snapshotter overlayfs "$file" >/dev/null || die "ctr images import $file failed"
  set +e
  out=$(timeout 300 ctr --address "$SMOKE_DIR/containerd.sock" -n "$SMOKE_NS" run --rm \
    --snapshotter overlayfs --runc-root "$SMOKE_DIR/runc" --fifo-dir "$SMOKE_DIR/fifo" \
    "$name" "$id" "$@" 2>&1)
  rc=$?
  set -e
  if [ $rc -ne 0 ] || ! grep -qE "$expect" <<<"$out"; then
    echo "$out" | tail -20 >&2
    die "$name: \`$*\` under containerd/runc exited $rc$( [ $rc -eq 0 ] && echo ", no line matches $expect")"
  fi
  log "$name: \`$*\` under containerd/runc: exit 0, $(wc -l <<<"$out") lines of output"
}

# ---------------------------------------------------------------------------
START=$(date +%s)
ensure_multus_components
ensure_thick_components
# The peer: upstream's thin DaemonSet names this image (its own, not a tag of
# the stand-in, which the next build may delete); same layout as upstream's.
PEER=$(awk '$1 == "image:" {print $2; exit}' "$MULTUS_DIR/multus-daemonset.yml")
[ -n "$PEER" ] || die "no image: line in $MULTUS_DIR/multus-daemonset.yml"
standin_keys
KEY=$(product_key)
[ $PRINT_KEY = 0 ] || { echo "$KEY"; exit 0; }
CACHED=1
for name in "$IMAGE" "$IMAGE_CRIO" "$PEER" "$THICK"; do
  file=$OUT/$(echo "$name" | tr '/:' '__').tar
  [ -f "$file" ] || CACHED=0
  ARCHIVES+=("$name=$file")
done
[ "$(cat "$OUT/images.key" 2>/dev/null)" = "$KEY" ] || CACHED=0
if [ $CACHED = 1 ]; then
  log "inputs unchanged (key $KEY): reusing the archives in $OUT, no build, no smoke"
else
  ARCHIVES=()
  log "building (key $KEY)"
  ensure_bases
  build_product '' "$IMAGE"
  build_product crio "$IMAGE_CRIO"
  ensure_multus_image "$PEER"
  # cached like a stand-in: only its binaries change it
  if [ "$(key_in_store "$THICK")" = "$THICK_KEY" ]; then
    log "$THICK: cached ($THICK_KEY)"
  else
    log "$THICK: building from $THICK_DIR"
    build_thick_image "$THICK" "$THICK_KEY"
  fi
  # drop the images this run replaced; the tagged ones stay
  "${B[@]}" rmi --prune >/dev/null 2>&1 || true
  # from here the archives change: the old key no longer names them
  rm -f "$OUT/images.key"
  for name in "$IMAGE" "$IMAGE_CRIO" "$PEER" "$THICK"; do export_image "$name"; done
fi

if [ $RUN_SMOKE = 1 ] && [ $CACHED = 0 ]; then
  start_containerd
  for entry in "${ARCHIVES[@]:0:2}"; do
    name=${entry%%=*}
    mapfile -t ep < <(entrypoint_of "$name")
    smoke_run "$name" "${entry#*=}" '^Usage: multus-entrypoint' "${ep[@]}" --help
  done
  # the peer: upstream's multus binary runs from it
  smoke_run "$PEER" "${ARCHIVES[2]#*=}" '^multus: version' /usr/src/multus-cni/bin/multus -version
  # (multus-daemon -version prints its version and exits 4)
  smoke_run "$THICK" "${ARCHIVES[3]#*=}" '^multus-shim: version' /usr/src/multus-cni/bin/multus-shim -version
  stop_containerd || true  # best effort, like the exit trap
  # only archives that passed the smoke are reused
  echo "$KEY" > "$OUT/images.key"
fi

lines=''
for entry in "${ARCHIVES[@]}"; do
  name=${entry%%=*} file=${entry#*=}
  bytes=$(stat -c %s "$file")
  log "$(awk -v n="$name" -v b="$bytes" 'BEGIN {printf "%-48s %6.1f MB", n, b / 1e6}')"
  lines+="image $name $file $bytes"$'\n'
done
# also kept beside the archives, for a suite that reuses this run's images
printf '%s' "$lines" > "$OUT/images.lines"
printf '%s' "$lines"
log "done in $(( $(date +%s) - START )) s"
