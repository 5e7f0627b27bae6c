// Time and chance under a test's control: a clock whose sleeps advance
// virtual time at once (a retry loop's hour runs in a millisecond), and a
// seeded random source (the same draws on every run).
import type { Clock, Random } from '../../src/base/backoff.js';

/** mulberry32: a small seeded generator of numbers in [0, 1). */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A clock that starts at `start` and moves only when slept on or advanced. */
export class FakeClock implements Clock {
  /** Every sleep asked for, ms, in order. */
  readonly sleeps: number[] = [];

  constructor(private t = 1_800_000_000_000) {}

  now(): number {
    return this.t;
  }

  advance(ms: number): void {
    this.t += ms;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    if (!signal?.aborted) this.t += Math.max(0, ms);
    return Promise.resolve();
  }
}
