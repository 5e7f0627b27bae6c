#!/usr/bin/env bash
# Builds (or reuses from cache) the real components the e2e suite, the
# benchmark and the reliability suite run against: Multus and its
# thin_entrypoint (the upstream peer), and kube-apiserver. Binaries are cached
# outside the repository, keyed by version, so CI and later sessions reuse them.
# Prints the cache directory on stdout.
set -euo pipefail

MULTUS_VERSION=${MULTUS_VERSION:-v4.2.3}
K8S_VERSION=${K8S_VERSION:-v1.33.4}
CACHE=${MULTUS_ENTRYPOINT_CACHE:-$HOME/.cache/multus-entrypoint}
export GOFLAGS=${GOFLAGS:--mod=mod}
export CGO_ENABLED=0

log() { echo "build-components: $*" >&2; }

multus_dir="$CACHE/multus-$MULTUS_VERSION"
if [ ! -x "$multus_dir/multus" ] || [ ! -x "$multus_dir/thin_entrypoint" ]; then
  log "building multus and thin_entrypoint $MULTUS_VERSION into $multus_dir"
  # `go install pkg@version` asks the proxy for the version list (refused
  # here), so build from a wrapper module that requires the exact version.
  work="$CACHE/src/multus-$MULTUS_VERSION"
  rm -rf "$work"; mkdir -p "$work" "$multus_dir"
  (
    cd "$work"
    go mod init example.invalid/multus-wrapper >/dev/null 2>&1
    printf 'package main\n\nimport (\n\t_ "gopkg.in/k8snetworkplumbingwg/multus-cni.v4/cmd/multus"\n\t_ "gopkg.in/k8snetworkplumbingwg/multus-cni.v4/cmd/thin_entrypoint"\n)\n' > tools.go
    go get "gopkg.in/k8snetworkplumbingwg/multus-cni.v4@$MULTUS_VERSION" >&2
    go mod tidy >&2
    go build -o "$multus_dir/" \
      gopkg.in/k8snetworkplumbingwg/multus-cni.v4/cmd/multus \
      gopkg.in/k8snetworkplumbingwg/multus-cni.v4/cmd/thin_entrypoint
  )
fi

api_dir="$CACHE/kube-apiserver-$K8S_VERSION"
if [ ! -x "$api_dir/kube-apiserver" ]; then
  log "building kube-apiserver $K8S_VERSION into $api_dir (minutes when cold)"
  staging_version="v0${K8S_VERSION#v1}"
  work="$CACHE/src/kube-apiserver-$K8S_VERSION"
  rm -rf "$work"; mkdir -p "$work" "$api_dir"
  cd "$work"
  go mod init example.invalid/kube-apiserver-wrapper >/dev/null 2>&1
  # k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces
  # them with local paths; a wrapper module pins each to its release instead.
  gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  staging=$(sed -n '/^replace (/,/^)/p' "$gomod" | grep -oE 'k8s.io/[a-z0-9-]+ => ./staging' | awk '{print $1}')
  godebug=$(grep -E '^godebug ' "$gomod" || true)
  {
    echo "module example.invalid/kube-apiserver-wrapper"
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
  printf 'package main\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\n' > tools.go
  # go get resolves only what the command imports (tidy would also fetch
  # test-only dependencies, some of which the proxy does not serve).
  go get "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION" >&2
  go build -o "$api_dir/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
fi

echo "$CACHE"
