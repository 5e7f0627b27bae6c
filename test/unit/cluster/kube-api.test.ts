// The one API client, against the fake API server on 127.0.0.1: the bearer
// token, JSON in and out, any status given back to the caller, errors that
// name the request (and, for a 403, the RBAC rule) but never the token, and
// a deadline on a server that does not answer.
import { describe, expect, it } from '@jest/globals';
import { ApiError, callApi, expectOk, refused } from '../../../src/cluster/kube-api.js';
import { DAEMONSET, NAMESPACE, NODE, useFakeApi } from '../../helpers/api-server.js';
import { freePort } from '../../helpers/daemon.js';
import { TOKEN } from '../../helpers/host-root.js';

const fake = useFakeApi();
const getNode = { method: 'GET', path: `/api/v1/nodes/${NODE}`, what: `get node ${NODE}`, rbac: 'get on nodes' } as const;

/** The error a promise rejects with (a failed expectation otherwise). */
async function rejection(p: Promise<unknown>): Promise<ApiError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ApiError);
  expect((err as Error).message).not.toContain(TOKEN);
  return err as ApiError;
}

describe('callApi and expectOk', () => {
  it('gives the parsed body of a 2xx, sent with the token (trimmed, as read from the file)', async () => {
    await fake.serve({ nodeLabels: { disk: 'ssd' } });
    const node = await expectOk({ ...fake.access(), token: `${TOKEN}\n` }, getNode);
    expect(node).toMatchObject({ kind: 'Node', metadata: { name: NODE, labels: { disk: 'ssd' } } });
    expect(fake.api.requests).toEqual([{ method: 'GET', path: getNode.path, authorization: `Bearer ${TOKEN}` }]);
  });

  it('sends a body as JSON, with the content type asked for', async () => {
    await fake.serve({ nodeTaints: [] });
    const patch = [{ op: 'test', path: '/metadata/resourceVersion', value: '1' }, { op: 'add', path: '/spec/taints', value: [{ key: 'k', effect: 'NoSchedule' }] }];
    await expectOk(fake.access(), { ...getNode, method: 'PATCH', body: patch, contentType: 'application/json-patch+json', what: 'taint' });
    expect(fake.api.requests.at(-1)).toEqual({ method: 'PATCH', path: getNode.path, authorization: `Bearer ${TOKEN}`, body: patch, contentType: 'application/json-patch+json' });
    expect(fake.api.taints()).toEqual([{ key: 'k', effect: 'NoSchedule' }]);
  });

  it('callApi gives any status back (the caller decides what a 404 means)', async () => {
    await fake.serve({ node: 'absent' });
    expect(await callApi(fake.access(), getNode)).toEqual({ status: 404, body: expect.objectContaining({ kind: 'Status', code: 404 }) });
  });

  it('expectOk rejects anything else with the status and the API server\'s message', async () => {
    await fake.serve({ node: 'absent' });
    const err = await rejection(expectOk(fake.access(), getNode));
    expect(err.status).toBe(404);
    expect(err.message).toBe('get node node-1: HTTP 404: nodes "node-1" not found');
  });

  it('a 403 names the rule to grant', async () => {
    await fake.serve({ node: 'forbidden' });
    const err = await rejection(expectOk(fake.access(), getNode));
    expect(err.status).toBe(403);
    expect(err.message).toMatch(/^get node node-1: HTTP 403: nodes "node-1" is forbidden: .* \(grant the service account get on nodes\)$/);
  });

  it('a token the server does not accept is a 401', async () => {
    await fake.serve();
    const err = await rejection(expectOk({ ...fake.access(), token: 'eyJhbGciOiJSUzI1NiJ9.someone-else-never-log-me.sig' }, getNode));
    expect(err.status).toBe(401);
    expect(err.message).not.toContain('someone-else');
  });

  it('no answer within the deadline: no status, and the message says how long it waited', async () => {
    await fake.serve({ daemonSet: 'hang' });
    const path = `/apis/apps/v1/namespaces/${NAMESPACE}/daemonsets/${DAEMONSET}`;
    const err = await rejection(callApi(fake.access(), { method: 'GET', path, what: 'get DaemonSet', rbac: 'get on daemonsets.apps', timeoutMs: 300 }));
    expect(err.status).toBeUndefined();
    expect(err.message).toBe(`get DaemonSet (GET ${path}): no answer within 300 ms`);
  });

  it('a server shedding load: the wait it asks for is given back and named', async () => {
    await fake.serve({ busy: { status: 429, retryAfter: '3' } });
    expect(await callApi(fake.access(), getNode)).toEqual({ status: 429, body: expect.objectContaining({ code: 429 }), retryAfterMs: 3000 });
    const err = await rejection(expectOk(fake.access(), getNode));
    expect(err.retryAfterMs).toBe(3000);
    expect(err.message).toBe('get node node-1: HTTP 429: Too many requests, please try again later. (Retry-After 3 s)');
  });

  it('an answer without a Status message (a proxy\'s page) is named by its status alone', () => {
    expect(refused(getNode, { status: 502, body: undefined }).message).toBe('get node node-1: HTTP 502');
    expect(refused(getNode, { status: 403, body: { kind: 'Status', message: '' } }).message).toBe('get node node-1: HTTP 403 (grant the service account get on nodes)');
  });

  it('an answer larger than any object read (4 MiB) is cut off, not buffered, and said', async () => {
    // A node whose one label is 5 MiB: the answer runs past the limit.
    await fake.serve({ nodeLabels: { huge: 'x'.repeat(5 * 1024 * 1024) } });
    const err = await rejection(callApi(fake.access(), getNode));
    expect(err.status).toBeUndefined();
    expect(err.message).toBe('get node node-1 (GET /api/v1/nodes/node-1): answer too large');
  });

  it('a server that is not there: no status, the request named', async () => {
    const port = await freePort();
    const err = await rejection(callApi({ protocol: 'http', host: '127.0.0.1', port: String(port), token: TOKEN, ca: undefined, skipTlsVerify: false }, getNode));
    expect(err.status).toBeUndefined();
    expect(err.message).toMatch(/^get node node-1 \(GET \/api\/v1\/nodes\/node-1\): connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
  });
});
