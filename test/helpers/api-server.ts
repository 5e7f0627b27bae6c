// A stand-in for the Kubernetes API server on 127.0.0.1, answering what the
// program asks the way the real one does: the two GETs of the uninstall
// check (the pod with an ownerReference to its DaemonSet, then the DaemonSet:
// present, gone, being deleted, a 403 from RBAC, or no answer at all), the
// node's GET, and the TokenRequest for a node-bound token (issued as a JWT
// whose claims name the service account and the node, as
// pkg/serviceaccount/claims.go writes them), the startup taint's JSON patch
// of the node, Events (events.k8s.io/v1 creates and the PATCHes of their
// series, kept apart from `requests`), and workload pods to list and evict
// (api-pods.ts). It can shed load as priority
// and fairness does (429/5xx with Retry-After), and logs when each request
// came and how it was answered. HTTP or HTTPS. Its behaviour can be changed
// while a test runs (set()). Suites use it through useFakeApi(): one server
// per test, closed after it, reached by the built program (env()) or by src/
// in-process (access()).
import { afterEach, beforeAll } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PodStore } from './api-pods.js';
import { TOKEN } from './host-root.js';

export const NAMESPACE = 'kube-system';
export const POD = 'kube-multus-ds-x7k2p';
export const DAEMONSET = 'kube-multus-ds';
export const POD_UID = '3f1c2a8e-0000-4000-8000-000000000001';

export const NODE = 'node-1';
export const SERVICE_ACCOUNT = 'multus';

/** unavailable: 503, as an API server that is starting or overloaded answers. */
export type DaemonSetState = 'present' | 'absent' | 'deleting' | 'forbidden' | 'unavailable' | 'hang';
/**
 * How a TokenRequest is answered: issued, refused by RBAC, node binding
 * unsupported (1.28 and older), the node unknown, or no answer; or a 200
 * that is no good: without status.token, without status.expirationTimestamp,
 * or a token bound to no node (a server or proxy that dropped boundObjectRef).
 */
export type TokenRequestState = 'ok' | 'forbidden' | 'unsupported' | 'node-missing' | 'hang' | 'no-token' | 'no-expiry' | 'not-node-bound';
export type NodeState = 'present' | 'absent' | 'forbidden' | 'hang';
/** owned: by the DaemonSet; absent: 404 (deleted); orphan: no owner; replicaset: owned by a ReplicaSet. */
export type PodState = 'owned' | 'absent' | 'orphan' | 'replicaset';

export interface Taint { key: string; effect: string; value?: string }

export interface FakeApiOptions {
  daemonSet: DaemonSetState;
  /** The pod asked for first; owned by the DaemonSet unless said otherwise. */
  pod?: PodState;
  /** The bearer token the server accepts (401 for any other); tokens it issued are accepted too. */
  token: string;
  /** Serve HTTPS with this key and certificate. */
  tls?: { key: string; cert: string };
  tokenRequest?: TokenRequestState;
  /** The server shortens every token to this lifetime (as --service-account-max-token-expiration does). */
  maxTokenSeconds?: number;
  node?: NodeState;
  nodeLabels?: Record<string, string>;
  /** The DaemonSet's pod template scheduling constraints. */
  nodeSelector?: Record<string, string>;
  affinity?: unknown;
  /** The node's taints at start; PATCHes change them (see taints()). */
  nodeTaints?: Taint[];
  /**
   * Answer the node's PATCH, refuse it as RBAC would, or apply it and answer
   * 504 (kube-apiserver's answer to a client that gave up, its work going on).
   */
  nodePatch?: 'accept' | 403 | 'applied-504';
  /** Answer Event creates, refuse them as RBAC would, or never answer. */
  events?: 'accept' | 403 | 'hang';
  /**
   * The next this many Event creates are made but answered 504, as
   * kube-apiserver answers a client that gave up while it goes on. A create
   * of a name that exists is answered 409 AlreadyExists, as it would be.
   */
  eventCreatesLost?: number;
  /** Workload pods (api-pods.ts): listed by node, read, evicted. */
  pods?: PodStore;
  /** The pod's spec.terminationGracePeriodSeconds (absent when unset). */
  podGraceSeconds?: number;
  /**
   * Shed load as priority and fairness does: answer requests whose "METHOD
   * path" matches `match` (all when unset) with `status` (429, 503...) and a
   * Retry-After of `retryAfter` seconds (none when unset), `times` times
   * (forever when unset).
   */
  busy?: { status: number; retryAfter?: string; times?: number; match?: RegExp };
}

/** A PATCH of an Event as received: the program sends only its series. */
export interface EventPatch {
  name: string;
  body: { series: { count: number; lastObservedTime: string } };
  contentType: string | undefined;
}

/** Every request as answered, Events included: when it came and the status it got. */
export interface AnsweredRequest {
  method: string;
  path: string;
  /** Date.now() on arrival. */
  at: number;
  /** The status sent; 0 while unanswered (a hang). */
  status: number;
}

export interface ReceivedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  /** The JSON body of a POST or PATCH. */
  body?: unknown;
  contentType?: string;
}

export interface FakeApi {
  port: number;
  requests: ReceivedRequest[];
  /** Tokens issued by TokenRequest, in order. */
  issued: string[];
  /** Every request with its arrival time and status, Events included. */
  answered: AnsweredRequest[];
  /** Events created (the bodies as sent, with `series` as PATCHed since); not in `requests`. */
  events: Record<string, any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** PATCHes of Events (an EventSeries' count), in order; not in `requests`. An Event removed from `events` answers 404. */
  eventPatches: EventPatch[];
  /** The node's taints now. */
  taints(): Taint[];
  /** The env the command needs to reach this server as its API server. */
  env: NodeJS.ProcessEnv;
  /** Changes how the server answers from now on. */
  set(change: Partial<FakeApiOptions>): void;
  /** Accepts this bearer token too (a rotated mounted token). */
  accept(token: string): void;
  close(): Promise<void>;
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/**
 * A service-account JWT with the claims the API server writes (unsigned:
 * the program only reads the claims). Bound to a pod (the mounted token)
 * or to a node (a requested one).
 */
export function serviceAccountJwt(o: { namespace?: string; name?: string; pod?: string; node?: string; expiresInSeconds?: number; tag?: string }): string {
  const now = Math.floor(Date.now() / 1000);
  const k8s: Record<string, unknown> = {
    namespace: o.namespace ?? NAMESPACE,
    serviceaccount: { name: o.name ?? SERVICE_ACCOUNT, uid: '3f1c2a8e-0000-4000-8000-00000000000a' },
  };
  if (o.pod) k8s.pod = { name: o.pod, uid: '3f1c2a8e-0000-4000-8000-000000000001' };
  if (o.node) k8s.node = { name: o.node, uid: '3f1c2a8e-0000-4000-8000-00000000000b' };
  const payload = {
    aud: ['https://kubernetes.default.svc'],
    exp: now + (o.expiresInSeconds ?? 3600),
    iat: now,
    iss: 'https://kubernetes.default.svc',
    jti: Math.random().toString(36).slice(2),
    'kubernetes.io': k8s,
    nbf: now,
    sub: `system:serviceaccount:${o.namespace ?? NAMESPACE}:${o.name ?? SERVICE_ACCOUNT}`,
  };
  return `${b64url({ alg: 'RS256', kid: 'test' })}.${b64url(payload)}.${o.tag ?? 'sig'}-never-log-me`;
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
    uid: '3f1c2a8e-0000-4000-8000-000000000001',
    labels: { app: 'multus', name: 'multus' },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: DAEMONSET, uid: '3f1c2a8e-0000-4000-8000-000000000002', controller: true, blockOwnerDeletion: true }],
  },
  spec: { nodeName: 'node-1', containers: [{ name: 'kube-multus', image: 'multus' }] } as Record<string, unknown>,
  status: { phase: 'Running' },
};

function podObject(o: FakeApiOptions): unknown {
  return o.podGraceSeconds === undefined ? pod : { ...pod, spec: { ...pod.spec, terminationGracePeriodSeconds: o.podGraceSeconds } };
}

function daemonSet(deleting: boolean, o: FakeApiOptions): unknown {
  const podSpec: Record<string, unknown> = { containers: [{ name: 'kube-multus', image: 'multus' }] };
  if (o.nodeSelector) podSpec.nodeSelector = o.nodeSelector;
  if (o.affinity) podSpec.affinity = o.affinity;
  return {
    kind: 'DaemonSet',
    apiVersion: 'apps/v1',
    metadata: {
      name: DAEMONSET,
      namespace: NAMESPACE,
      uid: '3f1c2a8e-0000-4000-8000-000000000002',
      ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z', deletionGracePeriodSeconds: 0, finalizers: ['foregroundDeletion'] } : {}),
    },
    spec: { selector: { matchLabels: { name: 'multus' } }, template: { metadata: { labels: { name: 'multus' } }, spec: podSpec } },
    status: { desiredNumberScheduled: 1, numberReady: 1 },
  };
}

/** The startup taint's PATCH: a JSON patch that tests the taints (or the resourceVersion) and sets them. */
function patchNode(req: IncomingMessage, res: ServerResponse, body: unknown, o: FakeApiOptions & { nodeVersion?: number }): void {
  if (o.nodePatch === 403) {
    status(res, 403, 'Forbidden', `nodes "${NODE}" is forbidden: User "system:serviceaccount:${NAMESPACE}:multus" cannot patch resource "nodes" in API group "" at the cluster scope`);
    return;
  }
  if (req.headers['content-type'] !== 'application/json-patch+json' || !Array.isArray(body)) {
    status(res, 415, 'UnsupportedMediaType', 'expected a JSON patch');
    return;
  }
  const version = String(o.nodeVersion ?? 1);
  for (const op of body as { op: string; path: string; value: unknown }[]) {
    const taintsDiffer = op.path === '/spec/taints' && JSON.stringify(op.value) !== JSON.stringify(o.nodeTaints ?? null);
    if (op.op === 'test' && ((op.path === '/metadata/resourceVersion' && op.value !== version) || taintsDiffer)) {
      status(res, 422, 'Invalid', 'the server rejected our request due to an error in our request');
      return;
    }
  }
  for (const op of body as { op: string; path: string; value: unknown }[]) {
    if (op.op === 'add' && op.path === '/spec/taints') o.nodeTaints = op.value as Taint[];
  }
  o.nodeVersion = (o.nodeVersion ?? 1) + 1;
  if (o.nodePatch === 'applied-504') {
    status(res, 504, 'Timeout', 'request did not complete within the allotted timeout');
    return;
  }
  object(res, node(o));
}

function node(o: FakeApiOptions & { nodeVersion?: number }): unknown {
  return {
    kind: 'Node',
    apiVersion: 'v1',
    metadata: { name: NODE, uid: '3f1c2a8e-0000-4000-8000-00000000000b', resourceVersion: String(o.nodeVersion ?? 1), labels: { 'kubernetes.io/hostname': NODE, 'kubernetes.io/os': 'linux', ...o.nodeLabels } },
    spec: o.nodeTaints ? { taints: o.nodeTaints } : {},
  };
}

const tokenPath = `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/${SERVICE_ACCOUNT}/token`;

/** Answers a TokenRequest as pkg/registry/core/serviceaccount/storage/token.go does. */
function tokenRequest(res: ServerResponse, body: unknown, o: FakeApiOptions, issued: string[]): boolean {
  const state = o.tokenRequest ?? 'ok';
  if (state === 'hang') return false;
  if (state === 'forbidden') {
    status(res, 403, 'Forbidden', `serviceaccounts "${SERVICE_ACCOUNT}" is forbidden: User "system:serviceaccount:${NAMESPACE}:${SERVICE_ACCOUNT}" cannot create resource "serviceaccounts/token" in API group "" in the namespace "${NAMESPACE}"`);
    return true;
  }
  const spec = (body as { spec?: { expirationSeconds?: number; boundObjectRef?: { kind?: string; name?: string } } } | undefined)?.spec;
  const ref = spec?.boundObjectRef;
  if (ref?.kind === 'Node' && state === 'unsupported') {
    status(res, 400, 'BadRequest', 'cannot bind token to object of type /v1, Kind=Node');
    return true;
  }
  if (ref?.kind === 'Node' && (state === 'node-missing' || ref.name !== NODE)) {
    status(res, 404, 'NotFound', `nodes "${ref.name}" not found`);
    return true;
  }
  const requested = spec?.expirationSeconds ?? 3600;
  if (requested < 600) {
    status(res, 422, 'Invalid', 'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: may not specify a duration less than 10 minutes');
    return true;
  }
  const seconds = Math.min(requested, o.maxTokenSeconds ?? requested);
  const bound = ref?.kind === 'Node' && state !== 'not-node-bound' ? ref.name : undefined;
  const token = serviceAccountJwt({ node: bound, expiresInSeconds: seconds, tag: `issued-${issued.length + 1}` });
  issued.push(token);
  const expirationTimestamp = new Date(Date.now() + seconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  object(res, {
    kind: 'TokenRequest',
    apiVersion: 'authentication.k8s.io/v1',
    metadata: { name: SERVICE_ACCOUNT, namespace: NAMESPACE, creationTimestamp: new Date().toISOString() },
    spec: { audiences: ['https://kubernetes.default.svc'], expirationSeconds: seconds, boundObjectRef: state === 'not-node-bound' ? null : ref ?? null },
    status: {
      ...(state === 'no-token' ? {} : { token }),
      ...(state === 'no-expiry' ? {} : { expirationTimestamp }),
    },
  });
  return true;
}

export async function startFakeApi(options: FakeApiOptions): Promise<FakeApi> {
  const o: FakeApiOptions & { nodeVersion?: number } = { ...options };
  const requests: ReceivedRequest[] = [];
  const events: Record<string, any>[] = []; // eslint-disable-line @typescript-eslint/no-explicit-any
  const eventPatches: FakeApi['eventPatches'] = [];
  const issued: string[] = [];
  const answered: AnsweredRequest[] = [];
  const accepted = new Set<string>([o.token]);
  const sockets = new Set<Socket>();
  const handler = (req: IncomingMessage, res: ServerResponse, body: unknown): void => {
    const path = (req.url ?? '/').split('?')[0]!;
    // Events regard this pod (kube-system) or, with --repair-pods, a pod in any namespace.
    const eventsMatch = /^\/apis\/events\.k8s\.io\/v1\/namespaces\/[^/]+\/events(?:\/([^/]+))?$/.exec(path);
    const isEvent = req.method === 'POST' && eventsMatch !== null && eventsMatch[1] === undefined;
    const eventName = req.method === 'PATCH' ? eventsMatch?.[1] : undefined;
    const isEventPatch = eventName !== undefined;
    if (!isEvent && !isEventPatch) {
      const contentType = req.headers['content-type'];
      requests.push({ method: req.method ?? '', path, authorization: req.headers.authorization, ...(body === undefined ? {} : { body }), ...(contentType ? { contentType } : {}) });
    }
    const bearer = req.headers.authorization?.replace(/^Bearer /, '') ?? '';
    if (!accepted.has(bearer) && !issued.includes(bearer)) {
      status(res, 401, 'Unauthorized', 'Unauthorized');
      return;
    }
    const busy = o.busy;
    if (busy && (busy.times ?? 1) > 0 && (!busy.match || busy.match.test(`${req.method ?? ''} ${path}`))) {
      if (busy.times !== undefined) busy.times -= 1;
      if (busy.retryAfter !== undefined) res.setHeader('Retry-After', busy.retryAfter);
      status(res, busy.status, busy.status === 429 ? 'TooManyRequests' : 'ServiceUnavailable', busy.status === 429 ? 'Too many requests, please try again later.' : 'the server is currently unable to handle the request');
      return;
    }
    if (isEvent || isEventPatch) {
      const mode = o.events ?? 'accept';
      if (mode === 'hang') return;
      if (mode === 403) {
        status(res, 403, 'Forbidden', `events.events.k8s.io is forbidden: User "system:serviceaccount:${NAMESPACE}:multus" cannot create resource "events" in API group "events.k8s.io" in the namespace "${NAMESPACE}"`);
        return;
      }
      if (isEventPatch) {
        const name = decodeURIComponent(eventName);
        const event = events.find((e) => e.metadata?.name === name);
        if (!event) {
          status(res, 404, 'NotFound', `events.events.k8s.io "${name}" not found`);
          return;
        }
        eventPatches.push({ name, body: body as EventPatch['body'], contentType: req.headers['content-type'] });
        Object.assign(event, body as Record<string, unknown>);
        object(res, event);
        return;
      }
      const name = (body as { metadata?: { name?: unknown } } | undefined)?.metadata?.name;
      if (events.some((e) => e.metadata?.name === name)) {
        status(res, 409, 'AlreadyExists', `events.events.k8s.io "${String(name)}" already exists`);
        return;
      }
      events.push(body as Record<string, unknown>);
      if ((o.eventCreatesLost ?? 0) > 0) {
        o.eventCreatesLost = (o.eventCreatesLost ?? 0) - 1;
        status(res, 504, 'Timeout', 'request did not complete within the allotted timeout');
        return;
      }
      res.writeHead(201, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
      return;
    }
    if (o.pods?.handle(req, res, body)) return;
    if (req.method === 'PATCH' && path === `/api/v1/nodes/${NODE}`) {
      patchNode(req, res, body, o);
      return;
    }
    if (req.method === 'POST' && path === tokenPath) {
      tokenRequest(res, body, o, issued);
      return;
    }
    if (req.method === 'GET' && path === `/api/v1/nodes/${NODE}`) {
      switch (o.node ?? 'present') {
        case 'present': object(res, node(o)); return;
        case 'absent': status(res, 404, 'NotFound', `nodes "${NODE}" not found`); return;
        case 'forbidden': status(res, 403, 'Forbidden', `nodes "${NODE}" is forbidden: User "system:serviceaccount:${NAMESPACE}:multus" cannot get resource "nodes" in API group "" at the cluster scope`); return;
        case 'hang': return;
      }
    }
    if (req.method !== 'GET') {
      status(res, 405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
      return;
    }
    if (path === `/api/v1/namespaces/${NAMESPACE}/pods/${POD}`) {
      switch (o.pod ?? 'owned') {
        case 'owned': object(res, podObject(o)); return;
        case 'absent': status(res, 404, 'NotFound', `pods "${POD}" not found`); return;
        case 'orphan': object(res, { ...pod, metadata: { ...pod.metadata, ownerReferences: undefined } }); return;
        case 'replicaset':
          object(res, { ...pod, metadata: { ...pod.metadata, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'multus-7d9f', uid: '3f1c2a8e-0000-4000-8000-000000000003', controller: true }] } });
          return;
      }
    }
    if (path === `/apis/apps/v1/namespaces/${NAMESPACE}/daemonsets/${DAEMONSET}`) {
      switch (o.daemonSet) {
        case 'present': object(res, daemonSet(false, o)); return;
        case 'deleting': object(res, daemonSet(true, o)); return;
        case 'absent': status(res, 404, 'NotFound', `daemonsets.apps "${DAEMONSET}" not found`); return;
        case 'forbidden':
          status(res, 403, 'Forbidden', `daemonsets.apps "${DAEMONSET}" is forbidden: User "system:serviceaccount:${NAMESPACE}:multus" cannot get resource "daemonsets" in API group "apps" in the namespace "${NAMESPACE}"`);
          return;
        case 'unavailable': status(res, 503, 'ServiceUnavailable', 'the server is currently unable to handle the request'); return;
        case 'hang': return; // never answers; the socket is destroyed on close
      }
    }
    status(res, 404, 'NotFound', 'the server could not find the requested resource');
  };
  const withBody = (req: IncomingMessage, res: ServerResponse): void => {
    const entry: AnsweredRequest = { method: req.method ?? '', path: (req.url ?? '/').split('?')[0]!, at: Date.now(), status: 0 };
    answered.push(entry);
    res.on('finish', () => { entry.status = res.statusCode; });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: unknown;
      if (chunks.length > 0) {
        try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { body = Buffer.concat(chunks).toString('utf8'); }
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
    answered,
    issued,
    events,
    eventPatches,
    taints: () => o.nodeTaints ?? [],
    set: (change) => { Object.assign(o, change); },
    accept: (token) => { accepted.add(token); },
    env: {
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: String(port),
      KUBERNETES_SERVICE_PROTOCOL: o.tls ? 'https' : 'http',
      POD_NAME: POD,
      POD_NAMESPACE: NAMESPACE,
      POD_UID,
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

/** How src/ reaches an API server (the shape of src/cluster/kube-api.ts's ApiAccess). */
export interface Access {
  protocol: string;
  host: string;
  port: string;
  token: string;
  ca: Buffer | undefined;
  skipTlsVerify: boolean;
}

export interface FakeApiFixture {
  /**
   * Starts this test's server: the DaemonSet present and TOKEN accepted
   * unless `o` says otherwise, over HTTPS when the fixture has a
   * certificate. Closed after the test.
   */
  serve(o?: Partial<FakeApiOptions>): Promise<FakeApi>;
  /** The server this test started. */
  readonly api: FakeApi;
  /** The certificate the server presents (with useFakeApi({ tls: true })); it is its own CA. */
  readonly tls: { key: string; cert: string };
  /** The environment that points the program at the server: base, POD_*, KUBERNETES_SERVICE_*, and NODE_NAME when nodeName is given. */
  env(base: NodeJS.ProcessEnv, nodeName?: string): NodeJS.ProcessEnv;
  /** What src/ needs to reach the server in this process: its address, the token (TOKEN unless given) and the CA of its certificate. */
  access(token?: string): Access;
}

/**
 * The fake API server as a per-test fixture: call at the top of a suite (or
 * a describe), serve() in a test. With { tls: true } one self-signed
 * certificate is made for the suite and the server speaks HTTPS.
 */
export function useFakeApi(options: { tls?: boolean } = {}): FakeApiFixture {
  let current: FakeApi | undefined;
  /** The suite's certificate, and the one this test's server presents. */
  let tls: { key: string; cert: string } | undefined;
  let served: { key: string; cert: string } | undefined;
  if (options.tls) beforeAll(async () => { tls = await selfSignedCert(); });
  afterEach(async () => {
    const closing = current;
    current = undefined;
    await closing?.close();
  });
  const fixture: FakeApiFixture = {
    async serve(o = {}) {
      if (current) throw new Error('useFakeApi: one server per test');
      served = o.tls ?? tls;
      current = await startFakeApi({ daemonSet: 'present', token: TOKEN, ...o, ...(served ? { tls: served } : {}) });
      return current;
    },
    get api() {
      if (!current) throw new Error('useFakeApi: serve() first');
      return current;
    },
    get tls() {
      if (!tls) throw new Error('useFakeApi: made without { tls: true }');
      return tls;
    },
    env(base, nodeName) {
      return { ...base, ...fixture.api.env, ...(nodeName ? { NODE_NAME: nodeName } : {}) };
    },
    access(token = TOKEN) {
      const { env } = fixture.api;
      return {
        protocol: env.KUBERNETES_SERVICE_PROTOCOL!,
        host: env.KUBERNETES_SERVICE_HOST!,
        port: env.KUBERNETES_SERVICE_PORT!,
        token,
        ca: served ? Buffer.from(served.cert) : undefined,
        skipTlsVerify: false,
      };
    },
  };
  return fixture;
}
