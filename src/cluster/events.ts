// Kubernetes Events (events.k8s.io/v1) regarding this pod, for what an
// operator must see in `kubectl describe pod`: config written, master
// switched, invalidated, restored, writer fight, uninstall cleanup. Sent in
// the background through the one API client; rate-limited and deduplicated;
// a refused or failed event is logged once and never blocks the loop.
import type { AccessReader } from './api-access.js';
import { messageOf } from '../base/errors.js';
import { isoTime } from '../base/iso-time.js';
import { expectOk } from './kube-api.js';
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

export const REPORTING_CONTROLLER = 'k8s.cni.cncf.io/multus-entrypoint';

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
          return { type: 'Warning', reason: 'ConfigRestored', action: 'Restore', note: `restored the ${what} ${e.path}: it was ${e.how ?? 'changed'} by someone else` };
        case 'invalidated':
          return { type: 'Warning', reason: 'ConfigInvalidated', action: 'Invalidate', note: `no master CNI config left: invalidated ${e.path} so that no pod starts without its default network` };
      }
      return undefined;
    }
    case 'fight':
      return { type: 'Warning', reason: 'WriterFight', action: 'Restore', note: `another writer keeps changing the ${FILE_NAMES[e.file]} ${e.path} (${e.times} times in ${e.windowSeconds} s): find and stop it` };
    case 'master':
      if (e.previous === undefined) return undefined; // the first one is in ConfigWritten
      return { type: 'Normal', reason: 'MasterSwitched', action: 'Write', note: `master CNI config switched from ${e.previous} to ${e.master}` };
    case 'uninstall':
      return { type: 'Normal', reason: 'UninstallCleanup', action: 'Cleanup', note: `uninstall (${e.reason}): removed ${e.removed.length > 0 ? e.removed.join(', ') : 'nothing'}` };
    case 'reconciled':
      return undefined;
  }
}

/** Event notes are at most 1 KiB (the API's limit). */
const MAX_NOTE = 1024;

/** events.k8s.io/v1 wants MicroTime: RFC 3339 with six fractional digits. */
function microTime(ms: number): string {
  return isoTime(ms).replace(/\.(\d{3})Z$/, '.$1000Z');
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
    reportingInstance: `${REPORTING_CONTROLLER}-${pod.nodeName || pod.name}`.slice(0, 128),
    action: spec.action,
    reason: spec.reason,
    note: spec.note.length > MAX_NOTE ? `${spec.note.slice(0, MAX_NOTE - 3)}...` : spec.note,
    type: spec.type,
    regarding: { apiVersion: 'v1', kind: 'Pod', namespace: pod.namespace, name: pod.name, ...(pod.uid ? { uid: pod.uid } : {}) },
  };
}

/** At most BURST events at once, then one every REFILL_MS; the same event again within DEDUP_MS is dropped. */
const BURST = 10;
const REFILL_MS = 6000;
const DEDUP_MS = 10 * 60_000;
const MAX_QUEUE = 25;

export class EventRecorder implements Observer {
  private readonly queue: EventSpec[] = [];
  private readonly recent = new Map<string, number>();
  private tokens = BURST;
  private refilled: number;
  private seq = 0;
  private sending: Promise<void> | undefined;
  private loggedFailure = false;
  private loggedDrop = false;
  private uid: string;

  constructor(
    private readonly access: AccessReader,
    private readonly pod: PodRef,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.refilled = now();
    this.uid = pod.uid;
  }

  notify(e: NodeEvent): void {
    const spec = describeEvent(e);
    if (spec) this.enqueue(spec);
  }

  private enqueue(spec: EventSpec): void {
    const now = this.now();
    const key = `${spec.reason}\0${spec.note}`;
    const seen = this.recent.get(key);
    if (seen !== undefined && now - seen < DEDUP_MS) return;
    for (const [k, t] of this.recent) if (now - t >= DEDUP_MS) this.recent.delete(k);
    this.tokens = Math.min(BURST, this.tokens + (now - this.refilled) / REFILL_MS);
    this.refilled = now;
    if (this.tokens < 1 || this.queue.length >= MAX_QUEUE) {
      if (!this.loggedDrop) {
        this.loggedDrop = true;
        this.log.warn('too many Kubernetes Events: dropping some (the log has every one)', { reason: spec.reason });
      }
      return;
    }
    this.tokens -= 1;
    this.recent.set(key, now);
    this.queue.push(spec);
    this.sending ??= this.drain().finally(() => { this.sending = undefined; });
  }

  private async drain(): Promise<void> {
    for (let spec = this.queue.shift(); spec; spec = this.queue.shift()) {
      try {
        await this.send(spec);
      } catch (err) {
        if (!this.loggedFailure) {
          this.loggedFailure = true;
          this.log.warn('cannot record a Kubernetes Event on this pod; later failures are not logged', { reason: spec.reason, error: messageOf(err) });
        }
      }
    }
  }

  private async send(spec: EventSpec): Promise<void> {
    const api = await this.access();
    const { namespace, name } = this.pod;
    const ns = encodeURIComponent(namespace);
    if (!this.uid) {
      // Without the pod's uid `kubectl describe pod` does not list the event.
      const pod = await expectOk(api, { method: 'GET', path: `/api/v1/namespaces/${ns}/pods/${encodeURIComponent(name)}`, what: `get pod ${namespace}/${name}`, rbac: 'get on pods' }).catch(() => undefined);
      const uid = (pod as { metadata?: { uid?: unknown } } | undefined)?.metadata?.uid;
      if (typeof uid === 'string') this.uid = uid;
    }
    await expectOk(api, {
      method: 'POST',
      path: `/apis/events.k8s.io/v1/namespaces/${ns}/events`,
      body: eventBody(spec, { ...this.pod, uid: this.uid }, this.now(), this.seq++),
      what: `create event ${spec.reason} on pod ${namespace}/${name}`,
      rbac: `create on events.events.k8s.io in ${namespace}`,
    });
  }

  async close(deadlineMs: number): Promise<void> {
    if (!this.sending) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.sending, new Promise((r) => { timer = setTimeout(r, deadlineMs); })]);
    clearTimeout(timer);
  }
}
