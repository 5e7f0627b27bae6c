// --readiness-indicator-file: the default network says it is ready by
// creating this file (flannel's /run/flannel/subnet.env, for instance). The
// Multus config is written only while it exists, so no pod gets Multus
// before its default network can serve it (upstream's thick daemon waits
// for it; thin ignores it, multus #1306). Its removal while running counts
// like "no master".
import * as fsp from '../base/file-calls.js';
import { describeFsError } from '../base/errors.js';

export interface Readiness {
  path: string;
  /** The file exists; or why it cannot be told (counts as not ready). */
  ready: boolean;
  why?: string;
}

/** Whether the readiness indicator file exists now (anything at the path counts, as in Multus). */
export async function observeReadiness(path: string): Promise<Readiness> {
  try {
    await fsp.stat(path);
    return { path, ready: true };
  } catch (err) {
    return { path, ready: false, why: describeFsError(err) };
  }
}

/** What is waited for while the file is missing, for logs. */
export function readinessWait(r: Readiness): string {
  return `the readiness indicator file ${r.path} (--readiness-indicator-file): the default network is not ready`;
}
