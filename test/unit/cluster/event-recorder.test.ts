// The Event recorder (src/cluster/events.ts) in this process, against the
// stand-in API server on 127.0.0.1: what goes over the wire for a repeated
// Event (one POST, one PATCH making it a series, then nothing until a
// refresh or its end), on jest's fake clock for the minutes; retries of a
// write the server shed, honouring Retry-After; an Event gone from the
// server created again with its series. The rules themselves are pinned in
// test/unit/core/event-series.test.ts.
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { EventRecorder, type PodRef } from '../../../src/cluster/events.js';
import { createLogger } from '../../../src/observe/log.js';
import type { NodeEvent } from '../../../src/observe/observer.js';
import { NAMESPACE, NODE, POD, POD_UID, useFakeApi } from '../../helpers/api-server.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const MIN = 60_000;
const REF: PodRef = { namespace: NAMESPACE, name: POD, uid: POD_UID, nodeName: NODE };
const fight = (times: number): NodeEvent => ({ kind: 'fight', file: 'config', path: '/etc/cni/net.d/00-multus.conf', times, windowSeconds: 60 });
const restored: NodeEvent = { kind: 'wrote', file: 'kubeconfig', path: '/etc/cni/net.d/multus.d/multus.kubeconfig', cause: 'restored', how: { what: 'removed' } };

const fake = useFakeApi();
let logged: string[];
afterEach(() => {
  jest.useRealTimers();
});

function recorder(): EventRecorder {
  logged = [];
  return new EventRecorder(() => Promise.resolve(fake.access()), REF, createLogger('text', (line) => { logged.push(line); }));
}

/** Waits on real I/O (not on the fake clock) until ok() holds, for up to 10 s of real time. */
async function until(what: string, ok: () => boolean): Promise<void> {
  const deadline = process.hrtime.bigint() + 10_000_000_000n;
  while (!ok()) {
    if (process.hrtime.bigint() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

/** Every Event write the server saw: creates and series PATCHes, in order. */
const writes = (): string[] => fake.api.answered.filter((q) => q.path.includes('/events')).map((q) => `${q.method} ${q.status}`);

describe('EventRecorder over HTTP', () => {
  it('a writer fight: POST, PATCH count 2, nothing while it lasts, the last count 6 min after it stops', async () => {
    const api = await fake.serve();
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask', 'hrtime'] });
    const r = recorder();
    r.notify(fight(3));
    await until('the Event created', () => api.events.length === 1);
    r.notify(fight(4));
    await until('the series PATCH', () => api.eventPatches.length === 1);
    const event = api.events[0]!;
    expect(event).toMatchObject({ reason: 'WriterFight', type: 'Warning', action: 'Restore', note: expect.stringMatching(/\(3 times in 60 s\)/) });
    expect(api.eventPatches[0]).toEqual({
      name: event.metadata.name,
      contentType: 'application/strategic-merge-patch+json',
      body: { series: { count: 2, lastObservedTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/) } },
    });
    // Four times a second for 40 s, each with a new count in its note.
    for (let i = 5; i < 165; i++) {
      r.notify(fight(i));
      jest.advanceTimersByTime(250);
    }
    jest.advanceTimersByTime(6 * MIN);
    await until('the last PATCH', () => api.eventPatches.length === 2);
    expect(api.eventPatches[1]!.body.series.count).toBe(162);
    expect(writes()).toEqual(['POST 201', 'PATCH 200', 'PATCH 200']);
    expect(api.events).toHaveLength(1);
    await r.close(1000);
  });

  it('a long fight is PATCHed once per 30 min; what grew since is sent on stop', async () => {
    const api = await fake.serve();
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask', 'hrtime'] });
    const r = recorder();
    r.notify(restored);
    await until('the Event created', () => api.events.length === 1);
    r.notify(restored);
    await until('the series PATCH', () => api.eventPatches.length === 1);
    // Once a minute for 65 min: refreshes at 30 and 60 min (before that minute's occurrence).
    for (let i = 0; i < 65; i++) {
      jest.advanceTimersByTime(MIN);
      r.notify(restored);
      await until('I/O settled', () => true);
    }
    await until('two refreshes', () => api.eventPatches.length === 3);
    expect(api.eventPatches.map((p) => p.body.series.count)).toEqual([2, 31, 61]);
    await r.close(5000);
    expect(api.eventPatches.map((p) => p.body.series.count)).toEqual([2, 31, 61, 67]);
    expect(api.events).toHaveLength(1);
  });

  it('an Event gone from the server (its hour in etcd is over) is created again with its series', async () => {
    const api = await fake.serve();
    const r = recorder();
    r.notify(restored);
    await until('the Event created', () => api.events.length === 1);
    api.events.splice(0);
    r.notify(restored);
    await until('created again', () => api.events.length === 1);
    expect(api.events[0]).toMatchObject({ reason: 'ConfigRestored', series: { count: 2 } });
    expect(writes()).toEqual(['POST 201', 'PATCH 404', 'POST 201']);
    await r.close(1000);
  });

  it('a write shed with 503 is retried no sooner than its Retry-After, with jitter', async () => {
    const api = await fake.serve({ busy: { status: 503, retryAfter: '3', times: 1, match: /^POST .*\/events$/ } });
    const r = recorder();
    r.notify(restored);
    await until('the Event created on the retry', () => api.events.length === 1);
    const [shed, retried] = api.answered.filter((q) => q.path.endsWith('/events'));
    expect([shed!.status, retried!.status]).toEqual([503, 201]);
    expect(retried!.at - shed!.at).toBeGreaterThanOrEqual(3000);
    expect(retried!.at - shed!.at).toBeLessThan(6500);
    // Asked again and answered: no failure to report.
    expect(logged.join('\n')).not.toMatch(/cannot record/);
    await r.close(1000);
  }, 20_000);

  it('a create made but answered 504 (the server went on after its client gave up): the retry\'s 409 AlreadyExists is that Event, not a failure', async () => {
    const api = await fake.serve({ eventCreatesLost: 1 });
    logged = [];
    // A fake clock: the retry's backoff passes at once.
    const r = new EventRecorder(() => Promise.resolve(fake.access()), REF, createLogger('text', (line) => { logged.push(line); }), new FakeClock());
    r.notify(restored);
    await until('the retry answered', () => fake.api.answered.filter((q) => q.path.includes('/events') && q.status !== 0).length === 2);
    expect(writes()).toEqual(['POST 504', 'POST 409']);
    expect(api.events).toHaveLength(1);
    // The series goes on with that Event (sent after the 409 was taken in: one write at a time).
    r.notify(restored);
    await until('the series PATCHed', () => writes().length === 3);
    expect(writes()[2]).toBe('PATCH 200');
    await r.close(1000);
    expect(logged.join('\n')).not.toMatch(/cannot record/);
  });

  it('a refusal (403) is not retried, and is logged once', async () => {
    await fake.serve({ events: 403 });
    const r = recorder();
    r.notify(restored);
    r.notify(fight(3));
    await r.close(5000);
    expect(writes()).toEqual(['POST 403', 'POST 403']);
    expect(logged.filter((l) => /cannot record a Kubernetes Event/.test(l))).toHaveLength(1);
  });
});
