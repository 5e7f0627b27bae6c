// Where a rollout's seconds go, per DaemonSet pod: the kubelet's own log
// (millisecond times: the pod reaching it, a container killed, PLEG's
// started/died, the startup and readiness probes' verdicts), the program's
// first log line (the container runtime's nanosecond stamp in the pod's log
// file) and the node files' mtimes, all as seconds after the apply. PLEG
// relists every second, so "running" and "exited" are up to 1 s late.
import fs from 'node:fs';
import path from 'node:path';
import type { NodeRun } from './node.js';

export interface Timeline {
  /** Old pod: the kubelet kills its container / PLEG sees it exit. */
  oldKilled?: number;
  oldExited?: number;
  /** New pod: reaches the kubelet (SyncLoop ADD). */
  added?: number;
  /** Its last container started (PLEG), the main one. */
  running?: number;
  /** The program's first log line. */
  firstLog?: number;
  /** The newest of 00-multus.conf[list] and the kubeconfig, if written after the apply. */
  written?: number;
  /** Startup probe passed, then readiness (the kubelet's verdicts). */
  started?: number;
  ready?: number;
  /** The suite saw the rollout complete. */
  seen?: number;
  /** The new main container's CPU time and CFS-throttled time so far (cgroup v1), s. */
  cpuS?: number;
  throttledS?: number;
}

const POD = /kube-system\/(kube-multus-ds-[a-z0-9]+)/;

/** A klog line's time (the machine's zone is UTC, as the kubelet's), in ms. */
function klogTime(line: string, year: number): number | undefined {
  const m = /^[IWE](\d\d)(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{3})/.exec(line);
  if (!m) return undefined;
  const [mo, d, h, mi, s, ms] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return Date.UTC(year, mo - 1, d, h, mi, s, ms);
}

function firstLogLine(node: NodeRun, pod: string): number | undefined {
  const dir = path.join(node.dirs.run, 'kubelet', 'pod-logs');
  const podDir = fs.readdirSync(dir).find((n) => n.startsWith(`kube-system_${pod}_`));
  if (!podDir) return undefined;
  try {
    const first = fs.readFileSync(path.join(dir, podDir, 'kube-multus', '0.log'), 'utf8').split('\n')[0] ?? '';
    const t = Date.parse(first.split(' ')[0] ?? '');
    return Number.isFinite(t) ? t : undefined;
  } catch {
    return undefined;
  }
}

/** The container's cgroup (v1: cpu and cpuacct) under the run's cgroup root, found by pod uid and container id. */
function cpuFigures(podUid: string, containerId: string): { cpuS?: number; throttledS?: number } {
  const find = (ctl: string): string | undefined => {
    const root = `/sys/fs/cgroup/${ctl}`;
    const stack = fs.existsSync(root) ? fs.readdirSync(root).filter((n) => n.startsWith('multus-node-e2e-')).map((n) => path.join(root, n)) : [];
    while (stack.length > 0) {
      const d = stack.pop() ?? '';
      if (path.basename(d) === containerId && path.basename(path.dirname(d)) === `pod${podUid}`) return d;
      for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) stack.push(path.join(d, e.name));
    }
    return undefined;
  };
  try {
    const cpu = find('cpu');
    const acct = find('cpuacct');
    const throttled = cpu ? /throttled_time (\d+)/.exec(fs.readFileSync(path.join(cpu, 'cpu.stat'), 'utf8'))?.[1] : undefined;
    const usage = acct ? fs.readFileSync(path.join(acct, 'cpuacct.usage'), 'utf8').trim() : undefined;
    const s = (ns: string | undefined): number | undefined => (ns === undefined ? undefined : Math.round(Number(ns) / 1e7) / 100);
    return { cpuS: s(usage), throttledS: s(throttled) };
  } catch {
    return {};
  }
}

function newestWrite(node: NodeRun, after: number): number | undefined {
  const conf = fs.readdirSync(node.dirs.cniConfDir).find((n) => /^00-multus\.conf(list)?$/.test(n));
  const files = [conf ? path.join(node.dirs.cniConfDir, conf) : '', path.join(node.dirs.cniConfDir, 'multus.d', 'multus.kubeconfig')];
  const times = files.filter((f) => f && fs.existsSync(f)).map((f) => fs.statSync(f).mtimeMs).filter((t) => t >= after);
  return times.length > 0 ? Math.max(...times) : undefined;
}

/** The timeline of the rollout between `t0` (apply) and `t1` (seen complete). */
export function rolloutTimeline(node: NodeRun, t0: number, t1: number): Timeline {
  const year = new Date(t0).getUTCFullYear();
  const text = fs.readFileSync(path.join(node.dirs.run, 'kubelet', 'kubelet.log'), 'utf8');
  const rel = (t: number | undefined): number | undefined => (t === undefined ? undefined : Math.round((t - t0) / 100) / 10);
  const out: Timeline = { seen: rel(t1) };
  let newPod: string | undefined;
  let main: { uid: string; id: string } | undefined;
  const old = new Set<string>();
  for (const line of text.split('\n')) {
    const t = klogTime(line, year);
    if (t === undefined || t < t0 - 1000 || t > t1 + 1000) continue;
    const pod = POD.exec(line)?.[1];
    if (!pod) continue;
    if (line.includes('"SyncLoop ADD"') && t >= t0) {
      newPod = pod;
      out.added = t;
    } else if (line.includes('"Killing container with a grace period"') && pod !== newPod) {
      old.add(pod);
      out.oldKilled ??= t;
    } else if (line.includes('"Type":"ContainerDied"') && old.has(pod)) {
      out.oldExited ??= t;
    } else if (line.includes('"Type":"ContainerStarted"') && pod === newPod) {
      out.running = t;
      const ev = /"ID":"([0-9a-f-]+)","Type":"ContainerStarted","Data":"([0-9a-f]+)"/.exec(line);
      if (ev?.[1] && ev[2]) main = { uid: ev[1], id: ev[2] };
    } else if (line.includes('probe="startup" status="started"') && pod === newPod) {
      out.started = t;
    } else if (line.includes('probe="readiness" status="ready"') && pod === newPod) {
      out.ready = t;
    }
  }
  return {
    ...out,
    oldKilled: rel(out.oldKilled),
    oldExited: rel(out.oldExited),
    added: rel(out.added),
    running: rel(out.running),
    firstLog: rel(newPod ? firstLogLine(node, newPod) : undefined),
    written: rel(newestWrite(node, t0)),
    started: rel(out.started),
    ready: rel(out.ready),
    ...(main ? cpuFigures(main.uid, main.id) : {}),
  };
}

export const TIMELINE_HEADER = [
  '| s after apply | old pod killed | old exited (PLEG) | new pod at kubelet | running (PLEG) | first log line | files written | startup probe passed | Ready (kubelet) | rollout seen | CPU / throttled (s) |',
  '|---|---|---|---|---|---|---|---|---|---|---|',
];

export function timelineRow(what: string, t: Timeline): string {
  const f = (n: number | undefined): string => (n === undefined ? '-' : n.toFixed(1));
  return `| ${what} | ${f(t.oldKilled)} | ${f(t.oldExited)} | ${f(t.added)} | ${f(t.running)} | ${f(t.firstLog)} | ${f(t.written)} | ${f(t.started)} | ${f(t.ready)} | ${f(t.seen)} | ${t.cpuS === undefined ? '-' : `${t.cpuS} / ${t.throttledS ?? '-'}`} |`;
}
