// Uninstall or restart? Asks the API server for this pod's owning DaemonSet
// with the service-account token, through the one API client (kube-api.ts).
import { callApi, refused, type ApiAccess, type ApiRequest, type ApiResponse } from './kube-api.js';

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

async function ask(api: ApiAccess, namespace: string, podName: string, signal: AbortSignal, timeoutMs: number): Promise<Verdict> {
  const ns = encodeURIComponent(namespace);
  const podReq = { what: `get pod ${namespace}/${podName}`, rbac: 'get on pods', path: `/api/v1/namespaces/${ns}/pods/${encodeURIComponent(podName)}`, signal, timeoutMs };
  const pod = await get(api, podReq);
  if (pod.status === 404) return { uninstall: true, reason: `pod ${namespace}/${podName} no longer exists` };
  if (pod.status !== 200) throw refused(podReq, pod);
  const owner = daemonSetOwner(pod.body);
  if (!owner) return { uninstall: true, reason: `pod ${namespace}/${podName} is not owned by a DaemonSet` };
  const dsReq = { what: `get DaemonSet ${namespace}/${owner}`, rbac: 'get on daemonsets.apps', path: `/apis/apps/v1/namespaces/${ns}/daemonsets/${encodeURIComponent(owner)}`, signal, timeoutMs };
  const ds = await get(api, dsReq);
  if (ds.status === 404) return { uninstall: true, reason: `DaemonSet ${namespace}/${owner} is gone` };
  if (ds.status !== 200) throw refused(dsReq, ds);
  const deleting = (ds.body as { metadata?: { deletionTimestamp?: unknown } } | undefined)?.metadata?.deletionTimestamp;
  if (deleting) return { uninstall: true, reason: `DaemonSet ${namespace}/${owner} is being deleted` };
  return { uninstall: false, reason: `DaemonSet ${namespace}/${owner} still exists (a restart or rolling update)` };
}

/**
 * Decides whether this stop is an uninstall. When the answer cannot be had
 * within timeoutMs, it is treated as one, as SPEC says: a node must not keep
 * a config pointing at a Multus nobody maintains.
 */
export async function checkUninstall(api: ApiAccess, namespace: string, podName: string, timeoutMs: number): Promise<Verdict> {
  if (!namespace || !podName) {
    return { uninstall: true, reason: 'POD_NAME or POD_NAMESPACE is not set, so the owning DaemonSet cannot be checked' };
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    return await ask(api, namespace, podName, controller.signal, timeoutMs);
  } catch (err) {
    const why = controller.signal.aborted ? `no answer within ${timeoutMs} ms` : (err instanceof Error ? err.message : String(err));
    return { uninstall: true, reason: `cannot tell whether the DaemonSet remains (${why})` };
  } finally {
    clearTimeout(timer);
  }
}
