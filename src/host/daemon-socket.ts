// Thick mode: asks multus-daemon whether it serves, as the shim does before
// each ADD (POST /healthz on <dir>/multus.sock, multus-cni v4.3.0
// pkg/server/api/api.go). One short request per reconcile; a daemon that is
// starting, gone, or hung reads as not ready, with the reason.
import { join } from 'node:path';
import { nodeHttp } from '../base/builtins.js';
import type { DaemonState } from '../core/daemon.js';

/** The socket's name in the daemon's socketDir (pkg/server/api/socket.go). */
const SOCKET_NAME = 'multus.sock';
const PROBE_TIMEOUT_MS = 2000;

export function daemonSocketPath(dir: string): string {
  return join(dir, SOCKET_NAME);
}

export function probeDaemon(dir: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<DaemonState> {
  const socket = daemonSocketPath(dir);
  return new Promise((resolve) => {
    const done = (ready: boolean, why?: string): void => resolve(why === undefined ? { socket, ready } : { socket, ready, why });
    const req = nodeHttp().request({ socketPath: socket, path: '/healthz', method: 'POST', timeout: timeoutMs }, (res) => {
      res.resume();
      if (res.statusCode === 200) done(true);
      else done(false, `POST /healthz answered ${res.statusCode ?? 'no status'}`);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.on('error', (err: NodeJS.ErrnoException) => done(false, err.code === 'ENOENT' ? 'no socket there yet' : err.code === 'ECONNREFUSED' ? 'connection refused' : err.message));
    req.end();
  });
}
