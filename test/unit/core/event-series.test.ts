// When an Event is written (src/core/event-series.ts), on a fake clock, as
// client-go's events.k8s.io recorder does it (identity without the note:
// cluster/events.test.ts):
// POST on the first occurrence, PATCH of an EventSeries on the second, then
// at most one PATCH per 30 min per series and a last one after 6 min of
// quiet; and client-go's spam filter (burst 25, one more per 5 min) per
// object over every write.
import { describe, expect, it } from '@jest/globals';
import { EventSeriesBook, SERIES_FINISH_MS, SERIES_REFRESH_MS, SPAM_BURST, SPAM_REFILL_MS, SpamFilter, eventKey, type SeriesWrite } from '../../../src/core/event-series.js';

const T0 = 1_800_000_000_000;
const MIN = 60_000;
const POD = 'kube-system/multus-x';
const K = 'WriterFight';

/** Runs a book on a fake clock: occurrences at given times, and the timer's wake-ups as due() at each nextDueAt. */
class Sim {
  readonly book = new EventSeriesBook();
  readonly writes: (SeriesWrite & { at: number })[] = [];
  now = T0;

  occur(key = K, object = POD): SeriesWrite | 'counted' | 'dropped' {
    this.runUntil(this.now);
    const w = this.book.observe(key, object, this.now);
    if (typeof w !== 'string') this.writes.push({ ...w, at: this.now });
    return w;
  }

  /** Advances to `t`, firing every wake-up on the way, as the recorder's timer does. */
  runUntil(t: number): void {
    for (let at = this.book.nextDueAt(this.now); at !== undefined && at <= t; at = this.book.nextDueAt(this.now)) {
      this.now = Math.max(this.now, at);
      for (const w of this.book.due(this.now)) this.writes.push({ ...w, at: this.now });
    }
    this.now = t;
  }

  kinds(): string[] {
    return this.writes.map((w) => (w.kind === 'create' ? 'create' : `patch ${w.count}${w.final ? ' final' : ''}`));
  }
}

describe('series', () => {
  it('first: create; second: PATCH count 2 at once; then counted, nothing sent', () => {
    const s = new Sim();
    expect(s.occur()).toEqual({ kind: 'create', key: K });
    s.runUntil(s.now + 1000);
    expect(s.occur()).toEqual({ kind: 'patch', key: K, count: 2, lastObservedMs: s.now, final: false });
    for (let i = 0; i < 100; i++) {
      s.runUntil(s.now + 250);
      expect(s.occur()).toBe('counted');
    }
    expect(s.kinds()).toEqual(['create', 'patch 2']);
  });

  it('a writer fight 4 times a second for 40 s: create, PATCH 2, and a last PATCH with the count 6 min after it stops', () => {
    const s = new Sim();
    for (let i = 0; i < 160; i++) {
      s.occur();
      s.runUntil(s.now + 250);
    }
    const last = s.now - 250;
    s.runUntil(s.now + 60 * MIN);
    expect(s.kinds()).toEqual(['create', 'patch 2', 'patch 160 final']);
    const final = s.writes[2]!;
    expect(final.at).toBe(last + SERIES_FINISH_MS);
    expect(final).toMatchObject({ lastObservedMs: last });
    // Forgotten: the next occurrence is a new Event.
    expect(s.occur()).toEqual({ kind: 'create', key: K });
  });

  it('an endless fight: one PATCH per 30 min with the count so far, never more', () => {
    const s = new Sim();
    // Once a second for 2 h, then quiet.
    for (let t = 0; t < 120 * MIN; t += 1000) {
      s.runUntil(T0 + t);
      s.occur();
    }
    s.runUntil(T0 + 180 * MIN);
    const patches = s.writes.filter((w) => w.kind === 'patch');
    // The series' first PATCH, then one refresh per 30 min with the count so
    // far; the one at 120 min already has the final count, so no last PATCH follows.
    expect(patches.map((p) => (p.kind === 'patch' ? `${p.count}${p.final ? ' final' : ''}` : ''))).toEqual(['2', '1801', '3601', '5401', '7200']);
    for (let i = 2; i < patches.length; i++) expect(patches[i]!.at - patches[i - 1]!.at).toBe(SERIES_REFRESH_MS);
    expect(s.book.nextDueAt(s.now)).toBeUndefined();
  });

  it('a series that did not grow since its last PATCH gets no last PATCH, and is forgotten after 6 min', () => {
    const s = new Sim();
    s.occur();
    s.occur();
    s.runUntil(s.now + SERIES_FINISH_MS + 1);
    expect(s.kinds()).toEqual(['create', 'patch 2']);
    expect(s.book.nextDueAt(s.now)).toBeUndefined();
    expect(s.occur()).toEqual({ kind: 'create', key: K });
  });

  it('a single occurrence is forgotten 6 min after it: the same Event 6 min later is created anew, 5 min later it is a series', () => {
    const s = new Sim();
    s.occur();
    s.runUntil(s.now + 5 * MIN);
    expect(s.occur()).toMatchObject({ kind: 'patch', count: 2 });
    const t = new Sim();
    t.occur();
    t.runUntil(t.now + SERIES_FINISH_MS);
    expect(t.occur()).toEqual({ kind: 'create', key: K });
  });

  it('on stop, every series that grew since its last write gets its last count', () => {
    const s = new Sim();
    s.occur('A');
    s.occur('A');
    s.occur('A');
    s.occur('B');
    s.occur('C');
    s.occur('C');
    expect(s.book.flush(s.now)).toEqual([{ kind: 'patch', key: 'A', count: 3, lastObservedMs: s.now, final: true }]);
    expect(s.book.nextDueAt(s.now)).toBeUndefined();
  });
});

describe('eventKey', () => {
  const id = { regarding: 'v1/Pod/kube-system/multus-x/u1', reason: 'MasterSwitched', action: 'Write', type: 'Normal', reportingController: 'multus-entrypoint', reportingInstance: 'multus-entrypoint-node-1' };

  it('is the same for the same Event and differs when any part of its identity does', () => {
    expect(eventKey({ ...id })).toBe(eventKey(id));
    for (const field of Object.keys(id) as (keyof typeof id)[]) expect(eventKey({ ...id, [field]: `${id[field]}x` })).not.toBe(eventKey(id));
  });

  it('keeps the parts apart: moving text from one part into the next makes another Event', () => {
    expect(eventKey({ ...id, reason: 'Master', action: 'SwitchedWrite' })).not.toBe(eventKey({ ...id, reason: 'MasterSwitched', action: 'Write' }));
  });
});

describe('spam filter', () => {
  it('lets 25 writes through at once, then one per 5 minutes', () => {
    const f = new SpamFilter();
    let t = T0;
    let granted = 0;
    while (f.take(POD, t)) granted++;
    expect(granted).toBe(SPAM_BURST);
    expect(f.nextTokenAt(POD, t)).toBe(t + SPAM_REFILL_MS);
    t += SPAM_REFILL_MS - 1;
    expect(f.take(POD, t)).toBe(false);
    t += 1;
    expect(f.take(POD, t)).toBe(true);
    expect(f.take(POD, t)).toBe(false);
    // An hour later: 12 more, not 25.
    t += 60 * MIN;
    granted = 0;
    while (f.take(POD, t)) granted++;
    expect(granted).toBe(12);
  });

  it('refills up to the burst, never beyond', () => {
    const f = new SpamFilter();
    f.take(POD, T0);
    let granted = 0;
    while (f.take(POD, T0 + 24 * 60 * MIN)) granted++;
    expect(granted).toBe(SPAM_BURST);
  });

  it('is per object', () => {
    const f = new SpamFilter();
    for (let i = 0; i < SPAM_BURST; i++) f.take(POD, T0);
    expect(f.take(POD, T0)).toBe(false);
    expect(f.take('kube-system/other', T0)).toBe(true);
  });

  it('counts every write: 40 different Events on one pod in a minute make 25 creates; the rest are dropped', () => {
    const s = new Sim();
    const results = Array.from({ length: 40 }, (_, i) => { s.runUntil(T0 + i * 1500); return s.occur(`E${i}`); });
    expect(results.filter((r) => r !== 'dropped')).toHaveLength(25);
    expect(results.slice(25).every((r) => r === 'dropped')).toBe(true);
  });

  it('a series PATCH without a token waits for the next one, its count kept', () => {
    const s = new Sim();
    for (let i = 0; i < 25; i++) s.occur(`E${i}`);
    expect(s.occur('E0')).toBe('counted');
    s.occur('E0');
    s.runUntil(T0 + SPAM_REFILL_MS - 1);
    expect(s.writes.filter((w) => w.kind === 'patch')).toEqual([]);
    s.runUntil(T0 + SPAM_REFILL_MS);
    expect(s.writes.filter((w) => w.kind === 'patch')).toEqual([{ kind: 'patch', key: 'E0', count: 3, lastObservedMs: T0, final: false, at: T0 + SPAM_REFILL_MS }]);
  });
});
