// When --repair-pods looks at the node's pods: each time the Multus config
// comes into place. That is the first configured reconcile of this process,
// and every return from an invalidated or missing config: a write after the
// invalidation, every restore (while the file was deleted, renamed or
// overwritten, the runtime loaded the master without Multus), and the end of
// a config that sorted before ours (the runtime loaded that one instead).
//
// The moment the config came into place is the file's mtime, read when the
// repair is asked for: the write fills a temporary file and then renames
// it, and a rename keeps the mtime, so the mtime is never later than the
// moment the runtime could first see this content. A config found in place
// at start is as old as its mtime; one restored by someone else's rename is
// older still, which can only leave more pods alone. After a config that
// sorted first, it is when that one was seen gone, if later.
import * as fsp from '../base/file-calls.js';
import { JobError, messageOf } from '../base/errors.js';
import type { AccessReader } from '../cluster/api-access.js';
import type { Logger } from '../observe/log.js';
import type { NodeEvent, Observer } from '../observe/observer.js';
import type { Environment, Options } from '../core/options.js';

/** What the trigger drives (cluster/pod-repair.ts). */
interface Repairer {
  request(configSince: number): void;
  close(deadlineMs: number): Promise<void>;
}

export class RepairTrigger implements Observer {
  /** The config was in place at the last configured reconcile and not invalidated since. */
  private inPlace = false;
  private due = false;
  /** When a config that sorted before ours went away (ms). */
  private backAt = 0;

  constructor(
    private readonly repair: Repairer,
    /** The Multus config this process wrote or found in place, if any. */
    private readonly configFile: () => string | undefined,
    private readonly log: Logger,
  ) {}

  notify(e: NodeEvent): void {
    if (e.kind === 'wrote' && e.file === 'config') {
      if (e.cause === 'invalidated') this.inPlace = false;
      else if (e.cause === 'restored' || !this.inPlace) this.due = true;
    } else if (e.kind === 'outranked') {
      // While another config sorts first the runtime does not call Multus; it does from when that one goes.
      if (e.by !== undefined) this.inPlace = false;
      else this.backAt = Date.now();
    } else if (e.kind === 'reconciled' && e.configured) {
      if (!this.inPlace) this.due = true;
      this.inPlace = true;
      if (this.due) {
        this.due = false;
        void this.fire();
      }
    }
  }

  private async fire(): Promise<void> {
    const path = this.configFile();
    if (path === undefined) return;
    try {
      this.repair.request(Math.max((await fsp.stat(path)).mtimeMs, this.backAt));
    } catch (err) {
      // Gone again already: its restore asks again.
      this.log.warn('--repair-pods: cannot read when the Multus config was written; not looking at the pods this time', { file: path, error: messageOf(err) });
    }
  }

  close(deadlineMs: number): Promise<void> {
    return this.repair.close(deadlineMs);
  }
}

/** The trigger with its repairer, for run.ts' observers (loaded only with --repair-pods). */
export async function startRepair(o: Pick<Options, 'events'>, env: Pick<Environment, 'nodeName'>, access: AccessReader, report: Observer, configFile: () => string | undefined, log: Logger): Promise<RepairTrigger> {
  if (!env.nodeName) throw new JobError('--repair-pods: NODE_NAME is not set (give it the downward API\'s spec.nodeName), so the pods of this node are unknown');
  const { PodRepair } = await import('../cluster/pod-repair.js');
  return new RepairTrigger(new PodRepair(access, env.nodeName, log, report, { events: o.events }), configFile, log);
}
