#!/usr/bin/env node
// Side-by-side benchmark: multus-entrypoint ("this") against upstream's
// thin_entrypoint ("thin", of the Multus release the Dockerfile's
// ARG MULTUS_VERSION names, or MULTUS_VERSION), each under the DaemonSet's own limits
// (memory 50Mi, CPU quota 10000/100000) emulated with a fresh cgroup per
// process start, on identical fake host roots. See test/bench/README.md for
// what is measured, how, and why; run with `npm run bench` (root required).
//
//   BENCH_RUNS=10      runs per program (alternating order), default 10
//   BENCH_QUICK=1      quick mode: 3 runs, 5 s idle window, fewer reactions
//   BENCH_IDLE_S=20    idle window in seconds
//   BENCH_ONLY=this    only one program (this|thin), for investigation
//   BENCH_COMPILE_CACHE=cold|warm  Node compile cache per start (default cold,
//                      as in a fresh container) or shared across starts
//   BENCH_KEEP=1       keep the temporary host roots and logs
//   BENCH_MODE=startup start-up breakdown instead: CPU and wall time to config
//                      (or exit) for node -e 0, --help, --once, with and
//                      without the 50 MB copy, watch mode, thin, cp+sync
//   BENCH_THIN=path    use this thin_entrypoint instead of building/reusing one
//   BENCH_THIS_BIN=path  run this JS entry instead of what the image runs
//                      (to compare a prototype build against thin); a path
//                      ending in .blob runs a Node startup snapshot
//                      (node --snapshot-blob <path> -- <flags>)
//
// "this" is what the image runs: the Dockerfile's runtime ENTRYPOINT and
// ENV, with the image's app dir mapped to this repository (bin/, dist/ and
// its code cache, made by `npm run build` with this same node) and the
// image's node to this one; dist/ is mounted read-only for it, as the pod's
// root filesystem is. A third program, the floor (floor.cjs: Node starting
// a script that only installs the binary the same way and writes the two
// files), runs under the same limits in the same run.
//
// Output: a table, then as the very last line `BENCH {json}`. Exit status 1
// when a run failed (no config, a crash, an OOM kill, a wrong file); a
// missed target is only a printed verdict.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomFillSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const FLOOR = path.join(REPO, 'test', 'bench', 'floor.cjs');

/**
 * The runtime stage's ENTRYPOINT and ENV from the Dockerfile, as run here:
 * paths under the image's app dir (the dir above bin/ of the script) point
 * into this repository, the image's node is this process' node.
 */
function imageCommand() {
  const text = fs.readFileSync(path.join(REPO, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stage = lines.slice(lines.findLastIndex((l) => /^FROM\s/i.test(l)));
  const ep = stage.findLast((l) => /^ENTRYPOINT\s/i.test(l));
  if (!ep) throw new Error('Dockerfile: no ENTRYPOINT in the runtime stage');
  const [node, ...args] = JSON.parse(ep.replace(/^ENTRYPOINT\s+/i, ''));
  const script = args.find((a) => /\/bin\/[^/]+\.js$/.test(a));
  if (!script) throw new Error(`Dockerfile: cannot find the program's script in ENTRYPOINT ${ep}`);
  const appDir = path.posix.dirname(path.posix.dirname(script));
  const local = (v) => (v === appDir || v.startsWith(`${appDir}/`) ? path.join(REPO, v.slice(appDir.length)) : v);
  const env = {};
  for (const l of stage.filter((x) => /^ENV\s/i.test(x))) {
    for (const m of l.replace(/^ENV\s+/i, '').matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[m[1]] = local(m[2].replace(/^"|"$/g, ''));
  }
  return { argv: [process.execPath, ...args.map(local)], env, image: [node, ...args].join(' ') };
}
const IMAGE = imageCommand();

/** The Multus release of the peer: the Dockerfile's `ARG MULTUS_VERSION` (the one place it is named), or MULTUS_VERSION. */
function multusVersion() {
  if (process.env.MULTUS_VERSION) return process.env.MULTUS_VERSION;
  const line = fs.readFileSync(path.join(REPO, 'Dockerfile'), 'utf8').split('\n').find((l) => l.startsWith('ARG MULTUS_VERSION='));
  const version = line?.slice('ARG MULTUS_VERSION='.length).trim();
  if (!version) throw new Error(`${path.join(REPO, 'Dockerfile')}: no ARG MULTUS_VERSION=<version> line`);
  return version;
}
const COMMAND = process.env.BENCH_THIS_BIN ? path.resolve(process.env.BENCH_THIS_BIN) : IMAGE.argv[1];
const SA_PATH = '/var/run/secrets/kubernetes.io/serviceaccount'; // thin_entrypoint hard-codes it

// ---------------------------------------------------------------- settings
const envFlag = (name) => /^(1|true|yes|on)$/i.test(process.env[name] ?? '');
const envNum = (name, dflt) => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}=${raw}: not a positive number`);
  return n;
};
const QUICK = envFlag('BENCH_QUICK');
const RUNS = Math.round(envNum('BENCH_RUNS', QUICK ? 3 : 10));
const IDLE_S = envNum('BENCH_IDLE_S', QUICK ? 5 : 20);
const REACT_EDITS = QUICK ? 3 : 5; // per run
const REACT_ROTATIONS = QUICK ? 2 : 3; // per run
const CHURN_EDITS = 100;
const CHURN_ROTATIONS = 10;
const CHURN_INTERVAL_MS = 20;
const BIN_MB = 50;
const MEM_LIMIT = 50 * 1024 * 1024;
const CPU_QUOTA_US = 10_000;
const CPU_PERIOD_US = 100_000;
const POLL_MS = 2; // file-completion polling in this process
const SAMPLE_MS = 20; // anonymous-memory sampling
const SETTLE_MS = 1000; // after config, before the next phase
const REACT_TIMEOUT_MS = 5000;
const START_TIMEOUT_MS = 60_000;
const KEEP = envFlag('BENCH_KEEP');
const WARM_CACHE = (process.env.BENCH_COMPILE_CACHE ?? 'cold') === 'warm';
const ONLY = process.env.BENCH_ONLY;
const MODE = process.env.BENCH_MODE ?? 'compare';
const PROGRAMS = ['this', 'thin', 'floor'].filter((p) => !ONLY || ONLY === p);
if (PROGRAMS.length === 0) throw new Error(`BENCH_ONLY=${ONLY}: use this, thin or floor`);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();
const log = (msg) => process.stderr.write(`bench: ${msg}\n`);

// ---------------------------------------------------------------- cleanup
// Everything this process creates is registered here and removed on any exit,
// Ctrl-C included: children (by pid), cgroups (rmdir), the temp dir.
const live = new Set(); // running instances
const cgroups = new Set(); // created cgroup objects
const extraDirs = []; // cgroup parent dirs (v2), removed last
let baseDir;
let cleaning;

async function cleanupAll() {
  if (cleaning) return cleaning;
  cleaning = (async () => {
    for (const inst of live) {
      try { inst.child.kill('SIGKILL'); } catch { /* gone */ }
    }
    await Promise.race([Promise.all([...live].map((i) => i.exited)), sleep(3000)]);
    for (const cg of cgroups) await cg.remove();
    for (const d of extraDirs.reverse()) rmdirRetry(d);
    if (baseDir && !KEEP) fs.rmSync(baseDir, { recursive: true, force: true });
    if (baseDir && KEEP) log(`kept ${baseDir}`);
  })();
  return cleaning;
}

function syncCleanupOnExit() {
  // Last resort if the process exits without the async cleanup having run.
  if (cleaning) return;
  for (const inst of live) { try { inst.child.kill('SIGKILL'); } catch { /* gone */ } }
  for (const cg of cgroups) for (const d of cg.dirs) { try { fs.rmdirSync(d); } catch { /* busy or gone */ } }
  for (const d of extraDirs) { try { fs.rmdirSync(d); } catch { /* busy or gone */ } }
  if (baseDir && !KEEP) fs.rmSync(baseDir, { recursive: true, force: true });
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    log(`${sig}: stopping, cleaning up`);
    void cleanupAll().finally(() => process.exit(130));
  });
}
process.on('exit', syncCleanupOnExit);

function rmdirRetry(dir) {
  for (let i = 0; i < 50; i++) {
    try { fs.rmdirSync(dir); return true; } catch (err) {
      if (err.code === 'ENOENT') return true;
      if (err.code !== 'EBUSY') return false;
      execFileSync('sleep', ['0.05']);
    }
  }
  return false;
}

// ---------------------------------------------------------------- cgroups
function readKeyed(file) {
  const out = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k) out[k] = Number(v);
  }
  return out;
}
const tryWrite = (file, value) => { try { fs.writeFileSync(file, String(value)); return true; } catch { return false; } };

function detectCgroups() {
  const mounts = fs.readFileSync('/proc/self/mounts', 'utf8').trim().split('\n').map((l) => l.split(' '));
  if (mounts.some((m) => m[2] === 'cgroup2' && m[1] === '/sys/fs/cgroup')) {
    return { version: 2, root: '/sys/fs/cgroup' };
  }
  const v1 = mounts.filter((m) => m[2] === 'cgroup');
  const find = (ctl) => v1.find((m) => m[3].split(',').includes(ctl))?.[1];
  const info = { version: 1, memory: find('memory'), cpu: find('cpu'), cpuacct: find('cpuacct') };
  if (!info.memory || !info.cpu || !info.cpuacct) {
    throw new Error('no usable cgroup: neither cgroup2 at /sys/fs/cgroup nor v1 memory, cpu and cpuacct hierarchies');
  }
  return info;
}

let cgSeq = 0;
class CgroupV1 {
  constructor(info, name) {
    this.mem = path.join(info.memory, name);
    this.cpu = path.join(info.cpu, name);
    this.acct = path.join(info.cpuacct, name);
    this.dirs = [...new Set([this.mem, this.cpu, this.acct])];
  }
  create() {
    for (const d of this.dirs) fs.mkdirSync(d);
    cgroups.add(this);
    fs.writeFileSync(path.join(this.mem, 'memory.limit_in_bytes'), String(MEM_LIMIT));
    tryWrite(path.join(this.mem, 'memory.memsw.limit_in_bytes'), MEM_LIMIT); // no swap headroom, if accounted
    tryWrite(path.join(this.mem, 'memory.swappiness'), 0);
    fs.writeFileSync(path.join(this.cpu, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
    fs.writeFileSync(path.join(this.cpu, 'cpu.cfs_quota_us'), String(CPU_QUOTA_US));
  }
  get procsFiles() { return this.dirs.map((d) => path.join(d, 'cgroup.procs')); }
  anonBytes() { return readKeyed(path.join(this.mem, 'memory.stat')).rss ?? 0; }
  cpuUsageUs() { return Number(fs.readFileSync(path.join(this.acct, 'cpuacct.usage'), 'utf8')) / 1000; }
  throttled() {
    const s = readKeyed(path.join(this.cpu, 'cpu.stat'));
    return { periods: s.nr_throttled ?? 0, ms: (s.throttled_time ?? 0) / 1e6 };
  }
  totalPeakBytes() { return Number(fs.readFileSync(path.join(this.mem, 'memory.max_usage_in_bytes'), 'utf8')); }
  oomKilled() {
    const o = readKeyed(path.join(this.mem, 'memory.oom_control'));
    return (o.oom_kill ?? 0) > 0 || o.under_oom === 1;
  }
  async remove() {
    for (const d of this.dirs) {
      for (let i = 0; i < 40 && fs.existsSync(d); i++) {
        try { fs.rmdirSync(d); } catch (err) { if (err.code !== 'EBUSY') break; await sleep(50); }
      }
    }
    cgroups.delete(this);
  }
}

class CgroupV2 {
  static parent;
  static setUp(root) {
    // Controllers must be enabled down to the leaves; the parent holds no process.
    const parent = path.join(root, `multus-bench-${process.pid}`);
    fs.mkdirSync(parent);
    extraDirs.push(parent);
    const enable = (dir) => {
      const have = fs.readFileSync(path.join(dir, 'cgroup.subtree_control'), 'utf8');
      for (const c of ['memory', 'cpu']) {
        if (!have.split(/\s+/).includes(c)) fs.writeFileSync(path.join(dir, 'cgroup.subtree_control'), `+${c}`);
      }
    };
    try { enable(root); enable(parent); } catch (err) {
      throw new Error(`cannot enable the memory and cpu controllers under ${root} (${err.code ?? err.message}); run the bench where the cgroup v2 root delegates them`);
    }
    CgroupV2.parent = parent;
  }
  constructor(_info, name) {
    this.dir = path.join(CgroupV2.parent, name);
    this.dirs = [this.dir];
  }
  create() {
    fs.mkdirSync(this.dir);
    cgroups.add(this);
    fs.writeFileSync(path.join(this.dir, 'memory.max'), String(MEM_LIMIT));
    tryWrite(path.join(this.dir, 'memory.swap.max'), 0);
    fs.writeFileSync(path.join(this.dir, 'cpu.max'), `${CPU_QUOTA_US} ${CPU_PERIOD_US}`);
  }
  get procsFiles() { return [path.join(this.dir, 'cgroup.procs')]; }
  anonBytes() { return readKeyed(path.join(this.dir, 'memory.stat')).anon ?? 0; }
  cpuUsageUs() { return readKeyed(path.join(this.dir, 'cpu.stat')).usage_usec ?? 0; }
  throttled() {
    const s = readKeyed(path.join(this.dir, 'cpu.stat'));
    return { periods: s.nr_throttled ?? 0, ms: (s.throttled_usec ?? 0) / 1000 };
  }
  totalPeakBytes() {
    try { return Number(fs.readFileSync(path.join(this.dir, 'memory.peak'), 'utf8')); } catch { return NaN; }
  }
  oomKilled() { return (readKeyed(path.join(this.dir, 'memory.events')).oom_kill ?? 0) > 0; }
  async remove() {
    for (let i = 0; i < 40 && fs.existsSync(this.dir); i++) {
      try { fs.rmdirSync(this.dir); } catch (err) { if (err.code !== 'EBUSY') break; await sleep(50); }
    }
    cgroups.delete(this);
  }
}

let CG;
function newCgroup(label) {
  const name = `multus-bench-${process.pid}-${++cgSeq}-${label}`.replace(/[^A-Za-z0-9._-]/g, '_');
  const cg = CG.version === 2 ? new CgroupV2(CG, name) : new CgroupV1(CG, name);
  cg.create();
  return cg;
}

// ---------------------------------------------------------------- SA mount
// thin_entrypoint reads /var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt}
// with no flag to move it. Both programs run in a private mount namespace
// where the run's SA dir is bind-mounted on that path, so both read the same
// kind of dir through the same path. If the path does not exist on this
// machine, a small tmpfs is mounted (inside the namespace only) on its deepest
// existing ancestor to hold the mount point; nothing changes on the host.
function saMountPlan() {
  let p = SA_PATH;
  const missing = [];
  while (!fs.existsSync(p)) { missing.unshift(path.basename(p)); p = path.dirname(p); }
  return missing.length === 0 ? { tmpfsAt: '', rest: '' } : { tmpfsAt: fs.realpathSync(p), rest: missing.join('/') };
}

const WRAPPER = [
  'set -e',
  'sa=$1; tmpfs_at=$2; rest=$3; ro=$4; n=$5; shift 5',
  'if [ -n "$tmpfs_at" ]; then mount -t tmpfs -o mode=0755,size=1m bench-sa "$tmpfs_at"; mkdir -p "$tmpfs_at/$rest"; fi',
  `mount --bind "$sa" ${SA_PATH}`,
  // The program's own files, read-only as in a pod with readOnlyRootFilesystem.
  'if [ -n "$ro" ]; then mount --bind "$ro" "$ro"; mount -o remount,bind,ro "$ro"; fi',
  'while [ "$n" -gt 0 ]; do echo $$ > "$1"; shift; n=$((n-1)); done',
  'exec "$@"',
].join('\n');

// ---------------------------------------------------------------- host roots
let sharedBinary;
let masterTemplate;

function makeSharedBinary() {
  const file = path.join(baseDir, 'multus-50MB');
  const fd = fs.openSync(file, 'w', 0o755);
  const chunk = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < BIN_MB; i++) { randomFillSync(chunk); fs.writeSync(fd, chunk); }
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  return file;
}

const marker = (n) => `g${String(n).padStart(6, '0')}`;

class HostRoot {
  constructor(label) {
    this.label = label;
    this.root = fs.mkdtempSync(path.join(baseDir, `${label}-`));
    this.confDir = path.join(this.root, 'etc/cni/net.d');
    this.binDir = path.join(this.root, 'opt/cni/bin');
    this.multusCniConfDir = path.join(this.root, 'etc/cni/multus/net.d');
    this.saDir = path.join(this.root, 'serviceaccount');
    this.srcBinary = path.join(this.root, 'usr/src/multus-cni/bin/multus');
    this.masterPath = path.join(this.confDir, '10-flannel.conflist');
    this.kubeconfig = path.join(this.confDir, 'multus.d/multus.kubeconfig');
    this.confOut = path.join(this.confDir, '00-multus.conf'); // master cniVersion 0.3.1 -> .conf for both
    this.tmpSeq = 0;
    this.generation = 0;
    this.tokenSeq = 0;
    for (const d of [this.confDir, this.binDir, path.dirname(this.srcBinary)]) fs.mkdirSync(d, { recursive: true });
    fs.linkSync(sharedBinary, this.srcBinary); // same 50 MB random file, no copy
    this.writeMaster();
    this.rotate();
  }
  /** Replaces the master atomically (temp name the runtimes and both programs ignore). */
  writeMaster() {
    this.generation++;
    const master = { ...masterTemplate, benchGeneration: marker(this.generation) };
    const tmp = path.join(this.confDir, '.bench-master.tmp');
    fs.writeFileSync(tmp, `${JSON.stringify(master, null, 2)}\n`);
    fs.renameSync(tmp, this.masterPath);
    return marker(this.generation);
  }
  get currentMarker() { return marker(this.generation); }
  /** Kubelet-style projected volume update: new timestamped dir, "..data" renamed over. */
  rotate() {
    this.tokenSeq++;
    this.token = `bench-token-${String(this.tokenSeq).padStart(4, '0')}-${randomBytes(8).toString('hex')}`;
    const sa = this.saDir;
    fs.mkdirSync(sa, { recursive: true });
    const stamp = `..${new Date().toISOString().replace(/[-:.TZ]/g, '_')}${randomBytes(3).toString('hex')}`;
    fs.mkdirSync(path.join(sa, stamp));
    fs.writeFileSync(path.join(sa, stamp, 'token'), this.token);
    fs.writeFileSync(path.join(sa, stamp, 'ca.crt'), '-----BEGIN CERTIFICATE-----\nMIIBbenchFakeCA\n-----END CERTIFICATE-----\n');
    fs.writeFileSync(path.join(sa, stamp, 'namespace'), 'kube-system');
    let old;
    try { old = fs.readlinkSync(path.join(sa, '..data')); } catch { /* first */ }
    fs.symlinkSync(stamp, path.join(sa, '..data_tmp'));
    fs.renameSync(path.join(sa, '..data_tmp'), path.join(sa, '..data'));
    for (const name of ['token', 'ca.crt', 'namespace']) {
      try { fs.symlinkSync(path.join('..data', name), path.join(sa, name)); } catch { /* exists */ }
    }
    if (old) fs.rmSync(path.join(sa, old), { recursive: true, force: true });
    return this.token;
  }
  removeGenerated() {
    for (const f of [this.confOut, `${this.confOut}list`, this.kubeconfig]) fs.rmSync(f, { force: true });
  }
  freshTmp() {
    if (WARM_CACHE) return path.join(baseDir, 'shared-tmp');
    const d = path.join(this.root, `tmp-${++this.tmpSeq}`);
    fs.mkdirSync(d, { recursive: true });
    return d;
  }
  remove() { if (!KEEP) fs.rmSync(this.root, { recursive: true, force: true }); }
}

const readOr = (file) => { try { return fs.readFileSync(file, 'utf8'); } catch { return ''; } };
const confHas = (h, m) => {
  const text = readOr(h.confOut) || readOr(`${h.confOut}list`);
  return text.includes(`"${m}"`);
};
const kubeconfigHas = (h, token) => readOr(h.kubeconfig).includes(token);

// ---------------------------------------------------------------- programs
let THIN;
const dirFlags = (h) => [
  `--cni-bin-dir=${h.binDir}`, `--cni-conf-dir=${h.confDir}`, `--multus-autoconfig-dir=${h.confDir}`,
  `--multus-bin-file=${h.srcBinary}`, `--multus-cni-conf-dir=${h.multusCniConfDir}`,
];
function commandFor(prog, h) {
  const flags = dirFlags(h);
  // Thin watches only with --cleanup-config-on-exit; this program watches by
  // default and gets the stock args (its SA dir flag defaults to SA_PATH).
  if (prog === 'floor') return [process.execPath, FLOOR, ...flags];
  return prog === 'this' ? thisArgv(flags) : [THIN, ...flags, '--cleanup-config-on-exit'];
}

function thisArgv(args) {
  if (!process.env.BENCH_THIS_BIN) return [...IMAGE.argv, ...args];
  return COMMAND.endsWith('.blob')
    ? [process.execPath, '--snapshot-blob', COMMAND, '--', ...args]
    : [process.execPath, COMMAND, ...args];
}

function childEnv(h, prog, extra = {}) {
  const tmp = h ? h.freshTmp() : os.tmpdir();
  if (WARM_CACHE) fs.mkdirSync(tmp, { recursive: true });
  return {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    // Only written into the kubeconfig: neither program connects to it here
    // (no events, no token requests, no taint). Loopback all the same.
    KUBERNETES_SERVICE_HOST: '127.0.0.1',
    KUBERNETES_SERVICE_PORT: '6443',
    TMPDIR: tmp, // Node's compile cache lives in os.tmpdir(): cold per start, as in a new container
    ...(prog === 'this' && !process.env.BENCH_THIS_BIN ? IMAGE.env : {}),
    ...extra,
  };
}

/** Anonymous memory of a cgroup every SAMPLE_MS, peak kept per phase. */
function startSampler(cg) {
  const peaks = {};
  let phase = 'start';
  const sample = () => {
    try {
      const a = cg.anonBytes();
      if (a > (peaks[phase] ?? 0)) peaks[phase] = a;
    } catch { /* cgroup gone */ }
  };
  sample();
  const timer = setInterval(sample, SAMPLE_MS);
  return {
    mark(p) { sample(); phase = p; sample(); },
    peak(p) { return peaks[p] ?? 0; },
    peakAll() { return Math.max(0, ...Object.values(peaks)); },
    stop() { sample(); clearInterval(timer); },
  };
}

function launch(prog, h, label, argvOverride, envExtra) {
  const cg = newCgroup(`${prog}-${label}`);
  const logFile = path.join(h ? h.root : baseDir, `${prog}-${label}.log`);
  const fd = fs.openSync(logFile, 'a');
  const plan = saMountPlan();
  const cmd = argvOverride ?? commandFor(prog, h);
  const t0 = now();
  const ro = prog === 'this' && !process.env.BENCH_THIS_BIN ? path.join(REPO, 'dist') : '';
  const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', WRAPPER, 'bench-wrap',
    h ? h.saDir : baseDir, plan.tmpfsAt, plan.rest, ro, String(cg.procsFiles.length), ...cg.procsFiles, ...cmd],
  { env: childEnv(h, prog, envExtra), stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  const inst = { prog, h, cg, child, t0, logFile, exit: undefined, killedByUs: false };
  inst.exited = new Promise((resolve) => {
    child.on('error', (err) => { inst.exit = { code: null, signal: null, error: err.message, t: now() }; resolve(inst.exit); });
    child.on('exit', (code, signal) => { inst.exit = { code, signal, t: now() }; resolve(inst.exit); });
  });
  inst.sampler = startSampler(cg);
  live.add(inst);
  return inst;
}

/** Polls pred every POLL_MS; the time it first held, or null (timeout or process gone). */
async function waitUntil(pred, timeoutMs, inst) {
  const deadline = now() + timeoutMs;
  for (;;) {
    if (pred()) return now();
    if (now() > deadline || (inst && inst.exit)) return pred() ? now() : null;
    await sleep(POLL_MS);
  }
}

async function stop(inst) {
  inst.sampler.stop();
  if (!inst.exit) {
    inst.killedByUs = true;
    inst.child.kill('SIGTERM');
    const done = await Promise.race([inst.exited, sleep(15_000).then(() => undefined)]);
    if (!done) { inst.child.kill('SIGKILL'); await inst.exited; }
  }
  const oom = inst.cg.oomKilled() || (inst.exit.signal === 'SIGKILL' && !inst.killedByUs);
  const totalPeak = inst.cg.totalPeakBytes();
  live.delete(inst);
  await inst.cg.remove();
  return { oom, exit: inst.exit, totalPeak, diedEarly: !inst.killedByUs };
}

const tail = (file, n = 6) => readOr(file).trim().split('\n').slice(-n).join('\n    ');

// ---------------------------------------------------------------- statistics
const median = (xs) => {
  const v = xs.filter((x) => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const quantile = (xs, q) => {
  const v = xs.filter((x) => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  return v[Math.min(v.length - 1, Math.ceil(q * v.length) - 1)];
};
const round = (x, d = 1) => (x === null || x === undefined || !Number.isFinite(x) ? null : Math.round(x * 10 ** d) / 10 ** d);
const MiB = 1024 * 1024;

// ---------------------------------------------------------------- phases
function newSamples() {
  return {
    ttc: [], ttcInstalled: [], startCpu: [], startCpuInstalled: [], throttledStart: [],
    reactEdit: [], reactToken: [], reactCpu: [], idle: [], peakChurn: [], peakStart: [], peakInstalled: [],
    totalPeak: [], converge: [], oom: false, failures: [], exits: [],
  };
}

async function startAndWait(inst, s, key, cpuKey) {
  const h = inst.h;
  const t = await waitUntil(() => confHas(h, h.currentMarker) && kubeconfigHas(h, h.token), START_TIMEOUT_MS, inst);
  if (t === null) {
    s.failures.push(`${inst.prog} run ${h.label}: no config within ${START_TIMEOUT_MS / 1000} s${inst.exit ? ` (exited ${inst.exit.code ?? inst.exit.signal})` : ''}; log:\n    ${tail(inst.logFile)}`);
    s[key].push(null);
    return false;
  }
  s[key].push(t - inst.t0);
  s[cpuKey].push(inst.cg.cpuUsageUs() / 1000);
  if (key === 'ttc') s.throttledStart.push(inst.cg.throttled().ms);
  // Complete means parseable JSON and a whole kubeconfig, not just present.
  try { JSON.parse(readOr(h.confOut) || readOr(`${h.confOut}list`)); } catch { s.failures.push(`${inst.prog}: generated config does not parse`); }
  if (!readOr(h.kubeconfig).includes('current-context')) s.failures.push(`${inst.prog}: kubeconfig incomplete`);
  return true;
}

async function reactions(inst, s) {
  const h = inst.h;
  // A random pause (0-1 s) before each change so changes land at random
  // phases of thin's 1 s polling tick instead of right after it.
  for (let k = 0; k < REACT_EDITS; k++) {
    await sleep(Math.random() * 1000);
    const c0 = inst.cg.cpuUsageUs();
    const m = h.writeMaster();
    const t0 = now();
    const t = await waitUntil(() => confHas(h, m), REACT_TIMEOUT_MS, inst);
    s.reactEdit.push(t === null ? null : t - t0);
    if (t !== null) s.reactCpu.push((inst.cg.cpuUsageUs() - c0) / 1000);
  }
  for (let k = 0; k < REACT_ROTATIONS; k++) {
    await sleep(Math.random() * 1000);
    const c0 = inst.cg.cpuUsageUs();
    const token = h.rotate();
    const t0 = now();
    const t = await waitUntil(() => kubeconfigHas(h, token), REACT_TIMEOUT_MS, inst);
    s.reactToken.push(t === null ? null : t - t0);
    if (t !== null) s.reactCpu.push((inst.cg.cpuUsageUs() - c0) / 1000);
  }
}

async function churn(inst, s) {
  const h = inst.h;
  inst.sampler.mark('churn');
  const every = Math.round(CHURN_EDITS / CHURN_ROTATIONS);
  for (let e = 1; e <= CHURN_EDITS; e++) {
    h.writeMaster();
    if (e % every === 0) h.rotate();
    await sleep(CHURN_INTERVAL_MS);
  }
  const tEnd = now();
  const m = h.currentMarker;
  const token = h.token;
  const t = await waitUntil(() => confHas(h, m) && kubeconfigHas(h, token), 10_000, inst);
  s.converge.push(t === null ? null : t - tEnd);
  if (t === null) s.failures.push(`${inst.prog} run ${h.label}: did not converge to the last master edit and token after the churn`);
  await sleep(500); // a tail, still sampled as churn
  inst.sampler.mark('post');
  s.peakChurn.push(inst.sampler.peak('churn') / MiB);
}

function recordStop(inst, s, res) {
  if (res.oom) s.oom = true;
  s.exits.push(res.exit.code ?? res.exit.signal);
  if (Number.isFinite(res.totalPeak)) s.totalPeak.push(res.totalPeak / MiB);
  const done = inst.prog === 'floor' && res.exit.code === 0; // the floor exits when done
  if (res.diedEarly && !done) s.failures.push(`${inst.prog} ${path.basename(inst.logFile)} exited on its own (${res.exit.code ?? res.exit.signal}); log:\n    ${tail(inst.logFile)}`);
}

async function wrapperBaseline() {
  // spawn -> unshare -> mounts -> cgroup join -> exec /bin/true -> exit
  const xs = [];
  for (let i = 0; i < 5; i++) {
    const inst = launch('wrapper', undefined, `baseline${i}`, ['true']);
    await inst.exited;
    await stop(inst);
    if (inst.exit.code !== 0) {
      throw new Error(`the launch wrapper (unshare -m, mount, cgroup join) failed with ${inst.exit.code ?? inst.exit.signal ?? inst.exit.error}: ${tail(inst.logFile)}`);
    }
    xs.push(inst.exit.t - inst.t0);
  }
  return median(xs);
}

// ---------------------------------------------------------------- report
function summarize(s, runs) {
  return {
    time_to_config_ms: round(median(s.ttc)),
    time_to_config_installed_ms: round(median(s.ttcInstalled)),
    reaction_ms: { master_edit: round(median(s.reactEdit)), token_rotation: round(median(s.reactToken)) },
    idle_cpu_ms_per_s: round(median(s.idle), 3),
    peak_memory_mib: round(median(s.peakChurn)),
    oom_killed: s.oom,
    // Extra detail (not targets): spread, start-up cost, where memory went.
    reaction_p90_ms: { master_edit: round(quantile(s.reactEdit, 0.9)), token_rotation: round(quantile(s.reactToken, 0.9)) },
    reaction_missed: { master_edit: s.reactEdit.filter((x) => x === null).length, token_rotation: s.reactToken.filter((x) => x === null).length },
    peak_memory_max_mib: round(Math.max(0, ...s.peakChurn.filter(Number.isFinite))),
    peak_memory_start_mib: round(median(s.peakStart)),
    peak_memory_installed_start_mib: round(median(s.peakInstalled)),
    cgroup_total_peak_mib: round(median(s.totalPeak)),
    start_cpu_ms: round(median(s.startCpu)),
    start_cpu_installed_ms: round(median(s.startCpuInstalled)),
    start_throttled_ms: round(median(s.throttledStart)),
    reaction_cpu_ms: round(median(s.reactCpu)),
    churn_converge_ms: round(median(s.converge)),
    time_to_config_range_ms: [round(Math.min(...s.ttc.filter(Number.isFinite))), round(Math.max(...s.ttc.filter(Number.isFinite)))],
    runs,
    samples: { reaction_master_edit: s.reactEdit.length, reaction_token_rotation: s.reactToken.length },
    failures: s.failures.length,
  };
}

function summarizeFloor(s, runs) {
  return {
    time_to_config_ms: round(median(s.ttc)),
    time_to_config_installed_ms: round(median(s.ttcInstalled)),
    start_cpu_ms: round(median(s.startCpu)),
    start_cpu_installed_ms: round(median(s.startCpuInstalled)),
    peak_memory_start_mib: round(median(s.peakStart)),
    oom_killed: s.oom,
    runs,
    failures: s.failures.length,
  };
}

/** this/thin and this/floor for both starts; the target is <= 2.5x thin, or <= 1.25x the floor. */
function startRatios(res) {
  const r = (a, b) => (a && b ? round(a / b, 2) : null);
  const one = (key) => {
    const vsThin = r(res.this?.[key], res.thin?.[key]);
    const vsFloor = r(res.this?.[key], res.floor?.[key]);
    const met = vsThin === null && vsFloor === null ? null : (vsThin !== null && vsThin <= 2.5) || (vsFloor !== null && vsFloor <= 1.25);
    return { this_vs_thin: vsThin, this_vs_floor: vsFloor, floor_vs_thin: r(res.floor?.[key], res.thin?.[key]), target_met: met };
  };
  return { time_to_config: one('time_to_config_ms'), time_to_config_installed: one('time_to_config_installed_ms') };
}

function printTable(res, ratios) {
  const T = res.this ?? {};
  const H = res.thin ?? {};
  const F = res.floor ?? {};
  const fmt = (v) => (v === null || v === undefined ? '—' : typeof v === 'boolean' ? (v ? 'yes' : 'no') : String(v));
  const ok = (b) => (b === null ? '?' : b ? 'ok' : 'MISS');
  const le = (a, b, f = 1) => (a === null || b === null || a === undefined || b === undefined ? null : a <= b * f);
  const rows = [
    ['time_to_config_ms (50 MB install)', T.time_to_config_ms, H.time_to_config_ms, '<= 2.5x thin or 1.25x floor', ok(ratios.time_to_config.target_met)],
    ['  this/thin, this/floor, floor/thin', ratios.time_to_config.this_vs_thin, ratios.time_to_config.floor_vs_thin, `floor ${fmt(F.time_to_config_ms)} ms, this/floor ${fmt(ratios.time_to_config.this_vs_floor)}`, ''],
    ['time_to_config_installed_ms', T.time_to_config_installed_ms, H.time_to_config_installed_ms, '<= 2.5x thin or 1.25x floor', ok(ratios.time_to_config_installed.target_met)],
    ['  this/thin, this/floor, floor/thin', ratios.time_to_config_installed.this_vs_thin, ratios.time_to_config_installed.floor_vs_thin, `floor ${fmt(F.time_to_config_installed_ms)} ms, this/floor ${fmt(ratios.time_to_config_installed.this_vs_floor)}`, ''],
    ['  installed <= first install', T.time_to_config_installed_ms, T.time_to_config_ms, 'this: installed <= first', ok(le(T.time_to_config_installed_ms, T.time_to_config_ms))],
    ['reaction_ms master edit (median)', T.reaction_ms?.master_edit, H.reaction_ms?.master_edit, '<= thin, < 100', ok(le(T.reaction_ms?.master_edit, H.reaction_ms?.master_edit) === null ? null : le(T.reaction_ms?.master_edit, H.reaction_ms?.master_edit) && T.reaction_ms.master_edit < 100)],
    ['reaction_ms token rotation (median)', T.reaction_ms?.token_rotation, H.reaction_ms?.token_rotation, '<= thin, < 100', ok(T.reaction_ms?.token_rotation === null || T.reaction_ms?.token_rotation === undefined ? null : (H.reaction_ms?.token_rotation == null || T.reaction_ms.token_rotation <= H.reaction_ms.token_rotation) && T.reaction_ms.token_rotation < 100)],
    ['  reaction p90 master / token', `${fmt(T.reaction_p90_ms?.master_edit)} / ${fmt(T.reaction_p90_ms?.token_rotation)}`, `${fmt(H.reaction_p90_ms?.master_edit)} / ${fmt(H.reaction_p90_ms?.token_rotation)}`, '', ''],
    ['idle_cpu_ms_per_s', T.idle_cpu_ms_per_s, H.idle_cpu_ms_per_s, '<= thin', ok(le(T.idle_cpu_ms_per_s, H.idle_cpu_ms_per_s))],
    ['peak_memory_mib (anon, churn)', T.peak_memory_mib, H.peak_memory_mib, '< 40', ok(T.peak_memory_mib === null || T.peak_memory_mib === undefined ? null : T.peak_memory_max_mib < 40)],
    ['  max over runs (anon, churn)', T.peak_memory_max_mib, H.peak_memory_max_mib, '', ''],
    ['  anon peak, cold start + install', T.peak_memory_start_mib, H.peak_memory_start_mib, '', ''],
    ['  anon peak, start, installed', T.peak_memory_installed_start_mib, H.peak_memory_installed_start_mib, '', ''],
    ['  cgroup total peak (incl. cache)', T.cgroup_total_peak_mib, H.cgroup_total_peak_mib, '', ''],
    ['oom_killed', T.oom_killed, H.oom_killed, 'no', ok(T.oom_killed === undefined ? null : !T.oom_killed)],
    ['start_cpu_ms (CPU until config)', T.start_cpu_ms, H.start_cpu_ms, `floor ${fmt(F.start_cpu_ms)}`, ''],
    ['start_cpu_installed_ms', T.start_cpu_installed_ms, H.start_cpu_installed_ms, `floor ${fmt(F.start_cpu_installed_ms)}`, ''],
    ['start_throttled_ms (CFS)', T.start_throttled_ms, H.start_throttled_ms, '', ''],
    ['reaction_cpu_ms (CPU per change)', T.reaction_cpu_ms, H.reaction_cpu_ms, '', ''],
    ['churn_converge_ms', T.churn_converge_ms, H.churn_converge_ms, '', ''],
  ];
  const head = ['metric (medians)', 'this', 'thin', 'target (this)', ''];
  const all = [head, ...rows.map((r) => r.map(fmt))];
  const w = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd();
  process.stdout.write(`\n${line(head)}\n${w.map((n) => '-'.repeat(n)).join('  ')}\n${all.slice(1).map(line).join('\n')}\n\n`);
}

// ---------------------------------------------------------------- start-up breakdown
// Where the time to config goes: the same launch (cgroup, namespace, cold
// compile cache) for variants that each add one piece of work.
async function startupBreakdown(baseline) {
  const node = process.execPath;
  const flags = dirFlags;
  const thinFlags = (h) => commandFor('thin', h).slice(1);
  // The binary already installed (a copy, not a link: its own pages).
  const installed = (h) => fs.copyFileSync(h.srcBinary, path.join(h.binDir, 'multus'));
  // [name, program (for its limits and mounts), argv, until, before, extra env]
  const variants = [
    ['node -e 0 (Node boot)', 'node', () => [node, '-e', '0'], 'exit'],
    ['floor (50 MB copy + two files) = floor time_to_config', 'floor', (h) => commandFor('floor', h), 'config'],
    ['floor, binary installed (compare)', 'floor', (h) => commandFor('floor', h), 'config', installed],
    ['this --help (load + parse)', 'this', () => thisArgv(['--help']), 'exit'],
    ['this --help, code cache off', 'this', () => thisArgv(['--help']), 'exit', undefined, { MULTUS_ENTRYPOINT_CODE_CACHE: 'off' }],
    ['this --once --skip-multus-binary-copy', 'this', (h) => thisArgv([...flags(h), '--once', '--skip-multus-binary-copy']), 'config'],
    ['this --once (50 MB copy)', 'this', (h) => thisArgv([...flags(h), '--once']), 'config'],
    ['this watching, --skip-multus-binary-copy', 'this', (h) => thisArgv([...flags(h), '--skip-multus-binary-copy']), 'config'],
    ['this watching (50 MB copy) = time_to_config', 'this', (h) => thisArgv(flags(h)), 'config'],
    ['this watching, binary installed', 'this', (h) => thisArgv(flags(h)), 'config', installed],
    ['thin --skip-multus-binary-copy', 'thin', (h) => [THIN, ...thinFlags(h), '--skip-multus-binary-copy'], 'config'],
    ['thin (50 MB copy) = time_to_config', 'thin', (h) => [THIN, ...thinFlags(h)], 'config'],
    ['thin, binary installed', 'thin', (h) => [THIN, ...thinFlags(h)], 'config', installed],
    ['cp + sync -f of the 50 MB file (coreutils)', 'cp', (h) => ['sh', '-c', 'cp "$1" "$2" && sync -f "$2"', 'cp', h.srcBinary, path.join(h.binDir, 'cp-copy')], 'exit'],
  ].filter(([, prog]) => !ONLY || prog === ONLY || prog === 'node' || prog === 'cp');
  const rows = [];
  const data = variants.map(() => ({ wall: [], cpu: [], anon: [] }));
  let failed = 0;
  for (let i = 0; i < RUNS; i++) {
    for (let v = 0; v < variants.length; v++) {
      const [name, prog, argv, until, before, env] = variants[v];
      const h = new HostRoot(`startup${i}-${v}`);
      before?.(h);
      const inst = launch(prog, h, `v${v}`, argv(h), env);
      let t = null;
      if (until === 'exit') {
        await Promise.race([inst.exited, sleep(START_TIMEOUT_MS)]);
        t = inst.exit && inst.exit.code === 0 ? inst.exit.t : null;
      } else {
        t = await waitUntil(() => confHas(h, h.currentMarker) && kubeconfigHas(h, h.token), START_TIMEOUT_MS, inst);
      }
      const cpu = inst.cg.cpuUsageUs() / 1000;
      const anon = inst.sampler.peakAll() / MiB;
      await stop(inst);
      if (t === null) {
        failed++;
        log(`${name}: no result; log:\n    ${tail(inst.logFile)}`);
      }
      data[v].wall.push(t === null ? null : t - inst.t0);
      data[v].cpu.push(t === null ? null : cpu);
      data[v].anon.push(anon);
      h.remove();
    }
    log(`startup round ${i + 1}/${RUNS}`);
  }
  for (let v = 0; v < variants.length; v++) {
    rows.push({ variant: variants[v][0], wall_ms: round(median(data[v].wall)), cpu_ms: round(median(data[v].cpu)), anon_peak_mib: round(median(data[v].anon)) });
  }
  const w = Math.max(...rows.map((r) => r.variant.length));
  process.stdout.write(`\n${'variant'.padEnd(w)}  wall ms  CPU ms  anon MiB\n${'-'.repeat(w)}  -------  ------  --------\n`);
  for (const r of rows) process.stdout.write(`${r.variant.padEnd(w)}  ${String(r.wall_ms).padStart(7)}  ${String(r.cpu_ms).padStart(6)}  ${String(r.anon_peak_mib).padStart(8)}\n`);
  process.stdout.write(`\nmedians of ${RUNS} rounds; CPU is the cgroup's (cpuacct) at config time or exit; wall includes the launch wrapper (~${round(baseline)} ms); compile cache ${WARM_CACHE ? 'warm' : 'cold'}\n`);
  const at = (prefix) => rows.find((r) => r.variant.startsWith(prefix));
  const ratio = (a, b, k) => (at(a)?.[k] && at(b)?.[k] ? round(at(a)[k] / at(b)[k], 2) : null);
  const ratios = {
    first_install: { vs_thin_wall: ratio('this watching (50', 'thin (50', 'wall_ms'), vs_floor_wall: ratio('this watching (50', 'floor (50', 'wall_ms'), vs_floor_cpu: ratio('this watching (50', 'floor (50', 'cpu_ms') },
    installed: { vs_thin_wall: ratio('this watching, binary', 'thin, binary', 'wall_ms'), vs_floor_wall: ratio('this watching, binary', 'floor, binary', 'wall_ms'), vs_floor_cpu: ratio('this watching, binary', 'floor, binary', 'cpu_ms') },
  };
  process.stdout.write(`ratios (medians): ${JSON.stringify(ratios)}\n`);
  process.stdout.write(`STARTUP ${JSON.stringify({ rows, ratios, failed })}\n`);
  return failed;
}

// ---------------------------------------------------------------- main
async function main() {
  if (process.getuid?.() !== 0) throw new Error('the benchmark needs root (cgroups, mount namespaces)');
  if (Number(process.versions.node.split('.')[0]) !== 24) log(`warning: Node ${process.version}, the DaemonSet runs Node 24`);
  try {
    const [exe, ...args] = thisArgv(['--help']);
    execFileSync(exe, args, { stdio: 'ignore', timeout: 30_000 });
  } catch (err) {
    throw new Error(`${COMMAND} --help failed (${err.message}); is it built? \`npm run bench\` runs \`npm run build\` first`);
  }
  CG = detectCgroups();
  if (PROGRAMS.includes('thin') || MODE === 'startup') {
    THIN = process.env.BENCH_THIN;
    if (!THIN) {
      const cache = execFileSync('bash', [path.join(REPO, 'test/tools/build-components.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop();
      THIN = path.join(cache, `multus-${multusVersion()}`, 'thin_entrypoint');
    }
    if (!fs.existsSync(THIN)) throw new Error(`thin_entrypoint not found at ${THIN}`);
  }
  baseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'multus-bench-'));
  if (CG.version === 2) CgroupV2.setUp(CG.root);
  masterTemplate = JSON.parse(fs.readFileSync(path.join(REPO, 'test', 'fixtures', 'masters', '10-flannel.conflist'), 'utf8').toString());
  sharedBinary = makeSharedBinary();

  const machine = {
    nproc: os.availableParallelism(), kernel: os.release(), cgroup: `v${CG.version}`,
    cpu: os.cpus()[0]?.model ?? 'unknown', mem_total_mib: Math.round(os.totalmem() / MiB), node: process.version,
    tmpdir_fs: (() => { try { return execFileSync('stat', ['-f', '-c', '%T', baseDir], { encoding: 'utf8' }).trim(); } catch { return 'unknown'; } })(),
    commit: (() => {
      try {
        const head = execFileSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
        const dirty = execFileSync('git', ['-C', REPO, 'status', '--porcelain', '--', 'src', 'bin', 'package.json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
        return dirty ? `${head}+dirty` : head;
      } catch { return 'unknown'; }
    })(),
  };
  const plan = saMountPlan();
  log(`machine: ${JSON.stringify(machine)}`);
  log(`runs=${RUNS} idle=${IDLE_S}s reactions/run=${REACT_EDITS} edits + ${REACT_ROTATIONS} rotations, churn=${CHURN_EDITS} edits + ${CHURN_ROTATIONS} rotations every ${CHURN_INTERVAL_MS} ms, compile cache ${WARM_CACHE ? 'warm' : 'cold'}`);
  const baseline = await wrapperBaseline();
  log(`wrapper baseline (unshare + mounts + cgroup join + exec true): ${round(baseline)} ms`);

  if (MODE === 'startup') return (await startupBreakdown(baseline)) > 0 ? 1 : 0;
  if (MODE !== 'compare') throw new Error(`BENCH_MODE=${MODE}: use compare (default) or startup`);
  const S = Object.fromEntries(PROGRAMS.map((p) => [p, newSamples()]));
  const started = now();
  for (let i = 0; i < RUNS; i++) {
    const order = PROGRAMS.map((_, k) => PROGRAMS[(i + k) % PROGRAMS.length]);
    const insts = {};
    // 1. Cold start with a 50 MB binary to install, one program at a time
    //    (the others, once started, idle in their own cgroups; the floor
    //    exits when done).
    for (const p of order) {
      const h = new HostRoot(`run${i}-${p}`);
      const inst = launch(p, h, 'cold');
      insts[p] = inst;
      const ok = await startAndWait(inst, S[p], 'ttc', 'startCpu');
      if (!ok) continue;
      const installed = fs.statSync(path.join(h.binDir, 'multus'), { throwIfNoEntry: false });
      if (!installed || installed.size !== BIN_MB * MiB) S[p].failures.push(`${p}: installed binary has the wrong size`);
      if (p === 'floor') { await Promise.race([inst.exited, sleep(START_TIMEOUT_MS)]); continue; }
      await sleep(SETTLE_MS);
      inst.sampler.mark('idle');
      S[p].peakStart.push(inst.sampler.peak('start') / MiB);
    }
    // 2. Idle: both windows overlap in time; CPU is accounted per cgroup.
    const running = order.filter((p) => p !== 'floor' && insts[p] && !insts[p].exit && S[p].ttc.at(-1) !== null);
    const u0 = Object.fromEntries(running.map((p) => [p, insts[p].cg.cpuUsageUs()]));
    const tA = now();
    await sleep(IDLE_S * 1000);
    const tB = now();
    for (const p of running) S[p].idle.push((insts[p].cg.cpuUsageUs() - u0[p]) / 1000 / ((tB - tA) / 1000));
    // 3. Reactions, then 4. churn, one program at a time.
    for (const p of running) { insts[p].sampler.mark('react'); await reactions(insts[p], S[p]); }
    for (const p of running) await churn(insts[p], S[p]);
    for (const p of order) if (insts[p]) recordStop(insts[p], S[p], await stop(insts[p]));
    // 5. Start again on the same host root, binary already installed
    //    (generated files removed), alone.
    for (const p of order) {
      const h = insts[p].h;
      if (S[p].ttc.at(-1) === null) { h.remove(); continue; } // the cold start failed: nothing installed
      h.removeGenerated();
      const inst = launch(p, h, 'installed');
      if (await startAndWait(inst, S[p], 'ttcInstalled', 'startCpuInstalled')) {
        S[p].peakInstalled.push(inst.sampler.peakAll() / MiB);
        if (p === 'floor') await Promise.race([inst.exited, sleep(START_TIMEOUT_MS)]);
      }
      recordStop(inst, S[p], await stop(inst));
      h.remove();
    }
    const line = PROGRAMS.map((p) => `${p}: ttc ${round(S[p].ttc.at(-1))} ms, installed ${round(S[p].ttcInstalled.at(-1))} ms${p === 'floor' ? '' : `, idle ${round(S[p].idle.at(-1), 3)} ms/s, churn anon ${round(S[p].peakChurn.at(-1))} MiB`}`).join(' | ');
    log(`run ${i + 1}/${RUNS} (${Math.round((now() - started) / 1000)} s): ${line}`);
  }

  const results = Object.fromEntries(PROGRAMS.map((p) => [p, p === 'floor' ? summarizeFloor(S[p], RUNS) : summarize(S[p], RUNS)]));
  const ratios = startRatios(results);
  const notes = [
    `machine: ${machine.nproc} CPUs (${machine.cpu}), kernel ${machine.kernel}, cgroup ${machine.cgroup}, Node ${machine.node}, temp dirs on ${machine.tmpdir_fs}`,
    process.env.BENCH_THIS_BIN
      ? `this = node ${path.relative(REPO, COMMAND)} (BENCH_THIS_BIN) at ${machine.commit}; thin = ${THIN ?? '—'}`
      : `this = the image's ENTRYPOINT (${IMAGE.image}) run as ${IMAGE.argv.map((a) => (a.startsWith(REPO) ? path.relative(REPO, a) : a)).join(' ')}${Object.keys(IMAGE.env).length ? ` with ${Object.keys(IMAGE.env).join(', ')}` : ''}, dist/ read-only, at ${machine.commit}; thin = ${THIN ?? '—'}`,
    `floor = node ${path.relative(REPO, FLOOR)}: Node starting a script that installs the binary the same way (compare size then content in 256 KiB reads, or kernel copy to a temporary file + fsync + rename) and writes the two files (temporary file + fsync + rename), then exits`,
    `limits per process start: fresh cgroup, memory ${MEM_LIMIT / MiB} MiB, CPU quota ${CPU_QUOTA_US}/${CPU_PERIOD_US}`,
    `medians over ${RUNS} runs per program, alternating which starts first; reactions pooled (${REACT_EDITS} edits + ${REACT_ROTATIONS} rotations per run, each after a random 0-1 s pause)`,
    `thin runs with --cleanup-config-on-exit: without it thin_entrypoint ${multusVersion()} never watches; this program runs with the stock args (it watches by default)`,
    `both programs run in a private mount namespace (unshare -m --propagation private) with the run's kubelet-style SA dir bind-mounted on ${SA_PATH}${plan.tmpfsAt ? ` (a 1 MiB tmpfs on ${plan.tmpfsAt} inside the namespace holds the mount point)` : ''}: thin_entrypoint hard-codes that path`,
    `time_to_config includes the launch wrapper (unshare + mounts + cgroup join + exec), ~${round(baseline)} ms, the same for both`,
    `Node compile cache: ${WARM_CACHE ? 'shared across starts (warm)' : 'a fresh TMPDIR per start (cold, as in a new container)'}`,
    'peak_memory_mib: cgroup anonymous memory (v1 memory.stat rss / v2 anon) sampled every 20 ms during 100 master edits + 10 rotations at 20 ms intervals; cgroup_total_peak includes page cache',
    'idle windows of the two programs overlap in time (CPU is accounted per cgroup; 2 programs at <= 100m each) to keep the runtime down',
  ];
  if (results.thin && results.thin.reaction_ms.token_rotation === null) notes.push('thin never rewrote the kubeconfig after a token rotation: recorded null');
  for (const p of PROGRAMS) for (const f of S[p].failures.slice(0, 10)) notes.push(`${p} failure: ${f}`);
  for (const p of PROGRAMS) if (S[p].failures.length > 10) notes.push(`${p}: ${S[p].failures.length - 10} more failures`);
  printTable(results, ratios);
  for (const n of notes) process.stdout.write(`note: ${n}\n`);
  process.stdout.write(`total bench time ${Math.round((now() - started) / 1000)} s\n`);
  const bench = { ...results, ratios, machine, notes };
  process.stdout.write(`BENCH ${JSON.stringify(bench)}\n`);
  // A run that failed or was OOM-killed fails the bench; a missed target does not.
  const broken = PROGRAMS.filter((p) => S[p].failures.length > 0 || S[p].oom);
  if (broken.length) log(`failed runs: ${broken.map((p) => `${p} (${S[p].failures.length} failures${S[p].oom ? ', OOM-killed' : ''})`).join(', ')}`);
  return broken.length ? 1 : 0;
}

let exitCode = 0;
try {
  exitCode = (await main()) ?? 0;
} catch (err) {
  log(`failed: ${err.stack ?? err}`);
  exitCode = 1;
} finally {
  await cleanupAll();
}
process.exit(exitCode);
