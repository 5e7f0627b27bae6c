// Uninstall or restart? Asks the API server for this pod's owning DaemonSet
// with the service-account token, through the one API client (kube-api.ts):
// gone, being deleted, or no longer selecting this node (its nodeSelector or
// required node affinity against the node's labels, as Istio's installer
// decides) is an uninstall; otherwise a restart. An API server that does not
// answer is asked again every second, up to a budget, before the check
// gives up (and then counts it as an uninstall, as SPEC says).
import { ApiError, callApi, refused, type ApiAccess, type ApiRequest, type ApiResponse } from './kube-api.js';
import { nodeInfo, selectsNode } from '../core/node-selection.js';

export type { ApiAccess } from './kube-api.js';

export interface Verdict {
  uninstall: boolean;
  reason: string;
}

function get(api: ApiAccess, req: Omit<ApiRequest, 'method'>): Promise<ApiResponse> {
  return callApi(api, { method: 'GET', ...req });
}

interface OwnerReference { kind?: unknown; name?: unknown; controller?: unknown }

function daemonSetOwner(pod: unknown): string | undefined {
  const refs = (pod as { metadata?: { ownerReferences?: unknown } } | undefined)?.metadata?.ownerReferences;
  if (!Array.isArray(refs)) return undefined;
  const ds = (refs as OwnerReference[]).find((r) => r.kind === 'DaemonSet' && typeof r.name === 'string');
  return ds ? String(ds.name) : undefined;
}

/** No answer worth acting on (connection, timeout, TLS; 429 or 5xx): asked again. */
class Unanswered extends Error {}

function unanswered(err: unknown): boolean {
  return err instanceof Unanswered || (err instanceof ApiError && err.status === undefined);
}

function check(req: Pick<ApiRequest, 'what' | 'rbac'>, res: ApiResponse): ApiResponse {
  if (res.status === 429 || res.status >= 500) throw new Unanswered(refused(req, res).message);
  return res;
}

/** The DaemonSet remains: does it still select node `nodeName`? A node that cannot be read leaves it a restart. */
async function stillSelects(api: ApiAccess, dsName: string, ds: unknown, nodeName: string, signal: AbortSignal, timeoutMs: number): Promise<Verdict> {
  const nodeReq = { what: `get node ${nodeName}`, rbac: 'get on nodes', path: `/api/v1/nodes/${encodeURIComponent(nodeName)}`, signal, timeoutMs };
  const node = check(nodeReq, await get(api, nodeReq));
  if (node.status === 404) return { uninstall: true, reason: `node ${nodeName} no longer exists` };
  if (node.status !== 200) {
    return { uninstall: false, reason: `DaemonSet ${dsName} still exists; whether it still selects node ${nodeName} is unknown (${refused(nodeReq, node).message}), so a restart` };
  }
  const template = (ds as { spec?: { template?: { spec?: unknown } } } | undefined)?.spec?.template?.spec;
  const selection = selectsNode(template, nodeInfo(node.body, nodeName));
  if (!selection.selects) return { uninstall: true, reason: `DaemonSet ${dsName} no longer selects node ${nodeName}: ${selection.why}` };
  return { uninstall: false, reason: `DaemonSet ${dsName} still exists and selects node ${nodeName} (a restart or rolling update)` };
}

async function ask(api: ApiAccess, namespace: string, podName: string, nodeName: string, signal: AbortSignal, timeoutMs: number): Promise<Verdict> {
  const ns = encodeURIComponent(namespace);
  const podReq = { what: `get pod ${namespace}/${podName}`, rbac: 'get on pods', path: `/api/v1/namespaces/${ns}/pods/${encodeURIComponent(podName)}`, signal, timeoutMs };
  const pod = check(podReq, await get(api, podReq));
  if (pod.status === 404) return { uninstall: true, reason: `pod ${namespace}/${podName} no longer exists` };
  if (pod.status !== 200) throw refused(podReq, pod);
  const owner = daemonSetOwner(pod.body);
  if (!owner) return { uninstall: true, reason: `pod ${namespace}/${podName} is not owned by a DaemonSet` };
  const dsReq = { what: `get DaemonSet ${namespace}/${owner}`, rbac: 'get on daemonsets.apps', path: `/apis/apps/v1/namespaces/${ns}/daemonsets/${encodeURIComponent(owner)}`, signal, timeoutMs };
  const ds = check(dsReq, await get(api, dsReq));
  if (ds.status === 404) return { uninstall: true, reason: `DaemonSet ${namespace}/${owner} is gone` };
  if (ds.status !== 200) throw refused(dsReq, ds);
  const deleting = (ds.body as { metadata?: { deletionTimestamp?: unknown } } | undefined)?.metadata?.deletionTimestamp;
  if (deleting) return { uninstall: true, reason: `DaemonSet ${namespace}/${owner} is being deleted` };
  if (!nodeName) return { uninstall: false, reason: `DaemonSet ${namespace}/${owner} still exists (a restart or rolling update; NODE_NAME is not set, so whether it still selects this node is not checked)` };
  return stillSelects(api, `${namespace}/${owner}`, ds.body, nodeName, signal, timeoutMs);
}

/** Pause between attempts when the API server does not answer. */
const RETRY_MS = 1000;
/** No single request waits longer than this, so a hung one leaves time to ask again. */
const ATTEMPT_MS = 5000;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}

/**
 * Decides whether this stop is an uninstall. An API server that does not
 * answer is asked again every second until budgetMs has passed; then (or on
 * a refusal) it is treated as one, as SPEC says: a node must not keep a
 * config pointing at a Multus nobody maintains.
 */
export async function checkUninstall(api: ApiAccess, namespace: string, podName: string, budgetMs: number, nodeName = ''): Promise<Verdict> {
  if (!namespace || !podName) {
    return { uninstall: true, reason: 'POD_NAME or POD_NAMESPACE is not set, so the owning DaemonSet cannot be checked' };
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), budgetMs);
  const end = Date.now() + budgetMs;
  let attempts = 0;
  let lastErr: unknown;
  try {
    for (;;) {
      attempts += 1;
      try {
        return await ask(api, namespace, podName, nodeName, controller.signal, Math.max(1, Math.min(ATTEMPT_MS, end - Date.now())));
      } catch (err) {
        lastErr = err;
        if (!unanswered(err) || controller.signal.aborted || Date.now() + RETRY_MS >= end) break;
      }
      await sleep(RETRY_MS, controller.signal);
    }
    const last = lastErr instanceof Error ? lastErr.message : String(lastErr);
    const why = unanswered(lastErr) ? `no answer within ${budgetMs / 1000} s, ${attempts} attempt${attempts > 1 ? 's' : ''}; last: ${last}` : last;
    return { uninstall: true, reason: `cannot tell whether the DaemonSet remains (${why})` };
  } finally {
    clearTimeout(timer);
  }
}
