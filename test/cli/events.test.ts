// Kubernetes Events regarding the program's own pod, as an operator sees
// them in `kubectl describe pod`, sent to a stand-in API server on 127.0.0.1:
// config written, master switched, restored, writer fight, invalidated,
// uninstall cleanup; a repeat is an EventSeries, not a new Event; a token
// rotation is a metric, not an Event; a refused or hanging events API is
// logged once and never holds up the loop.
import { describe, expect, it } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { NAMESPACE, POD, POD_UID, useFakeApi } from '../helpers/api-server.js';
import { countMatches, expectNoSecrets, registerSecret, sleep, startDaemon, stopDaemon } from '../helpers/daemon.js';
import { copyMaster, eventually, readOrUndefined, writeServiceAccount, useHostRoot } from '../helpers/host-root.js';

const h = useHostRoot({ master: 'masters/10-flannel.conflist' });

const confPath = (): string => join(h.confDir, '00-multus.conf');
const fake = useFakeApi();
const reasons = (): string[] => fake.api.events.map((e) => String(e.reason));
const waitForEvent = (reason: string, count = 1): Promise<number> =>
  eventually(async () => reasons().filter((r) => r === reason).length, (n) => n >= count, 20_000, `${count} ${reason} event(s); got ${reasons().join(', ')}`);

describe('Kubernetes Events on the pod', () => {
  it('records what an operator must see, from first write to uninstall', async () => {
    const api = await fake.serve();
    // Without NODE_NAME: the kubeconfig keeps the mounted token (no TokenRequest here).
    const run = await startDaemon(h, ['--cleanup-config-on-exit'], fake.env(h.env));
    await waitForEvent('ConfigWritten');
    await waitForEvent('KubeconfigWritten');
    const written = api.events.find((e) => e.reason === 'ConfigWritten')!;
    // What `kubectl describe pod` matches on (name, namespace, kind and uid) and what the API requires.
    expect(written).toMatchObject({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { namespace: NAMESPACE, name: expect.stringMatching(new RegExp(`^${POD}\\.[0-9a-f]+$`)) },
      regarding: { apiVersion: 'v1', kind: 'Pod', namespace: NAMESPACE, name: POD, uid: POD_UID },
      type: 'Normal',
      action: 'Write',
      reportingController: 'k8s.cni.cncf.io/multus-entrypoint',
      reportingInstance: `k8s.cni.cncf.io/multus-entrypoint-${POD}`,
      note: `wrote the Multus config ${confPath()} (master 10-flannel.conflist)`,
    });
    expect(written.eventTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);

    await copyMaster(h, 'masters/05-cilium.conflist');
    await waitForEvent('MasterSwitched');
    expect(api.events.find((e) => e.reason === 'MasterSwitched')?.note).toBe('master CNI config switched from 10-flannel.conflist to 05-cilium.conflist');

    await fsp.rm(confPath().replace('.conf', '.conflist')).catch(() => fsp.rm(confPath()));
    await waitForEvent('ConfigRestored');
    expect(fake.api.events.find((e) => e.reason === 'ConfigRestored')).toMatchObject({ type: 'Warning', note: expect.stringMatching(/it was removed by someone else/) });

    // Three restores of one file within a minute: a writer fight.
    const kubeconfigRestores = async (n: number): Promise<void> => {
      await fsp.rm(h.kubeconfig);
      await eventually(() => readOrUndefined(h.kubeconfig), (t) => t !== undefined, 10_000, `kubeconfig restore ${n}`);
    };
    for (let i = 1; i <= 3; i++) {
      await kubeconfigRestores(i);
      await run.waitForLog(new RegExp(`(restored the kubeconfig[^\\n]*\\n[^]*){${i}}`));
    }
    await waitForEvent('WriterFight');
    expect(fake.api.events.find((e) => e.reason === 'WriterFight')).toMatchObject({ type: 'Warning', note: expect.stringMatching(/another writer keeps changing the kubeconfig .* \(3 times in 60 s, last removed\): find and stop it/) });
    // Four restores, one Event: created for the first (its note stays the
    // first's, as client-go's series keep it), a series from the second on.
    expect(reasons().filter((r) => r === 'ConfigRestored')).toHaveLength(1);
    await eventually(async () => fake.api.events.find((e) => e.reason === 'ConfigRestored')?.series?.count, (n) => n === 2, 10_000, 'ConfigRestored as a series');

    // The outranked master goes first, so no switch back to it can come in between.
    await fsp.rm(join(h.confDir, '10-flannel.conflist'));
    await fsp.rm(join(h.confDir, '05-cilium.conflist'));
    await waitForEvent('ConfigInvalidated');

    api.set({ daemonSet: 'absent' });
    const r = await stopDaemon(run);
    // Sent before the program exits.
    expect(reasons()).toContain('UninstallCleanup');
    const uninstall = String(api.events.find((e) => e.reason === 'UninstallCleanup')?.note);
    expect(uninstall).toMatch(/^uninstall \(DaemonSet kube-system\/kube-multus-ds is gone\): removed /);
    expect(uninstall).toContain(join(h.confDir, '00-multus.conflist'));
    expect(uninstall).toContain(h.kubeconfig);
    // On stop, the series that grew since its last PATCH got its last count.
    expect(api.events.find((e) => e.reason === 'ConfigRestored')?.series?.count).toBe(4);
    expectNoSecrets(JSON.stringify(api.events) + r.stderr);
  });

  it('a writer fight (the config tampered with 4 times a second) costs a handful of Event writes, not one per restore', async () => {
    const api = await fake.serve();
    const run = await startDaemon(h, [], fake.env(h.env));
    await waitForEvent('KubeconfigWritten');
    await waitForEvent('ConfigWritten');
    const before = api.answered.filter((q) => q.path.includes('/events')).length;
    const fightStart = Date.now();
    let tampered = 0;
    while (Date.now() - fightStart < 6000) {
      const tick = Date.now();
      await fsp.writeFile(confPath(), '{"tampered": true}');
      tampered++;
      await eventually(() => readOrUndefined(confPath()), (t) => t !== undefined && !t.includes('tampered'), 10_000, `restore ${tampered}`);
      await sleep(Math.max(0, tick + 250 - Date.now()));
    }
    // Both Events exist (created, then made a series): wait for them, not for time.
    await eventually(async () => fake.api.eventPatches.length, (n) => n >= 2, 10_000, 'both series PATCHed');
    const during = api.answered.filter((q) => q.path.includes('/events')).slice(before);
    // ConfigRestored: POST + PATCH; WriterFight: POST + PATCH. Nothing more for the rest of the fight.
    expect(during.map((q) => q.method).sort()).toEqual(['PATCH', 'PATCH', 'POST', 'POST']);
    expect(tampered).toBeGreaterThanOrEqual(10);
    expect(reasons().sort()).toEqual(['ConfigRestored', 'ConfigWritten', 'KubeconfigWritten', 'WriterFight']);
    const r = await stopDaemon(run);
    // On stop each series' last count goes out: two more PATCHes, no more.
    expect(api.eventPatches).toHaveLength(4);
    // Every restore counted in the series (a tampering that lands mid-restore can make one fewer).
    const restores = countMatches(r.stderr, /restored the Multus config/);
    expect(restores).toBeGreaterThanOrEqual(tampered - 2);
    expect(api.events.find((e) => e.reason === 'ConfigRestored')?.series?.count).toBe(restores);
  });

  it('a rotated service-account token rewrites the kubeconfig without an Event', async () => {
    const api = await fake.serve();
    const rotated = 'eyJhbGciOiJSUzI1NiJ9.rotated-events-never-log-me.sig';
    registerSecret(rotated);
    api.accept(rotated);
    const run = await startDaemon(h, [], fake.env(h.env));
    await waitForEvent('KubeconfigWritten');
    await writeServiceAccount(h.saDir, rotated, 'CA-1');
    await eventually(() => readOrUndefined(h.kubeconfig), (t) => t?.includes(rotated) === true, 10_000, 'the rotated token written');
    // A later Event shows the rotation made none (Events are sent in order).
    await fsp.rm(confPath());
    await waitForEvent('ConfigRestored');
    const r = await stopDaemon(run);
    expect(r.stderr).toMatch(/updated the kubeconfig: a new token/);
    expect(reasons()).toEqual(['KubeconfigWritten', 'ConfigWritten', 'ConfigRestored']);
    expect(api.eventPatches).toEqual([]);
  });

  it('logs a refused event once and keeps working', async () => {
    const api = await fake.serve({ events: 403 });
    const run = await startDaemon(h, [], fake.env(h.env));
    await run.waitForLog(/cannot record a Kubernetes Event/);
    await fsp.rm(confPath());
    await run.waitForLog(/restored the Multus config/);
    await fsp.rm(h.kubeconfig);
    await run.waitForLog(/restored the kubeconfig/);
    const r = await stopDaemon(run);
    expect(countMatches(r.stderr, /cannot record a Kubernetes Event/g)).toBe(1);
    expect(r.stderr).toMatch(/cannot record a Kubernetes Event on this pod; later failures are not logged .*HTTP 403.*grant the service account create on events\.events\.k8s\.io in kube-system/);
    expect(r.code).toBe(0);
  });

  it('never holds up the loop when the events API does not answer', async () => {
    const api = await fake.serve({ events: 'hang' });
    const run = await startDaemon(h, [], fake.env(h.env));
    const good = await readOrUndefined(confPath());
    for (let i = 0; i < 3; i++) {
      await fsp.rm(confPath());
      await eventually(() => readOrUndefined(confPath()), (t) => t === good, 10_000, `the config restored (${i + 1})`);
    }
    const r = await stopDaemon(run);
    expect(r.code).toBe(0);
  });

  it('records nothing without --events', async () => {
    const api = await fake.serve();
    const run = await startDaemon(h, ['--events=false'], fake.env(h.env));
    await fsp.rm(confPath());
    await run.waitForLog(/restored the Multus config/);
    await stopDaemon(run);
    expect(api.events).toEqual([]);
  });
});
