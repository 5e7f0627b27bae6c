// What the reconciler tells its observer (metrics, Kubernetes Events, the
// startup taint hear nothing else): in this process, on a temporary host
// root, so that the mutation tests see it too. The child-process tests of
// events, metrics and the taint check the same through the API server and
// /metrics.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger } from '../../../src/observe/log.js';
import { parseCommandLine } from '../../../src/cli/command-line.js';
import type { NodeEvent } from '../../../src/observe/observer.js';
import { Reconciler } from '../../../src/run/reconciler.js';
import type { HostRoot } from '../../helpers/host-root.js';
import { copyMaster, makeHostRoot, readOrUndefined, writeServiceAccount } from '../../helpers/host-root.js';

let h: HostRoot;
let events: NodeEvent[];
beforeEach(async () => {
  h = await makeHostRoot();
  events = [];
});
afterEach(async () => { await h.remove(); });

const INVALIDATED = '{Multus configuration intentionally invalidated to prevent pods from being scheduled.}\n';
const confPath = (): string => join(h.confDir, '00-multus.conf');

function reconciler(flags: string[] = [], env: NodeJS.ProcessEnv = h.env): Reconciler {
  const parsed = parseCommandLine([...h.args, ...flags], env);
  if (parsed.kind !== 'run') throw new Error('expected options');
  return new Reconciler(parsed.options, parsed.env, createLogger('text', () => undefined), { notify: (e) => { events.push(e); } });
}

/** The events of one reconcile, then forgets them. */
async function eventsOf(r: Reconciler): Promise<NodeEvent[]> {
  events = [];
  await r.reconcile();
  return events;
}

describe('what a reconcile reports', () => {
  it('a first install: both files created, the master taken, configured', async () => {
    await copyMaster(h, 'masters/87-podman-bridge.conf');
    expect(await eventsOf(reconciler())).toEqual([
      { kind: 'wrote', file: 'kubeconfig', path: h.kubeconfig, cause: 'created', master: '87-podman-bridge.conf' },
      { kind: 'wrote', file: 'config', path: confPath(), cause: 'created', master: '87-podman-bridge.conf' },
      { kind: 'master', master: '87-podman-bridge.conf', previous: undefined },
      { kind: 'reconciled', result: 'ok', configured: true, master: '87-podman-bridge.conf' },
    ]);
  });

  it('a settled node: only the reconcile, no write and no master switch', async () => {
    await copyMaster(h, 'masters/87-podman-bridge.conf');
    const r = reconciler();
    await r.reconcile();
    expect(await eventsOf(r)).toEqual([{ kind: 'reconciled', result: 'ok', configured: true, master: '87-podman-bridge.conf' }]);
  });

  it('an edited master is an update; a master that outranks it is a switch naming the previous one', async () => {
    const master = await copyMaster(h, 'masters/87-podman-bridge.conf');
    const r = reconciler();
    await r.reconcile();
    await fsp.writeFile(master, JSON.stringify({ ...JSON.parse(await fsp.readFile(master, 'utf8')), bridge: 'cni-podman9' }));
    expect(await eventsOf(r)).toEqual([
      { kind: 'wrote', file: 'config', path: confPath(), cause: 'updated', master: '87-podman-bridge.conf' },
      { kind: 'reconciled', result: 'ok', configured: true, master: '87-podman-bridge.conf' },
    ]);
    await copyMaster(h, 'masters/10-flannel.conflist');
    const switched = await eventsOf(r);
    expect(switched.filter((e) => e.kind === 'master')).toEqual([{ kind: 'master', master: '10-flannel.conflist', previous: '87-podman-bridge.conf' }]);
    expect(switched.at(-1)).toEqual({ kind: 'reconciled', result: 'ok', configured: true, master: '10-flannel.conflist' });
  });

  it('a rotated token is a renewal of the kubeconfig (a metric, not an Event); a rotated CA is an update', async () => {
    await copyMaster(h, 'masters/87-podman-bridge.conf');
    const r = reconciler();
    await r.reconcile();
    await writeServiceAccount(h.saDir, 'eyJhbGciOiJSUzI1NiJ9.rotated-never-log-me.sig', 'CA-1');
    expect(await eventsOf(r)).toEqual([
      { kind: 'wrote', file: 'kubeconfig', path: h.kubeconfig, cause: 'renewed', master: '87-podman-bridge.conf' },
      { kind: 'reconciled', result: 'ok', configured: true, master: '87-podman-bridge.conf' },
    ]);
    await writeServiceAccount(h.saDir, 'eyJhbGciOiJSUzI1NiJ9.rotated-never-log-me.sig', 'CA-2');
    expect((await eventsOf(r))[0]).toEqual({ kind: 'wrote', file: 'kubeconfig', path: h.kubeconfig, cause: 'updated', master: '87-podman-bridge.conf' });
  });

  it('a file someone else removed or overwrote is restored, and says how; the third time in a minute is a fight', async () => {
    await copyMaster(h, 'masters/87-podman-bridge.conf');
    const r = reconciler();
    await r.reconcile();
    await fsp.rm(confPath());
    expect(await eventsOf(r)).toEqual([
      { kind: 'wrote', file: 'config', path: confPath(), cause: 'restored', how: { what: 'removed' }, master: '87-podman-bridge.conf' },
      { kind: 'reconciled', result: 'ok', configured: true, master: '87-podman-bridge.conf' },
    ]);
    await fsp.writeFile(h.kubeconfig, 'someone else\n');
    expect((await eventsOf(r))[0]).toEqual({ kind: 'wrote', file: 'kubeconfig', path: h.kubeconfig, cause: 'restored', how: { what: 'overwritten' }, master: '87-podman-bridge.conf' });
    await fsp.writeFile(confPath(), '{}');
    expect((await eventsOf(r)).filter((e) => e.kind !== 'reconciled')).toEqual([
      { kind: 'wrote', file: 'config', path: confPath(), cause: 'restored', how: { what: 'overwritten' }, master: '87-podman-bridge.conf' },
    ]);
    await fsp.writeFile(confPath(), '{}');
    await fsp.writeFile(h.kubeconfig, 'someone else\n');
    await eventsOf(r);
    await fsp.rm(confPath());
    expect((await eventsOf(r)).filter((e) => e.kind === 'fight')).toEqual([{ kind: 'fight', file: 'config', path: confPath(), times: 4, windowSeconds: 60, how: { what: 'removed' } }]);
  });

  it('with --cleanup-config-on-exit, the last master gone: the config invalidated, not configured, no master', async () => {
    const master = await copyMaster(h, 'masters/87-podman-bridge.conf');
    const r = reconciler(['--cleanup-config-on-exit']);
    await r.reconcile();
    await fsp.rm(master);
    expect(await eventsOf(r)).toEqual([
      { kind: 'wrote', file: 'config', path: confPath(), cause: 'invalidated', master: undefined },
      { kind: 'reconciled', result: 'ok', configured: false, master: undefined },
    ]);
    expect(await readOrUndefined(confPath())).toBe(INVALIDATED);
  });

  it('a fault is an error result naming the file, and no master switch', async () => {
    await copyMaster(h, 'masters/87-podman-bridge.conf');
    const { KUBERNETES_SERVICE_HOST: _host, ...env } = h.env;
    const reported = await eventsOf(reconciler([], env));
    expect(reported).toEqual([{ kind: 'reconciled', result: 'error', configured: false, error: expect.stringContaining(h.kubeconfig) }]);
  });

  it('the config is not written while the kubeconfig it names cannot be', async () => {
    await copyMaster(h, 'masters/87-podman-bridge.conf');
    // multus.d is a file: the kubeconfig cannot be written into it.
    await fsp.writeFile(join(h.confDir, 'multus.d'), 'not a directory');
    const { desired } = await reconciler().reconcile();
    expect(desired.errors).toEqual(expect.arrayContaining([`${confPath()}: not written: the kubeconfig it names is not in place`]));
    expect(await readOrUndefined(confPath())).toBeUndefined();
    expect(events.filter((e) => e.kind === 'wrote')).toEqual([]);
  });
});
