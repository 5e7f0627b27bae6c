// The startup taint's hold-down (src/cluster/node-taint.ts): on a fake
// clock, the taint may go only once the config has held (stayed configured)
// for 10 s, and anything that breaks it starts the hold-down over; in this
// process against the stand-in API server, a NodeTaint with a short
// hold-down that sees the config flap puts the taint back once and removes
// it once. The built program with the real 10 s is checked in
// test/integration/node-taint.test.ts.
import { describe, expect, it } from '@jest/globals';
import { HOLD_DOWN_MS, HoldDown, NodeTaint } from '../../../src/cluster/node-taint.js';
import { createLogger } from '../../../src/observe/log.js';
import { type FakeApi, NODE, useFakeApi } from '../../helpers/api-server.js';
import { eventually } from '../../helpers/host-root.js';

const KEY = 'k8s.cni.cncf.io/multus-not-ready';

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

describe('NodeTaint in this process (a short hold-down)', () => {
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
