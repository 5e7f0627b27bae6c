// Undoing a run from its on-disk records: used by the global teardown, and
// by the next run's setup for a run that died before its teardown (jest
// killed, machine rebooted mid-run). A pid is only signalled if its start
// time still matches the record, so a reused pid is never hit.
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { processStartTime, readRecords, RUNS_ROOT, runIsAlive } from './run-state.js';

async function killRecorded(pid: number, startTime: string): Promise<void> {
  if (!startTime || processStartTime(pid) !== startTime) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  for (let i = 0; i < 50 && processStartTime(pid) === startTime; i++) await new Promise((r) => setTimeout(r, 20));
}

export async function cleanupRunDir(dir: string): Promise<string[]> {
  const done: string[] = [];
  const records = readRecords(dir);
  for (const { pid, startTime } of records.pids) {
    if (processStartTime(pid) === startTime && startTime) done.push(`killed leftover process ${pid}`);
    await killRecorded(pid, startTime);
  }
  for (const name of records.netns) {
    if (fs.existsSync(`/run/netns/${name}`)) {
      await execa('ip', ['netns', 'del', name], { reject: false });
      done.push(`deleted network namespace ${name}`);
    }
  }
  // Deepest first; rmdir only removes what is still empty.
  for (const dir of [...records.mountpoints].sort((a, b) => b.length - a.length)) {
    try {
      fs.rmdirSync(dir);
    } catch {
      // not empty or already gone: not ours to remove any more
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return done;
}

const DAY_MS = 24 * 3600 * 1000;

/** Removes scenario logs kept more than a day ago. */
export function pruneKeptLogs(): void {
  for (const under of ['failed-logs', 'kept-logs']) {
    const root = path.join(RUNS_ROOT, under);
    let entries: string[];
    try {
      entries = fs.readdirSync(root);
    } catch {
      continue;
    }
    for (const entry of entries) {
      const dir = path.join(root, entry);
      if (Date.now() - fs.statSync(dir).mtimeMs > DAY_MS) fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** Cleans up after earlier runs (under `root`) whose owner process is gone. */
export async function reapStaleRuns(currentRunDir: string, root: string = RUNS_ROOT, cleanup: (dir: string) => Promise<string[]> = cleanupRunDir): Promise<string[]> {
  let entries: string[];
  try {
    entries = fs.readdirSync(root);
  } catch {
    return [];
  }
  const done: string[] = [];
  for (const entry of entries) {
    const dir = path.join(root, entry);
    if (dir === currentRunDir || !entry.startsWith('run-') || runIsAlive(dir)) continue;
    done.push(...(await cleanup(dir)));
  }
  return done;
}
