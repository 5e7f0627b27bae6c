// The scenarios, in the order a run takes them. Each one opens a measuring
// window, makes the fleet do something (what a cluster does to its Multus
// DaemonSet, or what a node does to its files), waits for a condition the
// cluster or the nodes show (with a deadline) and for the fleet to go quiet,
// then closes the window. The figures are the multus service account's
// requests in the window as the API server counted them.
import type { KubeConfig } from '@kubernetes/client-node';
import type { ClusterInfo } from '../../harness/cluster.js';
import fs from 'node:fs';
import path from 'node:path';
import { tokenClaims } from '../../../src/core/token-claims.js';
import { isEventWrite, isNodePatch, total } from './counts.js';
import { flowSchemaActive, nodeView, rollDaemonSet, rolloutState, type Kubectl } from './fleet.js';
import { HOLD_MS, setUpSqueeze, type LoadTally } from './squeeze.js';
import { configPresent, DS_NAME, DS_NAMESPACE, generatedConfig, type FleetNode, type Kubelet } from './kubelet.js';
import type { Meter, WindowResult } from './meter.js';
import { requestsPerDay, type Figures } from './report.js';

export interface Ctx {
  n: number;
  info: ClusterInfo;
  pkiDir: string;
  runDir: string;
  kc: KubeConfig;
  kubectl: Kubectl;
  kubelet: Kubelet;
  meter: Meter;
  nodes: FleetNode[];
  overlayDir: string;
  /** maxUnavailable of the plain rolling update (the manifest's 1 unless FLEET_MAX_UNAVAILABLE). */
  maxUnavailable: string;
  fightSeconds: number;
  flapSeconds: number;
  /** How long the squeeze's load keeps the level full from the rollout's start. */
  squeezeSeconds: number;
  quietSeconds: number;
  rotations: number;
  windows: WindowResult[];
  figures: Figures;
  log(line: string): void;
}

/** A window's request cap per node: far above any sane figure, low enough to stop a runaway fleet. */
const CAP_PER_NODE = 300;
const QUIET_MS = 3000;
/**
 * The startup taint's hold-down (docs/at-scale.md): a program that starts on
 * an untainted node still looks at the node once its config has held this
 * long, with nothing to see from outside; a rollout's window stays open
 * until the newest program is older than this.
 */
const HOLD_DOWN_MS = 10_000;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Milliseconds the multus service account has been quiet, counted from `since` at the earliest. */
function quietSince(ctx: Ctx, since: number): number {
  return Math.min(ctx.meter.quietForMs(), Date.now() - since);
}

/**
 * Waits until `check` holds and then the multus service account has been
 * quiet for quietMs (since the wait began, at the earliest); throws after
 * timeoutMs with what was last seen.
 */
export async function settle(ctx: Ctx, what: string, timeoutMs: number, check: () => Promise<string | true>, quietMs = QUIET_MS): Promise<void> {
  const began = Date.now();
  const deadline = began + timeoutMs;
  let last = '';
  for (;;) {
    if (ctx.meter.exceeded) throw new Error(`stopped the fleet: ${ctx.meter.exceeded}`);
    const ok = await check();
    if (ok === true) {
      const quiet = quietSince(ctx, began);
      if (quiet >= quietMs) return;
      last = `quiet for ${(quiet / 1000).toFixed(1)} s (want ${quietMs / 1000} s)`;
    } else {
      last = ok;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}; last seen: ${last}`);
    await sleep(250);
  }
}

/** Every node runs a Ready program for the DaemonSet's current pods, the rollout is complete and no node carries the startup taint. */
export async function fleetSettled(ctx: Ctx, stopsSince?: { from: number; want: number }, minUptimeMs = 0): Promise<string | true> {
  const rs = await rolloutState(ctx.kc);
  if (!rs.observed || rs.desired !== ctx.n || rs.updated !== ctx.n || rs.ready !== ctx.n) return `DaemonSet desired ${rs.desired}, updated ${rs.updated}, ready ${rs.ready} of ${ctx.n}${rs.observed ? '' : ' (not observed yet)'}`;
  const ready = ctx.kubelet.readyNodes().length;
  if (ready !== ctx.n) return `${ready} of ${ctx.n} programs Ready`;
  if (stopsSince) {
    const stopped = ctx.kubelet.stops.length - stopsSince.from;
    if (stopped < stopsSince.want) return `${stopped} of ${stopsSince.want} old programs stopped`;
  }
  const nv = await nodeView(ctx.kc);
  if (nv.tainted !== 0) return `${nv.tainted} nodes still carry the startup taint (${nv.taintedNames.join(', ')})`;
  const uptime = ctx.kubelet.youngestUptimeMs();
  if (uptime < minUptimeMs) return `the newest program has run ${(uptime / 1000).toFixed(1)} s (want ${minUptimeMs / 1000} s: the taint's hold-down)`;
  return true;
}

/**
 * Runs body in a measuring window. `figure` takes the window whether body
 * succeeded or not (for figures that stand even when the fleet does not
 * settle afterwards, with the failure reported beside them).
 */
async function measure(ctx: Ctx, label: string, body: () => Promise<void>, figure?: (w: WindowResult) => void): Promise<WindowResult> {
  await ctx.meter.open(label, CAP_PER_NODE * ctx.n);
  try {
    await body();
  } catch (err) {
    // Close anyway: what was counted until the failure is still reported.
    const w = await ctx.meter.close();
    ctx.windows.push(w);
    figure?.(w);
    throw err;
  }
  const w = await ctx.meter.close();
  ctx.windows.push(w);
  figure?.(w);
  return w;
}

function perNode(ctx: Ctx, n: number): number {
  return n / ctx.n;
}

/** R1: the DaemonSet applied to every node configured, Ready and untainted. */
export async function scenarioStart(ctx: Ctx): Promise<void> {
  const w = await measure(ctx, 'start', async () => {
    await ctx.kubectl(['apply', '-k', ctx.overlayDir]);
    await settle(ctx, 'every node configured', 120_000 + 2000 * ctx.n, () => fleetSettled(ctx));
  });
  ctx.figures.start = perNode(ctx, total(w.multus));
}

async function rollingUpdate(ctx: Ctx, label: string, revision: string, maxUnavailable: string, quietMs: number, during?: { afterRoll(): void; done(): string | true }): Promise<{ w: WindowResult; uninstalls: number }> {
  const from = ctx.kubelet.stops.length;
  const w = await measure(ctx, label, async () => {
    await rollDaemonSet(ctx.kubectl, revision, maxUnavailable);
    during?.afterRoll();
    await settle(ctx, `the rolling update (${label})`, maxUnavailable === '100%' ? 180_000 + 1000 * ctx.n : 120_000 + 6000 * ctx.n, async () => {
      const d = during?.done() ?? true;
      return d === true ? fleetSettled(ctx, { from, want: ctx.n }, HOLD_DOWN_MS + 2000) : d;
    }, quietMs);
  });
  const stops = ctx.kubelet.stops.slice(from);
  const uninstalls = stops.filter((s) => s.uninstall).length;
  for (const s of stops.filter((x) => x.uninstall).slice(0, 3)) ctx.log(`fleet: ${label}: node ${s.node} removed its config on stop (an uninstall verdict)`);
  return { w, uninstalls };
}

/** R2 and the uninstall verdicts of a plain rolling update. */
export async function scenarioRollingUpdate(ctx: Ctx): Promise<void> {
  const { w, uninstalls } = await rollingUpdate(ctx, 'rolling update', '2', ctx.maxUnavailable, QUIET_MS);
  ctx.figures.restart = perNode(ctx, total(w.multus));
  ctx.figures.rollingUninstalls = uninstalls;
}

/**
 * U: the same under 429s. Every node at once (maxUnavailable 100%), its
 * requests sent into a priority level of one share that a load keeps full
 * for squeezeSeconds from the rollout's start: longer than the 10 s 0.1.0's
 * uninstall check asks for, within the 25 s grace budget of docs/behaviour.md (the
 * pod's 30 s grace period less a 5 s margin).
 */
export async function scenarioSqueeze(ctx: Ctx): Promise<void> {
  const squeeze = await setUpSqueeze(ctx.info, ctx.pkiDir, path.join(ctx.runDir, 'squeeze'), ctx.kubectl);
  try {
    await settle(ctx, 'the squeeze FlowSchemas in force', 30_000, async () => {
      for (const fs of ['fleet-multus-squeeze', 'fleet-load-squeeze']) if (!(await flowSchemaActive(ctx.kubectl, fs))) return `${fs} not in force`;
      return true;
    }, 0);
    await squeeze.startLoad(30_000);
    let stopped: LoadTally | undefined;
    let timer: NodeJS.Timeout | undefined;
    const { w, uninstalls } = await rollingUpdate(ctx, `rolling update under 429 (${ctx.squeezeSeconds} s)`, '3', '100%', 5000, {
      afterRoll: () => {
        timer = setTimeout(() => void squeeze.stopLoad().then((t) => { stopped = t; }), ctx.squeezeSeconds * 1000);
      },
      done: () => (stopped ? true : 'the load still runs'),
    }).finally(() => clearTimeout(timer));
    ctx.figures.squeezeUninstalls = uninstalls;
    ctx.figures.squeeze429s = w.records.filter((r) => r.code === '429').length;
    if (stopped) ctx.log(`fleet: the load held ${stopped.held} requests for ${HOLD_MS} ms each and was refused ${stopped.rejected} times (other answers: ${stopped.other})`);
  } finally {
    await squeeze.remove();
    // Back to the manifest's strategy (no template change: no rollout).
    await ctx.kubectl(['-n', DS_NAMESPACE, 'patch', 'daemonset', DS_NAME, '--type=merge', '-p', JSON.stringify({ spec: { updateStrategy: { rollingUpdate: { maxUnavailable: 1 } } } })]);
  }
  // What the squeeze left to do (retries that waited): counted apart, not in the steady state.
  await measure(ctx, 'after the squeeze', async () => {
    await settle(ctx, 'every kubeconfig carrying a node-bound token', 150_000, async () => {
      const missing = ctx.nodes.filter((n) => !kubeconfigNodeBound(n));
      return missing.length === 0 ? true : `${missing.length} kubeconfigs carry no node-bound token (e.g. ${missing[0]?.name ?? ''})`;
    }, 5000);
  });
}

/** Whether the node's kubeconfig carries a token bound to the node (its claims only; the token is never shown). */
function kubeconfigNodeBound(node: FleetNode): boolean {
  const text = kubeconfigText(node);
  const token = /^\s*token:\s*"?([A-Za-z0-9._-]+)"?\s*$/m.exec(text)?.[1];
  if (!token) return false;
  const claims = tokenClaims(token);
  return !('error' in claims) && claims.node === node.name && claims.pod === undefined;
}

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

/**
 * R3: a quiet stretch, then every node's mounted token rotated (a day has
 * 29.94 rotations). Only the kubelet's clock is compressed, not the
 * program's: a second rotation minutes after the first would meet the
 * program's in-memory suppression of a repeated Event (10 minutes in 0.1.0,
 * an Event series' 30), which the 48 minutes between real rotations leave
 * behind. So by default each node rotates once, right after the start,
 * whose Events are of another kind, and that rotation stands for each of
 * the day's.
 */
export async function scenarioSteady(ctx: Ctx): Promise<void> {
  const quiet = await measure(ctx, 'steady, nothing happening', async () => {
    // A fixed stretch of time is the measurement here (requests per second of a quiet fleet), not a wait for a condition.
    await sleep(ctx.quietSeconds * 1000);
  });
  const rotated = await measure(ctx, `steady, ${ctx.rotations} token rotations`, async () => {
    for (let r = 1; r <= ctx.rotations; r++) {
      const before = new Map(ctx.nodes.map((n) => [n.name, kubeconfigText(n)]));
      let rotatedNodes = 0;
      await inBatches(ctx.nodes, 10, async (n) => {
        if (await ctx.kubelet.rotateToken(n.name)) rotatedNodes++;
      });
      if (rotatedNodes !== ctx.n) throw new Error(`rotation ${r}: ${rotatedNodes} of ${ctx.n} nodes had a running program`);
      // Each program has taken the new token in (its kubeconfig rewritten) or, if it keeps the kubeconfig, gone quiet.
      const rotatedAt = Date.now();
      await settle(ctx, `rotation ${r} taken in`, 60_000 + 500 * ctx.n, async () => {
        const changed = ctx.nodes.filter((n) => kubeconfigText(n) !== before.get(n.name)).length;
        return changed === ctx.n || quietSince(ctx, rotatedAt) >= 2 * QUIET_MS ? true : `${changed} of ${ctx.n} kubeconfigs rewritten`;
      });
    }
  });
  ctx.figures.day = requestsPerDay({ quietRequests: total(quiet.multus), quietSeconds: quiet.seconds, rotationRequests: total(rotated.multus), rotations: ctx.rotations }, ctx.n);
}

function readOr(file: string | undefined, fallback: string): string {
  try {
    return file === undefined ? fallback : fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

function kubeconfigText(n: FleetNode): string {
  return readOr(path.join(n.confDir, 'multus.d', 'multus.kubeconfig'), '');
}

const TAMPER_KEY = 'fleetTamper';
/** What the program writes instead of the config while no master exists (src/core/multus-config.ts). */
const INVALIDATED = 'intentionally invalidated';

/** E: every node's Multus config overwritten by "another writer" four times a second. */
export async function scenarioFight(ctx: Ctx): Promise<void> {
  const targets = ctx.nodes.map((n) => {
    const file = generatedConfig(n);
    if (!file) throw new Error(`node ${n.name} has no Multus config to fight over`);
    return { file, base: JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown> };
  });
  await measure(ctx, `writer fight, 4/s for ${ctx.fightSeconds} s`, async () => {
    const end = Date.now() + ctx.fightSeconds * 1000;
    let k = 0;
    while (Date.now() < end) {
      const tick = Date.now();
      k++;
      for (const t of targets) fs.writeFileSync(t.file, `${JSON.stringify({ ...t.base, [TAMPER_KEY]: k }, null, 2)}\n`);
      await sleep(Math.max(0, 250 - (Date.now() - tick)));
    }
    await settle(ctx, 'every Multus config restored', 120_000 + 1000 * ctx.n, async () => {
      const left = targets.filter((t) => readOr(t.file, TAMPER_KEY).includes(TAMPER_KEY)).length;
      return left === 0 ? true : `${left} configs still tampered`;
    });
  }, (w) => {
    // Every Event write from the first tamper until the fleet is quiet: a 40 s fight fits in 5 minutes.
    ctx.figures.fight = perNode(ctx, w.records.filter(isEventWrite).length);
  });
}

/**
 * P: every node's master config gone for 1 s and back for 1 s, over and
 * over, for flapSeconds; node PATCHes in the minute that starts with the
 * first flap (with a hold-down, one to put the taint back and one to remove
 * it once the config has held). The window runs on until every node is
 * configured and untainted again: a node that is not fails the scenario.
 */
export async function scenarioFlap(ctx: Ctx): Promise<void> {
  const started = Date.now();
  await measure(ctx, `flapping default network for ${ctx.flapSeconds} s`, async () => {
    const end = Date.now() + ctx.flapSeconds * 1000;
    while (Date.now() < end) {
      for (const n of ctx.nodes) fs.rmSync(path.join(n.confDir, n.master), { force: true });
      await sleep(1000);
      for (const n of ctx.nodes) fs.writeFileSync(path.join(n.confDir, n.master), n.masterText);
      await sleep(1000);
    }
    await settle(ctx, 'every node configured and untainted again', 120_000 + 1000 * ctx.n, async () => {
      const unconfigured = ctx.nodes.filter((n) => !configPresent(n) || readOr(generatedConfig(n), INVALIDATED).includes(INVALIDATED)).length;
      if (unconfigured > 0) return `${unconfigured} nodes without their Multus config`;
      const nv = await nodeView(ctx.kc);
      return nv.tainted === 0 ? true : `${nv.tainted} nodes still carry the startup taint (${nv.taintedNames.join(', ')})`;
    });
  }, (w) => {
    const minute = w.records.filter((r) => isNodePatch(r) && r.timeMs - started < 60_000);
    ctx.figures.flap = perNode(ctx, minute.length);
  });
}
