// When --repair-pods looks at the node's pods, and with which moment: the
// reconciler's reports drive it, in this process on a temporary host root.
// Each time the Multus config comes into place (the first configured
// reconcile, a restore, the return from an invalidated config) the repair is
// asked for, with the config file's mtime; a settled node or a master update
// asks for nothing.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { JobError } from '../../../src/base/errors.js';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { parseCommandLine } from '../../../src/cli/command-line.js';
import { createLogger } from '../../../src/observe/log.js';
import { Reconciler } from '../../../src/run/reconciler.js';
import { RepairTrigger, startRepair } from '../../../src/run/repair-trigger.js';
import type { HostRoot } from '../../helpers/host-root.js';
import { copyMaster, eventually, makeHostRoot, TOKEN } from '../../helpers/host-root.js';
import { kubeletPod, podStore } from '../../helpers/api-pods.js';
import { NODE, useFakeApi } from '../../helpers/api-server.js';

let h: HostRoot;
let asked: number[];
beforeEach(async () => {
  h = await makeHostRoot();
  asked = [];
});
afterEach(async () => { await h.remove(); });
const fake = useFakeApi();

const confPath = (): string => join(h.confDir, '00-multus.conf');
const mtime = async (): Promise<number> => (await fsp.stat(confPath())).mtimeMs;

function reconciler(flags: string[] = []): Reconciler {
  const parsed = parseCommandLine([...h.args, ...flags], h.env);
  if (parsed.kind !== 'run') throw new Error('expected options');
  const log = createLogger('text', () => undefined);
  let r: Reconciler | undefined;
  const trigger = new RepairTrigger({ request: (since) => { asked.push(since); }, close: async () => undefined }, () => r?.multusConfigPath(), log);
  r = new Reconciler(parsed.options, parsed.env, log, trigger);
  return r;
}

/** Reconciles, then waits for the asks it started (the mtime is read asynchronously) to land. */
async function reconcile(r: Reconciler, expectAsks: number): Promise<void> {
  await r.reconcile();
  await eventually(async () => asked.length, (n) => n >= expectAsks, 10_000, `${expectAsks} asks`);
  // Nothing more trickles in.
  await new Promise((resolve) => setImmediate(resolve));
  expect(asked).toHaveLength(expectAsks);
}

describe('--repair-pods is asked to look', () => {
  it('at the first write, with the moment the file was written; not again on a settled node or a master update', async () => {
    const master = await copyMaster(h, 'masters/87-podman-bridge.conf');
    const r = reconciler();
    await reconcile(r, 1);
    expect(asked[0]).toBe(await mtime());
    await reconcile(r, 1);
    await fsp.writeFile(master, JSON.stringify({ ...JSON.parse(await fsp.readFile(master, 'utf8')), bridge: 'cni-podman9' }));
    await reconcile(r, 1);
  });

  it('after a restore: the runtime loaded the master alone while the file was gone', async () => {
    await copyMaster(h, 'masters/87-podman-bridge.conf');
    const r = reconciler();
    await reconcile(r, 1);
    await fsp.rename(confPath(), `${confPath()}.cilium_bak`);
    await reconcile(r, 2);
    expect(asked[1]).toBe(await mtime());
    await fsp.writeFile(confPath(), '{"someone": "else"}');
    await reconcile(r, 3);
  });

  it('on the return from an invalidated config (--cleanup-config-on-exit), not while invalidated', async () => {
    const master = await copyMaster(h, 'masters/87-podman-bridge.conf');
    const r = reconciler(['--cleanup-config-on-exit']);
    await reconcile(r, 1);
    const saved = await fsp.readFile(master);
    await fsp.rm(master);
    await reconcile(r, 1);
    await fsp.writeFile(master, saved);
    await reconcile(r, 2);
    expect(asked[1]).toBe(await mtime());
  });

  it('at start with the config already in place, with its old mtime (pods since then had Multus)', async () => {
    await copyMaster(h, 'masters/87-podman-bridge.conf');
    await reconciler().reconcile();
    const anHourAgo = new Date(Date.now() - 3600_000);
    await fsp.utimes(confPath(), anHourAgo, anHourAgo);
    asked = [];
    await reconcile(reconciler(), 1);
    expect(asked[0]).toBe(anHourAgo.getTime());
  });

  it('not while no master was ever found', async () => {
    await reconciler().reconcile();
    await new Promise((resolve) => setImmediate(resolve));
    expect(asked).toEqual([]);
  });
});

describe('--repair-pods and a config that sorts before ours', () => {
  it('asks nothing while another config is loaded first; asks when it is gone, from that moment', async () => {
    await copyMaster(h, 'masters/87-podman-bridge.conf');
    const first = join(h.confDir, '00-aaa.conf');
    await fsp.writeFile(first, '{"cniVersion":"0.4.0","name":"aaa","type":"bridge"}');
    const r = reconciler();
    await reconcile(r, 0);
    const before = Date.now();
    await fsp.rm(first);
    await reconcile(r, 1);
    expect(asked[0]).toBeGreaterThanOrEqual(before);
  });
});

describe('--repair-pods, when it cannot look', () => {
  it('a config gone again before its mtime is read: said, naming the file, and no look this time', async () => {
    const lines: string[] = [];
    const gone = join(h.confDir, '00-multus.conf');
    const trigger = new RepairTrigger({ request: (since) => { asked.push(since); }, close: async () => undefined }, () => gone, createLogger('text', (l) => { lines.push(l); }));
    trigger.notify({ kind: 'reconciled', result: 'ok', configured: true });
    await eventually(async () => lines.length, (n) => n === 1, 10_000, 'the warning');
    expect(lines[0]).toContain('WARN  --repair-pods: cannot read when the Multus config was written; not looking at the pods this time');
    expect(lines[0]).toContain(`file=${gone}`);
    expect(asked).toEqual([]);
  });

  it('without NODE_NAME it does not start: a JobError naming the flag and the variable', async () => {
    const log = createLogger('text', () => undefined);
    const start = startRepair({ events: true }, { nodeName: '' }, async () => { throw new Error('never asked'); }, { notify: () => undefined }, () => undefined, log);
    await expect(start).rejects.toThrow(JobError);
    await expect(start).rejects.toThrow(/^--repair-pods: NODE_NAME is not set/);
  });
});

describe('startRepair', () => {
  it('with NODE_NAME: a configured reconcile evicts this node\'s pods that started before the config, with their Events', async () => {
    const pods = podStore();
    await fake.serve({ pods });
    // Ready a minute before the config below is written.
    pods.add(kubeletPod({ name: 'early', networks: 'macvlan-net1', sandboxReadyAt: Date.now() - 60_000 }));
    await copyMaster(h, 'masters/87-podman-bridge.conf');
    const log = createLogger('text', () => undefined);
    const access = async (): Promise<ReturnType<typeof fake.access>> => fake.access(TOKEN);
    const trigger = await startRepair({ events: true }, { nodeName: NODE }, access, { notify: () => undefined }, () => confPath(), log);
    const parsed = parseCommandLine(h.args, h.env);
    if (parsed.kind !== 'run') throw new Error('expected options');
    await new Reconciler(parsed.options, parsed.env, log, trigger).reconcile();
    await eventually(async () => pods.evicted, (e) => e.length === 1, 8_000, 'the early pod evicted');
    expect(pods.lists.map((q) => q.get('fieldSelector'))).toEqual([`spec.nodeName=${NODE}`]);
    await eventually(async () => fake.api.events.map((e) => e.reason), (r) => r.includes('EvictedForMissingNetworks'), 8_000, 'the pod\'s Event');
    await trigger.close(1000);
  });
});
