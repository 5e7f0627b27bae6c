// Upstream Multus' own e2e cases (ported one file per script, here) on the
// real node, against one program at a time. Per cniVersion, as upstream's
// CI cells (0.3.1, 0.4.0) and the one it has commented out (1.0.0): the
// program's DaemonSet with `--force-cni-version=true --cni-version=<v>`, as
// upstream's e2e DaemonSet template passes them, on a node as fresh as a new
// kind cluster (no Multus files); the five cases at once, each in a
// namespace of its own; then the DaemonSet deleted before the next version.
import { CoreV1Api } from '@kubernetes/client-node';
import { DS_NAME, DS_NAMESPACE, daemonSetPods, kubectl, type Program } from '../../harness/real-node/deploy.js';
import * as S from '../../harness/real-node/scenarios.js';
import { notePhase } from '../../harness/real-node/phases.js';
import { createNamespace, type UpstreamCase } from './common.js';
import { connectionLimit } from './test-connection-limit.js';
import { defaultRoute1 } from './test-default-route1.js';
import { simpleMacvlan1 } from './test-simple-macvlan1.js';
import { simplePod } from './test-simple-pod.js';
import { staticPod } from './test-static-pod.js';

const CNI_VERSIONS = ['0.3.1', '0.4.0', '1.0.0'];
const CASES: UpstreamCase[] = [simplePod, simpleMacvlan1, staticPod, defaultRoute1, connectionLimit];
/** Cases per program: five scripts at three versions. */
export const CASES_PER_PROGRAM = CASES.length * CNI_VERSIONS.length;

/**
 * Cases that fail inside the Multus plugin itself (of the release the
 * Dockerfile pins), whichever entrypoint installed it, keyed by script. The
 * suite reports them with why; they do not fail the run while the peer
 * fails them too. One that passes fails the run: the entry is stale, as
 * after an upgrade to a release that fixed it.
 */
export const PLUGIN_FAULTS: Record<string, { why: string }> = {
  'test-default-route1.sh': {
    why: "the Multus plugin's DeleteDefaultGW (pkg/netutils) deletes only routes whose Dst is nil; with vishvananda/netlink v1.3.1 a default route has Dst 0.0.0.0/0, so eth0 keeps the default route and the one on net1 is never added (fixed by multus-cni PR 1552, open)",
  },
};

/** Why the run does not hold ours failing `r` against it, or undefined. */
export function pluginFault(r: CaseResult, all: CaseResult[]): string | undefined {
  const fault = PLUGIN_FAULTS[r.script];
  if (r.passed || fault === undefined) return undefined;
  const peer = all.find((x) => x.program !== r.program && x.script === r.script && x.cniVersion === r.cniVersion);
  return peer === undefined || !peer.passed ? fault.why : undefined;
}

export interface CaseResult {
  program: Program;
  cniVersion: string;
  script: string;
  passed: boolean;
  reason?: string;
  seconds: number;
}

function namespaceOf(script: string, cniVersion: string): string {
  return `ue-${script.replace(/^test-/, '').replace(/\.sh$/, '')}-${cniVersion.replace(/\./g, '')}`;
}

async function runCase(ctx: S.Ctx, program: Program, cniVersion: string, c: UpstreamCase): Promise<CaseResult> {
  const t0 = Date.now();
  const ns = namespaceOf(c.script, cniVersion);
  try {
    await createNamespace(ctx.node, ns);
    await c.run({ node: ctx.node, ns, cniVersion });
    return { program, cniVersion, script: c.script, passed: true, seconds: S.secondsSince(t0) };
  } catch (err) {
    return { program, cniVersion, script: c.script, passed: false, reason: err instanceof Error ? err.message : String(err), seconds: S.secondsSince(t0) };
  }
}

/** How many pods the namespaces still hold (a failed list counts as some). */
async function podsIn(ctx: S.Ctx, namespaces: string[]): Promise<number> {
  const list = await ctx.node.kubeConfig.makeApiClient(CoreV1Api).listPodForAllNamespaces().catch(() => undefined);
  if (list === undefined) return 1;
  return list.items.filter((p) => namespaces.includes(p.metadata?.namespace ?? '')).length;
}

/** The DaemonSet alone goes (the CRD and RBAC stay); then its pods, then what it left on the node. */
async function deleteDaemonSet(ctx: S.Ctx): Promise<void> {
  await kubectl(ctx.node, ['-n', DS_NAMESPACE, 'delete', 'daemonset', DS_NAME, '--ignore-not-found', '--wait=false']);
  await S.until('the DaemonSet pods to be gone', 120000, async () => (await daemonSetPods(ctx.node).catch(() => [])).length === 0);
  await S.resetNode(ctx);
}

/** The fifteen cases against `program`; each result says why it failed. */
export async function runUpstreamE2e(ctx: S.Ctx, program: Program): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  const before = Date.now();
  // After the scenarios' uninstall: the CRD may still be terminating.
  await S.uninstallQuietly(ctx, program);
  await S.waitCrdGone(ctx);
  await S.resetNode(ctx);
  // The previous program's namespaces (same names) finish terminating first.
  const all = CNI_VERSIONS.flatMap((v) => CASES.map((c) => namespaceOf(c.script, v)));
  const api = ctx.node.kubeConfig.makeApiClient(CoreV1Api);
  await S.until('the previous run\'s case namespaces to be gone', 180000, async () => {
    const list = await api.listNamespace().catch(() => undefined);
    return list !== undefined && !list.items.some((n) => all.includes(n.metadata?.name ?? ''));
  });
  notePhase(`${program} upstream e2e: CRD gone, node reset`, before);
  for (const cniVersion of CNI_VERSIONS) {
    const t0 = Date.now();
    const step = { ready: 0, cases: 0, namespaces: 0, daemonSet: 0 };
    let mark = Date.now();
    const lap = (): number => {
      const s = S.secondsSince(mark);
      mark = Date.now();
      return s;
    };
    const dir = await S.deployDir(ctx, program, `upstream-e2e-${cniVersion}`, { extraArgs: ['--force-cni-version=true', `--cni-version=${cniVersion}`] });
    let setup: string | undefined;
    try {
      const readyS = await S.applyAndWait(ctx, dir);
      await S.until('the NetworkAttachmentDefinition CRD established', 60000, async () => (await S.crdState(ctx)) === 'True');
      const conf = S.multusConfigFile(ctx.node);
      ctx.log(`upstream-e2e: ${program} --cni-version=${cniVersion}: Ready in ${readyS} s, ${conf ?? 'no 00-multus.conf[list]'}`);
    } catch (err) {
      setup = `the DaemonSet with --cni-version=${cniVersion} did not come up: ${err instanceof Error ? err.message : String(err)}`;
    }
    step.ready = lap();
    const batch = setup
      ? CASES.map((c) => ({ program, cniVersion, script: c.script, passed: false, reason: setup, seconds: 0 }))
      : await Promise.all(CASES.map((c) => runCase(ctx, program, cniVersion, c)));
    step.cases = lap();
    results.push(...batch);
    for (const r of batch) ctx.log(`upstream-e2e: ${program} ${r.script} cniVersion ${cniVersion}: ${r.passed ? 'pass' : `FAIL: ${(r.reason ?? '').split('\n')[0]}`} (${r.seconds} s)`);
    // Pods a failed case left go through Multus' CNI DEL while it still runs;
    // the namespaces themselves (names of this version only) finish on their own.
    const namespaces = CASES.map((c) => namespaceOf(c.script, cniVersion));
    await kubectl(ctx.node, ['delete', 'namespace', ...namespaces, '--ignore-not-found', '--wait=false']).catch((err: unknown) => ctx.log(`upstream-e2e: deleting ${namespaces.join(', ')}: ${String(err)}`));
    await S.until(`the pods in ${namespaces.join(', ')} to be gone`, 120000, async () => (await podsIn(ctx, namespaces)) === 0).catch((err: unknown) => ctx.log(`upstream-e2e: ${String(err)}`));
    step.namespaces = lap();
    await deleteDaemonSet(ctx);
    step.daemonSet = lap();
    const took = notePhase(`${program} upstream e2e cniVersion ${cniVersion}`, t0);
    ctx.log(`upstream-e2e: ${program} cniVersion ${cniVersion} took ${took} s: apply to Ready ${step.ready}, cases ${step.cases}, namespaces deleted ${step.namespaces}, DaemonSet and node reset ${step.daemonSet}`);
  }
  const after = Date.now();
  await S.uninstallQuietly(ctx, program);
  notePhase(`${program} upstream e2e: uninstall`, after);
  return results;
}

/** The failures (with why) and one row per program and cniVersion. */
export function reportUpstreamE2e(results: CaseResult[], say: (line: string) => void): void {
  const failed = results.filter((r) => !r.passed);
  if (failed.length > 0) {
    say('');
    say('Upstream e2e failures:');
    for (const r of failed) say(`- ${r.program} ${r.script} at cniVersion ${r.cniVersion}: ${(r.reason ?? '').split('\n').slice(0, 6).join('\n    ')}`);
  }
  say('');
  say(`| program | cniVersion | ${CASES.map((c) => c.script).join(' | ')} |`);
  say(`|---|---|${CASES.map(() => '---|').join('')}`);
  const rows = new Set(results.map((r) => `${r.program}\t${r.cniVersion}`));
  for (const row of rows) {
    const [program, cniVersion] = row.split('\t');
    const cells = CASES.map((c) => {
      const r = results.find((x) => x.program === program && x.cniVersion === cniVersion && x.script === c.script);
      return r ? `${r.passed ? 'pass' : 'FAIL'} (${r.seconds} s)` : '-';
    });
    say(`| ${program} | ${cniVersion} | ${cells.join(' | ')} |`);
  }
}
