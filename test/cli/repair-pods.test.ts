// --repair-pods end to end: the command on a temporary host root, the fake
// API server on 127.0.0.1 holding the node's pods. Once the config is
// written, the pod that started before it without its network is evicted and
// the bare one gets a Warning Event; /metrics counts both; a restore looks
// again. Misuse is a clear error naming the flag.
import { beforeEach, describe, expect, it } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { kubeletPod, podStore, type PodStore } from '../helpers/api-pods.js';
import { NODE, useFakeApi } from '../helpers/api-server.js';
import { freePort, runDaemonToEnd, startDaemon, stopDaemon } from '../helpers/daemon.js';
import { eventually, useHostRoot } from '../helpers/host-root.js';
import { httpGet } from '../helpers/http.js';

const h = useHostRoot({ master: 'masters/10-flannel.conflist' });
const fake = useFakeApi();
let pods: PodStore;
beforeEach(async () => {
  pods = podStore();
  await fake.serve({ pods });
});

const env = (): NodeJS.ProcessEnv => fake.env(h.env, NODE);
/** The kubeconfig keeps the mounted token: no TokenRequest in these tests. */
const FLAGS = ['--repair-pods', '--kubeconfig-token-expiration=0'];

const metrics = async (port: number): Promise<string> => (await httpGet(port, '/metrics')).body;

describe('--repair-pods', () => {
  it('evicts the pod that started before the config, warns on the bare one, counts both in /metrics', async () => {
    const early = Date.now() - 120_000;
    pods.add(
      kubeletPod({ name: 'web-1', networks: 'macvlan-net1', sandboxReadyAt: early }),
      kubeletPod({ name: 'bare', networks: '[{"name":"macvlan-net1"}]', sandboxReadyAt: early, owner: null }),
      kubeletPod({ name: 'fine', networks: 'macvlan-net1', status: [{ name: 'apps/macvlan-net1', interface: 'net1' }], sandboxReadyAt: early }),
    );
    const port = await freePort();
    const run = await startDaemon(h, [...FLAGS, `--health-port=${port}`], env());
    await eventually(async () => pods.evicted, (e) => e.length === 1, 20_000, 'the early pod evicted');
    expect(pods.evicted).toEqual(['apps/web-1']);
    await run.waitForLog(/--repair-pods: evicted a pod that started before the Multus config was in place pod=apps\/web-1 lacks=apps\/macvlan-net1 owner=ReplicaSet\/web-1-rs/, 20_000);
    await run.waitForLog(/left alone pod=apps\/bare/, 20_000);
    await eventually(async () => fake.api.events.filter((e) => e.regarding?.namespace === 'apps').map((e) => `${e.regarding.name} ${e.reason}`).sort(),
      (r) => r.length === 2, 20_000, 'the Events on the two pods');
    expect(fake.api.events.filter((e) => e.regarding?.namespace === 'apps').map((e) => `${e.regarding.name} ${e.type} ${e.reason}`).sort())
      .toEqual(['bare Warning MissingNetworks', 'web-1 Normal EvictedForMissingNetworks']);
    const text = await eventually(() => metrics(port), (t) => t.includes('multus_entrypoint_pod_repairs_total{result="left_alone"} 1'), 20_000, 'the repairs counted');
    expect(text).toContain('multus_entrypoint_pod_repairs_total{result="evicted"} 1');
    expect(text).toContain('multus_entrypoint_pod_repairs_total{result="failed"} 0');
    expect(pods.pods.has('apps/fine')).toBe(true);
    await stopDaemon(run);
  });

  it('looks again when the config comes back after someone removed it', async () => {
    const run = await startDaemon(h, FLAGS, env());
    await eventually(async () => pods.lists.length, (n) => n === 1, 20_000, 'the first look');
    // A pod without its network shows up (its sandbox ready before the
    // restore below), then the config is removed: the restore looks again.
    pods.add(kubeletPod({ name: 'in-the-gap', networks: 'macvlan-net1', sandboxReadyAt: Date.now() - 5000 }));
    await fsp.rm(join(h.confDir, '00-multus.conf'));
    await eventually(async () => pods.evicted, (e) => e.length === 1, 20_000, 'the pod of the gap evicted');
    expect(pods.lists.length).toBeGreaterThanOrEqual(2);
    await stopDaemon(run);
  });

  it('needs NODE_NAME, and a program that keeps running', async () => {
    const noNode = await runDaemonToEnd(h, FLAGS, fake.env(h.env));
    expect(noNode.code).toBe(1);
    expect(noNode.stderr).toMatch(/--repair-pods: NODE_NAME is not set/);
    const once = await runDaemonToEnd(h, [...FLAGS, '--once'], env());
    expect(once.code).toBe(2);
    expect(once.stderr).toMatch(/--repair-pods: .*not with --once/);
    expect(pods.lists).toEqual([]);
  });
});
