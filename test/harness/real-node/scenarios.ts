// The scenarios, each a user's check on the real node. A scenario throws with
// what it saw when the behaviour is not there; metrics go to the report.
import { ApiextensionsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import fs from 'node:fs';
import path from 'node:path';
import { daemonSetPods, DS_NAMESPACE, kubectl, oursDir, upstreamDir, waitRolledOut, type Program, type Variant } from './deploy.js';
import { LINK_PREFIX } from './host.js';
import { NODE_NAME } from './control-plane.js';
import { defaultNetworkConf, type NodeRun } from './node.js';
import { rolloutTimeline, type Timeline } from './timeline.js';
import {
  createNad,
  createPod,
  DEFAULT_NETWORK_ANNOTATION,
  deletePods,
  describeOutcome,
  NETWORKS_ANNOTATION,
  networkStatusOf,
  observePod,
  TEST_NAMESPACE,
} from './pods.js';

export interface Metrics {
  applyToReadyS?: number;
  podsDuringUpdate?: number;
  podsWithNet1?: number;
  sandboxFailures?: number;
  uninstallToGoneS?: number;
  /** R: from the apply until the pod that started too early is replaced by one with net1. */
  repairS?: number;
  /** 1 and 2: where the apply-to-Ready seconds went. */
  timeline?: Timeline;
}

export interface Ctx {
  node: NodeRun;
  healthPort: number;
  upstreamManifest: string;
  metrics: Metrics;
  /** The directory last applied (what an uninstall deletes: a variant's components add objects). */
  installed?: string;
  /** The last applyAndWait: when the apply began and when the rollout was seen complete (ms). */
  lastRollout?: { t0: number; t1: number };
  log(line: string): void;
}

/** The key manifests/node-ready-taint gives --node-ready-taint. */
export const STARTUP_TAINT = 'k8s.cni.cncf.io/multus-not-ready';
export const MACVLAN_MASTER = `${LINK_PREFIX}mv0`;
export const NET1_NAD = 'macvlan-net1';
export const ALT_NAD = 'alt-default';
export const SUBNETS = { default: '198.18.0.', net1: '198.18.1.', alt: '198.18.2.', v1: '198.18.3.' };
const ROLLOUT_MS = 300000;
const POD_MS = 240000;
/** judgePods stops early once no pod got net1 for this long and every pod left failed its sandbox this often. */
const STUCK_MS = 60000;
const STUCK_FAILURES = 4;
/** Scenarios 4 and 5: how long the node's files get to follow a change (ours: within a second). */
const FOLLOW_MS = 30000;
/** Scenario 3: how long after the old pod is gone a pod is created every 10 s. */
const BAD_UPGRADE_MS = 40000;
const DEFAULT_CONF = '10-node-default.conf';
const V1_CONFLIST = '10-node-default.conflist';

let podCounter = 0;
export function podName(program: Program, scenario: string): string {
  podCounter += 1;
  return `${program === 'multus-entrypoint' ? 'me' : 'up'}-${scenario}-${podCounter}`;
}

export function secondsSince(t0: number): number {
  return Math.round((Date.now() - t0) / 100) / 10;
}

/** The directory `apply -k` uses for a program (and variant). */
export async function deployDir(ctx: Ctx, program: Program, label: string, variant: Variant = {}): Promise<string> {
  if (program === 'multus-entrypoint') return oursDir(ctx.node, ctx.healthPort, label, variant);
  return upstreamDir(ctx.node, ctx.upstreamManifest, label, variant);
}

export function multusConfigFile(node: NodeRun): string | undefined {
  return fs.readdirSync(node.dirs.cniConfDir).find((n) => /^00-multus\.conf(list)?$/.test(n));
}

export function kubeconfigFile(node: NodeRun): string {
  return path.join(node.dirs.cniConfDir, 'multus.d', 'multus.kubeconfig');
}

/** Waits until `check` holds (polling), or throws with `what`. */
export async function until(what: string, timeoutMs: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function dsPodLogs(ctx: Ctx): Promise<string> {
  const pods = await daemonSetPods(ctx.node).catch(() => []);
  const out: string[] = [];
  for (const p of pods) {
    const logs = await kubectl(ctx.node, ['-n', DS_NAMESPACE, 'logs', p.name, '--all-containers', '--tail=15']).catch((e: unknown) => String(e));
    out.push(`--- ${p.name} (${p.phase}, ready=${p.ready}, ${p.image})\n${logs}`);
  }
  return out.join('\n');
}

export async function describeDs(ctx: Ctx): Promise<string> {
  const events = await kubectl(ctx.node, ['-n', DS_NAMESPACE, 'get', 'events', '--sort-by=.lastTimestamp', '-o', 'custom-columns=OBJ:.involvedObject.name,REASON:.reason,MSG:.message']).catch(() => '');
  return `${await dsPodLogs(ctx)}\n--- events\n${events.split('\n').slice(-12).join('\n')}`;
}

/** Apply and wait for the rollout; returns seconds from apply to Ready. */
export async function applyAndWait(ctx: Ctx, dir: string): Promise<number> {
  const t0 = Date.now();
  await kubectl(ctx.node, ['apply', '-k', dir]);
  ctx.installed = dir;
  if (!(await waitRolledOut(ctx.node, ROLLOUT_MS))) throw new Error(`the DaemonSet did not roll out within ${ROLLOUT_MS / 1000} s:\n${await describeDs(ctx)}`);
  ctx.lastRollout = { t0, t1: Date.now() };
  const seconds = secondsSince(t0);
  // Ours is Ready only once its files are on disk (/readyz). Upstream's thin
  // DaemonSet has no probe: Ready once its container runs, which can be
  // before it wrote them; a pod created then starts without Multus. Its
  // files get a while, and the wait is logged.
  if (path.basename(dir).startsWith('upstream-')) {
    const ready = Date.now();
    await until('upstream\'s files after its pod turned Ready', FOLLOW_MS, () => multusConfigFile(ctx.node) !== undefined && fs.existsSync(kubeconfigFile(ctx.node))).catch(() => undefined);
    if (Date.now() - ready > 500) ctx.log(`upstream's files appeared ${secondsSince(ready)} s after its rollout was seen Ready`);
  }
  return seconds;
}

/** The NADs the scenarios use (the CRD comes with each program's manifests; uninstall deletes it). */
export async function ensureNads(ctx: Ctx): Promise<void> {
  const ipam = (subnet: string) => ({ type: 'host-local', ranges: [[{ subnet }]], dataDir: ctx.node.dirs.ipamDir });
  await until('the NetworkAttachmentDefinition CRD', 60000, async () => (await crdState(ctx)) === 'True');
  await createNad(ctx.node.kubeConfig, NET1_NAD, { cniVersion: '0.4.0', name: NET1_NAD, type: 'macvlan', master: MACVLAN_MASTER, mode: 'bridge', ipam: ipam(`${SUBNETS.net1}0/24`) });
  await createNad(ctx.node.kubeConfig, ALT_NAD, { cniVersion: '0.4.0', name: ALT_NAD, type: 'bridge', bridge: `${LINK_PREFIX}alt0`, isGateway: false, ipMasq: false, ipam: ipam(`${SUBNETS.alt}0/24`) });
}

function hasAddr(addrs: string[] | undefined, prefix: string): boolean {
  return (addrs ?? []).some((a) => a.startsWith(prefix));
}

/** One annotated pod gets eth0 (default network) and net1 (the NAD), and network-status lists both. */
export async function checkNet1Pod(ctx: Ctx, program: Program, scenario: string, eth0Subnet = SUBNETS.default): Promise<void> {
  const name = podName(program, scenario);
  await createPod(ctx.node.kubeConfig, name, { [NETWORKS_ANNOTATION]: NET1_NAD });
  const o = await observePod(ctx.node.kubeConfig, ctx.node.containerd, name, ['eth0', 'net1'], POD_MS);
  await deletePods(ctx.node.kubeConfig, [name]);
  const ok =
    o.running &&
    hasAddr(o.interfaces.eth0, eth0Subnet) &&
    hasAddr(o.interfaces.net1, SUBNETS.net1) &&
    o.networkStatus.some((s) => s.interface === 'eth0' && s.default === true) &&
    o.networkStatus.some((s) => s.interface === 'net1' && s.name.endsWith(NET1_NAD));
  if (!ok) throw new Error(`annotated pod: want eth0 in ${eth0Subnet}0/24 and net1 in ${SUBNETS.net1}0/24, both in network-status; got ${describeOutcome(o)}`);
}

// ---------------------------------------------------------------------------

/** Back to a node without Multus: only the default network's config and Debian's plugins. */
export async function resetNode(ctx: Ctx): Promise<void> {
  const { cniConfDir, cniBinDir } = ctx.node.dirs;
  for (const n of fs.readdirSync(cniConfDir)) if (n !== DEFAULT_CONF) fs.rmSync(path.join(cniConfDir, n), { recursive: true, force: true });
  fs.writeFileSync(path.join(cniConfDir, DEFAULT_CONF), defaultNetworkConf(ctx.node.dirs.ipamDir));
  for (const n of fs.readdirSync(cniBinDir)) if (!fs.lstatSync(path.join(cniBinDir, n)).isSymbolicLink()) fs.rmSync(path.join(cniBinDir, n), { force: true });
}

/** The timeline of the last rollout, for the report (never fails the scenario). */
function recordTimeline(ctx: Ctx): void {
  const r = ctx.lastRollout;
  if (!r) return;
  try {
    ctx.metrics.timeline = rolloutTimeline(ctx.node, r.t0, r.t1);
  } catch (err) {
    ctx.log(`timeline: ${String(err)}`);
  }
}

export async function scenarioRollout(ctx: Ctx, program: Program): Promise<void> {
  ctx.metrics.applyToReadyS = await applyAndWait(ctx, await deployDir(ctx, program, 'base'));
  recordTimeline(ctx);
  const { cniConfDir, cniBinDir } = ctx.node.dirs;
  const conf = multusConfigFile(ctx.node);
  if (!fs.existsSync(path.join(cniBinDir, 'multus'))) throw new Error(`multus was not installed into the node's ${cniBinDir}`);
  if (!conf) throw new Error(`no 00-multus.conf[list] in the node's ${cniConfDir}: ${fs.readdirSync(cniConfDir).join(', ')}`);
  if (!fs.existsSync(kubeconfigFile(ctx.node))) throw new Error(`no ${kubeconfigFile(ctx.node)}`);
  // CIS Kubernetes Benchmark 1.1.9 (docs/security.md, File modes): ours are
  // 0600; the pods below then show containerd and Multus load them as such.
  const modeOf = (file: string): string => `0${(fs.statSync(file).mode & 0o7777).toString(8)}`;
  const modes = { config: modeOf(path.join(cniConfDir, conf)), kubeconfig: modeOf(kubeconfigFile(ctx.node)) };
  ctx.log(`rollout (${program}): ${conf} mode ${modes.config}, multus.kubeconfig mode ${modes.kubeconfig}`);
  if (program === 'multus-entrypoint' && (modes.config !== '0600' || modes.kubeconfig !== '0600')) {
    throw new Error(`want ${conf} and multus.kubeconfig at mode 0600; got ${modes.config} and ${modes.kubeconfig}`);
  }
  await ensureNads(ctx);
  // The two pods are independent: both at once.
  const altDefault = async (): Promise<void> => {
    // default-network annotation: eth0 from the NAD instead of the node's default.
    const name = podName(program, 's1');
    // Without a namespace Multus looks the NAD up in its own (kube-system).
    await createPod(ctx.node.kubeConfig, name, { [DEFAULT_NETWORK_ANNOTATION]: `${TEST_NAMESPACE}/${ALT_NAD}` });
    const o = await observePod(ctx.node.kubeConfig, ctx.node.containerd, name, ['eth0'], POD_MS);
    await deletePods(ctx.node.kubeConfig, [name]);
    if (!o.running || !hasAddr(o.interfaces.eth0, SUBNETS.alt)) throw new Error(`pod with ${DEFAULT_NETWORK_ANNOTATION}: ${ALT_NAD}: want eth0 in ${SUBNETS.alt}0/24; got ${describeOutcome(o)}`);
  };
  const results = await Promise.allSettled([checkNet1Pod(ctx, program, 's1'), altDefault()]);
  const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : []));
  if (failed.length > 0) throw new Error(failed.join('; '));
}

/** Creates an annotated pod every second while `busy` runs; then waits for each; all must get net1. */
export async function podsDuring(ctx: Ctx, program: Program, scenario: string, busy: () => Promise<void>, minSeconds: number): Promise<string[]> {
  const names: string[] = [];
  let done = false;
  let failure: unknown;
  const t0 = Date.now();
  const work = busy()
    .catch((err: unknown) => {
      failure = err;
    })
    .finally(() => {
      done = true;
    });
  while (!done || Date.now() - t0 < minSeconds * 1000) {
    const name = podName(program, scenario);
    await createPod(ctx.node.kubeConfig, name, { [NETWORKS_ANNOTATION]: NET1_NAD }).catch((err: unknown) => ctx.log(`could not create ${name}: ${String(err)}`));
    names.push(name);
    await new Promise((r) => setTimeout(r, 1000));
  }
  await work;
  if (failure) throw failure;
  return names;
}

/**
 * Waits for every pod to run with net1 in network-status; counts them and their sandbox failures.
 * `runningIsFinal`: stop once every pod runs (Multus writes network-status before the sandbox is
 * up, so a running pod without net1 will not get it): a peer that fails does not cost the deadline.
 */
export async function judgePods(ctx: Ctx, names: string[], runningIsFinal = false): Promise<{ withNet1: number; failures: number; bad: string[] }> {
  const kc: KubeConfig = ctx.node.kubeConfig;
  const api = kc.makeApiClient(CoreV1Api);
  const good = new Set<string>();
  // What a pod without net1 showed last: its phase and network-status.
  const seen = new Map<string, string>();
  const deadline = Date.now() + POD_MS;
  let progress = Date.now();
  const sandboxFailures = async (): Promise<{ failures: number; perPod: Map<string, number>; lastFailure: Map<string, string> }> => {
    const events = await api.listNamespacedEvent({ namespace: TEST_NAMESPACE }).catch(() => ({ items: [] }));
    const perPod = new Map<string, number>();
    const lastFailure = new Map<string, string>();
    for (const ev of events.items) {
      const n = ev.involvedObject.name ?? '';
      if (ev.reason !== 'FailedCreatePodSandBox' || !names.includes(n)) continue;
      perPod.set(n, (perPod.get(n) ?? 0) + (ev.count ?? 1));
      lastFailure.set(n, ev.message ?? '');
    }
    return { failures: [...perPod.values()].reduce((a, b) => a + b, 0), perPod, lastFailure };
  };
  let allRunning = false;
  while (good.size < names.length && Date.now() < deadline && !(runningIsFinal && allRunning)) {
    const list = await api.listNamespacedPod({ namespace: TEST_NAMESPACE }).catch(() => ({ items: [] }));
    allRunning = names.every((n) => list.items.some((p) => p.metadata?.name === n && p.status?.phase === 'Running'));
    for (const p of list.items) {
      const n = p.metadata?.name ?? '';
      if (!names.includes(n) || good.has(n)) continue;
      const status = networkStatusOf(p);
      if (p.status?.phase === 'Running' && status.some((s) => s.interface === 'net1' && (s.ips ?? []).some((ip) => ip.startsWith(SUBNETS.net1)))) {
        good.add(n);
        progress = Date.now();
      } else seen.set(n, `${p.status?.phase ?? '?'}, network-status [${status.map((s) => `${s.interface ?? '?'}:${s.name}`).join(' ')}]`);
    }
    // The kubelet retries a failed sandbox every 10-15 s: no pod done for
    // STUCK_MS while every pod left failed STUCK_FAILURES times is a fault
    // that stays (a dead token, no config), not one a retry is about to fix.
    if (good.size < names.length && Date.now() - progress > STUCK_MS) {
      const { perPod } = await sandboxFailures();
      if (names.every((n) => good.has(n) || (perPod.get(n) ?? 0) >= STUCK_FAILURES)) break;
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
  const { failures, lastFailure } = await sandboxFailures();
  const bad = names.filter((n) => !good.has(n)).map((n) => `${n} (${seen.get(n) ?? 'never listed'})${lastFailure.has(n) ? `: ${(lastFailure.get(n) ?? '').slice(0, 400)}` : ''}`);
  await deletePods(kc, names);
  return { withNet1: good.size, failures, bad };
}

export function net1Verdict(ctx: Ctx, names: string[], r: { withNet1: number; failures: number; bad: string[] }, what: string): void {
  ctx.metrics.podsDuringUpdate = names.length;
  ctx.metrics.podsWithNet1 = r.withNet1;
  ctx.metrics.sandboxFailures = r.failures;
  if (r.withNet1 !== names.length) throw new Error(`${what}: ${r.withNet1}/${names.length} pods got net1; without it: ${r.bad.slice(0, 3).join(' | ')}`);
}

export async function scenarioRollingUpdate(ctx: Ctx, program: Program): Promise<void> {
  const before = (await daemonSetPods(ctx.node)).map((p) => p.uid);
  const arg = program === 'multus-entrypoint' ? '--resync-interval=30' : '--multus-log-level=verbose';
  const dir = await deployDir(ctx, program, 'changed-arg', { extraArgs: [arg] });
  const names = await podsDuring(
    ctx,
    program,
    's2',
    async () => {
      ctx.metrics.applyToReadyS = await applyAndWait(ctx, dir);
      recordTimeline(ctx);
      const now = await daemonSetPods(ctx.node);
      if (now.some((p) => before.includes(p.uid))) throw new Error('the rollout kept the old pod');
    },
    5,
  );
  net1Verdict(ctx, names, await judgePods(ctx, names), `rolling update (${arg})`);
}

export async function scenarioBadUpgrade(ctx: Ctx, program: Program): Promise<void> {
  const before = (await daemonSetPods(ctx.node)).map((p) => p.uid);
  await kubectl(ctx.node, ['apply', '-k', await deployDir(ctx, program, 'bad-image', { imageTag: 'does-not-exist' })]);
  await until('the old DaemonSet pod to be gone and the new one to be stuck', ROLLOUT_MS, async () => {
    const pods = await daemonSetPods(ctx.node);
    return pods.length > 0 && pods.every((p) => !before.includes(p.uid) && !p.ready);
  });
  const names: string[] = [];
  const t0 = Date.now();
  // A pod-bound token stops authenticating once its pod is gone, but the API
  // server caches a token's success for 10 s (TokenSuccessCacheTTL in
  // pkg/kubeapiserver/options): pods over 40 s, the last two created after
  // that cache ran out, show a dead token; a node-bound one lives for hours.
  while (Date.now() - t0 < BAD_UPGRADE_MS) {
    const name = podName(program, 's3');
    await createPod(ctx.node.kubeConfig, name, { [NETWORKS_ANNOTATION]: NET1_NAD });
    names.push(name);
    await new Promise((r) => setTimeout(r, 10000));
  }
  const r = await judgePods(ctx, names);
  // Back to a good DaemonSet for the next scenarios.
  await applyAndWait(ctx, await deployDir(ctx, program, 'base')).catch((err: unknown) => ctx.log(`restoring after the bad upgrade failed: ${String(err)}`));
  net1Verdict(ctx, names, r, `in the ${BAD_UPGRADE_MS / 1000} s after a bad upgrade`);
}

export async function scenarioDefaultNetworkChange(ctx: Ctx, program: Program): Promise<void> {
  const { cniConfDir, ipamDir } = ctx.node.dirs;
  const conflist = {
    cniVersion: '1.0.0',
    name: 'node-default-v1',
    plugins: [{ type: 'bridge', bridge: `${LINK_PREFIX}v10`, isGateway: false, ipMasq: false, ipam: { type: 'host-local', ranges: [[{ subnet: `${SUBNETS.v1}0/24` }]], dataDir: ipamDir } }],
  };
  try {
    fs.writeFileSync(path.join(cniConfDir, V1_CONFLIST), `${JSON.stringify(conflist, null, 2)}\n`);
    fs.rmSync(path.join(cniConfDir, DEFAULT_CONF));
    // The program's job: its config follows the node's default network. Ours
    // reacts to the file events within a second; 30 s is the deadline, well
    // inside the resync (60 s) that would cover a lost event.
    await until('00-multus.conf[list] to delegate to the new 1.0.0 conflist', FOLLOW_MS, () => {
      const f = multusConfigFile(ctx.node);
      return f !== undefined && fs.readFileSync(path.join(cniConfDir, f), 'utf8').includes('node-default-v1');
    }).catch((err: unknown) => {
      const f = multusConfigFile(ctx.node);
      throw new Error(`${(err as Error).message}; ${f ?? 'no multus config'}: ${f ? fs.readFileSync(path.join(cniConfDir, f), 'utf8').slice(0, 400) : ''}`);
    });
    await checkNet1Pod(ctx, program, 's4', SUBNETS.v1);
  } finally {
    fs.writeFileSync(path.join(cniConfDir, DEFAULT_CONF), defaultNetworkConf(ipamDir));
    fs.rmSync(path.join(cniConfDir, V1_CONFLIST), { force: true });
  }
  await until('00-multus.conf[list] back on the original default network', 120000, () => {
    const f = multusConfigFile(ctx.node);
    return f !== undefined && fs.readFileSync(path.join(cniConfDir, f), 'utf8').includes('"node-default"');
  }).catch((err: unknown) => ctx.log(`after scenario 4: ${(err as Error).message}`));
}

/** `installed`: the directory to delete when it is not the program's base (thick). */
export async function scenarioUninstall(ctx: Ctx, program: Program, installed?: string): Promise<void> {
  const dir = installed ?? (await deployDir(ctx, program, 'base'));
  const t0 = Date.now();
  await kubectl(ctx.node, ['delete', '-k', dir, '--wait=false']);
  let gone = true;
  await until('the DaemonSet pods to be gone', 120000, async () => (await daemonSetPods(ctx.node)).length === 0).catch(() => undefined);
  // Removed by the stopping pod itself, before it is gone.
  await until('00-multus.conf[list] and the kubeconfig to be removed', FOLLOW_MS, () => multusConfigFile(ctx.node) === undefined && !fs.existsSync(kubeconfigFile(ctx.node))).catch(() => {
    gone = false;
  });
  if (gone) ctx.metrics.uninstallToGoneS = secondsSince(t0);
  // The next pod: the default network alone, and no Multus error on the way.
  const name = podName(program, 's5');
  await createPod(ctx.node.kubeConfig, name, {});
  // With the config left the verdict is made; the pod only says what it meets (its first sandbox failures).
  const o = await observePod(ctx.node.kubeConfig, ctx.node.containerd, name, ['eth0'], gone ? POD_MS : 20000);
  await deletePods(ctx.node.kubeConfig, [name]);
  const left = fs.readdirSync(ctx.node.dirs.cniConfDir).join(', ');
  if (!gone) throw new Error(`after delete -k, the node still has Multus' config (${left}); next pod: ${describeOutcome(o)}`);
  if (!o.running || !hasAddr(o.interfaces.eth0, SUBNETS.default) || o.sandboxFailures > 0 || o.networkStatus.length > 0) {
    throw new Error(`after uninstall, want a pod on the default network alone with no Multus error; got ${describeOutcome(o)}`);
  }
}

/** The host pid of a pod's running container, or undefined. */
export async function containerPid(ctx: Ctx, podUid: string, container: string): Promise<string | undefined> {
  const ids = (await ctx.node.containerd.ctr(['containers', 'ls', '--quiet', `labels."io.kubernetes.pod.uid"=="${podUid}",labels."io.kubernetes.container.name"==${container}`])).split('\n').filter(Boolean);
  const tasks = await ctx.node.containerd.ctr(['tasks', 'ls']);
  return ids.map((id) => tasks.split('\n').find((l) => l.startsWith(`${id} `) && l.includes('RUNNING'))?.trim().split(/\s+/)[1]).find(Boolean);
}

/** Issue 14: the hardening is in force in the running container (CapEff 0, read-only root, seccomp 2). */
export async function scenarioHardening(ctx: Ctx): Promise<void> {
  const pods = await daemonSetPods(ctx.node);
  const pod = pods.find((p) => p.ready);
  if (!pod) throw new Error('no Ready DaemonSet pod to inspect');
  const pid = await containerPid(ctx, pod.uid, 'kube-multus');
  if (!pid) throw new Error(`no running kube-multus container for pod ${pod.name}`);
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (k: string): string => new RegExp(`^${k}:\\s*(\\S+)`, 'm').exec(status)?.[1] ?? '?';
  const problems: string[] = [];
  if (field('CapEff') !== '0000000000000000') problems.push(`CapEff ${field('CapEff')} (want 0)`);
  if (field('CapBnd') !== '0000000000000000') problems.push(`CapBnd ${field('CapBnd')} (want 0)`);
  if (field('Seccomp') !== '2') problems.push(`Seccomp ${field('Seccomp')} (want 2, filter)`);
  if (field('NoNewPrivs') !== '1') problems.push(`NoNewPrivs ${field('NoNewPrivs')} (want 1)`);
  // The root filesystem, as the container sees it (through its mount
  // namespace: /proc/<pid>/root; the image has no shell): a write must fail
  // with EROFS, and its mount at / must be read-only.
  const probe = `/proc/${pid}/root/.node-e2e-probe`;
  try {
    fs.writeFileSync(probe, 'x');
    fs.rmSync(probe, { force: true });
    problems.push('the root filesystem is writable');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EROFS') problems.push(`writing / failed, but not as read-only: ${(err as Error).message}`);
  }
  const rootMount = fs
    .readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
    .split('\n')
    .find((l) => l.split(' ')[4] === '/');
  if (!rootMount?.split(' ')[5]?.split(',').includes('ro')) problems.push(`the root mount is not read-only: ${rootMount ?? 'none'}`);
  if (problems.length > 0) throw new Error(`kube-multus (pid ${pid}): ${problems.join('; ')}`);
  ctx.log(`hardening: kube-multus pid ${pid}: CapEff ${field('CapEff')}, CapBnd ${field('CapBnd')}, Seccomp ${field('Seccomp')}, NoNewPrivs ${field('NoNewPrivs')}, root read-only`);
}

/** Issue 14: upstream's DaemonSet serving, ours applied over it while pods keep coming. */
export async function scenarioMigration(ctx: Ctx): Promise<void> {
  await resetNode(ctx);
  await applyAndWait(ctx, await deployDir(ctx, 'thin_entrypoint', 'base'));
  await ensureNads(ctx);
  await checkNet1Pod(ctx, 'thin_entrypoint', 'mig');
  const binBefore = fs.readdirSync(ctx.node.dirs.cniBinDir).filter((n) => !fs.lstatSync(path.join(ctx.node.dirs.cniBinDir, n)).isSymbolicLink());
  const before = (await daemonSetPods(ctx.node)).map((p) => p.uid);
  const dir = await deployDir(ctx, 'multus-entrypoint', 'base');
  const names = await podsDuring(
    ctx,
    'multus-entrypoint',
    'mig',
    async () => {
      ctx.metrics.applyToReadyS = await applyAndWait(ctx, dir);
      const now = await daemonSetPods(ctx.node);
      if (now.some((p) => before.includes(p.uid))) throw new Error('upstream\'s pod is still there');
    },
    5,
  );
  net1Verdict(ctx, names, await judgePods(ctx, names), 'migrating from upstream');
  // Ours is Ready, and its /readyz means the files on disk are what it would write.
  const pods = await daemonSetPods(ctx.node);
  if (!pods.every((p) => p.ready && p.image.includes('multus-entrypoint'))) throw new Error(`after the migration: ${JSON.stringify(pods)}`);
  if (!multusConfigFile(ctx.node) || !fs.existsSync(kubeconfigFile(ctx.node))) throw new Error('after the migration the node lacks the config or kubeconfig');
  // Upstream's binaries ours does not write stay (docs/install.md, "Back to upstream").
  const missing = binBefore.filter((n) => !fs.existsSync(path.join(ctx.node.dirs.cniBinDir, n)));
  if (missing.length > 0) throw new Error(`upstream's ${missing.join(', ')} disappeared from the bin dir`);
  ctx.log(`migration: upstream's files in the bin dir before: ${binBefore.join(', ')}; all still there`);
}

const NAD_CRD = 'network-attachment-definitions.k8s.cni.cncf.io';

/** The NAD CRD's Established status, or 'absent' (polled: through the API client, not kubectl). */
export async function crdState(ctx: Ctx): Promise<string> {
  return ctx.node.kubeConfig
    .makeApiClient(ApiextensionsV1Api)
    .readCustomResourceDefinition({ name: NAD_CRD })
    .then((crd) => crd.status?.conditions?.find((c) => c.type === 'Established')?.status ?? '', () => 'absent');
}

/** An uninstall's CRD deletion finishes (an apply meanwhile would patch the terminating CRD). */
export async function waitCrdGone(ctx: Ctx): Promise<void> {
  await until(`the CRD ${NAD_CRD} to be deleted`, 120000, async () => (await crdState(ctx)) === 'absent');
}

export async function uninstallQuietly(ctx: Ctx, program: Program): Promise<void> {
  // Ours as last applied (a variant's components add objects); otherwise the program's base.
  const variant = program === 'multus-entrypoint' && ctx.installed !== undefined && path.basename(ctx.installed).startsWith('ours-') ? ctx.installed : undefined;
  await kubectl(ctx.node, ['delete', '-k', variant ?? (await deployDir(ctx, program, 'base')), '--ignore-not-found', '--wait=false']).catch(() => undefined);
  if (variant) ctx.installed = undefined;
  await until('the DaemonSet pods to be gone', 120000, async () => (await daemonSetPods(ctx.node).catch(() => [])).length === 0).catch(() => undefined);
  // --node-ready-taint puts the taint back on uninstall; the next program starts on an untainted node.
  await kubectl(ctx.node, ['taint', 'node', NODE_NAME, `${STARTUP_TAINT}:NoSchedule-`]).catch(() => undefined);
}
