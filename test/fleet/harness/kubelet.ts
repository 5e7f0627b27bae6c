// The kubelet's part for the DaemonSet's pods on the fake nodes, played by
// the suite with real program processes (KWOK fakes the nodes and the pods'
// status, and nothing runs a container). Per node, as a kubelet would:
// - a pod scheduled on the node: a service-account token bound to that pod
//   (TokenRequest, 3607 s, as the ServiceAccount admission's projected
//   volume asks), written into the node's service-account dir the way the
//   kubelet's AtomicWriter writes it, then the program started with the
//   pod's own args and env (downward API fields resolved, /host paths mapped
//   to the node's dirs, the health port made unique on this machine);
// - the readiness probe: /readyz polled until 200, then the pod annotated so
//   KWOK's pod-ready stage marks it Ready (so a rollout waits for the
//   program, as it waits for the probe);
// - a pod being deleted: SIGTERM, up to its grace period, SIGKILL, then the
//   pod deleted with grace 0 (what the kubelet's status manager does), so the
//   program's uninstall check sees its pod with a deletionTimestamp;
// - after each stop, the verdict as the node shows it: the Multus config
//   and kubeconfig still there (a restart) or removed (an uninstall).
import { ApiException, CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, Watch, type V1Container, type V1Pod } from '@kubernetes/client-node';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { startDaemon, tail, type Daemon, type ExitInfo } from '../../harness/proc.js';
import { redact, registerSecret } from '../../harness/secrets.js';
import { ServiceAccountDir } from '../../harness/service-account.js';
import { MOUNTED_TOKEN_SECONDS } from './report.js';

export const DS_NAMESPACE = 'kube-system';
export const DS_NAME = 'kube-multus-ds';
const POD_SELECTOR = 'name=multus';
/** Set by the suite once the program's /readyz answered 200; KWOK's pod-ready stage waits for it. */
export const READY_ANNOTATION = 'fleet.multus-entrypoint.test/program-ready';

export interface FleetNode {
  name: string;
  /** The node's own dir; `host` is what the DaemonSet's hostPath volumes see as /. */
  dir: string;
  host: string;
  confDir: string;
  binDir: string;
  multusConfDir: string;
  saDir: string;
  logs: string;
  healthPort: number;
  /** The node's master CNI config (a file of test/fixtures/masters) in confDir. */
  master: string;
  masterText: string;
}

export interface StopRecord {
  node: string;
  pod: string;
  /** The node's Multus config or kubeconfig was gone after the program exited. */
  uninstall: boolean;
  exit: ExitInfo;
  /** SIGTERM to exit. */
  ms: number;
  at: number;
}

interface Program {
  daemon: Daemon;
  podUid: string;
  podName: string;
  namespace: string;
  serviceAccount: string;
  startedAt: number;
  readyAt?: number;
  gate: AbortController;
}

interface NodeState {
  node: FleetNode;
  sa: ServiceAccountDir;
  program?: Program;
  /** Pods whose program was started (each runs once). */
  started: Set<string>;
  busy: boolean;
  dirty: boolean;
}

export interface KubeletOptions {
  kubeConfig: KubeConfig;
  apiHost: string;
  apiPort: number;
  caPem: string;
  /** The node executable the programs run on. */
  nodeBinary: string;
  entrypointScript: string;
  /** The file the program installs as multus (a stand-in: 67 MB per node would be 6.7 GB at N = 100). */
  multusBinary: string;
}

const GENERATED = ['00-multus.conf', '00-multus.conflist'];

/** Whether the node still has the Multus config and kubeconfig the program writes. */
export function configPresent(node: FleetNode): boolean {
  return GENERATED.some((n) => fs.existsSync(path.join(node.confDir, n))) && fs.existsSync(path.join(node.confDir, 'multus.d', 'multus.kubeconfig'));
}

/** The generated Multus config's path, if any. */
export function generatedConfig(node: FleetNode): string | undefined {
  return GENERATED.map((n) => path.join(node.confDir, n)).find((f) => fs.existsSync(f));
}

function isStatus(err: unknown, code: number): boolean {
  return err instanceof ApiException && err.code === code;
}

/** A downward-API fieldRef of the pod. */
function fieldOf(pod: V1Pod, fieldPath: string): string {
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata?.name ?? '';
    case 'metadata.namespace':
      return pod.metadata?.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata?.uid ?? '';
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
    case 'status.podIP':
      return '127.0.0.1';
    default:
      throw new Error(`pod ${pod.metadata?.name ?? ''}: fieldRef ${fieldPath} is not one the fleet's kubelet resolves`);
  }
}

/** The program's command line for a pod: its container's args, /host mapped to the node's dirs, and what the container image would provide. */
function programArgs(c: V1Container, node: FleetNode, multusBinary: string): string[] {
  const mapped = (c.args ?? []).map((a) => {
    const m = /^(--[^=]+)=(.*)$/.exec(a);
    if (!m) return a;
    const flag = m[1] ?? '';
    const value = m[2] ?? '';
    if (flag === '--health-port') return `--health-port=${node.healthPort}`;
    if (value.startsWith('/host/')) return `${flag}=${path.join(node.host, value.slice('/host/'.length))}`;
    return a;
  });
  const given = new Set(mapped.map((a) => a.split('=')[0]));
  // The program's defaults under /host, for flags the DaemonSet leaves at their default.
  const defaults: [string, string][] = [
    ['--cni-bin-dir', node.binDir],
    ['--cni-conf-dir', node.confDir],
    ['--multus-autoconfig-dir', node.confDir],
    ['--multus-cni-conf-dir', node.multusConfDir],
  ];
  const extra = defaults.filter(([flag]) => !given.has(flag)).map(([flag, value]) => `${flag}=${value}`);
  return [
    ...mapped,
    ...extra,
    // The pod's mounted service account, and the image's binary.
    `--service-account-dir=${node.saDir}`,
    `--multus-bin-file=${multusBinary}`,
    // What the host sees: the node's conf dir is not /etc/cni/net.d.
    `--multus-kubeconfig-file-host=${path.join(node.confDir, 'multus.d', 'multus.kubeconfig')}`,
  ];
}

function httpStatus(port: number, urlPath: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

const READY_TIMEOUT_MS = 120_000;

export class Kubelet {
  readonly stops: StopRecord[] = [];
  /** Problems the kubelet met (failed starts, failed deletes): the run reports them. */
  readonly problems: string[] = [];
  private readonly nodes = new Map<string, NodeState>();
  private pods = new Map<string, V1Pod>();
  private watchAbort: AbortController | undefined;
  private stopped = false;
  private readonly core: CoreV1Api;
  private readonly o: KubeletOptions;

  constructor(o: KubeletOptions, nodes: FleetNode[]) {
    this.o = o;
    this.core = o.kubeConfig.makeApiClient(CoreV1Api);
    for (const node of nodes) this.nodes.set(node.name, { node, sa: new ServiceAccountDir(node.saDir), started: new Set(), busy: false, dirty: false });
  }

  async start(): Promise<void> {
    await this.relist();
  }

  /** Nodes whose program runs for the pod the node has now (not being deleted), Ready-gated. */
  readyNodes(): string[] {
    const out: string[] = [];
    for (const st of this.nodes.values()) {
      const p = st.program;
      if (!p || p.readyAt === undefined || !p.daemon.running()) continue;
      const pod = this.pods.get(p.podUid);
      if (pod && !pod.metadata?.deletionTimestamp) out.push(st.node.name);
    }
    return out;
  }

  /** How long the most recently started program has been running (ms); 0 when none runs. */
  youngestUptimeMs(): number {
    const ups = [...this.nodes.values()].flatMap((st) => (st.program && st.program.daemon.running() ? [Date.now() - st.program.startedAt] : []));
    return ups.length === 0 ? 0 : Math.min(...ups);
  }

  /** Programs running now. */
  running(): { node: FleetNode; pod: string; pid: number }[] {
    return [...this.nodes.values()].flatMap((st) => (st.program && st.program.daemon.running() ? [{ node: st.node, pod: st.program.podName, pid: st.program.daemon.pid }] : []));
  }

  /** The node's program log (redacted), for failure messages. */
  programLog(nodeName: string): string {
    const p = this.nodes.get(nodeName)?.program;
    return p ? tail(p.daemon.logs(), 20) : '(no program)';
  }

  /** Rotates the mounted token of the node's pod, as the kubelet does at 80% of its lifetime. */
  async rotateToken(nodeName: string): Promise<boolean> {
    const st = this.nodes.get(nodeName);
    const p = st?.program;
    if (!st || !p || !p.daemon.running()) return false;
    const token = await this.podToken(p.namespace, p.serviceAccount, p.podName, p.podUid);
    st.sa.rotate({ token, caCert: this.o.caPem, namespace: p.namespace });
    return true;
  }

  /** Kills every program at once (teardown: no uninstall checks against a stopping API server). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.watchAbort?.abort();
    await Promise.all([...this.nodes.values()].map(async (st) => {
      st.program?.gate.abort();
      await st.program?.daemon.stop('SIGKILL', 5000);
    }));
  }

  private async relist(): Promise<void> {
    if (this.stopped) return;
    try {
      const list = await this.core.listNamespacedPod({ namespace: DS_NAMESPACE, labelSelector: POD_SELECTOR });
      this.pods = new Map(list.items.flatMap((p) => (p.metadata?.uid ? [[p.metadata.uid, p] as [string, V1Pod]] : [])));
      for (const name of this.nodes.keys()) this.kick(name);
      this.watchAbort = await new Watch(this.o.kubeConfig).watch(
        `/api/v1/namespaces/${DS_NAMESPACE}/pods`,
        { labelSelector: POD_SELECTOR, resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: true },
        (phase: string, obj: unknown) => this.onWatch(phase, obj as V1Pod),
        () => this.rewatch(),
      );
    } catch (err) {
      if (this.stopped) return;
      this.problems.push(`pod list/watch: ${redact(String(err))}`);
      this.rewatch();
    }
  }

  private rewatch(): void {
    if (this.stopped) return;
    setTimeout(() => void this.relist(), 500);
  }

  private onWatch(phase: string, pod: V1Pod): void {
    const uid = pod.metadata?.uid;
    if (phase === 'ERROR' || phase === 'BOOKMARK' || !uid) return;
    if (phase === 'DELETED') this.pods.delete(uid);
    else this.pods.set(uid, pod);
    const node = pod.spec?.nodeName;
    if (node) this.kick(node);
  }

  private kick(nodeName: string): void {
    const st = this.nodes.get(nodeName);
    if (!st || this.stopped) return;
    if (st.busy) {
      st.dirty = true;
      return;
    }
    st.busy = true;
    void (async () => {
      try {
        do {
          st.dirty = false;
          await this.sync(st).catch((err: unknown) => {
            this.problems.push(`node ${nodeName}: ${redact(err instanceof Error ? err.message : String(err))}`);
          });
        } while (st.dirty && !this.stopped);
      } finally {
        st.busy = false;
      }
    })();
  }

  private async sync(st: NodeState): Promise<void> {
    if (this.stopped) return;
    const pods = [...this.pods.values()].filter((p) => p.spec?.nodeName === st.node.name);
    const p = st.program;
    if (p) {
      const pod = this.pods.get(p.podUid);
      if (!pod || pod.metadata?.deletionTimestamp || !p.daemon.running()) await this.stopProgram(st, p, pod);
    }
    for (const pod of pods) {
      const uid = pod.metadata?.uid ?? '';
      // Being deleted and not (or no longer) running here: the kubelet's final delete.
      if (pod.metadata?.deletionTimestamp && st.program?.podUid !== uid) await this.deletePod(pod);
    }
    if (!st.program && !this.stopped) {
      const next = pods.find((pod) => !pod.metadata?.deletionTimestamp && !st.started.has(pod.metadata?.uid ?? ''));
      if (next) await this.startProgram(st, next);
    }
  }

  private async podToken(namespace: string, serviceAccount: string, podName: string, podUid: string): Promise<string> {
    const tr = await this.core.createNamespacedServiceAccountToken({
      name: serviceAccount,
      namespace,
      body: { spec: { audiences: [], expirationSeconds: MOUNTED_TOKEN_SECONDS, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: podName, uid: podUid } } },
    });
    const token = tr.status?.token;
    if (!token) throw new Error(`TokenRequest for pod ${namespace}/${podName} returned no token`);
    registerSecret(token);
    return token;
  }

  private async startProgram(st: NodeState, pod: V1Pod): Promise<void> {
    const uid = pod.metadata?.uid ?? '';
    const name = pod.metadata?.name ?? '';
    const namespace = pod.metadata?.namespace ?? DS_NAMESPACE;
    const c = pod.spec?.containers?.[0];
    if (!c) throw new Error(`pod ${name} has no container`);
    st.started.add(uid);
    const serviceAccount = pod.spec?.serviceAccountName ?? 'default';
    const token = await this.podToken(namespace, serviceAccount, name, uid);
    st.sa.write({ token, caCert: this.o.caPem, namespace });
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      // What the kubelet injects for the `kubernetes` Service; explicit env below wins.
      KUBERNETES_SERVICE_HOST: this.o.apiHost,
      KUBERNETES_SERVICE_PORT: String(this.o.apiPort),
    };
    for (const e of c.env ?? []) {
      if (e.value !== undefined) env[e.name] = e.value;
      else if (e.valueFrom?.fieldRef) env[e.name] = fieldOf(pod, e.valueFrom.fieldRef.fieldPath);
    }
    const args = programArgs(c, st.node, this.o.multusBinary);
    const daemon = startDaemon(`multus-entrypoint@${st.node.name}`, this.o.nodeBinary, [this.o.entrypointScript, ...args], {
      env,
      logFile: path.join(st.node.logs, `${name}.log`),
    });
    const program: Program = { daemon, podUid: uid, podName: name, namespace, serviceAccount, startedAt: Date.now(), gate: new AbortController() };
    st.program = program;
    // An exit the kubelet did not ask for: look again (the pod stays, as with restartPolicy it would restart; here it is a failure).
    void daemon.exited.then(() => {
      if (st.program === program && !this.stopped) this.kick(st.node.name);
    });
    void this.readinessGate(st, program);
  }

  private async readinessGate(st: NodeState, p: Program): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!p.gate.signal.aborted && p.daemon.running()) {
      if ((await httpStatus(st.node.healthPort, '/readyz', 2000)) === 200) {
        p.readyAt = Date.now();
        try {
          await this.core.patchNamespacedPod(
            { name: p.podName, namespace: p.namespace, body: { metadata: { annotations: { [READY_ANNOTATION]: 'true' } } } },
            setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
          );
        } catch (err) {
          if (!isStatus(err, 404)) this.problems.push(`node ${st.node.name}: cannot mark pod ${p.podName} ready: ${redact(String(err))}`);
        }
        return;
      }
      if (Date.now() > deadline) {
        this.problems.push(`node ${st.node.name}: pod ${p.podName}: /readyz not 200 within ${READY_TIMEOUT_MS / 1000} s:\n${tail(p.daemon.logs(), 10)}`);
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private async stopProgram(st: NodeState, p: Program, pod: V1Pod | undefined): Promise<void> {
    p.gate.abort();
    const t0 = Date.now();
    const graceS = pod?.metadata?.deletionGracePeriodSeconds ?? pod?.spec?.terminationGracePeriodSeconds ?? 30;
    const wasRunning = p.daemon.running();
    const exit = await p.daemon.stop('SIGTERM', graceS * 1000);
    if (!wasRunning && !this.stopped) this.problems.push(`node ${st.node.name}: the program of pod ${p.podName} exited by itself (${JSON.stringify(exit)}):\n${tail(p.daemon.logs(), 10)}`);
    this.stops.push({ node: st.node.name, pod: p.podName, uninstall: !configPresent(st.node), exit, ms: Date.now() - t0, at: Date.now() });
    st.program = undefined;
    // The kubelet's final delete, for a pod being deleted (a program that exited by itself leaves its pod: reported, not restarted).
    if (pod?.metadata?.deletionTimestamp) await this.deletePod(pod);
  }

  private async deletePod(pod: V1Pod): Promise<void> {
    const name = pod.metadata?.name ?? '';
    const namespace = pod.metadata?.namespace ?? DS_NAMESPACE;
    try {
      await this.core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0, body: { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata?.uid } } });
    } catch (err) {
      if (!isStatus(err, 404) && !isStatus(err, 409)) throw err;
    }
  }
}
