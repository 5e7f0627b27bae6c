// --repair-pods: once the node's Multus config is in place, the pods on this
// node that started before it and run without the networks they asked for
// (core/repair.ts says which) are evicted through the Eviction API, so
// PodDisruptionBudgets hold and their controllers recreate them with their
// networks; a pod nothing would recreate gets a Warning Event instead. In
// the background, through the one API client, never blocking the loop: at
// most one eviction a second after a burst of five, each pod read again
// just before and evicted only as read (uid and resourceVersion
// preconditions), a PodDisruptionBudget's refusal (429) retried later with
// base/backoff.ts's jittered backoff, a Retry-After honoured.
import { Backoff, realClock, type BackoffPolicy, type Clock, type Random } from '../base/backoff.js';
import { messageOf } from '../base/errors.js';
import { isoTime } from '../base/iso-time.js';
import type { AccessReader } from './api-access.js';
import { eventBody, type EventSpec } from './events.js';
import { ApiError, callApi, expectOk, refused, type ApiAccess } from './kube-api.js';
import type { Logger } from '../observe/log.js';
import type { Observer, RepairResult } from '../observe/observer.js';
import { judgePod, repairNote, type PodKey, type Verdict } from '../core/repair.js';

/** Pods per page of the list: a pod is a few KiB, and a page must stay far below kube-api's 4 MiB. */
const PAGE = 50;
const BURST = 5;
const EVICTIONS_PER_SECOND = 1;
/** A refused or failed pass is retried after 5 s, doubling up to 5 min, each wait jittered up to twice. */
const REPAIR_BACKOFF: BackoffPolicy = { initialMs: 5000, factor: 2, capMs: 300_000, jitter: 1 };

/** What became of one pod's eviction: done with it, retry (later, or not before a Retry-After), or stop the pass. */
type Outcome = 'done' | 'retry' | { retryAfterMs: number } | 'stop';

const podName = (p: PodKey): string => `${p.namespace}/${p.name}`;

export class PodRepair {
  /** When the config last came into place; pods whose sandbox was ready before it are candidates. */
  private since: number | undefined;
  private pending = false;
  private running: Promise<void> | undefined;
  private wake = new AbortController();
  private readonly stopping = new AbortController();
  private readonly backoff: Backoff;
  private readonly clock: Clock;
  private tokens = BURST;
  private refilled: number;
  private seq = 0;
  /** Pods already reported (by uid and what), so a retried pass does not repeat itself. */
  private readonly told = new Set<string>();
  private loggedFailure = false;
  private loggedEventFailure = false;

  constructor(
    private readonly access: AccessReader,
    private readonly nodeName: string,
    private readonly log: Logger,
    /** Hears each result, for /metrics. */
    private readonly report: Observer,
    private readonly opts: { events: boolean; clock?: Clock; random?: Random },
  ) {
    this.clock = opts.clock ?? realClock;
    this.backoff = new Backoff(REPAIR_BACKOFF, opts.random);
    this.refilled = this.clock.now();
  }

  /** The config came into place at `since` (ms): look at the node's pods again. */
  request(since: number): void {
    if (this.stopping.signal.aborted) return;
    this.since = since;
    this.pending = true;
    this.wake.abort();
    this.running ??= this.loop().finally(() => { this.running = undefined; });
  }

  private async loop(): Promise<void> {
    while (this.pending && !this.stopping.signal.aborted) {
      this.pending = false;
      this.wake = new AbortController();
      const outcome = await this.pass(this.since ?? 0);
      if (outcome === 'done') {
        this.backoff.reset();
        continue;
      }
      const wait = this.backoff.next(typeof outcome === 'object' ? outcome.retryAfterMs : undefined);
      // A new request (the config came back again) cuts the wait short.
      await this.clock.sleep(wait, AbortSignal.any([this.wake.signal, this.stopping.signal]));
      this.pending = true;
    }
  }

  /** One look at the node's pods; 'done' when nothing is left to retry. */
  private async pass(since: number): Promise<'done' | 'retry' | { retryAfterMs: number }> {
    let verdicts: Verdict[];
    try {
      verdicts = await this.judgeAll(await this.access(), since);
    } catch (err) {
      this.failedOnce('cannot list the pods on this node; retrying with backoff', err);
      return err instanceof ApiError && err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : 'retry';
    }
    this.forgetGone(verdicts);
    let retry = false;
    let retryAfter = 0;
    for (const v of verdicts) {
      if (this.stopping.signal.aborted) break;
      if (v.action === 'leave') this.noteDoubt(v);
      else if (v.action === 'warn') await this.warn(v, since);
      else {
        const o = await this.evict(v, since);
        if (o === 'stop') return 'retry';
        if (o === 'done') continue;
        retry = true;
        if (typeof o === 'object') retryAfter = Math.max(retryAfter, o.retryAfterMs);
      }
    }
    if (!retry) this.loggedFailure = false;
    return !retry ? 'done' : retryAfter > 0 ? { retryAfterMs: retryAfter } : 'retry';
  }

  /** Every pod of this node, judged page by page (no page is kept). */
  private async judgeAll(api: ApiAccess, since: number): Promise<Verdict[]> {
    const verdicts: Verdict[] = [];
    let cont = '';
    do {
      const query = `fieldSelector=${encodeURIComponent(`spec.nodeName=${this.nodeName}`)}&limit=${PAGE}${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`;
      const page = await expectOk(api, { method: 'GET', path: `/api/v1/pods?${query}`, what: `list the pods on node ${this.nodeName}`, rbac: 'list on pods' }) as { items?: unknown; metadata?: { continue?: unknown } } | undefined;
      for (const pod of Array.isArray(page?.items) ? page.items : []) verdicts.push(judgePod(pod, this.nodeName, since));
      cont = typeof page?.metadata?.continue === 'string' ? page.metadata.continue : '';
    } while (cont !== '');
    return verdicts;
  }

  /** Pods left for a doubt worth a line: once each. */
  private noteDoubt(v: Extract<Verdict, { action: 'leave' }>): void {
    const doubt = v.why === 'sandbox may postdate the config' || v.why === 'unreadable networks annotation' || v.why === 'unreadable network-status';
    if (!doubt || !this.once(v.pod, v.why)) return;
    const fields = { pod: podName(v.pod), lacks: v.missing?.join(','), detail: v.detail };
    if (v.why === 'sandbox may postdate the config') {
      this.log.warn('--repair-pods: a pod lacks its networks, but its sandbox came up after the Multus config was in place (or while it was written): left alone', fields);
    } else {
      this.log.warn(`--repair-pods: a pod's ${v.why === 'unreadable network-status' ? 'k8s.v1.cni.cncf.io/network-status' : 'k8s.v1.cni.cncf.io/networks'} annotation cannot be read: left alone`, fields);
    }
  }

  private async warn(v: Extract<Verdict, { action: 'warn' }>, since: number): Promise<void> {
    if (!this.once(v.pod, 'warn')) return;
    const note = repairNote(v, this.nodeName, since);
    this.log.warn('--repair-pods: a pod started before the Multus config was in place and nothing would recreate it: left alone', { pod: podName(v.pod), lacks: v.missing.join(','), why: v.why });
    this.report.notify({ kind: 'repair', result: 'left_alone', pod: podName(v.pod) });
    await this.podEvent(v.pod, { type: 'Warning', reason: 'MissingNetworks', action: 'Repair', note });
  }

  /** Reads the pod again, and evicts it if it still qualifies, exactly as read. */
  private async evict(v: Extract<Verdict, { action: 'evict' }>, since: number): Promise<Outcome> {
    await this.takeToken();
    if (this.stopping.signal.aborted) return 'done';
    const path = `/api/v1/namespaces/${encodeURIComponent(v.pod.namespace)}/pods/${encodeURIComponent(v.pod.name)}`;
    const who = `pod ${podName(v.pod)}`;
    try {
      const api = await this.access();
      const read = await callApi(api, { method: 'GET', path, what: `get ${who}`, rbac: 'get on pods' });
      if (read.status === 404) return 'done';
      if (read.status !== 200) throw refused({ what: `get ${who}`, rbac: 'get on pods' }, read);
      const now = judgePod(read.body, this.nodeName, since);
      // Changed since the list (attached, replaced, being deleted): nothing to do.
      if (now.action !== 'evict' || now.pod.uid !== v.pod.uid) return 'done';
      const req = { what: `evict ${who}`, rbac: 'create on pods/eviction (and the ValidatingAdmissionPolicy multus-repair-pods)' };
      const res = await callApi(api, { method: 'POST', path: `${path}/eviction`, body: evictionBody(now.pod), ...req });
      if (res.status === 200 || res.status === 201) {
        this.log.info('--repair-pods: evicted a pod that started before the Multus config was in place', {
          pod: podName(now.pod), lacks: now.missing.join(','), owner: now.owner, sandboxReady: isoTime(now.sandboxAt), configInPlace: isoTime(since),
        });
        this.report.notify({ kind: 'repair', result: 'evicted', pod: podName(now.pod) });
        await this.podEvent(now.pod, { type: 'Normal', reason: 'EvictedForMissingNetworks', action: 'Evict', note: repairNote(now, this.nodeName, since) });
        return 'done';
      }
      // Gone, or changed between the read and the eviction (the next pass reads it again).
      if (res.status === 404) return 'done';
      if (res.status === 409) return 'retry';
      if (res.status === 429) {
        // The same 429 says either: a budget's refusal names its cause; a shed request does not.
        const byBudget = refusedByBudget(res.body);
        const why = byBudget ? 'a PodDisruptionBudget does not allow evicting the pod now' : 'the API server is shedding load (429) and did not take the eviction';
        if (this.once(now.pod, byBudget ? 'blocked' : 'shed')) this.log.warn(`--repair-pods: ${why}; retrying with backoff`, { pod: podName(now.pod), error: refused(req, res).message });
        this.report.notify({ kind: 'repair', result: 'blocked', pod: podName(now.pod) });
        return { retryAfterMs: Math.max(res.retryAfterMs ?? 0, retryAfterMs(res.body)) };
      }
      throw refused(req, res);
    } catch (err) {
      this.report.notify({ kind: 'repair', result: 'failed', pod: podName(v.pod) });
      this.failedOnce('cannot evict a pod that started before the Multus config was in place; retrying with backoff', err);
      // RBAC or the policy refuses every pod alike: stop this pass.
      if (err instanceof ApiError && err.status === 403) return 'stop';
      return err instanceof ApiError && err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : 'retry';
    }
  }

  private async podEvent(pod: PodKey, spec: EventSpec): Promise<void> {
    if (!this.opts.events) return;
    try {
      await expectOk(await this.access(), {
        method: 'POST',
        path: `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(pod.namespace)}/events`,
        body: eventBody(spec, { namespace: pod.namespace, name: pod.name, uid: pod.uid, nodeName: this.nodeName }, Date.now(), this.seq++),
        what: `create event ${spec.reason} on pod ${podName(pod)}`,
        rbac: `create on events.events.k8s.io in ${pod.namespace}`,
      });
    } catch (err) {
      if (this.loggedEventFailure) return;
      this.loggedEventFailure = true;
      this.log.warn('--repair-pods: cannot record a Kubernetes Event on a pod; later failures are not logged', { pod: podName(pod), error: messageOf(err) });
    }
  }

  /** Waits for an eviction token: a burst of BURST, then EVICTIONS_PER_SECOND. */
  private async takeToken(): Promise<void> {
    for (;;) {
      const now = this.clock.now();
      this.tokens = Math.min(BURST, this.tokens + ((now - this.refilled) / 1000) * EVICTIONS_PER_SECOND);
      this.refilled = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await this.clock.sleep(((1 - this.tokens) / EVICTIONS_PER_SECOND) * 1000, this.stopping.signal);
      if (this.stopping.signal.aborted) return;
    }
  }

  /** Keeps what was told only about pods still on the node. */
  private forgetGone(verdicts: readonly Verdict[]): void {
    const present = new Set(verdicts.map((v) => v.pod.uid));
    for (const key of this.told) if (!present.has(key.slice(0, key.indexOf('\0')))) this.told.delete(key);
  }

  /** True the first time this pod is told this. */
  private once(pod: PodKey, what: string): boolean {
    const key = `${pod.uid}\0${what}`;
    if (this.told.has(key)) return false;
    this.told.add(key);
    return true;
  }

  private failedOnce(msg: string, err: unknown): void {
    if (this.loggedFailure) return;
    this.loggedFailure = true;
    this.log.error(`--repair-pods: ${msg}`, { node: this.nodeName, error: messageOf(err) });
  }

  /** Stops: no new eviction starts; the one under way gets up to deadlineMs. */
  async close(deadlineMs: number): Promise<void> {
    this.stopping.abort();
    const running = this.running;
    if (!running) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([running, new Promise((r) => { timer = setTimeout(r, deadlineMs); })]);
    clearTimeout(timer);
  }
}

/** policy/v1 Eviction of exactly the pod read: another pod of that name, or a change since, is refused (409). */
function evictionBody(pod: PodKey): Record<string, unknown> {
  return {
    apiVersion: 'policy/v1',
    kind: 'Eviction',
    metadata: { name: pod.name, namespace: pod.namespace },
    deleteOptions: { preconditions: { uid: pod.uid, resourceVersion: pod.resourceVersion } },
  };
}

/** Whether a 429 Status is an eviction refused by a PodDisruptionBudget (its cause `DisruptionBudget`). */
function refusedByBudget(body: unknown): boolean {
  const causes = (body as { details?: { causes?: unknown } } | undefined)?.details?.causes;
  return Array.isArray(causes) && causes.some((c) => (c as { reason?: unknown } | null)?.reason === 'DisruptionBudget');
}

/** The wait a 429 Status asks for in its body (details.retryAfterSeconds), ms; the header's is in ApiResponse. */
function retryAfterMs(body: unknown): number {
  const seconds = (body as { details?: { retryAfterSeconds?: unknown } } | undefined)?.details?.retryAfterSeconds;
  return typeof seconds === 'number' && seconds > 0 ? seconds * 1000 : 0;
}
