// Someone else removes, renames or overwrites the files this program keeps:
// the running command writes them back, says what happened, and says when
// it keeps happening.
import { describe, expect, it } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { countMatches, startDaemon, stopDaemon, witnessSeen } from '../helpers/daemon.js';
import { eventually, readOrUndefined, useHostRoot } from '../helpers/host-root.js';

const h = useHostRoot({ master: 'masters/10-flannel.conflist' });

const confPath = (): string => join(h.confDir, '00-multus.conf');

describe('files changed by someone else', () => {
  it.each([
    ['Multus config', 'removed', (p: string) => fsp.rm(p)],
    ['Multus config', 'overwritten', (p: string) => fsp.writeFile(p, '{"cniVersion":"0.3.1","name":"x","type":"bridge"}')],
    ['kubeconfig', 'removed', (p: string) => fsp.rm(p)],
    ['kubeconfig', 'overwritten', (p: string) => fsp.writeFile(p, 'apiVersion: v1\nkind: Config\n')],
  ] as const)('restores the %s when it is %s', async (what, how, act) => {
    const run = await startDaemon(h);
    const path = what === 'kubeconfig' ? h.kubeconfig : confPath();
    const good = await readOrUndefined(path);
    await act(path);
    await eventually(() => readOrUndefined(path), (t) => t === good, 10_000, `the ${what} restored`);
    if (what === 'kubeconfig') expect((await fsp.stat(path)).mode & 0o777).toBe(0o600);
    await run.waitForLog(new RegExp(`restored the ${what}: it was ${how} by someone else`));
    const r = await stopDaemon(run);
    expect(r.stderr).not.toMatch(/another writer/);
  });

  it('restores the kubeconfig mode when someone opens it up', async () => {
    const run = await startDaemon(h);
    await fsp.chmod(h.kubeconfig, 0o644);
    await eventually(async () => (await fsp.stat(h.kubeconfig)).mode & 0o777, (m) => m === 0o600, 10_000, 'mode 0600 again');
    await run.waitForLog(/restored the kubeconfig: it was given another file mode by someone else/);
    await stopDaemon(run);
  });

  it('restores the kubeconfig dir when it is removed, and keeps watching the new one', async () => {
    const run = await startDaemon(h);
    const good = await readOrUndefined(h.kubeconfig);
    // The program may write into the dir while rm empties it (ENOTEMPTY), as
    // it would under an admin's rm -rf: rm tries again, as rm -rf's user would.
    await fsp.rm(dirname(h.kubeconfig), { recursive: true, maxRetries: 20, retryDelay: 50 });
    await eventually(() => readOrUndefined(h.kubeconfig), (t) => t === good, 10_000, 'the kubeconfig restored');
    await fsp.writeFile(h.kubeconfig, 'edited again');
    await eventually(() => readOrUndefined(h.kubeconfig), (t) => t === good, 10_000, 'the kubeconfig restored again');
    await stopDaemon(run);
  });

  it('logs that another writer is fighting when the config keeps being changed', async () => {
    const run = await startDaemon(h);
    const good = await readOrUndefined(confPath());
    for (let i = 0; i < 3; i++) {
      await fsp.writeFile(confPath(), `{"cniVersion":"0.3.1","name":"other-${i}","type":"bridge"}`);
      await eventually(() => readOrUndefined(confPath()), (t) => t === good, 10_000, `restore ${i + 1}`);
    }
    await run.waitForLog(/another writer keeps changing the Multus config .*00-multus.conf/);
    const r = await stopDaemon(run);
    expect(countMatches(r.stderr, /restored the Multus config: it was overwritten by someone else/)).toBe(3);
  });

  it('settles after a restore instead of rewriting its own file again and again', async () => {
    const run = await startDaemon(h);
    await fsp.rm(confPath());
    await run.waitForLog(/restored the Multus config/);
    const writes = (): number => countMatches(run.stderr(), /wrote|updated|restored/);
    const before = writes();
    await witnessSeen(run, h);
    expect(writes()).toBe(before);
    await stopDaemon(run);
  });
});

describe('decisions in JSON logs', () => {
  it('logs each write and restore as one JSON object naming the file', async () => {
    const run = await startDaemon(h, ['--log-format=json']);
    await fsp.rm(h.kubeconfig);
    await eventually(() => readOrUndefined(h.kubeconfig), (t) => t !== undefined, 10_000, 'the kubeconfig restored');
    await run.waitForLog(/restored the kubeconfig/);
    const r = await stopDaemon(run);
    const lines = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toContainEqual(expect.objectContaining({ level: 'info', msg: 'wrote the Multus config', file: confPath(), master: '10-flannel.conflist' }));
    expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'restored the kubeconfig: it was removed by someone else', file: h.kubeconfig }));
  });
});
