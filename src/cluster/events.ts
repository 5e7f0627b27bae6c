// Kubernetes Events (events.k8s.io/v1) regarding this pod, for what an
// operator must see in `kubectl describe pod`: config written, master
// switched, invalidated, restored, writer fight, uninstall cleanup. Recorded
// as client-go's events.k8s.io recorder does (core/event-series.ts says
// when): the same Event again becomes an EventSeries PATCHed at most once
// per 30 min, and no object gets more writes than client-go's spam filter
// allows. Sent in the background through the one API client, retried with
// the shared backoff (base/backoff.ts); a refused or failed Event is logged
// once and never blocks the loop. A token renewed on schedule is not an
// Event: /metrics counts it (multus_entrypoint_token_renewals_total).
import type { AccessReader } from './api-access.js';
import { Backoff, realClock, type BackoffPolicy, type Clock } from '../base/backoff.js';
import { messageOf } from '../base/errors.js';
import { isoTime } from '../base/iso-time.js';
import { describeFight, describeTampering } from '../core/other-writer.js';
import { EventSeriesBook, eventKey, type SeriesWrite } from '../core/event-series.js';
import { ApiError, callApi, expectOk, refused, retryable, WRITE_TIMEOUT_MS, type ApiAccess } from './kube-api.js';
import type { Logger } from '../observe/log.js';
import type { NodeEvent, Observer } from '../observe/observer.js';

export interface EventSpec {
  type: 'Normal' | 'Warning';
  reason: string;
  action: string;
  note: string;
}

export interface PodRef {
  namespace: string;
  name: string;
  /** Needed for `kubectl describe pod` to list the event; looked up when empty. */
  uid: string;
  /** Names the reporting instance: one per node. */
  nodeName: string;
}

const REPORTING_CONTROLLER = 'k8s.cni.cncf.io/multus-entrypoint';

const FILE_NAMES = { config: 'Multus config', kubeconfig: 'kubeconfig' } as const;

/** The Event an operator should see for a node event, if any. Pure. */
export function describeEvent(e: NodeEvent): EventSpec | undefined {
  switch (e.kind) {
    case 'wrote': {
      const what = FILE_NAMES[e.file];
      switch (e.cause) {
        case 'renewed':
          return undefined; // routine: counted in /metrics, not an Event
        case 'created':
        case 'updated': {
          const master = e.file === 'config' && e.master ? ` (master ${e.master})` : '';
          return { type: 'Normal', reason: e.file === 'config' ? 'ConfigWritten' : 'KubeconfigWritten', action: 'Write', note: `${e.cause === 'created' ? 'wrote' : 'updated'} the ${what} ${e.path}${master}` };
        }
        case 'restored':
          return { type: 'Warning', reason: 'ConfigRestored', action: 'Restore', note: `restored the ${what} ${e.path}: it was ${describeTampering(e.how ?? { what: 'overwritten' })}` };
        case 'invalidated':
          return { type: 'Warning', reason: 'ConfigInvalidated', action: 'Invalidate', note: `no master CNI config left: invalidated ${e.path} so that no pod starts without its default network` };
      }
      return undefined;
    }
    case 'fight':
      return { type: 'Warning', reason: 'WriterFight', action: 'Restore', note: describeFight(`${FILE_NAMES[e.file]} ${e.path}`, e.times, e.windowSeconds, e.how) };
    case 'outranked':
      if (e.by === undefined) return undefined; // the log says it is over
      return { type: 'Warning', reason: 'ConfigOutranked', action: 'Check', note: `${e.by} sorts before ${e.path} and is a valid CNI config: the container runtime loads it instead of Multus, so pods get no secondary networks; remove it, or rename it to sort after ${e.path.slice(e.path.lastIndexOf('/') + 1)}` };
    case 'master':
      if (e.previous === undefined) return undefined; // the first one is in ConfigWritten
      return { type: 'Normal', reason: 'MasterSwitched', action: 'Write', note: `master CNI config switched from ${e.previous} to ${e.master}` };
    case 'uninstall':
      return { type: 'Normal', reason: 'UninstallCleanup', action: 'Cleanup', note: `uninstall (${e.reason}): removed ${e.removed.length > 0 ? e.removed.join(', ') : 'nothing'}` };
    case 'reconciled':
    case 'repair': // its Event is on the pod repaired
      return undefined;
  }
}

/** Event notes are at most 1 KiB (the API's limit). */
const MAX_NOTE = 1024;

/** events.k8s.io/v1 wants MicroTime: RFC 3339 with six fractional digits. */
function microTime(ms: number): string {
  return isoTime(ms).replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** One reporter per node, as client-go's is per host. */
function reportingInstance(pod: PodRef): string {
  return `${REPORTING_CONTROLLER}-${pod.nodeName || pod.name}`.slice(0, 128);
}

/** The Event object to create. Pure. */
export function eventBody(spec: EventSpec, pod: PodRef, nowMs: number, seq: number): Record<string, unknown> {
  return {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    // Unique per pod and moment, as client-go names them.
    metadata: { name: `${pod.name}.${(nowMs * 1000 + seq).toString(16)}`, namespace: pod.namespace },
    eventTime: microTime(nowMs),
    reportingController: REPORTING_CONTROLLER,
    reportingInstance: reportingInstance(pod),
    action: spec.action,
    reason: spec.reason,
    note: spec.note.length > MAX_NOTE ? `${spec.note.slice(0, MAX_NOTE - 3)}...` : spec.note,
    type: spec.type,
    regarding: { apiVersion: 'v1', kind: 'Pod', namespace: pod.namespace, name: pod.name, ...(pod.uid ? { uid: pod.uid } : {}) },
  };
}

/** An Event's identity (core/event-series.ts): this pod, reason, action, type and reporter; not the note. */
export function identityOf(spec: EventSpec, pod: PodRef): string {
  return eventKey({ regarding: `v1/Pod/${pod.namespace}/${pod.name}`, reason: spec.reason, action: spec.action, type: spec.type, reportingController: REPORTING_CONTROLLER, reportingInstance: reportingInstance(pod) });
}

/** A failed write is retried after 2 s, 4 s ... (each within [d, 2d)), at most about 2 min apart, or what Retry-After asks. */
const EVENT_BACKOFF: BackoffPolicy = { initialMs: 2000, factor: 2, capMs: 60_000, jitter: 1 };
/** Tries per write, as client-go's maxTriesPerEvent. */
const MAX_TRIES = 12;
/** Writes waiting to be sent; the spam filter keeps this far from full. */
const MAX_QUEUE = 50;

interface Recorded {
  spec: EventSpec;
  /** The Event as created: its name is what a PATCH names. */
  body: Record<string, unknown>;
}

export class EventRecorder implements Observer {
  private readonly book = new EventSeriesBook();
  private readonly recorded = new Map<string, Recorded>();
  private readonly queue: SeriesWrite[] = [];
  private readonly stopping = new AbortController();
  private seq = 0;
  private sending: Promise<void> | undefined;
  private wake: NodeJS.Timeout | undefined;
  private loggedFailure = false;
  private loggedDrop = false;
  private uid: string;

  constructor(
    private readonly access: AccessReader,
    private readonly pod: PodRef,
    private readonly log: Logger,
    private readonly clock: Clock = realClock,
  ) {
    this.uid = pod.uid;
  }

  notify(e: NodeEvent): void {
    const spec = describeEvent(e);
    if (!spec || this.stopping.signal.aborted) return;
    const now = this.clock.now();
    const key = identityOf(spec, this.pod);
    const write = this.book.observe(key, `${this.pod.namespace}/${this.pod.name}`, now);
    if (write === 'dropped') {
      this.dropped(spec.reason);
    } else if (write !== 'counted') {
      if (write.kind === 'create') this.recorded.set(key, { spec, body: eventBody(spec, { ...this.pod, uid: this.uid }, now, this.seq++) });
      this.enqueue([write]);
    }
    this.schedule();
  }

  private dropped(reason: string | undefined): void {
    if (this.loggedDrop) return;
    this.loggedDrop = true;
    this.log.warn('too many Kubernetes Events on this pod: dropping some, as client-go\'s spam filter does (the log has every one)', { reason });
  }

  private enqueue(writes: SeriesWrite[]): void {
    for (const w of writes) {
      if (this.queue.length < MAX_QUEUE) this.queue.push(w);
      else this.dropped(this.recorded.get(w.key)?.spec.reason);
    }
    if (this.queue.length > 0) this.sending ??= this.drain().finally(() => { this.sending = undefined; });
  }

  /** Wakes when the book next has a PATCH due (a refresh, the end of a series). */
  private schedule(): void {
    clearTimeout(this.wake);
    const at = this.book.nextDueAt(this.clock.now());
    if (at === undefined || this.stopping.signal.aborted) return;
    this.wake = setTimeout(() => {
      this.enqueue(this.book.due(this.clock.now()));
      this.schedule();
    }, Math.max(0, Math.min(at - this.clock.now(), 2 ** 31 - 1)));
    // The reconcile loop keeps the program alive, not a pending PATCH.
    this.wake.unref();
  }

  private async drain(): Promise<void> {
    for (let w = this.queue.shift(); w; w = this.queue.shift()) {
      const backoff = new Backoff(EVENT_BACKOFF);
      for (;;) {
        try {
          await this.send(w, backoff.attempts > 0);
          break;
        } catch (err) {
          if (this.stopping.signal.aborted) return;
          if (!retryable(err) || backoff.attempts + 1 >= MAX_TRIES) {
            this.failed(w, err);
            break;
          }
          await this.clock.sleep(backoff.next(err instanceof ApiError ? err.retryAfterMs : undefined), this.stopping.signal);
        }
      }
    }
  }

  private failed(w: SeriesWrite, err: unknown): void {
    if (this.loggedFailure) return;
    this.loggedFailure = true;
    this.log.warn('cannot record a Kubernetes Event on this pod; later failures are not logged', { reason: this.recorded.get(w.key)?.spec.reason, error: messageOf(err) });
  }

  /** Sends one write; `retried` when an earlier try of it failed (and may yet have been made). */
  private async send(w: SeriesWrite, retried: boolean): Promise<void> {
    const r = this.recorded.get(w.key);
    if (!r) return;
    const api = await this.access();
    if (w.kind === 'create') {
      await this.fillUid(api, r);
      await this.create(api, r.body, retried);
      return;
    }
    const series = { count: w.count, lastObservedTime: microTime(w.lastObservedMs) };
    const name = String((r.body.metadata as { name: string }).name);
    const req = {
      method: 'PATCH' as const,
      path: `${this.eventsPath()}/${encodeURIComponent(name)}`,
      body: { series },
      contentType: 'application/strategic-merge-patch+json',
      what: `update event ${r.spec.reason} on pod ${this.pod.namespace}/${this.pod.name} (series of ${w.count})`,
      rbac: `patch on events.events.k8s.io in ${this.pod.namespace}`,
      timeoutMs: WRITE_TIMEOUT_MS,
      signal: this.stopping.signal,
    };
    const res = await callApi(api, req);
    // Gone (an Event lives an hour in etcd): created again with its series, as client-go does.
    if (res.status === 404) await this.create(api, { ...r.body, series }, retried);
    else if (res.status < 200 || res.status > 299) throw refused(req, res);
  }

  private eventsPath(): string {
    return `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(this.pod.namespace)}/events`;
  }

  private async create(api: ApiAccess, body: Record<string, unknown>, retried: boolean): Promise<void> {
    const req = {
      method: 'POST' as const,
      path: this.eventsPath(),
      body,
      what: `create event ${String(body.reason)} on pod ${this.pod.namespace}/${this.pod.name}`,
      rbac: `create on events.events.k8s.io in ${this.pod.namespace}`,
      timeoutMs: WRITE_TIMEOUT_MS,
      signal: this.stopping.signal,
    };
    const res = await callApi(api, req);
    // The name is this pod's and this moment's: on a retry, AlreadyExists
    // is the first try, made by a server that answered it 504 (or not at
    // all). It counts as done, not as a failure.
    if (res.status === 409 && retried) return;
    if (res.status < 200 || res.status > 299) throw refused(req, res);
  }

  /** Without the pod's uid `kubectl describe pod` does not list the event: looked up once when POD_UID is unset. */
  private async fillUid(api: ApiAccess, r: Recorded): Promise<void> {
    if (!this.uid) {
      const { namespace, name } = this.pod;
      const pod = await expectOk(api, { method: 'GET', path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`, what: `get pod ${namespace}/${name}`, rbac: 'get on pods' }).catch(() => undefined);
      const uid = (pod as { metadata?: { uid?: unknown } } | undefined)?.metadata?.uid;
      if (typeof uid === 'string') this.uid = uid;
    }
    const regarding = r.body.regarding as Record<string, unknown>;
    if (this.uid && regarding.uid === undefined) r.body.regarding = { ...regarding, uid: this.uid };
  }

  /** Sends the last count of every series that grew since its last write, and what is queued, within deadlineMs. */
  async close(deadlineMs: number): Promise<void> {
    clearTimeout(this.wake);
    this.enqueue(this.book.flush(this.clock.now()));
    if (this.sending) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.sending, new Promise((r) => { timer = setTimeout(r, deadlineMs); })]);
      clearTimeout(timer);
    }
    this.stopping.abort();
  }
}
