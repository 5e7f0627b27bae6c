// /healthz, /readyz and /metrics as the kubelet and Prometheus ask for them,
// from the health server in this process on 127.0.0.1 (test/cli/health.test.ts
// sees the same from the built program): alive while the loop turns, ready
// only while the check says so (a failing check is not ready), and a port
// in use is the job failing, said plainly.
import { afterEach, describe, expect, it } from '@jest/globals';
import { get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { JobError } from '../../../src/base/errors.js';
import { startHealthServer } from '../../../src/observe/health.js';
import { createLogger } from '../../../src/observe/log.js';
import { freePort } from '../../helpers/daemon.js';

const servers: Server[] = [];
let lines: string[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  lines = [];
});

type HealthSource = Parameters<typeof startHealthServer>[1];

interface Answer { status: number; contentType: string; body: string }

function ask(server: Server, path: string): Promise<Answer> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type']), body }));
    }).on('error', reject);
  });
}

async function serve(source: Partial<HealthSource>, port = 0): Promise<Server> {
  const server = await startHealthServer(port, {
    loopAgeMs: () => 0,
    maxLoopAgeMs: 62_000,
    checkInSync: () => Promise.resolve({ ok: true }),
    ...source,
  }, createLogger('text', (l) => { lines.push(l); }));
  servers.push(server);
  return server;
}

describe('/healthz', () => {
  it('is ok while the loop turned within its limit, and says for how long it stalled after', async () => {
    let age = 62_000;
    const s = await serve({ loopAgeMs: () => age });
    expect(await ask(s, '/healthz')).toEqual({ status: 200, contentType: 'text/plain; charset=utf-8', body: 'ok\n' });
    age = 62_001;
    expect(await ask(s, '/healthz')).toMatchObject({ status: 503, body: 'reconcile loop stalled for 62 s\n' });
  });

  it('ignores a query string', async () => {
    const s = await serve({});
    expect((await ask(s, '/healthz?verbose=1')).status).toBe(200);
  });
});

describe('/readyz', () => {
  it('is ok only while the files are what the program would write, and says why not', async () => {
    let inSync: { ok: true } | { ok: false; reason: string } = { ok: true };
    const s = await serve({ checkInSync: () => Promise.resolve(inSync) });
    expect(await ask(s, '/readyz')).toMatchObject({ status: 200, body: 'ok\n' });
    inSync = { ok: false, reason: '/etc/cni/net.d/00-multus.conf differs from the desired Multus config' };
    expect(await ask(s, '/readyz')).toMatchObject({ status: 503, body: '/etc/cni/net.d/00-multus.conf differs from the desired Multus config\n' });
  });

  it('a check that fails is not ready, and says why', async () => {
    const s = await serve({ checkInSync: () => Promise.reject(new Error('EIO: i/o error')) });
    expect(await ask(s, '/readyz')).toMatchObject({ status: 503, body: 'check failed: Error: EIO: i/o error\n' });
  });

  it('is asked afresh on every request, and /healthz does not ask it', async () => {
    let asked = 0;
    const s = await serve({ checkInSync: () => { asked++; return Promise.resolve({ ok: true }); } });
    await ask(s, '/readyz');
    await ask(s, '/readyz');
    await ask(s, '/healthz');
    expect(asked).toBe(2);
  });
});

describe('/metrics and other paths', () => {
  it('serves the metrics text with their content type', async () => {
    const s = await serve({ metrics: { contentType: 'text/plain; version=0.0.4; charset=utf-8', render: () => Promise.resolve('multus_entrypoint_ready 1\n') } });
    expect(await ask(s, '/metrics')).toEqual({ status: 200, contentType: 'text/plain; version=0.0.4; charset=utf-8', body: 'multus_entrypoint_ready 1\n' });
  });

  it('a scrape that fails is a 500 saying why', async () => {
    const s = await serve({ metrics: { contentType: 'text/plain', render: () => Promise.reject(new Error('collect failed')) } });
    expect(await ask(s, '/metrics')).toMatchObject({ status: 500, body: 'cannot collect the metrics: Error: collect failed\n' });
  });

  it('anything else is a 404 naming the three paths (and /metrics too, when there are no metrics)', async () => {
    const s = await serve({});
    for (const path of ['/', '/nope', '/metrics']) {
      expect(await ask(s, path)).toMatchObject({ status: 404, body: 'not found: use /healthz, /readyz or /metrics\n' });
    }
  });
});

describe('starting', () => {
  it('serves on the port given, and says which', async () => {
    const port = await freePort();
    const s = await serve({}, port);
    expect((s.address() as AddressInfo).port).toBe(port);
    expect(lines).toEqual([expect.stringMatching(new RegExp(`INFO {2}serving /healthz, /readyz and /metrics port=${port}\\n$`))]);
  });

  it('a port in use is a JobError (exit 1) naming --health-port and the cause', async () => {
    const first = await serve({});
    const { port } = first.address() as AddressInfo;
    const err = await serve({}, port).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(JobError);
    expect((err as Error).message).toMatch(new RegExp(`^--health-port ${port}: cannot serve /healthz, /readyz and /metrics: listen EADDRINUSE`));
  });
});
