// Kubernetes Events regarding this pod: the Event for each thing that
// happened (pure), the object sent, and the recorder that sends them to the
// fake API server on 127.0.0.1 in the background: a repeat made a series,
// client-go's spam filter, a refusal logged once, never in the loop's way
// (test/cli/events.test.ts sees the same through the built program; the
// series' timing is in event-recorder.test.ts and core/event-series.test.ts).
import { describe, expect, it } from '@jest/globals';
import type { Clock } from '../../../src/base/backoff.js';
import { describeEvent, eventBody, EventRecorder, identityOf, type PodRef } from '../../../src/cluster/events.js';
import { eventKey } from '../../../src/core/event-series.js';
import { createLogger } from '../../../src/observe/log.js';
import type { NodeEvent } from '../../../src/observe/observer.js';
import { NAMESPACE, NODE, POD, POD_UID, useFakeApi } from '../../helpers/api-server.js';
import { eventually } from '../../helpers/host-root.js';

describe('events', () => {
  it('has no event for a reconcile or the first master (ConfigWritten names it)', () => {
    expect(describeEvent({ kind: 'reconciled', result: 'ok', configured: true })).toBeUndefined();
    expect(describeEvent({ kind: 'master', master: 'a.conf' })).toBeUndefined();
  });
  it('has no event for a token renewed on schedule (a metric counts it); a kubeconfig that changed otherwise has one', () => {
    expect(describeEvent({ kind: 'wrote', file: 'kubeconfig', path: '/k', cause: 'renewed' })).toBeUndefined();
    expect(describeEvent({ kind: 'wrote', file: 'kubeconfig', path: '/k', cause: 'updated' })?.reason).toBe('KubeconfigWritten');
  });
  it('makes warnings of what needs an operator', () => {
    expect(describeEvent({ kind: 'wrote', file: 'kubeconfig', path: '/k', cause: 'restored', how: { what: 'overwritten' } })).toEqual({
      type: 'Warning', reason: 'ConfigRestored', action: 'Restore', note: 'restored the kubeconfig /k: it was overwritten by someone else',
    });
    expect(describeEvent({ kind: 'wrote', file: 'config', path: '/c', cause: 'invalidated' })?.type).toBe('Warning');
    expect(describeEvent({ kind: 'fight', file: 'config', path: '/c', times: 3, windowSeconds: 60 })?.reason).toBe('WriterFight');
  });
  it('builds an events.k8s.io/v1 Event with MicroTime and a note within the API\'s 1 KiB', () => {
    const body = eventBody({ type: 'Normal', reason: 'R', action: 'A', note: 'x'.repeat(2000) }, { namespace: 'kube-system', name: 'p', uid: '', nodeName: '' }, Date.UTC(2026, 0, 2, 3, 4, 5, 678), 1);
    expect(body.eventTime).toBe('2026-01-02T03:04:05.678000Z');
    expect(String(body.note)).toHaveLength(1024);
    expect(body.regarding).toEqual({ apiVersion: 'v1', kind: 'Pod', namespace: 'kube-system', name: 'p' });
    expect(body.reportingInstance).toBe('k8s.cni.cncf.io/multus-entrypoint-p');
  });
});

describe('an Event\'s identity (as client-go\'s getKey)', () => {
  const pod: PodRef = { namespace: 'kube-system', name: 'multus-x', uid: 'u', nodeName: 'node-1' };
  const fight = (times: number): ReturnType<typeof describeEvent> => describeEvent({ kind: 'fight', file: 'config', path: '/etc/cni/net.d/00-multus.conf', times, windowSeconds: 60 });

  it('leaves the note out: WriterFight with a changing count is one Event', () => {
    expect(fight(3)!.note).not.toBe(fight(4)!.note);
    expect(identityOf(fight(3)!, pod)).toBe(identityOf(fight(4)!, pod));
  });

  it('keeps reason, action, type, object and reporter in', () => {
    const base = { regarding: 'v1/Pod/ns/p', reason: 'R', action: 'A', type: 'Warning', reportingController: 'c', reportingInstance: 'c-node-1' };
    const keys = new Set([base, { ...base, regarding: 'v1/Pod/ns/q' }, { ...base, reason: 'S' }, { ...base, action: 'B' }, { ...base, type: 'Normal' }, { ...base, reportingController: 'd' }, { ...base, reportingInstance: 'c-node-2' }].map(eventKey));
    expect(keys.size).toBe(7);
    expect(identityOf(fight(3)!, pod)).not.toBe(identityOf(fight(3)!, { ...pod, nodeName: 'node-2' }));
  });
});

describe('EventRecorder, against the fake API server', () => {
  const fake = useFakeApi();
  const POD_REF = { namespace: NAMESPACE, name: POD, uid: POD_UID, nodeName: NODE };
  const WROTE: NodeEvent = { kind: 'wrote', file: 'config', path: '/etc/cni/net.d/00-multus.conf', cause: 'created', master: '10-flannel.conflist' };
  const restored = (n: number): NodeEvent => ({ kind: 'wrote', file: 'config', path: `/etc/cni/net.d/${n}.conf`, cause: 'restored', how: { what: 'removed' } });
  let lines: string[] = [];
  /** A clock that moves only when the test moves it (retries would sleep on it: none here). */
  let now = 0;
  const clock: Clock = { now: () => now, sleep: () => Promise.resolve() };

  function recorder(pod: PodRef = POD_REF, c?: Clock): EventRecorder {
    lines = [];
    return new EventRecorder(() => Promise.resolve(fake.access()), pod, createLogger('text', (l) => { lines.push(l); }), c);
  }
  /** Event writes answered so far (creates and series PATCHes). */
  const writes = (): number => fake.api.answered.filter((q) => q.path.includes('/events') && q.status !== 0).length;
  const written = (n: number): Promise<number> => eventually(async () => writes(), (c) => c >= n, 10_000, `${n} event write(s)`);
  const reasons = (): string[] => fake.api.events.map((e) => String(e.reason));
  const sent = (n: number): Promise<number> => eventually(async () => fake.api.events.length, (c) => c >= n, 10_000, `${n} event(s) sent`);

  it('records what happened on this pod, as `kubectl describe pod` lists it', async () => {
    await fake.serve();
    const r = recorder();
    r.notify(WROTE);
    await r.close(10_000);
    expect(fake.api.events).toEqual([expect.objectContaining({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { namespace: NAMESPACE, name: expect.stringMatching(new RegExp(`^${POD}\\.[0-9a-f]+$`)) },
      regarding: { apiVersion: 'v1', kind: 'Pod', namespace: NAMESPACE, name: POD, uid: POD_UID },
      reason: 'ConfigWritten',
      type: 'Normal',
      note: 'wrote the Multus config /etc/cni/net.d/00-multus.conf (master 10-flannel.conflist)',
      reportingController: 'k8s.cni.cncf.io/multus-entrypoint',
      reportingInstance: `k8s.cni.cncf.io/multus-entrypoint-${NODE}`,
    })]);
    expect(lines).toEqual([]);
  });

  it('sends nothing for what needs no operator (a reconcile, the first master)', async () => {
    await fake.serve();
    const r = recorder();
    r.notify({ kind: 'reconciled', result: 'ok', configured: true, master: 'a.conf' });
    r.notify({ kind: 'master', master: 'a.conf' });
    await r.close(10_000);
    expect(fake.api.requests).toEqual([]);
    expect(fake.api.events).toEqual([]);
  });

  it('looks the pod\'s uid up once when POD_UID is not given', async () => {
    await fake.serve();
    const r = recorder({ ...POD_REF, uid: '' });
    r.notify(WROTE);
    r.notify(restored(1));
    await sent(2);
    await r.close(10_000);
    expect(fake.api.events.map((e) => e.regarding.uid)).toEqual([POD_UID, POD_UID]);
    expect(fake.api.requests.map((q) => `${q.method} ${q.path}`)).toEqual([`GET /api/v1/namespaces/${NAMESPACE}/pods/${POD}`]);
  });

  it('the same Event again is a series, not a new Event; after 6 min of quiet it is a new one (was: once in ten minutes, keyed by the note)', async () => {
    await fake.serve();
    now = 1_800_000_000_000;
    const r = recorder(POD_REF, clock);
    r.notify(restored(1));
    r.notify(restored(2));
    await written(2);
    expect(reasons()).toEqual(['ConfigRestored']);
    expect(fake.api.eventPatches.map((p) => p.body.series.count)).toEqual([2]);
    now += 6 * 60_000;
    r.notify(restored(3));
    await written(3);
    expect(reasons()).toEqual(['ConfigRestored', 'ConfigRestored']);
    await r.close(10_000);
    expect(writes()).toBe(3);
  });

  it('no more than client-go\'s spam filter allows: 25 writes, then one per 5 min; says once that it drops some (was: a burst of ten, then one per 6 s)', async () => {
    await fake.serve();
    now = 1_800_000_000_000;
    const r = recorder(POD_REF, clock);
    // Every Event there is, twice (a create and a series PATCH each): 14 writes.
    const all: NodeEvent[] = [
      WROTE, restored(1), { kind: 'wrote', file: 'kubeconfig', path: '/k', cause: 'created' }, { kind: 'wrote', file: 'config', path: '/c', cause: 'invalidated' },
      { kind: 'fight', file: 'config', path: '/c', times: 3, windowSeconds: 60 }, { kind: 'master', master: 'b.conf', previous: 'a.conf' }, { kind: 'uninstall', reason: 'r', removed: [] },
    ];
    const round = (): void => { for (const e of all) { r.notify(e); r.notify(e); } };
    round();
    await written(14);
    expect(lines.filter((l) => l.includes('too many'))).toHaveLength(0);
    // 6 min later (each a new Event again): 11 tokens left + 1 refilled: 12 writes, the rest dropped.
    now += 6 * 60_000;
    round();
    await written(26);
    expect(lines.filter((l) => l.includes('too many Kubernetes Events on this pod: dropping some'))).toHaveLength(1);
    // 6 min more: a token and a bit: one write.
    now += 6 * 60_000;
    round();
    await written(27);
    await r.close(10_000);
    // 25 at once and one per 5 min after: 25 + 12 min / 5 min.
    expect(writes()).toBe(27);
    expect(lines.filter((l) => l.includes('too many'))).toHaveLength(1);
  });

  it('an events API that does not answer while Events keep coming: past 50 writes waiting, says once that it drops some', async () => {
    await fake.serve({ events: 'hang' });
    now = 1_800_000_000_000;
    const r = recorder(POD_REF, clock);
    // One Event every 6 min: a new Event each time, and the spam filter always has a token for it.
    const notify = (from: number, to: number): void => {
      for (let i = from; i < to; i++) {
        r.notify(restored(i));
        now += 6 * 60_000;
      }
    };
    // One in flight and 50 waiting: all kept; the next is one too many.
    notify(0, 51);
    expect(lines).toEqual([]);
    notify(51, 52);
    expect(lines).toEqual([expect.stringContaining('too many Kubernetes Events on this pod: dropping some')]);
    // Said once, naming what it dropped.
    notify(52, 60);
    expect(lines).toEqual([expect.stringContaining('reason=ConfigRestored')]);
    await r.close(300);
    // One write at a time: the first, never answered.
    expect(fake.api.answered.filter((q) => q.path.includes('/events'))).toEqual([expect.objectContaining({ method: 'POST', status: 0 })]);
  });

  it('refused by RBAC: says so once, naming the rule to grant, and never throws into the loop', async () => {
    await fake.serve({ events: 403 });
    const r = recorder();
    expect(() => { r.notify(WROTE); r.notify(restored(1)); r.notify(restored(2)); }).not.toThrow();
    await eventually(async () => lines.length, (n) => n >= 1, 10_000, 'the failure logged');
    await r.close(10_000);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/WARN {2}cannot record a Kubernetes Event on this pod; later failures are not logged reason=ConfigWritten error=".*HTTP 403: events\.events\.k8s\.io is forbidden: .*\(grant the service account create on events\.events\.k8s\.io in kube-system\)"/);
  });

  it('an events API that does not answer holds up neither notify nor the exit beyond its deadline', async () => {
    await fake.serve({ events: 'hang' });
    const r = recorder();
    const notified = Date.now();
    r.notify(WROTE);
    expect(Date.now() - notified).toBeLessThan(100);
    const started = Date.now();
    await r.close(300);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(fake.api.events).toEqual([]);
  });
});
