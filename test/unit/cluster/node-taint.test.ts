// The startup taint: the JSON patch of the node's taints (pure).
import { describe, expect, it } from '@jest/globals';
import { taintPatch } from '../../../src/cluster/node-taint.js';

describe('taintPatch', () => {
  const key = 'k8s.cni.cncf.io/multus-not-ready';
  const node = (taints?: object[]): unknown => ({ metadata: { resourceVersion: '7' }, spec: taints ? { taints } : {} });
  it('removes only our NoSchedule taint, testing the resourceVersion', () => {
    const other = { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' };
    expect(taintPatch(node([other, { key, effect: 'NoSchedule' }, { key, effect: 'NoExecute' }]), key, 'absent')).toEqual([
      { op: 'test', path: '/metadata/resourceVersion', value: '7' },
      { op: 'add', path: '/spec/taints', value: [other, { key, effect: 'NoExecute' }] },
    ]);
  });
  it('adds it to a node without taints', () => {
    expect(taintPatch(node(), key, 'present')?.[1]).toEqual({ op: 'add', path: '/spec/taints', value: [{ key, effect: 'NoSchedule' }] });
  });
  it('sends nothing when the node is already as wanted', () => {
    expect(taintPatch(node(), key, 'absent')).toBeUndefined();
    expect(taintPatch(node([{ key, effect: 'NoSchedule' }]), key, 'present')).toBeUndefined();
  });
});
