// --health-port: /healthz while the loop is alive, /readyz only while the
// files on disk are what the program would write now. Over real HTTP.
import { beforeEach, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { freePort, registerSecret, runDaemonToEnd, startDaemon, stopDaemon } from '../helpers/daemon.js';
import { copyMaster, eventually, readOrUndefined, writeServiceAccount, useHostRoot } from '../helpers/host-root.js';
import { httpGet, type HttpAnswer } from '../helpers/http.js';

const h = useHostRoot();
let port: number;
beforeEach(async () => {
  port = await freePort();
});

const fetchHealth = async (path: string): Promise<Pick<HttpAnswer, 'status' | 'body'>> => {
  const { status, body } = await httpGet(port, path);
  return { status, body };
};
const status = async (path: string): Promise<number> => (await fetchHealth(path)).status;
const confPath = (): string => join(h.confDir, '00-multus.conf');

describe('--health-port', () => {
  it('answers /healthz and /readyz 200 when in sync, 404 elsewhere', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const run = await startDaemon(h, [`--health-port=${port}`]);
    expect(await fetchHealth('/healthz')).toEqual({ status: 200, body: 'ok\n' });
    expect(await fetchHealth('/readyz')).toEqual({ status: 200, body: 'ok\n' });
    expect(await status('/nope')).toBe(404);
    const r = await stopDaemon(run);
    expect(r.stderr).toMatch(new RegExp(`serving /healthz, /readyz and /metrics port=${port}`));
  });

  it('is not ready while the master is gone, alive all the same, and ready again when it is back', async () => {
    const master = await copyMaster(h, 'masters/10-flannel.conflist');
    const run = await startDaemon(h, [`--health-port=${port}`]);
    await fsp.rm(master);
    const notReady = await eventually(() => fetchHealth('/readyz'), (a) => a.status === 503, 10_000, '/readyz 503');
    expect(notReady.body).toMatch(/waiting for a valid .conf, .conflist or .json master config in/);
    expect(await status('/healthz')).toBe(200);
    await copyMaster(h, 'masters/10-flannel.conflist');
    await eventually(() => status('/readyz'), (s) => s === 200, 10_000, '/readyz 200 again');
    await stopDaemon(run);
  });

  it('is not ready while the only master is invalid', async () => {
    const master = await copyMaster(h, 'masters/10-flannel.conflist');
    const run = await startDaemon(h, [`--health-port=${port}`]);
    await fsp.writeFile(master, '{"cniVersion": "0.3.1", "plugins": []}');
    await eventually(() => status('/readyz'), (s) => s === 503, 10_000, '/readyz 503');
    await copyMaster(h, 'masters/10-flannel.conflist');
    await eventually(() => status('/readyz'), (s) => s === 200, 10_000, '/readyz 200 again');
    await stopDaemon(run);
  });

  it('is not ready while a file on disk differs from what it would write (not watching, so nothing restores it)', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const run = await startDaemon(h, [`--health-port=${port}`, '--skip-config-watch'], h.env, /not watching/);
    expect(await status('/readyz')).toBe(200);
    const good = (await readOrUndefined(confPath()))!;

    await fsp.writeFile(confPath(), '{"cniVersion":"0.3.1","name":"x","type":"bridge"}');
    const differs = await fetchHealth('/readyz');
    expect(differs).toEqual({ status: 503, body: `${confPath()} differs from the desired Multus config\n` });
    expect(await status('/healthz')).toBe(200);
    await fsp.writeFile(confPath(), good);
    expect(await status('/readyz')).toBe(200);

    // A rotated token the kubeconfig does not hold yet: not ready either.
    const rotated = 'eyJhbGciOiJSUzI1NiJ9.health-rotated-never-log-me.sig';
    registerSecret(rotated);
    await writeServiceAccount(h.saDir, rotated, 'CA-1');
    const stale = await fetchHealth('/readyz');
    expect(stale).toEqual({ status: 503, body: `${h.kubeconfig} differs from the desired kubeconfig\n` });
    await stopDaemon(run);
  });

  it('is not ready while a stale twin of the config exists (it would sort first)', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const run = await startDaemon(h, [`--health-port=${port}`, '--skip-config-watch'], h.env, /not watching/);
    expect(await status('/readyz')).toBe(200);
    const twin = join(h.confDir, '00-multus.conflist');
    await fsp.writeFile(twin, '{"cniVersion":"1.0.0","name":"old","plugins":[{"type":"multus"}]}');
    expect(await fetchHealth('/readyz')).toEqual({ status: 503, body: `${twin} should not exist\n` });
    await fsp.rm(twin);
    expect(await status('/readyz')).toBe(200);
    await stopDaemon(run);
  });

  it('turns /healthz 503 when the reconcile loop stalls', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    // --resync-interval=1: a healthy loop turns at least every second, so
    // /healthz gives up on it after 2 s + 30 s of grace.
    const run = await startDaemon(h, [`--health-port=${port}`, '--resync-interval=1']);
    expect(await fetchHealth('/healthz')).toEqual({ status: 200, body: 'ok\n' });
    // A token that is a FIFO with no writer: reading it blocks, as a hung
    // volume would, and the loop stops in the middle of a turn.
    const token = join(h.saDir, 'token');
    await fsp.rm(token);
    execFileSync('mkfifo', [token]);
    const stalled = await eventually(() => fetchHealth('/healthz'), (a) => a.status !== 200, 90_000, '/healthz not 200');
    expect(stalled.status).toBe(503);
    expect(stalled.body).toMatch(/^reconcile loop stalled for \d+ s\n$/);
    run.child.kill('SIGKILL');
    await run.exited;
  }, 120_000);

  it('serves health while it waits for a master, not ready until one comes', async () => {
    const run = await startDaemon(h, [`--health-port=${port}`], h.env, /waiting for a valid/);
    expect(await status('/healthz')).toBe(200);
    expect((await fetchHealth('/readyz')).body).toMatch(/^waiting for a valid/);
    await copyMaster(h, 'masters/87-podman-bridge.conf');
    await eventually(() => status('/readyz'), (s) => s === 200, 10_000, '/readyz 200 once configured');
    await stopDaemon(run);
  });

  it('fails with exit 1 naming --health-port when the port is taken', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(port, r));
    try {
      const r = await runDaemonToEnd(h, [`--health-port=${port}`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`--health-port ${port}: cannot serve /healthz, /readyz and /metrics: listen EADDRINUSE`));
      expect(r.stderr).not.toMatch(/unexpected failure|^\s+at /m);
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });
});
