// The kubeconfig's own token, bound to the node instead of the pod. The
// mounted (projected) token dies with this pod (pkg/serviceaccount/claims.go:
// rejected once the pod object is gone), so a kubeconfig kept across a
// restart would carry a dead credential until the next pod writes a new one.
// This asks the API server for a token of the same service account bound to
// the Node (TokenRequest, boundObjectRef kind Node; GA in Kubernetes 1.33),
// renews it at 80% of its lifetime and when the mounted token or CA rotates,
// retries a failure with backoff while the last good token stays, and falls
// back to the mounted token (logged once per reason) when there is none.
// Loaded only when NODE_NAME is set and --kubeconfig-token-expiration > 0.
import { Backoff, type BackoffPolicy } from '../base/backoff.js';
import { messageOf } from '../base/errors.js';
import type { ServiceAccount } from '../host/read.js';
import { readServiceAccount } from '../host/read.js';
import { apiAccess, type ServiceEnv } from '../core/kubeconfig.js';
import { ApiError, expectOk } from './kube-api.js';
import type { Logger } from '../observe/log.js';
import { renewalTime, tokenClaims, usableUntil } from '../core/token-claims.js';

interface BoundTokenConfig {
  nodeName: string;
  expirationSeconds: number;
  /** The API server as the kubeconfig names it (the token and CA come from the mounted service account). */
  env: ServiceEnv;
  skipTlsVerify: boolean;
}

interface Issued {
  token: string;
  issuedMs: number;
  expiresMs: number;
}

/** Longest delay a Node timer takes (about 24.8 days); a longer wait is taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** A request made while the kubeconfig is waited for must not hold it longer than this. */
const REQUEST_TIMEOUT_MS = 5000;
/** A failed request is retried after 1 s, 2 s, 4 s ... (each within [d, 2d), base/backoff.ts), at most 5 min, or what Retry-After asks. */
const TOKEN_BACKOFF: BackoffPolicy = { initialMs: 1000, factor: 2, capMs: 150_000, jitter: 1 };

function basisOf(sa: ServiceAccount): string {
  return `${sa.token}\0${sa.ca?.toString('base64') ?? ''}`;
}

export class BoundTokenSource {
  private sa: ServiceAccount | undefined;
  /** The mounted service account the current token (or the request in flight) was asked with. */
  private basis: string | undefined;
  private current: Issued | undefined;
  private inFlight = false;
  private readonly backoff = new Backoff(TOKEN_BACKOFF);
  private lastFailure = '';
  private renewTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private readonly stopping = new AbortController();
  private firstSettled = false;
  private readonly first: Promise<void>;
  private settleFirst: () => void = () => undefined;

  constructor(
    private readonly cfg: BoundTokenConfig,
    private readonly log: Logger,
    /** Called when the token the kubeconfig should carry changed (wakes the reconcile loop). */
    private readonly onChange: () => void,
  ) {
    this.first = new Promise((resolve) => { this.settleFirst = resolve; });
  }

  /** Reads the mounted service account and sends the first request (without waiting for it). */
  async begin(serviceAccountDir: string, caFile: string, skipTlsVerify: boolean): Promise<void> {
    try {
      this.tokenFor(await readServiceAccount(serviceAccountDir, caFile, skipTlsVerify));
    } catch {
      // The first reconcile reports the unreadable service account.
      this.markFirstSettled();
    }
  }

  /** Resolves once the first request has an answer, or after ms: the first config does not wait longer. */
  async firstAnswer(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.first, new Promise<void>((resolve) => { timer = setTimeout(resolve, ms); })]);
    // Unanswered by now: the request's own deadline (the same 5 s, started
    // earlier) fails it and logs the fallback.
    clearTimeout(timer);
  }

  /**
   * The token the kubeconfig should carry now, given the mounted service
   * account just read. A rotated mounted token or CA renews at once.
   */
  tokenFor(sa: ServiceAccount): string {
    this.sa = sa;
    if (!this.inFlight && this.basis !== basisOf(sa) && !this.stopping.signal.aborted) {
      // Not awaited: the reconcile that asked carries the last good token meanwhile.
      void this.request(false);
    }
    const c = this.current;
    if (c && Date.now() < usableUntil(c.issuedMs, c.expiresMs)) return c.token;
    return sa.token;
  }

  stop(): void {
    this.stopping.abort();
    clearTimeout(this.renewTimer);
    clearTimeout(this.expiryTimer);
    this.markFirstSettled();
  }

  private markFirstSettled(): void {
    if (this.firstSettled) return;
    this.firstSettled = true;
    this.settleFirst();
  }

  /** Runs fn at the wall-clock time `at` (in steps when that is further than a Node timer reaches). */
  private at(at: number, fn: () => void): NodeJS.Timeout {
    const wait = at - Date.now();
    const t = setTimeout(() => (Date.now() < at ? this.rearm(t, at, fn) : fn()), Math.max(0, Math.min(wait, MAX_TIMER_MS)));
    // Timers never keep a finished run alive; the reconcile loop does while it runs.
    t.unref();
    return t;
  }

  private rearm(old: NodeJS.Timeout, at: number, fn: () => void): void {
    const next = this.at(at, fn);
    if (this.renewTimer === old) this.renewTimer = next;
    if (this.expiryTimer === old) this.expiryTimer = next;
  }

  private async request(retry: boolean): Promise<void> {
    const sa = this.sa;
    if (!sa || this.inFlight) return;
    this.inFlight = true;
    clearTimeout(this.renewTimer);
    const basis = basisOf(sa);
    this.basis = basis;
    const claims = tokenClaims(sa.token);
    try {
      if ('error' in claims) throw new PermanentError(`cannot tell the service account from the mounted token: ${claims.error}`);
      const issued = await this.ask(sa, claims.namespace, claims.serviceAccount);
      this.log.addSecret(issued.token);
      const renewed = this.current !== undefined;
      this.current = issued;
      this.backoff.reset();
      this.lastFailure = '';
      const renewAt = renewalTime(issued.issuedMs, issued.expiresMs);
      this.log.info(renewed ? 'renewed the node-bound token of the kubeconfig' : 'the kubeconfig carries a node-bound token (it outlives this pod)', {
        serviceAccount: `${claims.namespace}/${claims.serviceAccount}`,
        node: this.cfg.nodeName,
        expires: new Date(issued.expiresMs).toISOString(),
        renewAt: new Date(renewAt).toISOString(),
      });
      this.renewTimer = this.at(renewAt, () => { this.basis = undefined; void this.request(true); });
      clearTimeout(this.expiryTimer);
      this.expiryTimer = this.at(usableUntil(issued.issuedMs, issued.expiresMs), () => this.expired());
    } catch (err) {
      if (this.stopping.signal.aborted) return;
      this.failed(messageOf(err), !(err instanceof PermanentError), retry, err instanceof ApiError ? err.retryAfterMs : undefined);
    } finally {
      this.inFlight = false;
      this.markFirstSettled();
    }
    this.onChange();
  }

  private async ask(sa: ServiceAccount, namespace: string, name: string): Promise<Issued> {
    const api = apiAccess(this.cfg.env, sa, this.cfg.skipTlsVerify);
    const issuedMs = Date.now();
    const body = await expectOk(api, {
      method: 'POST',
      path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(name)}/token`,
      what: `create a token for service account ${namespace}/${name} bound to node ${this.cfg.nodeName}`,
      rbac: `create on serviceaccounts/token for "${name}" in namespace ${namespace}`,
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: {
          expirationSeconds: this.cfg.expirationSeconds,
          boundObjectRef: { apiVersion: 'v1', kind: 'Node', name: this.cfg.nodeName },
        },
      },
      timeoutMs: REQUEST_TIMEOUT_MS,
      signal: this.stopping.signal,
    });
    const status = (body as { status?: { token?: unknown; expirationTimestamp?: unknown } } | undefined)?.status;
    const token = typeof status?.token === 'string' ? status.token.trim() : '';
    const expiresMs = typeof status?.expirationTimestamp === 'string' ? Date.parse(status.expirationTimestamp) : NaN;
    if (token === '' || /\s/.test(token)) throw new Error('the TokenRequest answer has no usable status.token');
    if (!Number.isFinite(expiresMs) || expiresMs <= issuedMs) throw new Error('the TokenRequest answer has no future status.expirationTimestamp');
    const claims = tokenClaims(token);
    if (!('error' in claims) && (claims.node !== this.cfg.nodeName || claims.pod !== undefined)) {
      throw new PermanentError(`the API server did not bind the token to node ${this.cfg.nodeName} (node binding unsupported?)`);
    }
    return { token, issuedMs, expiresMs };
  }

  private failed(reason: string, retryable: boolean, renewal: boolean, retryAfterMs: number | undefined): void {
    const c = this.current;
    const keeping = c !== undefined && Date.now() < usableUntil(c.issuedMs, c.expiresMs);
    let retryIn: number | undefined;
    if (retryable || renewal) {
      retryIn = this.backoff.next(retryAfterMs);
      this.renewTimer = this.at(Date.now() + retryIn, () => { this.basis = undefined; void this.request(true); });
    }
    // Logged once per reason: a retry that fails the same way says nothing new.
    if (reason === this.lastFailure) return;
    this.lastFailure = reason;
    const fields = { error: reason, retryInSeconds: retryIn === undefined ? undefined : retryIn / 1000 };
    if (keeping) {
      this.log.warn('cannot renew the node-bound token; the kubeconfig keeps the current one', { ...fields, expires: new Date(c.expiresMs).toISOString() });
    } else {
      this.log.warn('the kubeconfig carries the mounted service-account token (it stops working once this pod is gone): no node-bound token', fields);
    }
  }

  private expired(): void {
    if (this.stopping.signal.aborted) return;
    this.log.warn('the node-bound token is about to expire and could not be renewed: the kubeconfig falls back to the mounted service-account token');
    this.onChange();
  }
}

/** A failure that retrying with the same mounted token cannot fix (a new mounted token may). */
class PermanentError extends Error {}
