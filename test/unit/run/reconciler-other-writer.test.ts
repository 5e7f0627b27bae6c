// Naming the other writer, in this process on a temporary host root: the
// reconciler's restore says whether the config was renamed (and to what),
// removed or overwritten, names Cilium and the fix for *.cilium_bak and
// another Multus installer for a foreign Multus config; a valid config that
// sorts before ours makes the node not configured and /readyz's check fail,
// naming it, until it is gone.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { parseCommandLine } from '../../../src/cli/command-line.js';
import { createLogger } from '../../../src/observe/log.js';
import type { NodeEvent } from '../../../src/observe/observer.js';
import { Reconciler } from '../../../src/run/reconciler.js';
import type { HostRoot } from '../../helpers/host-root.js';
import { copyMaster, makeHostRoot } from '../../helpers/host-root.js';

let h: HostRoot;
let events: NodeEvent[];
let lines: string[];
beforeEach(async () => {
  h = await makeHostRoot();
  await copyMaster(h, 'masters/87-podman-bridge.conf');
  events = [];
  lines = [];
});
afterEach(async () => { await h.remove(); });

const confPath = (): string => join(h.confDir, '00-multus.conf');
const CILIUM = {
  agent: 'Cilium with cni.exclusive=true, which renames every other CNI config to *.cilium_bak',
  fix: 'set cni.exclusive=false in Cilium\'s Helm values (cni-exclusive: "false" in the cilium-config ConfigMap)',
};

function reconciler(): Reconciler {
  const parsed = parseCommandLine(h.args, h.env);
  if (parsed.kind !== 'run') throw new Error('expected options');
  return new Reconciler(parsed.options, parsed.env, createLogger('text', (l) => lines.push(l)), { notify: (e) => { events.push(e); } });
}

async function settled(): Promise<Reconciler> {
  const r = reconciler();
  await r.reconcile();
  events = [];
  lines = [];
  return r;
}

const restores = (): NodeEvent[] => events.filter((e) => e.kind === 'wrote' && e.cause === 'restored');
const logged = (): string => lines.join('');

describe('a restore says what happened to the config', () => {
  it('renamed to *.cilium_bak: the new name, Cilium, and the fix; the third time is a fight that says the same', async () => {
    const r = await settled();
    for (let i = 1; i <= 3; i++) {
      await fsp.rename(confPath(), `${confPath()}.cilium_bak`);
      await r.reconcile();
    }
    const how = { what: 'renamed', to: '00-multus.conf.cilium_bak', ...CILIUM };
    expect(restores()).toEqual([1, 2, 3].map(() => ({ kind: 'wrote', file: 'config', path: confPath(), cause: 'restored', how, master: '87-podman-bridge.conf' })));
    expect(events.filter((e) => e.kind === 'fight')).toEqual([{ kind: 'fight', file: 'config', path: confPath(), times: 3, windowSeconds: 60, how }]);
    expect(logged()).toContain(`restored the Multus config: it was renamed to 00-multus.conf.cilium_bak by someone else: ${CILIUM.agent}; ${CILIUM.fix} file=${confPath()}`);
    expect(logged()).toContain(`another writer keeps changing the Multus config (3 times in 60 s, last renamed to 00-multus.conf.cilium_bak): ${CILIUM.agent}; ${CILIUM.fix} file=${confPath()}`);
  });

  it('renamed to a name nobody is known for: the name, no guess', async () => {
    const r = await settled();
    await fsp.rename(confPath(), join(h.confDir, 'backup-of-multus'));
    await r.reconcile();
    expect(restores()).toEqual([expect.objectContaining({ how: { what: 'renamed', to: 'backup-of-multus' } })]);
  });

  it('removed: no file in the conf dir holds its content', async () => {
    const r = await settled();
    await fsp.rm(confPath());
    // Another file of the same size but other bytes is not it.
    const good = await r.plan().then((p) => p.desired.files.find((f) => f.what === 'Multus config')!.content);
    await fsp.writeFile(join(h.confDir, '00-multus.conf.bak'), good.replace('multus', 'multuz'));
    await r.reconcile();
    expect(restores()).toEqual([expect.objectContaining({ how: { what: 'removed' } })]);
    expect(logged()).toContain(`restored the Multus config: it was removed by someone else file=${confPath()}`);
  });

  it('overwritten by another Multus installer: named, with the fix', async () => {
    const r = await settled();
    const foreign = JSON.parse(await fsp.readFile(confPath(), 'utf8')) as Record<string, unknown>;
    await fsp.writeFile(confPath(), JSON.stringify({ ...foreign, kubeconfig: '/etc/cni/net.d/multus.d/other.kubeconfig' }));
    await r.reconcile();
    expect(restores()).toEqual([expect.objectContaining({ how: { what: 'overwritten', agent: 'another Multus installer (upstream thin_entrypoint, or a second DaemonSet)', fix: 'run one Multus DaemonSet per node: remove the other one' } })]);
  });
});

describe('a config that sorts before ours', () => {
  it('is named in the log and an event, makes the node not configured and the disk check fail, until it is gone', async () => {
    const r = await settled();
    const first = join(h.confDir, '00-aaa-bridge.conf');
    await fsp.writeFile(first, '{"cniVersion":"0.4.0","name":"aaa","type":"bridge"}');
    await r.reconcile();
    // In the autoconfig dir it is a candidate too, and the first: the master
    // switches to it. Our config wraps it, but the runtime loads it alone.
    expect(events.filter((e) => e.kind !== 'wrote')).toEqual([
      { kind: 'outranked', path: confPath(), by: first },
      { kind: 'master', master: '00-aaa-bridge.conf', previous: '87-podman-bridge.conf' },
      { kind: 'reconciled', result: 'ok', configured: false, master: '00-aaa-bridge.conf' },
    ]);
    expect(logged()).toContain(`a valid CNI config sorts before the Multus config: the container runtime loads it instead of Multus, so pods get no secondary networks; remove it, or rename it to sort after the Multus config file=${first} config=${confPath()}`);
    expect(await r.checkInSync()).toEqual({ ok: false, reason: `${first} sorts before ${confPath()} and is a valid CNI config: the container runtime loads it instead of Multus` });

    // Said once, not at every reconcile.
    events = [];
    await r.reconcile();
    expect(events).toEqual([{ kind: 'reconciled', result: 'ok', configured: false, master: '00-aaa-bridge.conf' }]);

    await fsp.rm(first);
    events = [];
    await r.reconcile();
    expect(events.filter((e) => e.kind !== 'wrote')).toEqual([
      { kind: 'outranked', path: confPath(), by: undefined },
      { kind: 'master', master: '87-podman-bridge.conf', previous: '00-aaa-bridge.conf' },
      { kind: 'reconciled', result: 'ok', configured: true, master: '87-podman-bridge.conf' },
    ]);
    expect(await r.checkInSync()).toEqual({ ok: true });
  });

  it('an invalid file there, or one that sorts after ours, is not reported', async () => {
    const r = await settled();
    await fsp.writeFile(join(h.confDir, '00-aaa.conf'), '{"half": ');
    await fsp.writeFile(join(h.confDir, '01-after.conf'), '{"cniVersion":"0.4.0","name":"x","type":"bridge"}');
    await r.reconcile();
    expect(events.filter((e) => e.kind === 'outranked')).toEqual([]);
    expect(await r.checkInSync()).toEqual({ ok: true });
  });
});
