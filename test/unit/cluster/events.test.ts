// Kubernetes Events regarding this pod: the Event for each thing that
// happened (pure), and the object sent.
import { describe, expect, it } from '@jest/globals';
import { describeEvent, eventBody } from '../../../src/cluster/events.js';

describe('events', () => {
  it('has no event for a reconcile or the first master (ConfigWritten names it)', () => {
    expect(describeEvent({ kind: 'reconciled', result: 'ok', configured: true })).toBeUndefined();
    expect(describeEvent({ kind: 'master', master: 'a.conf' })).toBeUndefined();
  });
  it('makes warnings of what needs an operator', () => {
    expect(describeEvent({ kind: 'wrote', file: 'kubeconfig', path: '/k', cause: 'restored', how: 'changed' })).toEqual({
      type: 'Warning', reason: 'ConfigRestored', action: 'Restore', note: 'restored the kubeconfig /k: it was changed by someone else',
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
