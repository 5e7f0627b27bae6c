// containerd and runc from Debian, started by hand with everything under the
// run dir: root, state, socket, runc's state. The CRI plugin's CNI conf and
// bin dirs are the node's (what the DaemonSet's hostPath volumes point at),
// and its sandbox image is the locally built pause image.
//
// restrict_oom_score_adj: containerd gives the sandbox container
// oom_score_adj -998, which needs CAP_SYS_RESOURCE; machines like this one
// (a sandbox without it) then fail every pod with `runc create failed: ...
// can't get final child's PID from pipe: EOF`. Restricting keeps the score at
// or above containerd's own.
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { startDaemon, tail, type Daemon } from '../proc.js';
import { waitUntil } from '../wait.js';
import { PAUSE_IMAGE } from './images.js';

export interface ContainerdPaths {
  dir: string;
  socket: string;
  config: string;
}

export interface ContainerdOptions {
  dir: string;
  cniConfDir: string;
  cniBinDir: string;
}

export function containerdPaths(dir: string): ContainerdPaths {
  return { dir, socket: path.join(dir, 'containerd.sock'), config: path.join(dir, 'config.toml') };
}

function toml(o: ContainerdOptions, p: ContainerdPaths): string {
  const q = (s: string): string => JSON.stringify(s);
  return `version = 2
root = ${q(path.join(o.dir, 'root'))}
state = ${q(path.join(o.dir, 'state'))}
# No btrfs, zfs, aufs or devmapper here; overlayfs is the snapshotter.
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = ${q(p.socket)}

[ttrpc]
  address = ${q(`${p.socket}.ttrpc`)}

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = ${q(path.join(o.dir, 'opt'))}

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${q(PAUSE_IMAGE)}
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  disable_apparmor = true

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = ${q(path.join(o.dir, 'runc'))}

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = ${q(o.cniBinDir)}
    conf_dir = ${q(o.cniConfDir)}
    max_conf_num = 1
`;
}

export interface Containerd {
  daemon: Daemon;
  socket: string;
  ctr(args: string[]): Promise<string>;
  importImage(archive: string): Promise<void>;
}

export async function startContainerd(o: ContainerdOptions): Promise<Containerd> {
  const p = containerdPaths(o.dir);
  fs.mkdirSync(o.dir, { recursive: true });
  fs.writeFileSync(p.config, toml(o, p));
  const daemon = startDaemon('containerd', 'containerd', ['--config', p.config, '--log-level', 'info'], {
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
    logFile: path.join(o.dir, 'containerd.log'),
  });
  const ctr = async (args: string[]): Promise<string> =>
    (await execa('ctr', ['--address', p.socket, '--namespace', 'k8s.io', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })).stdout;
  const up = await waitUntil(60000, async () => {
    if (!daemon.running()) return true;
    return (await execa('ctr', ['--address', p.socket, 'version'], { reject: false })).exitCode === 0;
  }, 250);
  if (!up || !daemon.running()) throw new Error(`containerd did not come up on ${p.socket}:\n${tail(daemon.logs())}`);
  return {
    daemon,
    socket: p.socket,
    ctr,
    importImage: async (archive) => {
      await ctr(['images', 'import', archive]);
    },
  };
}
