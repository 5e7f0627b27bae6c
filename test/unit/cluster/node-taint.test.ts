// The startup taint: the JSON patch of the node's taints (pure), and the
// node's taint kept to what the node's state asks for, against the fake API
// server on 127.0.0.1 (test/cli/node-taint.test.ts sees the same through the
// built program). Most cases here run without the hold-down (as --once
// does); the hold-down is pinned at the end: on a fake clock (HoldDown), and
// a NodeTaint with a short one that sees the config flap puts the taint back
// once and removes it once.
import { afterEach, describe, expect, it } from '@jest/globals';
import { HOLD_DOWN_MS, HoldDown, NodeTaint, taintPatch } from '../../../src/cluster/node-taint.js';
import { createLogger } from '../../../src/observe/log.js';
import type { NodeEvent } from '../../../src/observe/observer.js';
import { type FakeApi, NODE, type Taint, useFakeApi } from '../../helpers/api-server.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { eventually } from '../../helpers/host-root.js';

describe('taintPatch', () => {
  const key = 'k8s.cni.cncf.io/multus-not-ready';
  const node = (taints?: object[]): unknown => ({ metadata: { resourceVersion: '7' }, spec: taints ? { taints } : {} });
  it('removes only our NoSchedule taint, testing the taints as read (not the resourceVersion, which every status heartbeat changes)', () => {
    const other = { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' };
    const taints = [other, { key, effect: 'NoSchedule' }, { key, effect: 'NoExecute' }];
    expect(taintPatch(node(taints), key, 'absent')).toEqual([
      { op: 'test', path: '/spec/taints', value: taints },
      { op: 'add', path: '/spec/taints', value: [other, { key, effect: 'NoExecute' }] },
    ]);
  });
  it('adds it to a node without taints, testing that it still has none (null)', () => {
    expect(taintPatch(node(), key, 'present')).toEqual([
      { op: 'test', path: '/spec/taints', value: null },
      { op: 'add', path: '/spec/taints', value: [{ key, effect: 'NoSchedule' }] },
    ]);
  });
  it('sends nothing when the node is already as wanted', () => {
    expect(taintPatch(node(), key, 'absent')).toBeUndefined();
    expect(taintPatch(node([{ key, effect: 'NoSchedule' }]), key, 'present')).toBeUndefined();
  });
});

describe('NodeTaint, against the fake API server', () => {
  const KEY = 'k8s.cni.cncf.io/multus-not-ready';
  const OURS: Taint = { key: KEY, effect: 'NoSchedule' };
  const OTHER: Taint = { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' };
  const CONFIGURED: NodeEvent = { kind: 'reconciled', result: 'ok', configured: true, master: '10-flannel.conflist' };
  const fake = useFakeApi();
  let lines: string[] = [];
  let taint: NodeTaint | undefined;

  function nodeTaint(holdDownMs = 0): NodeTaint {
    lines = [];
    taint = new NodeTaint(() => Promise.resolve(fake.access()), NODE, KEY, createLogger('text', (l) => { lines.push(l); }), { holdDownMs });
    return taint;
  }
  afterEach(async () => {
    await taint?.close(0);
    taint = undefined;
  });
  const patches = (): number => fake.api.requests.filter((r) => r.method === 'PATCH').length;
  const has = (): boolean => fake.api.taints().some((t) => t.key === KEY);

  it('removes only its own taint once the node is configured, with a JSON patch, and says so', async () => {
    await fake.serve({ nodeTaints: [OTHER, OURS] });
    const t = nodeTaint();
    t.notify(CONFIGURED);
    await t.close(10_000);
    expect(fake.api.taints()).toEqual([OTHER]);
    expect(fake.api.requests.map((r) => `${r.method} ${r.path} ${r.contentType ?? ''}`.trim())).toEqual([
      `GET /api/v1/nodes/${NODE}`, `PATCH /api/v1/nodes/${NODE} application/json-patch+json`,
    ]);
    expect(lines).toEqual([expect.stringMatching(/INFO {2}removed the startup taint: pods may be scheduled on this node node=node-1 taint=k8s\.cni\.cncf\.io\/multus-not-ready:NoSchedule\n$/)]);
  });

  it('with the 10 s hold-down, a stop soon after the node is configured leaves the taint (the next pod removes it)', async () => {
    await fake.serve({ nodeTaints: [OTHER, OURS] });
    const t = nodeTaint(10_000);
    t.notify(CONFIGURED);
    await t.close(10_000);
    expect(fake.api.requests).toEqual([]);
    expect(has()).toBe(true);
  });

  it('leaves a node that is not tainted alone (no patch)', async () => {
    await fake.serve({ nodeTaints: [OTHER] });
    const t = nodeTaint();
    t.notify(CONFIGURED);
    await t.close(10_000);
    expect(patches()).toBe(0);
    expect(lines).toEqual([]);
  });

  it('does nothing until the node is configured', async () => {
    await fake.serve({ nodeTaints: [OURS] });
    const t = nodeTaint();
    t.notify({ kind: 'reconciled', result: 'ok', configured: false });
    t.notify({ kind: 'reconciled', result: 'error', configured: false, error: 'x' });
    t.notify({ kind: 'wrote', file: 'config', path: '/c', cause: 'created' });
    await t.close(10_000);
    expect(fake.api.requests).toEqual([]);
  });

  it.each<[string, NodeEvent]>([
    ['the config invalidated', { kind: 'wrote', file: 'config', path: '/c', cause: 'invalidated' }],
    ['an uninstall', { kind: 'uninstall', reason: 'DaemonSet gone', removed: [] }],
  ])('puts it back on %s, before close returns (the program exits after)', async (_what, event) => {
    await fake.serve({ nodeTaints: [OTHER, OURS] });
    const t = nodeTaint();
    t.notify(CONFIGURED);
    await eventually(async () => has(), (x) => !x, 10_000, 'the taint removed');
    t.notify(event);
    await t.close(10_000);
    expect(fake.api.taints()).toEqual([OTHER, OURS]);
    expect(lines.at(-1)).toMatch(/put the startup taint back: no new pods on this node until Multus is configured/);
  });

  it('ends on what was asked last, however fast the asks come', async () => {
    await fake.serve({ nodeTaints: [OURS] });
    const t = nodeTaint();
    t.notify(CONFIGURED);
    t.notify({ kind: 'wrote', file: 'config', path: '/c', cause: 'invalidated' });
    t.notify(CONFIGURED);
    await t.close(10_000);
    expect(has()).toBe(false);
  });

  it('refused by RBAC: logs once, naming the rule, retries with backoff, and succeeds once allowed', async () => {
    await fake.serve({ nodeTaints: [OURS], nodePatch: 403 });
    const t = nodeTaint();
    t.notify(CONFIGURED);
    await eventually(async () => patches(), (n) => n >= 2, 10_000, 'a retry');
    fake.api.set({ nodePatch: 'accept' });
    await eventually(async () => has(), (x) => !x, 20_000, 'the taint removed once allowed');
    expect(lines.filter((l) => l.includes('cannot remove the taint'))).toEqual([
      expect.stringMatching(/ERROR --node-ready-taint: cannot remove the taint; retrying with backoff node=node-1 taint=k8s\.cni\.cncf\.io\/multus-not-ready error=".*HTTP 403: nodes \\"node-1\\" is forbidden.*grant the service account patch on nodes/),
    ]);
  }, 30_000);

  it('a server shedding load (429, Retry-After 30 s): the retry waits at least what it asked, then removes the taint', async () => {
    await fake.serve({ nodeTaints: [OURS], busy: { status: 429, retryAfter: '30', times: 1, match: /^GET \/api\/v1\/nodes\// } });
    // The wait passes at once on a fake clock.
    const clock = new FakeClock();
    lines = [];
    taint = new NodeTaint(() => Promise.resolve(fake.access()), NODE, KEY, createLogger('text', (l) => { lines.push(l); }), { holdDownMs: 0, clock });
    taint.notify(CONFIGURED);
    await eventually(async () => has(), (x) => !x, 10_000, 'the taint removed after the wait');
    expect(clock.sleeps).toHaveLength(1);
    expect(clock.sleeps[0]).toBeGreaterThanOrEqual(30_000);
    expect(lines.filter((l) => l.includes('cannot remove the taint'))).toEqual([expect.stringMatching(/HTTP 429: .*\(Retry-After 30 s\)/)]);
  });

  it('a PATCH answered 504 but applied is read again: the wish flipping back during the retry\'s wait still leaves the node as wished', async () => {
    // Untainted at first (the taint removed), then invalidated: the PATCH
    // putting the taint back is applied but answered 504. While the retry
    // waits (a fake clock: its sleep is where the config comes back), the
    // config holds again. The node must end untainted.
    await fake.serve({ nodeTaints: [OTHER, OURS] });
    lines = [];
    let onSleep: (() => void) | undefined;
    const clock = { now: () => Date.now(), sleep: (): Promise<void> => { onSleep?.(); onSleep = undefined; return Promise.resolve(); } };
    const t = new NodeTaint(() => Promise.resolve(fake.access()), NODE, KEY, createLogger('text', (l) => { lines.push(l); }), { holdDownMs: 0, clock });
    taint = t;
    t.notify(CONFIGURED);
    await eventually(async () => lines.some((l) => l.includes('removed the startup taint')), (x) => x, 10_000, 'the taint removed');
    fake.api.set({ nodePatch: 'applied-504' });
    onSleep = () => {
      fake.api.set({ nodePatch: 'accept' });
      t.notify(CONFIGURED);
    };
    t.notify({ kind: 'wrote', file: 'config', path: '/c', cause: 'invalidated' });
    await eventually(async () => fake.api.answered.filter((r) => r.method === 'PATCH').map((r) => r.status).join(','), (x) => x.startsWith('200,504,200'), 10_000, 'the taint put back (504) and removed again');
    await t.close(10_000);
    expect(fake.api.taints()).toEqual([OTHER]);
  });

  it('close gives up on a taint it cannot change after its deadline', async () => {
    await fake.serve({ nodeTaints: [OURS], nodePatch: 403 });
    const t = nodeTaint();
    t.notify(CONFIGURED);
    await eventually(async () => patches(), (n) => n >= 1, 10_000, 'the first patch');
    const started = Date.now();
    await t.close(300);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(has()).toBe(true);
  });
});

const T0 = 1_800_000_000_000;

describe('HoldDown', () => {
  it('is 10 s', () => {
    expect(HOLD_DOWN_MS).toBe(10_000);
  });

  it('is due 10 s after the node became configured, however often that is said again', () => {
    const h = new HoldDown(HOLD_DOWN_MS);
    expect(h.dueAt()).toBeUndefined();
    h.configured(T0);
    for (let t = T0 + 1000; t < T0 + 10_000; t += 1000) h.configured(t);
    expect(h.dueAt()).toBe(T0 + 10_000);
  });

  it('starts over when the config breaks: a master that flaps every second for 30 s is due 10 s after the last return', () => {
    const h = new HoldDown(HOLD_DOWN_MS);
    let dueTimes = 0;
    let t = T0;
    // Configured for a second, gone for a second, for 30 s: never held for 10 s.
    for (; t < T0 + 30_000; t += 2000) {
      h.configured(t);
      const due = h.dueAt()!;
      if (due <= t + 1000) dueTimes++;
      h.broken();
      expect(h.dueAt()).toBeUndefined();
    }
    expect(dueTimes).toBe(0);
    h.configured(t);
    expect(h.dueAt()).toBe(t + 10_000);
  });

  it('with 0 (--once) is due at once', () => {
    const h = new HoldDown(0);
    h.configured(T0);
    expect(h.dueAt()).toBe(T0);
  });
});

describe('NodeTaint with a short hold-down', () => {
  const KEY = 'k8s.cni.cncf.io/multus-not-ready';
  const fake = useFakeApi();
  const configured = { kind: 'reconciled', result: 'ok', configured: true } as const;
  const invalidated = { kind: 'wrote', file: 'config', path: '/x/00-multus.conf', cause: 'invalidated' } as const;

  it('flapping every 50 ms for 2 s: the taint goes back once, and goes once the config has held', async () => {
    // Untainted, configured: then the config flaps.
    const api = await fake.serve({ nodeTaints: [] });
    const nodePatches = (): FakeApi['answered'] => api.answered.filter((r) => r.method === 'PATCH' && r.path === `/api/v1/nodes/${NODE}`);
    const taint = new NodeTaint(() => Promise.resolve(fake.access()), NODE, KEY, createLogger('text', () => undefined), { holdDownMs: 1000 });
    taint.notify(configured);
    const flapStart = Date.now();
    while (Date.now() - flapStart < 2000) {
      taint.notify(invalidated);
      await new Promise((r) => setTimeout(r, 25));
      taint.notify(configured);
      await new Promise((r) => setTimeout(r, 25));
    }
    const held = Date.now();
    await eventually(async () => api.taints().some((t) => t.key === KEY), (tainted) => !tainted, 10_000, 'the taint removed once the config held');
    expect(nodePatches().map((p) => p.status)).toEqual([200, 200]);
    expect(nodePatches()[1]!.at - held).toBeGreaterThanOrEqual(950);
    await taint.close(1000);
  });
});
