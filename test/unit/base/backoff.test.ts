// The shared retry timing (src/base/backoff.ts): exponential steps, jitter
// within [d, 2d) as client-go's wait.Jitter(d, 1.0), Retry-After as a floor
// capped at 32 s. Draws come from a seeded random source, so the bounds are
// checked over many draws, the same ones on every run.
import { describe, expect, it } from '@jest/globals';
import { Backoff, backoffDelayMs, MAX_RETRY_AFTER_MS, parseRetryAfter, realClock, waitWithinMs, type BackoffPolicy } from '../../../src/base/backoff.js';
import { seededRandom } from '../../helpers/fake-clock.js';

const POLICY: BackoffPolicy = { initialMs: 1000, factor: 2, capMs: 30_000, jitter: 1 };

function draws(n: number, f: () => number): { min: number; max: number; values: number[] } {
  const values = Array.from({ length: n }, f);
  return { min: Math.min(...values), max: Math.max(...values), values };
}

describe('backoffDelayMs', () => {
  it('steps double from the initial wait up to the cap (random 0: the floor of each step)', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 100].map((n) => backoffDelayMs(POLICY, n, () => 0))).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
  });

  it.each([1, 2, 3, 5, 8])('jitter keeps retry %i within [d, 2d), and spreads it over the whole window', (attempt) => {
    const d = Math.min(POLICY.capMs, 1000 * 2 ** (attempt - 1));
    const random = seededRandom(attempt);
    const { min, max, values } = draws(5000, () => backoffDelayMs(POLICY, attempt, random));
    expect(min).toBeGreaterThanOrEqual(d);
    expect(max).toBeLessThanOrEqual(2 * d);
    // Spread, not lockstep: both ends of the window are reached, and each
    // tenth of it gets its share (uniform: 10% each, at least 7% here).
    expect(min).toBeLessThan(d * 1.01);
    expect(max).toBeGreaterThan(d * 1.99);
    const tenths = Array.from({ length: 10 }, (_, i) => values.filter((v) => Math.min(9, Math.floor(((v - d) / d) * 10)) === i).length);
    for (const n of tenths) expect(n).toBeGreaterThan(values.length * 0.07);
  });

  it('a smaller jitter factor narrows the window to [d, d(1+jitter))', () => {
    const random = seededRandom(7);
    const { min, max } = draws(5000, () => backoffDelayMs({ ...POLICY, jitter: 0.25 }, 1, random));
    expect(min).toBeGreaterThanOrEqual(1000);
    expect(max).toBeLessThanOrEqual(1250);
    expect(max).toBeGreaterThan(1240);
  });

  it('honours Retry-After as a floor, jittered above it, capped at 32 s', () => {
    const random = seededRandom(42);
    const told = draws(2000, () => backoffDelayMs(POLICY, 1, random, 5000));
    expect(told.min).toBeGreaterThanOrEqual(5000);
    expect(told.max).toBeLessThan(10_001);
    // A longer step than the server asked for stays the step.
    expect(backoffDelayMs(POLICY, 5, () => 0, 2000)).toBe(16_000);
    // A server asking for more than 32 s gets 32 s.
    const capped = draws(2000, () => backoffDelayMs(POLICY, 1, random, 3_600_000));
    expect(capped.min).toBeGreaterThanOrEqual(MAX_RETRY_AFTER_MS);
    expect(capped.max).toBeLessThan(2 * MAX_RETRY_AFTER_MS + 1);
    expect(backoffDelayMs(POLICY, 1, () => 0, 3_600_000)).toBe(32_000);
  });

  it('four programs that failed together do not retry in lockstep', () => {
    const programs = [1, 2, 3, 4].map((seed) => new Backoff(POLICY, seededRandom(seed)));
    const schedules = programs.map((b) => [b.next(), b.next(), b.next(), b.next()]);
    for (let i = 0; i < 4; i++) expect(new Set(schedules.map((s) => s[i])).size).toBe(4);
  });
});

describe('Backoff', () => {
  it('counts failures and starts over after a success', () => {
    const b = new Backoff(POLICY, () => 0);
    expect([b.next(), b.next(), b.next()]).toEqual([1000, 2000, 4000]);
    expect(b.attempts).toBe(3);
    b.reset();
    expect(b.next()).toBe(1000);
  });
});

describe('waitWithinMs (a retry that must fit before a deadline)', () => {
  it('keeps the backoff\'s own wait while it takes at most half of the room', () => {
    expect(waitWithinMs(4000, 8000, () => 0.9)).toBe(4000);
    expect(waitWithinMs(1000, 24_000, () => 0)).toBe(1000);
  });

  it('a longer one (a Retry-After of 16 s with 24 s left) lands anywhere in the middle half of the room, never at its end', () => {
    const random = seededRandom(7);
    const { min, max } = draws(5000, () => waitWithinMs(16_000, 24_000, random)!);
    expect(min).toBeGreaterThanOrEqual(6000);
    expect(max).toBeLessThan(18_000);
    expect(min).toBeLessThan(6100);
    expect(max).toBeGreaterThan(17_900);
  });

  it('never under the minimum: then anywhere from it to the end of the room', () => {
    const random = seededRandom(9);
    const { min, max } = draws(5000, () => waitWithinMs(2000, 1450, random, 500)!);
    expect(min).toBeGreaterThanOrEqual(500);
    expect(max).toBeLessThanOrEqual(1450);
  });

  it('less room than the minimum (or none): no retry', () => {
    expect(waitWithinMs(2000, 400, () => 0.5, 500)).toBeUndefined();
    expect(waitWithinMs(2000, -300, () => 0.5)).toBeUndefined();
    expect(waitWithinMs(2000, 0, () => 0.5)).toBe(0);
  });
});

describe('parseRetryAfter', () => {
  it.each<[string | string[] | undefined, number | undefined]>([
    ['1', 1000],
    ['0', 0],
    [' 7 ', 7000],
    ['32', 32_000],
    ['33', 32_000],
    ['120', 32_000],
    [['3', '9'], 3000],
    [undefined, undefined],
    ['', undefined],
    ['-1', undefined],
    ['1.5', undefined],
    ['soon', undefined],
    ['Wed, 21 Oct 2026 07:28:00 GMT', undefined],
  ])('%j gives %j ms', (header, ms) => {
    expect(parseRetryAfter(header)).toBe(ms);
  });
});

describe('realClock.sleep (the retry waits of a running program)', () => {
  const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  /** Whether p settles within ms: a woken wait is told from one still asleep, without waiting it out. */
  async function settlesWithin(p: Promise<void>, ms: number): Promise<boolean> {
    let guard: NodeJS.Timeout | undefined;
    const woke = await Promise.race([p.then(() => true), new Promise<boolean>((r) => { guard = setTimeout(() => r(false), ms); })]);
    clearTimeout(guard);
    return woke;
  }

  it('waits the time asked', async () => {
    const t0 = Date.now();
    await realClock.sleep(50);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
  });

  it('a stop cuts a long wait short, and the wait holds no timer after it (the program can exit)', async () => {
    const before = timers();
    const stop = new AbortController();
    const asleep = realClock.sleep(600_000, stop.signal);
    expect(timers()).toBe(before + 1);
    stop.abort();
    expect(await settlesWithin(asleep, 5000)).toBe(true);
    expect(timers()).toBe(before);
  });

  it('a stop that came before the wait: no wait at all', async () => {
    const stop = new AbortController();
    stop.abort();
    expect(await settlesWithin(realClock.sleep(600_000, stop.signal), 5000)).toBe(true);
  });
});
