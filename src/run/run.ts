// The program: install the binary, wait for a master and write the configs
// (one reconcile), then keep them true until SIGTERM/SIGINT. As in Istio's
// installer, no change slips between checking and waiting: every start of
// the watcher is followed by one more check.
import type { Server } from 'node:http';
import { dirname } from 'node:path';
import { installBinaries } from '../host/binary.js';
import { restartCrio } from '../host/crio.js';
import type { Desired } from '../core/desired.js';
import { kubeconfigPath } from '../core/desired.js';
import { JobError, messageOf } from '../base/errors.js';
import { removeStaleTemps } from '../host/files.js';
import { moveFileCallsOffTheMainThread } from '../base/file-calls.js';
import type { Logger } from '../observe/log.js';
import { RENAMED_SUFFIX } from '../core/master.js';
import type { Environment, Options } from '../core/options.js';
import { fanOut, type Observer } from '../observe/observer.js';
import { Reconciler } from './reconciler.js';
import { reconcileWaitMs } from '../core/daemon.js';
import { Stats } from '../observe/stats.js';
import { printPlan } from './dry-run.js';
import { FIRST_TOKEN_WAIT_MS, startTokens } from './token-choice.js';
import { startWatcher, Trigger, watchTargets, type Watcher } from '../host/watch.js';

/**
 * SIGTERM/SIGINT. Loops check `signal` after each wake-up and the handler
 * kicks the trigger to wake them: racing every wait against one promise
 * that settles only at the end would add a reaction to it per turn (a leak
 * measured by the reliability soak).
 */
class Stop {
  signal: NodeJS.Signals | undefined;
  readonly done: Promise<void>;

  constructor(trigger: Trigger, log: Logger) {
    let resolve: () => void = () => undefined;
    this.done = new Promise((r) => { resolve = r; });
    const handler = (signal: NodeJS.Signals): void => {
      if (this.signal) {
        log.warn(`received ${signal} again; still finishing`);
        return;
      }
      this.signal = signal;
      log.info(`received ${signal}, stopping`);
      resolve();
      trigger.kick();
    };
    process.on('SIGTERM', handler);
    process.on('SIGINT', handler);
  }
}

/** When the watch loop last took a turn; without a loop there is nothing to stall. */
class Heartbeat {
  private last = Date.now();
  constructor(private readonly noLoop: boolean) {}
  beat(): void { this.last = Date.now(); }
  ageMs(): number { return this.noLoop ? 0 : Date.now() - this.last; }
}

/** How long queued events and the taint get to finish before the program exits. */
const OBSERVERS_DEADLINE_MS = 5000;

type ObserverSettings = Pick<Options, 'dryRun' | 'once' | 'events' | 'nodeReadyTaint' | 'repairPods' | 'serviceAccountDir' | 'skipTlsVerify'>;
type ObserverEnv = Pick<Environment, 'kubernetesServiceProtocol' | 'kubernetesServiceHost' | 'kubernetesServicePort' | 'kubeCaFile' | 'podNamespace' | 'podName' | 'podUid' | 'nodeName'>;

/** Metrics always; Kubernetes Events, the startup taint and pod repair when enabled (loaded only then). */
async function observers(o: ObserverSettings, env: ObserverEnv, log: Logger, stats: Stats, configFile: () => string | undefined): Promise<Observer> {
  const list: Observer[] = [stats];
  if (o.dryRun) return fanOut(list);
  const { apiAccessReader } = await import('../cluster/api-access.js');
  const access = apiAccessReader({ serviceAccountDir: o.serviceAccountDir, skipTlsVerify: o.skipTlsVerify }, env, log);
  if (o.events && env.podName && env.podNamespace && env.kubernetesServiceHost) {
    const { EventRecorder } = await import('../cluster/events.js');
    list.push(new EventRecorder(access, { namespace: env.podNamespace, name: env.podName, uid: env.podUid, nodeName: env.nodeName }, log));
  }
  if (o.nodeReadyTaint) {
    if (!env.nodeName) throw new JobError('--node-ready-taint: NODE_NAME is not set (give it the downward API\'s spec.nodeName), so the node to untaint is unknown');
    const { NodeTaint } = await import('../cluster/node-taint.js');
    // With --once there is no loop and nothing to flap: no hold-down before the removal.
    list.push(new NodeTaint(access, env.nodeName, o.nodeReadyTaint, log, o.once ? { holdDownMs: 0 } : {}));
  }
  if (o.repairPods) list.push(await (await import('./repair-trigger.js')).startRepair(o, env, access, fanOut([...list]), configFile, log));
  return fanOut(list);
}

export async function run(o: Options, env: Environment, log: Logger): Promise<void> {
  const stats = new Stats();
  let configFile = (): string | undefined => undefined;
  const observer = await observers(o, env, log, stats, () => configFile());
  const reconciler = new Reconciler(o, env, log, observer);
  configFile = () => reconciler.multusConfigPath();
  const trigger = new Trigger();
  const stop = new Stop(trigger, log);

  if (!o.dryRun) {
    for (const dir of [o.cniBinDir, o.cniConfDir, dirname(kubeconfigPath(o)), o.multusAutoconfigDir]) {
      for (const name of await removeStaleTemps(dir)) log.warn('removed a temporary file left by an earlier run', { file: `${dir}/${name}` });
    }
  }
  // Asked before the binary is installed, so the answer overlaps the copy.
  const tokens = o.mode === 'thick' ? { note: 'thick mode: no kubeconfig (multus-daemon uses its own in-cluster client)' } : await startTokens(o, env, reconciler, trigger, log);
  await installBinaries(o, log);
  // The first config waits at most this long on the API server.
  await tokens.source?.firstAnswer(FIRST_TOKEN_WAIT_MS);

  // The watcher starts only when needed (waiting for a master, or the watch
  // loop), so a plain start writes the config before loading chokidar. Each
  // start is followed by one more check, so no change between the last
  // check and the watcher's start is missed.
  let watcher: Watcher | undefined;
  const startWatching = async (): Promise<void> => {
    watcher ??= await startWatcher(watchTargets(o, dirname(kubeconfigPath(o)), env.kubeCaFile), () => trigger.kick(), log);
    trigger.kick();
  };
  // Health is served from the first wait for a master on (a liveness probe
  // must not restart a pod that is waiting as told), or once written; it is
  // loaded only then, as node:http costs start-up CPU.
  const heartbeat = new Heartbeat(o.skipConfigWatch);
  let server: Server | undefined;
  const serveHealth = async (): Promise<void> => {
    // From here on a file that hangs must stall only the reconcile loop.
    moveFileCallsOffTheMainThread();
    if (o.healthPort === 0 || o.dryRun || o.once || server) return;
    const checkInSync = (): ReturnType<Reconciler['checkInSync']> => reconciler.checkInSync();
    const metrics = (await import('../observe/metrics.js')).createMetrics({ stats, checkInSync, kubeconfigPath: kubeconfigPath(o) });
    server = await (await import('../observe/health.js')).startHealthServer(o.healthPort, {
      loopAgeMs: () => heartbeat.ageMs(),
      maxLoopAgeMs: 2 * o.resyncIntervalSeconds * 1000 + 30_000,
      checkInSync,
      metrics,
    }, log);
  };
  const loop: Loop = { o, reconciler, trigger, stop, heartbeat, log, observer, startWatching, serveHealth, tokenNote: tokens.note };
  try {
    const first = await firstInstall(loop);
    if (first !== 'stopped' && !o.dryRun && !o.once) await stayRunning(loop, first.master, async () => {
      await watcher?.close();
      watcher = undefined;
    });
  } finally {
    tokens.source?.stop();
    await watcher?.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  }
  try {
    if (o.cleanupConfigOnExit && !o.dryRun && !o.once) {
      const cleanup = await (await import('./cleanup.js')).cleanUpOnExit(o, env, reconciler, log);
      if (cleanup.uninstall) observer.notify({ kind: 'uninstall', reason: cleanup.reason, removed: cleanup.removed });
    }
  } finally {
    // Events still queued and the taint being put back (on uninstall) finish first.
    await observer.close?.(OBSERVERS_DEADLINE_MS);
  }
}

/** The settings the phases of a run read. */
type LoopSettings = Pick<Options, 'dryRun' | 'masterCniWaitTimeoutSeconds' | 'resyncIntervalSeconds' | 'restartCrio' | 'skipConfigWatch' | 'cleanupConfigOnExit'>;

/** What the phases of a run share. */
interface Loop {
  /** Which token the kubeconfig carries, for --dry-run. */
  tokenNote: string;
  o: LoopSettings;
  reconciler: Reconciler;
  trigger: Trigger;
  stop: Stop;
  heartbeat: Heartbeat;
  log: Logger;
  observer: Observer;
  startWatching(): Promise<void>;
  serveHealth(): Promise<void>;
}

/** After the first install: serve health, restart CRI-O if asked, watch (or just wait) until a signal. */
async function stayRunning(l: Loop, master: string | undefined, stopWatching: () => Promise<void>): Promise<void> {
  const { o, log } = l;
  await l.serveHealth();
  if (o.restartCrio) await restartCrio(log);
  if (o.skipConfigWatch) {
    await stopWatching();
    log.info('installed; not watching (--skip-config-watch), waiting for a signal');
    // Signal handlers do not keep Node alive; without a handle it would exit (code 13).
    const keepAlive = setInterval(() => undefined, 2 ** 31 - 1);
    // Only a renewed node-bound token (or the signal) wakes this: the
    // renewed token must still reach the kubeconfig.
    for (;;) {
      await l.trigger.wait(2 ** 31 - 1);
      if (l.stop.signal) break;
      await l.reconciler.reconcile().catch((err: unknown) => log.error('cannot write the renewed token', { error: messageOf(err) }));
    }
    clearInterval(keepAlive);
  } else {
    await l.startWatching();
    await keepTrue(l, master);
  }
}

/** Reconciles until the configs are written (gives the master used); waits for a master up to the timeout. */
async function firstInstall(l: Loop): Promise<{ master: string | undefined } | 'stopped'> {
  const { o, reconciler, trigger, log } = l;
  const deadline = Date.now() + o.masterCniWaitTimeoutSeconds * 1000;
  let loggedWait = '';
  for (;;) {
    l.heartbeat.beat();
    // At start every fault is fatal, and found before anything is written:
    // a fault in either file leaves the node's files as they were.
    const plan = await reconciler.plan();
    let desired = plan.desired;
    if (desired.errors.length > 0) throw new JobError(desired.errors.join('; '));
    if (!o.dryRun) desired = (await reconciler.apply(plan)).desired;
    if (desired.errors.length > 0) throw new JobError(desired.errors.join('; '));
    if (!desired.waiting) {
      if (o.dryRun) printPlan(desired, log.mask, [l.tokenNote]);
      else log.info('the node is configured', { master: desired.master });
      return { master: desired.master };
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      const what = TIMED_OUT[desired.waitingFor ?? 'master'];
      throw new JobError(`${what} after ${o.masterCniWaitTimeoutSeconds} s (--master-cni-wait-timeout): waited for ${desired.waiting}`);
    }
    if (loggedWait === '') {
      await l.startWatching();
      await l.serveHealth();
    }
    if (loggedWait !== desired.waiting) {
      loggedWait = desired.waiting;
      log.info(`waiting for ${desired.waiting}`, { timeoutSeconds: Math.ceil(left / 1000) });
    }
    // Also re-checks on the resync timer, in case an event is lost.
    await trigger.wait(Math.min(left, reconcileWaitMs(desired.waitingFor, o.resyncIntervalSeconds)));
    if (l.stop.signal) return 'stopped';
  }
}

/** What a wait is for: at start (after the timeout), and while running. */
const TIMED_OUT = { master: 'no master config', readiness: 'the default network not ready', daemon: 'multus-daemon not answering' } as const;
const WAITING = { master: 'no master config', readiness: 'the default network is not ready', daemon: 'multus-daemon does not answer' } as const;

/** How long a master that turned invalid gets to finish being written. */
const SETTLE_MS = 250;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** True when the master in use is still there but reads as invalid (skipped, or a pinned one). */
function readsInvalid(planned: Desired, master: string): boolean {
  return planned.fatal !== undefined || planned.skipped.some((s) => s.name === master || s.name === master + RENAMED_SUFFIX);
}

/** The watch loop: reconcile on every event and on the slow resync timer. */
async function keepTrue(l: Loop, master: string | undefined): Promise<void> {
  const { o, reconciler, trigger, stop, heartbeat, log } = l;
  log.info('watching for changes', { resyncSeconds: o.resyncIntervalSeconds });
  let lastStatus = '';
  let inUse = master;
  let nextWaitMs = o.resyncIntervalSeconds * 1000;
  for (;;) {
    heartbeat.beat();
    await trigger.wait(nextWaitMs);
    if (stop.signal) return;
    let desired: Desired;
    try {
      // A master rewritten in place (cp, a shell redirect) reads as empty or
      // cut short for a moment: let the writer finish before switching away
      // from it or invalidating the config, then look again.
      let plan = await reconciler.plan();
      if (inUse !== undefined && readsInvalid(plan.desired, inUse)) {
        await sleep(SETTLE_MS);
        plan = await reconciler.plan();
      }
      ({ desired } = await reconciler.apply(plan));
    } catch (err) {
      log.error('reconcile failed; keeping the files as they are', { error: messageOf(err) });
      l.observer.notify({ kind: 'reconciled', result: 'error', configured: false, error: messageOf(err) });
      continue;
    }
    if (desired.errors.length === 0) inUse = desired.master ?? inUse;
    nextWaitMs = reconcileWaitMs(desired.waitingFor, o.resyncIntervalSeconds);
    // Faults and waits while running keep the last good files; each is logged once.
    const status = desired.errors.length > 0 ? `error:${desired.errors.join('; ')}` : desired.waiting ? `waiting:${desired.waiting}` : 'ok';
    if (status === lastStatus) continue;
    if (desired.errors.length > 0) {
      log.error('cannot reconcile; keeping the last good files', { error: desired.errors.join('; ') });
    } else if (desired.waiting) {
      const kept = o.cleanupConfigOnExit && desired.waitingFor !== 'daemon' ? 'invalidated the Multus config so no pod starts without its default network' : 'keeping the last Multus config';
      log.warn(`${WAITING[desired.waitingFor ?? 'master']}: ${kept}; waiting for ${desired.waiting}`);
    } else if (lastStatus !== '') {
      log.info('the node is configured again', { master: desired.master });
    }
    lastStatus = status;
  }
}
