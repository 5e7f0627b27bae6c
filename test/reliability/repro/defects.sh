#!/bin/sh
# Stand-alone reproductions of the defects the torture suite found (run as
# root after `npm run build`; each runs in its own mount namespace, so the
# tmpfs it mounts is gone when it ends):
#   sh test/reliability/repro/defects.sh enospc-twin   # ENOSPC on a .conf -> .conflist switch leaves no Multus config
#   sh test/reliability/repro/defects.sh enospc-rename # --rename-conf-file renames the master although the config was not written
#   sh test/reliability/repro/defects.sh readonly      # read-only conf dir: "unexpected failure: EROFS ... unlink <twin>"
#   sh test/reliability/repro/defects.sh deep          # a master nested 10,000 levels: "Maximum call stack size exceeded", no file named
#   sh test/reliability/repro/defects.sh deep-watch    # the same file dropped beside a running program: every reconcile fails, a token rotation is not applied
# Each prints what it shows; "DEFECT" lines mark the faulty outcome.
set -u
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
CMD="$REPO/bin/multus-entrypoint.js"
case_name=${1:-}
if [ -z "${IN_NS:-}" ] && [ "$(id -u)" = 0 ]; then IN_NS=1 exec unshare -m --propagation private sh "$0" "$@"; fi

R=$(mktemp -d /tmp/multus-repro-XXXXXX)
mkdir -p "$R/auto" "$R/conf" "$R/bin" "$R/img" "$R/sa"
printf 'tok-abcdefgh123\n' > "$R/sa/token"; printf 'CA\n' > "$R/sa/ca.crt"; printf '#!/bin/sh\n' > "$R/img/multus"
cp "$REPO/test/fixtures/masters/10-flannel.conflist" "$R/auto/"
export KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=6443
BASE="--cni-bin-dir=$R/bin --cni-conf-dir=$R/conf --multus-autoconfig-dir=$R/auto --multus-bin-file=$R/img/multus --multus-cni-conf-dir=$R/mnet --service-account-dir=$R/sa --master-cni-wait-timeout=0"
run() { node "$CMD" $BASE "$@"; echo "exit $?"; }
fill_tmpfs() { # put the configured conf dir on a 64 KiB tmpfs and fill it
  cp -a "$R/conf" "$R/conf.keep" && mount -t tmpfs -o size=64k tmpfs "$R/conf" && cp -a "$R/conf.keep/." "$R/conf/"
  dd if=/dev/zero of="$R/conf/fill" bs=4k 2>/dev/null; sync
}
cleanup() { umount "$R/conf" 2>/dev/null; rm -rf "$R"; }
trap cleanup EXIT

run --once >/dev/null 2>&1
echo "configured: $(ls "$R/conf" | tr '\n' ' ')"
case "$case_name" in
  enospc-twin)
    fill_tmpfs
    sed -i 's/"0.3.1"/"1.0.0"/' "$R/auto/10-flannel.conflist"
    run --once
    ls "$R/conf" | grep -q '^00-multus\.' || echo "DEFECT: no 00-multus.conf[list] left in $R/conf (the old config was removed before the new one was written)"
    ;;
  enospc-rename)
    fill_tmpfs
    sed -i 's/"cbr0"/"cbr-edited"/' "$R/auto/10-flannel.conflist"
    run --once --rename-conf-file
    [ -e "$R/auto/10-flannel.conflist" ] || echo "DEFECT: the master was renamed to 10-flannel.conflist.old although its config was not written"
    ;;
  readonly)
    sed -i 's/"cbr0"/"cbr-edited"/' "$R/auto/10-flannel.conflist"
    mount --bind "$R/conf" "$R/conf" && mount -o remount,ro,bind "$R/conf"
    run --once 2>&1 | tee "$R/out"
    grep -q 'unexpected failure' "$R/out" && echo "DEFECT: an 'unexpected failure' about the absent twin instead of '$R/conf/00-multus.conf: cannot write ...: read-only file system'"
    ;;
  deep)
    node -e 'const n=10000;process.stdout.write(`{"cniVersion":"0.3.1","type":"bridge","x":${"[".repeat(n)}${"]".repeat(n)}}`)' > "$R/auto/05-deep.conf"
    run --once 2>&1 | tee "$R/out"
    grep -q '05-deep.conf' "$R/out" || echo "DEFECT: the message does not name $R/auto/05-deep.conf (and the valid 10-flannel.conflist is not used)"
    ;;
  deep-watch)
    node "$CMD" $BASE > "$R/log" 2>&1 &
    pid=$!
    sleep 1.5
    node -e 'const n=10000;process.stdout.write(`{"cniVersion":"0.3.1","type":"bridge","x":${"[".repeat(n)}${"]".repeat(n)}}`)' > "$R/deep.tmp"
    mv "$R/deep.tmp" "$R/auto/05-deep.conf"
    sleep 1
    printf 'tok-rotated-abcdefgh\n' > "$R/sa/token.new" && mv "$R/sa/token.new" "$R/sa/token"
    sleep 1.5
    kill "$pid"; wait "$pid"
    cat "$R/log"
    grep -q tok-rotated "$R/conf/multus.d/multus.kubeconfig" || echo "DEFECT: while 05-deep.conf is in the autoconfig dir, every reconcile fails: the rotated token never reaches the kubeconfig"
    ;;
  *) echo "usage: $0 enospc-twin|enospc-rename|readonly|deep|deep-watch" >&2; exit 2 ;;
esac
