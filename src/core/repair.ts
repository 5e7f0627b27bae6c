// --repair-pods: which pods on this node started before Multus was
// configured there and so run without the secondary networks they asked for
// (multus-cni #1387, #1468). Pure: a pod as the API server lists it, and the
// moment the node's Multus config came into place, in; a verdict out.
//
// No pod that Multus attached may be evicted, so every doubt leaves the pod
// alone:
// - Multus writes the network-status during CNI ADD and fails the ADD when
//   it cannot, so a pod whose status lists any network it asked for was
//   attached by Multus (a network whose plugin reports no pod interface gets
//   no entry): only a status missing, or listing none of them, counts.
// - The sandbox must have been ready before the config was in place: its
//   CNI ADD then ran before the runtime could load the Multus config. A
//   sandbox created while the config was being written (the runtime loads
//   it a moment after the rename) is left alone, as is one not ready yet.
//   The ready time is the kubelet's PodReadyToStartContainers transition,
//   or without that condition (before 1.29) the first container start;
//   both come after the CNI ADD returned, and both are whole seconds, so a
//   second is allowed for the truncation. Kubelet, runtime and this program
//   read the same node clock.
import { isoTime } from '../base/iso-time.js';
import { isJsonObject } from '../base/json.js';
import { NETWORKS_ANNOTATION, parseNetworks, statusHas, statusNetworks } from './pod-networks.js';

/** The pod a verdict is about; uid and resourceVersion go into the eviction's preconditions. */
export interface PodKey {
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
}

/** Why a pod is not repaired. */
type LeaveReason =
  | 'other node' | 'asks for no networks' | 'unreadable networks annotation' | 'host network' | 'finished'
  | 'being deleted' | 'attached by Multus' | 'unreadable network-status' | 'sandbox not ready' | 'sandbox may postdate the config';

export type Verdict =
  /** Started too early and has a controller: evict it, the controller recreates it. */
  | { action: 'evict'; pod: PodKey; missing: string[]; sandboxAt: number; owner: string }
  /** Started too early and nothing would recreate it: leave it, with a Warning Event. */
  | { action: 'warn'; pod: PodKey; missing: string[]; sandboxAt: number; why: string }
  | { action: 'leave'; pod: PodKey; why: LeaveReason; detail?: string; missing?: string[] };

/** Timestamps in pod status are whole seconds (RFC 3339, truncated). */
const TIMESTAMP_PRECISION_MS = 1000;
const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';

interface Condition { type?: unknown; status?: unknown; lastTransitionTime?: unknown }
interface ContainerStatus { state?: { running?: { startedAt?: unknown }; terminated?: { startedAt?: unknown } } }
interface OwnerReference { kind?: unknown; name?: unknown; controller?: unknown }
interface RawPod {
  metadata?: { namespace?: unknown; name?: unknown; uid?: unknown; resourceVersion?: unknown; annotations?: unknown; deletionTimestamp?: unknown; ownerReferences?: unknown };
  spec?: { nodeName?: unknown; hostNetwork?: unknown };
  status?: { phase?: unknown; conditions?: unknown; containerStatuses?: unknown; initContainerStatuses?: unknown };
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const list = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);

function time(v: unknown): number | undefined {
  const ms = typeof v === 'string' ? Date.parse(v) : Number.NaN;
  return Number.isFinite(ms) ? ms : undefined;
}

function podKey(raw: unknown): PodKey {
  const m = (raw as RawPod | null)?.metadata;
  return { namespace: str(m?.namespace), name: str(m?.name), uid: str(m?.uid), resourceVersion: str(m?.resourceVersion) };
}

/** When the pod's current sandbox was ready with its network, or undefined when it is not (or cannot be told). */
export function sandboxReadyAt(status: RawPod['status']): number | undefined {
  const condition = list<Condition>(status?.conditions).find((c) => c?.type === 'PodReadyToStartContainers');
  if (condition) return condition.status === 'True' ? time(condition.lastTransitionTime) : undefined;
  const starts = [...list<ContainerStatus>(status?.containerStatuses), ...list<ContainerStatus>(status?.initContainerStatuses)]
    .flatMap((c) => [time(c?.state?.running?.startedAt), time(c?.state?.terminated?.startedAt)])
    .filter((t): t is number => t !== undefined);
  return starts.length > 0 ? Math.min(...starts) : undefined;
}

/** The controller that would recreate the pod ("ReplicaSet/web-7d9f"), or why there is none. */
function controllerOf(m: RawPod['metadata'], annotations: Record<string, unknown>): { owner: string } | { why: string } {
  const owner = list<OwnerReference>(m?.ownerReferences).find((r) => r?.controller === true);
  // A static pod's mirror is owned by its Node: evicting it only makes the kubelet mirror it again.
  if (annotations[MIRROR_ANNOTATION] !== undefined || owner?.kind === 'Node') {
    return { why: 'it is a static pod (its manifest is on the node), which an eviction does not recreate, so --repair-pods left it running: restart it on the node' };
  }
  if (!owner) return { why: 'it has no controller to recreate it, so --repair-pods left it running: delete and recreate it to get them' };
  return { owner: `${str(owner.kind)}/${str(owner.name)}` };
}

/**
 * Whether to evict the pod, warn about it, or leave it. `configSince`: when
 * the node's Multus config came into place (ms); `nodeName`: this node.
 */
export function judgePod(raw: unknown, nodeName: string, configSince: number): Verdict {
  const p = (raw ?? {}) as RawPod;
  const pod = podKey(raw);
  const leave = (why: LeaveReason, extra: { detail?: string; missing?: string[] } = {}): Verdict => ({ action: 'leave', pod, why, ...extra });
  // The list asked for this node only; a pod of another node is never this program's to judge.
  if (str(p.spec?.nodeName) !== nodeName) return leave('other node');
  const annotations = isJsonObject(p.metadata?.annotations) ? p.metadata.annotations : {};
  const asked = annotations[NETWORKS_ANNOTATION];
  if (typeof asked !== 'string') return leave('asks for no networks');
  // CNI is not called for these, whatever they ask for.
  if (p.spec?.hostNetwork === true) return leave('host network');
  if (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') return leave('finished');
  if (p.metadata?.deletionTimestamp) return leave('being deleted');
  const parsed = parseNetworks(asked, pod.namespace);
  if ('error' in parsed) return leave('unreadable networks annotation', { detail: parsed.error });
  if (parsed.networks.length === 0) return leave('asks for no networks');
  const status = statusNetworks(annotations);
  if (status === 'unreadable') return leave('unreadable network-status');
  const missing = parsed.networks.filter((n) => !status || !statusHas(status, n, pod.namespace));
  if (missing.length < parsed.networks.length) return leave('attached by Multus');
  const sandboxAt = sandboxReadyAt(p.status);
  if (sandboxAt === undefined) return leave('sandbox not ready', { missing });
  if (sandboxAt + TIMESTAMP_PRECISION_MS > configSince) return leave('sandbox may postdate the config', { missing });
  const controller = controllerOf(p.metadata, annotations);
  if ('why' in controller) return { action: 'warn', pod, missing, sandboxAt, why: controller.why };
  return { action: 'evict', pod, missing, sandboxAt, owner: controller.owner };
}

/** What happened to a pod, for its Event and the log: when its sandbox came up, and when the config did. */
export function repairNote(v: Extract<Verdict, { action: 'evict' | 'warn' }>, nodeName: string, configSince: number): string {
  const lacks = `runs without ${v.missing.join(', ')} because its sandbox was ready at ${isoTime(v.sandboxAt)}, before the Multus config was in place on node ${nodeName} (${isoTime(configSince)})`;
  return v.action === 'evict' ? `evicted by --repair-pods: it ${lacks}; ${v.owner} recreates it with its networks` : `${lacks}; ${v.why}`;
}
