// On SIGTERM/SIGINT with --cleanup-config-on-exit: on uninstall remove
// exactly what this program wrote and restore a renamed master; on a
// restart leave everything, so pods keep getting Multus meanwhile.
import * as fsp from '../base/file-calls.js';
import { join } from 'node:path';
import { apiAccessReader, type AccessEnv, type AccessSettings } from '../cluster/api-access.js';
import { describeFsError, messageOf } from '../base/errors.js';
import { kubeconfigPath } from '../core/desired.js';
import { removeIfExists } from '../host/files.js';
import { readCandidates } from '../host/read.js';
import type { Logger } from '../observe/log.js';
import type { Environment, Options } from '../core/options.js';
import type { Reconciler } from './reconciler.js';
import { checkUninstall, type Verdict } from '../cluster/uninstall-check.js';

/** This pod and its node, for the uninstall check. */
type PodEnv = Pick<Environment, 'podNamespace' | 'podName' | 'nodeName'>;

async function decide(o: AccessSettings, env: AccessEnv & PodEnv, log: Logger): Promise<Verdict> {
  let api;
  try {
    api = await apiAccessReader(o, env, log)();
  } catch (err) {
    return { uninstall: true, reason: `cannot ask the API server: ${messageOf(err)}` };
  }
  // Asked again, with backoff, for the pod's grace period less a margin (uninstall-check.ts).
  return checkUninstall(api, { namespace: env.podNamespace, podName: env.podName, nodeName: env.nodeName });
}

/** Renamed masters to restore: those renamed by this process, and one found renamed at start. */
type RenamedSettings = Pick<Options, 'renameConfFile' | 'multusConfFile' | 'multusAutoconfigDir' | 'multusMasterCniFileName'>;

async function renamedMasters(o: RenamedSettings, reconciler: Reconciler): Promise<Map<string, string>> {
  const renamed = new Map(reconciler.ownedFiles().renamed);
  if (!o.renameConfFile || o.multusConfFile !== 'auto') return renamed;
  const candidates = await readCandidates(o.multusAutoconfigDir, { pinned: o.multusMasterCniFileName, renamedMasters: true });
  for (const c of candidates) {
    if (c.diskName !== c.name) renamed.set(join(o.multusAutoconfigDir, c.diskName), join(o.multusAutoconfigDir, c.name));
  }
  return renamed;
}

/** The verdict, and on uninstall the files removed (for the event). */
type CleanupOutcome = Verdict & { removed: string[] };

export async function cleanUpOnExit(o: AccessSettings & RenamedSettings & Pick<Options, 'cniConfDir'>, env: AccessEnv & PodEnv, reconciler: Reconciler, log: Logger): Promise<CleanupOutcome> {
  const verdict = await decide(o, env, log);
  const removed: string[] = [];
  if (!verdict.uninstall) {
    log.info('restart, not uninstall: leaving the Multus config and kubeconfig in place', { reason: verdict.reason });
    return { ...verdict, removed };
  }
  log.info('uninstall: removing what this program wrote', { reason: verdict.reason });
  // The Multus config before the kubeconfig it names, the reverse of the
  // write order: Multus (ADD, DEL, and since v4.3.0 the STATUS a runtime
  // asks for its readiness) fails on a config whose kubeconfig is gone.
  const kubeconfig = kubeconfigPath(o);
  const written = reconciler.ownedFiles().written;
  for (const path of [...written.filter((p) => p !== kubeconfig), ...written.filter((p) => p === kubeconfig)]) {
    try {
      if (await removeIfExists(path)) {
        log.info('removed', { file: path });
        removed.push(path);
      }
    } catch (err) {
      log.error('cannot remove', { file: path, error: describeFsError(err) });
    }
  }
  for (const [renamedPath, original] of await renamedMasters(o, reconciler)) {
    try {
      await fsp.access(original).then(
        () => log.warn('not restoring the renamed master: a file of that name exists', { file: original }),
        () => fsp.rename(renamedPath, original).then(() => log.info('restored the renamed master config', { file: original })),
      );
    } catch (err) {
      log.error('cannot restore the renamed master config', { file: renamedPath, error: describeFsError(err) });
    }
  }
  return { ...verdict, removed };
}
