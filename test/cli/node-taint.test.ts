// --node-ready-taint against a stand-in API server on 127.0.0.1: the node's
// NoSchedule taint goes once the node is configured and the config has held
// for the 10 s hold-down, comes back at once when the config is invalidated
// and on uninstall; other taints are left alone. A default network that
// flaps costs a couple of node PATCHes, not one per flap.
import { describe, expect, it } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { type FakeApi, NODE, type Taint, useFakeApi } from '../helpers/api-server.js';
import { countMatches, runDaemonToEnd, sleep, startDaemon, stopDaemon } from '../helpers/daemon.js';
import { copyMaster, eventually, readOrUndefined, useHostRoot } from '../helpers/host-root.js';

const KEY = 'k8s.cni.cncf.io/multus-not-ready';
const OURS: Taint = { key: KEY, effect: 'NoSchedule' };
const OTHER: Taint = { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' };

/** The node as it registers: tainted by the kubelet (--register-with-taints), beside another taint. */
const TAINTED = { nodeTaints: [OTHER, OURS] };

const h = useHostRoot({ master: 'masters/10-flannel.conflist' });

const fake = useFakeApi();
const taints = (): Taint[] => fake.api.taints();
const untainted = (): boolean => !taints().some((t) => t.key === KEY);
const waitTaint = (present: boolean, what: string): Promise<boolean> =>
  eventually(async () => untainted(), (u) => u !== present, 40_000, what);
const nodePatches = (): FakeApi['answered'] => fake.api.answered.filter((r) => r.method === 'PATCH' && r.path === `/api/v1/nodes/${NODE}`);
/** The hold-down (10 s) plus room for a loaded machine. */
const SLOW = 90_000;

describe('--node-ready-taint', () => {
  it('removes the taint once the config has held for 10 s, puts it back at once on invalidation and on uninstall', async () => {
    const api = await fake.serve(TAINTED);
    const env = fake.env(h.env, NODE);
    const started = Date.now();
    const run = await startDaemon(h, [`--node-ready-taint=${KEY}`, '--cleanup-config-on-exit'], env);
    await waitTaint(false, 'the taint removed');
    // The config was written after `started`: the removal waited the hold-down.
    expect(nodePatches()[0]!.at - started).toBeGreaterThanOrEqual(10_000);
    // Only ours: the other taint stays.
    expect(taints()).toEqual([OTHER]);
    const patch = api.requests.find((r) => r.method === 'PATCH')!;
    expect(patch).toMatchObject({ path: '/api/v1/nodes/node-1', contentType: 'application/json-patch+json' });
    await run.waitForLog(/removed the startup taint: pods may be scheduled on this node node=node-1 taint=k8s.cni.cncf.io\/multus-not-ready:NoSchedule/, 30_000);

    // No master left: the config is invalidated and no pod may be scheduled here, at once.
    const removedAt = Date.now();
    await fsp.rm(join(h.confDir, '10-flannel.conflist'));
    await waitTaint(true, 'the taint back after invalidation');
    expect(nodePatches()[1]!.at - removedAt).toBeLessThan(5000);
    expect(taints()).toEqual([OTHER, OURS]);
    const restoredAt = Date.now();
    await copyMaster(h, 'masters/10-flannel.conflist');
    await waitTaint(false, 'the taint removed again');
    expect(nodePatches()[2]!.at - restoredAt).toBeGreaterThanOrEqual(10_000);

    // Uninstall: put back before the program exits.
    api.set({ daemonSet: 'absent' });
    const r = await stopDaemon(run);
    expect(untainted()).toBe(false);
    expect(r.stderr).toMatch(/put the startup taint back/);
    expect(await readOrUndefined(join(h.confDir, '00-multus.conf'))).toBeUndefined();
  }, SLOW);

  it('a master that disappears and returns every second costs two node PATCHes, not one per flap', async () => {
    await fake.serve(TAINTED);
    const run = await startDaemon(h, [`--node-ready-taint=${KEY}`, '--cleanup-config-on-exit'], fake.env(h.env, NODE));
    await waitTaint(false, 'the taint removed');
    const before = nodePatches().length;
    const master = join(h.confDir, '10-flannel.conflist');
    const invalidated = (t: string | undefined): boolean => t?.startsWith('{Multus configuration intentionally invalidated') === true;
    // Gone for half a second, back for half a second, eight times.
    for (let i = 0; i < 8; i++) {
      const cycle = Date.now();
      await fsp.rm(master);
      await eventually(() => readOrUndefined(join(h.confDir, '00-multus.conf')), invalidated, 10_000, `invalidated (${i + 1})`);
      await sleep(Math.max(0, cycle + 500 - Date.now()));
      await copyMaster(h, 'masters/10-flannel.conflist');
      await eventually(() => readOrUndefined(join(h.confDir, '00-multus.conf')), (t) => t !== undefined && !invalidated(t), 10_000, `configured again (${i + 1})`);
      await sleep(Math.max(0, cycle + 1000 - Date.now()));
    }
    const lastReturn = Date.now();
    await waitTaint(false, 'the taint removed after the flapping');
    const flapPatches = nodePatches().slice(before);
    // One to put the taint back at the first flap, one to remove it once the config held.
    expect(flapPatches).toHaveLength(2);
    expect(flapPatches[1]!.at - lastReturn).toBeGreaterThanOrEqual(9000);
    await stopDaemon(run);
  }, SLOW);

  it('leaves the taint on a restart (the DaemonSet remains)', async () => {
    await fake.serve(TAINTED);
    const run = await startDaemon(h, [`--node-ready-taint=${KEY}`, '--cleanup-config-on-exit'], fake.env(h.env, NODE));
    await waitTaint(false, 'the taint removed');
    await stopDaemon(run);
    expect(untainted()).toBe(true);
  }, SLOW);

  it('stopped within the hold-down: the taint stays for the next pod to remove', async () => {
    await fake.serve(TAINTED);
    const run = await startDaemon(h, [`--node-ready-taint=${KEY}`, '--cleanup-config-on-exit'], fake.env(h.env, NODE));
    await stopDaemon(run);
    expect(nodePatches()).toEqual([]);
    expect(untainted()).toBe(false);
  });

  it('removes it with --once before exiting (no loop, so no hold-down)', async () => {
    await fake.serve(TAINTED);
    const r = await runDaemonToEnd(h, [`--node-ready-taint=${KEY}`, '--once'], fake.env(h.env, NODE));
    expect(r.code).toBe(0);
    expect(untainted()).toBe(true);
  });

  it('is a clear error without NODE_NAME', async () => {
    await fake.serve(TAINTED);
    const r = await runDaemonToEnd(h, [`--node-ready-taint=${KEY}`], fake.env(h.env));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--node-ready-taint: NODE_NAME is not set/);
    expect(untainted()).toBe(false);
  });

  it('keeps the node configured and logs once when RBAC refuses the patch', async () => {
    await fake.serve({ ...TAINTED, nodePatch: 403 });
    const run = await startDaemon(h, [`--node-ready-taint=${KEY}`], fake.env(h.env, NODE));
    await run.waitForLog(/--node-ready-taint: cannot remove the taint; retrying with backoff/, 40_000);
    await eventually(async () => fake.api.requests.filter((r) => r.method === 'PATCH').length, (n) => n >= 2, 20_000, 'a retry');
    const r = await stopDaemon(run);
    expect(countMatches(r.stderr, /cannot remove the taint/g)).toBe(1);
    expect(r.stderr).toMatch(/HTTP 403: nodes \\"node-1\\" is forbidden.*grant the service account patch on nodes/);
    expect(await readOrUndefined(join(h.confDir, '00-multus.conf'))).toBeDefined();
    expect(untainted()).toBe(false);
  }, SLOW);
});
