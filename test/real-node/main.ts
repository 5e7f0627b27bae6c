// npm run test:real-node: the product on a real node (see README.md here). Brings
// up one node, runs every scenario with multus-entrypoint and with
// upstream's thin_entrypoint, prints a table and ends with one line:
//   node-e2e: N/N scenarios passed with multus-entrypoint; M/K with upstream thin_entrypoint
// and then upstream Multus' own e2e cases (upstream-e2e/) against both:
//   upstream-e2e: N/N cases passed with multus-entrypoint; M/K with thin_entrypoint <version>
// Exit 1 if a multus-entrypoint scenario or case failed (the peer's failures
// are its measurement, explained above the table) or the node could not run.
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { probeNetworking } from '../harness/netns.js';
import { freePort } from '../harness/cluster.js';
import { MULTUS_VERSION } from '../harness/components.js';
import { redact } from '../harness/secrets.js';
import type { Program } from '../harness/real-node/deploy.js';
import { kubectl } from '../harness/real-node/deploy.js';
import { startNode, type NodeRun } from '../harness/real-node/node.js';
import { cgroupControllers } from '../harness/real-node/host.js';
import * as S from '../harness/real-node/scenarios.js';
import { removeRepairPods, scenarioFighter, scenarioRepair } from '../harness/real-node/repair-scenarios.js';
import { scenarioBackToUpstream } from '../harness/real-node/back-to-upstream.js';
import { CASES_PER_PROGRAM, PLUGIN_FAULTS, pluginFault, reportUpstreamE2e, runUpstreamE2e, type CaseResult } from './upstream-e2e/suite.js';
import { TEST_NAMESPACE } from '../harness/real-node/pods.js';
import { TIMELINE_HEADER, timelineRow } from '../harness/real-node/timeline.js';
import { notePhase, phaseTable } from '../harness/real-node/phases.js';
import { runThick, THICK_ID, thickReport, type ThickResult } from '../harness/real-node/thick-scenarios.js';

interface Scenario {
  id: string;
  title: string;
  programs: Program[];
  /** Runs once, after every program's own scenarios (it switches programs itself). */
  across?: boolean;
  run(ctx: S.Ctx, program: Program): Promise<void>;
}

interface Result {
  program: Program;
  scenario: Scenario;
  passed: boolean;
  reason?: string;
  metrics: S.Metrics;
}

const BOTH: Program[] = ['multus-entrypoint', 'thin_entrypoint'];
const OURS: Program[] = ['multus-entrypoint'];

// Run order per program; a program's scenarios share its install.
const SCENARIOS: Scenario[] = [
  { id: '1', title: 'rollout', programs: BOTH, run: S.scenarioRollout },
  { id: 'H', title: 'hardening in force', programs: OURS, run: (ctx) => S.scenarioHardening(ctx) },
  { id: '2', title: 'rolling update', programs: BOTH, run: S.scenarioRollingUpdate },
  { id: '3', title: 'bad upgrade', programs: BOTH, run: S.scenarioBadUpgrade },
  { id: '4', title: 'default network changes', programs: BOTH, run: S.scenarioDefaultNetworkChange },
  { id: '5', title: 'uninstall', programs: BOTH, run: S.scenarioUninstall },
  // After 5: R needs a node without Multus, and installs it with repair-pods and the startup taint; F fights that install.
  { id: 'R', title: 'pods that started too early repaired', programs: OURS, run: (ctx) => scenarioRepair(ctx) },
  { id: 'F', title: 'Cilium-like writer named', programs: OURS, run: (ctx) => scenarioFighter(ctx) },
  { id: 'M', title: 'migration from upstream', programs: OURS, across: true, run: (ctx) => S.scenarioMigration(ctx) },
  { id: 'B', title: 'back to upstream', programs: OURS, across: true, run: (ctx) => scenarioBackToUpstream(ctx) },
];
/** REAL_NODE_ONLY's id for upstream's e2e cases. */
const UPSTREAM_E2E = 'U';

const inCi = process.env.CI === 'true';
// For working on one part: REAL_NODE_ONLY=1,H runs those scenario ids, REAL_NODE_PROGRAMS=multus-entrypoint one program.
const only = process.env.REAL_NODE_ONLY?.split(',').map((s) => s.trim());
const programsWanted = (process.env.REAL_NODE_PROGRAMS?.split(',') ?? BOTH) as Program[];
const selected = (s: Scenario): boolean => only === undefined || only.includes(s.id);
const upstreamE2eWanted = only === undefined || only.includes(UPSTREAM_E2E);
const say = (line: string): void => {
  process.stdout.write(`${redact(line)}\n`);
};

function which(cmd: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => {
    try {
      fs.accessSync(path.join(d || '.', cmd), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Why this machine cannot run a node, or undefined. */
async function missingFacility(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'not root: a kubelet and containerd need root';
  const cmds = ['containerd', 'containerd-shim-runc-v2', 'runc', 'ctr', 'buildah', 'gcc', 'etcd', 'iptables-save', 'ip6tables-save', 'nsenter', 'mount', 'umount', 'ip', 'openssl'];
  const missing = cmds.filter((c) => !which(c));
  if (missing.length > 0) return `missing commands: ${missing.join(', ')} (Debian: containerd runc buildah gcc libc6-dev etcd-server iptables util-linux iproute2 openssl)`;
  if (!fs.existsSync('/usr/lib/cni/bridge')) return 'no /usr/lib/cni/bridge (Debian: containernetworking-plugins)';
  if (cgroupControllers().length === 0) return 'no cgroup controllers under /sys/fs/cgroup';
  if (!fs.readFileSync('/proc/filesystems', 'utf8').includes('overlay')) return 'no overlay filesystem (containerd\'s snapshotter)';
  return probeNetworking();
}

function fmt(n: number | undefined): string {
  return n === undefined ? '-' : String(n);
}

function report(results: Result[], durationS: number): void {
  const failed = results.filter((r) => !r.passed);
  if (failed.length > 0) {
    say('');
    say('Failures:');
    for (const r of failed) say(`- ${r.program} scenario ${r.scenario.id} (${r.scenario.title}): ${(r.reason ?? '').split('\n').slice(0, 12).join('\n    ')}`);
  }
  say('');
  say('| program | scenario | result | apply to Ready (s) | pods during update: net1/created | sandbox failures | uninstall to config gone (s) | early pod back with net1 (s) |');
  say('|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    const m = r.metrics;
    const pods = m.podsDuringUpdate === undefined ? '-' : `${m.podsWithNet1 ?? 0}/${m.podsDuringUpdate}`;
    say(`| ${r.program} | ${r.scenario.id} ${r.scenario.title} | ${r.passed ? 'pass' : 'FAIL'} | ${fmt(m.applyToReadyS)} | ${pods} | ${fmt(m.sandboxFailures)} | ${fmt(m.uninstallToGoneS)} | ${fmt(m.repairS)} |`);
  }
  say('');
  sideBySide(results);
  const timed = results.filter((r) => r.metrics.timeline !== undefined);
  if (timed.length > 0) {
    for (const line of TIMELINE_HEADER) say(line);
    for (const r of timed) say(timelineRow(`${r.program} ${r.scenario.id}`, r.metrics.timeline ?? {}));
    say('');
  }
  for (const line of phaseTable()) say(line);
  say(`node-e2e: suite took ${durationS} s`);
}

/** Apply to Ready (1) and the rolling update (2), both programs next to each other. */
function sideBySide(results: Result[]): void {
  const time = (p: Program, id: string): number | undefined => results.find((r) => r.program === p && r.scenario.id === id)?.metrics.applyToReadyS;
  const rows = [['apply to Ready (1 rollout)', '1'], ['rolling update (2)', '2']] as const;
  if (!rows.some(([, id]) => time('multus-entrypoint', id) !== undefined || time('thin_entrypoint', id) !== undefined)) return;
  say('| seconds | multus-entrypoint | thin_entrypoint | difference |');
  say('|---|---|---|---|');
  for (const [what, id] of rows) {
    const ours = time('multus-entrypoint', id);
    const theirs = time('thin_entrypoint', id);
    const diff = ours === undefined || theirs === undefined ? undefined : Math.round((ours - theirs) * 10) / 10;
    say(`| ${what} | ${fmt(ours)} | ${fmt(theirs)} | ${diff === undefined ? '-' : `${diff > 0 ? '+' : ''}${diff}`} |`);
  }
  say('');
}

function verdict(results: Result[]): string {
  const count = (p: Program): [number, number] => {
    const mine = SCENARIOS.filter((s) => s.programs.includes(p));
    return [mine.filter((s) => results.some((r) => r.program === p && r.scenario === s && r.passed)).length, mine.length];
  };
  const [n, nn] = count('multus-entrypoint');
  const [m, k] = count('thin_entrypoint');
  return `node-e2e: ${n}/${nn} scenarios passed with multus-entrypoint; ${m}/${k} with upstream thin_entrypoint`;
}

function upstreamVerdict(results: CaseResult[]): string {
  const passed = (p: Program): number => results.filter((r) => r.program === p && r.passed).length;
  const total = (p: Program): number => (programsWanted.includes(p) ? CASES_PER_PROGRAM : 0);
  return `upstream-e2e: ${passed('multus-entrypoint')}/${total('multus-entrypoint')} cases passed with multus-entrypoint; ${passed('thin_entrypoint')}/${total('thin_entrypoint')} with thin_entrypoint ${MULTUS_VERSION}`;
}

async function prepareCluster(node: NodeRun): Promise<void> {
  await kubectl(node, ['create', 'namespace', TEST_NAMESPACE]);
  // The admission rejects pods until the namespace's default ServiceAccount exists.
  const deadline = Date.now() + 120000;
  while ((await kubectl(node, ['-n', TEST_NAMESPACE, 'get', 'serviceaccount', 'default']).catch(() => '')) === '') {
    if (Date.now() > deadline) throw new Error(`no default ServiceAccount in ${TEST_NAMESPACE} after 120 s (kube-controller-manager)`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  // The master of the macvlan NAD: a veth pair of the run's own, up, no address.
  await execa('ip', ['link', 'add', S.MACVLAN_MASTER, 'type', 'veth', 'peer', 'name', `${S.MACVLAN_MASTER}p`]);
  await execa('ip', ['link', 'set', S.MACVLAN_MASTER, 'up']);
  await execa('ip', ['link', 'set', `${S.MACVLAN_MASTER}p`, 'up']);
}

async function main(): Promise<number> {
  const t0 = Date.now();
  const missing = await missingFacility();
  if (missing) {
    if (inCi) {
      say(`node-e2e: FAILED: cannot run under CI: ${missing}`);
      return 1;
    }
    say(`node-e2e: skipped: ${missing}`);
    return 0;
  }
  const upstreamManifest = path.join(process.env.MULTUS_ENTRYPOINT_CACHE ?? path.join(process.env.HOME ?? '/root', '.cache/multus-entrypoint'), `multus-${MULTUS_VERSION}`, 'multus-daemonset.yml');
  const results: Result[] = [];
  const upstreamResults: CaseResult[] = [];
  // Thick mode (T): ours and upstream's multus-daemon, after the thin scenarios.
  const thickPrograms = only === undefined || only.includes(THICK_ID) ? (['multus-entrypoint', 'multus-daemon'] as const).filter((p) => programsWanted.includes(p === 'multus-daemon' ? 'thin_entrypoint' : p)) : [];
  let thick: ThickResult[] = [];
  let node: NodeRun | undefined;
  // A killed runner leaves its run to the next run's setup; an interrupted one cleans up now.
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    say(`node-e2e: ${sig}: tearing the node down`);
    void (node?.stop() ?? Promise.resolve([])).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let exit = 0;
  try {
    say('node-e2e: starting the node (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd, kubelet)');
    node = await startNode(say);
    say(`node-e2e: node Ready after ${notePhase('node up', t0)} s; run dir ${node.dirs.run}`);
    for (const img of node.images) say(`node-e2e: image ${img.name} ${img.bytes} bytes`);
    if (!fs.existsSync(upstreamManifest)) throw new Error(`${upstreamManifest} is missing: run test/tools/build-components.sh multus`);
    await prepareCluster(node);
    const healthPort = await freePort();
    for (const program of BOTH.filter((p) => programsWanted.includes(p))) {
      const ctx: S.Ctx = { node, healthPort, upstreamManifest, metrics: {}, log: say };
      await S.resetNode(ctx);
      for (const scenario of SCENARIOS) {
        if (!scenario.programs.includes(program) || scenario.across === true || !selected(scenario)) continue;
        ctx.metrics = {};
        const started = Date.now();
        say(`node-e2e: ${program} scenario ${scenario.id} (${scenario.title}) ...`);
        try {
          await scenario.run(ctx, program);
          results.push({ program, scenario, passed: true, metrics: ctx.metrics });
          say(`node-e2e: ${program} scenario ${scenario.id}: pass (${Math.round((Date.now() - started) / 1000)} s)`);
        } catch (err) {
          const reason = redact(err instanceof Error ? err.message : String(err));
          results.push({ program, scenario, passed: false, reason, metrics: ctx.metrics });
          say(`node-e2e: ${program} scenario ${scenario.id}: FAIL (${Math.round((Date.now() - started) / 1000)} s): ${reason.split('\n')[0]}`);
        }
        notePhase(`${program} ${scenario.id} ${scenario.title}`, started);
      }
      const cleanup = Date.now();
      await removeRepairPods(ctx);
      await S.uninstallQuietly(ctx, program);
      notePhase(`${program} uninstall after the scenarios`, cleanup);
      if (upstreamE2eWanted) {
        const started = Date.now();
        try {
          upstreamResults.push(...(await runUpstreamE2e(ctx, program)));
        } catch (err) {
          say(`upstream-e2e: ${program}: the run stopped: ${redact(err instanceof Error ? err.message : String(err))}`);
        }
        say(`upstream-e2e: ${program}: ${Math.round((Date.now() - started) / 1000)} s`);
      }
    }
    for (const scenario of SCENARIOS.filter((s) => s.across === true && selected(s) && programsWanted.includes('multus-entrypoint'))) {
      const ctx: S.Ctx = { node, healthPort, upstreamManifest, metrics: {}, log: say };
      const started = Date.now();
      say(`node-e2e: multus-entrypoint scenario ${scenario.id} (${scenario.title}) ...`);
      try {
        await scenario.run(ctx, 'multus-entrypoint');
        results.push({ program: 'multus-entrypoint', scenario, passed: true, metrics: ctx.metrics });
        say(`node-e2e: multus-entrypoint scenario ${scenario.id}: pass (${Math.round((Date.now() - started) / 1000)} s)`);
      } catch (err) {
        const reason = redact(err instanceof Error ? err.message : String(err));
        results.push({ program: 'multus-entrypoint', scenario, passed: false, reason, metrics: ctx.metrics });
        say(`node-e2e: multus-entrypoint scenario ${scenario.id}: FAIL (${Math.round((Date.now() - started) / 1000)} s): ${reason.split('\n')[0]}`);
      }
      notePhase(`multus-entrypoint ${scenario.id} ${scenario.title}`, started);
      // Either program's DaemonSet may be the last one applied.
      await S.uninstallQuietly(ctx, 'thin_entrypoint');
      await S.uninstallQuietly(ctx, 'multus-entrypoint');
    }
    if (thickPrograms.length > 0) thick = await runThick(node, healthPort, thickPrograms, say);
  } catch (err) {
    say(`node-e2e: the node failed: ${redact(err instanceof Error ? (err.stack ?? err.message) : String(err))}`);
    exit = 1;
  } finally {
    if (node && !stopping) {
      const down = Date.now();
      for (const line of await node.stop()) say(`node-e2e teardown: ${line}`);
      notePhase('teardown', down);
    }
  }
  if (results.some((r) => r.program === 'multus-entrypoint' && !r.passed)) exit = 1;
  const ours = upstreamResults.filter((r) => r.program === 'multus-entrypoint');
  const oursFailed = ours.filter((r) => !r.passed && pluginFault(r, upstreamResults) === undefined);
  const stale = ours.filter((r) => r.passed && PLUGIN_FAULTS[r.script] !== undefined);
  if (upstreamE2eWanted && programsWanted.includes('multus-entrypoint') && (ours.length < CASES_PER_PROGRAM || oursFailed.length > 0 || stale.length > 0)) exit = 1;
  const oursSelected = programsWanted.includes('multus-entrypoint') ? SCENARIOS.filter((s) => s.programs.includes('multus-entrypoint') && selected(s)).length : 0;
  if (results.filter((r) => r.program === 'multus-entrypoint').length < oursSelected) exit = 1;
  if (upstreamE2eWanted) reportUpstreamE2e(upstreamResults, (line) => say(line));
  report(results, Math.round((Date.now() - t0) / 1000));
  say(verdict(results));
  if (upstreamE2eWanted) {
    say(upstreamVerdict(upstreamResults));
    const faults = new Set(ours.map((r) => pluginFault(r, upstreamResults)).filter((why) => why !== undefined));
    for (const [script, fault] of Object.entries(PLUGIN_FAULTS)) {
      if (faults.has(fault.why)) say(`upstream-e2e: ${script} fails with both programs, in Multus ${MULTUS_VERSION} itself: ${fault.why}`);
    }
    for (const r of stale) say(`upstream-e2e: ${r.script} at cniVersion ${r.cniVersion} passed with multus-entrypoint, though listed as a fault of Multus ${MULTUS_VERSION} (PLUGIN_FAULTS in test/real-node/upstream-e2e/suite.ts): remove the entry`);
  }
  if (thickPrograms.length > 0) {
    const t = thickReport(thick, [...thickPrograms]);
    for (const line of t.lines) say(line);
    if (t.failed) exit = 1;
  }
  return exit;
}

process.exitCode = await main();
