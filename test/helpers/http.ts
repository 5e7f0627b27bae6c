// One GET on the program's health port (127.0.0.1): status, content type and
// body, for the suites that read /healthz, /readyz and /metrics.
import { get } from 'node:http';

export interface HttpAnswer { status: number; contentType: string; body: string }

export function httpGet(port: number, path: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type']), body }));
    }).on('error', reject);
  });
}
