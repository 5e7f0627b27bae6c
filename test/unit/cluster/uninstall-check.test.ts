// Uninstall or restart, decided in this process against the fake API
// server on 127.0.0.1 (test/cli/cleanup.test.ts and node-selection.test.ts
// check the same through the built program's stop): whose pod this is,
// whether its DaemonSet remains and still selects this node, and what an
// API server that refuses, fails or says nothing leads to: asked again with
// backoff for the pod's grace period less 5 s (the rule on a fake clock:
// uninstall-budget.test.ts).
import { describe, expect, it } from '@jest/globals';
import { checkUninstall, graceBudgetMs, podGraceSeconds } from '../../../src/cluster/uninstall-check.js';
import { DAEMONSET, type FakeApiOptions, NAMESPACE, NODE, POD, type PodState, selfSignedCert, useFakeApi } from '../../helpers/api-server.js';
import { eventually, TOKEN } from '../../helpers/host-root.js';

const POD_PATH = `/api/v1/namespaces/${NAMESPACE}/pods/${POD}`;
const DS_PATH = `/apis/apps/v1/namespaces/${NAMESPACE}/daemonsets/${DAEMONSET}`;
const NODE_PATH = `/api/v1/nodes/${NODE}`;
/** The grace period assumed here: the pod's is read when the fake pod has one (podGraceSeconds). */
const GRACE_S = 30;
const target = (namespace: string, podName: string, nodeName = ''): { namespace: string; podName: string; nodeName: string } => ({ namespace, podName, nodeName });

const fake = useFakeApi();
const asked = (): string[] => fake.api.requests.map((r) => `${r.method} ${r.path}`);
const askedFor = (path: string): number => fake.api.requests.filter((r) => r.path === path).length;

async function verdict(o: Partial<FakeApiOptions>, nodeName = '', graceSeconds = GRACE_S): Promise<{ uninstall: boolean; reason: string }> {
  await fake.serve(o);
  return checkUninstall(fake.access(), target(NAMESPACE, POD, nodeName), { graceSeconds });
}

describe('the owning DaemonSet', () => {
  it('still there: a restart, asked for with the token (the pod first, then its owner)', async () => {
    expect(await verdict({})).toEqual({
      uninstall: false,
      reason: 'DaemonSet kube-system/kube-multus-ds still exists (a restart or rolling update; NODE_NAME is not set, so whether it still selects this node is not checked)',
    });
    expect(fake.api.requests).toEqual([
      { method: 'GET', path: POD_PATH, authorization: `Bearer ${TOKEN}` },
      { method: 'GET', path: DS_PATH, authorization: `Bearer ${TOKEN}` },
    ]);
  });

  it.each([
    ['absent', 'DaemonSet kube-system/kube-multus-ds is gone'],
    ['deleting', 'DaemonSet kube-system/kube-multus-ds is being deleted'],
  ] as const)('%s: an uninstall', async (daemonSet, reason) => {
    expect(await verdict({ daemonSet })).toEqual({ uninstall: true, reason });
  });

  it('refused by RBAC: an uninstall (cannot tell), naming the rule to grant, asked once', async () => {
    const v = await verdict({ daemonSet: 'forbidden' });
    expect(v.uninstall).toBe(true);
    expect(v.reason).toMatch(/^cannot tell whether the DaemonSet remains \(get DaemonSet kube-system\/kube-multus-ds: HTTP 403: daemonsets\.apps "kube-multus-ds" is forbidden: .* \(grant the service account get on daemonsets\.apps\)\)$/);
    expect(askedFor(DS_PATH)).toBe(1);
  });

  it.each<[PodState, string]>([
    ['absent', 'pod kube-system/kube-multus-ds-x7k2p no longer exists'],
    ['orphan', 'pod kube-system/kube-multus-ds-x7k2p is not owned by a DaemonSet'],
    ['replicaset', 'pod kube-system/kube-multus-ds-x7k2p is not owned by a DaemonSet'],
  ])('a pod %s: an uninstall, without asking for a DaemonSet', async (pod, reason) => {
    expect(await verdict({ pod })).toEqual({ uninstall: true, reason });
    expect(asked()).toEqual([`GET ${POD_PATH}`]);
  });

  it('its own pod refused (a token the server no longer accepts): an uninstall (cannot tell), naming the request, asked once', async () => {
    await fake.serve();
    const v = await checkUninstall(fake.access('eyJhbGciOiJSUzI1NiJ9.revoked-never-log-me.sig'), target(NAMESPACE, POD), { graceSeconds: GRACE_S });
    expect(v).toEqual({ uninstall: true, reason: `cannot tell whether the DaemonSet remains (get pod ${NAMESPACE}/${POD}: HTTP 401: Unauthorized)` });
    expect(asked()).toEqual([`GET ${POD_PATH}`]);
  });

  it.each([['', POD], [NAMESPACE, '']])('POD_NAMESPACE "%s" / POD_NAME "%s": an uninstall, asking nothing', async (namespace, pod) => {
    await fake.serve();
    expect(await checkUninstall(fake.access(), target(namespace, pod))).toEqual({
      uninstall: true, reason: 'POD_NAME or POD_NAMESPACE is not set, so the owning DaemonSet cannot be checked',
    });
    expect(asked()).toEqual([]);
  });
});

describe('whether the DaemonSet still selects this node (NODE_NAME)', () => {
  const affinity = (key: string, values: string[]): unknown => ({
    nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key, operator: 'In', values }] }] } },
  });

  it('selected by its nodeSelector and affinity: a restart, the node asked for', async () => {
    const v = await verdict({ nodeLabels: { multus: 'true', disk: 'ssd' }, nodeSelector: { multus: 'true' }, affinity: affinity('disk', ['ssd']) }, NODE);
    expect(v).toEqual({ uninstall: false, reason: 'DaemonSet kube-system/kube-multus-ds still exists and selects node node-1 (a restart or rolling update)' });
    expect(asked()).toEqual([`GET ${POD_PATH}`, `GET ${DS_PATH}`, `GET ${NODE_PATH}`]);
  });

  it('a nodeSelector the node no longer matches: an uninstall, naming the label', async () => {
    expect(await verdict({ nodeLabels: { multus: 'false' }, nodeSelector: { multus: 'true' } }, NODE)).toEqual({
      uninstall: true,
      reason: expect.stringMatching(/^DaemonSet kube-system\/kube-multus-ds no longer selects node node-1: its nodeSelector multus=true does not match/),
    });
  });

  it('a required affinity the node no longer matches: an uninstall', async () => {
    const v = await verdict({ nodeLabels: { disk: 'hdd' }, affinity: affinity('disk', ['ssd']) }, NODE);
    expect(v).toEqual({ uninstall: true, reason: expect.stringMatching(/no longer selects node node-1: none of its required node affinity terms matches/) });
  });

  it('the node deleted: an uninstall', async () => {
    expect(await verdict({ node: 'absent' }, NODE)).toEqual({ uninstall: true, reason: 'node node-1 no longer exists' });
  });

  it('the node unreadable (403): a restart, as the DaemonSet remains, naming the rule to grant', async () => {
    const v = await verdict({ node: 'forbidden', nodeSelector: { multus: 'true' } }, NODE);
    expect(v.uninstall).toBe(false);
    expect(v.reason).toMatch(/^DaemonSet kube-system\/kube-multus-ds still exists; whether it still selects node node-1 is unknown \(get node node-1: HTTP 403: .*\(grant the service account get on nodes\)\), so a restart$/);
  });

  it('a DaemonSet being deleted is an uninstall whatever the node', async () => {
    expect((await verdict({ daemonSet: 'deleting', nodeSelector: { multus: 'true' }, nodeLabels: { multus: 'true' } }, NODE)).uninstall).toBe(true);
    expect(askedFor(NODE_PATH)).toBe(0);
  });
});

describe('an API server that does not answer', () => {
  it('is asked again with backoff while it answers 503, and its late answer decides', async () => {
    await fake.serve({ daemonSet: 'unavailable' });
    const pending = checkUninstall(fake.access(), target(NAMESPACE, POD), { graceSeconds: GRACE_S });
    await eventually(async () => askedFor(DS_PATH), (n) => n >= 2, 20_000, 'the DaemonSet asked for again');
    fake.api.set({ daemonSet: 'present' });
    expect(await pending).toMatchObject({ uninstall: false, reason: expect.stringMatching(/^DaemonSet kube-system\/kube-multus-ds still exists/) });
    // The pod is read once; only what is not known yet is asked again (it used to start over with the pod).
    expect(askedFor(POD_PATH)).toBe(1);
  });

  it('answering 503 for the whole budget: an uninstall (cannot tell), naming the attempts and the last answer', async () => {
    // A grace period of 7.5 s: 2.5 s of asking.
    const v = await verdict({ daemonSet: 'unavailable' }, '', 7.5);
    expect(v.uninstall).toBe(true);
    expect(v.reason).toMatch(/^no answer in \d+ attempts over [\d.]+ s of the 2\.5 s grace budget \(last: get DaemonSet kube-system\/kube-multus-ds: HTTP 503: the server is currently unable to handle the request\); cannot tell whether the DaemonSet remains, so an uninstall$/);
    expect(askedFor(DS_PATH)).toBeGreaterThanOrEqual(2);
  });

  it('silent: gives up when the budget is spent (the pod\'s grace period is short), an uninstall', async () => {
    const started = Date.now();
    // The pod says: 6.5 s of grace, so 1.5 s of asking.
    const v = await verdict({ daemonSet: 'hang', podGraceSeconds: 6.5 });
    expect(v.uninstall).toBe(true);
    expect(v.reason).toMatch(/^no answer in 1 attempt over [\d.]+ s of the 1\.5 s grace budget \(last: get DaemonSet kube-system\/kube-multus-ds/);
    // Not the 5 s a single request may otherwise take.
    expect(Date.now() - started).toBeLessThan(4500);
  });

  it('429 with Retry-After: each retry waits what the server asked, and the answer decides', async () => {
    await fake.serve({ busy: { status: 429, retryAfter: '1', times: 2, match: /\/daemonsets\// } });
    const v = await checkUninstall(fake.access(), target(NAMESPACE, POD), { graceSeconds: GRACE_S });
    expect(v.uninstall).toBe(false);
    const ds = fake.api.answered.filter((q) => q.path === DS_PATH);
    expect(ds.map((q) => q.status)).toEqual([429, 429, 200]);
    for (let i = 1; i < ds.length; i++) expect(ds[i]!.at - ds[i - 1]!.at).toBeGreaterThanOrEqual(1000);
  });
});

describe('over HTTPS', () => {
  const tlsFake = useFakeApi({ tls: true });

  it('verifies the server with the service-account CA', async () => {
    await tlsFake.serve();
    expect((await checkUninstall(tlsFake.access(), target(NAMESPACE, POD))).uninstall).toBe(false);
  });

  it('does not trust a server its CA did not sign: no answer, so an uninstall, and no request (no token) reaches it', async () => {
    await tlsFake.serve();
    const other = await selfSignedCert();
    // No connection is asked again: a grace period of 7 s gives it 2 s.
    const v = await checkUninstall({ ...tlsFake.access(), ca: Buffer.from(other.cert) }, target(NAMESPACE, POD), { graceSeconds: 7 });
    expect(v.uninstall).toBe(true);
    expect(v.reason).toMatch(/^no answer in \d+ attempts? over [\d.]+ s of the 2 s grace budget \(last: .*\); cannot tell whether the DaemonSet remains, so an uninstall$/);
    expect(tlsFake.api.requests).toEqual([]);
  });

  it('with skipTlsVerify, asks a server no CA of ours signed', async () => {
    await tlsFake.serve();
    expect((await checkUninstall({ ...tlsFake.access(), ca: undefined, skipTlsVerify: true }, target(NAMESPACE, POD))).uninstall).toBe(false);
  });
});

describe('the grace budget', () => {
  it('is the grace period less 5 s; 30 s when unknown; at least one attempt', () => {
    expect(graceBudgetMs(undefined)).toBe(25_000);
    expect(graceBudgetMs(30)).toBe(25_000);
    expect(graceBudgetMs(10)).toBe(5_000);
    expect(graceBudgetMs(120)).toBe(115_000);
    expect(graceBudgetMs(5)).toBe(1_000);
    expect(graceBudgetMs(0)).toBe(1_000);
  });

  it('reads the deletion\'s grace period first, then the spec\'s', () => {
    expect(podGraceSeconds({ spec: { terminationGracePeriodSeconds: 45 } })).toBe(45);
    expect(podGraceSeconds({ metadata: { deletionGracePeriodSeconds: 12 }, spec: { terminationGracePeriodSeconds: 45 } })).toBe(12);
    expect(podGraceSeconds({ spec: {} })).toBeUndefined();
    expect(podGraceSeconds({ spec: { terminationGracePeriodSeconds: 'x' } })).toBeUndefined();
  });
});
