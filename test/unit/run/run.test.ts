// The whole run in this process, against a temporary host root and the
// fake API server on 127.0.0.1 (test/cli runs the same as the built
// program): --once and --dry-run, a start that cannot finish, and the watch
// loop from the first config to the stop, with Events, the startup taint,
// the node-bound token and health all on. The stop is the handler run()
// installs for SIGTERM, called directly: no signal is sent to this process.
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { JobError } from '../../../src/base/errors.js';
import { parseCommandLine } from '../../../src/cli/command-line.js';
import { createLogger } from '../../../src/observe/log.js';
import { run } from '../../../src/run/run.js';
import { kubeletPod, podStore } from '../../helpers/api-pods.js';
import { NODE, POD, serviceAccountJwt, useFakeApi } from '../../helpers/api-server.js';
import { freePort } from '../../helpers/daemon.js';
import { copyMaster, eventually, type HostRoot, listNames, makeHostRoot, readOrUndefined, TOKEN, writeServiceAccount } from '../../helpers/host-root.js';
import { httpGet } from '../../helpers/http.js';

const KEY = 'k8s.cni.cncf.io/multus-not-ready';
const MOUNTED = serviceAccountJwt({ pod: POD, node: NODE, tag: 'mounted' });

let h: HostRoot;
let lines: string[];
const handlersBefore = { SIGTERM: process.listeners('SIGTERM'), SIGINT: process.listeners('SIGINT') };
beforeEach(async () => {
  h = await makeHostRoot();
  lines = [];
});
afterEach(async () => {
  // run() never removes its signal handlers (the process exits after it).
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    for (const l of process.listeners(signal)) if (!handlersBefore[signal].includes(l)) process.off(signal, l);
  }
  await h.remove();
  expect(lines.join('')).not.toContain('never-log-me');
});
const fake = useFakeApi();

const log = createLogger('text', (l) => { lines.push(l); });
const confPath = (): string => join(h.confDir, '00-multus.conf');
const said = (text: string): number => lines.filter((l) => l.includes(text)).length;

/**
 * Runs the program in this process. The master is in place before each
 * run that expects one, so --master-cni-wait-timeout never fires then (it
 * bounds only a wait): it is 1 s, so that a mutant which loses the master
 * fails the test at once instead of waiting out jest's timeout.
 */
function runWith(flags: string[], env: NodeJS.ProcessEnv = h.env): Promise<void> {
  const parsed = parseCommandLine([...h.args, '--master-cni-wait-timeout=1', ...flags], env);
  if (parsed.kind !== 'run') throw new Error('expected options');
  return run(parsed.options, parsed.env, log);
}

/** The SIGTERM handler the run installed (once it has). */
async function stopHandler(): Promise<(signal: NodeJS.Signals) => void> {
  const added = await eventually(async () => process.listeners('SIGTERM').filter((l) => !handlersBefore.SIGTERM.includes(l)), (l) => l.length === 1, 10_000, 'run\'s SIGTERM handler');
  return added[0] as (signal: NodeJS.Signals) => void;
}

const status = async (port: number, path: string): Promise<number> => (await httpGet(port, path)).status;

describe('run, once', () => {
  it('--once: installs the binary, writes the kubeconfig and the config, and returns', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    await runWith(['--once']);
    expect(await listNames(h.binDir)).toEqual(['multus']);
    expect(JSON.parse((await readOrUndefined(confPath()))!)).toMatchObject({ type: 'multus', delegates: [{ name: 'cbr0' }] });
    expect(parse((await readOrUndefined(h.kubeconfig))!).users[0].user.token === TOKEN).toBe(true);
    expect(said('the node is configured master=10-flannel.conflist')).toBe(1);
    expect(said('watching for changes')).toBe(0);
  });

  it('removes the temporary files a killed run left, saying so', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const stale = join(h.binDir, '.multus-entrypoint-tmp.multus.k1ll3d00');
    await fsp.writeFile(stale, 'half a binary');
    await runWith(['--once']);
    expect(await listNames(h.binDir)).toEqual(['multus']);
    expect(said(`removed a temporary file left by an earlier run file=${stale}`)).toBe(1);
  });

  it('--dry-run: prints the plan with the token masked, and changes nothing', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const out: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => { out.push(String(chunk)); return true; });
    try {
      await runWith(['--dry-run']);
    } finally {
      write.mockRestore();
    }
    const plan = out.join('');
    expect(plan).toContain(`# would install ${h.srcBinary} as ${join(h.binDir, 'multus')}`);
    expect(plan).toContain(`# would write ${h.kubeconfig} (mode 0600, the kubeconfig)`);
    expect(plan).toContain(`# would write ${confPath()} (mode 0600, the Multus config)`);
    expect(plan).toMatch(/^# the kubeconfig would carry the mounted service-account token/m);
    expect(plan).not.toContain(TOKEN);
    expect(await listNames(h.confDir)).toEqual(['10-flannel.conflist']);
    expect(await listNames(h.binDir)).toEqual([]);
  });

  it('--dry-run in thick mode: the plan says there is no kubeconfig, and plans the shim\'s config; nothing is asked or written', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    await fake.serve();
    const out: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => { out.push(String(chunk)); return true; });
    try {
      await runWith(['--dry-run', '--mode=thick', `--multus-shim-bin-file=${h.srcBinary}`, `--daemon-socket-dir=${join(h.root, 'run/multus')}`], fake.env(h.env, NODE));
    } finally {
      write.mockRestore();
    }
    const plan = out.join('');
    expect(plan).toMatch(/^# thick mode: no kubeconfig \(multus-daemon uses its own in-cluster client\)$/m);
    expect(plan).toContain(`# would write ${confPath()} (mode 0600, the Multus config)`);
    expect(plan).toMatch(/"type": ?"multus-shim"/);
    expect(plan).not.toContain(h.kubeconfig);
    expect(fake.api.requests).toEqual([]);
    expect(await listNames(h.confDir)).toEqual(['10-flannel.conflist']);
  });

  it('no master in time: a JobError naming the wait, and no Multus config written (the kubeconfig is: it needs no master)', async () => {
    const err = await runWith(['--once']).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(JobError);
    expect((err as Error).message).toMatch(/^no master config after 1 s \(--master-cni-wait-timeout\): waited for a valid \.conf, \.conflist or \.json master config in /);
    expect(await listNames(h.confDir)).toEqual(['multus.d']);
    expect(await listNames(join(h.confDir, 'multus.d'))).toEqual(['multus.kubeconfig']);
  });

  it('a fault at start: a JobError naming the file, and no config written', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    await fsp.rm(join(h.saDir, 'token'));
    const err = await runWith(['--once']).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(JobError);
    expect((err as Error).message).toContain(`${h.saDir}/token: cannot read the service-account token`);
    expect(await readOrUndefined(confPath())).toBeUndefined();
  });

  it('--node-ready-taint without NODE_NAME: a JobError before anything is written', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    await expect(runWith(['--once', `--node-ready-taint=${KEY}`])).rejects.toThrow(/^--node-ready-taint: NODE_NAME is not set/);
    expect(await listNames(h.binDir)).toEqual([]);
  });

  it('--once with the API server: a node-bound token in the first kubeconfig, the taint gone and the events sent before it returns', async () => {
    await writeServiceAccount(h.saDir, MOUNTED, 'CA-1');
    await fake.serve({ token: MOUNTED, nodeTaints: [{ key: KEY, effect: 'NoSchedule' }] });
    await copyMaster(h, 'masters/10-flannel.conflist');
    await runWith(['--once', `--node-ready-taint=${KEY}`], fake.env(h.env, NODE));
    const token = parse((await readOrUndefined(h.kubeconfig))!).users[0].user.token as string;
    expect(fake.api.issued.indexOf(token)).toBe(0);
    expect(fake.api.taints()).toEqual([]);
    expect(fake.api.events.map((e) => e.reason).sort()).toEqual(['ConfigWritten', 'KubeconfigWritten']);
  });
});

describe('run, watching', () => {
  it('keeps the config true until SIGTERM, serves health, and on uninstall removes its files, puts the taint back and says so in an Event', async () => {
    const port = await freePort();
    await fake.serve({ nodeTaints: [{ key: KEY, effect: 'NoSchedule' }] });
    await copyMaster(h, 'masters/87-podman-bridge.conf');
    const running = runWith(['--cleanup-config-on-exit', `--node-ready-taint=${KEY}`, `--health-port=${port}`, '--kubeconfig-token-expiration=0', '--resync-interval=3600'], fake.env(h.env, NODE));
    const stop = await stopHandler();
    await eventually(async () => said('watching for changes'), (n) => n === 1, 20_000, 'the watch loop');
    expect(await status(port, '/readyz')).toBe(200);
    await eventually(async () => fake.api.taints().length, (n) => n === 0, 20_000, 'the taint removed');

    // A master that outranks the first: the config follows it.
    await copyMaster(h, 'masters/10-flannel.conflist');
    await eventually(() => readOrUndefined(confPath()), (t) => t?.includes('"cbr0"') === true, 20_000, 'the config following the new master');
    // Deleted by someone else: restored.
    await fsp.rm(confPath());
    await eventually(() => readOrUndefined(confPath()), (t) => t !== undefined, 20_000, 'the config restored');
    // Logged once the restore is classified, just after the file is back.
    await eventually(async () => said('restored the Multus config: it was removed by someone else'), (n) => n === 1, 20_000, 'the restore logged');

    fake.api.set({ daemonSet: 'absent' });
    stop('SIGTERM');
    await running;
    expect(said('received SIGTERM, stopping')).toBe(1);
    expect(await listNames(h.confDir)).toEqual(['10-flannel.conflist', '87-podman-bridge.conf', 'multus.d']);
    expect(await readOrUndefined(h.kubeconfig)).toBeUndefined();
    expect(fake.api.taints()).toEqual([{ key: KEY, effect: 'NoSchedule' }]);
    expect(fake.api.events.map((e) => e.reason)).toEqual(expect.arrayContaining(['ConfigWritten', 'MasterSwitched', 'ConfigRestored', 'UninstallCleanup']));
    // Health is no longer served.
    await expect(status(port, '/healthz')).rejects.toThrow(/ECONNREFUSED/);
  }, 60_000);

  it('a stop while it waits for a master ends the run, with no Multus config written', async () => {
    const running = runWith(['--resync-interval=3600', '--master-cni-wait-timeout=600']);
    const stop = await stopHandler();
    await eventually(async () => said('waiting for a valid'), (n) => n === 1, 20_000, 'the wait for a master');
    stop('SIGTERM');
    await running;
    expect(await listNames(h.confDir)).toEqual(['multus.d']);
  });
});

describe('run, installed but not watching (--skip-config-watch)', () => {
  it('writes the config, waits only for a signal, and a second signal while stopping is said, not acted on', async () => {
    await copyMaster(h, 'masters/87-podman-bridge.conf');
    const running = runWith(['--skip-config-watch', '--resync-interval=3600']);
    const stop = await stopHandler();
    await eventually(async () => said('installed; not watching (--skip-config-watch), waiting for a signal'), (n) => n === 1, 20_000, 'the wait for a signal');
    expect(await readOrUndefined(confPath())).toContain('"podman"');
    stop('SIGTERM');
    stop('SIGINT');
    await running;
    expect(said('received SIGTERM, stopping')).toBe(1);
    expect(said('received SIGINT again; still finishing')).toBe(1);
    expect(said('watching for changes')).toBe(0);
    // Without --cleanup-config-on-exit the node keeps its config.
    expect(await readOrUndefined(confPath())).toContain('"podman"');
  });
});

describe('run, watching, with --repair-pods', () => {
  it('evicts a pod of this node that started before the config, with its Event', async () => {
    const pods = podStore();
    // Its sandbox was ready a minute before this run writes the config.
    pods.add(kubeletPod({ name: 'early', networks: 'macvlan-net1', sandboxReadyAt: Date.now() - 60_000 }));
    await fake.serve({ pods });
    await copyMaster(h, 'masters/87-podman-bridge.conf');
    const running = runWith(['--repair-pods', '--resync-interval=3600', '--kubeconfig-token-expiration=0'], fake.env(h.env, NODE));
    const stop = await stopHandler();
    try {
      await eventually(async () => pods.evicted, (e) => e.length === 1, 8_000, 'the early pod evicted');
      expect(pods.evicted).toEqual(['apps/early']);
      await eventually(async () => fake.api.events.filter((e) => e.regarding?.name === 'early').map((e) => e.reason), (r) => r.length === 1, 8_000, 'the pod\'s Event');
    } finally {
      stop('SIGTERM');
      await running;
    }
    expect(said('--repair-pods: evicted a pod that started before the Multus config was in place pod=apps/early')).toBe(1);
  });
});

describe('run, installed but not watching, with a node-bound token', () => {
  it('a renewed token still reaches the kubeconfig', async () => {
    await writeServiceAccount(h.saDir, MOUNTED, 'CA-1');
    // Tokens of 2 s: renewed at 80%, well within the test.
    await fake.serve({ token: MOUNTED, maxTokenSeconds: 2 });
    await copyMaster(h, 'masters/87-podman-bridge.conf');
    const running = runWith(['--skip-config-watch', '--resync-interval=3600', '--kubeconfig-token-expiration=3600'], fake.env(h.env, NODE));
    const stop = await stopHandler();
    const carried = async (): Promise<number> => {
      const text = await readOrUndefined(h.kubeconfig);
      return text === undefined ? -1 : fake.api.issued.indexOf(parse(text).users[0].user.token as string);
    };
    try {
      await eventually(carried, (i) => i === 0, 8_000, 'the first node-bound token written');
      await eventually(carried, (i) => i >= 1, 8_000, 'a renewed token written');
      expect(said('watching for changes')).toBe(0);
    } finally {
      // Stopped even when an expectation fails: the run would keep jest alive.
      stop('SIGTERM');
      await running;
    }
  }, 20_000);
});

describe('run, watching while the master comes and goes', () => {
  it('a master gone keeps the last config and says so once; back, the node is configured again', async () => {
    const master = await copyMaster(h, 'masters/87-podman-bridge.conf');
    const running = runWith(['--resync-interval=3600']);
    const stop = await stopHandler();
    await eventually(async () => said('watching for changes'), (n) => n === 1, 20_000, 'the watch loop');
    const saved = await fsp.readFile(master);

    await fsp.rm(master);
    await eventually(async () => said('no master config: keeping the last Multus config; waiting for'), (n) => n === 1, 20_000, 'the wait said');
    expect(await readOrUndefined(confPath())).toContain('"podman"');

    await fsp.writeFile(master, saved);
    await eventually(async () => said('the node is configured again'), (n) => n === 1, 20_000, 'the node configured again');
    expect(said('no master config: keeping the last Multus config')).toBe(1);
    expect(await readOrUndefined(confPath())).toContain('"podman"');

    stop('SIGTERM');
    await running;
  });

  it('a master it cannot render while running keeps the last config, said once as an error naming the file and the flag; fixed, configured again', async () => {
    const master = await copyMaster(h, 'masters/87-podman-bridge.conf');
    const running = runWith(['--resync-interval=3600', '--cni-version=0.4.0']);
    const stop = await stopHandler();
    try {
      await eventually(async () => said('watching for changes'), (n) => n === 1, 8_000, 'the watch loop');
      const good = await fsp.readFile(master, 'utf8');
      const written = await readOrUndefined(confPath());
      await fsp.writeFile(master, good.replace('"0.4.0"', '"1.0.0"'));
      await eventually(async () => said('cannot reconcile; keeping the last good files'), (n) => n === 1, 8_000, 'the error said');
      expect(lines.find((l) => l.includes('cannot reconcile'))).toMatch(new RegExp(`ERROR cannot reconcile; keeping the last good files error="${master}: cniVersion \\\\"1\\.0\\.0\\\\" differs from --cni-version \\\\"0\\.4\\.0\\\\" \\(set --force-cni-version to overwrite it\\)"`));
      expect(await readOrUndefined(confPath())).toBe(written);
      await fsp.writeFile(master, good);
      await eventually(async () => said('the node is configured again'), (n) => n === 1, 8_000, 'the node configured again');
      expect(said('cannot reconcile; keeping the last good files')).toBe(1);
    } finally {
      stop('SIGTERM');
      await running;
    }
  });
});
