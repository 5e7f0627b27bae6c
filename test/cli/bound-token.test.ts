// The kubeconfig's token outlives the pod: with NODE_NAME set the program
// asks the API server (a stand-in over HTTPS on 127.0.0.1) for a token of
// its service account bound to the Node, renews it, and falls back to the
// mounted token, saying why once, when there is none.
import { beforeEach, describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { type FakeApi, type FakeApiOptions, NAMESPACE, NODE, POD, SERVICE_ACCOUNT, serviceAccountJwt, useFakeApi } from '../helpers/api-server.js';
import { countMatches, registerSecret, startDaemon, stopDaemon } from '../helpers/daemon.js';
import type { Finished } from '../helpers/host-root.js';
import { eventually, readOrUndefined, runCommand, writeServiceAccount, useHostRoot } from '../helpers/host-root.js';

const MOUNTED = serviceAccountJwt({ pod: POD, node: NODE, tag: 'mounted' });
const MOUNTED_2 = serviceAccountJwt({ pod: POD, node: NODE, tag: 'mounted-2' });
registerSecret(MOUNTED);
registerSecret(MOUNTED_2);
const TOKEN_PATH = `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/${SERVICE_ACCOUNT}/token`;
const FALLBACK = /the kubeconfig carries the mounted service-account token/;

const h = useHostRoot({ master: 'masters/10-flannel.conflist' });
beforeEach(async () => {
  await writeServiceAccount(h.saDir, MOUNTED, fake.tls.cert);
});
const fake = useFakeApi({ tls: true });

/** The server, accepting the mounted token. */
function serve(o: Partial<FakeApiOptions> = {}): Promise<FakeApi> {
  return fake.serve({ token: MOUNTED, ...o });
}

/** The env to reach the fake API server; NODE_NAME unset when nodeName is ''. */
function env(nodeName = NODE): NodeJS.ProcessEnv {
  return fake.env(h.env, nodeName);
}

/** The token the kubeconfig carries (compared, never printed). */
async function kubeconfigToken(): Promise<string | undefined> {
  const text = await readOrUndefined(h.kubeconfig);
  return text === undefined ? undefined : (parse(text) as { users: { user: { token: string } }[] }).users[0]!.user.token;
}

/** Which token it is, by name: test output never shows a token. */
async function carried(): Promise<string> {
  const t = await kubeconfigToken();
  if (t === MOUNTED) return 'mounted';
  if (t === MOUNTED_2) return 'mounted-2';
  const i = fake.api.issued.indexOf(t ?? '');
  return i >= 0 ? `issued-${i + 1}` : t === undefined ? 'none' : 'unknown';
}

function tokenRequests(): { authorization: string | undefined; body?: unknown }[] {
  return fake.api.requests.filter((r) => r.method === 'POST' && r.path === TOKEN_PATH);
}

function expectNoToken(r: Pick<Finished, 'stdout' | 'stderr'>): void {
  // Every test token ends in "-never-log-me"; the issued ones are not known in advance.
  expect(r.stdout + r.stderr).not.toContain('never-log-me');
}

describe('node-bound kubeconfig token', () => {
  it('the first config already carries a node-bound token, asked for with the mounted one', async () => {
    await serve();
    const r = await runCommand([...h.args, '--once'], env());
    expect(r.code).toBe(0);
    expectNoToken(r);
    expect(await carried()).toBe('issued-1');
    const [req, ...more] = tokenRequests();
    expect(more).toEqual([]);
    expect(req!.authorization).toBe(`Bearer ${MOUNTED}`);
    expect(req!.body).toEqual({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: 86400, boundObjectRef: { apiVersion: 'v1', kind: 'Node', name: NODE } },
    });
    expect(r.stderr).toMatch(/the kubeconfig carries a node-bound token .*serviceAccount=kube-system\/multus node=node-1/);
    expect(r.stderr).not.toMatch(FALLBACK);
  });

  it('asks for the lifetime of --kubeconfig-token-expiration', async () => {
    await serve();
    expect((await runCommand([...h.args, '--once', '--kubeconfig-token-expiration=3600'], env())).code).toBe(0);
    expect((tokenRequests()[0]!.body as { spec: { expirationSeconds: number } }).spec.expirationSeconds).toBe(3600);
  });

  it('uses the expiration the API server returns (shortened) and renews at 80% of it', async () => {
    await serve({ maxTokenSeconds: 5 });
    const run = await startDaemon(h, [], env());
    expect(await carried()).toBe('issued-1');
    // 5 s tokens: renewed about every 4 s, each reaching the kubeconfig.
    await eventually(carried, (c) => c === 'issued-3', 30_000, 'the second renewal in the kubeconfig');
    const r = await stopDaemon(run);
    expectNoToken(r);
    expect(countMatches(r.stderr, /renewed the node-bound token of the kubeconfig/)).toBeGreaterThanOrEqual(2);
    expect(r.stderr).not.toMatch(FALLBACK);
  });

  it('renews at once when the mounted token rotates, asking with the new one', async () => {
    await serve();
    const run = await startDaemon(h, [], env());
    expect(await carried()).toBe('issued-1');
    fake.api.accept(MOUNTED_2);
    await writeServiceAccount(h.saDir, MOUNTED_2, fake.tls.cert);
    await eventually(carried, (c) => c === 'issued-2', 10_000, 'a token asked for with the rotated mounted token');
    expect(tokenRequests().map((r) => r.authorization)).toEqual([`Bearer ${MOUNTED}`, `Bearer ${MOUNTED_2}`]);
    expectNoToken(await stopDaemon(run));
  });

  it('keeps the last good token while a renewal is refused, and retries until it is granted', async () => {
    await serve();
    const run = await startDaemon(h, [], env());
    expect(await carried()).toBe('issued-1');
    fake.api.set({ tokenRequest: 'forbidden' });
    fake.api.accept(MOUNTED_2);
    await writeServiceAccount(h.saDir, MOUNTED_2, fake.tls.cert);
    await run.waitForLog(/cannot renew the node-bound token; the kubeconfig keeps the current one .*HTTP 403/);
    expect(await carried()).toBe('issued-1');
    fake.api.set({ tokenRequest: 'ok' });
    await eventually(carried, (c) => c === 'issued-2', 20_000, 'the token granted on a retry');
    const r = await stopDaemon(run);
    expect(countMatches(r.stderr, /cannot renew the node-bound token/)).toBe(1);
    expect(r.stderr).not.toMatch(FALLBACK);
  });

  it('retries a TokenRequest shed with 503 no sooner than its Retry-After, then carries the token granted', async () => {
    const api = await serve({ busy: { status: 503, retryAfter: '3', times: 2, match: /^POST .*\/serviceaccounts\/multus\/token$/ } });
    const run = await startDaemon(h, [], env());
    await eventually(carried, (c) => c === 'issued-1', 30_000, 'the token granted on the third try');
    const asked = api.answered.filter((q) => q.path === TOKEN_PATH);
    expect(asked.map((q) => q.status)).toEqual([503, 503, 200]);
    // Retry-After: 3 is a floor; the jitter adds up to as much again.
    for (let i = 1; i < asked.length; i++) {
      expect(asked[i]!.at - asked[i - 1]!.at).toBeGreaterThanOrEqual(3000);
      expect(asked[i]!.at - asked[i - 1]!.at).toBeLessThan(7000);
    }
    const r = await stopDaemon(run);
    expect(r.stderr).toMatch(/HTTP 503: the server is currently unable to handle the request \(Retry-After 3 s\)" retryInSeconds=[3-5]\.\d+/);
  });

  it('falls back to the mounted token when the API server does not answer within 5 s at start, then switches once it does', async () => {
    await serve({ tokenRequest: 'hang' });
    const run = await startDaemon(h, [], env());
    expect(await carried()).toBe('mounted');
    expect(run.stderr()).toMatch(/carries the mounted service-account token .*no answer within 5000 ms/);
    fake.api.set({ tokenRequest: 'ok' });
    await eventually(carried, (c) => c.startsWith('issued-'), 20_000, 'the node-bound token once the API server answers');
    const r = await stopDaemon(run);
    expect(countMatches(r.stderr, FALLBACK)).toBe(1);
  });
});

describe('falls back to the mounted token, saying why once', () => {
  it.each<[string, Partial<FakeApiOptions>, string[], string, RegExp, boolean]>([
    ['NODE_NAME unset', {}, [], '', /NODE_NAME is not set/, false],
    ['--kubeconfig-token-expiration=0', {}, ['--kubeconfig-token-expiration=0'], NODE, /--kubeconfig-token-expiration=0/, false],
    ['RBAC refuses the TokenRequest (403)', { tokenRequest: 'forbidden' }, [], NODE, /HTTP 403: serviceaccounts \\"multus\\" is forbidden.*grant the service account create on serviceaccounts\/token for \\"multus\\" in namespace kube-system/, true],
    ['node binding unsupported (400)', { tokenRequest: 'unsupported' }, [], NODE, /HTTP 400: cannot bind token to object of type/, true],
    ['the node unknown to the API server (404)', { tokenRequest: 'node-missing' }, [], NODE, /HTTP 404: nodes \\"node-1\\" not found/, true],
    ['no answer within 5 s', { tokenRequest: 'hang' }, [], NODE, /no answer within 5000 ms/, true],
  ])('%s', async (_name, server, flags, nodeName, reason, asked) => {
    await serve(server);
    const r = await runCommand([...h.args, '--once', ...flags], env(nodeName));
    expect(r.code).toBe(0);
    expectNoToken(r);
    expect(await carried()).toBe('mounted');
    expect(countMatches(r.stderr, FALLBACK)).toBe(1);
    expect(r.stderr.split('\n').find((l) => FALLBACK.test(l))).toMatch(reason);
    expect(tokenRequests().length > 0).toBe(asked);
  });
});

describe('--dry-run and flags', () => {
  it('--dry-run says which token the kubeconfig would carry, asks for none and prints none', async () => {
    await serve();
    const node = await runCommand([...h.args, '--dry-run'], env());
    expect(node.code).toBe(0);
    expectNoToken(node);
    expect(node.stdout).toMatch(/^# the kubeconfig would carry a node-bound token, requested when run \(TokenRequest bound to node node-1, 86400 s/m);
    const mounted = await runCommand([...h.args, '--dry-run'], env(''));
    expect(mounted.stdout).toMatch(/^# the kubeconfig would carry the mounted service-account token .*NODE_NAME is not set/m);
    expectNoToken(mounted);
    expect(fake.api.requests).toEqual([]);
  });

  it('--help documents the flag and NODE_NAME', async () => {
    const r = await runCommand(['--help'], h.env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--kubeconfig-token-expiration');
    expect(r.stdout).toMatch(/NODE_NAME\s+this\s+node\s+\(downward\s+API\s+spec\.nodeName\):\s+the\s+node-bound\s+kubeconfig\s+token/);
  });

  it('refuses a lifetime the API server would refuse (under 600 s), naming the flag', async () => {
    const r = await runCommand([...h.args, '--once', '--kubeconfig-token-expiration=300'], h.env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--kubeconfig-token-expiration: 300 is less than 600 seconds/);
  });
});
