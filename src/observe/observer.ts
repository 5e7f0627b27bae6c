// What the program reports about the node as it works: the one interface
// through which metrics, Kubernetes Events and the startup taint hear about
// writes, restores, switches and reconciles, so that the reconciler and the
// run loop call one `notify` instead of each of them.

/** Which generated file: the Multus config or its kubeconfig. */
export type FileKind = 'config' | 'kubeconfig';

export type NodeEvent =
  /**
   * A generated file was written: a new file, an update, a kubeconfig
   * renewed (only its token changed: a rotated mounted token or a renewed
   * node-bound one), a restore after another writer, or the invalidated config.
   */
  | { kind: 'wrote'; file: FileKind; path: string; cause: 'created' | 'updated' | 'renewed' | 'restored' | 'invalidated'; master?: string; how?: 'deleted' | 'changed' }
  /** Another writer keeps changing a generated file. */
  | { kind: 'fight'; file: FileKind; path: string; times: number; windowSeconds: number }
  /** The master in use changed (`previous` is undefined for the first one). */
  | { kind: 'master'; master: string; previous?: string }
  /** A reconcile ended: `configured` when the node's files are what they should be and no master is awaited; `master` the one in use (none while waiting). */
  | { kind: 'reconciled'; result: 'ok' | 'error'; configured: boolean; master?: string; error?: string }
  /** Cleanup on exit removed what was written (an uninstall). */
  | { kind: 'uninstall'; reason: string; removed: string[] };

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
