// Thick mode: multus-daemon serves every CNI call the shim hands it. A shim
// config written before the daemon answers fails each ADD after the shim's
// 60 s wait, so the config waits for the daemon as it waits for a master.
// Pure: the host layer (host/daemon-socket.ts) asks the socket.

export interface DaemonState {
  /** The socket asked (as this program sees it). */
  socket: string;
  /** It answered POST /healthz with 200 (as the shim asks); else why not. */
  ready: boolean;
  why?: string;
}

/** What is waited for while the daemon does not answer, for logs and /readyz. */
export function daemonWait(d: DaemonState): string {
  return `multus-daemon to answer on ${d.socket} (--daemon-socket-dir)${d.why ? `: ${d.why}` : ''}`;
}

/** The daemon's socket is asked again every second while it is waited for (it may come up unseen by the watcher). */
const DAEMON_POLL_MS = 1000;

/** How long the loop sleeps before the next look, when nothing wakes it. */
export function reconcileWaitMs(waitingFor: string | undefined, resyncSeconds: number): number {
  return waitingFor === 'daemon' ? DAEMON_POLL_MS : resyncSeconds * 1000;
}
