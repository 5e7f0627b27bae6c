// A stand-in for the Kubernetes API server on 127.0.0.1, answering the two
// GETs of the uninstall check the way the real one does: the pod with an
// ownerReference to its DaemonSet, then the DaemonSet (present, gone, being
// deleted), a 403 from RBAC, or no answer at all. HTTP or HTTPS. Also
// records Events (events.k8s.io/v1 POSTs) and serves Nodes (GET, and a
// JSON patch of test + add ops, as the startup taint sends).
import { execFileSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NAMESPACE = 'kube-system';
export const POD = 'kube-multus-ds-x7k2p';
export const DAEMONSET = 'kube-multus-ds';
export const POD_UID = '3f1c2a8e-0000-4000-8000-000000000001';

export type DaemonSetState = 'present' | 'absent' | 'deleting' | 'forbidden' | 'hang';

export interface Taint { key: string; effect: string; value?: string }

export interface FakeApiOptions {
  /** Read on each request, so a test can change it (e.g. delete the DaemonSet). */
  daemonSet: DaemonSetState;
  /** Nodes by name; PATCHes change them in place. */
  nodes?: Record<string, { taints?: Taint[]; labels?: Record<string, string> }>;
  /** Answer event creates / node PATCHes with this status (403: RBAC refuses), or 'hang'. */
  events?: 'accept' | 403 | 'hang';
  nodePatch?: 'accept' | 403;
  /** The bearer token the server accepts (401 for any other). */
  token: string;
  /** Serve HTTPS with this key and certificate. */
  tls?: { key: string; cert: string };
}

export interface ReceivedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  contentType?: string | undefined;
  /** The JSON body, when there was one. */
  body?: unknown;
}

export interface FakeApi {
  port: number;
  /** Every request but the Events. */
  requests: ReceivedRequest[];
  /** Events created (the bodies as sent). */
  events: Record<string, any>[];
  /** The env the command needs to reach this server as its API server. */
  env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
}

function object(res: ServerResponse, body: unknown): void {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

const pod = {
  kind: 'Pod',
  apiVersion: 'v1',
  metadata: {
    name: POD,
    namespace: NAMESPACE,
    uid: POD_UID,
    labels: { app: 'multus', name: 'multus' },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: DAEMONSET, uid: '3f1c2a8e-0000-4000-8000-000000000002', controller: true, blockOwnerDeletion: true }],
  },
  spec: { nodeName: 'node-1', containers: [{ name: 'kube-multus', image: 'multus' }] },
  status: { phase: 'Running' },
};

function daemonSet(deleting: boolean): unknown {
  return {
    kind: 'DaemonSet',
    apiVersion: 'apps/v1',
    metadata: {
      name: DAEMONSET,
      namespace: NAMESPACE,
      uid: '3f1c2a8e-0000-4000-8000-000000000002',
      ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z', deletionGracePeriodSeconds: 0, finalizers: ['foregroundDeletion'] } : {}),
    },
    spec: { selector: { matchLabels: { name: 'multus' } } },
    status: { desiredNumberScheduled: 1, numberReady: 1 },
  };
}

export async function startFakeApi(o: FakeApiOptions): Promise<FakeApi> {
  const requests: ReceivedRequest[] = [];
  const events: Record<string, any>[] = [];
  const sockets = new Set<Socket>();
  let resourceVersion = 100;
  const nodeObject = (name: string): unknown => {
    const n = o.nodes![name]!;
    return { kind: 'Node', apiVersion: 'v1', metadata: { name, resourceVersion: String(resourceVersion), labels: n.labels ?? {} }, spec: n.taints ? { taints: n.taints } : {} };
  };
  const writes = (req: IncomingMessage, res: ServerResponse, path: string, body: unknown): boolean => {
    if (req.method === 'POST' && /^\/apis\/events\.k8s\.io\/v1\/namespaces\/[^/]+\/events$/.test(path)) {
      const mode = o.events ?? 'accept';
      if (mode === 'hang') return true;
      if (mode === 403) {
        status(res, 403, 'Forbidden', `events.events.k8s.io is forbidden: User "system:serviceaccount:${NAMESPACE}:multus" cannot create resource "events" in API group "events.k8s.io"`);
        return true;
      }
      events.push(body as Record<string, any>);
      res.writeHead(201, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
      return true;
    }
    const node = /^\/api\/v1\/nodes\/([^/]+)$/.exec(path)?.[1];
    if (node === undefined || !o.nodes?.[node]) return false;
    if (req.method === 'GET') {
      object(res, nodeObject(node));
      return true;
    }
    if (req.method !== 'PATCH') return false;
    if (o.nodePatch === 403) {
      status(res, 403, 'Forbidden', `nodes "${node}" is forbidden: User "system:serviceaccount:${NAMESPACE}:multus" cannot patch resource "nodes"`);
      return true;
    }
    if (req.headers['content-type'] !== 'application/json-patch+json' || !Array.isArray(body)) {
      status(res, 415, 'UnsupportedMediaType', 'expected a JSON patch');
      return true;
    }
    for (const op of body as { op: string; path: string; value: unknown }[]) {
      if (op.op === 'test' && op.path === '/metadata/resourceVersion' && op.value !== String(resourceVersion)) {
        status(res, 422, 'Invalid', 'the test operation failed');
        return true;
      }
      if (op.op === 'add' && op.path === '/spec/taints') o.nodes[node]!.taints = op.value as Taint[];
    }
    resourceVersion++;
    object(res, nodeObject(node));
    return true;
  };
  const handler = (req: IncomingMessage, res: ServerResponse, body: unknown): void => {
    const path = (req.url ?? '/').split('?')[0]!;
    // Events go to `events` only, so the uninstall check's requests read alone.
    if (!path.startsWith('/apis/events.k8s.io/')) requests.push({ method: req.method ?? '', path, authorization: req.headers.authorization, contentType: req.headers['content-type'], body });
    if (req.headers.authorization !== `Bearer ${o.token}`) {
      status(res, 401, 'Unauthorized', 'Unauthorized');
      return;
    }
    if (writes(req, res, path, body)) return;
    if (req.method !== 'GET') {
      status(res, 405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
      return;
    }
    if (path === `/api/v1/namespaces/${NAMESPACE}/pods/${POD}`) {
      object(res, pod);
      return;
    }
    if (path === `/apis/apps/v1/namespaces/${NAMESPACE}/daemonsets/${DAEMONSET}`) {
      switch (o.daemonSet) {
        case 'present': object(res, daemonSet(false)); return;
        case 'deleting': object(res, daemonSet(true)); return;
        case 'absent': status(res, 404, 'NotFound', `daemonsets.apps "${DAEMONSET}" not found`); return;
        case 'forbidden':
          status(res, 403, 'Forbidden', `daemonsets.apps "${DAEMONSET}" is forbidden: User "system:serviceaccount:${NAMESPACE}:multus" cannot get resource "daemonsets" in API group "apps" in the namespace "${NAMESPACE}"`);
          return;
        case 'hang': return; // never answers; the socket is destroyed on close
      }
    }
    status(res, 404, 'NotFound', 'the server could not find the requested resource');
  };
  const withBody = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: unknown;
      try {
        body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
      } catch {
        body = undefined;
      }
      handler(req, res, body);
    });
  };
  const server: Server = o.tls ? createHttpsServer({ key: o.tls.key, cert: o.tls.cert }, withBody) : createHttpServer(withBody);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    requests,
    events,
    env: {
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: String(port),
      KUBERNETES_SERVICE_PROTOCOL: o.tls ? 'https' : 'http',
      POD_NAME: POD,
      POD_NAMESPACE: NAMESPACE,
      POD_UID: POD_UID,
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A self-signed certificate for 127.0.0.1, made by openssl; it is its own CA. */
export async function selfSignedCert(): Promise<{ key: string; cert: string }> {
  const dir = await fsp.mkdtemp(join(tmpdir(), 'multus-cert-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1',
      '-subj', '/CN=kubernetes', '-addext', 'subjectAltName=IP:127.0.0.1',
    ], { stdio: 'ignore' });
    return { key: await fsp.readFile(join(dir, 'key.pem'), 'utf8'), cert: await fsp.readFile(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}
