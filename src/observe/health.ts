// /healthz: the reconcile loop is alive. /readyz: the files on disk equal
// what the program would write now (checked on each request). /metrics:
// Prometheus text (metrics.ts).
import type { Server } from 'node:http';
import { nodeHttp } from '../base/builtins.js';
import { JobError } from '../base/errors.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';

interface HealthSource {
  /** Milliseconds since the loop last completed a turn. */
  loopAgeMs(): number;
  /** The longest a healthy loop goes without a turn. */
  maxLoopAgeMs: number;
  checkInSync(): Promise<{ ok: true } | { ok: false; reason: string }>;
  metrics?: Metrics;
}

export function startHealthServer(port: number, source: HealthSource, log: Logger): Promise<Server> {
  const server = nodeHttp().createServer((req, res) => {
    const reply = (status: number, body: string): void => {
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(`${body}\n`);
    };
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      const age = source.loopAgeMs();
      if (age <= source.maxLoopAgeMs) reply(200, 'ok');
      else reply(503, `reconcile loop stalled for ${Math.round(age / 1000)} s`);
      return;
    }
    if (path === '/readyz') {
      source.checkInSync().then(
        (r) => (r.ok ? reply(200, 'ok') : reply(503, r.reason)),
        (err: unknown) => reply(503, `check failed: ${String(err)}`),
      );
      return;
    }
    if (path === '/metrics' && source.metrics) {
      const { metrics } = source;
      metrics.render().then(
        (text) => {
          res.writeHead(200, { 'Content-Type': metrics.contentType });
          res.end(text);
        },
        (err: unknown) => reply(500, `cannot collect the metrics: ${String(err)}`),
      );
      return;
    }
    reply(404, 'not found: use /healthz, /readyz or /metrics');
  });
  return new Promise((resolve, reject) => {
    // A port in use is the job failing (exit 1), said plainly, not a crash.
    server.once('error', (err) => reject(new JobError(`--health-port ${port}: cannot serve /healthz, /readyz and /metrics: ${err.message}`)));
    server.listen(port, () => {
      log.info('serving /healthz, /readyz and /metrics', { port });
      resolve(server);
    });
  });
}
