// The startup taint's hold-down (src/cluster/node-taint.ts, HoldDown), on a
// fake clock: the taint may go only once the config has held (stayed
// configured) for 10 s; anything that breaks it starts the hold-down over.
// Over HTTP, with flapping, the same is checked in
// test/integration/node-taint.test.ts.
import { describe, expect, it } from '@jest/globals';
import { HOLD_DOWN_MS, HoldDown } from '../../src/cluster/node-taint.js';

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
