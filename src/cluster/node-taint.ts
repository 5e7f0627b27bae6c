// --node-ready-taint: the node registers with a NoSchedule taint (kubelet
// --register-with-taints) so that no pod is scheduled before Multus is
// ready; this removes it once the node is configured and puts it back when
// the config is invalidated and on uninstall. In the background, through
// the one API client, retried with backoff; it never blocks the loop.
import type { AccessReader } from './api-access.js';
import { messageOf } from '../base/errors.js';
import { expectOk } from './kube-api.js';
import type { Logger } from '../observe/log.js';
import type { NodeEvent, Observer } from '../observe/observer.js';

export interface Taint { key: string; effect: string; value?: string; timeAdded?: string }
type Want = 'present' | 'absent';

/**
 * The JSON patch that makes `want` true of the node's NoSchedule taint
 * `key`, or undefined when it already is. It tests the resourceVersion, so
 * a concurrent change of the node makes it fail (and be recomputed) rather
 * than drop someone else's taint. Pure.
 */
export function taintPatch(node: unknown, key: string, want: Want): unknown[] | undefined {
  const n = node as { metadata?: { resourceVersion?: unknown }; spec?: { taints?: unknown } } | undefined;
  const taints = Array.isArray(n?.spec?.taints) ? (n.spec.taints as Taint[]) : [];
  const ours = (t: Taint): boolean => t.key === key && t.effect === 'NoSchedule';
  const has = taints.some(ours);
  if ((want === 'present') === has) return undefined;
  const next = want === 'present' ? [...taints, { key, effect: 'NoSchedule' }] : taints.filter((t) => !ours(t));
  return [
    { op: 'test', path: '/metadata/resourceVersion', value: n?.metadata?.resourceVersion },
    { op: 'add', path: '/spec/taints', value: next },
  ];
}

const MAX_BACKOFF_MS = 30_000;

export class NodeTaint implements Observer {
  private want: Want | undefined;
  private done: Want | undefined;
  private working: Promise<void> | undefined;
  private failures = 0;
  private closed = false;

  constructor(
    private readonly access: AccessReader,
    private readonly nodeName: string,
    private readonly key: string,
    private readonly log: Logger,
  ) {}

  notify(e: NodeEvent): void {
    if (e.kind === 'reconciled' && e.configured) this.set('absent');
    else if (e.kind === 'wrote' && e.cause === 'invalidated') this.set('present');
    else if (e.kind === 'uninstall') this.set('present');
  }

  private set(want: Want): void {
    this.want = want;
    if (this.done === want) return;
    this.working ??= this.converge().finally(() => { this.working = undefined; });
  }

  private async converge(): Promise<void> {
    while (this.want !== undefined && this.want !== this.done && !this.closed) {
      const want = this.want;
      try {
        await this.apply(want);
        this.done = want;
        this.failures = 0;
      } catch (err) {
        if (this.failures === 0) {
          this.log.error(`--node-ready-taint: cannot ${want === 'absent' ? 'remove' : 'put back'} the taint; retrying with backoff`, { node: this.nodeName, taint: this.key, error: messageOf(err) });
        }
        this.failures++;
        await new Promise((r) => setTimeout(r, Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.failures)));
      }
    }
  }

  private async apply(want: Want): Promise<void> {
    const api = await this.access();
    const path = `/api/v1/nodes/${encodeURIComponent(this.nodeName)}`;
    const node = await expectOk(api, { method: 'GET', path, what: `get node ${this.nodeName}`, rbac: 'get on nodes' });
    const patch = taintPatch(node, this.key, want);
    if (!patch) return;
    const req = {
      method: 'PATCH' as const,
      path,
      body: patch,
      contentType: 'application/json-patch+json',
      what: `${want === 'absent' ? 'remove' : 'add'} taint ${this.key}:NoSchedule on node ${this.nodeName}`,
      rbac: 'patch on nodes (and the ValidatingAdmissionPolicy multus-node-ready-taint)',
    };
    // A node changed between the GET and the PATCH fails the test: the retry looks again.
    await expectOk(api, req);
    this.log.info(want === 'absent' ? 'removed the startup taint: pods may be scheduled on this node' : 'put the startup taint back: no new pods on this node until Multus is configured', { node: this.nodeName, taint: `${this.key}:NoSchedule` });
  }

  async close(deadlineMs: number): Promise<void> {
    const working = this.working;
    if (working) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([working, new Promise((r) => { timer = setTimeout(r, deadlineMs); })]);
      clearTimeout(timer);
    }
    this.closed = true;
  }
}
