// What the program reports about the node as it works: the one interface
// through which metrics, Kubernetes Events and the startup taint hear about
// writes, restores, switches and reconciles, so that the reconciler and the
// run loop call one `notify` instead of each of them.
import type { Tampering } from '../core/other-writer.js';

/** Which generated file: the Multus config or its kubeconfig. */
export type FileKind = 'config' | 'kubeconfig';

/** What --repair-pods did with a pod that started before the config: evicted it, left it (nothing would recreate it), was refused by a PodDisruptionBudget, or failed. */
export type RepairResult = 'evicted' | 'left_alone' | 'blocked' | 'failed';

export type NodeEvent =
  /**
   * A generated file was written: a new file, an update, a kubeconfig
   * renewed (only its token changed: a rotated mounted token or a renewed
   * node-bound one), a restore after another writer, or the invalidated config.
   */
  | { kind: 'wrote'; file: FileKind; path: string; cause: 'created' | 'updated' | 'renewed' | 'restored' | 'invalidated'; master?: string; how?: Tampering }
  /** Another writer keeps changing a generated file; `how` it did the last time. */
  | { kind: 'fight'; file: FileKind; path: string; times: number; windowSeconds: number; how?: Tampering }
  /** A valid config sorts before the Multus config at `path`: the runtime loads `by` instead (undefined: no longer). */
  | { kind: 'outranked'; path: string; by?: string }
  /** The master in use changed (`previous` is undefined for the first one). */
  | { kind: 'master'; master: string; previous?: string }
  /** A reconcile ended: `configured` when the node's files are what they should be and no master is awaited; `master` the one in use (none while waiting). */
  | { kind: 'reconciled'; result: 'ok' | 'error'; configured: boolean; master?: string; error?: string }
  /** Cleanup on exit removed what was written (an uninstall). */
  | { kind: 'uninstall'; reason: string; removed: string[] }
  /** --repair-pods dealt with a pod (its own Event is on that pod). */
  | { kind: 'repair'; result: RepairResult; pod: string };

export interface Observer {
  /** Must not block or throw: observers queue their own work. */
  notify(event: NodeEvent): void;
  /** Finishes queued work (events, the taint) before the program exits, within `deadlineMs`. */
  close?(deadlineMs: number): Promise<void>;
}

export const NO_OBSERVER: Observer = { notify: () => undefined };

/** One observer that tells each of `observers`; one failing does not stop the others. */
export function fanOut(observers: readonly Observer[]): Observer {
  return {
    notify: (event) => {
      for (const o of observers) {
        try {
          o.notify(event);
        } catch {
          // An observer's fault must never reach the reconcile loop.
        }
      }
    },
    close: async (deadlineMs) => {
      await Promise.all(observers.map((o) => o.close?.(deadlineMs).catch(() => undefined)));
    },
  };
}
