// Shared pieces of the torture suite: running the built command as a child
// (and killing it), a seeded random source, host roots, and the checks every
// phase makes on the files a runtime would read.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, rmSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// Plain-JS counterparts of test/helpers/host-root.ts (this runner does not load TypeScript).
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILT_COMMAND = join(REPO, 'bin', 'multus-entrypoint.js');
export const FIXTURES = resolve(REPO, 'test', 'fixtures');
/** A recognisable fake token: no output of the program may contain it. */
export const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.test-token-never-log-me.sig';

let saSerial = 0;
/**
 * Writes token and CA the way the kubelet fills a projected volume: a new
 * timestamped dir, a "..data" symlink renamed over the old one, top-level
 * links through "..data", and the old timestamped dir removed.
 */
export async function writeServiceAccount(saDir, token, ca) {
  await fsp.mkdir(saDir, { recursive: true });
  const stamp = `..${new Date().toISOString().replace(/[-:.TZ]/g, '_')}${process.pid}_${saSerial++}`;
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
  if (old && old !== stamp) await fsp.rm(join(saDir, old), { recursive: true, force: true });
}

/**
 * The command under test: a copy of bin/multus-entrypoint.js and the
 * bundles it loads (dist/bundle and its vendor/, only node: imports), taken by
 * prepareCommand() at the start, so that a rebuild in the working tree
 * during the run cannot pull the files from under it; or
 * RELIABILITY_COMMAND (another build, e.g. a candidate fix), as it is.
 */
export let COMMAND = process.env.RELIABILITY_COMMAND || BUILT_COMMAND;

export async function prepareCommand() {
  if (process.env.RELIABILITY_COMMAND) return COMMAND;
  const dir = await fsp.mkdtemp(join(tmpdir(), 'multus-rel-cmd-'));
  await fsp.cp(join(REPO, 'bin'), join(dir, 'bin'), { recursive: true });
  await fsp.cp(join(REPO, 'dist', 'bundle'), join(dir, 'dist', 'bundle'), { recursive: true });
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  COMMAND = join(dir, 'bin', 'multus-entrypoint.js');
  return COMMAND;
}
/** The built modules the pure-function checks import: dist/, or RELIABILITY_DIST. */
export const DIST = process.env.RELIABILITY_DIST || join(REPO, 'dist');

/** The program's temporary-file prefix (src/host/files.ts TEMP_PREFIX). */
export const TEMP_PREFIX = '.multus-entrypoint-tmp.';
export const KUBE_HOST = '127.0.0.1';
export const KUBE_PORT = '6443';

// ---------------------------------------------------------------- randomness

/** mulberry32: small, fast, seedable; every random choice of the suite comes from here. */
export function makeRng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    chance: (p) => next() < p,
    hex: (n) => Array.from({ length: n }, () => Math.floor(next() * 16).toString(16)).join(''),
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- processes

const alive = new Set();
process.on('exit', () => { for (const c of alive) { try { c.kill('SIGKILL'); } catch { /* gone */ } } });

/**
 * Starts the built command. `wrap` is a command prefix (e.g. setpriv ... to
 * drop capabilities). Gives the child, live stdout/stderr, and a promise of
 * its end; a hard timeout kills it and says so.
 */
export function startProgram(args, env, { wrap = [], nodeFlags = [], timeoutMs = 60_000 } = {}) {
  const argv = [...wrap, process.execPath, ...nodeFlags, COMMAND, ...args];
  const child = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  alive.add(child);
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  const waiters = [];
  child.stdout.on('data', (c) => { stdout += c; });
  child.stderr.on('data', (c) => {
    stderr += c;
    for (const w of [...waiters]) if (w.re.test(stderr)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(true); }
  });
  const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
  const exited = new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      alive.delete(child);
      for (const w of waiters.splice(0)) w.resolve(false);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    /** True once stderr matches re; false if the child ends first or after ms. */
    waitForLog(re, ms = 20_000) {
      if (re.test(stderr)) return Promise.resolve(true);
      return new Promise((resolve) => {
        const w = { re, resolve };
        waiters.push(w);
        setTimeout(() => { const i = waiters.indexOf(w); if (i >= 0) { waiters.splice(i, 1); resolve(false); } }, ms);
      });
    },
    alive: () => child.exitCode === null && child.signalCode === null,
  };
}

export function runProgram(args, env, opts) {
  return startProgram(args, env, opts).exited;
}

/**
 * The V8 heap in use after a full garbage collection, through the
 * inspector of a child started with --inspect=127.0.0.1:0 (its stderr says
 * where). Two collections, so that what weak references freed is gone too.
 */
export async function heapAfterGc(wsUrl) {
  const ws = new WebSocket(wsUrl);
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = () => reject(new Error(`cannot reach the inspector at ${wsUrl}`)); });
  let id = 0;
  const pending = new Map();
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.id && pending.has(msg.id)) { pending.get(msg.id)(msg); pending.delete(msg.id); }
  };
  const call = (method) => new Promise((resolve) => { pending.set(++id, resolve); ws.send(JSON.stringify({ id, method })); });
  await call('HeapProfiler.collectGarbage');
  await call('HeapProfiler.collectGarbage');
  const usage = await call('Runtime.getHeapUsage');
  ws.close();
  return usage.result.usedSize;
}

// ---------------------------------------------------------------- host roots

/**
 * A host root laid out as test/helpers/host-root.ts lays it out (same
 * relative paths and flags), for a root that already exists (a clone).
 */
export function hostAt(root) {
  const h = {
    root,
    confDir: join(root, 'etc/cni/net.d'),
    binDir: join(root, 'opt/cni/bin'),
    multusCniConfDir: join(root, 'etc/cni/multus/net.d'),
    saDir: join(root, 'sa'),
    srcBinary: join(root, 'image/multus'),
    kubeconfig: join(root, 'etc/cni/net.d/multus.d/multus.kubeconfig'),
  };
  return {
    ...h,
    multusD: join(h.confDir, 'multus.d'),
    args: [
      `--cni-bin-dir=${h.binDir}`, `--cni-conf-dir=${h.confDir}`, `--multus-autoconfig-dir=${h.confDir}`,
      `--multus-bin-file=${h.srcBinary}`, `--multus-cni-conf-dir=${h.multusCniConfDir}`, `--service-account-dir=${h.saDir}`,
    ],
    env: { PATH: process.env.PATH, KUBERNETES_SERVICE_HOST: KUBE_HOST, KUBERNETES_SERVICE_PORT: KUBE_PORT },
  };
}

export async function newRootDir(tag) {
  return fsp.mkdtemp(join(tmpdir(), `multus-rel-${tag}-`));
}

/** Writes a file the way a careful writer does (temp name no runtime loads, then rename). */
export async function writeAtomic(path, content) {
  const tmp = join(path, '..', `.edit-${process.pid}-${Math.random().toString(36).slice(2)}`);
  await fsp.writeFile(tmp, content);
  await fsp.rename(tmp, path);
}

export async function readOr(path, fallback = undefined) {
  return fsp.readFile(path, 'utf8').catch(() => fallback);
}

export async function exists(path) {
  return fsp.lstat(path).then(() => true, () => false);
}

export async function sha256(path) {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk);
  return h.digest('hex');
}

/** Every path under dir (files, links, dirs), relative; a dir that is gone gives none. */
export async function walk(dir) {
  const out = [];
  const go = async (rel) => {
    let entries;
    try { entries = await fsp.readdir(join(dir, rel), { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      out.push(p);
      if (e.isDirectory()) await go(p);
    }
  };
  await go('');
  return out;
}

/** Temporary files of the program anywhere under root. */
export async function leftoverTemps(root) {
  return (await walk(root)).filter((p) => p.split('/').pop().startsWith(TEMP_PREFIX));
}

// ---------------------------------------------------------------- checks

export const INVALIDATED_CONFIG = '{Multus configuration intentionally invalidated to prevent pods from being scheduled.}\n';

/** Every .conf/.conflist/.json directly in dir parses as JSON (or is the invalidated config); gives the faults. */
export async function configsParse(dir) {
  const faults = [];
  let names = [];
  try { names = await fsp.readdir(dir); } catch { return faults; }
  for (const name of names) {
    if (!/\.(conf|conflist|json)$/.test(name)) continue;
    const st = await fsp.stat(join(dir, name)).catch(() => undefined);
    if (!st || !st.isFile()) continue;
    const text = await readOr(join(dir, name), '');
    // The invalidated config (docs/behaviour.md) is deliberately not JSON; whether it is
    // allowed at that moment is the caller's check of the content.
    if (text === INVALIDATED_CONFIG) continue;
    try { JSON.parse(text); } catch (err) { faults.push(`${name} does not parse (${text.length} bytes): ${err.message}`); }
  }
  return faults;
}

/**
 * The kubeconfig as a runtime (Multus) would read it: undefined when absent,
 * else { token, ca, server } or { fault }.
 */
export async function readKubeconfig(path) {
  const text = await readOr(path);
  if (text === undefined) return undefined;
  try {
    const y = parseYaml(text);
    const token = y?.users?.find((u) => u.name === 'multus')?.user?.token;
    const cluster = y?.clusters?.find((c) => c.name === 'local')?.cluster;
    if (typeof token !== 'string' || !cluster || y['current-context'] !== 'multus-context') {
      return { fault: `incomplete kubeconfig (${text.length} bytes)` };
    }
    return { token, ca: cluster['certificate-authority-data'], server: cluster.server, text };
  } catch (err) {
    return { fault: `kubeconfig does not parse as YAML: ${err.message}` };
  }
}

/** A line of stderr that looks like a JavaScript stack frame. */
export function stackTraceLine(text) {
  return text.split('\n').find((l) => /^\s{4}at /.test(l));
}

// ---------------------------------------------------------------- environment

/** What this machine lets the suite do (root, mounts, chattr, dropping capabilities). */
export async function probeAbilities() {
  const isRoot = process.getuid?.() === 0;
  const dir = await fsp.mkdtemp(join(tmpdir(), 'multus-rel-probe-'));
  const ok = (cmd, args) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
  let canMount = false;
  let canChattr = false;
  if (isRoot) {
    await fsp.mkdir(join(dir, 'm'));
    canMount = ok('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', join(dir, 'm')]);
    if (canMount) ok('umount', [join(dir, 'm')]);
    await fsp.writeFile(join(dir, 'f'), 'x');
    canChattr = ok('chattr', ['+i', join(dir, 'f')]);
    if (canChattr) ok('chattr', ['-i', join(dir, 'f')]);
  }
  await fsp.writeFile(join(dir, 'u'), 'x', { mode: 0 });
  await fsp.chmod(join(dir, 'u'), 0);
  const dropCaps = ['setpriv', '--inh-caps=-dac_override,-dac_read_search', '--bounding-set=-dac_override,-dac_read_search'];
  const canDropCaps = isRoot && ok(dropCaps[0], [...dropCaps.slice(1), 'true']) && !ok(dropCaps[0], [...dropCaps.slice(1), 'cat', join(dir, 'u')]);
  await fsp.rm(dir, { recursive: true, force: true });
  return { isRoot, canMount, canChattr, canDropCaps, dropCaps };
}

export function sh(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message || `exit ${r.status}`}`);
  return r.stdout;
}

/** Runs jobs with at most `width` at a time; gives their results in order. */
export async function inParallel(items, width, job) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      results[i] = await job(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return results;
}

export function mean(xs) {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor(s.length / 2)];
}
