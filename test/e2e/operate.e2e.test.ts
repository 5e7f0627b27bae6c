// Operating it on a real kube-apiserver: the Helm chart (lints, renders the
// same objects as manifests/ by default and with the startup taint, installs
// and uninstalls), and the startup taint's ValidatingAdmissionPolicy with
// real tokens: the program removes its own node's taint (and records Events
// on its pod), while the multus service account is refused another node's
// taint and any other change to its own node.
//
// Not a scenario (no Multus ADD; the titles do not match the summary
// reporter's pattern, so the verdict line is unchanged). Its own cluster, as
// manifests.e2e.test.ts explains: the shared one has the harness's RBAC.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import {
  ApiException,
  CoreV1Api,
  EventsV1Api,
  KubernetesObjectApi,
  PatchStrategy,
  type KubeConfig,
  type KubernetesObject,
  type V1Pod,
} from '@kubernetes/client-node';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { callApi, type ApiAccess, type ApiResponse } from '../../src/cluster/kube-api.js';
import { copyMaster, makeHostRoot, runCommand, writeServiceAccount, type HostRoot } from '../helpers/host-root.js';
import { K8S_VERSION, REPO_ROOT } from '../harness/components.js';
import { startCluster, type Cluster } from '../harness/cluster.js';
import { loadEnv } from '../harness/env.js';
import { redact, registerSecret } from '../harness/secrets.js';
import { e2eDescribe } from '../harness/suite.js';
import { eventually } from '../harness/wait.js';

const CHART = path.join(REPO_ROOT, 'charts/multus-entrypoint');
const MANIFESTS = path.join(REPO_ROOT, 'manifests');
const KEY = 'k8s.cni.cncf.io/multus-not-ready';
const NS = 'kube-system';
const FIELD_MANAGER = 'multus-e2e';
const MINUTE = 60_000;

type Obj = KubernetesObject & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The components' cache: helm is built on request (a no-op when cached), kubectl with the Kubernetes binaries. */
function tools(): { helm: string; kubectl: string } {
  const cache = execFileSync('bash', [path.join(REPO_ROOT, 'test/tools/build-components.sh'), 'helm'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop()!;
  const helm = path.join(cache, 'helm-v3.22.0', 'helm');
  const kubectl = path.join(cache, `kubernetes-${K8S_VERSION}`, 'kubectl');
  for (const f of [helm, kubectl]) if (!fs.existsSync(f)) throw new Error(`${f} is missing: run test/tools/build-components.sh kubernetes helm`);
  return { helm, kubectl };
}

function objectsOf(yamlText: string): Obj[] {
  const docs = parseAllDocuments(yamlText);
  return (Array.isArray(docs) ? docs : []).map((d) => d.toJS() as Obj | null).filter((o): o is Obj => o !== null);
}

const keyOf = (o: Obj): string => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;

/** Helm's own labels are the one allowed difference. */
function withoutHelmLabels(o: Obj): Obj {
  const copy = JSON.parse(JSON.stringify(o)) as Obj;
  const labels = copy.metadata?.labels as Record<string, string> | undefined;
  if (labels) for (const k of Object.keys(labels)) if (k.startsWith('helm.sh/') || k.startsWith('app.kubernetes.io/')) delete labels[k];
  return copy;
}

function byKey(objects: Obj[]): Record<string, Obj> {
  return Object.fromEntries(objects.map((o) => [keyOf(o), withoutHelmLabels(o)]));
}

let cluster: Cluster;
let kc: KubeConfig;
let kubeconfigFile: string;
let tmp: string;
let helm: string;
let kubectl: string;

function helmRun(args: string[]): string {
  const r = spawnSync(helm, args, { encoding: 'utf8', env: { ...process.env, KUBECONFIG: kubeconfigFile, HELM_CACHE_HOME: path.join(tmp, 'helm-cache'), HELM_CONFIG_HOME: path.join(tmp, 'helm-config'), HELM_DATA_HOME: path.join(tmp, 'helm-data') }, timeout: 5 * MINUTE });
  if (r.status !== 0) throw new Error(`helm ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const helmTemplate = (...set: string[]): Obj[] =>
  objectsOf(helmRun(['template', 'multus', CHART, '--namespace', NS, '--include-crds', ...set.flatMap((s) => ['--set', s])]));

/** manifests/, with components enabled in a copy of its kustomization, as `kubectl apply -k` renders it. */
function kustomize(components: string[] = []): Obj[] {
  const copy = path.join(tmp, `manifests-${components.join('-') || 'base'}`);
  fs.rmSync(copy, { recursive: true, force: true });
  fs.cpSync(MANIFESTS, copy, { recursive: true });
  if (components.length > 0) fs.appendFileSync(path.join(copy, 'kustomization.yaml'), `\ncomponents:\n${components.map((c) => `  - ${c}\n`).join('')}`);
  return objectsOf(execFileSync(kubectl, ['kustomize', copy], { encoding: 'utf8' }));
}

async function apply(objects: Obj[]): Promise<void> {
  const client = KubernetesObjectApi.makeApiClient(kc);
  for (const o of objects) await client.patch(o, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
}

function status(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

e2eDescribe('operate: Helm chart, startup taint policy, Events (real API server)', () => {
  beforeAll(async () => {
    ({ helm, kubectl } = tools());
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'multus-e2e-operate-'));
    cluster = await startCluster({ components: loadEnv().components });
    kc = cluster.kubeConfig;
    kubeconfigFile = path.join(tmp, 'admin.kubeconfig');
    fs.writeFileSync(kubeconfigFile, [
      'apiVersion: v1', 'kind: Config', 'current-context: e2e',
      'clusters: [{name: e2e, cluster: {server: "' + cluster.server + '", certificate-authority: "' + cluster.caFile + '"}}]',
      'users: [{name: admin, user: {client-certificate: "' + cluster.adminCertFile + '", client-key: "' + cluster.adminKeyFile + '"}}]',
      'contexts: [{name: e2e, context: {cluster: e2e, user: admin}}]', '',
    ].join('\n'));
  }, 20 * MINUTE);

  afterAll(async () => {
    await cluster?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('chart: helm lint passes, by default and with every optional part on', () => {
    helmRun(['lint', CHART, '--strict', '--namespace', NS]);
    helmRun(['lint', CHART, '--strict', '--namespace', NS, '--set', 'nodeReadyTaint.enabled=true']);
    helmRun(['lint', CHART, '--strict', '--namespace', NS, '--set', 'repairPods.enabled=true']);
    helmRun(['lint', CHART, '--strict', '--namespace', NS, '--set', 'thick.enabled=true']);
  });

  // Whole objects, both ways: a field added to manifests/ and not to the
  // chart (or the other way round) fails here instead of drifting.
  it('chart: renders the same objects as manifests/ by default, Helm\'s labels aside', () => {
    expect(byKey(helmTemplate())).toEqual(byKey(kustomize()));
  });

  it('chart: with nodeReadyTaint.enabled, the same objects as manifests/ with the node-ready-taint component', () => {
    const chart = byKey(helmTemplate('nodeReadyTaint.enabled=true'));
    expect(chart).toEqual(byKey(kustomize(['node-ready-taint'])));
    expect(Object.keys(chart)).toEqual(expect.arrayContaining(['ValidatingAdmissionPolicy//multus-node-ready-taint', 'ValidatingAdmissionPolicyBinding//multus-node-ready-taint']));
  });

  it('chart: with repairPods.enabled, the same objects as manifests/ with the repair-pods component', () => {
    const chart = byKey(helmTemplate('repairPods.enabled=true'));
    expect(chart).toEqual(byKey(kustomize(['repair-pods'])));
    expect(Object.keys(chart)).toEqual(expect.arrayContaining(['ValidatingAdmissionPolicy//multus-repair-pods', 'ValidatingAdmissionPolicyBinding//multus-repair-pods']));
  });

  it('chart: with thick.enabled, the same objects as manifests/ with the thick component, which the API server accepts', async () => {
    const chart = byKey(helmTemplate('thick.enabled=true'));
    const objects = kustomize(['thick']);
    expect(chart).toEqual(byKey(objects));
    expect(Object.keys(chart)).toEqual(expect.arrayContaining(['ConfigMap/kube-system/multus-daemon-config', 'ClusterRole//multus-thick', 'ClusterRoleBinding//multus-thick']));
    // The suite's API server runs without --allow-privileged (a real
    // cluster's allows it): the daemon's `privileged` is taken out here, so
    // everything else of the pod spec is checked by a server-side dry run.
    const client = KubernetesObjectApi.makeApiClient(kc);
    for (const o of objects.filter((x) => x.kind !== 'CustomResourceDefinition')) {
      const copy = JSON.parse(JSON.stringify(o)) as Obj;
      if (copy.kind === 'DaemonSet') for (const c of copy.spec.template.spec.containers as Obj[]) delete c.securityContext.privileged;
      await client.patch(copy, undefined, 'All', FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
    }
  });

  it('chart: values reach the objects (image, extra flags, health port, scheduling, resources)', () => {
    const ds = helmTemplate(
      'image.repository=registry.example.com/multus-entrypoint', 'image.tag=9.9.9', 'extraArgs[0]=--multus-log-level=verbose',
      'healthPort=9999', 'nodeSelector.kubernetes\\.io/os=linux', 'priorityClassName=', 'resources.limits.memory=64Mi',
    ).find((o) => o.kind === 'DaemonSet')!;
    const spec = ds.spec.template.spec;
    const c = spec.containers[0];
    expect(c.image).toBe('registry.example.com/multus-entrypoint:9.9.9');
    expect(c.args).toEqual(expect.arrayContaining(['--health-port=9999', '--multus-log-level=verbose']));
    expect(c.readinessProbe.httpGet.port).toBe(9999);
    expect(ds.spec.template.metadata.annotations['prometheus.io/port']).toBe('9999');
    expect(spec.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(spec.priorityClassName).toBeUndefined();
    expect(c.resources.limits.memory).toBe('64Mi');
  });

  it('chart: helm install creates the objects on the API server (the startup taint with its policy) and helm uninstall removes them', async () => {
    helmRun(['install', 'multus', CHART, '--namespace', NS, '--set', 'nodeReadyTaint.enabled=true']);
    expect(helmRun(['status', 'multus', '--namespace', NS])).toMatch(/STATUS: deployed/);
    const client = KubernetesObjectApi.makeApiClient(kc);
    const rendered = helmTemplate('nodeReadyTaint.enabled=true');
    for (const o of rendered) {
      const read = await client.read({ apiVersion: o.apiVersion!, kind: o.kind!, metadata: { name: o.metadata!.name!, namespace: o.metadata?.namespace } });
      expect({ object: keyOf(o), managedBy: read.metadata?.labels?.['app.kubernetes.io/managed-by'] ?? (o.kind === 'CustomResourceDefinition' ? 'Helm' : undefined) }).toEqual({ object: keyOf(o), managedBy: 'Helm' });
    }
    helmRun(['uninstall', 'multus', '--namespace', NS]);
    // Helm keeps CRDs from crds/ (so NetworkAttachmentDefinitions survive); everything else goes.
    for (const o of rendered.filter((x) => x.kind !== 'CustomResourceDefinition')) {
      await eventually(`${keyOf(o)} deleted`, async () => {
        try {
          await client.read({ apiVersion: o.apiVersion!, kind: o.kind!, metadata: { name: o.metadata!.name!, namespace: o.metadata?.namespace } });
          return undefined;
        } catch (err) {
          if (status(err) === 404) return true;
          throw err;
        }
      }, MINUTE);
    }
  }, 10 * MINUTE);

  // ---- the startup taint on the real API server, with manifests/ + the component ----

  const OTHER_TAINT = { key: 'example.com/maintenance', effect: 'NoSchedule' };
  const OURS = { key: KEY, effect: 'NoSchedule' };
  let pod: V1Pod;
  let access: ApiAccess;
  let h: HostRoot | undefined;

  /** The node's taints as stored (the API server's TaintNodesByCondition adds node.kubernetes.io/not-ready to a new node). */
  async function storedTaints(name: string): Promise<{ key: string; effect: string; value?: string; timeAdded?: Date }[]> {
    const node = await kc.makeApiClient(CoreV1Api).readNode({ name });
    return node.spec?.taints ?? [];
  }

  /** The taints this test set, the API server's own aside. */
  async function nodeTaints(name: string): Promise<{ key: string; effect: string }[]> {
    return (await storedTaints(name)).filter((t) => !t.key.startsWith('node.kubernetes.io/')).map((t) => ({ key: t.key, effect: t.effect }));
  }

  /** The node's taints with `change` applied to the ones this test set (the API server's kept as they are). */
  async function taintsWith(name: string, change: (mine: { key: string; effect: string }[]) => { key: string; effect: string }[]): Promise<unknown[]> {
    const all = await storedTaints(name);
    const system = all.filter((t) => t.key.startsWith('node.kubernetes.io/'));
    return [...change(all.filter((t) => !t.key.startsWith('node.kubernetes.io/')).map((t) => ({ key: t.key, effect: t.effect }))), ...system];
  }

  /** A JSON patch of a node as the multus service account (the program's own API client). */
  function patchNode(name: string, patch: unknown[], as: ApiAccess = access, dryRun = false): Promise<ApiResponse> {
    return callApi(as, {
      method: 'PATCH',
      path: `/api/v1/nodes/${name}${dryRun ? '?dryRun=All' : ''}`,
      body: patch,
      contentType: 'application/json-patch+json',
      what: `patch node ${name}`,
      rbac: 'patch on nodes',
      timeoutMs: 20_000,
    });
  }

  const message = (r: ApiResponse): string => String((r.body as { message?: unknown } | undefined)?.message);

  it('taint: the program removes its own node\'s taint and records Events on its pod', async () => {
    await apply(kustomize(['node-ready-taint']));
    const core = kc.makeApiClient(CoreV1Api);
    for (const name of ['node-a', 'node-b']) {
      await core.createNode({ body: { metadata: { name, labels: { 'kubernetes.io/hostname': name } }, spec: { taints: [OTHER_TAINT, OURS] } } });
    }
    // The program's pod, on node-a: its mounted (pod-bound) token carries the node-name claim.
    pod = await core.createNamespacedPod({ namespace: NS, body: { metadata: { name: 'kube-multus-ds-e2e' }, spec: { nodeName: 'node-a', serviceAccountName: 'multus', containers: [{ name: 'kube-multus', image: 'multus-entrypoint:0.1.0' }] } } });
    const tr = await core.createNamespacedServiceAccountToken({ name: 'multus', namespace: NS, body: { spec: { audiences: [], expirationSeconds: 3600, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: pod.metadata!.name!, uid: pod.metadata!.uid! } } } });
    const token = tr.status?.token ?? '';
    if (!token) throw new Error('TokenRequest returned no token');
    registerSecret(token);
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { 'kubernetes.io'?: { node?: { name?: string } } };
    expect(claims['kubernetes.io']?.node?.name).toBe('node-a');
    const ca = fs.readFileSync(cluster.caFile, 'utf8');
    access = { protocol: 'https', host: '127.0.0.1', port: String(cluster.port), token, ca: Buffer.from(ca), skipTlsVerify: false };

    // Policies load asynchronously: wait until another node's change is refused (dry run: nothing changes).
    await eventually('the ValidatingAdmissionPolicy to be in force', async () => {
      const r = await patchNode('node-b', [{ op: 'add', path: '/spec/taints', value: await taintsWith('node-b', () => [OTHER_TAINT]) }], access, true);
      return r.status === 403 ? true : undefined;
    }, 2 * MINUTE);

    h = await makeHostRoot();
    await writeServiceAccount(h.saDir, token, ca);
    await copyMaster(h, 'masters/10-flannel.conflist');
    const r = await runCommand([...h.args, '--once', `--node-ready-taint=${KEY}`], {
      ...h.env,
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: String(cluster.port),
      POD_NAME: pod.metadata!.name!,
      POD_NAMESPACE: NS,
      POD_UID: pod.metadata!.uid!,
      NODE_NAME: 'node-a',
    });
    const log = redact(r.stderr);
    expect({ code: r.code, log }).toEqual({ code: 0, log: expect.stringMatching(/removed the startup taint/) });
    expect(r.stderr).not.toContain(token);
    expect(await nodeTaints('node-a')).toEqual([OTHER_TAINT]);
    expect(await nodeTaints('node-b')).toEqual([OTHER_TAINT, OURS]);

    // The Events, as `kubectl describe pod` finds them (regarding the pod's uid).
    const events = await kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: NS });
    const mine = events.items.filter((e) => e.regarding?.uid === pod.metadata!.uid && e.reportingController === 'k8s.cni.cncf.io/multus-entrypoint');
    expect(mine.map((e) => e.reason)).toEqual(expect.arrayContaining(['ConfigWritten', 'KubeconfigWritten']));
    expect(mine.find((e) => e.reason === 'ConfigWritten')?.note).toMatch(/wrote the Multus config .*00-multus\.conf \(master 10-flannel\.conflist\)/);
    await h.remove();
  }, 10 * MINUTE);

  it('taint: the policy refuses another node\'s taint', async () => {
    const r = await patchNode('node-b', [{ op: 'add', path: '/spec/taints', value: await taintsWith('node-b', () => [OTHER_TAINT]) }]);
    expect({ status: r.status, message: message(r) }).toEqual({ status: 403, message: expect.stringContaining('may change only its own node node-a, not node-b') });
    expect(await nodeTaints('node-b')).toEqual([OTHER_TAINT, OURS]);
  });

  it('taint: the policy refuses any other change to its own node', async () => {
    const changes: [string, unknown[], RegExp][] = [
      ['a label', [{ op: 'add', path: '/metadata/labels/node-role.kubernetes.io~1control-plane', value: '' }], /labels, annotations, owners or finalizers/],
      ['an annotation', [{ op: 'add', path: '/metadata/annotations', value: { 'example.com/x': 'y' } }], /labels, annotations, owners or finalizers/],
      ['another taint removed', [{ op: 'add', path: '/spec/taints', value: await taintsWith('node-a', () => []) }], /only the taint k8s.cni.cncf.io\/multus-not-ready:NoSchedule/],
      ['another taint added', [{ op: 'add', path: '/spec/taints', value: await taintsWith('node-a', (t) => [...t, { key: 'example.com/evil', effect: 'NoExecute' }]) }], /only the taint/],
      ['our key with NoExecute', [{ op: 'add', path: '/spec/taints', value: await taintsWith('node-a', (t) => [...t, { key: KEY, effect: 'NoExecute' }]) }], /only the taint/],
      ['unschedulable', [{ op: 'add', path: '/spec/unschedulable', value: true }], /no node spec field but the taint/],
      ['podCIDR', [{ op: 'add', path: '/spec/podCIDR', value: '10.244.9.0/24' }], /no node spec field but the taint/],
    ];
    const wrong: string[] = [];
    for (const [what, patch, why] of changes) {
      const r = await patchNode('node-a', patch);
      if (r.status !== 403 || !why.test(message(r))) wrong.push(`${what}: HTTP ${r.status} ${message(r)}`);
    }
    expect(wrong).toEqual([]);
    expect(await nodeTaints('node-a')).toEqual([OTHER_TAINT]);
    // Its own taint, back on its own node, is allowed (invalidation, uninstall).
    const back = await patchNode('node-a', [{ op: 'add', path: '/spec/taints', value: await taintsWith('node-a', (t) => [...t, OURS]) }]);
    expect({ status: back.status, message: back.status === 200 ? '' : message(back) }).toEqual({ status: 200, message: '' });
    expect(await nodeTaints('node-a')).toEqual([OTHER_TAINT, OURS]);
  });

  it('taint: a token without a node claim may change no node', async () => {
    const tr = await kc.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({ name: 'multus', namespace: NS, body: { spec: { audiences: [], expirationSeconds: 600 } } });
    const token = tr.status?.token ?? '';
    if (!token) throw new Error('TokenRequest returned no token');
    registerSecret(token);
    const r = await patchNode('node-a', [{ op: 'add', path: '/spec/taints', value: await taintsWith('node-a', (t) => t.filter((x) => x.key !== KEY)) }], { ...access, token });
    expect({ status: r.status, message: message(r) }).toEqual({ status: 403, message: expect.stringContaining('no node-name claim in this token') });
  });
});
