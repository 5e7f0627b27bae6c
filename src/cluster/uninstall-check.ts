// Uninstall or restart? Asks the API server for this pod's owning DaemonSet
// with the service-account token, through the one API client (kube-api.ts):
// gone, being deleted, or no longer selecting this node (its nodeSelector or
// required node affinity against the node's labels, as Istio's installer
// decides) is an uninstall; otherwise a restart. An API server that does not
// answer (no connection, timeout, 429, 5xx) is asked again with the shared
// jittered backoff, honouring Retry-After, for as long as the pod's grace
// period allows (its terminationGracePeriodSeconds less a 5 s margin; 30 s
// assumed until the pod is read), the waits spread within what is left of
// it. Still no answer then is an uninstall: a config kept after a real
// uninstall breaks every later pod on the node until it is removed by hand,
// while one removed on a restart costs only the seconds until the next pod
// writes it again (docs/behaviour.md, "Stopping").
import { backoffDelayMs, realClock, waitWithinMs, type BackoffPolicy, type Clock, type Random } from '../base/backoff.js';
import { ApiError, callApi, refused, type ApiAccess, type ApiRequest, type ApiResponse } from './kube-api.js';
import { nodeInfo, selectsNode } from '../core/node-selection.js';


export interface Verdict {
  uninstall: boolean;
  reason: string;
}

/** Who asks: the pod (POD_NAMESPACE, POD_NAME) and its node (NODE_NAME; '' when unset). */
interface CheckTarget {
  namespace: string;
  podName: string;
  nodeName: string;
}

interface CheckOptions {
  /** The pod's grace period when already known; otherwise read from the pod (30 s until then). */
  graceSeconds?: number;
  clock?: Clock;
  random?: Random;
  /** Sends one request (callApi; a fake in unit tests). */
  send?: (api: ApiAccess, req: ApiRequest) => Promise<ApiResponse>;
}

/** Kubernetes' default terminationGracePeriodSeconds, assumed while the pod's own is unknown. */
const DEFAULT_GRACE_SECONDS = 30;
/** Left of the grace period for removing files, the taint and the last events before the kubelet's SIGKILL. */
const GRACE_MARGIN_SECONDS = 5;
/** No single request waits longer than this, so a hung one leaves time to ask again. */
const ATTEMPT_MS = 5000;
/** A last attempt needs at least this long; less left of the budget and the check ends. */
const MIN_ATTEMPT_MS = 1000;
/** Retries are at least this far apart; less left of the budget than this and the check ends. */
const MIN_WAIT_MS = 500;
/** 1 s, 2 s, 4 s, 8 s (each within [d, 2d)), or what Retry-After asks. */
const UNINSTALL_CHECK_BACKOFF: BackoffPolicy = { initialMs: 1000, factor: 2, capMs: 8000, jitter: 1 };

/** How long the check may keep asking: the grace period less the margin (at least one attempt's worth). */
export function graceBudgetMs(graceSeconds: number | undefined): number {
  return Math.max(MIN_ATTEMPT_MS, ((graceSeconds ?? DEFAULT_GRACE_SECONDS) - GRACE_MARGIN_SECONDS) * 1000);
}

/** The grace period the kubelet gives this pod: the deletion's own, else the spec's. */
export function podGraceSeconds(pod: unknown): number | undefined {
  const p = pod as { metadata?: { deletionGracePeriodSeconds?: unknown }; spec?: { terminationGracePeriodSeconds?: unknown } } | undefined;
  for (const v of [p?.metadata?.deletionGracePeriodSeconds, p?.spec?.terminationGracePeriodSeconds]) {
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
  }
  return undefined;
}

interface OwnerReference { kind?: unknown; name?: unknown; controller?: unknown }

function daemonSetOwner(pod: unknown): string | undefined {
  const refs = (pod as { metadata?: { ownerReferences?: unknown } } | undefined)?.metadata?.ownerReferences;
  if (!Array.isArray(refs)) return undefined;
  const ds = (refs as OwnerReference[]).find((r) => r.kind === 'DaemonSet' && typeof r.name === 'string');
  return ds ? String(ds.name) : undefined;
}

/** No answer worth acting on (connection, timeout, TLS; 429 or 5xx): asked again. */
class Unanswered extends Error {
  constructor(message: string, readonly retryAfterMs?: number) {
    super(message);
  }
}

function unanswered(err: unknown): boolean {
  return err instanceof Unanswered || (err instanceof ApiError && err.status === undefined);
}

function check(req: Pick<ApiRequest, 'what' | 'rbac'>, res: ApiResponse): ApiResponse {
  if (res.status === 429 || res.status >= 500) {
    const e = refused(req, res);
    throw new Unanswered(e.message, e.retryAfterMs);
  }
  return res;
}

/** One attempt's means and what earlier attempts learned (the pod's owner and grace period). */
interface Attempt {
  api: ApiAccess;
  t: CheckTarget;
  send: NonNullable<CheckOptions['send']>;
  /** How long the next request may wait: recomputed per request, as the pod's grace period may just have been learned. */
  timeoutMs: () => number;
  pod?: { owner: string | undefined; graceSeconds: number | undefined };
}

async function get(a: Attempt, req: Pick<ApiRequest, 'what' | 'rbac' | 'path'>): Promise<ApiResponse> {
  return check(req, await a.send(a.api, { method: 'GET', ...req, timeoutMs: a.timeoutMs() }));
}

/** The DaemonSet remains: does it still select node `nodeName`? A node that cannot be read leaves it a restart. */
async function stillSelects(a: Attempt, dsName: string, ds: unknown): Promise<Verdict> {
  const nodeName = a.t.nodeName;
  const nodeReq = { what: `get node ${nodeName}`, rbac: 'get on nodes', path: `/api/v1/nodes/${encodeURIComponent(nodeName)}` };
  const node = await get(a, nodeReq);
  if (node.status === 404) return { uninstall: true, reason: `node ${nodeName} no longer exists` };
  if (node.status !== 200) {
    return { uninstall: false, reason: `DaemonSet ${dsName} still exists; whether it still selects node ${nodeName} is unknown (${refused(nodeReq, node).message}), so a restart` };
  }
  const template = (ds as { spec?: { template?: { spec?: unknown } } } | undefined)?.spec?.template?.spec;
  const selection = selectsNode(template, nodeInfo(node.body, nodeName));
  if (!selection.selects) return { uninstall: true, reason: `DaemonSet ${dsName} no longer selects node ${nodeName}: ${selection.why}` };
  return { uninstall: false, reason: `DaemonSet ${dsName} still exists and selects node ${nodeName} (a restart or rolling update)` };
}

async function ask(a: Attempt): Promise<Verdict> {
  const { namespace, podName, nodeName } = a.t;
  const ns = encodeURIComponent(namespace);
  if (!a.pod) {
    const podReq = { what: `get pod ${namespace}/${podName}`, rbac: 'get on pods', path: `/api/v1/namespaces/${ns}/pods/${encodeURIComponent(podName)}` };
    const pod = await get(a, podReq);
    if (pod.status === 404) return { uninstall: true, reason: `pod ${namespace}/${podName} no longer exists` };
    if (pod.status !== 200) throw refused(podReq, pod);
    // Kept: a retry asks only for what it does not know yet.
    a.pod = { owner: daemonSetOwner(pod.body), graceSeconds: podGraceSeconds(pod.body) };
  }
  const owner = a.pod.owner;
  if (!owner) return { uninstall: true, reason: `pod ${namespace}/${podName} is not owned by a DaemonSet` };
  const dsReq = { what: `get DaemonSet ${namespace}/${owner}`, rbac: 'get on daemonsets.apps', path: `/apis/apps/v1/namespaces/${ns}/daemonsets/${encodeURIComponent(owner)}` };
  const ds = await get(a, dsReq);
  if (ds.status === 404) return { uninstall: true, reason: `DaemonSet ${namespace}/${owner} is gone` };
  if (ds.status !== 200) throw refused(dsReq, ds);
  const deleting = (ds.body as { metadata?: { deletionTimestamp?: unknown } } | undefined)?.metadata?.deletionTimestamp;
  if (deleting) return { uninstall: true, reason: `DaemonSet ${namespace}/${owner} is being deleted` };
  if (!nodeName) return { uninstall: false, reason: `DaemonSet ${namespace}/${owner} still exists (a restart or rolling update; NODE_NAME is not set, so whether it still selects this node is not checked)` };
  return stillSelects(a, `${namespace}/${owner}`, ds.body);
}

/**
 * Decides whether this stop is an uninstall. An API server that does not
 * answer is asked again, with backoff and its Retry-After, until the grace
 * budget is spent; a refusal (a 403) is an uninstall at once, as
 * docs/behaviour.md says, and so is no answer once the budget is spent.
 */
export async function checkUninstall(api: ApiAccess, t: CheckTarget, o: CheckOptions = {}): Promise<Verdict> {
  if (!t.namespace || !t.podName) {
    return { uninstall: true, reason: 'POD_NAME or POD_NAMESPACE is not set, so the owning DaemonSet cannot be checked' };
  }
  const clock = o.clock ?? realClock;
  const random = o.random ?? Math.random;
  const start = clock.now();
  const a: Attempt = { api, t, send: o.send ?? callApi, timeoutMs: () => Math.max(1, Math.min(ATTEMPT_MS, left())) };
  const budget = (): number => graceBudgetMs(a.pod?.graceSeconds ?? o.graceSeconds);
  const left = (): number => start + budget() - clock.now();
  let attempts = 0;
  let lastErr: unknown;
  for (;;) {
    attempts += 1;
    try {
      return await ask(a);
    } catch (err) {
      lastErr = err;
      if (!unanswered(err)) break;
    }
    const retryAfterMs = lastErr instanceof Unanswered ? lastErr.retryAfterMs : undefined;
    // Spread within what is left (never all at its last moment, as a fleet
    // stopped together would be), so that one more attempt still fits.
    const wait = waitWithinMs(backoffDelayMs(UNINSTALL_CHECK_BACKOFF, attempts, random, retryAfterMs), left() - MIN_ATTEMPT_MS, random, MIN_WAIT_MS);
    if (wait === undefined) break;
    await clock.sleep(wait);
  }
  const last = lastErr instanceof Error ? lastErr.message : String(lastErr);
  if (!unanswered(lastErr)) return { uninstall: true, reason: `cannot tell whether the DaemonSet remains (${last})` };
  const spent = Math.round((clock.now() - start) / 100) / 10;
  return {
    uninstall: true,
    reason: `no answer in ${attempts} attempt${attempts > 1 ? 's' : ''} over ${spent} s of the ${budget() / 1000} s grace budget (last: ${last}); cannot tell whether the DaemonSet remains, so an uninstall`,
  };
}
