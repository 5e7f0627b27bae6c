// The two programs compared: multus-entrypoint (this project) and upstream's
// thin_entrypoint, started with the same DaemonSet-style arguments against
// the node's directories.
//
// thin_entrypoint has no flag for the service-account dir: it reads the
// hard-coded /var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt}. To
// give it the node's volume without touching the machine's /var/run, it runs
// in a private mount namespace (`unshare -m`, propagation private) with a
// tmpfs over /var/run in which that path is a symlink to the node's
// service-account dir, so it sees the kubelet-style `..data` swaps live.
import fs from 'node:fs';
import path from 'node:path';
import type { TestNode } from './node.js';
import { startDaemon, tail, type Daemon, type ExitInfo } from './proc.js';

export type InstallerKind = 'multus-entrypoint' | 'thin_entrypoint';
export const INSTALLERS: readonly InstallerKind[] = ['multus-entrypoint', 'thin_entrypoint'];

const THIN_SA_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
/**
 * A restarted installer finds its files already in place and (rightly)
 * rewrites nothing, so their presence says nothing about whether it is up.
 * It gets this long before it counts as running: a SIGTERM earlier than its
 * runtime can install a handler (tens of ms for Node or Go) would test the
 * runtime, not the program.
 */
const RESTART_SETTLE_MS = 1000;

export interface InstallerOptions {
  /** Flags after the common ones, identical for both programs. */
  args?: string[];
  env?: Record<string, string>;
}

export interface Installer {
  readonly kind: InstallerKind;
  readonly daemon: Daemon;
  /** Resolves once the generated config and the kubeconfig exist. */
  waitForConfig(timeoutMs?: number): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<ExitInfo>;
  logs(): string;
}

let startCount = 0;

export function generatedConfigs(node: TestNode): string[] {
  return ['00-multus.conf', '00-multus.conflist'].map((n) => path.join(node.paths.cniConfDir, n)).filter((f) => fs.existsSync(f));
}

/** The flags a DaemonSet passes, pointed at the node's directories. */
function commonArgs(node: TestNode): string[] {
  const { paths, env } = node;
  return [
    `--cni-bin-dir=${paths.cniBinDir}`,
    `--cni-conf-dir=${paths.cniConfDir}`,
    `--multus-autoconfig-dir=${paths.cniConfDir}`,
    `--multus-bin-file=${env.components.multus}`,
    `--multus-cni-conf-dir=${paths.multusCniConfDir}`,
    // The node's files are the "host" files here, so the host path is the real one.
    `--multus-kubeconfig-file-host=${paths.kubeconfigFile}`,
  ];
}

export function startInstaller(kind: InstallerKind, node: TestNode, opts: InstallerOptions = {}): Installer {
  const { components, cluster } = node.env;
  const env = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    KUBERNETES_SERVICE_HOST: cluster.host,
    KUBERNETES_SERVICE_PORT: String(cluster.port),
    ...opts.env,
  };
  const args = [...commonArgs(node), ...(opts.args ?? [])];
  const logFile = path.join(node.paths.logs, `${kind}-${++startCount}.log`);
  const restart = generatedConfigs(node).length > 0;
  const startedAt = Date.now();
  let daemon: Daemon;
  if (kind === 'multus-entrypoint') {
    daemon = startDaemon(kind, components.node, [components.entrypointScript, `--service-account-dir=${node.sa.dir}`, ...args], { env, logFile });
  } else {
    const script = 'mount -t tmpfs e2e-run /var/run && mkdir -p "$(dirname "$2")" && ln -s "$1" "$2" && shift 2 && exec "$@"';
    daemon = startDaemon(kind, 'unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', node.sa.dir, THIN_SA_PATH, components.thinEntrypoint, ...args], {
      env,
      logFile,
    });
  }
  const waitForConfig = async (timeoutMs = 20000): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const conf = generatedConfigs(node)[0];
      if (conf && fs.existsSync(node.paths.kubeconfigFile) && (!restart || Date.now() - startedAt >= RESTART_SETTLE_MS)) return conf;
      if (!daemon.running()) throw new Error(`${kind} exited before writing its config:\n${tail(daemon.logs())}`);
      if (Date.now() > deadline) throw new Error(`${kind} wrote no config in ${timeoutMs} ms:\n${tail(daemon.logs())}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { kind, daemon, waitForConfig, stop: (signal = 'SIGTERM') => daemon.stop(signal, 15000), logs: () => daemon.logs() };
}
