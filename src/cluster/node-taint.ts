// --node-ready-taint: the node registers with a NoSchedule taint (kubelet
// --register-with-taints) so that no pod is scheduled before Multus is
// ready; this removes it once the node is configured and puts it back when
// the config is invalidated and on uninstall. Putting it back is immediate;
// removing it waits until the config has held for a hold-down (10 s), so a
// default network that flaps costs a node PATCH per hold-down, not one per
// flap (every Node write goes to every Node watcher in the cluster). In the
// background, through the one API client, retried with the shared backoff
// (base/backoff.ts); it never blocks the loop.
import type { AccessReader } from './api-access.js';
import { Backoff, realClock, type BackoffPolicy, type Clock } from '../base/backoff.js';
import { messageOf } from '../base/errors.js';
import { ApiError, expectOk, WRITE_TIMEOUT_MS } from './kube-api.js';
import type { Logger } from '../observe/log.js';
import type { NodeEvent, Observer } from '../observe/observer.js';

interface Taint { key: string; effect: string; value?: string; timeAdded?: string }
type Want = 'present' | 'absent';

/**
 * The JSON patch that makes `want` true of the node's NoSchedule taint
 * `key`, or undefined when it already is. It tests the taints as read (null
 * when there are none), so someone else's taint added meanwhile makes it
 * fail (and be recomputed) rather than be dropped; a change elsewhere in the
 * node (a status heartbeat, a label) does not, as a test of the node's
 * resourceVersion would (each such failure another PATCH). Pure.
 */
export function taintPatch(node: unknown, key: string, want: Want): unknown[] | undefined {
  const n = node as { spec?: { taints?: unknown } } | undefined;
  const read = Array.isArray(n?.spec?.taints) ? (n.spec.taints as Taint[]) : undefined;
  const taints = read ?? [];
  const ours = (t: Taint): boolean => t.key === key && t.effect === 'NoSchedule';
  const has = taints.some(ours);
  if ((want === 'present') === has) return undefined;
  const next = want === 'present' ? [...taints, { key, effect: 'NoSchedule' }] : taints.filter((t) => !ours(t));
  return [
    { op: 'test', path: '/spec/taints', value: read ?? null },
    { op: 'add', path: '/spec/taints', value: next },
  ];
}

/** A failed GET or PATCH is retried after 1 s, 2 s, 4 s ... (each within [d, 2d)), at most about a minute, or what Retry-After asks. */
const TAINT_BACKOFF: BackoffPolicy = { initialMs: 1000, factor: 2, capMs: 30_000, jitter: 1 };
/** How long the config must have held (stayed configured) before the taint is removed. */
export const HOLD_DOWN_MS = 10_000;

/** When the taint may go: `ms` after the node became configured and stayed so. Pure: times are passed in. */
export class HoldDown {
  private since: number | undefined;

  constructor(private readonly ms: number) {}

  /** A reconcile found the node configured at `now` (the first such since it was not starts the hold-down). */
  configured(now: number): void {
    this.since ??= now;
  }

  /** Not configured (invalidated, waiting, a fault, uninstall): the hold-down starts over next time. */
  broken(): void {
    this.since = undefined;
  }

  /** When the config will have held long enough; undefined while it is not configured. */
  dueAt(): number | undefined {
    return this.since === undefined ? undefined : this.since + this.ms;
  }
}

interface NodeTaintOptions {
  /** HOLD_DOWN_MS; 0 with --once (no loop, nothing to flap). */
  holdDownMs?: number;
  clock?: Clock;
}

export class NodeTaint implements Observer {
  private want: Want | undefined;
  private done: Want | undefined;
  private working: Promise<void> | undefined;
  private readonly backoff = new Backoff(TAINT_BACKOFF);
  private readonly stopping = new AbortController();
  private readonly holdDown: HoldDown;
  private readonly clock: Clock;
  private removal: NodeJS.Timeout | undefined;

  constructor(
    private readonly access: AccessReader,
    private readonly nodeName: string,
    private readonly key: string,
    private readonly log: Logger,
    o: NodeTaintOptions = {},
  ) {
    this.holdDown = new HoldDown(o.holdDownMs ?? HOLD_DOWN_MS);
    this.clock = o.clock ?? realClock;
  }

  notify(e: NodeEvent): void {
    if (e.kind === 'reconciled') {
      if (!e.configured) this.notConfigured();
      else {
        this.holdDown.configured(this.clock.now());
        this.removeWhenHeld();
      }
    } else if ((e.kind === 'wrote' && e.cause === 'invalidated') || e.kind === 'uninstall') {
      this.notConfigured();
      this.set('present');
    }
  }

  private notConfigured(): void {
    this.holdDown.broken();
    clearTimeout(this.removal);
    this.removal = undefined;
  }

  /** Removes the taint once the config has held for the hold-down (now, or when the timer fires). */
  private removeWhenHeld(): void {
    const due = this.holdDown.dueAt();
    if (due === undefined || this.removal || this.stopping.signal.aborted) return;
    const wait = due - this.clock.now();
    if (wait <= 0) {
      this.set('absent');
      return;
    }
    this.removal = setTimeout(() => {
      this.removal = undefined;
      this.removeWhenHeld();
    }, wait);
  }

  private set(want: Want): void {
    this.want = want;
    if (this.done === want) return;
    this.working ??= this.converge().finally(() => { this.working = undefined; });
  }

  private async converge(): Promise<void> {
    while (this.want !== undefined && this.want !== this.done && !this.stopping.signal.aborted) {
      const want = this.want;
      try {
        await this.apply(want);
        this.done = want;
        this.backoff.reset();
      } catch (err) {
        // The node's state is unknown now: a PATCH answered 504 (or not at
        // all) may still be applied by the server after it answered. Read
        // again before deciding, even if the wish flips back meanwhile.
        this.done = undefined;
        if (this.backoff.attempts === 0) {
          this.log.error(`--node-ready-taint: cannot ${want === 'absent' ? 'remove' : 'put back'} the taint; retrying with backoff`, { node: this.nodeName, taint: this.key, error: messageOf(err) });
        }
        await this.clock.sleep(this.backoff.next(err instanceof ApiError ? err.retryAfterMs : undefined), this.stopping.signal);
      }
    }
  }

  private async apply(want: Want): Promise<void> {
    const api = await this.access();
    const path = `/api/v1/nodes/${encodeURIComponent(this.nodeName)}`;
    const node = await expectOk(api, { method: 'GET', path, what: `get node ${this.nodeName}`, rbac: 'get on nodes', timeoutMs: WRITE_TIMEOUT_MS, signal: this.stopping.signal });
    const patch = taintPatch(node, this.key, want);
    if (!patch) return;
    const req = {
      method: 'PATCH' as const,
      path,
      body: patch,
      contentType: 'application/json-patch+json',
      what: `${want === 'absent' ? 'remove' : 'add'} taint ${this.key}:NoSchedule on node ${this.nodeName}`,
      rbac: 'patch on nodes (and the ValidatingAdmissionPolicy multus-node-ready-taint)',
      timeoutMs: WRITE_TIMEOUT_MS,
      signal: this.stopping.signal,
    };
    // Taints changed between the GET and the PATCH fail the test: the retry looks again.
    await expectOk(api, req);
    this.log.info(want === 'absent' ? 'removed the startup taint: pods may be scheduled on this node' : 'put the startup taint back: no new pods on this node until Multus is configured', { node: this.nodeName, taint: `${this.key}:NoSchedule` });
  }

  async close(deadlineMs: number): Promise<void> {
    // A removal still held down stays undone: the next pod removes the taint after its own hold-down.
    clearTimeout(this.removal);
    this.removal = undefined;
    const working = this.working;
    if (working) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([working, new Promise((r) => { timer = setTimeout(r, deadlineMs); })]);
      clearTimeout(timer);
    }
    this.stopping.abort();
  }
}
