// Thick mode on the real node (scenario id T): ours (manifests/ with the
// thick component: upstream's multus-daemon beside multus-entrypoint
// --mode=thick) and upstream's own deployments/multus-daemonset-thick.yml,
// each through rollout, a rollout restart while pods keep coming, a kill -9
// of the daemon, and uninstall. Upstream's manifest changes only as the
// loopback node needs (deploy.ts upstreamDir: the node's hostPath dirs, the
// API server's address, imagePullPolicy Never) and in its image's tag, which
// names the pinned release instead of the moving snapshot-thick.
import fs from 'node:fs';
import path from 'node:path';
import { MULTUS_VERSION } from '../components.js';
import { execa } from 'execa';
import { daemonSetPods, DS_NAMESPACE, hostRootDir, kubectl, oursDir, upstreamDir, waitRolledOut, type Program } from './deploy.js';
import { unmountUnder } from './host.js';
import type { NodeRun } from './node.js';
import { redact } from '../secrets.js';
import {
  applyAndWait,
  checkNet1Pod,
  containerPid,
  describeDs,
  ensureNads,
  judgePods,
  multusConfigFile,
  net1Verdict,
  podsDuring,
  resetNode,
  scenarioUninstall,
  secondsSince,
  until,
  waitCrdGone,
  type Ctx,
  type Metrics,
} from './scenarios.js';

export const THICK_ID = 'T';
export type ThickProgram = 'multus-entrypoint' | 'multus-daemon';

export interface ThickResult {
  program: ThickProgram;
  scenario: string;
  passed: boolean;
  reason?: string;
  metrics: Metrics;
  /** What was measured beside pass or fail (the config's gap, the restart's length). */
  note?: string;
}

const STEPS = ['rollout', 'rollout restart', 'kill -9 multus-daemon', 'uninstall'] as const;
const ROLLOUT_MS = 300000;

/** The daemon's container in each program's pod. */
function daemonContainer(program: ThickProgram): string {
  return program === 'multus-entrypoint' ? 'multus-daemon' : 'kube-multus';
}

/** The shared helpers name pods by program: upstream's are up-*. */
function asProgram(program: ThickProgram): Program {
  return program === 'multus-entrypoint' ? 'multus-entrypoint' : 'thin_entrypoint';
}

export function thickManifest(): string {
  return path.join(process.env.MULTUS_ENTRYPOINT_CACHE ?? path.join(process.env.HOME ?? '/root', '.cache/multus-entrypoint'), `multus-thick-${MULTUS_VERSION}`, 'multus-daemonset-thick.yml');
}

async function thickDir(ctx: Ctx, program: ThickProgram): Promise<string> {
  if (program === 'multus-entrypoint') return oursDir(ctx.node, ctx.healthPort, 'thick', { components: ['thick'] });
  return upstreamDir(ctx.node, thickManifest(), 'thick', { imageTag: `${MULTUS_VERSION}-thick` });
}

/** Seconds 00-multus.conf[list] was absent from the node while `busy` ran (read every 100 ms). */
async function configGap<T>(ctx: Ctx, busy: () => Promise<T>): Promise<{ value: T; missingS: number }> {
  let missingMs = 0;
  let running = true;
  const watch = (async () => {
    while (running) {
      if (multusConfigFile(ctx.node) === undefined) missingMs += 100;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    return { value: await busy(), missingS: Math.round(missingMs / 100) / 10 };
  } finally {
    running = false;
    await watch;
  }
}

async function rollout(ctx: Ctx, program: ThickProgram): Promise<string> {
  ctx.metrics.applyToReadyS = await applyAndWait(ctx, await thickDir(ctx, program));
  const { cniConfDir, cniBinDir } = ctx.node.dirs;
  if (!fs.existsSync(path.join(cniBinDir, 'multus-shim'))) throw new Error(`multus-shim was not installed into the node's ${cniBinDir}`);
  const conf = multusConfigFile(ctx.node);
  if (!conf) throw new Error(`no 00-multus.conf[list] in the node's ${cniConfDir}: ${fs.readdirSync(cniConfDir).join(', ')}`);
  const type = (JSON.parse(fs.readFileSync(path.join(cniConfDir, conf), 'utf8')) as { type?: string }).type;
  if (type !== 'multus-shim') throw new Error(`${conf} is of type ${String(type)}, want multus-shim`);
  await ensureNads(ctx);
  await checkNet1Pod(ctx, asProgram(program), 't1');
  return `apply to Ready ${ctx.metrics.applyToReadyS} s`;
}

async function restart(ctx: Ctx, program: ThickProgram): Promise<string> {
  const before = (await daemonSetPods(ctx.node)).map((p) => p.uid);
  const { value: names, missingS } = await configGap(ctx, () =>
    podsDuring(
      ctx,
      asProgram(program),
      't2',
      async () => {
        const t0 = Date.now();
        await kubectl(ctx.node, ['-n', DS_NAMESPACE, 'rollout', 'restart', 'daemonset/kube-multus-ds']);
        if (!(await waitRolledOut(ctx.node, ROLLOUT_MS))) throw new Error(`the restart did not roll out within ${ROLLOUT_MS / 1000} s:\n${await describeDs(ctx)}`);
        if ((await daemonSetPods(ctx.node)).some((p) => before.includes(p.uid))) throw new Error('the restart kept the old pod');
        ctx.metrics.applyToReadyS = secondsSince(t0);
      },
      5,
    ),
  );
  const note = `00-multus.conf missing for ${missingS} s during the restart`;
  const r = await judgePods(ctx, names, true);
  try {
    net1Verdict(ctx, names, r, `rollout restart (${note})`);
  } catch (err) {
    // Why upstream's fails, measured: its daemon removes the node's config on SIGTERM.
    if (program === 'multus-daemon' && missingS > 0) throw new Error(`${(err as Error).message}; multus-daemon removes 00-multus.conf on SIGTERM, so the runtime fell back to the default network until the new daemon wrote it again`);
    throw err;
  }
  return note;
}

interface ContainerState {
  restarts: number;
  running: boolean;
  podReady: boolean;
  uid: string;
}

async function daemonState(ctx: Ctx, container: string): Promise<ContainerState | undefined> {
  const out = JSON.parse(await kubectl(ctx.node, ['-n', DS_NAMESPACE, 'get', 'pods', '-l', 'name=multus', '-o', 'json'])) as {
    items: { metadata: { uid: string }; status: { conditions?: { type: string; status: string }[]; containerStatuses?: { name: string; restartCount: number; state?: { running?: unknown } }[] } }[];
  };
  const pod = out.items[0];
  const cs = pod?.status.containerStatuses?.find((c) => c.name === container);
  if (!pod || !cs) return undefined;
  const podReady = (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  return { restarts: cs.restartCount, running: cs.state?.running !== undefined, podReady, uid: pod.metadata.uid };
}

async function killDaemon(ctx: Ctx, program: ThickProgram): Promise<string> {
  const container = daemonContainer(program);
  const before = await daemonState(ctx, container);
  if (!before?.running) throw new Error(`no running ${container} container to kill`);
  const pid = await containerPid(ctx, before.uid, container);
  if (!pid) throw new Error(`no pid for the ${container} container`);
  let backS = 0;
  const { value: names, missingS } = await configGap(ctx, () =>
    podsDuring(
      ctx,
      asProgram(program),
      't3',
      async () => {
        const t0 = Date.now();
        process.kill(Number(pid), 'SIGKILL');
        await until(`${container} to be restarted by the kubelet and the pod Ready`, 180000, async () => {
          const s = await daemonState(ctx, container).catch(() => undefined);
          return s !== undefined && s.restarts > before.restarts && s.running && s.podReady;
        });
        backS = secondsSince(t0);
      },
      5,
    ),
  );
  const note = `${container} back and pod Ready ${backS} s after the kill; 00-multus.conf missing for ${missingS} s`;
  net1Verdict(ctx, names, await judgePods(ctx, names, true), `kill -9 of ${container} (${note})`);
  return note;
}

async function uninstall(ctx: Ctx, program: ThickProgram): Promise<string> {
  await scenarioUninstall(ctx, asProgram(program), ctx.installed ?? (await thickDir(ctx, program)));
  ctx.installed = undefined;
  return `config gone ${ctx.metrics.uninstallToGoneS ?? '-'} s after delete`;
}

const RUN: Record<(typeof STEPS)[number], (ctx: Ctx, program: ThickProgram) => Promise<string>> = {
  rollout,
  'rollout restart': restart,
  'kill -9 multus-daemon': killDaemon,
  uninstall,
};

/** Every thick scenario for each wanted program, in order, on a node reset before each program. */
export async function runThick(node: NodeRun, healthPort: number, programs: ThickProgram[], say: (line: string) => void): Promise<ThickResult[]> {
  if (!fs.existsSync(thickManifest())) throw new Error(`${thickManifest()} is missing: run test/tools/build-components.sh multus-thick`);
  const results: ThickResult[] = [];
  // The daemons' host root, shared (deploy.ts hostRootDir); the node's teardown unmounts it too.
  const root = hostRootDir(node);
  fs.mkdirSync(root, { recursive: true });
  await execa('mount', ['--rbind', '/', root]);
  await execa('mount', ['--make-rshared', root]);
  try {
    for (const program of programs) results.push(...(await runProgram(node, healthPort, program, say)));
  } finally {
    await unmountUnder(root);
  }
  return results;
}

async function runProgram(node: NodeRun, healthPort: number, program: ThickProgram, say: (line: string) => void): Promise<ThickResult[]> {
  const results: ThickResult[] = [];
  const ctx: Ctx = { node, healthPort, upstreamManifest: thickManifest(), metrics: {}, log: say };
  // The last uninstall's CRD deletion (an apply meanwhile would patch the terminating CRD).
  await waitCrdGone(ctx).catch((err: unknown) => say(`thick-e2e: ${(err as Error).message}`));
  await resetNode(ctx);
  for (const scenario of STEPS) {
    ctx.metrics = {};
    const started = Date.now();
    say(`thick-e2e: ${program} ${scenario} ...`);
    try {
      const note = await RUN[scenario](ctx, program);
      results.push({ program, scenario, passed: true, metrics: ctx.metrics, note });
      say(`thick-e2e: ${program} ${scenario}: pass (${Math.round((Date.now() - started) / 1000)} s; ${note})`);
    } catch (err) {
      const reason = redact(err instanceof Error ? err.message : String(err));
      results.push({ program, scenario, passed: false, reason, metrics: ctx.metrics });
      say(`thick-e2e: ${program} ${scenario}: FAIL (${Math.round((Date.now() - started) / 1000)} s): ${reason.split('\n')[0]}`);
    }
  }
  if (ctx.installed !== undefined) await kubectl(node, ['delete', '-k', ctx.installed, '--ignore-not-found', '--wait=false']).catch(() => undefined);
  await until('the DaemonSet pods to be gone', 120000, async () => (await daemonSetPods(node).catch(() => [])).length === 0).catch(() => undefined);
  return results;
}

/** The table, the failures with why, and the verdict line; `failed` when one of ours failed or did not run. */
export function thickReport(results: ThickResult[], programs: ThickProgram[]): { lines: string[]; failed: boolean } {
  const lines = ['', '| thick program | scenario | result | pods: net1/created | sandbox failures | measured |', '|---|---|---|---|---|---|'];
  for (const r of results) {
    const m = r.metrics;
    const pods = m.podsDuringUpdate === undefined ? '-' : `${m.podsWithNet1 ?? 0}/${m.podsDuringUpdate}`;
    lines.push(`| ${r.program} | ${r.scenario} | ${r.passed ? 'pass' : 'FAIL'} | ${pods} | ${m.sandboxFailures ?? '-'} | ${r.note ?? '-'} |`);
  }
  const count = (p: ThickProgram): number => results.filter((r) => r.program === p && r.passed).length;
  const total = (p: ThickProgram): number => (programs.includes(p) ? STEPS.length : 0);
  lines.push(`thick-e2e: ${count('multus-entrypoint')}/${total('multus-entrypoint')} scenarios passed with multus-entrypoint; ${count('multus-daemon')}/${total('multus-daemon')} with upstream multus-daemon`);
  for (const r of results.filter((x) => !x.passed)) lines.push(`thick-e2e: ${r.program} ${r.scenario} failed: ${(r.reason ?? '').split('\n').slice(0, 6).join('\n    ')}`);
  return { lines, failed: count('multus-entrypoint') < total('multus-entrypoint') };
}
