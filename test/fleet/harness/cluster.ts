// The fleet's cluster on loopback: the real node's control plane
// (test/harness/real-node/control-plane.ts: etcd, kube-apiserver with the
// ServiceAccount admission, Node,RBAC and NodeRestriction, the controller
// manager and the scheduler) with what the fleet needs on top:
// - priority and fairness on, as clusters run it (the e2e default turns it off);
// - an audit log of the multus service account's requests only (Metadata
//   level, at ResponseComplete): who sent what, to check /metrics against;
// - the controller manager's node monitor grace period longer than KWOK's
//   node lease renewals (a long lease duration keeps N fake nodes cheap);
// and KWOK, which fakes the nodes (those annotated kwok.x-k8s.io/node=fake)
// and the DaemonSet pods' status, with stages of the suite's own: a pod turns
// Running and Ready once the suite has seen its program's /readyz answer 200
// (READY_ANNOTATION); a pod being deleted is left to the suite's kubelet.
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { which, REPO_ROOT } from '../../harness/components.js';
import { startDaemon, type Daemon } from '../../harness/proc.js';
import { startControlPlane, type ControlPlane, type K8sBinaries } from '../../harness/real-node/control-plane.js';
import { k8sBinaries } from '../../harness/real-node/node.js';
import { READY_ANNOTATION } from './kubelet.js';
import { MULTUS_USER } from './meter.js';

const K8S_VERSION = process.env.K8S_VERSION ?? 'v1.33.4';
const KWOK_VERSION = process.env.KWOK_VERSION ?? 'v0.7.0';
export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';
/** KWOK renews a node's lease every quarter of this: 100 nodes renew one lease every 3 s. */
const NODE_LEASE_SECONDS = 1200;

export interface FleetBinaries {
  etcd: string;
  kubeApiserver: string;
  k8s: K8sBinaries;
  kwok: string;
  node: string;
  entrypointScript: string;
}

/** Builds what is missing (a no-op when cached; waits on the build lock another build holds) and returns the paths. */
export async function locateBinaries(): Promise<FleetBinaries> {
  const script = path.join(REPO_ROOT, 'test/tools/build-components.sh');
  const { stdout } = await execa('bash', [script, 'kubernetes', 'kwok'], {
    env: { K8S_VERSION, KWOK_VERSION },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const cache = stdout.trim().split('\n').pop() ?? '';
  const etcd = which('etcd');
  if (!etcd) throw new Error('etcd is not on PATH: install Debian package etcd-server');
  const need = (file: string): string => {
    if (!fs.existsSync(file)) throw new Error(`${file} is missing: run test/tools/build-components.sh kubernetes kwok`);
    return file;
  };
  const entrypointScript = need(path.join(REPO_ROOT, 'bin/multus-entrypoint.js'));
  need(path.join(REPO_ROOT, 'dist'));
  return {
    etcd,
    kubeApiserver: need(path.join(cache, `kubernetes-${K8S_VERSION}`, 'kube-apiserver')),
    k8s: k8sBinaries(cache),
    kwok: need(path.join(cache, `kwok-${KWOK_VERSION}`, 'kwok')),
    node: process.execPath,
    entrypointScript,
  };
}

const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
    users: ["${MULTUS_USER}"]
  - level: None
`;

export interface FleetCluster {
  cp: ControlPlane;
  auditLog: string;
  kwok: Daemon;
  stop(): Promise<void>;
}

function kwokConfig(): string {
  // KWOK's own pod-ready stage (kustomize/stage/pod/fast in v0.7.0), gated on
  // the program's readiness; no pod-delete stage: the suite's kubelet stops
  // the program first. Node stages are KWOK's defaults (initialize, and a
  // heartbeat with a lease).
  return `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: fleet-pod-ready
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.podIP'
      operator: 'DoesNotExist'
    - key: '.metadata.annotations["${READY_ANNOTATION}"]'
      operator: 'In'
      values:
      - 'true'
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Initialized
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Ready
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: ContainersReady
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: true
        restartCount: 0
        started: true
        state:
          running:
            startedAt: {{ $now | Quote }}
      {{ end }}
      hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
      podIP: {{ PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote }}
      phase: Running
      startTime: {{ $now | Quote }}
`;
}

export async function startFleetCluster(bins: FleetBinaries, dir: string): Promise<FleetCluster> {
  fs.mkdirSync(dir, { recursive: true });
  const policy = path.join(dir, 'audit-policy.yaml');
  const auditLog = path.join(dir, 'audit.log');
  fs.writeFileSync(policy, AUDIT_POLICY);
  const cp = await startControlPlane({ etcd: bins.etcd, kubeApiserver: bins.kubeApiserver }, bins.k8s, dir, {
    apiserverArgs: (args) => [
      ...args.filter((a) => !a.startsWith('--enable-priority-and-fairness')),
      '--enable-priority-and-fairness=true',
      `--audit-policy-file=${policy}`,
      `--audit-log-path=${auditLog}`,
      '--audit-log-format=json',
      '--audit-log-mode=blocking',
      '--audit-log-maxsize=1024',
      '--audit-log-maxbackup=1',
    ],
    controllerManagerArgs: [`--node-monitor-grace-period=${4 * NODE_LEASE_SECONDS}s`],
  });
  let kwok: Daemon | undefined;
  const stop = async (): Promise<void> => {
    await kwok?.stop('SIGTERM', 10000);
    await cp.stop();
  };
  try {
    const config = path.join(dir, 'kwok.yaml');
    fs.writeFileSync(config, kwokConfig());
    kwok = startDaemon(
      'kwok',
      bins.kwok,
      [
        `--kubeconfig=${cp.adminKubeconfig}`,
        `--config=${config}`,
        '--manage-all-nodes=false',
        `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
        `--node-lease-duration-seconds=${NODE_LEASE_SECONDS}`,
        // Addresses only written into status: nothing listens or connects there.
        '--node-ip=127.0.0.1',
        '--cidr=127.128.0.0/16',
      ],
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir }, logFile: path.join(dir, 'kwok.log') },
    );
    return { cp, auditLog, kwok, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
