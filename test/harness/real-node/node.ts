// One real node for the whole run: the control plane, containerd and the
// kubelet, with the node's CNI dirs and everything else under one run dir
// ($TMPDIR/multus-node-e2e/run-*). Setup records what it will have to undo
// (host snapshot, cgroup root) before it starts anything; teardown undoes it
// from those records, so the next run's setup can do the same for a run
// whose runner was killed.
import { execa } from 'execa';
import type { KubeConfig } from '@kubernetes/client-node';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { adminKubeConfig, type ClusterInfo } from '../cluster.js';
import { cleanupRunDir, reapStaleRuns } from '../cleanup.js';
import { locateComponents, type Components } from '../components.js';
import { tail, type Daemon } from '../proc.js';
import { createRunDir } from '../run-state.js';
import { waitUntil } from '../wait.js';
import { startContainerd, type Containerd } from './containerd.js';
import { NODE_NAME, startControlPlane, startKubelet, type ControlPlane, type K8sBinaries } from './control-plane.js';
import { createCgroup, LINK_PREFIX, removeCgroupTree, restoreHost, snapshotHost, unmountUnder, type HostSnapshot } from './host.js';
import { findImage, pauseImage, projectImages, type BuiltImage } from './images.js';

export const NODE_RUNS_ROOT = path.join(os.tmpdir(), 'multus-node-e2e');
export const DEFAULT_BRIDGE = `${LINK_PREFIX}def0`;
/** The default network's gateway: pods' default route; no host holds it. */
export const DEFAULT_GATEWAY = '198.18.0.1';

export interface NodeDirs {
  run: string;
  /** The node's "/": made a shared mount, as systemd makes a real host's. */
  host: string;
  cniConfDir: string;
  cniBinDir: string;
  multusConfDir: string;
  ipamDir: string;
  /** The kubelet's staticPodPath, as kind's pod-manifest-path. */
  staticPodDir: string;
}

export interface NodeRun {
  dirs: NodeDirs;
  cluster: ClusterInfo;
  kubeConfig: KubeConfig;
  adminKubeconfig: string;
  kubectlBin: string;
  containerd: Containerd;
  images: BuiltImage[];
  kubeletLog(): string;
  stop(): Promise<string[]>;
}

/** kubelet, kube-controller-manager, kube-scheduler and kubectl from build-components.sh's cache (`cache` as locateComponents found it). */
export function k8sBinaries(cache: string): K8sBinaries {
  const dir = path.join(cache, `kubernetes-${process.env.K8S_VERSION ?? 'v1.33.4'}`);
  const need = (name: string): string => {
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) throw new Error(`${file} is missing: run test/tools/build-components.sh kubernetes`);
    return file;
  };
  return { kubelet: need('kubelet'), kubeControllerManager: need('kube-controller-manager'), kubeScheduler: need('kube-scheduler'), kubectl: need('kubectl') };
}

/** The node's default network: a bridge with no address on the host side, pod addresses only inside pod namespaces. */
export function defaultNetworkConf(ipamDir: string): string {
  return `${JSON.stringify(
    {
      cniVersion: '0.4.0',
      name: 'node-default',
      type: 'bridge',
      bridge: DEFAULT_BRIDGE,
      isGateway: false,
      ipMasq: false,
      hairpinMode: false,
      // A default route, as a cluster network gives (upstream's
      // test-default-route1 checks it moves to net1); the gateway is an
      // address nothing holds, on-link inside the pod's namespace.
      ipam: { type: 'host-local', ranges: [[{ subnet: '198.18.0.0/24', gateway: DEFAULT_GATEWAY }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: ipamDir },
    },
    null,
    2,
  )}\n`;
}

function cgroupRootOf(runDir: string): string {
  return `/multus-node-e2e-${path.basename(runDir).replace(/^run-/, '')}`;
}

/** Every process whose command line names the run dir (daemons, containerd shims). */
function processesOfRun(runDir: string): number[] {
  const out: number[] = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(runDir)) out.push(Number(p));
    } catch {
      // exited
    }
  }
  return out;
}

async function killAll(pids: number[]): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  await waitUntil(10000, () => pids.every((pid) => !fs.existsSync(`/proc/${pid}`)), 50);
}

/** Undoes a node run from its records: processes, containers, mounts, host changes, the dir. */
export async function cleanupNodeRun(runDir: string): Promise<string[]> {
  const done: string[] = [];
  const kubelet = processesOfRun(runDir).filter((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'kubelet';
    } catch {
      return false;
    }
  });
  // The kubelet first, so it restarts nothing; then the pods' processes (its cgroup tree), then the rest.
  await killAll(kubelet);
  const snapshotFile = path.join(runDir, 'host-snapshot.json');
  const cgroupRoot = cgroupRootOf(runDir);
  if (await removeCgroupTree(cgroupRoot)) done.push(`killed the pods' processes and removed cgroup ${cgroupRoot}`);
  const leftovers = processesOfRun(runDir);
  if (leftovers.length > 0) done.push(`killed ${leftovers.length} processes of the run`);
  await killAll(leftovers);
  const unmounted = await unmountUnder(runDir);
  if (unmounted.length > 0) done.push(`unmounted ${unmounted.length} mounts under ${runDir}`);
  if (fs.existsSync(snapshotFile)) {
    const before = JSON.parse(fs.readFileSync(snapshotFile, 'utf8')) as HostSnapshot;
    done.push(...(await restoreHost(before, cgroupRoot)));
  }
  done.push(...(await cleanupRunDir(runDir)));
  return done;
}

async function shareMount(dir: string): Promise<void> {
  await execa('mount', ['--bind', dir, dir]);
  await execa('mount', ['--make-rshared', dir]);
}

export async function startNode(log: (line: string) => void): Promise<NodeRun> {
  const run = createRunDir(NODE_RUNS_ROOT);
  for (const line of await reapStaleRuns(run, NODE_RUNS_ROOT, cleanupNodeRun)) log(`node-e2e setup: ${line} (left by an earlier run)`);
  fs.writeFileSync(path.join(run, 'host-snapshot.json'), JSON.stringify(await snapshotHost()));
  const host = path.join(run, 'host');
  const dirs: NodeDirs = {
    run,
    host,
    cniConfDir: path.join(host, 'etc/cni/net.d'),
    cniBinDir: path.join(host, 'opt/cni/bin'),
    multusConfDir: path.join(host, 'etc/cni/multus/net.d'),
    ipamDir: path.join(run, 'ipam'),
    staticPodDir: path.join(host, 'etc/kubernetes/manifests'),
  };
  const daemons: Daemon[] = [];
  let controlPlane: ControlPlane | undefined;
  const stop = async (): Promise<string[]> => {
    for (const d of [...daemons].reverse()) await d.stop('SIGTERM', 15000);
    await controlPlane?.stop();
    return cleanupNodeRun(run);
  };
  try {
    for (const d of [dirs.cniConfDir, dirs.cniBinDir, dirs.multusConfDir, dirs.ipamDir, dirs.staticPodDir]) fs.mkdirSync(d, { recursive: true });
    await shareMount(host);
    // The node's plugins: Debian's, linked into the node's bin dir, where the DaemonSet adds multus.
    for (const name of fs.readdirSync('/usr/lib/cni')) fs.symlinkSync(path.join('/usr/lib/cni', name), path.join(dirs.cniBinDir, name));
    fs.writeFileSync(path.join(dirs.cniConfDir, '10-node-default.conf'), defaultNetworkConf(dirs.ipamDir));
    const cgroupRoot = cgroupRootOf(run);
    createCgroup(cgroupRoot);

    const components: Components = await locateComponents();
    const k8s = k8sBinaries(path.dirname(path.dirname(components.multus)));
    const images = [await pauseImage(run), ...(await projectImages())];
    const containerd = await startContainerd({ dir: path.join(run, 'containerd'), cniConfDir: dirs.cniConfDir, cniBinDir: dirs.cniBinDir });
    daemons.push(containerd.daemon);
    for (const img of images) await containerd.importImage(img.archive);
    controlPlane = await startControlPlane(components, k8s, run);
    const kubelet = await startKubelet(k8s, {
      dir: path.join(run, 'kubelet'),
      pkiDir: controlPlane.pkiDir,
      server: controlPlane.cluster.server,
      caFile: controlPlane.cluster.caFile,
      containerdSocket: containerd.socket,
      cgroupRoot,
      staticPodDir: dirs.staticPodDir,
    });
    daemons.push(kubelet);
    const kubeConfig = adminKubeConfig(controlPlane.cluster);
    const node: NodeRun = {
      dirs,
      cluster: controlPlane.cluster,
      kubeConfig,
      adminKubeconfig: controlPlane.adminKubeconfig,
      kubectlBin: k8s.kubectl,
      containerd,
      images,
      kubeletLog: () => kubelet.logs(),
      stop,
    };
    const ready = await waitUntil(180000, async () => {
      if (!kubelet.running() || !containerd.daemon.running()) return true;
      const res = await execa(k8s.kubectl, ['--kubeconfig', controlPlane?.adminKubeconfig ?? '', 'get', 'node', NODE_NAME, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'], { reject: false });
      return res.stdout.trim() === 'True';
    }, 1000);
    if (!ready || !kubelet.running() || !containerd.daemon.running()) {
      throw new Error(`node ${NODE_NAME} did not turn Ready:\n--- kubelet\n${tail(kubelet.logs())}\n--- containerd\n${tail(containerd.daemon.logs())}`);
    }
    return node;
  } catch (err) {
    const done = await stop().catch((e: unknown) => [`teardown failed: ${String(e)}`]);
    for (const line of done) log(`node-e2e teardown: ${line}`);
    throw err;
  }
}

export { findImage };
