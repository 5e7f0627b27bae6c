// Does the DaemonSet still select this node? nodeSelector and required node
// affinity against the node's labels, as the scheduler matches them (pure).
import { describe, expect, it } from '@jest/globals';
import { nodeInfo, selectsNode } from '../../../src/core/node-selection.js';

const node = { name: 'node-1', labels: { 'kubernetes.io/os': 'linux', 'node-role.kubernetes.io/worker': '', disk: 'ssd', cores: '16' } };
const affinity = (...terms: unknown[]): unknown => ({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } });
const expr = (key: string, operator: string, values?: string[]): unknown => ({ matchExpressions: [{ key, operator, ...(values ? { values } : {}) }] });

describe('selectsNode', () => {
  it('selects a node when the template has no constraint', () => {
    expect(selectsNode({ containers: [] }, node)).toEqual({ selects: true });
    expect(selectsNode(undefined, node)).toEqual({ selects: true });
  });

  it('nodeSelector: every label must match, and the reason names the one that does not', () => {
    expect(selectsNode({ nodeSelector: { 'kubernetes.io/os': 'linux', disk: 'ssd' } }, node).selects).toBe(true);
    expect(selectsNode({ nodeSelector: { disk: 'hdd' } }, node)).toEqual({ selects: false, why: "its nodeSelector disk=hdd does not match the node's labels (disk=ssd)" });
    expect(selectsNode({ nodeSelector: { multus: 'true' } }, node)).toEqual({ selects: false, why: expect.stringContaining('multus=<unset>') });
  });

  it.each<[string, unknown, boolean]>([
    ['In', expr('disk', 'In', ['ssd', 'nvme']), true],
    ['In, not listed', expr('disk', 'In', ['hdd']), false],
    ['In, label absent', expr('gpu', 'In', ['yes']), false],
    ['NotIn', expr('disk', 'NotIn', ['hdd']), true],
    ['NotIn, listed', expr('disk', 'NotIn', ['ssd']), false],
    ['NotIn, label absent', expr('gpu', 'NotIn', ['yes']), true],
    ['Exists (empty value)', expr('node-role.kubernetes.io/worker', 'Exists'), true],
    ['Exists, absent', expr('gpu', 'Exists'), false],
    ['DoesNotExist', expr('gpu', 'DoesNotExist'), true],
    ['DoesNotExist, present', expr('disk', 'DoesNotExist'), false],
    ['Gt', expr('cores', 'Gt', ['8']), true],
    ['Gt, not greater', expr('cores', 'Gt', ['16']), false],
    ['Lt', expr('cores', 'Lt', ['32']), true],
    ['Gt, not a number', expr('disk', 'Gt', ['1']), false],
    ['matchFields metadata.name In', { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-1'] }] }, true],
    ['matchFields metadata.name NotIn', { matchFields: [{ key: 'metadata.name', operator: 'NotIn', values: ['node-1'] }] }, false],
    ['an empty term matches nothing', {}, false],
    ['an operator the API server does not admit', expr('disk', 'Matches', ['ssd']), false],
  ])('required affinity, %s', (_name, term, selects) => {
    expect(selectsNode(affinity(term), node).selects).toBe(selects);
  });

  it('ORs the terms and ANDs the requirements of a term', () => {
    expect(selectsNode(affinity(expr('disk', 'In', ['hdd']), expr('cores', 'Gt', ['4'])), node).selects).toBe(true);
    const both = { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }, { key: 'gpu', operator: 'Exists' }] };
    expect(selectsNode(affinity(both), node)).toEqual({ selects: false, why: expect.stringMatching(/none of its required node affinity terms matches .*disk In \(ssd\)/) });
  });

  it('reads a nodeSelector that is not a map (a list, a string) as no constraint, not as labels 0, 1, ...', () => {
    expect(selectsNode({ nodeSelector: ['disk'] }, node)).toEqual({ selects: true });
    expect(selectsNode({ nodeSelector: 'disk=hdd' }, node)).toEqual({ selects: true });
  });

  it('needs both the nodeSelector and the affinity to match; preferred affinity does not count', () => {
    expect(selectsNode({ nodeSelector: { disk: 'ssd' }, ...(affinity(expr('gpu', 'Exists')) as object) }, node).selects).toBe(false);
    const preferred = { affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, preference: expr('gpu', 'Exists') }] } } };
    expect(selectsNode(preferred, node).selects).toBe(true);
  });
});

describe('nodeInfo', () => {
  it('takes the labels of a Node object, ignoring what is not a string', () => {
    expect(nodeInfo({ metadata: { name: 'n', labels: { a: 'b', bad: 3 } } }, 'n')).toEqual({ name: 'n', labels: { a: 'b' } });
    expect(nodeInfo({}, 'n')).toEqual({ name: 'n', labels: {} });
  });
});
