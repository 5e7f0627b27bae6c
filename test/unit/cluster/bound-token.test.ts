// The kubeconfig's node-bound token, in this process against the fake API
// server over HTTPS on 127.0.0.1 (test/cli/bound-token.test.ts sees the
// same through the built program): asked for with the mounted token, bound
// to the node, renewed at 80% of its lifetime and when the mounted token
// rotates, kept while a renewal fails, and the mounted token (said once,
// with why) when there is none. Tokens are compared by name, never printed.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { BoundTokenSource } from '../../../src/cluster/bound-token.js';
import { readServiceAccount, type ServiceAccount } from '../../../src/host/read.js';
import { createLogger } from '../../../src/observe/log.js';
import { type FakeApiOptions, NAMESPACE, NODE, POD, SERVICE_ACCOUNT, serviceAccountJwt, useFakeApi } from '../../helpers/api-server.js';
import { eventually, type HostRoot, makeHostRoot, writeServiceAccount } from '../../helpers/host-root.js';

const MOUNTED = serviceAccountJwt({ pod: POD, node: NODE, tag: 'mounted' });
const MOUNTED_2 = serviceAccountJwt({ pod: POD, node: NODE, tag: 'mounted-2' });
/** A legacy token: not a JWT, so it names no service account. */
const OPAQUE = 'opaque-legacy-token-never-log-me';
const TOKEN_PATH = `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/${SERVICE_ACCOUNT}/token`;
const FALLBACK = 'the kubeconfig carries the mounted service-account token (it stops working once this pod is gone): no node-bound token';

const fake = useFakeApi({ tls: true });
let h: HostRoot;
let lines: string[];
let changes: number;
/** Called on each change after `changes` counts it. */
let changesHook: (() => void) | undefined;
let source: BoundTokenSource | undefined;
beforeEach(async () => {
  h = await makeHostRoot();
  await writeServiceAccount(h.saDir, MOUNTED, fake.tls.cert);
  lines = [];
  changes = 0;
  changesHook = undefined;
});
afterEach(async () => {
  source?.stop();
  source = undefined;
  await h.remove();
});

/** A source that asks the server served for this test for tokens of `expirationSeconds`, begun. */
async function begun(expirationSeconds = 86_400): Promise<BoundTokenSource> {
  const { protocol, host, port } = fake.access();
  const env = { kubernetesServiceProtocol: protocol, kubernetesServiceHost: host, kubernetesServicePort: port };
  source = new BoundTokenSource({ nodeName: NODE, expirationSeconds, env, skipTlsVerify: false }, createLogger('text', (l) => { lines.push(l); }), () => { changes++; changesHook?.(); });
  await source.begin(h.saDir, '', false);
  return source;
}

/** Serves, then starts a source and waits for its first answer. */
async function started(o: Partial<FakeApiOptions> = {}, expirationSeconds = 86_400): Promise<BoundTokenSource> {
  await fake.serve({ token: MOUNTED, ...o });
  const s = await begun(expirationSeconds);
  await s.firstAnswer(10_000);
  return s;
}

const mounted = (): Promise<ServiceAccount> => readServiceAccount(h.saDir, '', false);

/** Which token it is, by name. */
function which(token: string): string {
  if (token === MOUNTED) return 'mounted';
  if (token === MOUNTED_2) return 'mounted-2';
  if (token === OPAQUE) return 'opaque';
  const i = fake.api.issued.indexOf(token);
  return i >= 0 ? `issued-${i + 1}` : 'unknown';
}
const carried = async (): Promise<string> => which(source!.tokenFor(await mounted()));
const tokenRequests = (): { authorization: string | undefined; body?: unknown }[] =>
  fake.api.requests.filter((r) => r.method === 'POST' && r.path === TOKEN_PATH);
const logged = (text: string): number => lines.filter((l) => l.includes(text)).length;

afterEach(() => {
  // Every test token ends in "-never-log-me": none may reach a log line.
  expect(lines.join('')).not.toContain('never-log-me');
});

describe('a node-bound token', () => {
  it('is asked for with the mounted token, bound to the node, for the lifetime configured, and carried', async () => {
    await started({}, 3600);
    expect(await carried()).toBe('issued-1');
    expect(tokenRequests()).toEqual([{
      method: 'POST', path: TOKEN_PATH, authorization: `Bearer ${MOUNTED}`, contentType: 'application/json',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600, boundObjectRef: { apiVersion: 'v1', kind: 'Node', name: NODE } } },
    }]);
    expect(changes).toBe(1);
    expect(logged('the kubeconfig carries a node-bound token (it outlives this pod) serviceAccount=kube-system/multus node=node-1 expires=')).toBe(1);
  });

  it('is renewed at 80% of the lifetime the API server gives (shorter than asked), each renewal a change', async () => {
    await started({ maxTokenSeconds: 2 });
    await eventually(carried, (c) => c === 'issued-3', 20_000, 'two renewals');
    expect(changes).toBeGreaterThanOrEqual(3);
    expect(logged('renewed the node-bound token of the kubeconfig')).toBeGreaterThanOrEqual(2);
    expect(logged(FALLBACK)).toBe(0);
  });

  it('is renewed at once when the mounted token rotates, asked for with the new one', async () => {
    await started();
    expect(await carried()).toBe('issued-1');
    fake.api.accept(MOUNTED_2);
    await writeServiceAccount(h.saDir, MOUNTED_2, fake.tls.cert);
    // The reconcile that reads the rotated token still carries the last good one meanwhile.
    expect(await carried()).toBe('issued-1');
    await eventually(carried, (c) => c === 'issued-2', 10_000, 'a token asked for with the rotated mounted token');
    expect(tokenRequests().map((r) => r.authorization)).toEqual([`Bearer ${MOUNTED}`, `Bearer ${MOUNTED_2}`]);
  });

  it('is kept while a renewal is refused, said once, and retried until granted', async () => {
    await started();
    fake.api.set({ tokenRequest: 'forbidden' });
    fake.api.accept(MOUNTED_2);
    await writeServiceAccount(h.saDir, MOUNTED_2, fake.tls.cert);
    expect(await carried()).toBe('issued-1');
    await eventually(async () => tokenRequests().length, (n) => n >= 3, 20_000, 'a refused renewal retried');
    expect(await carried()).toBe('issued-1');
    expect(logged('cannot renew the node-bound token; the kubeconfig keeps the current one')).toBe(1);
    fake.api.set({ tokenRequest: 'ok' });
    await eventually(carried, (c) => c === 'issued-2', 20_000, 'the token granted on a retry');
    expect(logged(FALLBACK)).toBe(0);
  }, 40_000);
});

describe('a node-bound token that expires unrenewed', () => {
  it('gives way to the mounted token at once, said, and the kubeconfig is told', async () => {
    const EXPIRING = 'the node-bound token is about to expire and could not be renewed: the kubeconfig falls back to the mounted service-account token';
    await started({ maxTokenSeconds: 2 });
    const sa = await mounted();
    expect(which(source!.tokenFor(sa))).toBe('issued-1');
    // The renewal (at 80% of the 2 s) never answers: its own 5 s deadline is
    // far after the expiry, so nothing else wakes the kubeconfig meanwhile.
    fake.api.set({ tokenRequest: 'hang' });
    const carriedOnChange: string[] = [];
    const wakes = (): void => { carriedOnChange.push(which(source!.tokenFor(sa))); };
    changesHook = wakes;
    await eventually(async () => logged(EXPIRING), (n) => n === 1, 8_000, 'the expiry said');
    expect(carriedOnChange).toEqual(['mounted']);
    expect(await carried()).toBe('mounted');
    expect(logged(FALLBACK)).toBe(0);
  });
});

describe('the mounted token instead, saying why once', () => {
  it.each<[string, Partial<FakeApiOptions>, RegExp]>([
    ['RBAC refuses the TokenRequest (403)', { tokenRequest: 'forbidden' }, /HTTP 403: serviceaccounts \\"multus\\" is forbidden.*grant the service account create on serviceaccounts\/token for \\"multus\\" in namespace kube-system/],
    ['node binding unsupported (400)', { tokenRequest: 'unsupported' }, /HTTP 400: cannot bind token to object of type/],
    ['the node unknown to the API server (404)', { tokenRequest: 'node-missing' }, /HTTP 404: nodes \\"node-1\\" not found/],
  ])('%s, retried with backoff', async (_what, o, reason) => {
    await started(o);
    expect(await carried()).toBe('mounted');
    await eventually(async () => tokenRequests().length, (n) => n >= 2, 10_000, 'a retry');
    expect(lines.filter((l) => l.includes(FALLBACK))).toEqual([expect.stringMatching(reason)]);
    expect(await carried()).toBe('mounted');
  });

  it('a mounted token that names no service account: said once, nothing asked, no retry', async () => {
    await writeServiceAccount(h.saDir, OPAQUE, fake.tls.cert);
    await started();
    expect(await carried()).toBe('opaque');
    expect(tokenRequests()).toEqual([]);
    expect(lines.filter((l) => l.includes(FALLBACK))).toEqual([expect.stringMatching(/cannot tell the service account from the mounted token/)]);
  });

  // A 200 that carries no token to use (the retry is the same as above's; not waited for).
  it.each<[string, Partial<FakeApiOptions>, string]>([
    ['without status.token', { tokenRequest: 'no-token' }, 'error="the TokenRequest answer has no usable status.token"'],
    ['without status.expirationTimestamp', { tokenRequest: 'no-expiry' }, 'error="the TokenRequest answer has no future status.expirationTimestamp"'],
  ])('an answer %s: said, naming the field missing', async (_what, o, reason) => {
    await started(o);
    expect(await carried()).toBe('mounted');
    expect(lines.filter((l) => l.includes(FALLBACK))).toEqual([expect.stringContaining(reason)]);
  });

  it('a token the API server did not bind to the node: said once, naming the node, not carried', async () => {
    await started({ tokenRequest: 'not-node-bound' });
    // Issued, but a pod-independent token bound to nothing is not what was asked for.
    expect(fake.api.issued).toHaveLength(1);
    expect(await carried()).toBe('mounted');
    expect(lines.filter((l) => l.includes(FALLBACK))).toEqual([expect.stringContaining('the API server did not bind the token to node node-1 (node binding unsupported?)')]);
  });

  it('a service account that cannot be read: the first config does not wait for a token, none is asked for', async () => {
    await fake.serve({ token: MOUNTED });
    await h.remove();
    const s = await begun();
    // Settled at once: were it not, this would wait the whole minute (past the test's deadline).
    await s.firstAnswer(60_000);
    expect(tokenRequests()).toEqual([]);
  }, 10_000);

  it('an API server that does not answer: the first config waits only as long as it is told', async () => {
    await fake.serve({ token: MOUNTED, tokenRequest: 'hang' });
    const s = await begun();
    const waited = Date.now();
    await s.firstAnswer(300);
    expect(Date.now() - waited).toBeLessThan(3000);
    expect(await carried()).toBe('mounted');
    expect(tokenRequests()).toHaveLength(1);
  });
});
