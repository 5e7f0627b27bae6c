// The pods of the fake API server (api-server.ts), for --repair-pods: the
// list by node (fieldSelector spec.nodeName, paged with limit/continue as
// the API server does), a GET of one pod, and the Eviction subresource
// (policy/v1): the uid and resourceVersion preconditions checked (409), a
// PodDisruptionBudget's refusal (429 with a DisruptionBudget cause),
// RBAC's (403); an accepted eviction deletes the pod. Plus pods shaped as
// the kubelet leaves them, for tests to fill it with.
import type { IncomingMessage, ServerResponse } from 'node:http';

export type Pod = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** How an eviction of a pod is answered: accepted, refused by its PodDisruptionBudget, or by RBAC. */
export type EvictionAnswer = 'accept' | 'pdb' | 403;

export interface PodStore {
  /** The pods as stored, by "<namespace>/<name>". */
  readonly pods: Map<string, Pod>;
  /** "<namespace>/<name>" of each pod an eviction deleted, in order. */
  readonly evicted: string[];
  /** Every eviction request: the pod and the body sent. */
  readonly evictions: { pod: string; body: unknown }[];
  /** The query of each list request. */
  readonly lists: URLSearchParams[];
  /** Per pod; accepted when absent. */
  readonly answers: Map<string, EvictionAnswer>;
  add(...pods: Pod[]): void;
  /** Answers the requests it knows; false for the others. */
  handle(req: IncomingMessage, res: ServerResponse, body: unknown): boolean;
}

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

function failure(res: ServerResponse, code: number, reason: string, message: string, details?: object): void {
  send(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code, ...(details ? { details } : {}) });
}

export function podStore(): PodStore {
  const pods = new Map<string, Pod>();
  const store: PodStore = {
    pods,
    evicted: [],
    evictions: [],
    lists: [],
    answers: new Map(),
    add: (...added) => {
      for (const p of added) pods.set(`${p.metadata.namespace}/${p.metadata.name}`, p);
    },
    handle: (req, res, body) => {
      const url = new URL(req.url ?? '/', 'http://fake');
      if (req.method === 'GET' && url.pathname === '/api/v1/pods') {
        store.lists.push(url.searchParams);
        list(res, url.searchParams);
        return true;
      }
      const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)(\/eviction)?$/.exec(url.pathname);
      const key = m ? `${m[1]}/${m[2]}` : '';
      const pod = pods.get(key);
      if (!m || (!pod && !m[3])) return false;
      if (!m[3] && req.method === 'GET') send(res, 200, pod);
      else if (m[3] && req.method === 'POST') evict(res, key, body);
      else return false;
      return true;
    },
  };

  function list(res: ServerResponse, q: URLSearchParams): void {
    const selector = /^spec\.nodeName=(.+)$/.exec(q.get('fieldSelector') ?? '');
    const all = [...pods.values()].filter((p) => !selector || p.spec?.nodeName === selector[1]);
    const from = Number(q.get('continue') || 0);
    const limit = Number(q.get('limit') || all.length || 1);
    const items = all.slice(from, from + limit);
    const next = from + limit < all.length ? String(from + limit) : undefined;
    send(res, 200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '1000', ...(next ? { continue: next } : {}) }, items });
  }

  function evict(res: ServerResponse, key: string, body: unknown): void {
    store.evictions.push({ pod: key, body });
    const pod = pods.get(key);
    const [namespace, name] = key.split('/') as [string, string];
    if (!pod) return failure(res, 404, 'NotFound', `pods "${name}" not found`);
    const answer = store.answers.get(key) ?? 'accept';
    if (answer === 403) {
      return failure(res, 403, 'Forbidden', `pods "${name}" is forbidden: User "system:serviceaccount:kube-system:multus" cannot create resource "pods/eviction" in API group "" in the namespace "${namespace}"`);
    }
    const pre = (body as { deleteOptions?: { preconditions?: { uid?: string; resourceVersion?: string } } } | undefined)?.deleteOptions?.preconditions;
    if (pre?.uid !== undefined && pre.uid !== pod.metadata.uid) {
      return failure(res, 409, 'Conflict', `Operation cannot be fulfilled on Pod "${name}": Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${pod.metadata.uid}`);
    }
    if (pre?.resourceVersion !== undefined && pre.resourceVersion !== pod.metadata.resourceVersion) {
      return failure(res, 409, 'Conflict', `Operation cannot be fulfilled on pods "${name}": the object has been modified; please apply your changes to the latest version and try again`);
    }
    if (answer === 'pdb') {
      return failure(res, 429, 'TooManyRequests', "Cannot evict pod as it would violate the pod's disruption budget.", {
        causes: [{ reason: 'DisruptionBudget', message: 'The disruption budget web-pdb needs 1 healthy pods and has 1 currently' }],
      });
    }
    pods.delete(key);
    store.evicted.push(key);
    send(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
  }

  return store;
}

export interface PodShape {
  name: string;
  namespace?: string;
  node?: string;
  /** k8s.v1.cni.cncf.io/networks */
  networks?: string;
  /** k8s.v1.cni.cncf.io/network-status, as a list */
  status?: object[];
  /** When the kubelet saw the sandbox ready (PodReadyToStartContainers), ms. */
  sandboxReadyAt: number;
  /** Its controller; null for a bare pod. */
  owner?: { kind: string; name: string } | null;
  hostNetwork?: boolean;
  phase?: string;
}

/** A pod as the kubelet leaves it once its sandbox is up. Timestamps are whole seconds, as the API server stores them. */
export function kubeletPod(s: PodShape): Pod {
  const seconds = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  const annotations: Record<string, string> = {};
  if (s.networks !== undefined) annotations['k8s.v1.cni.cncf.io/networks'] = s.networks;
  if (s.status !== undefined) annotations['k8s.v1.cni.cncf.io/network-status'] = JSON.stringify(s.status);
  const owner = s.owner === undefined ? { kind: 'ReplicaSet', name: `${s.name}-rs` } : s.owner;
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: {
      name: s.name,
      namespace: s.namespace ?? 'apps',
      uid: `uid-${s.name}`,
      resourceVersion: '7',
      annotations,
      ...(owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: owner.kind, name: owner.name, uid: `uid-${owner.name}`, controller: true, blockOwnerDeletion: true }] } : {}),
    },
    spec: { nodeName: s.node ?? 'node-1', ...(s.hostNetwork ? { hostNetwork: true } : {}), containers: [{ name: 'app', image: 'app' }] },
    status: {
      phase: s.phase ?? 'Running',
      conditions: [{ type: 'PodReadyToStartContainers', status: 'True', lastTransitionTime: seconds(s.sandboxReadyAt) }],
      startTime: seconds(s.sandboxReadyAt - 2000),
    },
  };
}
