// --node-ready-taint against a stand-in API server on 127.0.0.1: the node's
// NoSchedule taint goes once the node is configured, comes back when the
// config is invalidated and on uninstall; other taints are left alone.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { NODE, type Taint, useFakeApi } from '../helpers/api-server.js';
import { countMatches, killLeftovers, runDaemonToEnd, startDaemon, stopDaemon } from '../helpers/daemon.js';
import type { HostRoot } from '../helpers/host-root.js';
import { copyMaster, eventually, makeHostRoot, readOrUndefined } from '../helpers/host-root.js';

const KEY = 'k8s.cni.cncf.io/multus-not-ready';
const OURS: Taint = { key: KEY, effect: 'NoSchedule' };
const OTHER: Taint = { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' };

/** The node as it registers: tainted by the kubelet (--register-with-taints), beside another taint. */
const TAINTED = { nodeTaints: [OTHER, OURS] };

let h: HostRoot;
beforeEach(async () => {
  h = await makeHostRoot();
  await copyMaster(h, 'masters/10-flannel.conflist');
});
afterEach(async () => {
  await killLeftovers();
  await h.remove();
});
const fake = useFakeApi();

const taints = (): Taint[] => fake.api.taints();
const untainted = (): boolean => !taints().some((t) => t.key === KEY);
const waitTaint = (present: boolean, what: string): Promise<boolean> =>
  eventually(async () => untainted(), (u) => u !== present, 20_000, what);

describe('--node-ready-taint', () => {
  it('removes the taint once configured, puts it back on invalidation and on uninstall', async () => {
    await fake.serve(TAINTED);
    const env = fake.env(h.env, NODE);
    const run = await startDaemon(h, [`--node-ready-taint=${KEY}`, '--cleanup-config-on-exit'], env);
    await waitTaint(false, 'the taint removed');
    // Only ours: the other taint stays.
    expect(taints()).toEqual([OTHER]);
    const patch = fake.api.requests.find((r) => r.method === 'PATCH')!;
    expect(patch).toMatchObject({ path: '/api/v1/nodes/node-1', contentType: 'application/json-patch+json' });
    await run.waitForLog(/removed the startup taint: pods may be scheduled on this node node=node-1 taint=k8s.cni.cncf.io\/multus-not-ready:NoSchedule/);

    // No master left: the config is invalidated and no pod may be scheduled here.
    await fsp.rm(join(h.confDir, '10-flannel.conflist'));
    await waitTaint(true, 'the taint back after invalidation');
    expect(taints()).toEqual([OTHER, OURS]);
    await copyMaster(h, 'masters/10-flannel.conflist');
    await waitTaint(false, 'the taint removed again');

    // Uninstall: put back before the program exits.
    fake.api.set({ daemonSet: 'absent' });
    const r = await stopDaemon(run);
    expect(untainted()).toBe(false);
    expect(r.stderr).toMatch(/put the startup taint back/);
    expect(await readOrUndefined(join(h.confDir, '00-multus.conf'))).toBeUndefined();
  });

  it('leaves the taint on a restart (the DaemonSet remains)', async () => {
    await fake.serve(TAINTED);
    const run = await startDaemon(h, [`--node-ready-taint=${KEY}`, '--cleanup-config-on-exit'], fake.env(h.env, NODE));
    await waitTaint(false, 'the taint removed');
    await stopDaemon(run);
    expect(untainted()).toBe(true);
  });

  it('removes it with --once before exiting', async () => {
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
    await run.waitForLog(/--node-ready-taint: cannot remove the taint; retrying with backoff/);
    await eventually(async () => fake.api.requests.filter((r) => r.method === 'PATCH').length, (n) => n >= 2, 20_000, 'a retry');
    const r = await stopDaemon(run);
    expect(countMatches(r.stderr, /cannot remove the taint/g)).toBe(1);
    expect(r.stderr).toMatch(/HTTP 403: nodes \\"node-1\\" is forbidden.*grant the service account patch on nodes/);
    expect(await readOrUndefined(join(h.confDir, '00-multus.conf'))).toBeDefined();
    expect(untainted()).toBe(false);
  });
});
