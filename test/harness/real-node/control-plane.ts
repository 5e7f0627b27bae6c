// The control plane and the kubelet of the real node, all on 127.0.0.1:
// etcd and kube-apiserver from the e2e harness (startCluster), with what a
// real node needs on top: the ServiceAccount admission (kubelet mounts the
// projected token), the Node authorizer and NodeRestriction (the kubelet's
// own identity), kube-controller-manager (DaemonSet, garbage collector,
// kube-root-ca.crt publisher, token controller) and kube-scheduler.
import fs from 'node:fs';
import path from 'node:path';
import { freePort, startCluster, type Cluster, type ClusterBinaries } from '../cluster.js';
import { signedCert } from '../pki.js';
import { startDaemon, type Daemon } from '../proc.js';

export const NODE_NAME = 'multus-node';

export interface K8sBinaries {
  kubelet: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubectl: string;
}

export interface ControlPlane {
  cluster: Cluster;
  pkiDir: string;
  adminKubeconfig: string;
  daemons: Daemon[];
  stop(): Promise<void>;
}

export function kubeconfigYaml(server: string, ca: string, cert: string, key: string, user: string): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: node-e2e
  cluster:
    server: ${server}
    certificate-authority: ${ca}
users:
- name: ${user}
  user:
    client-certificate: ${cert}
    client-key: ${key}
contexts:
- name: node-e2e
  context:
    cluster: node-e2e
    user: ${user}
current-context: node-e2e
`;
}

function adjustApiserverArgs(pkiDir: string): (args: string[]) => string[] {
  return (args) => [
    // Pods get their service-account token volume from the ServiceAccount
    // admission, as in every real cluster.
    ...args.filter((a) => a !== '--disable-admission-plugins=ServiceAccount' && !a.startsWith('--authorization-mode=')),
    '--authorization-mode=Node,RBAC',
    '--enable-admission-plugins=NodeRestriction',
    // kubectl logs/exec reach the kubelet on 127.0.0.1 with the admin identity.
    `--kubelet-client-certificate=${path.join(pkiDir, 'admin.crt')}`,
    `--kubelet-client-key=${path.join(pkiDir, 'admin.key')}`,
    '--kubelet-preferred-address-types=InternalIP',
    '--allow-privileged=true',
  ];
}

/** What another suite (the fleet simulation) changes on top of the real node's control plane. */
export interface ControlPlaneOptions {
  /** Applied after this file's own changes to kube-apiserver's arguments. */
  apiserverArgs?: (args: string[]) => string[];
  /** Appended to kube-controller-manager's arguments (a later flag wins, a list flag adds). */
  controllerManagerArgs?: string[];
}

export async function startControlPlane(components: ClusterBinaries, k8s: K8sBinaries, dir: string, opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const clusterDir = path.join(dir, 'cluster');
  const pkiDir = path.join(clusterDir, 'pki');
  const extraApiserverArgs = opts.apiserverArgs ?? ((a: string[]) => a);
  const cluster = await startCluster({ components, dir: clusterDir, apiserverArgs: (args) => extraApiserverArgs(adjustApiserverArgs(pkiDir)(args)) });
  const daemons: Daemon[] = [];
  const stop = async (): Promise<void> => {
    for (const d of [...daemons].reverse()) await d.stop('SIGTERM', 10000);
    await cluster.stop();
  };
  try {
    const adminKubeconfig = path.join(dir, 'admin.kubeconfig');
    fs.writeFileSync(adminKubeconfig, kubeconfigYaml(cluster.server, cluster.caFile, cluster.adminCertFile, cluster.adminKeyFile, 'admin'));
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    const [cmPort, schedPort] = [await freePort(), await freePort()];
    daemons.push(
      startDaemon(
        'kube-controller-manager',
        k8s.kubeControllerManager,
        [
          `--kubeconfig=${adminKubeconfig}`,
          `--authentication-kubeconfig=${adminKubeconfig}`,
          `--authorization-kubeconfig=${adminKubeconfig}`,
          '--leader-elect=false',
          '--bind-address=127.0.0.1',
          `--secure-port=${cmPort}`,
          `--cert-dir=${path.join(dir, 'controller-manager-certs')}`,
          '--controllers=*',
          `--service-account-private-key-file=${path.join(pkiDir, 'sa.key')}`,
          `--root-ca-file=${cluster.caFile}`,
          '--use-service-account-credentials=false',
          '--allocate-node-cidrs=false',
          '--profiling=false',
          '--v=1',
          ...(opts.controllerManagerArgs ?? []),
        ],
        { env, logFile: path.join(dir, 'kube-controller-manager.log') },
      ),
    );
    daemons.push(
      startDaemon(
        'kube-scheduler',
        k8s.kubeScheduler,
        [
          `--kubeconfig=${adminKubeconfig}`,
          `--authentication-kubeconfig=${adminKubeconfig}`,
          `--authorization-kubeconfig=${adminKubeconfig}`,
          '--leader-elect=false',
          '--bind-address=127.0.0.1',
          `--secure-port=${schedPort}`,
          `--cert-dir=${path.join(dir, 'scheduler-certs')}`,
          '--profiling=false',
          '--v=1',
        ],
        { env, logFile: path.join(dir, 'kube-scheduler.log') },
      ),
    );
    return { cluster, pkiDir, adminKubeconfig, daemons, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export interface KubeletOptions {
  dir: string;
  pkiDir: string;
  server: string;
  caFile: string;
  containerdSocket: string;
  cgroupRoot: string;
  /** The node's /etc/kubernetes/manifests: static pods (upstream e2e's test-static-pod). */
  staticPodDir: string;
}

/** The kubelet, as node NODE_NAME at 127.0.0.1, with the cgroupfs driver. */
export async function startKubelet(k8s: K8sBinaries, o: KubeletOptions): Promise<Daemon> {
  fs.mkdirSync(o.dir, { recursive: true });
  // Node authorizer identity: group system:nodes, user system:node:<name>.
  const cert = await signedCert(
    o.pkiDir,
    'kubelet',
    `/O=system:nodes/CN=system:node:${NODE_NAME}`,
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n',
    { caCert: o.caFile, caKey: path.join(o.pkiDir, 'ca.key') },
  );
  const kubeconfig = path.join(o.dir, 'kubelet.kubeconfig');
  fs.writeFileSync(kubeconfig, kubeconfigYaml(o.server, o.caFile, cert.cert, cert.key, `system:node:${NODE_NAME}`));
  const [port, healthzPort] = [await freePort(), await freePort()];
  const config = path.join(o.dir, 'kubelet-config.yaml');
  fs.writeFileSync(
    config,
    `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: ${port}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: ${healthzPort}
containerRuntimeEndpoint: unix://${o.containerdSocket}
cgroupDriver: cgroupfs
# The run's own cgroup: kubepods goes under it, and teardown removes it whole.
cgroupRoot: ${o.cgroupRoot}
failSwapOn: false
makeIPTablesUtilChains: false
oomScoreAdj: 0
podLogsDir: ${path.join(o.dir, 'pod-logs')}
staticPodPath: ${o.staticPodDir}
volumePluginDir: ${path.join(o.dir, 'volume-plugins')}
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: ${o.caFile}
authorization:
  mode: Webhook
# Never delete the imported images (nothing could pull them back), never evict.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: "1Mi"
  nodefs.available: "1%"
  nodefs.inodesFree: "1%"
  imagefs.available: "1%"
syncFrequency: 10s
fileCheckFrequency: 10s
nodeStatusUpdateFrequency: 10s
serializeImagePulls: false
rotateCertificates: false
serverTLSBootstrap: false
`,
  );
  return startDaemon(
    'kubelet',
    k8s.kubelet,
    [
      `--config=${config}`,
      `--kubeconfig=${kubeconfig}`,
      `--root-dir=${path.join(o.dir, 'root')}`,
      `--cert-dir=${path.join(o.dir, 'pki')}`,
      `--hostname-override=${NODE_NAME}`,
      '--node-ip=127.0.0.1',
      '--v=2',
    ],
    { env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' }, logFile: path.join(o.dir, 'kubelet.log') },
  );
}
