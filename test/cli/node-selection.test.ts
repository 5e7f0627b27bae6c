// Uninstall when the DaemonSet no longer wants this node: on SIGTERM with
// --cleanup-config-on-exit, a DaemonSet that exists but whose nodeSelector or
// required node affinity no longer matches node NODE_NAME is removing its
// pod for good, so the files go. An API server that does not answer (or
// sheds load with 429/5xx) is asked again with jittered backoff, honouring
// Retry-After, for the pod's grace period less 5 s before the check gives up.
import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { type FakeApiOptions, NODE, useFakeApi } from '../helpers/api-server.js';
import { startDaemon, stopDaemon } from '../helpers/daemon.js';
import { eventually, readOrUndefined, useHostRoot } from '../helpers/host-root.js';

const h = useHostRoot({ master: 'masters/10-flannel.conflist' });
const fake = useFakeApi();

// The node-bound token is not what these tests are about.
const FLAGS = ['--cleanup-config-on-exit', '--kubeconfig-token-expiration=0'];
const NODE_PATH = `/api/v1/nodes/${NODE}`;

async function snapshot(): Promise<{ config?: string; kubeconfig?: string }> {
  return { config: await readOrUndefined(join(h.confDir, '00-multus.conf')), kubeconfig: await readOrUndefined(h.kubeconfig) };
}

async function stopWith(o: Partial<FakeApiOptions>): Promise<{ stderr: string; before: { config?: string; kubeconfig?: string } }> {
  await fake.serve(o);
  const run = await startDaemon(h, FLAGS, fake.env(h.env, NODE));
  const before = await snapshot();
  expect(before.config).toBeDefined();
  const r = await stopDaemon(run);
  return { stderr: r.stderr, before };
}

const affinity = (key: string, operator: string, values?: string[]): unknown => ({
  nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key, operator, ...(values ? { values } : {}) }] }] } },
});

describe('uninstall when the DaemonSet no longer selects this node', () => {
  it('a DaemonSet that still selects the node (nodeSelector and affinity match): a restart, nothing touched', async () => {
    const { stderr, before } = await stopWith({ nodeLabels: { multus: 'true', disk: 'ssd' }, nodeSelector: { multus: 'true' }, affinity: affinity('disk', 'In', ['ssd']) });
    expect(stderr).toMatch(/restart, not uninstall: .*DaemonSet kube-system\/kube-multus-ds still exists and selects node node-1/);
    expect(await snapshot()).toEqual(before);
    expect(fake.api.requests.map((r) => r.path)).toContain(NODE_PATH);
  });

  it('a nodeSelector the node no longer matches: uninstall, the files removed', async () => {
    const { stderr } = await stopWith({ nodeLabels: { multus: 'false' }, nodeSelector: { multus: 'true' } });
    expect(stderr).toMatch(/uninstall: removing what this program wrote .*DaemonSet kube-system\/kube-multus-ds no longer selects node node-1: its nodeSelector multus=true does not match/);
    expect(await snapshot()).toEqual({ config: undefined, kubeconfig: undefined });
  });

  it('a required node affinity the node no longer matches: uninstall', async () => {
    const { stderr } = await stopWith({ nodeLabels: { disk: 'hdd' }, affinity: affinity('disk', 'In', ['ssd']) });
    expect(stderr).toMatch(/uninstall: .*no longer selects node node-1: none of its required node affinity terms matches/);
    expect(await snapshot()).toEqual({ config: undefined, kubeconfig: undefined });
  });

  it('the node deleted: uninstall', async () => {
    const { stderr } = await stopWith({ node: 'absent' });
    expect(stderr).toMatch(/uninstall: .*node node-1 no longer exists/);
    expect(await snapshot()).toEqual({ config: undefined, kubeconfig: undefined });
  });

  it('the node cannot be read (403): the DaemonSet remains, so a restart, and the log names the rule to grant', async () => {
    const { stderr, before } = await stopWith({ node: 'forbidden', nodeSelector: { multus: 'true' } });
    expect(stderr).toMatch(/restart, not uninstall: .*whether it still selects node node-1 is unknown .*HTTP 403.*grant the service account get on nodes/);
    expect(await snapshot()).toEqual(before);
  });

  it('without NODE_NAME the node is not checked: a restart', async () => {
    await fake.serve({ nodeSelector: { multus: 'true' } });
    const run = await startDaemon(h, FLAGS, fake.env(h.env));
    const r = await stopDaemon(run);
    expect(r.stderr).toMatch(/restart, not uninstall: .*NODE_NAME is not set/);
    expect(fake.api.requests.map((q) => q.path)).not.toContain(NODE_PATH);
  });
});

describe('an API server that does not answer at once', () => {
  it('is asked again after a second, and its late answer decides (a restart)', async () => {
    await fake.serve({ daemonSet: 'hang' });
    const run = await startDaemon(h, FLAGS, fake.env(h.env, NODE));
    const before = await snapshot();
    run.child.kill('SIGTERM');
    await eventually(async () => fake.api.requests.filter((r) => r.path.includes('/daemonsets/')).length, (n) => n >= 1, 20_000, 'the DaemonSet asked for');
    fake.api.set({ daemonSet: 'present' });
    const r = await stopDaemon(run);
    expect(r.stderr).toMatch(/restart, not uninstall: .*still exists and selects node node-1/);
    expect(fake.api.requests.filter((q) => q.path.includes('/daemonsets/')).length).toBeGreaterThanOrEqual(2);
    expect(await snapshot()).toEqual(before);
  });

  it('gives up after the pod\'s grace period less 5 s of no answer: an uninstall (its files go), naming the attempts', async () => {
    // terminationGracePeriodSeconds 13: 8 s of asking (the contract used to be a fixed 10 s).
    await fake.serve({ daemonSet: 'hang', podGraceSeconds: 13 });
    const run = await startDaemon(h, FLAGS, fake.env(h.env, NODE));
    const before = await snapshot();
    const r = await stopDaemon(run);
    expect(r.stderr).toMatch(/uninstall: removing what this program wrote .*no answer in \d+ attempts over [\d.]+ s of the 8 s grace budget \(last: get DaemonSet/);
    expect(fake.api.requests.filter((q) => q.path.includes('/daemonsets/')).length).toBeGreaterThanOrEqual(2);
    expect(before.config).toBeDefined();
    expect(await snapshot()).toEqual({ config: undefined, kubeconfig: undefined });
  });

  it('429 with Retry-After is waited out, not taken for an uninstall: a restart once it answers', async () => {
    const api = await fake.serve({ podGraceSeconds: 30 });
    const run = await startDaemon(h, FLAGS, fake.env(h.env, NODE));
    const before = await snapshot();
    // Priority and fairness sheds the DaemonSet's GET three times, asking for 2 s each.
    api.set({ busy: { status: 429, retryAfter: '2', times: 3, match: /^GET .*\/daemonsets\// } });
    const r = await stopDaemon(run);
    expect(r.stderr).toMatch(/restart, not uninstall: .*still exists and selects node node-1/);
    expect(await snapshot()).toEqual(before);
    const asked = api.answered.filter((q) => q.path.includes('/daemonsets/'));
    expect(asked.map((q) => q.status)).toEqual([429, 429, 429, 200]);
    // Each retry came no sooner than the 2 s asked for.
    for (let i = 1; i < asked.length; i++) expect(asked[i]!.at - asked[i - 1]!.at).toBeGreaterThanOrEqual(2000);
  });

  it('503 on every request for longer than the old 10 s is still not an uninstall', async () => {
    const api = await fake.serve({ podGraceSeconds: 30 });
    const run = await startDaemon(h, FLAGS, fake.env(h.env, NODE));
    const before = await snapshot();
    api.set({ busy: { status: 503, match: /^GET / } });
    run.child.kill('SIGTERM');
    const firstBusy = (await eventually(async () => api.answered.find((q) => q.status === 503), (q) => q !== undefined, 20_000, 'a 503'))!.at;
    // Longer than the old fixed 10 s: had it given up, the verdict below would be an uninstall.
    await eventually(async () => Date.now() - firstBusy, (ms) => ms >= 12_000, 30_000, '12 s of 503s');
    expect(run.child.exitCode).toBeNull();
    api.set({ busy: undefined });
    const r = await stopDaemon(run);
    expect(r.stderr).toMatch(/restart, not uninstall/);
    expect(await snapshot()).toEqual(before);
  }, 60_000);
});
