// npm run test:real-node: the product on a real node (see README.md here). Brings
// up one node, runs every scenario with multus-entrypoint and with
// upstream's thin_entrypoint, prints a table and ends with one line:
//   node-e2e: N/N scenarios passed with multus-entrypoint; M/K with upstream thin_entrypoint
// Exit 1 if a multus-entrypoint scenario failed (the peer's failures are
// its measurement, explained above the table) or the node could not run.
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
import { TEST_NAMESPACE } from '../harness/real-node/pods.js';

interface Scenario {
  id: string;
  title: string;
  programs: Program[];
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
  { id: 'M', title: 'migration from upstream', programs: OURS, run: (ctx) => S.scenarioMigration(ctx) },
];

const inCi = process.env.CI === 'true';
// For working on one part: REAL_NODE_ONLY=1,H runs those scenario ids, REAL_NODE_PROGRAMS=multus-entrypoint one program.
const only = process.env.REAL_NODE_ONLY?.split(',').map((s) => s.trim());
const programsWanted = (process.env.REAL_NODE_PROGRAMS?.split(',') ?? BOTH) as Program[];
const selected = (s: Scenario): boolean => only === undefined || only.includes(s.id);
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
  say('| program | scenario | result | apply to Ready (s) | pods during update: net1/created | sandbox failures | uninstall to config gone (s) |');
  say('|---|---|---|---|---|---|---|');
  for (const r of results) {
    const m = r.metrics;
    const pods = m.podsDuringUpdate === undefined ? '-' : `${m.podsWithNet1 ?? 0}/${m.podsDuringUpdate}`;
    say(`| ${r.program} | ${r.scenario.id} ${r.scenario.title} | ${r.passed ? 'pass' : 'FAIL'} | ${fmt(m.applyToReadyS)} | ${pods} | ${fmt(m.sandboxFailures)} | ${fmt(m.uninstallToGoneS)} |`);
  }
  say('');
  say(`node-e2e: suite took ${durationS} s`);
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
    say(`node-e2e: node Ready after ${Math.round((Date.now() - t0) / 1000)} s; run dir ${node.dirs.run}`);
    for (const img of node.images) say(`node-e2e: image ${img.name} ${img.bytes} bytes`);
    if (!fs.existsSync(upstreamManifest)) throw new Error(`${upstreamManifest} is missing: run test/tools/build-components.sh multus`);
    await prepareCluster(node);
    const healthPort = await freePort();
    for (const program of BOTH.filter((p) => programsWanted.includes(p))) {
      const ctx: S.Ctx = { node, healthPort, upstreamManifest, metrics: {}, log: say };
      await S.resetNode(ctx);
      for (const scenario of SCENARIOS) {
        if (!scenario.programs.includes(program) || scenario.id === 'M' || !selected(scenario)) continue;
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
      }
      await S.uninstallQuietly(ctx, program);
    }
    const migration = SCENARIOS.find((s) => s.id === 'M');
    if (migration && selected(migration) && programsWanted.includes('multus-entrypoint')) {
      const ctx: S.Ctx = { node, healthPort, upstreamManifest, metrics: {}, log: say };
      say(`node-e2e: multus-entrypoint scenario M (${migration.title}) ...`);
      try {
        await migration.run(ctx, 'multus-entrypoint');
        results.push({ program: 'multus-entrypoint', scenario: migration, passed: true, metrics: ctx.metrics });
      } catch (err) {
        results.push({ program: 'multus-entrypoint', scenario: migration, passed: false, reason: redact(err instanceof Error ? err.message : String(err)), metrics: ctx.metrics });
      }
      await S.uninstallQuietly(ctx, 'multus-entrypoint');
    }
  } catch (err) {
    say(`node-e2e: the node failed: ${redact(err instanceof Error ? (err.stack ?? err.message) : String(err))}`);
    exit = 1;
  } finally {
    if (node && !stopping) {
      for (const line of await node.stop()) say(`node-e2e teardown: ${line}`);
    }
  }
  if (results.some((r) => r.program === 'multus-entrypoint' && !r.passed)) exit = 1;
  if (results.filter((r) => r.program === 'multus-entrypoint').length < SCENARIOS.filter((s) => s.programs.includes('multus-entrypoint')).length) exit = 1;
  report(results, Math.round((Date.now() - t0) / 1000));
  say(verdict(results));
  return exit;
}

process.exitCode = await main();
