// Counters of what happened, kept from the first write on (before the
// metrics library is loaded): /metrics reads them at scrape time.
import type { FileKind, NodeEvent, Observer, RepairResult } from './observer.js';

export class Stats implements Observer {
  readonly reconciles = { ok: 0, error: 0 };
  readonly writes: Record<FileKind, number> = { config: 0, kubeconfig: 0 };
  restores = 0;
  invalidations = 0;
  readonly repairs: Record<RepairResult, number> = { evicted: 0, left_alone: 0, blocked: 0, failed: 0 };
  /** Kubeconfig rewrites that only changed its token (routine: a metric, not an Event). */
  tokenRenewals = 0;
  /** The master config in use (its name); none while waiting for one. */
  master: string | undefined;

  notify(e: NodeEvent): void {
    switch (e.kind) {
      case 'wrote':
        this.writes[e.file]++;
        if (e.cause === 'restored') this.restores++;
        if (e.cause === 'invalidated') this.invalidations++;
        if (e.cause === 'renewed') this.tokenRenewals++;
        return;
      case 'reconciled':
        this.reconciles[e.result]++;
        // A failed reconcile keeps the files, and so the master, as they were.
        if (e.result === 'ok') this.master = e.master;
        return;
      case 'repair':
        this.repairs[e.result]++;
        return;
      default:
    }
  }
}
