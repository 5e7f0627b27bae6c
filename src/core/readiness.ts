// --readiness-indicator-file: the default network says it is ready by
// creating this file (flannel's /run/flannel/subnet.env, for instance). The
// Multus config is written only while it exists, so no pod gets Multus
// before its default network can serve it (upstream's thick daemon waits
// for it; thin ignores it, multus #1306). Its removal while running counts
// like "no master". Pure: the host layer (host/read.ts) observes the file.

export interface Readiness {
  path: string;
  /** The file exists; or why it cannot be told (counts as not ready). */
  ready: boolean;
  why?: string;
}

/** What is waited for while the file is missing, for logs. */
export function readinessWait(r: Readiness): string {
  return `the readiness indicator file ${r.path} (--readiness-indicator-file): the default network is not ready`;
}
