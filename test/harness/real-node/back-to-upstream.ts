// Scenario B: ours running and serving, then upstream's DaemonSet applied
// over it (same name, namespace and selector) while a pod is created every
// second. Every pod must get net1, and what ours leaves behind must be what
// docs/install.md ("Back to upstream") says: the files stay through the
// switch (our pod finds its DaemonSet still there), upstream rewrites the
// binary, the config and the kubeconfig (with a pod-bound token again), its
// ClusterRole and ConfigMap replace ours, our token Role and its binding
// stay, and nothing else of ours is on the node.
import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { daemonSetPods, kubectl } from './deploy.js';
import { UPSTREAM_IMAGE } from './images.js';
import {
  applyAndWait,
  checkNet1Pod,
  deployDir,
  ensureNads,
  judgePods,
  kubeconfigFile,
  multusConfigFile,
  net1Verdict,
  podsDuring,
  resetNode,
  waitCrdGone,
  type Ctx,
} from './scenarios.js';

/** Our namespaced Roles, which upstream's file does not touch: they stay (docs/install.md). */
const OUR_ROLES = ['multus-token', 'multus-uninstall-check'];

interface Doc {
  kind?: string;
  metadata?: { name?: string };
  rules?: unknown;
  data?: Record<string, string>;
}

function inode(file: string): number | undefined {
  try {
    return fs.statSync(file).ino;
  } catch {
    return undefined;
  }
}

/** What the kubeconfig's token is bound to (its claims, never the token itself). */
function tokenBinding(kubeconfig: string): string {
  const token = /^\s*token:\s*"?([A-Za-z0-9_.-]+)"?\s*$/m.exec(fs.readFileSync(kubeconfig, 'utf8'))?.[1];
  const payload = token?.split('.')[1];
  if (!payload) return 'no token';
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { 'kubernetes.io'?: { pod?: unknown; node?: unknown } };
  const k = claims['kubernetes.io'] ?? {};
  return k.pod ? 'pod' : k.node ? 'node' : 'neither';
}

function upstreamObject(ctx: Ctx, kind: string, name: string): Doc {
  const doc = parseAllDocuments(fs.readFileSync(ctx.upstreamManifest, 'utf8'))
    .map((d) => d.toJS() as Doc)
    .find((d) => d?.kind === kind && d.metadata?.name === name);
  if (!doc) throw new Error(`${ctx.upstreamManifest} has no ${kind} ${name}`);
  return doc;
}

async function clusterObject(ctx: Ctx, args: string[]): Promise<Doc | undefined> {
  const out = await kubectl(ctx.node, [...args, '-o', 'json']).catch(() => '');
  return out ? (JSON.parse(out) as Doc) : undefined;
}

/** JSON with object keys sorted: the API server orders a rule's fields its own way. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b))) : x,
  );
}

function listDir(dir: string, keep: (name: string) => boolean = () => true): string {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter(keep).sort().join(',') : 'absent';
}

export async function scenarioBackToUpstream(ctx: Ctx): Promise<void> {
  const { cniConfDir, cniBinDir } = ctx.node.dirs;
  await waitCrdGone(ctx);
  await resetNode(ctx);
  await applyAndWait(ctx, await deployDir(ctx, 'multus-entrypoint', 'base'));
  await ensureNads(ctx);
  await checkNet1Pod(ctx, 'multus-entrypoint', 'back');
  const conf = multusConfigFile(ctx.node);
  if (!conf) throw new Error('ours wrote no 00-multus.conf[list]');
  const files = { binary: path.join(cniBinDir, 'multus'), config: path.join(cniConfDir, conf), kubeconfig: kubeconfigFile(ctx.node) };
  const inodesBefore = Object.fromEntries(Object.entries(files).map(([k, f]) => [k, inode(f)]));
  const bindingBefore = tokenBinding(files.kubeconfig);
  const before = (await daemonSetPods(ctx.node)).map((p) => p.uid);
  // The files, every 100 ms through the switch: none may be missing even once.
  const missing = new Set<string>();
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      for (const [k, f] of Object.entries(files)) if (!fs.existsSync(f)) missing.add(k);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const dir = await deployDir(ctx, 'thin_entrypoint', 'base');
  // docs/install.md, "Back to upstream": applied as it is. Upstream's file
  // replaces the ClusterRole `multus`; our uninstall check reads the
  // DaemonSet through the Role multus-uninstall-check, which it leaves, so
  // our stopping pod sees the DaemonSet still there: a restart.
  let names: string[];
  try {
    names = await podsDuring(
      ctx,
      'thin_entrypoint',
      'back',
      async () => {
        ctx.metrics.applyToReadyS = await applyAndWait(ctx, dir);
        const now = await daemonSetPods(ctx.node);
        if (now.some((p) => before.includes(p.uid))) throw new Error('our pod is still there');
        if (!now.every((p) => p.image === UPSTREAM_IMAGE)) throw new Error(`after the apply: ${now.map((p) => p.image).join(', ')}`);
      },
      5,
    );
  } finally {
    watching = false;
    await watcher;
  }
  const problems: string[] = [];
  try {
    net1Verdict(ctx, names, await judgePods(ctx, names), 'going back to upstream');
  } catch (err) {
    problems.push((err as Error).message);
  }
  if (missing.size > 0) problems.push(`missing at some point during the switch: ${[...missing].join(', ')} (docs: our pod leaves the files)`);
  const notRewritten = Object.entries(files).filter(([k, f]) => inode(f) === undefined || inode(f) === inodesBefore[k]).map(([k]) => k);
  if (notRewritten.length > 0) problems.push(`not rewritten by upstream: ${notRewritten.join(', ')}`);
  const bindingAfter = tokenBinding(files.kubeconfig);
  if (bindingBefore !== 'node' || bindingAfter !== 'pod') problems.push(`token bound to ${bindingBefore} before and ${bindingAfter} after (docs: node-bound with ours, pod-bound with upstream's)`);
  const role = await clusterObject(ctx, ['get', 'clusterrole', 'multus']);
  if (canonical(role?.rules) !== canonical(upstreamObject(ctx, 'ClusterRole', 'multus').rules)) problems.push(`ClusterRole multus is not upstream's: ${JSON.stringify(role?.rules)}`);
  const cm = await clusterObject(ctx, ['-n', 'kube-system', 'get', 'configmap', 'multus-cni-config']);
  if (canonical(cm?.data) !== canonical(upstreamObject(ctx, 'ConfigMap', 'multus-cni-config').data)) problems.push('ConfigMap multus-cni-config does not hold upstream\'s data');
  for (const name of OUR_ROLES) {
    for (const kind of ['role', 'rolebinding']) {
      if (!(await clusterObject(ctx, ['-n', 'kube-system', 'get', kind, name]))) problems.push(`our ${kind} ${name} is gone (docs: it stays until you delete it)`);
    }
  }
  // Nothing else of ours on the node: upstream's files and the node's own.
  const layout = {
    conf: listDir(cniConfDir),
    'multus.d': listDir(path.join(cniConfDir, 'multus.d')),
    bin: listDir(cniBinDir, (n) => !fs.lstatSync(path.join(cniBinDir, n)).isSymbolicLink()),
  };
  const want = { conf: ['10-node-default.conf', conf, 'multus.d'].sort().join(','), 'multus.d': 'multus.kubeconfig', bin: 'multus,passthru' };
  for (const [k, v] of Object.entries(want)) if (layout[k as keyof typeof layout] !== v) problems.push(`${k}: ${layout[k as keyof typeof layout]} (want ${v})`);
  if (problems.length > 0) throw new Error(`back to upstream: ${problems.join('; ')}`);
  ctx.log(`back to upstream: files present throughout; binary, ${conf} and kubeconfig rewritten; token node-bound -> pod-bound; upstream's ClusterRole and ConfigMap; Roles/RoleBindings ${OUR_ROLES.join(', ')} stay; conf dir ${layout.conf}, bin dir ${layout.bin}`);
}
