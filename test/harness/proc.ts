// Long-running child processes of the suite (etcd, kube-apiserver, relays,
// installers). Output goes to a log file, not a pipe, so a chatty daemon can
// never block on a full pipe while a test is busy elsewhere. Every started
// pid is also written to the run's pid registry so that a later run can end
// the leftovers of a run that was killed before its teardown.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { redact } from './secrets.js';
import { registerPid, unregisterPid } from './run-state.js';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Daemon {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Settles when the process has exited. */
  readonly exited: Promise<ExitInfo>;
  /** Whether the process is still running. */
  running(): boolean;
  /** Sends `signal`, waits up to `timeoutMs`, then SIGKILLs. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<ExitInfo>;
  /** The log so far, with every known secret redacted. */
  logs(): string;
}

export interface DaemonOptions {
  env: Record<string, string>;
  cwd?: string;
  logFile: string;
}

export function startDaemon(name: string, file: string, args: readonly string[], opts: DaemonOptions): Daemon {
  const out = fs.openSync(opts.logFile, 'a');
  const child = spawn(file, args, {
    env: opts.env,
    cwd: opts.cwd,
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  if (child.pid === undefined) throw new Error(`${name}: could not start ${file}`);
  const pid = child.pid;
  registerPid(pid);
  let done = false;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      unregisterPid(pid);
      resolve({ code, signal });
    });
    child.once('error', () => {
      done = true;
      unregisterPid(pid);
      resolve({ code: null, signal: null });
    });
  });
  const logs = (): string => {
    try {
      return redact(fs.readFileSync(opts.logFile, 'utf8'));
    } catch {
      return '';
    }
  };
  const stop = async (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10000): Promise<ExitInfo> => {
    if (!done) child.kill(signal);
    const timer = setTimeout(() => {
      if (!done) child.kill('SIGKILL');
    }, timeoutMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  return { name, pid, logFile: opts.logFile, exited, running: () => !done, stop, logs };
}

/** The last `lines` lines of a log, for failure messages. */
export function tail(text: string, lines = 40): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
