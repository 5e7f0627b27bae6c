// Scenarios R and F (ours): the pods that started before Multus get their
// networks back (--repair-pods with the startup taint), and another writer
// fighting over the config is named (a Cilium-like rename to *.cilium_bak).
// R installs ours with both components; F reuses that install.
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import fs from 'node:fs';
import path from 'node:path';
import { NODE_NAME } from './control-plane.js';
import { REPO_ROOT } from '../components.js';
import { daemonSetPods, DS_NAMESPACE, kubectl } from './deploy.js';
import { createPod, describeOutcome, NETWORKS_ANNOTATION, networkStatusOf, observePod, readPod, TEST_NAMESPACE } from './pods.js';
import { PAUSE_IMAGE } from './images.js';
import {
  applyAndWait,
  type Ctx,
  deployDir,
  ensureNads,
  multusConfigFile,
  NET1_NAD,
  podName,
  resetNode,
  secondsSince,
  STARTUP_TAINT,
  SUBNETS,
  uninstallQuietly,
  until,
} from './scenarios.js';

const APP = 'node-e2e-repair';
const DEPLOYMENT = 'repair-web';
/** What issue and users ask: the pod that started too early is back with its networks within a minute. */
const REPAIR_MS = 60000;

/** R's pods, for F to check they stay. */
let survivors: { name: string; uid: string }[] = [];

interface PodEvent {
  reason?: string;
  type?: string;
  note?: string;
  regarding?: { name?: string; uid?: string };
}

async function eventsIn(ctx: Ctx, namespace: string): Promise<PodEvent[]> {
  const out = await kubectl(ctx.node, ['-n', namespace, 'get', 'events.events.k8s.io', '-o', 'json']).catch(() => '{"items":[]}');
  return (JSON.parse(out) as { items: PodEvent[] }).items;
}

async function deploymentPods(ctx: Ctx): Promise<V1Pod[]> {
  const list = await ctx.node.kubeConfig.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: TEST_NAMESPACE, labelSelector: `app=${APP}` });
  return list.items.filter((p) => p.metadata?.deletionTimestamp === undefined);
}

async function nodeTainted(ctx: Ctx): Promise<boolean> {
  const out = await kubectl(ctx.node, ['get', 'node', NODE_NAME, '-o', 'jsonpath={.spec.taints[*].key}']);
  return out.split(/\s+/).includes(STARTUP_TAINT);
}

/** A Deployment of one annotated pod, scheduled (no nodeName, no tolerations: the taint holds it off). */
function deploymentYaml(): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: DEPLOYMENT, namespace: TEST_NAMESPACE },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: APP } },
      template: {
        metadata: { labels: { app: APP }, annotations: { [NETWORKS_ANNOTATION]: NET1_NAD } },
        spec: {
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: 0,
          containers: [{ name: 'pause', image: PAUSE_IMAGE, imagePullPolicy: 'Never' }],
        },
      },
    },
  });
}

/** The pod runs on the default network alone: eth0, no net1, no network-status. */
async function startsWithoutNetworks(ctx: Ctx, name: string): Promise<string> {
  const o = await observePod(ctx.node.kubeConfig, ctx.node.containerd, name, ['eth0'], 120000);
  if (!o.running || (o.interfaces.eth0 ?? []).length === 0 || o.interfaces.net1 !== undefined || o.networkStatus.length > 0) {
    throw new Error(`before Multus, want ${name} running on the default network alone (eth0, no net1, no network-status); got ${describeOutcome(o)}`);
  }
  const pod = await readPod(ctx.node.kubeConfig, name);
  return pod?.metadata?.uid ?? '';
}

/**
 * R: a Deployment's pod and a bare pod, both asking for macvlan-net1, start
 * before Multus; then ours with repair-pods and node-ready-taint on a node
 * carrying the taint (as kubelet --register-with-taints leaves it).
 */
export async function scenarioRepair(ctx: Ctx): Promise<void> {
  const { node } = ctx;
  // A node without Multus (as scenario 5 leaves it; when run without 5, made so).
  if (multusConfigFile(node) !== undefined || (await daemonSetPods(node)).length > 0) {
    await uninstallQuietly(ctx, 'multus-entrypoint');
    await resetNode(ctx);
  }
  // The NADs exist before Multus does, as in a cluster where it is (re)installed.
  await kubectl(node, ['apply', '-f', path.join(REPO_ROOT, 'manifests/crd.yaml')]);
  await ensureNads(ctx);
  await kubectl(node, ['apply', '-f', '-'], deploymentYaml());
  const bare = podName('multus-entrypoint', 'sr');
  await createPod(node.kubeConfig, bare, { [NETWORKS_ANNOTATION]: NET1_NAD });
  let early: V1Pod | undefined;
  await until('the Deployment\'s pod to be scheduled', 120000, async () => {
    early = (await deploymentPods(ctx)).find((p) => p.spec?.nodeName === NODE_NAME);
    return early !== undefined;
  });
  const earlyName = early?.metadata?.name ?? '';
  const earlyUid = await startsWithoutNetworks(ctx, earlyName);
  const bareUid = await startsWithoutNetworks(ctx, bare);
  ctx.log(`repair: before Multus, ${earlyName} (Deployment) and ${bare} (bare) run on the default network alone: no net1, no network-status`);

  await kubectl(node, ['taint', 'node', NODE_NAME, `${STARTUP_TAINT}=:NoSchedule`, '--overwrite']);
  const dir = await deployDir(ctx, 'multus-entrypoint', 'repair', { components: ['repair-pods', 'node-ready-taint'] });
  const t0 = Date.now();
  // While the taint is on, no new pod may be bound to the node: pods read first, then the node, so a
  // pod seen bound while the taint is still there was bound under it.
  const landedEarly: string[] = [];
  let replacement: V1Pod | undefined;
  let watching = true;
  const watch = (async () => {
    while (watching) {
      const bound = (await deploymentPods(ctx).catch(() => [])).filter((p) => p.metadata?.uid !== earlyUid && p.spec?.nodeName === NODE_NAME);
      if (bound.length > 0 && (await nodeTainted(ctx).catch(() => false))) landedEarly.push(...bound.map((p) => p.metadata?.name ?? ''));
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  try {
    ctx.metrics.applyToReadyS = await applyAndWait(ctx, dir);
    await until(`the Deployment's pod replaced by one with net1 within ${REPAIR_MS / 1000} s of the apply`, Math.max(1000, REPAIR_MS - (Date.now() - t0)), async () => {
      replacement = (await deploymentPods(ctx)).find((p) => p.metadata?.uid !== earlyUid && p.status?.phase === 'Running' &&
        networkStatusOf(p).some((s) => s.interface === 'net1' && (s.ips ?? []).some((ip) => ip.startsWith(SUBNETS.net1))));
      return replacement !== undefined;
    });
  } finally {
    watching = false;
    await watch;
  }
  ctx.metrics.repairS = secondsSince(t0);
  if (landedEarly.length > 0) throw new Error(`pods bound to the node while it still had the startup taint: ${[...new Set(landedEarly)].join(', ')}`);
  if (await nodeTainted(ctx)) throw new Error('the startup taint is still on the node with Multus Ready');
  if (await readPod(node.kubeConfig, earlyName)) throw new Error(`${earlyName} was not evicted`);

  const bareNow = await readPod(node.kubeConfig, bare);
  if (bareNow?.metadata?.uid !== bareUid) throw new Error(`the bare pod ${bare} was touched: ${bareNow ? 'replaced' : 'deleted'}`);
  const events = await eventsIn(ctx, TEST_NAMESPACE);
  let warning: PodEvent | undefined;
  await until(`the MissingNetworks Warning Event on ${bare}`, 30000, async () => {
    warning = (await eventsIn(ctx, TEST_NAMESPACE)).find((e) => e.regarding?.name === bare && e.reason === 'MissingNetworks' && e.type === 'Warning');
    return warning !== undefined;
  });
  // Only the pod that started too early was evicted.
  const evicted = events.filter((e) => e.reason === 'EvictedForMissingNetworks').map((e) => e.regarding?.name);
  if (evicted.some((n) => n !== earlyName)) throw new Error(`evicted pods other than ${earlyName}: ${evicted.join(', ')}`);
  const name = replacement?.metadata?.name ?? '';
  survivors = [{ name, uid: replacement?.metadata?.uid ?? '' }, { name: bare, uid: bareUid }];
  ctx.log(`repair: ${earlyName} evicted and replaced by ${name} with net1 ${secondsSince(t0)} s after the apply; ${bare}: ${warning?.note ?? ''}`);
}

/** Removes R's pods, before the next program's scenarios. */
export async function removeRepairPods(ctx: Ctx): Promise<void> {
  await kubectl(ctx.node, ['-n', TEST_NAMESPACE, 'delete', 'deployment', DEPLOYMENT, '--ignore-not-found', '--wait=false']).catch(() => undefined);
  for (const s of survivors) await kubectl(ctx.node, ['-n', TEST_NAMESPACE, 'delete', 'pod', s.name, '--ignore-not-found', '--wait=false', '--grace-period=0']).catch(() => undefined);
  survivors = [];
}

/** The pods R left must still be there, as they were: the restores below ask for repairs again. */
async function survivorsStay(ctx: Ctx): Promise<void> {
  for (const s of survivors) {
    const p = await readPod(ctx.node.kubeConfig, s.name);
    if (p?.metadata?.uid !== s.uid) throw new Error(`${s.name}, which had its networks or was left alone, was ${p ? 'replaced' : 'evicted'}`);
  }
}

/**
 * F: a Cilium-like fighter (cni.exclusive) renames 00-multus.conf[list] to
 * *.cilium_bak, every 300 ms for a few seconds; ours restores it and a
 * Warning Event names Cilium's cni.exclusive.
 */
export async function scenarioFighter(ctx: Ctx): Promise<void> {
  const { cniConfDir } = ctx.node.dirs;
  if ((await daemonSetPods(ctx.node)).filter((p) => p.ready).length === 0) await applyAndWait(ctx, await deployDir(ctx, 'multus-entrypoint', 'base'));
  const original = multusConfigFile(ctx.node);
  if (!original) throw new Error(`no 00-multus.conf[list] in ${cniConfDir} to fight over`);
  const want = fs.readFileSync(path.join(cniConfDir, original), 'utf8');
  const t0 = Date.now();
  let renames = 0;
  const fighter = setInterval(() => {
    for (const n of fs.readdirSync(cniConfDir).filter((f) => /^00-multus\.conf(list)?$/.test(f))) {
      try {
        fs.renameSync(path.join(cniConfDir, n), path.join(cniConfDir, `${n}.cilium_bak`));
        renames++;
      } catch {
        // Restored and renamed again in between: the next tick.
      }
    }
  }, 300);
  let event: PodEvent | undefined;
  try {
    await until('a Warning Event naming Cilium\'s cni.exclusive', 60000, async () => {
      event = (await eventsIn(ctx, DS_NAMESPACE)).find((e) => e.type === 'Warning' && /cilium_bak/.test(e.note ?? '') && /cni\.exclusive/.test(e.note ?? ''));
      return event !== undefined && renames >= 3;
    });
  } finally {
    clearInterval(fighter);
  }
  const fightS = secondsSince(t0);
  await until(`${original} restored as it was`, 30000, () => fs.existsSync(path.join(cniConfDir, original)) && fs.readFileSync(path.join(cniConfDir, original), 'utf8') === want);
  for (const n of fs.readdirSync(cniConfDir).filter((f) => f.endsWith('.cilium_bak'))) fs.rmSync(path.join(cniConfDir, n), { force: true });
  if (survivors.length > 0) await survivorsStay(ctx);
  ctx.log(`fighter: ${renames} renames in ${fightS} s; ${event?.reason ?? ''}: ${event?.note ?? ''}`);
}
