// Where the real components live. Multus, thin_entrypoint and kube-apiserver
// come from test/tools/build-components.sh (built once, cached outside the
// repository); etcd and the CNI plugins from Debian packages.
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The default of a global `ARG <name>=<value>` of the repository's Dockerfile. */
export function dockerfileArg(name: string): string {
  const file = path.join(REPO_ROOT, 'Dockerfile');
  const line = fs.readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith(`ARG ${name}=`));
  const value = line?.slice(`ARG ${name}=`.length).trim();
  if (!value) throw new Error(`${file} has no ARG ${name}=<value> line`);
  return value;
}

/**
 * The Multus release (the plugin and the upstream peer, thin_entrypoint): the
 * Dockerfile's `ARG MULTUS_VERSION`, the only place it is named; the
 * environment's MULTUS_VERSION overrides it.
 */
export const MULTUS_VERSION = process.env.MULTUS_VERSION || dockerfileArg('MULTUS_VERSION');
export const K8S_VERSION = process.env.K8S_VERSION ?? 'v1.33.4';

export interface Components {
  multus: string;
  thinEntrypoint: string;
  kubeApiserver: string;
  etcd: string;
  /** Debian's containernetworking-plugins. */
  cniPluginDir: string;
  /** The program under test, run with `node` (the node running jest). */
  entrypointScript: string;
  node: string;
}

/** The first executable `cmd` on PATH, or undefined. */
export function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = path.join(dir || '.', cmd);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

function mustExist(file: string, hint: string): string {
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: ${hint}`);
  return file;
}

/** Builds what is missing (a no-op when cached) and returns the paths. */
export async function locateComponents(): Promise<Components> {
  const script = path.join(REPO_ROOT, 'test/tools/build-components.sh');
  const { stdout } = await execa('bash', [script], {
    env: { MULTUS_VERSION, K8S_VERSION },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const cache = stdout.trim().split('\n').pop() ?? '';
  const multusDir = path.join(cache, `multus-${MULTUS_VERSION}`);
  const etcd = which('etcd');
  if (!etcd) throw new Error('etcd is not on PATH: install Debian package etcd-server');
  return {
    multus: mustExist(path.join(multusDir, 'multus'), 'run test/tools/build-components.sh'),
    thinEntrypoint: mustExist(path.join(multusDir, 'thin_entrypoint'), 'run test/tools/build-components.sh'),
    kubeApiserver: mustExist(path.join(cache, `kube-apiserver-${K8S_VERSION}`, 'kube-apiserver'), 'run test/tools/build-components.sh'),
    etcd,
    cniPluginDir: mustExist('/usr/lib/cni/bridge', 'install Debian package containernetworking-plugins').replace(/\/bridge$/, ''),
    entrypointScript: mustExist(path.join(REPO_ROOT, 'bin/multus-entrypoint.js'), 'the package bin is missing'),
    node: process.execPath,
  };
}
