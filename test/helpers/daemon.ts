// The command left running on a temporary host root (the watch loop), and
// what tests of a long-running process need beside host-root.ts: a clean
// stop that checks the exit code and the token, free ports, log counting.
// What a test leaves running is killed by useHostRoot() (host-root.ts).
import { expect } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Finished, HostRoot, Running } from './host-root.js';
import { start, TOKEN } from './host-root.js';

/**
 * Puts the slow re-check out of a test's reach, so what it sees can only
 * come from watch events (the default, 60 s, would do too, but say it).
 */
export const NO_RESYNC = '--resync-interval=3600';

/** Where suites without useHostRoot() still import it from (it lives in host-root.ts). */
export { killLeftovers } from './host-root.js';

/** Starts the command and waits until it watches (or until `ready` is logged). */
export async function startDaemon(h: HostRoot, flags: string[] = [], env: NodeJS.ProcessEnv = h.env, ready = /watching for changes/): Promise<Running> {
  const run = start([...h.args, NO_RESYNC, ...flags], env);
  await run.waitForLog(ready);
  return run;
}

/** Runs the command until it exits by itself; no token in its output. */
export async function runDaemonToEnd(h: HostRoot, flags: string[] = [], env: NodeJS.ProcessEnv = h.env): Promise<Finished> {
  const r = await start([...h.args, NO_RESYNC, ...flags], env).exited;
  expectNoSecrets(r.stdout + r.stderr);
  return r;
}

/** Every secret a test wrote; none may show in any output. */
const secrets = new Set<string>([TOKEN]);
export function registerSecret(secret: string): void {
  secrets.add(secret);
}

export function expectNoSecrets(text: string): void {
  for (const secret of secrets) expect(text).not.toContain(secret);
}

/** SIGTERM (or SIGINT), then: exit code 0 and no token in stdout or stderr. */
export async function stopDaemon(run: Running, signal: NodeJS.Signals = 'SIGTERM'): Promise<Finished> {
  run.child.kill(signal);
  const r = await run.exited;
  expectNoSecrets(r.stdout + r.stderr);
  expect({ code: r.code, signal: r.signal }).toEqual({ code: 0, signal: null });
  return r;
}

let witnesses = 0;

/**
 * For a check that something did NOT happen, instead of a fixed wait: the
 * running program handles file changes in order, so once it logs skipping
 * an unparsable master candidate written after the change, it has seen the
 * change too. Leaves the witness file (it sorts first and is always skipped).
 */
export async function witnessSeen(run: Running, h: HostRoot): Promise<void> {
  const name = `01-witness-${++witnesses}.conf`;
  await fsp.writeFile(join(h.confDir, name), '{');
  await run.waitForLog(new RegExp(`skipped a candidate master config .*${name.replace('.', '\\.')}`), 30_000);
}

export function countMatches(text: string, re: RegExp): number {
  return text.split('\n').filter((line) => re.test(line)).length;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A port nobody listens on now (bound to 0, read, released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  await new Promise((r) => server.close(r));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Writes a file the way runtimes' installers do: a temporary name, then rename. */
export async function replaceFile(path: string, content: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await fsp.writeFile(tmp, content);
  await fsp.rename(tmp, path);
}

/** Edits a JSON file in place (the content changes, the inode does not). */
export async function editJson(path: string, edit: (config: Record<string, unknown>) => void): Promise<Record<string, unknown>> {
  const config = JSON.parse(await fsp.readFile(path, 'utf8')) as Record<string, unknown>;
  edit(config);
  await fsp.writeFile(path, JSON.stringify(config, null, 2));
  return config;
}
