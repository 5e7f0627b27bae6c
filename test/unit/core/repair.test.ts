// Which pods --repair-pods evicts, warns about or leaves alone: the pure
// selection, condition by condition, on pods shaped as the API server lists
// them. A pod that Multus attached must never come out as 'evict'.
import { describe, expect, it } from '@jest/globals';
import { parseNetworks, statusNetworks } from '../../../src/core/pod-networks.js';
import { judgePod, sandboxReadyAt, type Verdict } from '../../../src/core/repair.js';

const NODE = 'node-1';
/** The node's Multus config came into place at this moment. */
const CONFIG_SINCE = Date.parse('2026-03-01T10:00:00.000Z');
const BEFORE = '2026-03-01T09:58:00Z';
const AFTER = '2026-03-01T10:00:05Z';

interface PodShape {
  networks?: string;
  status?: unknown;
  legacyStatus?: unknown;
  node?: string;
  hostNetwork?: boolean;
  phase?: string;
  deleting?: boolean;
  owner?: { kind: string; name: string; controller?: boolean } | null;
  mirror?: boolean;
  /** PodReadyToStartContainers: its status and time; null: no such condition. */
  ready?: { status: string; at: string } | null;
  containerStarts?: string[];
}

function pod(s: PodShape = {}): unknown {
  const annotations: Record<string, unknown> = {};
  if (s.networks !== undefined) annotations['k8s.v1.cni.cncf.io/networks'] = s.networks;
  if (s.status !== undefined) annotations['k8s.v1.cni.cncf.io/network-status'] = typeof s.status === 'string' ? s.status : JSON.stringify(s.status);
  if (s.legacyStatus !== undefined) annotations['k8s.v1.cni.cncf.io/networks-status'] = JSON.stringify(s.legacyStatus);
  if (s.mirror) annotations['kubernetes.io/config.mirror'] = 'abc';
  const owner = s.owner === undefined ? { kind: 'ReplicaSet', name: 'web-7d9f', controller: true } : s.owner;
  const ready = s.ready === undefined ? { status: 'True', at: BEFORE } : s.ready;
  return {
    metadata: {
      namespace: 'apps', name: 'web-7d9f-x2x4q', uid: 'uid-1', resourceVersion: '42', annotations,
      ...(owner ? { ownerReferences: [{ apiVersion: 'apps/v1', uid: 'o-1', ...owner }] } : {}),
      ...(s.deleting ? { deletionTimestamp: '2026-03-01T10:01:00Z' } : {}),
    },
    spec: { nodeName: s.node ?? NODE, ...(s.hostNetwork ? { hostNetwork: true } : {}), containers: [{ name: 'c' }] },
    status: {
      phase: s.phase ?? 'Running',
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: '2026-03-01T09:57:00Z' },
        ...(ready ? [{ type: 'PodReadyToStartContainers', status: ready.status, lastTransitionTime: ready.at }] : []),
      ],
      containerStatuses: (s.containerStarts ?? []).map((t) => ({ name: 'c', state: { running: { startedAt: t } } })),
    },
  };
}

const DEFAULT_NET = { name: 'cbr0', interface: 'eth0', ips: ['10.244.1.5'], default: true };
const judge = (s: PodShape): Verdict => judgePod(pod({ networks: 'macvlan-net1', ...s }), NODE, CONFIG_SINCE);
const action = (s: PodShape): string => {
  const v = judge(s);
  return v.action === 'leave' ? `leave: ${v.why}` : v.action;
};

describe('a pod that started before the config and lacks its networks', () => {
  it('is evicted when it has a controller; the verdict names what it lacks and its owner', () => {
    expect(judge({})).toEqual({
      action: 'evict',
      pod: { namespace: 'apps', name: 'web-7d9f-x2x4q', uid: 'uid-1', resourceVersion: '42' },
      missing: ['apps/macvlan-net1'],
      sandboxAt: Date.parse(BEFORE),
      owner: 'ReplicaSet/web-7d9f',
    });
  });

  it('network-status missing and network-status without the networks it asked for are both "lacks"', () => {
    expect(action({ status: undefined })).toBe('evict');
    expect(action({ status: [DEFAULT_NET] })).toBe('evict');
    expect(action({ status: [] })).toBe('evict');
  });

  it('is left alone with a warning when nothing would recreate it: no controller, or a static pod', () => {
    const bare = judge({ owner: null });
    expect(bare).toMatchObject({ action: 'warn', missing: ['apps/macvlan-net1'], why: expect.stringMatching(/no controller/) });
    expect(judge({ owner: { kind: 'ReplicaSet', name: 'x', controller: false } })).toMatchObject({ action: 'warn' });
    expect(judge({ owner: { kind: 'Node', name: NODE, controller: true } })).toMatchObject({ action: 'warn', why: expect.stringMatching(/static pod/) });
    expect(judge({ mirror: true })).toMatchObject({ action: 'warn', why: expect.stringMatching(/static pod/) });
  });
});

describe('every condition that leaves a pod alone', () => {
  it.each<[string, PodShape, string]>([
    ['no networks annotation', { networks: undefined }, 'leave: asks for no networks'],
    ['an empty networks annotation', { networks: ' ' }, 'leave: asks for no networks'],
    ['an empty JSON list', { networks: '[]' }, 'leave: asks for no networks'],
    ['host network', { hostNetwork: true }, 'leave: host network'],
    ['Succeeded', { phase: 'Succeeded' }, 'leave: finished'],
    ['Failed', { phase: 'Failed' }, 'leave: finished'],
    ['being deleted', { deleting: true }, 'leave: being deleted'],
    ['on another node', { node: 'node-2' }, 'leave: other node'],
    ['its network-status lists what it asked for', { status: [DEFAULT_NET, { name: 'apps/macvlan-net1', interface: 'net1' }] }, 'leave: attached by Multus'],
    ['the legacy networks-status lists it', { legacyStatus: [DEFAULT_NET, { name: 'apps/macvlan-net1' }] }, 'leave: attached by Multus'],
    ['old Multus named it without the namespace', { status: [{ name: 'macvlan-net1' }] }, 'leave: attached by Multus'],
    ['a network-status that does not parse', { status: '{not json' }, 'leave: unreadable network-status'],
    ['a networks annotation Multus would refuse', { networks: 'a/b/c' }, 'leave: unreadable networks annotation'],
    ['its sandbox is not ready', { ready: { status: 'False', at: BEFORE } }, 'leave: sandbox not ready'],
    ['its sandbox came up after the config', { ready: { status: 'True', at: AFTER } }, 'leave: sandbox may postdate the config'],
    ['no condition and no container started yet', { ready: null }, 'leave: sandbox not ready'],
  ])('%s', (_what, shape, expected) => {
    expect(action(shape)).toBe(expected);
  });

  it('Pending with a ready sandbox (containers still pulling) is a candidate like Running', () => {
    expect(action({ phase: 'Pending' })).toBe('evict');
  });

  it('a status listing some of its networks means Multus attached it (a plugin without a pod interface has no entry)', () => {
    const v = judge({ networks: 'a, b', status: [DEFAULT_NET, { name: 'apps/a' }] });
    expect(v).toMatchObject({ action: 'leave', why: 'attached by Multus' });
  });

  it('keeps what it lacks on pods it leaves for doubt, for the log', () => {
    expect(judge({ ready: { status: 'True', at: AFTER } })).toMatchObject({ missing: ['apps/macvlan-net1'] });
  });
});

describe('the race with a sandbox created while the config is written', () => {
  const at = (iso: string): string => action({ ready: { status: 'True', at: iso } });

  it('needs the sandbox ready a whole second before the config: timestamps are truncated to seconds', () => {
    expect(at('2026-03-01T09:59:59Z')).toBe('evict'); // ready before 10:00:00.000
    expect(at('2026-03-01T10:00:00Z')).toBe('leave: sandbox may postdate the config'); // ready in [10:00:00, 10:00:01)
  });

  it('without PodReadyToStartContainers (before 1.29) uses the first container start', () => {
    expect(action({ ready: null, containerStarts: ['2026-03-01T10:00:30Z', BEFORE] })).toBe('evict');
    expect(action({ ready: null, containerStarts: [AFTER] })).toBe('leave: sandbox may postdate the config');
  });

  it('prefers the condition: a sandbox recreated after the config is judged by its new transition', () => {
    expect(sandboxReadyAt({ conditions: [{ type: 'PodReadyToStartContainers', status: 'True', lastTransitionTime: AFTER }], containerStatuses: [{ state: { running: { startedAt: BEFORE } } }] })).toBe(Date.parse(AFTER));
  });
});

describe('the networks annotation, both forms', () => {
  it.each<[string, string[]]>([
    ['macvlan-net1', ['apps/macvlan-net1']],
    ['macvlan-net1@net1', ['apps/macvlan-net1']],
    ['other/macvlan-net1@net1, sriov ,other/b', ['other/macvlan-net1', 'apps/sriov', 'other/b']],
    ['[{"name":"macvlan-net1","interface":"net1"},{"name":"b","namespace":"other"}]', ['apps/macvlan-net1', 'other/b']],
    ['  [ {"name": "a"} ]  ', ['apps/a']],
  ])('%s', (value, networks) => {
    expect(parseNetworks(value, 'apps')).toEqual({ networks });
  });

  it.each([
    ['a/b/c', /more than one "\/"/],
    ['a@b@c', /more than one "@"/],
    ['Upper', /not a lower-case DNS label/],
    ['a,,b', /no network name/],
    ['a@averyveryverylongifname', /not an interface name/],
    ['[{"name":', /not valid JSON/],
    ['{"name":"a"}', /not a list/],
    ['[{"interface":"net1"}]', /element 0 has no "name"/],
    ['[{"name":"a","namespace":3}]', /"namespace" is not a string/],
  ])('refuses %s as Multus would', (value, why) => {
    const r = parseNetworks(value, 'apps');
    expect('error' in r ? r.error : '').toMatch(why);
  });

  it('both forms give the same verdict for the same networks', () => {
    expect(judge({ networks: 'other/b@net1' })).toEqual(judge({ networks: '[{"name":"b","namespace":"other","interface":"net1"}]' }));
  });
});

describe('statusNetworks', () => {
  it('joins both annotation names, and tells none from unreadable', () => {
    expect(statusNetworks({})).toBeUndefined();
    expect(statusNetworks({ 'k8s.v1.cni.cncf.io/network-status': '[{"name":"a/x"}]', 'k8s.v1.cni.cncf.io/networks-status': '[{"name":"a/y"}]' })).toEqual(new Set(['a/x', 'a/y']));
    expect(statusNetworks({ 'k8s.v1.cni.cncf.io/network-status': '{}' })).toBe('unreadable');
  });
});
