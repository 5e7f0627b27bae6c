// The pure parts of metrics, events and the startup taint: the token's
// expiry read from a kubeconfig, the Event for each thing that happened, the
// JSON patch of the node's taints.
import { describe, expect, it } from '@jest/globals';
import { describeEvent, eventBody } from '../../src/cluster/events.js';
import { onlyTokenDiffers, renderKubeconfig } from '../../src/core/kubeconfig.js';
import { tokenExpiry } from '../../src/observe/metrics.js';
import { taintPatch } from '../../src/cluster/node-taint.js';

const jwt = (claims: object): string => `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;
const kubeconfig = (token: string): string => renderKubeconfig({ protocol: 'https', host: '10.0.0.1', port: '443', token, ca: Buffer.from('CA'), skipTlsVerify: false });

describe('tokenExpiry', () => {
  it('reads the exp claim of the kubeconfig user\'s token', () => {
    expect(tokenExpiry(kubeconfig(jwt({ sub: 'x', exp: 1_800_000_123 })))).toBe(1_800_000_123);
  });
  it.each([
    ['an opaque token', kubeconfig('not-a-jwt')],
    ['a token without exp', kubeconfig(jwt({ sub: 'x' }))],
    ['claims that are not JSON', kubeconfig('a.bm90IGpzb24.c')],
    ['not YAML', '{{{'],
    ['no users', 'apiVersion: v1\nkind: Config\n'],
  ])('gives undefined for %s', (_what, text) => {
    expect(tokenExpiry(text)).toBeUndefined();
  });
});

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

describe('onlyTokenDiffers', () => {
  const input = { protocol: 'https', host: '10.0.0.1', port: '443', token: 'a.b.c', ca: Buffer.from('CA'), skipTlsVerify: false };
  it('is true when only the token changed (a rotation or a renewal)', () => {
    expect(onlyTokenDiffers(renderKubeconfig(input), renderKubeconfig({ ...input, token: 'd.e.f' }))).toBe(true);
  });
  it.each([
    ['the same text', input],
    ['a new CA', { ...input, ca: Buffer.from('CA-2') }],
    ['a new CA and token', { ...input, ca: Buffer.from('CA-2'), token: 'd.e.f' }],
    ['a new server', { ...input, host: '10.0.0.2', token: 'd.e.f' }],
    ['TLS verification off', { ...input, skipTlsVerify: true, token: 'd.e.f' }],
  ])('is false for %s', (_what, other) => {
    expect(onlyTokenDiffers(renderKubeconfig(input), renderKubeconfig(other))).toBe(false);
  });
});

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
