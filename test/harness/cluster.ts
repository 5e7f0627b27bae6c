// A real, minimal control plane on loopback: etcd plus kube-apiserver with
// TLS, RBAC and a service-account issuer. No controller manager or kubelet
// runs, so the harness creates ServiceAccounts and tokens itself and pods are
// plain API objects; `--disable-admission-plugins=ServiceAccount` lets pods be
// created without the token controller.
import { KubeConfig } from '@kubernetes/client-node';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { locateComponents, type Components } from './components.js';
import { makePki, type Pki } from './pki.js';
import { startDaemon, tail, type Daemon } from './proc.js';

/** What test files need to reach the cluster (serialisable). */
export interface ClusterInfo {
  host: string;
  port: number;
  server: string;
  caFile: string;
  adminCertFile: string;
  adminKeyFile: string;
}

export interface Cluster extends ClusterInfo {
  kubeConfig: KubeConfig;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function clusterInfo(c: ClusterInfo): ClusterInfo {
  return { host: c.host, port: c.port, server: c.server, caFile: c.caFile, adminCertFile: c.adminCertFile, adminKeyFile: c.adminKeyFile };
}

export function adminKubeConfig(info: ClusterInfo): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser(
    { name: 'e2e', server: info.server, caFile: info.caFile, skipTLSVerify: false },
    { name: 'e2e-admin', certFile: info.adminCertFile, keyFile: info.adminKeyFile },
  );
  return kc;
}

/** GET `urlPath` with the admin client certificate; resolves the status code. */
function adminGet(info: ClusterInfo, urlPath: string): Promise<number> {
  return new Promise((resolve) => {
    const req = https.request(
      {
        host: info.host,
        port: info.port,
        path: urlPath,
        method: 'GET',
        ca: fs.readFileSync(info.caFile),
        cert: fs.readFileSync(info.adminCertFile),
        key: fs.readFileSync(info.adminKeyFile),
        timeout: 2000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

async function waitFor(what: string, daemons: Daemon[], check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const d of daemons) {
      if (!d.running()) throw new Error(`${d.name} exited while waiting for ${what}:\n${tail(d.logs())}`);
    }
    if (await check()) return;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}:\n${daemons.map((d) => `--- ${d.name}\n${tail(d.logs())}`).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** What starting the cluster needs of the components (the fleet simulation builds no Multus). */
export type ClusterBinaries = Pick<Components, 'etcd' | 'kubeApiserver'>;

function startEtcd(components: ClusterBinaries, dir: string, clientPort: number, peerPort: number): Daemon {
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  return startDaemon(
    'etcd',
    components.etcd,
    [
      '--name=e2e',
      `--data-dir=${path.join(dir, 'etcd')}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=e2e=${peer}`,
      '--log-level=warn',
    ],
    { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, logFile: path.join(dir, 'etcd.log') },
  );
}

function startApiserver(components: ClusterBinaries, dir: string, pki: Pki, port: number, etcdPort: number, adjust: (args: string[]) => string[]): Daemon {
  return startDaemon(
    'kube-apiserver',
    components.kubeApiserver,
    adjust([
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${port}`,
      `--cert-dir=${path.join(dir, 'apiserver-certs')}`,
      `--tls-cert-file=${pki.servingCert}`,
      `--tls-private-key-file=${pki.servingKey}`,
      `--client-ca-file=${pki.caCert}`,
      '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.saPub}`,
      `--service-account-signing-key-file=${pki.saKey}`,
      // Only an allocation range for Service objects; nothing routes to it.
      '--service-cluster-ip-range=10.96.0.0/24',
      '--disable-admission-plugins=ServiceAccount',
      // The endpoints of the `kubernetes` service would be 127.0.0.1, which
      // the API rejects; nothing here needs that service.
      '--endpoint-reconciler-type=none',
      '--enable-priority-and-fairness=false',
      '--profiling=false',
      '--v=1',
    ]),
    { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, logFile: path.join(dir, 'kube-apiserver.log') },
  );
}

export interface StartClusterOptions {
  /** Defaults to locateComponents() (which builds what is missing). */
  components?: ClusterBinaries;
  /** Where certificates, etcd data and logs go; a temporary dir (removed by stop()) if omitted. */
  dir?: string;
  /** Changes kube-apiserver's arguments (the real-node suite runs a kubelet and the ServiceAccount admission). */
  apiserverArgs?: (args: string[]) => string[];
}

/** Starts etcd and kube-apiserver on loopback and waits for /readyz. */
export async function startCluster(opts: StartClusterOptions = {}): Promise<Cluster> {
  const components = opts.components ?? (await locateComponents());
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'multus-e2e-cluster-'));
  fs.mkdirSync(dir, { recursive: true });
  const pki = await makePki(path.join(dir, 'pki'));
  const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
  const etcd = startEtcd(components, dir, etcdClient, etcdPeer);
  const daemons: Daemon[] = [etcd];
  const stop = async (): Promise<void> => {
    for (const d of [...daemons].reverse()) await d.stop('SIGTERM', 10000);
    if (ownDir) fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    // etcd must accept connections before the API server's storage factory dials it.
    await waitFor('etcd', daemons, () => tcpOpen(etcdClient), 30000);
    const apiserver = startApiserver(components, dir, pki, apiPort, etcdClient, opts.apiserverArgs ?? ((a) => a));
    daemons.push(apiserver);
    const info: ClusterInfo = {
      host: '127.0.0.1',
      port: apiPort,
      server: `https://127.0.0.1:${apiPort}`,
      caFile: pki.caCert,
      adminCertFile: pki.adminCert,
      adminKeyFile: pki.adminKey,
    };
    await waitFor('kube-apiserver /readyz', daemons, async () => (await adminGet(info, '/readyz')) === 200, 90000);
    return { ...info, kubeConfig: adminKubeConfig(info), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
