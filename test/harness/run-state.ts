// Per-run bookkeeping on disk, so that cleanup never depends on the jest
// process surviving: every pid, network namespace and host mount point the
// run creates is recorded under its run dir. The next run's setup reaps the
// records of runs whose owner process is gone (see reapStaleRuns).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// Per user, so that a run as another user (which only gets as far as the
// skip) never trips over root's 0700 directory.
export const RUNS_ROOT = path.join(os.tmpdir(), process.getuid?.() === 0 ? 'multus-e2e' : `multus-e2e-${process.getuid?.() ?? 'user'}`);
const RUN_DIR_ENV = 'MULTUS_E2E_RUN_DIR';

/** Start time of a process (clock ticks since boot), or undefined if gone. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22; the command name (field 2) may hold spaces, so split after ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** The current run's directory (created by the global setup). */
export function runDir(): string {
  const dir = process.env[RUN_DIR_ENV];
  if (!dir) throw new Error(`${RUN_DIR_ENV} is not set: the e2e global setup did not run`);
  return dir;
}

/** `root`: the real-node suite keeps its runs apart, since only its own cleanup can undo them. */
export function createRunDir(root: string = RUNS_ROOT): string {
  fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  const dir = fs.mkdtempSync(path.join(root, `run-${process.pid}-`));
  for (const sub of ['pids', 'netns', 'mountpoints']) fs.mkdirSync(path.join(dir, sub));
  fs.writeFileSync(path.join(dir, 'owner'), `${process.pid} ${processStartTime(process.pid) ?? ''}\n`);
  process.env[RUN_DIR_ENV] = dir;
  return dir;
}

/** A fresh directory for one fixture, inside the run dir. */
export function makeTempDir(label: string): string {
  return fs.mkdtempSync(path.join(runDir(), `${label}-`));
}

/** A short tag unique to this run, for names with length limits (netns). */
export function runTag(): string {
  return path.basename(runDir()).replace(/^run-/, '').replace(/-/g, '').slice(-10);
}

function record(kind: 'pids' | 'netns' | 'mountpoints', name: string, content: string): void {
  const dir = process.env[RUN_DIR_ENV];
  if (dir) fs.writeFileSync(path.join(dir, kind, name), content);
}

function forget(kind: 'pids' | 'netns' | 'mountpoints', name: string): void {
  const dir = process.env[RUN_DIR_ENV];
  if (dir) fs.rmSync(path.join(dir, kind, name), { force: true });
}

export function registerPid(pid: number): void {
  record('pids', String(pid), processStartTime(pid) ?? '');
}
export function unregisterPid(pid: number): void {
  forget('pids', String(pid));
}
export function registerNetns(name: string): void {
  record('netns', name, '');
}
export function unregisterNetns(name: string): void {
  forget('netns', name);
}
/** Host directories the run had to create as mount points (removed if still empty). */
export function registerMountpoint(dir: string): void {
  record('mountpoints', encodeURIComponent(dir), dir);
}

export interface RunRecords {
  pids: { pid: number; startTime: string }[];
  netns: string[];
  mountpoints: string[];
}

export function readRecords(dir: string): RunRecords {
  const list = (sub: string): string[] => {
    try {
      return fs.readdirSync(path.join(dir, sub));
    } catch {
      return [];
    }
  };
  const read = (sub: string, name: string): string => fs.readFileSync(path.join(dir, sub, name), 'utf8');
  return {
    pids: list('pids').map((p) => ({ pid: Number(p), startTime: read('pids', p) })),
    netns: list('netns'),
    mountpoints: list('mountpoints').map((m) => read('mountpoints', m)),
  };
}

/** Whether the run that owns `dir` is still alive (same pid, same start time). */
export function runIsAlive(dir: string): boolean {
  try {
    const [pid, start] = fs.readFileSync(path.join(dir, 'owner'), 'utf8').trim().split(' ');
    return pid !== undefined && processStartTime(Number(pid)) === start;
  } catch {
    return false;
  }
}
