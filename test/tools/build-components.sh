#!/usr/bin/env bash
# Builds (or reuses from cache) the real components the e2e suite, the
# real-node suite, the benchmark and the reliability suite run against:
#   - Multus $MULTUS_VERSION: multus, passthru, install_multus and
#     thin_entrypoint (the upstream peer), and multus-shim (for the image
#     stand-in's layout: upstream's bin/ has it);
#   - Multus $MULTUS_VERSION's thick plugin (asked for by name, multus-thick):
#     multus-daemon and multus-shim of the same module version, and
#     upstream's multus-daemonset-thick.yml (the real-node thick peer),
#     cached apart from the thin binaries;
#   - Kubernetes $K8S_VERSION: kube-apiserver, kube-controller-manager,
#     kube-scheduler, kubelet and kubectl (one wrapper module, one build);
#   - helm $HELM_VERSION (only with BUILD_HELM=1 or when asked for by name);
#   - kwok $KWOK_VERSION (sigs.k8s.io/kwok/cmd/kwok, only when asked for by
#     name): fakes nodes and pod status for the fleet simulation.
# Binaries are cached outside the repository, keyed by version, so CI and
# later sessions reuse them. Prints the cache directory on stdout.
#
# Usage: build-components.sh [multus] [multus-thick] [kubernetes] [helm] [kwok]   (default: multus kubernetes)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# The Multus release: the Dockerfile's `ARG MULTUS_VERSION` line, the only
# place it is named (MULTUS_VERSION in the environment overrides it).
MULTUS_VERSION=${MULTUS_VERSION:-$(sed -n 's/^ARG MULTUS_VERSION=//p' "$ROOT/Dockerfile")}
[ -n "$MULTUS_VERSION" ] || { echo "build-components: $ROOT/Dockerfile has no ARG MULTUS_VERSION=<version> line (or set MULTUS_VERSION)" >&2; exit 1; }
K8S_VERSION=${K8S_VERSION:-v1.33.4}
HELM_VERSION=${HELM_VERSION:-v3.22.0}
# v0.7.0 is built on client-go 0.33, as the Kubernetes 1.33 it fakes nodes for.
KWOK_VERSION=${KWOK_VERSION:-v0.7.0}
CACHE=${MULTUS_ENTRYPOINT_CACHE:-$HOME/.cache/multus-entrypoint}
export GOFLAGS=${GOFLAGS:--mod=mod}
export CGO_ENABLED=0

log() { echo "build-components: $*" >&2; }

# One build at a time: two runs would remove each other's work dirs.
mkdir -p "$CACHE"
exec 9>"$CACHE/.build.lock"
flock 9

want=("$@")
[ ${#want[@]} -eq 0 ] && want=(multus kubernetes)
wants() { local w; for w in "${want[@]}"; do [ "$w" = "$1" ] && return 0; done; return 1; }

# All present and executable?
have_all() { local dir=$1; shift; local b; for b in "$@"; do [ -x "$dir/$b" ] || return 1; done; }

build_multus() {
  local dir="$CACHE/multus-$MULTUS_VERSION" mod=gopkg.in/k8snetworkplumbingwg/multus-cni.v4
  local cmds=(multus multus-shim passthru-cni install_multus thin_entrypoint)
  have_all "$dir" multus multus-shim passthru install_multus thin_entrypoint \
    && [ -f "$dir/LICENSE" ] && [ -f "$dir/multus-daemonset.yml" ] && return 0
  log "building multus, multus-shim, passthru, install_multus and thin_entrypoint $MULTUS_VERSION into $dir"
  # `go install pkg@version` asks the proxy for the version list (refused
  # here), so build from a wrapper module that requires the exact version.
  local work="$CACHE/src/multus-$MULTUS_VERSION"
  rm -rf "$work"; mkdir -p "$work" "$dir"
  (
    cd "$work"
    go mod init example.invalid/multus-wrapper >/dev/null 2>&1
    { printf 'package main\n\nimport (\n'; for c in "${cmds[@]}"; do printf '\t_ "%s/cmd/%s"\n' "$mod" "$c"; done; printf ')\n'; } > tools.go
    go get "$mod@$MULTUS_VERSION" >&2
    go mod tidy >&2
    go build -o "$dir/" "${cmds[@]/#/$mod/cmd/}"
    # upstream's image names the passthru plugin `passthru`
    mv "$dir/passthru-cni" "$dir/passthru"
    # the LICENSE and the DaemonSet manifest upstream ships, for the image
    # stand-in and the real-node suite's peer
    local src; src=$(go list -m -f '{{.Dir}}' "$mod")
    cp "$src/LICENSE" "$dir/LICENSE"
    cp "$src/deployments/multus-daemonset.yml" "$dir/multus-daemonset.yml"
    chmod u+w "$dir/LICENSE" "$dir/multus-daemonset.yml"
  )
}

build_multus_thick() {
  local dir="$CACHE/multus-thick-$MULTUS_VERSION" mod=gopkg.in/k8snetworkplumbingwg/multus-cni.v4
  local cmds=(multus-daemon multus-shim)
  have_all "$dir" "${cmds[@]}" && [ -f "$dir/multus-daemonset-thick.yml" ] && return 0
  log "building multus-daemon and multus-shim $MULTUS_VERSION into $dir"
  local work="$CACHE/src/multus-thick-$MULTUS_VERSION"
  rm -rf "$work"; mkdir -p "$work" "$dir"
  (
    cd "$work"
    go mod init example.invalid/multus-thick-wrapper >/dev/null 2>&1
    { printf 'package main\n\nimport (\n'; for c in "${cmds[@]}"; do printf '\t_ "%s/cmd/%s"\n' "$mod" "$c"; done; printf ')\n'; } > tools.go
    go get "$mod@$MULTUS_VERSION" >&2
    go mod tidy >&2
    go build -o "$dir/" "${cmds[@]/#/$mod/cmd/}"
    local src; src=$(go list -m -f '{{.Dir}}' "$mod")
    cp "$src/deployments/multus-daemonset-thick.yml" "$dir/multus-daemonset-thick.yml"
    chmod u+w "$dir/multus-daemonset-thick.yml"
  )
}

build_kubernetes() {
  local dir="$CACHE/kubernetes-$K8S_VERSION"
  local cmds=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)
  if ! have_all "$dir" "${cmds[@]}"; then
    log "building ${cmds[*]} $K8S_VERSION into $dir (10-20 minutes when cold)"
    local staging_version="v0${K8S_VERSION#v1}"
    local work="$CACHE/src/kubernetes-$K8S_VERSION"
    rm -rf "$work"; mkdir -p "$work" "$dir"
    (
      cd "$work"
      go mod init example.invalid/kubernetes-wrapper >/dev/null 2>&1
      # k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces
      # them with local paths; a wrapper module pins each to its release instead.
      local gomod staging godebug m c
      gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
      staging=$(sed -n '/^replace (/,/^)/p' "$gomod" | grep -oE 'k8s.io/[a-z0-9-]+ => ./staging' | awk '{print $1}')
      godebug=$(grep -E '^godebug ' "$gomod" || true)
      {
        echo "module example.invalid/kubernetes-wrapper"
        echo
        grep -E '^go [0-9]' "$gomod"
        [ -n "$godebug" ] && echo "$godebug"
        echo
        echo "require k8s.io/kubernetes $K8S_VERSION"
        echo
        echo "replace ("
        for m in $staging; do echo "	$m => $m $staging_version"; done
        echo ")"
      } > go.mod
      { printf 'package main\n\nimport (\n'; for c in "${cmds[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$c"; done; printf ')\n'; } > tools.go
      # go get resolves only what the commands import (tidy would also fetch
      # test-only dependencies, some of which the proxy does not serve).
      for c in "${cmds[@]}"; do go get "k8s.io/kubernetes/cmd/$c@$K8S_VERSION" >&2; done
      go build -o "$dir/" "${cmds[@]/#/k8s.io/kubernetes/cmd/}"
    )
  fi
  # the path the e2e harness has always used for the API server
  mkdir -p "$CACHE/kube-apiserver-$K8S_VERSION"
  ln -sf "$dir/kube-apiserver" "$CACHE/kube-apiserver-$K8S_VERSION/kube-apiserver"
}

build_helm() {
  local dir="$CACHE/helm-$HELM_VERSION"
  have_all "$dir" helm && return 0
  log "building helm $HELM_VERSION into $dir"
  local work="$CACHE/src/helm-$HELM_VERSION"
  rm -rf "$work"; mkdir -p "$work" "$dir"
  (
    cd "$work"
    go mod init example.invalid/helm-wrapper >/dev/null 2>&1
    printf 'package main\n\nimport _ "helm.sh/helm/v3/cmd/helm"\n' > tools.go
    go get "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
    go build -o "$dir/" helm.sh/helm/v3/cmd/helm
  )
}

build_kwok() {
  local dir="$CACHE/kwok-$KWOK_VERSION"
  have_all "$dir" kwok && return 0
  log "building kwok $KWOK_VERSION into $dir"
  local work="$CACHE/src/kwok-$KWOK_VERSION"
  rm -rf "$work"; mkdir -p "$work" "$dir"
  (
    cd "$work"
    go mod init example.invalid/kwok-wrapper >/dev/null 2>&1
    printf 'package main\n\nimport _ "sigs.k8s.io/kwok/cmd/kwok"\n' > tools.go
    go get "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" >&2
    go build -o "$dir/" sigs.k8s.io/kwok/cmd/kwok
  )
}

wants multus && build_multus
wants multus-thick && build_multus_thick
wants kubernetes && build_kubernetes
wants helm && build_helm
wants kwok && build_kwok
echo "$CACHE"
