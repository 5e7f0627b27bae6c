// Test pods on the real node and what a user checks on them: the pod runs,
// its sandbox's network namespace holds the interfaces Multus gave it, and
// the network-status annotation Multus wrote lists them. Pods run the pause
// image (the only other image on the node) and mount no token.
import { ApiException, CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { execa } from 'execa';
import type { Containerd } from './containerd.js';
import { PAUSE_IMAGE } from './images.js';
import { NODE_NAME } from './control-plane.js';

export const TEST_NAMESPACE = 'node-e2e';
export const NETWORKS_ANNOTATION = 'k8s.v1.cni.cncf.io/networks';
export const NETWORK_STATUS_ANNOTATION = 'k8s.v1.cni.cncf.io/network-status';
export const DEFAULT_NETWORK_ANNOTATION = 'v1.multus-cni.io/default-network';

export interface NetworkStatus {
  name: string;
  interface?: string;
  ips?: string[];
  default?: boolean;
}

export interface PodOutcome {
  name: string;
  /** The sandbox is up and the container runs. */
  running: boolean;
  networkStatus: NetworkStatus[];
  /** Interface name -> IPv4 addresses, read in the sandbox's network namespace. */
  interfaces: Record<string, string[]>;
  sandboxFailures: number;
  /** Last FailedCreatePodSandBox message, if any. */
  lastFailure?: string;
}

function isStatus(err: unknown, code: number): boolean {
  return err instanceof ApiException && err.code === code;
}

export async function createPod(kc: KubeConfig, name: string, annotations: Record<string, string>): Promise<void> {
  const api = kc.makeApiClient(CoreV1Api);
  const body: V1Pod = {
    metadata: { name, namespace: TEST_NAMESPACE, annotations, labels: { app: 'node-e2e' } },
    spec: {
      nodeName: NODE_NAME,
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: 0,
      tolerations: [{ operator: 'Exists' }],
      containers: [{ name: 'pause', image: PAUSE_IMAGE, imagePullPolicy: 'Never' }],
    },
  };
  await api.createNamespacedPod({ namespace: TEST_NAMESPACE, body });
}

export async function deletePods(kc: KubeConfig, names: string[]): Promise<void> {
  const api = kc.makeApiClient(CoreV1Api);
  for (const name of names) {
    try {
      await api.deleteNamespacedPod({ name, namespace: TEST_NAMESPACE, gracePeriodSeconds: 0 });
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
    }
  }
}

export async function readPod(kc: KubeConfig, name: string, namespace = TEST_NAMESPACE): Promise<V1Pod | undefined> {
  try {
    return await kc.makeApiClient(CoreV1Api).readNamespacedPod({ name, namespace });
  } catch (err) {
    if (isStatus(err, 404)) return undefined;
    throw err;
  }
}

export function networkStatusOf(pod: V1Pod | undefined): NetworkStatus[] {
  const raw = pod?.metadata?.annotations?.[NETWORK_STATUS_ANNOTATION];
  if (!raw) return [];
  try {
    const parsed = JSON.parse(raw) as unknown;
    return Array.isArray(parsed) ? (parsed as NetworkStatus[]) : [];
  } catch {
    return [];
  }
}

/** FailedCreatePodSandBox events of a pod: how many, and the last message. */
export async function sandboxFailures(kc: KubeConfig, name: string): Promise<{ count: number; last?: string }> {
  const list = await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: TEST_NAMESPACE, fieldSelector: `involvedObject.name=${name}` });
  let count = 0;
  let last: string | undefined;
  for (const ev of list.items) {
    if (ev.reason !== 'FailedCreatePodSandBox') continue;
    count += ev.count ?? 1;
    last = ev.message;
  }
  return { count, last };
}

/** The pid of the pod's running sandbox (its network namespace's holder), or undefined. */
export async function sandboxPid(containerd: Containerd, podUid: string): Promise<string | undefined> {
  const ids = (await containerd.ctr(['containers', 'ls', '--quiet', `labels."io.kubernetes.pod.uid"=="${podUid}",labels."io.cri-containerd.kind"==sandbox`])).split('\n').filter(Boolean);
  const tasks = await containerd.ctr(['tasks', 'ls']);
  for (const id of ids) {
    const fields = tasks.split('\n').find((l) => l.startsWith(`${id} `))?.trim().split(/\s+/);
    if (fields?.[2] === 'RUNNING' && fields[1]) return fields[1];
  }
  return undefined;
}

/** IPv4 addresses per interface in the network namespace of the pod's sandbox. */
export async function sandboxInterfaces(containerd: Containerd, podUid: string): Promise<Record<string, string[]> | undefined> {
  const pid = await sandboxPid(containerd, podUid);
  if (pid === undefined) return undefined;
  const res = await execa('nsenter', ['-t', pid, '-n', 'ip', '-j', '-4', 'addr', 'show'], { reject: false });
  if (res.exitCode !== 0) return undefined;
  const links = JSON.parse(res.stdout) as { ifname: string; addr_info?: { local: string; prefixlen: number }[] }[];
  const out: Record<string, string[]> = {};
  for (const l of links) out[l.ifname] = (l.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`);
  return out;
}

/**
 * Waits until the pod runs with `want` interfaces up in its sandbox (and,
 * when it has secondary networks, Multus' network-status), or the deadline.
 * Never throws on a pod that does not make it: the outcome says what it got.
 */
export async function observePod(kc: KubeConfig, containerd: Containerd, name: string, want: string[], timeoutMs: number): Promise<PodOutcome> {
  const deadline = Date.now() + timeoutMs;
  let outcome: PodOutcome = { name, running: false, networkStatus: [], interfaces: {}, sandboxFailures: 0 };
  for (;;) {
    const pod = await readPod(kc, name).catch(() => undefined);
    const running = pod?.status?.phase === 'Running' && (pod.status.containerStatuses ?? []).every((c) => c.state?.running !== undefined);
    const interfaces = running && pod?.metadata?.uid ? ((await sandboxInterfaces(containerd, pod.metadata.uid).catch(() => undefined)) ?? {}) : {};
    outcome = { ...outcome, running, networkStatus: networkStatusOf(pod), interfaces };
    const statusWanted = want.filter((w) => w !== 'eth0').every((w) => outcome.networkStatus.some((s) => s.interface === w));
    if (running && want.every((w) => (interfaces[w] ?? []).length > 0) && statusWanted) break;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  const failures = await sandboxFailures(kc, name).catch(() => ({ count: 0, last: undefined }));
  return { ...outcome, sandboxFailures: failures.count, lastFailure: failures.last };
}

export function describeOutcome(o: PodOutcome): string {
  const ifs = Object.entries(o.interfaces)
    .filter(([n]) => n !== 'lo')
    .map(([n, a]) => `${n}=${a.join(',') || '-'}`)
    .join(' ');
  const status = o.networkStatus.map((s) => `${s.interface ?? '?'}:${s.name}`).join(' ');
  return `${o.name}: ${o.running ? 'running' : 'not running'}; interfaces [${ifs}]; network-status [${status}]; ${o.sandboxFailures} sandbox failures${o.lastFailure ? ` (last: ${o.lastFailure.slice(0, 300)})` : ''}`;
}

export async function createNad(kc: KubeConfig, name: string, config: Record<string, unknown>): Promise<void> {
  const api = kc.makeApiClient(CustomObjectsApi);
  const body = { apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name, namespace: TEST_NAMESPACE }, spec: { config: JSON.stringify(config) } };
  try {
    await api.createNamespacedCustomObject({ group: 'k8s.cni.cncf.io', version: 'v1', namespace: TEST_NAMESPACE, plural: 'network-attachment-definitions', body });
  } catch (err) {
    if (!isStatus(err, 409)) throw err;
  }
}
