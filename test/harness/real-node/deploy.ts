// The two DaemonSets under test, applied with the real kubectl:
// - ours: manifests/ through test/real-node/overlay, plus a generated layer in the
//   run dir for run-time values (hostPath dirs, health port, API port) and a
//   scenario's change (an extra arg, another image);
// - upstream's: its own deployments/multus-daemonset.yml of the Multus
//   release the Dockerfile names (MULTUS_VERSION; cached by
//   build-components.sh), with a generated layer that changes the same
//   things and nothing else.
// Patches are JSON 6902 operations computed from the rendered base, so they
// follow whatever the base holds (other args, env, volumes).
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../components.js';
import { UPSTREAM_IMAGE } from './images.js';
import type { NodeRun } from './node.js';

export type Program = 'multus-entrypoint' | 'thin_entrypoint';
export const DS_NAME = 'kube-multus-ds';
export const DS_NAMESPACE = 'kube-system';
export const OVERLAY_DIR = path.join(REPO_ROOT, 'test/real-node/overlay');

export interface Variant {
  /** Extra container args (ours). */
  extraArgs?: string[];
  /** Replaces the image tag (ours). */
  imageTag?: string;
  /** manifests/ components to enable (ours), e.g. repair-pods, node-ready-taint. */
  components?: string[];
}

interface Op {
  op: 'replace' | 'add';
  path: string;
  value: unknown;
}

interface Container {
  name?: string;
  args?: string[];
  env?: { name: string }[];
  volumeMounts?: { name: string; mountPath: string }[];
  readinessProbe?: unknown;
  livenessProbe?: unknown;
  startupProbe?: unknown;
}

interface DaemonSetDoc {
  kind?: string;
  spec?: { template?: { spec?: { containers?: Container[]; initContainers?: Container[]; volumes?: { name: string }[] } } };
}

export async function kubectl(node: NodeRun, args: string[], input?: string): Promise<string> {
  const res = await execa(node.kubectlBin, ['--kubeconfig', node.adminKubeconfig, ...args], { input, reject: false, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  if (res.exitCode !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${res.exitCode}): ${res.stderr.trim()}`);
  return res.stdout;
}

function daemonSetOf(rendered: string): DaemonSetDoc {
  const ds = parseAllDocuments(rendered)
    .map((d) => d.toJS() as DaemonSetDoc)
    .find((d) => d?.kind === 'DaemonSet');
  if (!ds) throw new Error('the rendered manifests hold no DaemonSet');
  return ds;
}

function hostPathOps(ds: DaemonSetDoc, node: NodeRun): Op[] {
  // multus-conf-dir: upstream's thick manifest's name for multus-cni-conf.
  const dirs: Record<string, string> = { cni: node.dirs.cniConfDir, cnibin: node.dirs.cniBinDir, 'multus-cni-conf': node.dirs.multusConfDir, 'multus-conf-dir': node.dirs.multusConfDir };
  return (ds.spec?.template?.spec?.volumes ?? []).flatMap((v, i) => {
    const dir = dirs[v.name];
    return dir ? [{ op: 'replace' as const, path: `/spec/template/spec/volumes/${i}/hostPath/path`, value: dir }] : [];
  });
}

/** KUBERNETES_SERVICE_HOST/PORT = the API server on loopback (explicit env wins over the kubelet's). */
function apiEnvOps(c: Container, base: string, port: number): Op[] {
  const want: Record<string, string> = { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(port) };
  const ops: Op[] = c.env ? [] : [{ op: 'add', path: `${base}/env`, value: [] }];
  for (const [name, value] of Object.entries(want)) {
    const i = (c.env ?? []).findIndex((e) => e.name === name);
    ops.push(i >= 0 ? { op: 'replace', path: `${base}/env/${i}`, value: { name, value } } : { op: 'add', path: `${base}/env/-`, value: { name, value } });
  }
  return ops;
}

/**
 * multus-daemon mounts the host's / (and /var/lib/kubelet) with HostToContainer
 * propagation, which containerd refuses unless that mount is shared or slave, as
 * systemd makes a real host's /. This machine's / may be private: the thick
 * scenarios make an rshared recursive bind of / here (thick-scenarios.ts), and
 * both programs' daemons mount that instead.
 */
export function hostRootDir(node: NodeRun): string {
  return path.join(node.dirs.run, 'hostroot');
}

function hostRootOps(ds: DaemonSetDoc, node: NodeRun): Op[] {
  const dirs: Record<string, string> = { hostroot: hostRootDir(node), 'host-var-lib-kubelet': path.join(hostRootDir(node), 'var/lib/kubelet') };
  return (ds.spec?.template?.spec?.volumes ?? []).flatMap((v, i) => {
    const dir = dirs[v.name];
    return dir ? [{ op: 'replace' as const, path: `/spec/template/spec/volumes/${i}/hostPath/path`, value: dir }] : [];
  });
}

/**
 * multus-daemon (thick) finds a delegate in its own container, in /opt/cni/bin
 * (the config's binDir) or its CNI_PATH, and runs that path chrooted into the
 * host's root: upstream mounts the bin dir where the host has it. The node's
 * bin dir is under the run dir, so the daemon's mount goes there too, and its
 * CNI_PATH names it (no /opt/cni/bin in the container, none on the host).
 */
function daemonBinOps(c: Container, base: string, node: NodeRun): Op[] {
  const i = (c.volumeMounts ?? []).findIndex((m) => m.name === 'cnibin' && m.mountPath === '/opt/cni/bin');
  if (i < 0) return [];
  return [
    { op: 'replace', path: `${base}/volumeMounts/${i}/mountPath`, value: node.dirs.cniBinDir },
    ...(c.env ? [] : [{ op: 'add' as const, path: `${base}/env`, value: [] }]),
    { op: 'add', path: `${base}/env/-`, value: { name: 'CNI_PATH', value: node.dirs.cniBinDir } },
    // The node's plugins are links to Debian's /usr/lib/cni, which the daemon must resolve too.
    { op: 'add', path: `${base}/volumeMounts/-`, value: { name: 'node-e2e-debian-cni', mountPath: '/usr/lib/cni', readOnly: true } },
    { op: 'add', path: '/spec/template/spec/volumes/-', value: { name: 'node-e2e-debian-cni', hostPath: { path: '/usr/lib/cni' } } },
  ];
}

/**
 * Where the host sees the kubeconfig, written into 00-multus.conf for the
 * Multus plugin (which runs on the host): the node's conf dir is under the
 * run dir, not /etc/cni/net.d. Both programs take the same flag.
 */
function kubeconfigHostArg(node: NodeRun): string {
  return `--multus-kubeconfig-file-host=${path.join(node.dirs.cniConfDir, 'multus.d', 'multus.kubeconfig')}`;
}

function writeLayer(dir: string, resource: string, ops: Op[], extra = ''): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'kustomization.yaml'),
    `# Generated by the real-node suite: run-time values only.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ${resource}
patches:
  - target:
      kind: DaemonSet
      name: ${DS_NAME}
    patch: |-
${JSON.stringify(ops, null, 2)
  .split('\n')
  .map((l) => `      ${l}`)
  .join('\n')}
${extra}`,
  );
  return dir;
}

/** Our DaemonSet for this node (and a scenario's variant): the directory to `apply -k`. */
export async function oursDir(node: NodeRun, healthPort: number, label: string, variant: Variant = {}): Promise<string> {
  const ds = daemonSetOf(await kubectl(node, ['kustomize', OVERLAY_DIR]));
  const c = ds.spec?.template?.spec?.containers?.[0];
  if (!c) throw new Error(`${OVERLAY_DIR}: the DaemonSet has no container`);
  const base = '/spec/template/spec/containers/0';
  const args = c.args ?? [];
  const ops: Op[] = [...hostPathOps(ds, node)];
  args.forEach((a, i) => {
    if (a.startsWith('--health-port=')) ops.push({ op: 'replace', path: `${base}/args/${i}`, value: `--health-port=${healthPort}` });
  });
  for (const a of [kubeconfigHostArg(node), ...(variant.extraArgs ?? [])]) ops.push({ op: 'add', path: `${base}/args/-`, value: a });
  ops.push(
    { op: 'replace', path: `${base}/ports/0/containerPort`, value: healthPort },
    // Every probe the manifests have, on the run's port.
    ...(['readinessProbe', 'livenessProbe', 'startupProbe'] as const).filter((p) => c[p]).map((p) => ({ op: 'replace' as const, path: `${base}/${p}/httpGet/port`, value: healthPort })),
  );
  ops.push(...apiEnvOps(c, base, node.cluster.port));
  const images = variant.imageTag ? `images:\n  - name: localhost/multus-entrypoint\n    newTag: ${variant.imageTag}\n` : '';
  const dir = path.join(node.dirs.run, 'deploy', `ours-${label}`);
  // As a user enables them: listed under `components:`; kustomize applies them before this layer's patches.
  const components = (variant.components ?? []).map((c) => `  - ${path.relative(dir, path.join(REPO_ROOT, 'manifests', c))}\n`).join('');
  const extra = images + (components ? `components:\n${components}` : '');
  // kustomize takes a base directory by relative path only.
  writeLayer(dir, path.relative(dir, OVERLAY_DIR), ops, extra);
  // A component's own containers (thick's multus-daemon) need the API server too.
  const rendered = daemonSetOf(await kubectl(node, ['kustomize', dir]));
  const more = (rendered.spec?.template?.spec?.containers ?? []).flatMap((sc, i) =>
    i > 0 && !(sc.env ?? []).some((e) => e.name === 'KUBERNETES_SERVICE_HOST') ? [...apiEnvOps(sc, `/spec/template/spec/containers/${i}`, node.cluster.port), ...daemonBinOps({ ...sc, env: [] }, `/spec/template/spec/containers/${i}`, node)] : [],
  );
  more.push(...hostRootOps(rendered, node));
  return more.length > 0 ? writeLayer(dir, path.relative(dir, OVERLAY_DIR), [...ops, ...more], extra) : dir;
}

/** Upstream's own manifest for this node: the directory to `apply -k`. */
export function upstreamDir(node: NodeRun, manifest: string, label: string, variant: Variant = {}): string {
  const dir = path.join(node.dirs.run, 'deploy', `upstream-${label}`);
  fs.mkdirSync(dir, { recursive: true });
  const text = fs.readFileSync(manifest, 'utf8');
  fs.writeFileSync(path.join(dir, 'multus-daemonset.yml'), text);
  const ds = daemonSetOf(text);
  const spec = ds.spec?.template?.spec;
  const ops: Op[] = [...hostPathOps(ds, node), ...hostRootOps(ds, node)];
  (spec?.containers ?? []).forEach((c, i) => {
    const base = `/spec/template/spec/containers/${i}`;
    ops.push({ op: 'add', path: `${base}/imagePullPolicy`, value: 'Never' });
    ops.push(...apiEnvOps(c, base, node.cluster.port), ...daemonBinOps({ ...c, env: [] }, base, node));
    // Upstream's thick daemon takes no args (its settings are a ConfigMap).
    if (i === 0 && c.args !== undefined) for (const a of [kubeconfigHostArg(node), ...(variant.extraArgs ?? [])]) ops.push({ op: 'add', path: `${base}/args/-`, value: a });
  });
  (spec?.initContainers ?? []).forEach((_, i) => ops.push({ op: 'add', path: `/spec/template/spec/initContainers/${i}/imagePullPolicy`, value: 'Never' }));
  const images = variant.imageTag ? `images:\n  - name: ${UPSTREAM_IMAGE.split(':')[0]}\n    newTag: ${variant.imageTag}\n` : '';
  return writeLayer(dir, 'multus-daemonset.yml', ops, images);
}

export interface RolloutState {
  desired: number;
  updated: number;
  ready: number;
  observed: boolean;
}

// Polled every second or faster: through the API client, not a kubectl
// process each time (about 0.2 s of CPU apiece, on a 2-core node that the
// pods being timed need).
export async function daemonSetState(node: NodeRun): Promise<RolloutState | undefined> {
  let ds;
  try {
    ds = await node.kubeConfig.makeApiClient(AppsV1Api).readNamespacedDaemonSet({ name: DS_NAME, namespace: DS_NAMESPACE });
  } catch {
    return undefined;
  }
  const st = ds.status;
  return { desired: st?.desiredNumberScheduled ?? 0, updated: st?.updatedNumberScheduled ?? 0, ready: st?.numberReady ?? 0, observed: (st?.observedGeneration ?? 0) >= (ds.metadata?.generation ?? 0) };
}

/** The DaemonSet's pods on the node (name, ready, phase, image). */
export async function daemonSetPods(node: NodeRun): Promise<{ name: string; uid: string; ready: boolean; phase: string; image: string; deleting: boolean }[]> {
  const list = await node.kubeConfig.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: DS_NAMESPACE, labelSelector: 'name=multus' });
  return list.items.map((p) => ({
    name: p.metadata?.name ?? '',
    uid: p.metadata?.uid ?? '',
    ready: (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    phase: p.status?.phase ?? '',
    image: p.spec?.containers[0]?.image ?? '',
    deleting: p.metadata?.deletionTimestamp !== undefined,
  }));
}

/** Waits until the rollout is complete: every desired pod updated and Ready. */
export async function waitRolledOut(node: NodeRun, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const st = await daemonSetState(node);
    if (st && st.observed && st.desired > 0 && st.updated === st.desired && st.ready === st.desired) {
      const pods = await daemonSetPods(node);
      if (pods.length === st.desired && pods.every((p) => p.ready && !p.deleting)) return true;
    }
    // Two GETs through the API client: cheap enough to poll at a resolution
    // finer than the seconds the side-by-side table compares.
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}
