// A temporary host root laid out like the DaemonSet's /host mounts, and the
// built command run against it as a child process (real files, real signals).
// Suites use it through useHostRoot(): a fresh root per test, removed after
// it with every child the test started.
import { afterEach, beforeEach } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const COMMAND = join(REPO, 'bin', 'multus-entrypoint.js');
/** Sample master configs and bad inputs (test/fixtures/README.md). */
export const FIXTURES = join(REPO, 'test', 'fixtures');
/** A recognisable fake token: tests assert it never shows in any output. */
export const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.test-token-never-log-me.sig';

export interface HostRoot {
  root: string;
  confDir: string;
  binDir: string;
  multusCniConfDir: string;
  saDir: string;
  srcBinary: string;
  kubeconfig: string;
  /** The flags that point the program at this root. */
  args: string[];
  env: NodeJS.ProcessEnv;
  remove(): Promise<void>;
}

export async function makeHostRoot(): Promise<HostRoot> {
  const root = await fsp.mkdtemp(join(tmpdir(), 'multus-host-'));
  const h = {
    root,
    confDir: join(root, 'etc/cni/net.d'),
    binDir: join(root, 'opt/cni/bin'),
    multusCniConfDir: join(root, 'etc/cni/multus/net.d'),
    saDir: join(root, 'sa'),
    srcBinary: join(root, 'image/multus'),
    kubeconfig: join(root, 'etc/cni/net.d/multus.d/multus.kubeconfig'),
  };
  await Promise.all([h.confDir, h.binDir, dirname(h.srcBinary)].map((d) => fsp.mkdir(d, { recursive: true })));
  await writeServiceAccount(h.saDir, TOKEN, 'CA-1');
  await fsp.writeFile(h.srcBinary, '#!/bin/sh\necho fake multus\n', { mode: 0o755 });
  return {
    ...h,
    args: [
      `--cni-bin-dir=${h.binDir}`, `--cni-conf-dir=${h.confDir}`, `--multus-autoconfig-dir=${h.confDir}`,
      `--multus-bin-file=${h.srcBinary}`, `--multus-cni-conf-dir=${h.multusCniConfDir}`, `--service-account-dir=${h.saDir}`,
    ],
    env: { PATH: process.env.PATH, KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: '6443' },
    remove: () => fsp.rm(root, { recursive: true, force: true }),
  };
}

/**
 * The host root as a per-test fixture: call at the top of a suite (before
 * the suite's own beforeEach, which then sees the root), read it in a test.
 * Each test gets a fresh root, with `master` (a file under test/fixtures)
 * copied into its CNI config dir when given; after the test every child it
 * started is killed and the root removed.
 */
export function useHostRoot(options: { master?: string } = {}): HostRoot {
  let current: HostRoot | undefined;
  beforeEach(async () => {
    current = await makeHostRoot();
    if (options.master !== undefined) await copyMaster(current, options.master);
  });
  afterEach(async () => {
    await killLeftovers();
    const removing = current;
    current = undefined;
    await removing?.remove();
  });
  const now = (): HostRoot => {
    if (current === undefined) throw new Error('useHostRoot: the host root exists only while a test runs');
    return current;
  };
  return {
    get root() { return now().root; },
    get confDir() { return now().confDir; },
    get binDir() { return now().binDir; },
    get multusCniConfDir() { return now().multusCniConfDir; },
    get saDir() { return now().saDir; },
    get srcBinary() { return now().srcBinary; },
    get kubeconfig() { return now().kubeconfig; },
    get args() { return now().args; },
    get env() { return now().env; },
    remove: () => now().remove(),
  };
}

/**
 * Writes token and CA the way the kubelet fills a projected volume: a new
 * timestamped dir, a "..data" symlink renamed over the old one, and
 * top-level links through "..data".
 */
export async function writeServiceAccount(saDir: string, token: string, ca: string): Promise<void> {
  await fsp.mkdir(saDir, { recursive: true });
  const stamp = `..${new Date().toISOString().replace(/[-:.TZ]/g, '_')}${Math.random().toString(36).slice(2, 8)}`;
  await fsp.mkdir(join(saDir, stamp));
  await fsp.writeFile(join(saDir, stamp, 'token'), token);
  await fsp.writeFile(join(saDir, stamp, 'ca.crt'), ca);
  await fsp.writeFile(join(saDir, stamp, 'namespace'), 'kube-system');
  const old = await fsp.readlink(join(saDir, '..data')).catch(() => undefined);
  await fsp.symlink(stamp, join(saDir, '..data_tmp'));
  await fsp.rename(join(saDir, '..data_tmp'), join(saDir, '..data'));
  for (const name of ['token', 'ca.crt', 'namespace']) {
    await fsp.symlink(join('..data', name), join(saDir, name)).catch(() => undefined);
  }
  if (old) await fsp.rm(join(saDir, old), { recursive: true, force: true });
}

export async function copyMaster(h: HostRoot, from: string, as?: string): Promise<string> {
  const dest = join(h.confDir, as ?? from.split('/').pop()!);
  await fsp.copyFile(join(FIXTURES, from), dest);
  return dest;
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when stderr has a line matching re. */
  waitForLog(re: RegExp, timeoutMs?: number): Promise<void>;
  exited: Promise<Finished>;
}

/** Every child start() made that has not exited yet. */
const alive = new Set<ChildProcess>();

/** For afterEach: a failed test must not leave its process running. */
export async function killLeftovers(): Promise<void> {
  const left = [...alive].map((child) => new Promise<void>((done) => {
    child.once('close', () => done());
    child.kill('SIGKILL');
  }));
  await Promise.all(left);
}

export function start(args: string[], env: NodeJS.ProcessEnv): Running {
  const child = spawn(process.execPath, [COMMAND, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  alive.add(child);
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { err += c.toString(); listeners.forEach((l) => l()); });
  const exited = new Promise<Finished>((resolveExit) => {
    child.on('close', (code, signal) => {
      alive.delete(child);
      resolveExit({ code, signal, stdout: out, stderr: err });
    });
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForLog: (re, timeoutMs = 20_000) => new Promise((res, rej) => {
      const check = (): void => {
        if (re.test(err)) { cleanup(); res(); }
      };
      const timer = setTimeout(() => { cleanup(); rej(new Error(`timed out waiting for log ${re}; stderr so far:\n${err}`)); }, timeoutMs);
      const cleanup = (): void => { clearTimeout(timer); listeners.delete(check); };
      listeners.add(check);
      void exited.then(() => { if (!re.test(err)) { cleanup(); rej(new Error(`exited before log ${re}; stderr:\n${err}`)); } });
      check();
    }),
  };
}

/** Runs the command to completion. */
export function runCommand(args: string[], env: NodeJS.ProcessEnv): Promise<Finished> {
  return start(args, env).exited;
}

/** Polls until predicate holds (the thing under test is another process). */
export async function eventually<T>(probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: T = await probe();
  while (!ok(last)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 25));
    last = await probe();
  }
  return last;
}

export async function readOrUndefined(path: string): Promise<string | undefined> {
  return fsp.readFile(path, 'utf8').catch(() => undefined);
}

export async function listNames(dir: string): Promise<string[]> {
  return (await fsp.readdir(dir)).sort();
}
