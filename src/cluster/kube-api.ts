// The one small client every talk with the API server goes through (the
// uninstall check, the token request, events, the node taint): TLS from the
// service account, a bearer token, a deadline, JSON in and out, and errors
// that name the request and the RBAC rule it needs. Node's own HTTP client:
// @kubernetes/client-node alone gets the process OOM-killed at 50Mi.
import type * as Http from 'node:http';
import type * as Https from 'node:https';
import { parseRetryAfter } from '../base/backoff.js';
import { nodeHttp, nodeHttps } from '../base/builtins.js';
import type { ApiAccess } from '../core/kubeconfig.js';
import { serverUrl } from '../core/kubeconfig.js';

// The API server as the kubeconfig reaches it: the same server, token and CA.
export type { ApiAccess };

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ApiRequest {
  method: Method;
  /** Absolute API path, e.g. /api/v1/namespaces/kube-system/pods/x. */
  path: string;
  /** Sent as JSON. */
  body?: unknown;
  /** Defaults to application/json; e.g. application/json-patch+json for a PATCH. */
  contentType?: string;
  /** What is asked, for messages: "get pod kube-system/multus-x". */
  what: string;
  /** The RBAC rule the request needs, named in a 403's message: "get on pods". */
  rbac: string;
  /** Give up after this long (default 5 s). */
  timeoutMs?: number;
  /** Aborts the request early (e.g. on stop). */
  signal?: AbortSignal;
}

export interface ApiResponse {
  status: number;
  /** The answer parsed as JSON, or undefined when it is not JSON. */
  body: unknown;
  /** The Retry-After header (seconds form) in ms, capped at 32 s; undefined when absent. */
  retryAfterMs?: number;
}

/** A request that failed or was refused; the message names it and never holds the token. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    message: string,
    readonly status: number | undefined,
    /** How long the server asked to wait (Retry-After on a 429 or 5xx), ms, capped at 32 s. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** Whether asking again may get another answer: no answer at all, 429, or 5xx. */
export function retryable(err: unknown): boolean {
  return err instanceof ApiError && (err.status === undefined || err.status === 429 || err.status >= 500);
}

const DEFAULT_TIMEOUT_MS = 5000;
/**
 * How long a write made in the background (an Event, the startup taint)
 * waits for its answer. A client that gives up makes kube-apiserver answer
 * 504 while it still applies the write (its "post-timeout activity"), so a
 * write retried after a short deadline reaches a slow server twice. client-go
 * sets no deadline of its own; the API server ends a request at 60 s.
 */
export const WRITE_TIMEOUT_MS = 30_000;
/** An object this program reads is a few KiB; do not buffer a runaway answer. */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

// Loaded on the first request, cheaply (builtins.ts says why).
function client(protocol: string): (url: URL, options: Https.RequestOptions, onResponse: (res: Http.IncomingMessage) => void) => Http.ClientRequest {
  return protocol === 'http:' ? nodeHttp().request : nodeHttps().request;
}

/**
 * Sends one request. Resolves with any HTTP status (the caller decides what
 * a 404 means); rejects with an ApiError when there is no answer in time or
 * the connection fails.
 */
export function callApi(api: ApiAccess, req: ApiRequest): Promise<ApiResponse> {
  const url = new URL(req.path, serverUrl(api.protocol, api.host, api.port));
  const timeoutMs = req.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const signals = [AbortSignal.timeout(timeoutMs), ...(req.signal ? [req.signal] : [])];
  const signal = AbortSignal.any(signals);
  const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
  const headers: Record<string, string> = { Authorization: `Bearer ${api.token.trim()}`, Accept: 'application/json' };
  if (payload) {
    headers['Content-Type'] = req.contentType ?? 'application/json';
    headers['Content-Length'] = String(payload.length);
  }
  return new Promise((resolve, reject) => {
    const fail = (why: string): void => reject(new ApiError(`${req.what} (${req.method} ${url.pathname}): ${why}`, undefined));
    const r = client(url.protocol)(url, {
      method: req.method,
      signal,
      headers,
      ca: api.skipTlsVerify ? undefined : api.ca,
      rejectUnauthorized: !api.skipTlsVerify,
    }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_ANSWER_BYTES) r.destroy(new Error('answer too large'));
        else chunks.push(c);
      });
      res.on('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          body = undefined;
        }
        const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
        resolve({ status: res.statusCode ?? 0, body, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });
      });
      res.on('error', (err) => fail(err.message));
    });
    r.on('error', (err) => {
      if (signal.aborted && !req.signal?.aborted) fail(`no answer within ${timeoutMs} ms`);
      else fail(err.message);
    });
    r.end(payload);
  });
}

/** The error for an answer the caller did not expect, with the API server's own message and, for a 403, the rule to grant. */
export function refused(req: Pick<ApiRequest, 'what' | 'rbac'>, res: ApiResponse): ApiError {
  const message = (res.body as { message?: unknown } | undefined)?.message;
  const detail = typeof message === 'string' && message !== '' ? `: ${message.slice(0, 300)}` : '';
  const hint = res.status === 403 ? ` (grant the service account ${req.rbac})` : '';
  const busy = res.status === 429 || res.status >= 500;
  const after = busy && res.retryAfterMs !== undefined ? ` (Retry-After ${res.retryAfterMs / 1000} s)` : '';
  return new ApiError(`${req.what}: HTTP ${res.status}${detail}${hint}${after}`, res.status, busy ? res.retryAfterMs : undefined);
}

/** Sends a request and gives the body of a 2xx answer; anything else is an ApiError. */
export async function expectOk(api: ApiAccess, req: ApiRequest): Promise<unknown> {
  const res = await callApi(api, req);
  if (res.status < 200 || res.status > 299) throw refused(req, res);
  return res.body;
}
