// What upstream's e2e scripts do with kubectl, jq and `docker exec`, done on
// the real node: each case gets a namespace of its own (the five run at
// once), creates its ported manifest, waits as upstream waits, and reads a
// pod's network with `nsenter` into the pod sandbox's network namespace
// where upstream runs `kubectl exec <pod> -- ip ...` (the pause image has no
// `ip`; every container of a pod shares the sandbox's namespace).
import { CoreV1Api } from '@kubernetes/client-node';
import { execa } from 'execa';
import { kubectl } from '../../harness/real-node/deploy.js';
import type { NodeRun } from '../../harness/real-node/node.js';
import { sandboxPid } from '../../harness/real-node/pods.js';
import { PAUSE_IMAGE } from '../../harness/real-node/images.js';
import { NODE_NAME } from '../../harness/real-node/control-plane.js';

export interface CaseCtx {
  node: NodeRun;
  /** The case's own namespace (upstream's: `default`). */
  ns: string;
  /** Upstream's CNI_VERSION, which its templates and DaemonSet args take. */
  cniVersion: string;
}

/** One ported script: throws with what it saw when a check fails. */
export interface UpstreamCase {
  /** The script's name in upstream's e2e/ directory. */
  script: string;
  run(ctx: CaseCtx): Promise<void>;
}

/**
 * Upstream's `image: quay.io/centos/centos:8` and `command: ["/bin/sleep",
 * "10000"]`: the node's pause image, never pulled, which runs until stopped.
 * `indent`: the container's fields' indentation in the manifest.
 */
export function image(indent: number): string {
  const pad = ' '.repeat(indent);
  return `${pad}image: ${PAUSE_IMAGE}\n${pad}imagePullPolicy: Never`;
}
/** Upstream's `kind-worker` / `kind-worker2` (two workers; here one node). */
export const WORKER = NODE_NAME;
/** Upstream's wait: `kubectl wait --for=condition=ready ... --timeout=300s`. */
const WAIT = '300s';

export async function createNamespace(node: NodeRun, ns: string): Promise<void> {
  await kubectl(node, ['create', 'namespace', ns]);
  // The ServiceAccount admission rejects pods until the default ServiceAccount exists.
  // Polled through the API client: five cases at once, a kubectl process per poll loaded the node.
  const api = node.kubeConfig.makeApiClient(CoreV1Api);
  const deadline = Date.now() + 120000;
  while (!(await api.readNamespacedServiceAccount({ name: 'default', namespace: ns }).then(() => true, () => false))) {
    if (Date.now() > deadline) throw new Error(`no default ServiceAccount in namespace ${ns} after 120 s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function createFrom(ctx: CaseCtx, yaml: string): Promise<void> {
  await kubectl(ctx.node, ['-n', ctx.ns, 'create', '-f', '-'], yaml);
}

export async function deleteFrom(ctx: CaseCtx, yaml: string): Promise<void> {
  await kubectl(ctx.node, ['-n', ctx.ns, 'delete', '-f', '-', '--wait=true', '--timeout=120s'], yaml);
}

/** Why pods in the case's namespace are not Ready: their phase and the last sandbox failures. */
async function whyNotReady(ctx: CaseCtx): Promise<string> {
  const pods = await kubectl(ctx.node, ['-n', ctx.ns, 'get', 'pods', '-o', 'custom-columns=NAME:.metadata.name,PHASE:.status.phase', '--no-headers']).catch((e: unknown) => String(e));
  const events = await kubectl(ctx.node, ['-n', ctx.ns, 'get', 'events', '--field-selector=type=Warning', '-o', 'custom-columns=OBJ:.involvedObject.name,REASON:.reason,MSG:.message', '--no-headers']).catch(() => '');
  const last = events.split('\n').filter(Boolean).slice(-3).map((l) => l.slice(0, 500));
  return `pods: ${pods.split('\n').filter(Boolean).join('; ') || 'none'}${last.length > 0 ? `; warnings: ${last.join(' | ')}` : ''}`;
}

/** `kubectl wait --for=condition=ready -l <selector> --timeout=300s pod`, once `count` pods exist. */
export async function waitReady(ctx: CaseCtx, selector: string, count: number, what = `pod -l ${selector}`): Promise<void> {
  // kubectl wait fails at once when nothing matches yet (a Deployment's pods
  // come a moment later); upstream relies on timing, here we wait for them.
  const deadline = Date.now() + 120000;
  const api = ctx.node.kubeConfig.makeApiClient(CoreV1Api);
  const existing = async (): Promise<number> => (await api.listNamespacedPod({ namespace: ctx.ns, labelSelector: selector }).then((l) => l.items.length, () => 0));
  while ((await existing()) < count) {
    if (Date.now() > deadline) throw new Error(`${what}: fewer than ${count} pods exist after 120 s; ${await whyNotReady(ctx)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  await kubectl(ctx.node, ['-n', ctx.ns, 'wait', '--for=condition=ready', '-l', selector, `--timeout=${WAIT}`, 'pod']).catch(async (err: unknown) => {
    throw new Error(`${what} not Ready within ${WAIT}: ${(err as Error).message.slice(0, 300)}; ${await whyNotReady(ctx)}`);
  });
}

/** `kubectl exec <pod> -- <args>`: `nsenter -n <args>` into the pod sandbox's network namespace. */
export async function inPodNetns(ctx: CaseCtx, pod: string, args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  const { metadata: meta } = await ctx.node.kubeConfig.makeApiClient(CoreV1Api).readNamespacedPod({ name: pod, namespace: ctx.ns });
  // A static pod's sandbox carries the kubelet's UID for it, which its mirror pod keeps in this annotation.
  const uid = meta?.annotations?.['kubernetes.io/config.mirror'] ?? meta?.uid ?? '';
  const pid = await sandboxPid(ctx.node.containerd, uid);
  if (pid === undefined) throw new Error(`${ctx.ns}/${pod}: no running sandbox to enter`);
  const res = await execa('nsenter', ['-t', pid, '-n', ...args], { reject: false });
  return { ok: res.exitCode === 0, stdout: res.stdout, stderr: res.stderr };
}

/** `ip a show dev <dev>` must succeed (upstream: `exit 1` when it does not). */
export async function mustHaveDev(ctx: CaseCtx, pod: string, dev: string): Promise<void> {
  const res = await inPodNetns(ctx, pod, ['ip', 'a', 'show', 'dev', dev]);
  if (!res.ok) throw new Error(`${pod} has no ${dev} card: ${res.stderr.trim()}`);
}

/** `ip -j a show | jq '.[]|select(.ifname==<dev>)|.addr_info[]|select(.family=="inet").local'`. */
export async function inetOf(ctx: CaseCtx, pod: string, dev: string): Promise<string[]> {
  const res = await inPodNetns(ctx, pod, ['ip', '-j', 'a', 'show']);
  const links = JSON.parse(res.stdout || '[]') as { ifname: string; addr_info?: { family: string; local: string }[] }[];
  return links.filter((l) => l.ifname === dev).flatMap((l) => (l.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => a.local));
}

/** `ip -j route | jq '.[]|select(.dst=="default")|.gateway'`; `routes`: every route, for the failure's message. */
export async function defaultGateways(ctx: CaseCtx, pod: string): Promise<{ gateways: string[]; routes: string }> {
  const res = await inPodNetns(ctx, pod, ['ip', '-j', 'route']);
  const routes = JSON.parse(res.stdout || '[]') as { dst: string; gateway?: string; dev?: string }[];
  return {
    gateways: routes.filter((r) => r.dst === 'default').map((r) => r.gateway ?? ''),
    routes: routes.map((r) => `${r.dst}${r.gateway ? ` via ${r.gateway}` : ''} dev ${r.dev ?? '?'}`).join('; '),
  };
}

/** Upstream's soft check (`echo "... is different"`), made hard; `context` goes into the message. */
export function mustEqual(what: string, got: string[], want: string, context = ''): void {
  if (got.length !== 1 || got[0] !== want) throw new Error(`${what} is different: ${got.join(',') || 'none'} (want ${want})${context ? `; ${context}` : ''}`);
}
