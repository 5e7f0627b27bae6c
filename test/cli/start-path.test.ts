// What a start loads before its first config: src/ only (dist/bundle/cli.cjs).
// The third-party packages sit in dist/bundle/vendor/ and load on first
// import (scripts/build.mjs): under the DaemonSet's 100m CPU every
// instruction before the config is ten times its time in wall clock, and a
// static import of a package on the start path would put the package back
// into every start. The loader says which bundles it loads when asked to
// write the code caches (MULTUS_ENTRYPOINT_CODE_CACHE=write), so these runs
// use a copy of bin/ and dist/bundle, as the image ships them.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { copyMaster, makeHostRoot, REPO, writeServiceAccount, type HostRoot } from '../helpers/host-root.js';
import { freePort, registerSecret, expectNoSecrets } from '../helpers/daemon.js';

let app: string;
let h: HostRoot;

beforeAll(async () => {
  app = await fsp.mkdtemp(join(tmpdir(), 'multus-start-path-'));
  await fsp.cp(join(REPO, 'bin'), join(app, 'bin'), { recursive: true });
  await fsp.cp(join(REPO, 'dist', 'bundle'), join(app, 'dist', 'bundle'), { recursive: true });
});
afterAll(() => fsp.rm(app, { recursive: true, force: true }));
beforeEach(async () => {
  h = await makeHostRoot();
  await copyMaster(h, 'masters/10-flannel.conflist');
});
afterEach(() => h.remove());

interface Run { lines: () => string[]; configured: Promise<void>; stop: () => Promise<number | null> }

function run(args: string[]): Run {
  const child = spawn(process.execPath, [join(app, 'bin/multus-entrypoint.js'), ...h.args, ...args], {
    env: { ...h.env, MULTUS_ENTRYPOINT_CODE_CACHE: 'write' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const configured = new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      if (/the node is configured/.test(stderr)) resolve();
    });
    void exited.then(() => reject(new Error(`exited before the node was configured; stderr:\n${stderr}`)));
  });
  configured.catch(() => undefined);
  return {
    lines: () => stderr.split('\n'),
    configured,
    stop: async () => {
      child.kill('SIGTERM');
      const code = await exited;
      expectNoSecrets(stderr);
      return code;
    },
  };
}

/** The bundles loaded before the line saying the node is configured, and after it. */
function bundlesAround(lines: string[]): { before: string[]; after: string[] } {
  const at = lines.findIndex((l) => /the node is configured/.test(l));
  const bundles = (part: string[]): string[] => part.flatMap((l) => /^code cache: (\S+):/.exec(l)?.[1] ?? []);
  return { before: bundles(lines.slice(0, at)), after: bundles(lines.slice(at)) };
}

/** Polls for a condition on another process, with a generous deadline. */
async function until(what: string, ok: () => boolean): Promise<void> {
  const end = Date.now() + 60_000;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('start path', () => {
  it('--once loads no third-party bundle: only cli.cjs', async () => {
    const r = run(['--once']);
    await r.configured;
    expect(await r.stop()).toBe(0);
    expect(bundlesAround(r.lines())).toEqual({ before: ['cli.cjs'], after: [] });
  }, 90_000);

  it('a watching start with /metrics loads chokidar and prom-client only after the config is written', async () => {
    const port = await freePort();
    const r = run([`--health-port=${port}`, '--cleanup-config-on-exit=true']);
    await r.configured;
    await until('the watcher and /metrics to load', () => bundlesAround(r.lines()).after.length >= 2);
    expect(await r.stop()).toBe(0);
    const { before, after } = bundlesAround(r.lines());
    expect(before).toEqual(['cli.cjs']);
    expect(after).toEqual(expect.arrayContaining(['vendor/chokidar.cjs', 'vendor/prom-client.cjs']));
  }, 90_000);

  it('a token the built-in YAML writer does not cover loads yaml, and the kubeconfig holds it exactly', async () => {
    const token = '"odd\'token#with:quotes"';
    registerSecret(token);
    await writeServiceAccount(h.saDir, token, 'CA-1');
    const r = run(['--once']);
    await r.configured;
    expect(await r.stop()).toBe(0);
    expect(bundlesAround(r.lines()).before).toEqual(['cli.cjs', 'vendor/yaml.cjs']);
    const kubeconfig = parse(await fsp.readFile(h.kubeconfig, 'utf8')) as { users: { user: { token: string } }[] };
    expect(kubeconfig.users[0]!.user.token === token).toBe(true);
  }, 90_000);
});
