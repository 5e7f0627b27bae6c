// --mode=thick: multus-shim installed, a multus-shim config and no
// kubeconfig, written only once multus-daemon answers on its socket (a
// stand-in: an HTTP server on <root>/run/multus/multus.sock answering
// /healthz). The wait shows in the log and in /readyz; a daemon that goes
// away later leaves the config in place (the shim waits for it).
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { freePort, startDaemon, stopDaemon } from '../helpers/daemon.js';
import { eventually, readOrUndefined, useHostRoot } from '../helpers/host-root.js';
import { httpGet, type HttpAnswer } from '../helpers/http.js';

const h = useHostRoot({ master: 'masters/10-flannel.conflist' });
let socketDir: string;
let daemon: Server | undefined;
beforeEach(async () => {
  socketDir = join(h.root, 'run/multus');
});
afterEach(async () => {
  await stopStandIn();
});

async function startStandIn(): Promise<void> {
  await fsp.mkdir(socketDir, { recursive: true });
  daemon = createServer((req, res) => { res.statusCode = req.url === '/healthz' ? 200 : 404; res.end(); });
  await new Promise<void>((r) => daemon!.listen(join(socketDir, 'multus.sock'), r));
}
async function stopStandIn(): Promise<void> {
  daemon?.closeAllConnections();
  await new Promise((r) => (daemon ? daemon.close(r) : r(undefined)));
  daemon = undefined;
}

const readyz = (port: number): Promise<HttpAnswer> => httpGet(port, '/readyz');

const config = (): Promise<string | undefined> => readOrUndefined(join(h.confDir, '00-multus.conf'));

describe('--mode=thick', () => {
  it('installs multus-shim, waits for the daemon (log and /readyz), then writes the shim config and no kubeconfig; keeps it when the daemon goes', async () => {
    const port = await freePort();
    const flags = ['--mode=thick', `--multus-shim-bin-file=${h.srcBinary}`, `--daemon-socket-dir=${socketDir}`, `--health-port=${port}`];
    const run = await startDaemon(h, flags, h.env, /waiting for multus-daemon to answer on .*multus\.sock \(--daemon-socket-dir\)/);
    expect(await fsp.readFile(join(h.binDir, 'multus-shim'), 'utf8')).toContain('fake multus');
    expect(await readOrUndefined(join(h.binDir, 'multus'))).toBeUndefined();
    const waiting = await eventually(() => readyz(port), (a) => a.status === 503, 10_000, '/readyz 503');
    expect(waiting.body).toContain(`waiting for multus-daemon to answer on ${join(socketDir, 'multus.sock')}`);
    expect(await config()).toBeUndefined();

    await startStandIn();
    const written = await eventually(config, (c) => c !== undefined, 20_000, 'the shim config once the daemon answers');
    const parsed = JSON.parse(written!) as Record<string, unknown>;
    expect(parsed).toMatchObject({ type: 'multus-shim', name: 'multus-cni-network' });
    expect(parsed).not.toHaveProperty('kubeconfig');
    expect(parsed).not.toHaveProperty('daemonSocketDir');
    expect(await readOrUndefined(h.kubeconfig)).toBeUndefined();
    await eventually(() => readyz(port), (a) => a.status === 200, 20_000, '/readyz 200');

    await stopStandIn();
    await run.waitForLog(/multus-daemon does not answer: keeping the last Multus config/, 20_000);
    expect(await config()).toBe(written);
    await stopDaemon(run);
    expect(await config()).toBe(written);
  });
});
