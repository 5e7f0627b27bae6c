// The uninstall check's patience (src/cluster/uninstall-check.ts), on a fake
// clock: an API server that sheds load (429/5xx, with or without
// Retry-After) or does not answer is asked again with jittered backoff,
// honouring Retry-After, for the pod's grace period less 5 s (30 s assumed
// until the pod is read), its waits spread within what is left; still no
// answer then is an uninstall (cannot tell). Over HTTP the same is
// checked in test/cli/node-selection.test.ts.
import { describe, expect, it } from '@jest/globals';
import { ApiError, type ApiRequest, type ApiResponse } from '../../../src/cluster/kube-api.js';
import { checkUninstall } from '../../../src/cluster/uninstall-check.js';
import { FakeClock, seededRandom } from '../../helpers/fake-clock.js';

const API = { protocol: 'https', host: '10.0.0.1', port: '443', token: 't', ca: undefined, skipTlsVerify: true };
const TARGET: Parameters<typeof checkUninstall>[1] = { namespace: 'kube-system', podName: 'multus-x', nodeName: '' };
const POD = (grace?: number): unknown => ({
  metadata: { name: 'multus-x', ownerReferences: [{ kind: 'DaemonSet', name: 'multus', controller: true }] },
  spec: grace === undefined ? {} : { terminationGracePeriodSeconds: grace },
});
const DS = { metadata: { name: 'multus' }, spec: { template: { spec: {} } } };

type Answer = ApiResponse | 'no answer';
const busy = (status: number, retryAfterMs?: number): ApiResponse => ({ status, body: { message: 'slow down' }, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });

/** A fake API server on the fake clock: each request takes 20 ms, or its whole timeout when unanswered; `answer` decides by kind and attempt number. */
function fakeServer(clock: FakeClock, answer: (kind: 'pod' | 'ds', n: number) => Answer) {
  const asked: { kind: 'pod' | 'ds'; at: number }[] = [];
  const send = async (_api: unknown, req: ApiRequest): Promise<ApiResponse> => {
    const kind = req.path.includes('/daemonsets/') ? 'ds' : 'pod';
    asked.push({ kind, at: clock.now() });
    clock.advance(20);
    const a = answer(kind, asked.filter((q) => q.kind === kind).length);
    if (a === 'no answer') {
      clock.advance((req.timeoutMs ?? 5000) - 20);
      throw new ApiError(`${req.what}: no answer within ${req.timeoutMs} ms`, undefined);
    }
    return a;
  };
  return { asked, send };
}

describe('an API server shedding load', () => {
  it('429 with Retry-After for 20 s, then an answer: a restart, not an early uninstall; every wait at least what it asked', async () => {
    const clock = new FakeClock();
    const start = clock.now();
    const server = fakeServer(clock, (kind) => (kind === 'pod' ? { status: 200, body: POD(30) } : clock.now() - start < 20_000 ? busy(429, 3000) : { status: 200, body: DS }));
    const v = await checkUninstall(API, TARGET, { clock, random: seededRandom(1), send: server.send });
    expect(v).toEqual({ uninstall: false, reason: expect.stringMatching(/DaemonSet kube-system\/multus still exists/) });
    expect(clock.now() - start).toBeGreaterThanOrEqual(20_000);
    // The pod is read once; only the DaemonSet is asked again.
    expect(server.asked.filter((q) => q.kind === 'pod')).toHaveLength(1);
    for (const ms of clock.sleeps) expect(ms).toBeGreaterThanOrEqual(3000);
  });

  it('429/503 forever: asks until the grace period less 5 s is spent, and only then calls it an uninstall', async () => {
    for (const [grace, status] of [[30, 429], [10, 503], [60, 500]] as const) {
      const clock = new FakeClock();
      const start = clock.now();
      const server = fakeServer(clock, (kind) => (kind === 'pod' ? { status: 200, body: POD(grace) } : busy(status, 1000)));
      const v = await checkUninstall(API, TARGET, { clock, random: seededRandom(grace), send: server.send });
      expect(v.uninstall).toBe(true);
      expect(v.reason).toMatch(new RegExp(`^no answer in \\d+ attempts over [\\d.]+ s of the ${grace - 5} s grace budget \\(last: get DaemonSet kube-system/multus: HTTP ${status}.*Retry-After 1 s\\)\\); cannot tell whether the DaemonSet remains, so an uninstall$`));
      const spent = clock.now() - start;
      // The last try leaves at most about 2 s unused (a spread wait under 0.5 s is not taken).
      expect(spent).toBeGreaterThanOrEqual((grace - 5) * 1000 - 2500);
      expect(spent).toBeLessThanOrEqual((grace - 5) * 1000);
      // Backoff: the waits grow (1 s, 2 s, 4 s, 8 s steps) rather than a fixed pace.
      expect(server.asked.filter((q) => q.kind === 'ds').length).toBeLessThan(grace);
    }
  });

  it('a grace period learned from the pod bounds the very next request (not the 5 s a request may take)', async () => {
    const clock = new FakeClock();
    const timeouts: number[] = [];
    const server = fakeServer(clock, (kind) => (kind === 'pod' ? { status: 200, body: POD(7) } : 'no answer'));
    const send = (api: unknown, req: ApiRequest): Promise<ApiResponse> => { timeouts.push(req.timeoutMs ?? 0); return server.send(api, req); };
    const v = await checkUninstall(API, TARGET, { clock, random: seededRandom(5), send });
    expect(v).toEqual({ uninstall: true, reason: expect.stringMatching(/^no answer in 1 attempt over [\d.]+ s of the 2 s grace budget/) });
    expect(timeouts[0]).toBe(5000);
    expect(timeouts[1]).toBeLessThanOrEqual(2000);
  });

  it('a pod that cannot be read: 30 s assumed, so 25 s of asking', async () => {
    const clock = new FakeClock();
    const start = clock.now();
    const server = fakeServer(clock, () => busy(503));
    const v = await checkUninstall(API, TARGET, { clock, random: seededRandom(3), send: server.send });
    expect(v.reason).toMatch(/no answer in \d+ attempts over [\d.]+ s of the 25 s grace budget/);
    expect(clock.now() - start).toBeGreaterThanOrEqual(22_500);
    expect(clock.now() - start).toBeLessThanOrEqual(25_000);
  });

  it('a grace period known from an earlier read is used while the pod cannot be read', async () => {
    const clock = new FakeClock();
    const start = clock.now();
    const server = fakeServer(clock, () => 'no answer');
    const v = await checkUninstall(API, TARGET, { clock, random: seededRandom(4), send: server.send, graceSeconds: 12 });
    expect(v.reason).toMatch(/no answer in \d+ attempts? over [\d.]+ s of the 7 s grace budget \(last: .*no answer within/);
    expect(clock.now() - start).toBeLessThanOrEqual(7_000);
  });

  it('waits with jitter: two nodes that failed together do not ask again together', async () => {
    const schedule = async (seed: number): Promise<number[]> => {
      const clock = new FakeClock();
      const server = fakeServer(clock, (kind) => (kind === 'pod' ? { status: 200, body: POD(30) } : busy(503)));
      await checkUninstall(API, TARGET, { clock, random: seededRandom(seed), send: server.send });
      return clock.sleeps;
    };
    const [a, b] = [await schedule(1), await schedule(2)];
    expect(a.slice(0, 3)).not.toEqual(b.slice(0, 3));
    // Each within [d, 2d) of the 1 s, 2 s, 4 s steps.
    for (const s of [a, b]) [1000, 2000, 4000].forEach((d, i) => { expect(s[i]).toBeGreaterThanOrEqual(d); expect(s[i]).toBeLessThanOrEqual(2 * d); });
  });

  it('a fleet stopped together and told Retry-After 16 s: every node tries several times, none at a moment shared with the others', async () => {
    // What the fleet simulation met: every node's last try clipped to the
    // end of its budget, the same moment on every node, colliding in the
    // squeezed priority level.
    const lastTries: number[] = [];
    for (let seed = 1; seed <= 20; seed++) {
      const clock = new FakeClock();
      const start = clock.now();
      const server = fakeServer(clock, (kind) => (kind === 'pod' ? { status: 200, body: POD(30) } : busy(429, 16_000)));
      const v = await checkUninstall(API, TARGET, { clock, random: seededRandom(seed), send: server.send });
      expect(v.uninstall).toBe(true);
      const ds = server.asked.filter((q) => q.kind === 'ds').map((q) => q.at - start);
      expect(ds.length).toBeGreaterThanOrEqual(3);
      lastTries.push(ds.at(-1)!);
    }
    // Each node at its own moment (they all met at the budget's end, to the
    // millisecond): no two alike, spread over a few hundred milliseconds.
    const sorted = [...lastTries].sort((x, y) => x - y);
    expect(new Set(sorted).size).toBe(sorted.length);
    expect(sorted.at(-1)! - sorted[0]!).toBeGreaterThan(300);
  });

  it('the level busy for 20 s of the 25, Retry-After 16 s: each of 20 nodes gets an answer after the load, a restart', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const clock = new FakeClock();
      const start = clock.now();
      const server = fakeServer(clock, (kind) => (kind === 'pod' ? { status: 200, body: POD(30) } : clock.now() - start < 20_000 ? busy(429, 16_000) : { status: 200, body: DS }));
      const v = await checkUninstall(API, TARGET, { clock, random: seededRandom(seed), send: server.send });
      expect(v).toEqual({ uninstall: false, reason: expect.stringMatching(/DaemonSet kube-system\/multus still exists/) });
    }
  });

  it('a short budget (2.5 s) still gets a second try, whatever the draws', async () => {
    for (let seed = 1; seed <= 50; seed++) {
      const clock = new FakeClock();
      const server = fakeServer(clock, (kind) => (kind === 'pod' ? { status: 200, body: POD(7.5) } : busy(503)));
      const v = await checkUninstall(API, TARGET, { clock, random: seededRandom(seed), send: server.send });
      expect(v.uninstall).toBe(true);
      expect(server.asked.filter((q) => q.kind === 'ds').length).toBeGreaterThanOrEqual(2);
      // At least 0.5 s apart.
      for (const ms of clock.sleeps) expect(ms).toBeGreaterThanOrEqual(500);
    }
  });

  it('a refusal (403) is not asked again: uninstall at once, naming the rule', async () => {
    const clock = new FakeClock();
    const server = fakeServer(clock, (kind) => (kind === 'pod' ? { status: 200, body: POD(30) } : { status: 403, body: { message: 'forbidden' } }));
    const v = await checkUninstall(API, TARGET, { clock, send: server.send });
    expect(v.reason).toMatch(/HTTP 403: forbidden \(grant the service account get on daemonsets.apps\)/);
    expect(server.asked).toHaveLength(2);
    expect(clock.sleeps).toEqual([]);
  });
});
