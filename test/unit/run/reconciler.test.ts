// One reconcile, in this process, on a temporary host root: the files it
// leaves on disk and the lines it logs. The same behaviour the child-process
// tests check, reachable here by the mutation tests (npm run test:mutation),
// which cannot see into a child process.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createLogger } from '../../../src/observe/log.js';
import { parseCommandLine } from '../../../src/cli/command-line.js';
import { Reconciler } from '../../../src/run/reconciler.js';
import type { HostRoot } from '../../helpers/host-root.js';
import { copyMaster, listNames, makeHostRoot, readOrUndefined, FIXTURES, TOKEN, writeServiceAccount } from '../../helpers/host-root.js';

let h: HostRoot;
let lines: string[];
beforeEach(async () => {
  h = await makeHostRoot();
  lines = [];
});
afterEach(async () => { await h.remove(); });

const INVALIDATED = '{Multus configuration intentionally invalidated to prevent pods from being scheduled.}\n';
const confPath = (): string => join(h.confDir, '00-multus.conf');
const conflistPath = (): string => join(h.confDir, '00-multus.conflist');

function reconciler(flags: string[] = [], env: NodeJS.ProcessEnv = h.env): Reconciler {
  const parsed = parseCommandLine([...h.args, ...flags], env);
  if (parsed.kind !== 'run') throw new Error('expected options');
  return new Reconciler(parsed.options, parsed.env, createLogger('text', (l) => { lines.push(l); }));
}
const logged = (): string => lines.join('');
const count = (re: RegExp): number => lines.filter((l) => re.test(l)).length;
const delegateOf = async (path: string): Promise<unknown> => (JSON.parse((await readOrUndefined(path))!) as { delegates: unknown[] }).delegates[0];
const stamp = async (path: string): Promise<[number, number]> => {
  const s = await fsp.stat(path);
  return [s.ino, s.mtimeMs];
};

describe('a reconcile', () => {
  it('writes the kubeconfig and the Multus config, creates the dirs, and says so naming each file and the master', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const { desired } = await reconciler().reconcile();
    expect(desired.errors).toEqual([]);
    expect(await delegateOf(confPath())).toEqual(JSON.parse(await fsp.readFile(join(FIXTURES, 'masters/10-flannel.conflist'), 'utf8')));
    expect(parse((await readOrUndefined(h.kubeconfig))!).users[0].user.token).toBe(TOKEN);
    expect((await fsp.stat(confPath())).mode & 0o777).toBe(0o600);
    expect((await fsp.stat(h.kubeconfig)).mode & 0o777).toBe(0o600);
    expect((await fsp.stat(h.multusCniConfDir)).isDirectory()).toBe(true);
    expect(logged()).toContain(`wrote the kubeconfig file=${h.kubeconfig}`);
    expect(logged()).toContain(`wrote the Multus config file=${confPath()} master=10-flannel.conflist\n`);
    expect(logged()).not.toContain(TOKEN);
  });

  it('writes a token its own YAML writer leaves to the yaml library, and a usual one again after it', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const r = reconciler();
    // Quoted and ending in ':', so yaml quotes it; no whitespace, which the reader refuses.
    const odd = `"${TOKEN}"#:`;
    await writeServiceAccount(h.saDir, odd, 'CA-1');
    expect((await r.reconcile()).desired.errors).toEqual([]);
    expect(parse((await readOrUndefined(h.kubeconfig))!).users[0].user.token).toBe(odd);
    await writeServiceAccount(h.saDir, TOKEN, 'CA-1');
    expect((await r.reconcile()).desired.errors).toEqual([]);
    expect(parse((await readOrUndefined(h.kubeconfig))!).users[0].user.token).toBe(TOKEN);
  });

  it('rewrites nothing and logs nothing once settled', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const r = reconciler();
    await r.reconcile();
    // The second look sees its own output, a skipped candidate (logged once).
    await r.reconcile();
    expect(count(/skipped a candidate master config .*00-multus.conf reason="it is the Multus config this program writes"/)).toBe(1);
    const before = await Promise.all([stamp(confPath()), stamp(h.kubeconfig)]);
    lines = [];
    await new Promise((res) => setTimeout(res, 20));
    await r.reconcile();
    expect(await Promise.all([stamp(confPath()), stamp(h.kubeconfig)])).toEqual(before);
    expect(lines).toEqual([]);
  });

  it('updates the config when the master changes, and says it updated it', async () => {
    const master = await copyMaster(h, 'masters/87-podman-bridge.conf');
    const r = reconciler();
    await r.reconcile();
    const changed = { ...JSON.parse(await fsp.readFile(master, 'utf8')), bridge: 'cni-podman9' };
    await fsp.writeFile(master, JSON.stringify(changed));
    await r.reconcile();
    expect(await delegateOf(confPath())).toEqual(changed);
    expect(count(/updated the Multus config .*master=87-podman-bridge.conf/)).toBe(1);
    expect(count(/restored/)).toBe(0);
  });

  it.each([
    ['removed', (p: string) => fsp.rm(p)],
    ['overwritten', (p: string) => fsp.writeFile(p, '{"cniVersion":"0.3.1","name":"x","type":"bridge"}')],
  ] as const)('restores a config %s by someone else, and says so', async (how, act) => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const r = reconciler();
    await r.reconcile();
    const good = await readOrUndefined(confPath());
    await act(confPath());
    await r.reconcile();
    expect(await readOrUndefined(confPath())).toBe(good);
    expect(logged()).toContain(`restored the Multus config: it was ${how} by someone else file=${confPath()}`);
    expect(count(/another writer keeps changing/)).toBe(0);
  });

  it('restores a kubeconfig whose mode was opened up', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const r = reconciler();
    await r.reconcile();
    await fsp.chmod(h.kubeconfig, 0o644);
    await r.reconcile();
    expect((await fsp.stat(h.kubeconfig)).mode & 0o777).toBe(0o600);
  });

  it('sets the mode of a config it finds with the right content at 0644 in place, and says so', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    await reconciler().reconcile();
    await fsp.chmod(confPath(), 0o644);
    const before = await stamp(confPath());
    lines = [];
    // A new process (a restart of an earlier release's pod): the file is not yet known as its own.
    const { desired } = await reconciler().reconcile();
    expect(desired.errors).toEqual([]);
    expect((await fsp.stat(confPath())).mode & 0o7777).toBe(0o600);
    expect(await stamp(confPath())).toEqual(before);
    // Beside the skip of its own output (a new process logs that once): only this line.
    expect(lines.filter((l) => !l.includes('skipped a candidate master config'))).toEqual([expect.stringContaining(`INFO  set the mode of the Multus config (its content was already right, so it was not rewritten) file=${confPath()} mode=0600 was=0644\n`)]);
  });

  it('restores the mode of a config it wrote, in place, as a restore after someone else', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const r = reconciler();
    await r.reconcile();
    const before = await stamp(confPath());
    await fsp.chmod(confPath(), 0o640);
    await r.reconcile();
    expect((await fsp.stat(confPath())).mode & 0o7777).toBe(0o600);
    expect((await stamp(confPath()))[0]).toBe(before[0]);
    expect(logged()).toContain(`restored the Multus config: it was given another file mode by someone else file=${confPath()} mode=0600 was=0640`);
  });

  it('rewrites, rather than changes the mode of, a symbolic link holding the right content', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    await reconciler().reconcile();
    const elsewhere = join(h.root, 'elsewhere.conf');
    await fsp.rename(confPath(), elsewhere);
    await fsp.chmod(elsewhere, 0o644);
    await fsp.symlink(elsewhere, confPath());
    await reconciler().reconcile();
    const now = await fsp.lstat(confPath());
    expect({ link: now.isSymbolicLink(), mode: now.mode & 0o7777 }).toEqual({ link: false, mode: 0o600 });
    expect((await fsp.stat(elsewhere)).mode & 0o7777).toBe(0o644);
  });

  it('calls it a fight with another writer at the third restore', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const r = reconciler();
    await r.reconcile();
    for (let i = 1; i <= 3; i++) {
      await fsp.rm(confPath());
      await r.reconcile();
      expect(count(/another writer keeps changing the Multus config/)).toBe(i < 3 ? 0 : 1);
    }
    expect(logged()).toContain(`another writer keeps changing the Multus config (3 times in 60 s, last removed): find and stop it file=${confPath()}`);
  });

  it('removes the stale twin once the new config is written, and logs it', async () => {
    await fsp.writeFile(confPath(), '{"cniVersion":"0.3.1","name":"old","type":"multus"}');
    await copyMaster(h, 'masters/05-cilium.conflist');
    await reconciler().reconcile();
    expect(await listNames(h.confDir)).toEqual(['00-multus.conflist', '05-cilium.conflist', 'multus.d']);
    expect(logged()).toContain(`removed the stale twin of the Multus config file=${confPath()}`);
  });

  it('keeps the twin, and the master name, when the new config cannot be written', async () => {
    await fsp.writeFile(confPath(), '{"cniVersion":"0.3.1","name":"old","type":"multus"}');
    await fsp.mkdir(conflistPath());
    await copyMaster(h, 'masters/05-cilium.conflist');
    const { desired } = await reconciler(['--rename-conf-file']).reconcile();
    expect(desired.errors).toEqual([expect.stringContaining(`${conflistPath()}: cannot write the Multus config: `)]);
    expect(await readOrUndefined(confPath())).toBeDefined();
    expect(await listNames(h.confDir)).toContain('05-cilium.conflist');
    expect(logged()).not.toMatch(/removed the stale twin|renamed the master/);
  });

  it('with --rename-conf-file, renames the master once the config is written and keeps it as the master', async () => {
    const master = await copyMaster(h, 'masters/10-flannel.conflist');
    const r = reconciler(['--rename-conf-file']);
    const { desired } = await r.reconcile();
    expect(desired.master).toBe('10-flannel.conflist');
    expect(await listNames(h.confDir)).toEqual(['00-multus.conf', '10-flannel.conflist.old', 'multus.d']);
    expect(logged()).toContain(`renamed the master config (--rename-conf-file); it stays the master from=${master} to=${master}.old`);
    expect(r.ownedFiles()).toEqual({ written: [h.kubeconfig, confPath()], renamed: new Map([[`${master}.old`, master]]) });
    await r.reconcile();
    lines = [];
    await r.reconcile();
    expect(lines).toEqual([]);
    expect(await listNames(h.confDir)).toEqual(['00-multus.conf', '10-flannel.conflist.old', 'multus.d']);
  });

  it('logs a skipped candidate once per file and reason, however often it reconciles', async () => {
    await copyMaster(h, 'invalid/01-truncated.conflist');
    await copyMaster(h, 'masters/10-flannel.conflist');
    const r = reconciler();
    for (let i = 0; i < 3; i++) await r.reconcile();
    const skip = /skipped a candidate master config .*01-truncated.conflist reason="not valid JSON/;
    expect(count(skip)).toBe(1);
    // A new reason for the same file is news.
    await fsp.writeFile(join(h.confDir, '01-truncated.conflist'), '{"cniVersion":"0.3.1","plugins":[]}');
    for (let i = 0; i < 3; i++) await r.reconcile();
    expect(count(skip)).toBe(1);
    expect(count(/skipped a candidate master config .*01-truncated.conflist reason="\\"plugins\\" is not a non-empty list"/)).toBe(1);
  });

  it('keeps the last config when the master is gone, or invalidates it with --cleanup-config-on-exit', async () => {
    for (const [flags, expected] of [[[], 'kept'], [['--cleanup-config-on-exit'], 'invalidated']] as const) {
      const master = await copyMaster(h, 'masters/10-flannel.conflist');
      const r = reconciler([...flags]);
      await r.reconcile();
      const good = await readOrUndefined(confPath());
      await fsp.rm(master);
      const { desired } = await r.reconcile();
      expect(desired.waiting).toMatch(/a valid .conf, .conflist or .json master config in/);
      expect(await readOrUndefined(confPath())).toBe(expected === 'kept' ? good : INVALIDATED);
      await copyMaster(h, 'masters/10-flannel.conflist');
      await r.reconcile();
      expect(await readOrUndefined(confPath())).toBe(good);
      await fsp.rm(confPath());
    }
    // Put back after an invalidation is a new write, not a fight.
    expect(count(/restored/)).toBe(0);
  });

  it('names the Multus config in place for --repair-pods: none before one is written, none while invalidated', async () => {
    const r = reconciler(['--cleanup-config-on-exit']);
    // Only the kubeconfig written: it is not the config.
    await r.reconcile();
    expect(await readOrUndefined(h.kubeconfig)).toBeDefined();
    expect(r.multusConfigPath()).toBeUndefined();
    const master = await copyMaster(h, 'masters/10-flannel.conflist');
    await r.reconcile();
    expect(r.multusConfigPath()).toBe(confPath());
    await fsp.rm(master);
    await r.reconcile();
    expect(await readOrUndefined(confPath())).toBe(INVALIDATED);
    expect(r.multusConfigPath()).toBeUndefined();
  });

  it('writes nothing while the pinned master is invalid, and says it is fatal', async () => {
    await copyMaster(h, 'invalid/03-numeric-version.conf');
    const { desired } = await reconciler(['--multus-master-cni-file-name=03-numeric-version.conf']).reconcile();
    expect(desired.fatal).toBe(`${join(h.confDir, '03-numeric-version.conf')} (--multus-master-cni-file-name): "cniVersion" is not a string`);
    expect(await listNames(h.confDir)).toEqual(['03-numeric-version.conf']);
  });

  it('names the directory it cannot create', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const blocker = join(h.root, 'not-a-dir');
    await fsp.writeFile(blocker, '');
    const { desired } = await reconciler([`--multus-cni-conf-dir=${blocker}/net.d`]).reconcile();
    expect(desired.errors).toEqual([expect.stringMatching(new RegExp(`^${blocker}/net.d: cannot create the directory: `))]);
  });
});

describe('faults while writing', () => {
  it('says it cannot remove a stale twin, naming it, and keeps going', async () => {
    await fsp.mkdir(join(confPath(), 'in-the-way'), { recursive: true });
    await copyMaster(h, 'masters/05-cilium.conflist');
    const { desired } = await reconciler().reconcile();
    expect(desired.errors).toEqual([expect.stringContaining(`${confPath()}: cannot remove the stale twin of the Multus config: `)]);
    expect(await readOrUndefined(conflistPath())).toContain('"type": "multus"');
  });

  it('logs that it cannot rename the master, naming it, and the config stays written', async () => {
    const master = await copyMaster(h, 'masters/10-flannel.conflist');
    await fsp.mkdir(join(`${master}.old`, 'in-the-way'), { recursive: true });
    const r = reconciler(['--rename-conf-file']);
    const { desired } = await r.reconcile();
    expect(desired.errors).toEqual([]);
    expect(logged()).toMatch(new RegExp(`ERROR cannot rename the master config file=${master} error=`));
    expect(r.ownedFiles().renamed.size).toBe(0);
    expect(await readOrUndefined(confPath())).toContain('"type": "multus"');
  });

  it('reports an unreadable token as an error naming the file, never the token', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    await fsp.rm(join(h.saDir, 'token'));
    const { desired } = await reconciler().reconcile();
    expect(desired.errors).toContain(`${join(h.saDir, 'token')}: cannot read the service-account token: no such file or directory`);
    expect(await readOrUndefined(h.kubeconfig)).toBeUndefined();
  });

  it('masks the token in every line it logs', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const r = reconciler();
    await r.reconcile();
    // A file named after the token is absurd, but a log line must still not show it.
    await fsp.writeFile(join(h.confDir, `05-${TOKEN}.conf`), 'not json');
    await r.reconcile();
    // Booleans: a failure message must not print the token either.
    expect(logged().includes('05-[redacted].conf')).toBe(true);
    expect(logged().includes(TOKEN)).toBe(false);
  });
});

describe('a non-auto --multus-conf-file', () => {
  it('is copied into the conf dir under its own name, and copied again when it changes', async () => {
    const source = join(h.root, 'image/70-multus.conf');
    await fsp.writeFile(source, '{"cniVersion":"0.3.1","name":"multus-cni-network","type":"multus","delegates":[{"type":"bridge"}]}\n');
    const r = reconciler([`--multus-conf-file=${source}`]);
    const { desired } = await r.reconcile();
    expect(desired.errors).toEqual([]);
    expect(await readOrUndefined(join(h.confDir, '70-multus.conf'))).toBe(await fsp.readFile(source, 'utf8'));
    await fsp.writeFile(source, '{"cniVersion":"0.4.0","name":"multus-cni-network","type":"multus","delegates":[{"type":"bridge"}]}\n');
    await r.reconcile();
    expect(await readOrUndefined(join(h.confDir, '70-multus.conf'))).toContain('0.4.0');
    await fsp.rm(source);
    expect((await r.reconcile()).desired.errors).toEqual([`${source} (--multus-conf-file): no such file or directory`]);
    expect(await readOrUndefined(join(h.confDir, '70-multus.conf'))).toContain('0.4.0');
  });
});

describe('checkInSync (what /readyz answers)', () => {
  it('is ok only while every file on disk is what it would write now', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const r = reconciler();
    await r.reconcile();
    expect(await r.checkInSync()).toEqual({ ok: true });
    const good = (await readOrUndefined(confPath()))!;
    await fsp.writeFile(confPath(), '{}');
    expect(await r.checkInSync()).toEqual({ ok: false, reason: `${confPath()} differs from the desired Multus config` });
    await fsp.writeFile(confPath(), good);
    await fsp.writeFile(h.kubeconfig, 'stale');
    expect(await r.checkInSync()).toEqual({ ok: false, reason: `${h.kubeconfig} differs from the desired kubeconfig` });
  });

  it('is not ok while a file has the right content at another mode', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const r = reconciler();
    await r.reconcile();
    await fsp.chmod(confPath(), 0o644);
    expect(await r.checkInSync()).toEqual({ ok: false, reason: `${confPath()} has mode 0644, not the Multus config's 0600` });
    await r.reconcile();
    expect(await r.checkInSync()).toEqual({ ok: true });
  });

  it('is not ok while a stale twin exists', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const r = reconciler();
    await r.reconcile();
    await fsp.writeFile(conflistPath(), '{"cniVersion":"1.0.0","name":"old","plugins":[{"type":"multus"}]}');
    expect(await r.checkInSync()).toEqual({ ok: false, reason: `${conflistPath()} should not exist` });
  });

  it('is not ok while it waits for a master, or cannot render', async () => {
    const r = reconciler();
    expect(await r.checkInSync()).toEqual({ ok: false, reason: `waiting for a valid .conf, .conflist or .json master config in ${h.confDir}` });
    await copyMaster(h, 'masters/10-flannel.conflist');
    const mismatch = reconciler(['--cni-version=1.0.0']);
    expect(await mismatch.checkInSync()).toEqual({ ok: false, reason: `${join(h.confDir, '10-flannel.conflist')}: cniVersion "0.3.1" differs from --cni-version "1.0.0" (set --force-cni-version to overwrite it)` });
  });

  it('writes nothing itself', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    await reconciler().checkInSync();
    expect(await listNames(h.confDir)).toEqual(['10-flannel.conflist']);
  });
});

describe('a reconcile that waits for the node', () => {
  it('--readiness-indicator-file: no Multus config until that file exists, then one that names it', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const indicator = join(h.root, 'run/flannel/subnet.env');
    const r = reconciler([`--readiness-indicator-file=${indicator}`]);
    const waiting = (await r.reconcile()).desired;
    expect(waiting).toMatchObject({ waitingFor: 'readiness', waiting: expect.stringContaining(indicator) });
    expect(await readOrUndefined(confPath())).toBeUndefined();
    await fsp.mkdir(join(h.root, 'run/flannel'), { recursive: true });
    await fsp.writeFile(indicator, 'FLANNEL_NETWORK=10.244.0.0/16\n');
    expect((await r.reconcile()).desired.waiting).toBeUndefined();
    expect(JSON.parse((await readOrUndefined(confPath()))!)).toMatchObject({ readinessindicatorfile: indicator });
  });

  describe('thick mode', () => {
    const socketDir = (): string => join(h.root, 'run/multus');
    let daemon: Server | undefined;
    afterEach(async () => {
      await new Promise((r) => (daemon ? daemon.close(r) : r(undefined)));
      daemon = undefined;
    });
    /** A multus-daemon that answers POST /healthz on <dir>/multus.sock. */
    async function startDaemon(): Promise<void> {
      await fsp.mkdir(socketDir(), { recursive: true });
      const server = createServer((req, res) => { res.writeHead(req.method === 'POST' && req.url === '/healthz' ? 200 : 404); res.end(); });
      daemon = server;
      await new Promise<void>((r) => server.listen(join(socketDir(), 'multus.sock'), r));
    }
    const thick = (flags: string[] = []): Reconciler => reconciler(['--mode=thick', `--daemon-socket-dir=${socketDir()}`, ...flags]);

    it('writes no config until multus-daemon answers on its socket, then the shim\'s, and no kubeconfig or its dir', async () => {
      await copyMaster(h, 'masters/10-flannel.conflist');
      const r = thick();
      expect((await r.reconcile()).desired).toMatchObject({ waitingFor: 'daemon', waiting: expect.stringContaining(join(socketDir(), 'multus.sock')) });
      expect(await readOrUndefined(confPath())).toBeUndefined();
      await startDaemon();
      expect((await r.reconcile()).desired.waiting).toBeUndefined();
      expect(JSON.parse((await readOrUndefined(confPath()))!)).toMatchObject({ type: 'multus-shim' });
      expect(await listNames(h.confDir)).toEqual(['00-multus.conf', '10-flannel.conflist']);
    });

    it('--dry-run plans the config a run would write once the daemon answers, though none answers now', async () => {
      await copyMaster(h, 'masters/10-flannel.conflist');
      const { desired } = await thick(['--dry-run']).plan();
      expect(desired.waiting).toBeUndefined();
      expect(desired.files.map((f) => f.path)).toEqual([confPath()]);
    });
  });
});
