// One simulated node per scenario run: its host directories (the CNI bin
// and conf dirs the DaemonSet mounts under /host, /var/lib/cni, the
// service-account volume), its network namespace with a macvlan master, a
// relay to the API server, and the pod sandboxes the runtime made on it.
// destroy() undoes all of it and is safe to call after any failure.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import type { E2eEnv } from './env.js';
import { requestBoundToken, type BoundToken } from './kube.js';
import { addNetns, addVethPair, delNetns } from './netns.js';
import { startDaemon, tail, type Daemon } from './proc.js';
import { makeTempDir, runTag } from './run-state.js';
import { ServiceAccountDir } from './service-account.js';

export interface NodePaths {
  root: string;
  cniBinDir: string;
  cniConfDir: string;
  multusCniConfDir: string;
  kubeconfigFile: string;
  varLibCni: string;
  logs: string;
}

export interface PodSandbox {
  namespace: string;
  name: string;
  uid: string;
  containerId: string;
  netnsName: string;
  netnsPath: string;
}

const RELAY = new URL('./relay.mjs', import.meta.url).pathname;
/** The macvlan master inside the node namespace (a veth end: no dummy module needed). */
export const MASTER_IF = 'm0';

async function waitForLog(d: Daemon, text: string, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!d.logs().includes(text)) {
    if (!d.running()) throw new Error(`${d.name} exited:\n${tail(d.logs())}`);
    if (Date.now() > deadline) throw new Error(`${d.name} did not log "${text}" in ${timeoutMs} ms:\n${tail(d.logs())}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export class TestNode {
  readonly sa: ServiceAccountDir;
  readonly netnsName: string;
  private readonly relays: Daemon[] = [];
  private readonly sandboxes: PodSandbox[] = [];
  private readonly tokens: BoundToken[] = [];
  private sandboxCount = 0;
  private netnsCreated = false;

  readonly env: E2eEnv;
  readonly label: string;
  readonly paths: NodePaths;

  private constructor(env: E2eEnv, label: string, paths: NodePaths) {
    this.env = env;
    this.label = label;
    this.paths = paths;
    this.sa = new ServiceAccountDir(path.join(paths.root, 'serviceaccount'));
    this.netnsName = `mte2e-${runTag()}-${label}`;
  }

  static async create(env: E2eEnv, label: string): Promise<TestNode> {
    const root = makeTempDir(label);
    const host = path.join(root, 'host');
    const paths: NodePaths = {
      root,
      cniBinDir: path.join(host, 'opt/cni/bin'),
      cniConfDir: path.join(host, 'etc/cni/net.d'),
      // Not created here: creating it is the installer's job.
      multusCniConfDir: path.join(host, 'etc/cni/multus/net.d'),
      kubeconfigFile: path.join(host, 'etc/cni/net.d/multus.d/multus.kubeconfig'),
      varLibCni: path.join(host, 'var/lib/cni'),
      logs: path.join(root, 'logs'),
    };
    for (const dir of [paths.cniBinDir, paths.cniConfDir, paths.varLibCni, paths.logs]) fs.mkdirSync(dir, { recursive: true });
    const node = new TestNode(env, label, paths);
    try {
      await node.setUpNetwork();
    } catch (err) {
      await node.destroy();
      throw err;
    }
    return node;
  }

  get netnsPath(): string {
    return `/run/netns/${this.netnsName}`;
  }

  private async setUpNetwork(): Promise<void> {
    this.netnsCreated = true;
    await addNetns(this.netnsName);
    await addVethPair(this.netnsName, MASTER_IF, `${MASTER_IF}p`);
    const { cluster, components } = this.env;
    const sock = path.join(this.paths.root, 'api.sock');
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    const hostRelay = startDaemon('relay(host)', components.node, [RELAY, `unix:${sock}`, `tcp:${cluster.host}:${cluster.port}`], {
      env,
      logFile: path.join(this.paths.logs, 'relay-host.log'),
    });
    this.relays.push(hostRelay);
    await waitForLog(hostRelay, 'listening');
    const nodeRelay = startDaemon('relay(node)', 'ip', ['netns', 'exec', this.netnsName, components.node, RELAY, `tcp:127.0.0.1:${cluster.port}`, `unix:${sock}`], {
      env,
      logFile: path.join(this.paths.logs, 'relay-node.log'),
    });
    this.relays.push(nodeRelay);
    await waitForLog(nodeRelay, 'listening');
  }

  /** A revocable token for the multus ServiceAccount (bound to a new Secret). */
  async issueToken(): Promise<BoundToken> {
    const name = `multus-token-${this.label}-${this.tokens.length}-${crypto.randomBytes(3).toString('hex')}`;
    const token = await requestBoundToken(this.env.kubeConfig, this.env.multusNamespace, 'multus', name);
    this.tokens.push(token);
    return token;
  }

  /** Writes (or rotates) the service-account volume with `token`. */
  writeServiceAccount(token: BoundToken): void {
    this.sa.write({ token: token.token, caCert: fs.readFileSync(this.env.cluster.caFile, 'utf8'), namespace: this.env.multusNamespace });
  }

  /** The network namespace of a new pod sandbox (what the runtime creates before ADD). */
  async newSandbox(pod: V1Pod): Promise<PodSandbox> {
    const namespace = pod.metadata?.namespace;
    const name = pod.metadata?.name;
    const uid = pod.metadata?.uid;
    if (!namespace || !name || !uid) throw new Error('pod has no namespace, name or uid');
    const netnsName = `${this.netnsName}-p${this.sandboxCount++}`;
    const sandbox: PodSandbox = {
      namespace,
      name,
      uid,
      containerId: crypto.randomBytes(32).toString('hex'),
      netnsName,
      netnsPath: `/run/netns/${netnsName}`,
    };
    this.sandboxes.push(sandbox);
    await addNetns(netnsName);
    return sandbox;
  }

  async destroy(): Promise<void> {
    const errors: string[] = [];
    for (const relay of this.relays) await relay.stop('SIGTERM', 3000);
    for (const sb of this.sandboxes) await delNetns(sb.netnsName).catch((e: unknown) => errors.push(String(e)));
    if (this.netnsCreated) await delNetns(this.netnsName).catch((e: unknown) => errors.push(String(e)));
    for (const token of this.tokens) await token.revoke().catch(() => undefined);
    fs.rmSync(this.paths.root, { recursive: true, force: true });
    if (errors.length) throw new Error(`node ${this.label} cleanup: ${errors.join('; ')}`);
  }
}
