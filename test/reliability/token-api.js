// A minimal stand-in for the API server's TokenRequest, for the kills during
// token renewal (plain HTTP on 127.0.0.1: TLS is covered by
// test/cli/bound-token.test.ts). It answers after a random delay, so kills
// land before, during and after a request, and issues unsigned JWTs with the
// claims the API server writes for a node-bound token.
import { createServer } from 'node:http';

export const NODE = 'node-1';
const NAMESPACE = 'kube-system';
const SA = 'multus';
const TOKEN_PATH = `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/${SA}/token`;

const b64url = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** A service-account JWT: pod-bound (the mounted one) or node-bound (an issued one). */
export function jwt({ pod, node, seconds = 3600, tag }) {
  const now = Math.floor(Date.now() / 1000);
  const k8s = { namespace: NAMESPACE, serviceaccount: { name: SA, uid: 'sa-uid' } };
  if (pod) k8s.pod = { name: pod, uid: 'pod-uid' };
  if (node) k8s.node = { name: node, uid: 'node-uid' };
  return `${b64url({ alg: 'RS256' })}.${b64url({ exp: now + seconds, iat: now, 'kubernetes.io': k8s, sub: `system:serviceaccount:${NAMESPACE}:${SA}` })}.${tag}-never-log-me`;
}

/** Starts the server; `accepted` mounted tokens may ask; every token issued is kept in order. */
export async function startTokenApi({ rng, maxDelayMs = 60 }) {
  const accepted = new Set();
  const issued = [];
  const sockets = new Set();
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const send = (code, body) => {
        if (res.destroyed) return;
        res.writeHead(code, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      setTimeout(() => {
        const bearer = (req.headers.authorization ?? '').replace(/^Bearer /, '');
        if (!accepted.has(bearer)) return send(401, { kind: 'Status', code: 401, message: 'Unauthorized' });
        if (req.method !== 'POST' || req.url !== TOKEN_PATH) return send(404, { kind: 'Status', code: 404, message: 'not found' });
        let spec;
        try { spec = JSON.parse(Buffer.concat(chunks).toString('utf8')).spec; } catch { return send(400, { kind: 'Status', code: 400, message: 'bad body' }); }
        const seconds = spec?.expirationSeconds ?? 3600;
        const token = jwt({ node: spec?.boundObjectRef?.name, seconds, tag: `issued-${issued.length + 1}` });
        issued.push(token);
        return send(201, { kind: 'TokenRequest', apiVersion: 'authentication.k8s.io/v1', status: { token, expirationTimestamp: new Date(Date.now() + seconds * 1000).toISOString() } });
      }, Math.floor(rng.next() * maxDelayMs));
    });
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: server.address().port,
    issued,
    accept: (token) => accepted.add(token),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
