// What the node's files should hold now, from what was observed. Pure: the
// reconciler observes, calls desiredState, and writes only the differences.
import { basename, join } from 'node:path';
import { isJsonObject } from '../base/json.js';
import { apiAccess, renderKubeconfig, type ApiAccess, type ServiceEnv, type YamlStringify } from './kubeconfig.js';
import type { Selection, Skipped } from './master.js';
import { RENAMED_SUFFIX } from './master.js';
import { INVALIDATED_CONTENT, renderMultusConfig, RenderError, type RenderOptions } from './multus-config.js';
import type { Environment, Options } from './options.js';
import { readinessWait, type Readiness } from './readiness.js';
import { renderShimConfig } from './shim-config.js';
import { daemonWait, type DaemonState } from './daemon.js';

type What = 'Multus config' | 'kubeconfig';

interface DesiredFile {
  path: string;
  content: string;
  mode: number;
  what: What;
}

export interface Desired {
  /** Files to hold exactly this content, in write order (kubeconfig first). */
  files: DesiredFile[];
  /** Files that must not exist (the stale twin of the Multus config). */
  remove: string[];
  /** With --rename-conf-file: the master to rename once the config is written. */
  renameMaster?: { from: string; to: string };
  /** The master in use (its ranking name). */
  master?: string;
  /** Set while there is no master (or the default network is not ready, or the thick daemon does not answer): what is being waited for. */
  waiting?: string;
  /** What the wait is for: a master config, the readiness indicator file, or multus-daemon. */
  waitingFor?: 'master' | 'readiness' | 'daemon';
  /** Candidates skipped, and why. */
  skipped: Skipped[];
  /** Faults that keep a part from being rendered; its file is left as it is. */
  errors: string[];
  /** A fault that must stop the program at start (a pinned master that is invalid). */
  fatal?: string;
}

/** Rendered Multus config remembered across reconciles, for "keep" and "invalidate". */
export interface LastConfig {
  fileName: string;
  content: string;
}

type NonAutoSource = { path: string; text: string } | { path: string; unreadable: string };

export interface Observation {
  /** Auto mode: the master selection. */
  selection?: Selection;
  /** Non-auto mode: the file to copy. */
  nonAuto?: NonAutoSource;
  /** The service account, or why it could not be read. */
  serviceAccount: { token: string; ca: Buffer | undefined } | { error: string };
  /** With --readiness-indicator-file: whether it exists. */
  readiness?: Readiness;
  /** Thick mode: whether multus-daemon answers (absent in thin mode and --dry-run). */
  daemon?: DaemonState;
  /** yaml's stringify, when the kubeconfig needs it (kubeconfigNeedsYamlLibrary); loaded lazily to keep it off the start path. */
  yamlStringify?: YamlStringify;
}

/**
 * The generated config and a copied non-auto one: 0600, as the CIS
 * Kubernetes Benchmark (1.1.9/1.1.10) asks of CNI files (multus-cni #1301);
 * the runtime and the Multus plugin read them as root.
 */
const CONFIG_MODE = 0o600;

export function kubeconfigPath(o: Pick<Options, 'cniConfDir'>): string {
  return join(o.cniConfDir, 'multus.d', 'multus.kubeconfig');
}

/** Where the kubeconfig goes and whether it carries the CA. */
type KubeconfigSettings = Pick<Options, 'cniConfDir' | 'skipTlsVerify'>;
/** The API server it names and its file mode. */
export type KubeconfigEnv = ServiceEnv & Pick<Environment, 'kubeconfigMode'>;

/** What the kubeconfig is rendered from, or why it cannot be. */
export function kubeconfigInput(serviceAccount: Observation['serviceAccount'], o: KubeconfigSettings, env: ServiceEnv): ApiAccess | { error: string } {
  if ('error' in serviceAccount) return { error: serviceAccount.error };
  for (const [name, value] of [['KUBERNETES_SERVICE_HOST', env.kubernetesServiceHost], ['KUBERNETES_SERVICE_PORT', env.kubernetesServicePort]]) {
    if (!value) return { error: `${kubeconfigPath(o)}: environment variable ${name} is not set (it is needed to write the kubeconfig)` };
  }
  return apiAccess(env, serviceAccount, o.skipTlsVerify);
}

function desiredKubeconfig(obs: Observation, o: KubeconfigSettings, env: KubeconfigEnv): DesiredFile | { error: string } {
  const input = kubeconfigInput(obs.serviceAccount, o, env);
  if ('error' in input) return input;
  return { path: kubeconfigPath(o), content: renderKubeconfig(input, obs.yamlStringify), mode: env.kubeconfigMode, what: 'kubeconfig' };
}

function desiredNonAuto(source: NonAutoSource, o: Pick<Options, 'cniConfDir'>, last: LastConfig | undefined, out: Desired): LastConfig | undefined {
  if ('unreadable' in source) {
    out.errors.push(`${source.path} (--multus-conf-file): ${source.unreadable}`);
    return last;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(source.text);
  } catch {
    parsed = undefined;
  }
  if (!isJsonObject(parsed)) {
    out.errors.push(`${source.path} (--multus-conf-file): not a JSON object`);
    return last;
  }
  out.files.push({ path: join(o.cniConfDir, basename(source.path)), content: source.text, mode: CONFIG_MODE, what: 'Multus config' });
  return { fileName: basename(source.path), content: source.text };
}

/**
 * While there is nothing to configure (no master, or the default network
 * not ready): keep the last config, or (with cleanup) make sure no pod
 * starts without its default network, as upstream v3 did.
 */
type KeepSettings = Pick<Options, 'cniConfDir' | 'cleanupConfigOnExit'>;

function keepOrInvalidate(o: KeepSettings, last: LastConfig | undefined, out: Desired): void {
  if (!last) return;
  const content = o.cleanupConfigOnExit ? INVALIDATED_CONTENT : last.content;
  out.files.push({ path: join(o.cniConfDir, last.fileName), content, mode: CONFIG_MODE, what: 'Multus config' });
}

/**
 * The config is held back until `waitingFor` is ready, like a missing
 * master. The default network not ready: the last config is kept, or
 * invalidated with --cleanup-config-on-exit. The daemon down: one written
 * earlier stays as it is, even with --cleanup-config-on-exit: the shim waits
 * for a daemon that restarts, and an invalidated config would fail those
 * pods at once.
 */
function holdBack(waitingFor: 'readiness' | 'daemon', waiting: string, o: KeepSettings, last: LastConfig | undefined, out: Desired): void {
  out.files = out.files.filter((f) => f.what !== 'Multus config');
  out.remove = [];
  delete out.renameMaster;
  out.waiting = waiting;
  out.waitingFor = waitingFor;
  keepOrInvalidate(waitingFor === 'daemon' ? { ...o, cleanupConfigOnExit: false } : o, last, out);
}

type AutoSettings = RenderOptions & KeepSettings & Pick<Options, 'multusAutoconfigDir' | 'multusMasterCniFileName' | 'renameConfFile' | 'mode' | 'daemonSocketDirHost'>;

function desiredAuto(selection: Selection, o: AutoSettings, last: LastConfig | undefined, out: Desired): LastConfig | undefined {
  out.skipped = selection.skipped;
  if (selection.kind === 'pinned-invalid') {
    const msg = `${join(o.multusAutoconfigDir, selection.name)} (--multus-master-cni-file-name): ${selection.reason}`;
    out.fatal = msg;
    out.errors.push(msg);
    return last;
  }
  if (selection.kind === 'none') {
    out.waiting = o.multusMasterCniFileName
      ? `${join(o.multusAutoconfigDir, o.multusMasterCniFileName)} (--multus-master-cni-file-name)`
      : `a valid .conf, .conflist or .json master config in ${o.multusAutoconfigDir}`;
    out.waitingFor = 'master';
    keepOrInvalidate(o, last, out);
    return last;
  }
  const { master } = selection;
  out.master = master.name;
  try {
    const rendered = o.mode === 'thick' ? renderShimConfig(master.name, master.config, o) : renderMultusConfig(master.name, master.config, o);
    out.files.push({ path: join(o.cniConfDir, rendered.fileName), content: rendered.content, mode: CONFIG_MODE, what: 'Multus config' });
    out.remove.push(join(o.cniConfDir, rendered.twinName));
    if (o.renameConfFile && master.diskName === master.name) {
      out.renameMaster = { from: join(o.multusAutoconfigDir, master.name), to: join(o.multusAutoconfigDir, master.name + RENAMED_SUFFIX) };
    }
    return { fileName: rendered.fileName, content: rendered.content };
  } catch (err) {
    if (!(err instanceof RenderError)) throw err;
    out.errors.push(`${join(o.multusAutoconfigDir, master.diskName)}: ${err.message.replace(`${master.name}: `, '')}`);
    return last;
  }
}

/**
 * The files the node should hold. `last` is the Multus config rendered by an
 * earlier reconcile (kept or invalidated when the master is gone); the new
 * one is returned for the next call.
 */
/** Every setting the desired state reads. */
export type DesiredSettings = AutoSettings & KubeconfigSettings;

export function desiredState(obs: Observation, o: DesiredSettings, env: KubeconfigEnv, last: LastConfig | undefined): { desired: Desired; last: LastConfig | undefined } {
  const desired: Desired = { files: [], remove: [], skipped: [], errors: [] };
  // Thick: the daemon uses its own in-cluster client, so no kubeconfig.
  const kubeconfig = o.mode === 'thick' ? undefined : desiredKubeconfig(obs, o, env);
  if (kubeconfig && 'error' in kubeconfig) desired.errors.push(kubeconfig.error);
  else if (kubeconfig) desired.files.push(kubeconfig);
  let next = last;
  if (obs.nonAuto) next = desiredNonAuto(obs.nonAuto, o, last, desired);
  else if (obs.selection) next = desiredAuto(obs.selection, o, last, desired);
  // Without a master the wait is for it (no new config either way).
  if (obs.readiness && !obs.readiness.ready && !desired.fatal && !desired.waiting) {
    holdBack('readiness', readinessWait(obs.readiness), o, last, desired);
    next = last;
  }
  if (obs.daemon && !obs.daemon.ready && !desired.fatal && !desired.waiting) {
    holdBack('daemon', daemonWait(obs.daemon), o, last, desired);
    next = last;
  }
  if (kubeconfig && 'error' in kubeconfig) {
    withholdConfig(desired);
    next = last;
  }
  return { desired, last: next };
}

/**
 * Never half a configuration: a Multus config naming a kubeconfig that is
 * not there fails every pod on the node, where without it the default
 * network would have worked. Only the invalidated config (which names no
 * kubeconfig) may still be written.
 */
function withholdConfig(desired: Desired): void {
  desired.files = desired.files.filter((f) => f.what !== 'Multus config' || f.content === INVALIDATED_CONTENT);
  desired.remove = [];
  delete desired.renameMaster;
}
