// Thick mode: asking multus-daemon over its socket whether it serves, as the
// shim does (POST /healthz on <dir>/multus.sock). A stand-in daemon: an HTTP
// server on a Unix socket in a temporary dir.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeDaemon } from '../../../src/host/daemon-socket.js';

let dir: string;
let server: Server | undefined;
beforeEach(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'daemon-sock-'));
});
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
  await fsp.rm(dir, { recursive: true, force: true });
});

async function daemon(handler: Parameters<typeof createServer>[1]): Promise<void> {
  server = createServer(handler);
  await new Promise<void>((r) => server!.listen(join(dir, 'multus.sock'), r));
}

describe('probeDaemon', () => {
  it('is ready when /healthz answers 200', async () => {
    const paths: string[] = [];
    await daemon((req, res) => { paths.push(`${req.method} ${req.url}`); res.end(); });
    expect(await probeDaemon(dir)).toEqual({ socket: join(dir, 'multus.sock'), ready: true });
    expect(paths).toEqual(['POST /healthz']);
  });

  it('is not ready while there is no socket', async () => {
    expect(await probeDaemon(dir)).toEqual({ socket: join(dir, 'multus.sock'), ready: false, why: 'no socket there yet' });
  });

  it('is not ready when nothing listens on the socket file (a daemon killed with -9 leaves it)', async () => {
    await fsp.writeFile(join(dir, 'multus.sock'), '');
    expect(await probeDaemon(dir)).toMatchObject({ ready: false, why: 'connection refused' });
  });

  it('is not ready on any other failure, with the system\'s message naming the socket (a file where the dir should be)', async () => {
    const file = join(dir, 'not-a-dir');
    await fsp.writeFile(file, '');
    expect(await probeDaemon(file)).toEqual({ socket: join(file, 'multus.sock'), ready: false, why: `connect ENOTDIR ${join(file, 'multus.sock')}` });
  });

  it('is not ready on another status, naming it', async () => {
    await daemon((_req, res) => { res.statusCode = 404; res.end(); });
    expect(await probeDaemon(dir)).toMatchObject({ ready: false, why: 'POST /healthz answered 404' });
  });

  it('is not ready when the daemon does not answer in time', async () => {
    await daemon(() => undefined);
    expect(await probeDaemon(dir, 200)).toMatchObject({ ready: false, why: 'no answer within 0.2 s' });
  });
});
