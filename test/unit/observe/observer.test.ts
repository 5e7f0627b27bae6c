// One notify for metrics, Events and the taint: each observer hears every
// event, one that throws or fails to close stops neither the others nor the
// reconcile loop, and close waits for them all.
import { describe, expect, it } from '@jest/globals';
import { fanOut, type NodeEvent, type Observer } from '../../../src/observe/observer.js';
import { Stats } from '../../../src/observe/stats.js';

const WROTE: NodeEvent = { kind: 'wrote', file: 'config', path: '/c', cause: 'created', master: 'a.conf' };

describe('fanOut', () => {
  it('tells every observer, in order, even after one throws', () => {
    const heard: string[] = [];
    const o = fanOut([
      { notify: (e) => { heard.push(`a:${e.kind}`); } },
      { notify: () => { throw new Error('broken observer'); } },
      { notify: (e) => { heard.push(`c:${e.kind}`); } },
    ]);
    expect(() => o.notify(WROTE)).not.toThrow();
    expect(heard).toEqual(['a:wrote', 'c:wrote']);
  });

  it('close waits for each observer\'s close with the deadline given; a failing one does not fail it', async () => {
    const closed: number[] = [];
    let finish: () => void = () => undefined;
    const slow: Observer = { notify: () => undefined, close: (ms) => new Promise((r) => { finish = () => { closed.push(ms); r(); }; }) };
    const failing: Observer = { notify: () => undefined, close: () => Promise.reject(new Error('EPIPE')) };
    const plain: Observer = { notify: () => undefined };
    let done = false;
    const closing = fanOut([slow, failing, plain]).close!(5000).then(() => { done = true; });
    await Promise.resolve();
    expect(done).toBe(false);
    finish();
    await closing;
    expect(closed).toEqual([5000]);
  });
});

describe('Stats', () => {
  it('counts each write by file, restores, invalidations and token renewals apart, reconciles by result', () => {
    const s = new Stats();
    s.notify(WROTE);
    s.notify({ kind: 'wrote', file: 'kubeconfig', path: '/k', cause: 'restored', how: { what: 'overwritten' } });
    s.notify({ kind: 'wrote', file: 'config', path: '/c', cause: 'invalidated' });
    s.notify({ kind: 'wrote', file: 'config', path: '/c', cause: 'updated', master: 'a.conf' });
    s.notify({ kind: 'wrote', file: 'kubeconfig', path: '/k', cause: 'renewed' });
    s.notify({ kind: 'reconciled', result: 'ok', configured: true, master: 'a.conf' });
    s.notify({ kind: 'reconciled', result: 'error', configured: false, error: 'x' });
    s.notify({ kind: 'master', master: 'a.conf' });
    s.notify({ kind: 'uninstall', reason: 'gone', removed: ['/c'] });
    expect({ writes: s.writes, restores: s.restores, invalidations: s.invalidations, tokenRenewals: s.tokenRenewals, reconciles: s.reconciles, master: s.master }).toEqual({
      writes: { config: 3, kubeconfig: 2 }, restores: 1, invalidations: 1, tokenRenewals: 1, reconciles: { ok: 1, error: 1 }, master: 'a.conf',
    });
  });

  it('counts --repair-pods\' pods by result, each apart', () => {
    const s = new Stats();
    for (const result of ['evicted', 'evicted', 'left_alone', 'blocked', 'blocked', 'blocked', 'failed'] as const) s.notify({ kind: 'repair', result, pod: 'default/web-0' });
    expect(s.repairs).toEqual({ evicted: 2, left_alone: 1, blocked: 3, failed: 1 });
  });

  it('the master is the last good reconcile\'s: a failed one keeps it, a wait clears it', () => {
    const s = new Stats();
    s.notify({ kind: 'reconciled', result: 'ok', configured: true, master: 'a.conf' });
    s.notify({ kind: 'reconciled', result: 'error', configured: false, error: 'x' });
    expect(s.master).toBe('a.conf');
    s.notify({ kind: 'reconciled', result: 'ok', configured: false });
    expect(s.master).toBeUndefined();
  });
});
