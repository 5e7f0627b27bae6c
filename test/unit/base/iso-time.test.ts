// Log lines and events carry isoTime(ms): it must be what Date's
// toISOString gives, for any moment a node's clock can show.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { isoTime } from '../../../src/base/iso-time.js';

const iso = (ms: number): string => new Date(ms).toISOString();

describe('isoTime', () => {
  it.each([
    ['the epoch', 0],
    ['the last millisecond before it', -1],
    ['a leap day (2000-02-29, a leap century)', Date.UTC(2000, 1, 29, 23, 59, 59, 999)],
    ['the day after 2100-02-28 (2100 is no leap year)', Date.UTC(2100, 2, 1)],
    ['the last day of a leap year', Date.UTC(2024, 11, 31, 12, 0, 0, 7)],
    ['a year with three digits', Date.UTC(999, 0, 1)],
    ['the last millisecond of year 9999', Date.UTC(9999, 11, 31, 23, 59, 59, 999)],
  ])('gives what toISOString gives at %s', (_what, ms) => {
    expect(isoTime(ms)).toBe(iso(ms));
  });

  it('gives what toISOString gives at any millisecond from year 0 to 9999', () => {
    fc.assert(fc.property(fc.integer({ min: Date.UTC(0, 0, 1), max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) }), (ms) => {
      expect(isoTime(ms)).toBe(iso(ms));
    }), { numRuns: 20_000 });
  });

  it('gives what toISOString gives around every day boundary of 1970-2100', () => {
    for (let day = 0; day < 47_500; day++) {
      const ms = day * 86_400_000;
      for (const t of [ms - 1, ms]) if (isoTime(t) !== iso(t)) expect(isoTime(t)).toBe(iso(t));
    }
  });
});
