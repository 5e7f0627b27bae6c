// Uninstall or restart? Asks the API server for this pod's owning DaemonSet
// with the service-account token. Two GETs with Node's own HTTPS client:
// @kubernetes/client-node alone gets the process OOM-killed at 50Mi.
import { nodeHttp, nodeHttps } from './builtins.js';
import type { KubeconfigInput } from './kubeconfig.js';
import { serverUrl } from './kubeconfig.js';

/** The API server as the kubeconfig reaches it: the same server, token and CA. */
export type ApiAccess = KubeconfigInput;

export interface Verdict {
  uninstall: boolean;
  reason: string;
}

interface Response {
  status: number;
  body: unknown;
}

class CheckFailed extends Error {}

/** Why a GET was refused, with the API server's own message (a 403 names the missing RBAC rule). */
function refused(what: string, res: Response): CheckFailed {
  const message = (res.body as { message?: unknown } | undefined)?.message;
  const detail = typeof message === 'string' && message !== '' ? `: ${message.slice(0, 300)}` : '';
  const hint = res.status === 403 ? ' (grant the service account get on pods and on daemonsets.apps)' : '';
  return new CheckFailed(`GET ${what}: HTTP ${res.status}${detail}${hint}`);
}

function get(api: ApiAccess, path: string, signal: AbortSignal): Promise<Response> {
  const url = new URL(path, serverUrl(api.protocol, api.host, api.port));
  const { request } = url.protocol === 'http:' ? nodeHttp() : nodeHttps();
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'GET',
      signal,
      headers: { Authorization: `Bearer ${api.token}`, Accept: 'application/json' },
      ca: api.ca,
      rejectUnauthorized: !api.skipTlsVerify,
    }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        // A pod or DaemonSet object is a few KiB; do not buffer a runaway answer.
        if (size > 4 * 1024 * 1024) req.destroy(new CheckFailed(`GET ${url.pathname}: answer too large`));
        else chunks.push(c);
      });
      res.on('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on('error', reject);
    });
    req.on('error', (err) => reject(new CheckFailed(`GET ${url.pathname}: ${err.message}`)));
    req.end();
  });
}

interface OwnerReference { kind?: unknown; name?: unknown; controller?: unknown }

function daemonSetOwner(pod: unknown): string | undefined {
  const refs = (pod as { metadata?: { ownerReferences?: unknown } } | undefined)?.metadata?.ownerReferences;
  if (!Array.isArray(refs)) return undefined;
  const ds = (refs as OwnerReference[]).find((r) => r.kind === 'DaemonSet' && typeof r.name === 'string');
  return ds ? String(ds.name) : undefined;
}

async function ask(api: ApiAccess, namespace: string, podName: string, signal: AbortSignal): Promise<Verdict> {
  const ns = encodeURIComponent(namespace);
  const pod = await get(api, `/api/v1/namespaces/${ns}/pods/${encodeURIComponent(podName)}`, signal);
  if (pod.status === 404) return { uninstall: true, reason: `pod ${namespace}/${podName} no longer exists` };
  if (pod.status !== 200) throw refused(`pod ${namespace}/${podName}`, pod);
  const owner = daemonSetOwner(pod.body);
  if (!owner) return { uninstall: true, reason: `pod ${namespace}/${podName} is not owned by a DaemonSet` };
  const ds = await get(api, `/apis/apps/v1/namespaces/${ns}/daemonsets/${encodeURIComponent(owner)}`, signal);
  if (ds.status === 404) return { uninstall: true, reason: `DaemonSet ${namespace}/${owner} is gone` };
  if (ds.status !== 200) throw refused(`DaemonSet ${namespace}/${owner}`, ds);
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
    return await ask(api, namespace, podName, controller.signal);
  } catch (err) {
    const why = controller.signal.aborted ? `no answer within ${timeoutMs} ms` : (err instanceof Error ? err.message : String(err));
    return { uninstall: true, reason: `cannot tell whether the DaemonSet remains (${why})` };
  } finally {
    clearTimeout(timer);
  }
}
