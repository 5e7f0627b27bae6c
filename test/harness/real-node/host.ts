// What a real node changes on the machine outside its run dir, recorded
// before anything starts and undone at teardown, also by a later run when
// this one was killed (the snapshot is a file in the run dir):
// - sysctls kubelet tunes (it writes them at start) and the bridge plugin's;
// - iptables chains and rules (kubelet's canary chains, CNI plugins');
// - host paths kubelet, containerd and the CNI plugins hard-code
//   (/var/lib/cni, /var/lib/kubelet/device-plugins, /run/containerd/s, ...):
//   every entry that did not exist before is removed, nothing that did is;
// - network namespaces the CRI plugin creates under /run/netns;
// - links the run creates in the host's network namespace (named here);
// - cgroups: kubelet's pods live under a cgroup root of the run's own, and
//   containerd's `k8s.io` cgroups are removed if the run created them.
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';

/** Sysctls kubelet sets at start (setupKernelTunables) and plugins may set. */
const SYSCTLS = [
  'vm.overcommit_memory',
  'vm.panic_on_oom',
  'kernel.panic',
  'kernel.panic_on_oops',
  'kernel.keys.root_maxkeys',
  'kernel.keys.root_maxbytes',
  'net.ipv4.ip_forward',
  'net.ipv6.conf.all.forwarding',
  'net.bridge.bridge-nf-call-iptables',
  'net.bridge.bridge-nf-call-ip6tables',
];

/** Host paths the node's components write to whatever their configuration says. */
export const TRACKED_PATHS = [
  '/var/lib/cni',
  '/var/lib/kubelet',
  '/var/log/pods',
  '/var/log/containers',
  '/run/containerd',
  '/run/netns',
  '/var/run/multus',
  // multus-daemon's (thick): the network-status cache of its pods.
  '/run/k8s.cni.cncf.io',
  '/etc/cni/multus',
  '/usr/libexec/kubernetes',
];

/** Names of host links the run creates (bridges of the CNI configs, the macvlan master). */
export const LINK_PREFIX = 'mne-';

export interface HostSnapshot {
  sysctls: Record<string, string>;
  /** `<family> <table>` -> chains and `-A` rule lines as iptables-save prints them. */
  iptables: Record<string, { chains: string[]; rules: string[] }>;
  /** Each tracked path's entries (relative, recursive, one filesystem), or null if absent. */
  paths: Record<string, string[] | null>;
  /** Cgroup controller dirs that had a `k8s.io` child before the run. */
  k8sCgroups: string[];
}

function sysctlPath(name: string): string {
  return path.join('/proc/sys', ...name.split('.'));
}

function readSysctl(name: string): string | undefined {
  try {
    return fs.readFileSync(sysctlPath(name), 'utf8').trim();
  } catch {
    return undefined;
  }
}

function walk(root: string): string[] | null {
  let rootDev: number;
  try {
    rootDev = fs.lstatSync(root).dev;
  } catch {
    return null;
  }
  const out: string[] = [];
  const visit = (rel: string): void => {
    let names: string[];
    try {
      names = fs.readdirSync(path.join(root, rel));
    } catch {
      return;
    }
    for (const name of names) {
      const r = path.join(rel, name);
      out.push(r);
      try {
        const st = fs.lstatSync(path.join(root, r));
        if (st.isDirectory() && st.dev === rootDev) visit(r);
      } catch {
        // gone meanwhile
      }
    }
  };
  visit('');
  return out;
}

async function iptablesSave(family: 'iptables' | 'ip6tables'): Promise<Record<string, { chains: string[]; rules: string[] }>> {
  const res = await execa(`${family}-save`, [], { reject: false });
  const out: Record<string, { chains: string[]; rules: string[] }> = {};
  let table = '';
  for (const line of (res.stdout ?? '').split('\n')) {
    if (line.startsWith('*')) {
      table = line.slice(1);
      out[`${family} ${table}`] = { chains: [], rules: [] };
    } else if (line.startsWith(':') && table) {
      out[`${family} ${table}`]?.chains.push(line.slice(1).split(' ')[0] ?? '');
    } else if (line.startsWith('-A ') && table) {
      out[`${family} ${table}`]?.rules.push(line);
    }
  }
  return out;
}

export function cgroupControllers(): string[] {
  const root = '/sys/fs/cgroup';
  try {
    return fs
      .readdirSync(root)
      .map((n) => path.join(root, n))
      .filter((d) => fs.existsSync(path.join(d, 'cgroup.procs')));
  } catch {
    return [];
  }
}

export async function snapshotHost(): Promise<HostSnapshot> {
  const sysctls: Record<string, string> = {};
  for (const name of SYSCTLS) {
    const v = readSysctl(name);
    if (v !== undefined) sysctls[name] = v;
  }
  const paths: Record<string, string[] | null> = {};
  for (const p of TRACKED_PATHS) paths[p] = walk(p);
  return {
    sysctls,
    iptables: { ...(await iptablesSave('iptables')), ...(await iptablesSave('ip6tables')) },
    paths,
    k8sCgroups: cgroupControllers().filter((d) => fs.existsSync(path.join(d, 'k8s.io'))),
  };
}

function mountPoints(): string[] {
  const text = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  // Field 5 is the mount point, octal-escaped.
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (l.split(' ')[4] ?? '').replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
}

/** Unmounts every mount at or under `dir`, deepest first (lazily if busy). */
export async function unmountUnder(dir: string): Promise<string[]> {
  const done: string[] = [];
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  for (let round = 0; round < 5; round++) {
    const under = mountPoints()
      .filter((m) => m === dir || m.startsWith(prefix))
      .sort((a, b) => b.length - a.length);
    if (under.length === 0) break;
    for (const m of under) {
      const res = await execa('umount', [m], { reject: false });
      if (res.exitCode !== 0) await execa('umount', ['-l', m], { reject: false });
      done.push(m);
    }
  }
  return done;
}

/** Kills every process in the cgroup subtree `rel` of each controller, then removes the cgroups. */
export async function removeCgroupTree(rel: string): Promise<boolean> {
  let found = false;
  for (const ctl of cgroupControllers()) {
    const top = path.join(ctl, rel);
    if (!fs.existsSync(top)) continue;
    found = true;
    const dirs: string[] = [];
    const visit = (d: string): void => {
      dirs.push(d);
      for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) visit(path.join(d, e.name));
    };
    visit(top);
    for (let round = 0; round < 50; round++) {
      let alive = 0;
      for (const d of dirs) {
        let pids: string[] = [];
        try {
          pids = fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
        } catch {
          continue;
        }
        for (const pid of pids) {
          alive++;
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // exited meanwhile
          }
        }
      }
      if (alive === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const d of dirs.sort((a, b) => b.length - a.length)) {
      for (let i = 0; i < 20; i++) {
        try {
          fs.rmdirSync(d);
          break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') break;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
  }
  return found;
}

/** Creates a cgroup in every controller, with cpuset's cpus and mems copied from its parent. */
export function createCgroup(rel: string): void {
  for (const ctl of cgroupControllers()) {
    const dir = path.join(ctl, rel);
    fs.mkdirSync(dir, { recursive: true });
    if (path.basename(ctl) === 'cpuset') {
      for (const f of ['cpuset.cpus', 'cpuset.mems']) {
        const parent = fs.readFileSync(path.join(path.dirname(dir), f), 'utf8').trim();
        fs.writeFileSync(path.join(dir, f), parent);
      }
    }
  }
}

async function restoreIptables(before: HostSnapshot['iptables'], done: string[]): Promise<void> {
  for (const family of ['iptables', 'ip6tables'] as const) {
    const now = await iptablesSave(family);
    for (const [key, { chains, rules }] of Object.entries(now)) {
      const table = key.split(' ')[1] ?? '';
      const old = before[key] ?? { chains: [], rules: [] };
      for (const rule of rules) {
        if (old.rules.includes(rule)) continue;
        // iptables-save prints each rule as the arguments that add it.
        const args = rule.slice(3).match(/"[^"]*"|\S+/g)?.map((a) => a.replace(/^"|"$/g, '')) ?? [];
        await execa(family, ['-w', '-t', table, '-D', ...args], { reject: false });
        done.push(`removed ${family} rule in ${table}: ${rule}`);
      }
      for (const chain of chains) {
        if (old.chains.includes(chain)) continue;
        await execa(family, ['-w', '-t', table, '-F', chain], { reject: false });
        await execa(family, ['-w', '-t', table, '-X', chain], { reject: false });
        done.push(`removed ${family} chain ${table}/${chain}`);
      }
    }
  }
}

/** Whether a containerd other than the run's (already stopped) is running: its shims share /run/containerd. */
function otherContainerdRunning(): boolean {
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'containerd') return true;
    } catch {
      // exited
    }
  }
  return false;
}

/** Entries of a tracked root that may be the run's: other suites share /run/netns and /run/containerd. */
function mayBeOurs(root: string, rel: string): boolean {
  // The CRI plugin names its network namespaces cni-<uuid>; others' are theirs.
  if (root === '/run/netns') return rel.startsWith('cni-');
  return true;
}

async function removeNewPaths(before: HostSnapshot['paths'], done: string[]): Promise<void> {
  for (const [root, entries] of Object.entries(before)) {
    const now = walk(root);
    if (now === null) continue;
    if (root === '/run/containerd' && otherContainerdRunning()) {
      done.push(`left ${root} alone: another containerd is running and shares it`);
      continue;
    }
    const old = new Set(entries ?? []);
    // Network namespaces are nsfs bind mounts: unmount before removing.
    const fresh = now.filter((e) => !old.has(e) && mayBeOurs(root, e)).sort((a, b) => b.length - a.length);
    for (const rel of fresh) {
      const full = path.join(root, rel);
      await unmountUnder(full);
      try {
        fs.rmSync(full, { recursive: true, force: true });
      } catch {
        await execa('rm', ['-rf', '--one-file-system', full], { reject: false });
      }
    }
    if (fresh.length > 0) done.push(`removed ${fresh.length} entries the run left under ${root}`);
    if (entries === null) {
      // The run created the root itself: remove it if nothing else uses it now.
      try {
        fs.rmdirSync(root);
        done.push(`removed ${root}`);
      } catch {
        // not empty: someone else's now
      }
    }
  }
}

export async function removeRunLinks(done: string[]): Promise<void> {
  const res = await execa('ip', ['-j', 'link', 'show'], { reject: false });
  let links: { ifname: string }[] = [];
  try {
    links = JSON.parse(res.stdout || '[]') as { ifname: string }[];
  } catch {
    return;
  }
  for (const l of links) {
    if (!l.ifname.startsWith(LINK_PREFIX)) continue;
    await execa('ip', ['link', 'del', l.ifname], { reject: false });
    done.push(`deleted link ${l.ifname}`);
  }
}

/** Undoes what the node changed on the host since `before` (processes must be gone). */
export async function restoreHost(before: HostSnapshot, cgroupRoot: string): Promise<string[]> {
  const done: string[] = [];
  if (await removeCgroupTree(cgroupRoot)) done.push(`removed cgroup ${cgroupRoot}`);
  // containerd's own cgroups (`ctr run` puts tasks under /k8s.io/<id>).
  if (before.k8sCgroups.length === 0 && (await removeCgroupTree('k8s.io'))) done.push('removed cgroup k8s.io');
  for (const [name, value] of Object.entries(before.sysctls)) {
    const now = readSysctl(name);
    if (now === undefined || now === value) continue;
    try {
      fs.writeFileSync(sysctlPath(name), value);
      done.push(`restored ${name} ${now} -> ${value}`);
    } catch (err) {
      done.push(`could not restore ${name} to ${value}: ${(err as Error).message}`);
    }
  }
  await restoreIptables(before.iptables, done);
  await removeRunLinks(done);
  await removeNewPaths(before.paths, done);
  return done;
}
