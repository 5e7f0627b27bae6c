#!/usr/bin/env node
// Makes the V8 code caches bin/multus-entrypoint.js loads the bundles with:
// stamps dist/bundle/cli.cjs and dist/bundle/vendor/*.cjs with their hashes
// (once), then runs the program on a scratch host root in a temporary dir,
// as a pod starts: a first install serving /metrics (one scrape), a master
// edit and a token rotation it reacts to, SIGTERM; then a start with the
// binary already installed; then --help (commander). At exit each run
// writes the cache of every function it compiled, per bundle it loaded
// (MULTUS_ENTRYPOINT_CODE_CACHE=write). A cache is only valid for the node
// binary that made it: the build runs this with the node that runs the
// program (npm run build; the Dockerfile again in the runtime image, with
// its own node). execa (--restart-crio) gets none: training it would
// restart CRI-O.
//
//   node scripts/code-cache.cjs [app dir, default: this repository]
'use strict';
const { spawn } = require('node:child_process');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const app = path.resolve(process.argv[2] ?? path.join(__dirname, '..'));
const bundleDir = path.join(app, 'dist/bundle');
const entry = path.join(app, 'bin/multus-entrypoint.js');
const TIMEOUT_MS = 120_000; // the machine may be busy; a healthy run takes well under a second
const fail = (msg) => { process.stderr.write(`code-cache: ${msg}\n`); process.exit(1); };

// 1. Stamp: the loader finds a cache by this hash, so a rebuilt bundle
//    never meets a cache made for another one.
const bundles = ['cli.cjs', ...fs.readdirSync(path.join(bundleDir, 'vendor')).filter((f) => f.endsWith('.cjs')).map((f) => `vendor/${f}`)];
for (const name of bundles) {
  const file = path.join(bundleDir, name);
  let source = fs.readFileSync(file, 'utf8');
  // The loader reads the bundles as latin1 (no UTF-8 decoding): esbuild's
  // default charset keeps them ASCII.
  if (/[^\x00-\x7f]/.test(source)) fail(`${file}: not ASCII (was esbuild run with --charset=utf8?)`);
  if (!/\/\/# bundle-hash=[0-9a-f]+\n$/.test(source)) {
    const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
    source += `\n//# bundle-hash=${hash}\n`;
    fs.writeFileSync(file, source);
  }
}
const caches = () => bundles.flatMap((name) => {
  const dir = path.dirname(path.join(bundleDir, name));
  return fs.readdirSync(dir).filter((f) => f.startsWith(`${path.basename(name)}.`) && f.endsWith('.v8cache')).map((f) => path.join(dir, f));
});
for (const f of caches()) fs.rmSync(f);

// 2. A scratch host root.
fs.mkdirSync(os.tmpdir(), { recursive: true }); // a bare build image may lack /tmp
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'multus-code-cache-'));
const at = (p) => path.join(root, p);
for (const d of ['net.d', 'bin', 'sa', 'multus-net.d']) fs.mkdirSync(at(d));
const master = {
  cniVersion: '0.3.1', name: 'cbr0',
  plugins: [{ type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } }, { type: 'portmap', capabilities: { portMappings: true } }],
};
const writeMaster = () => {
  fs.writeFileSync(at('net.d/.master.tmp'), JSON.stringify(master, null, 2));
  fs.renameSync(at('net.d/.master.tmp'), at('net.d/10-flannel.conflist'));
};
let tokens = 0;
const rotate = () => {
  // Written in place: the program re-reads the token on the directory event.
  fs.writeFileSync(at('sa/token'), `code-cache-training-token-${++tokens}`);
};
writeMaster();
rotate();
fs.writeFileSync(at('sa/ca.crt'), '-----BEGIN CERTIFICATE-----\nMIIBtraining\n-----END CERTIFICATE-----\n');
fs.writeFileSync(at('sa/namespace'), 'kube-system');
fs.writeFileSync(at('multus'), Buffer.alloc(1024 * 1024, 1));
const flags = [
  `--cni-bin-dir=${at('bin')}`, `--cni-conf-dir=${at('net.d')}`, `--multus-autoconfig-dir=${at('net.d')}`,
  `--multus-bin-file=${at('multus')}`, `--multus-cni-conf-dir=${at('multus-net.d')}`, `--service-account-dir=${at('sa')}`,
];
const env = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: '6443',
  MULTUS_ENTRYPOINT_CODE_CACHE: 'write',
};
const read = (p) => { try { return fs.readFileSync(at(p), 'utf8'); } catch { return ''; } };
const conf = () => read('net.d/00-multus.conf');
const kubeconfig = () => read('net.d/multus.d/multus.kubeconfig');

/** A free TCP port on loopback, for --health-port. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** GET /metrics until the server answers 200 (it starts once the config is written). */
async function scrape(port, child) {
  const get = () => new Promise((resolve) => {
    http.get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); })
      .on('error', () => resolve(0));
  });
  let status = 0;
  await until('/metrics', () => status === 200, child, async () => { status = await get(); });
}

async function until(what, pred, child, poll = async () => undefined) {
  const deadline = Date.now() + TIMEOUT_MS;
  while (!pred()) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the program exited before ${what}`);
    if (Date.now() > deadline) throw new Error(`no ${what} within ${TIMEOUT_MS / 1000} s`);
    await poll();
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** What the loader said about each bundle's cache: { 'cli.cjs': 'used', ... }. */
const cacheSaid = (stderr) => Object.fromEntries([...stderr.matchAll(/^code cache: (\S+): (\w+)$/gm)].map((m) => [m[1], m[2]]));

function spawnProgram(args) {
  const child = spawn(process.execPath, [entry, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.on('data', (c) => { child.said += c; });
  child.said = '';
  child.exited = new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? signal)));
  return child;
}

async function run(label, expectCache) {
  const port = await freePort();
  const child = spawnProgram([...flags, `--health-port=${port}`]);
  try {
    await until('config', () => conf().includes('"cbr0"') && kubeconfig().includes(`token-${tokens}`), child);
    await scrape(port, child);
    master.plugins[0].delegate.hairpinMode = !master.plugins[0].delegate.hairpinMode;
    writeMaster();
    await until('reaction to a master edit', () => conf().includes(`"hairpinMode": ${master.plugins[0].delegate.hairpinMode}`), child);
    rotate();
    await until('reaction to a token rotation', () => kubeconfig().includes(`token-${tokens}`), child);
  } catch (err) {
    child.kill('SIGKILL');
    await child.exited;
    throw new Error(`${label}: ${err.message}; stderr:\n${child.said}`);
  }
  child.kill('SIGTERM');
  const code = await child.exited;
  if (code !== 0) throw new Error(`${label}: exit ${code}; stderr:\n${child.said}`);
  const said = cacheSaid(child.said)['cli.cjs'];
  if (said !== expectCache) throw new Error(`${label}: the loader said the code cache of cli.cjs was ${said ?? '(nothing)'}, expected ${expectCache}`);
}

async function help() {
  const child = spawnProgram(['--help']);
  const code = await child.exited;
  if (code !== 0) throw new Error(`--help: exit ${code}; stderr:\n${child.said}`);
}

(async () => {
  try {
    await run('first install', 'none');
    fs.rmSync(at('net.d/00-multus.conf'));
    await run('start with the binary installed', 'used');
    await help();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  const made = caches();
  if (!made.some((f) => path.basename(f).startsWith('cli.cjs.'))) fail(`no code cache was written for ${path.join(bundleDir, 'cli.cjs')}`);
  const sizes = made.map((f) => `${path.relative(bundleDir, f)} (${Math.round(fs.statSync(f).size / 1024)} KiB)`);
  process.stderr.write(`code-cache: ${sizes.join(', ')} for node ${process.version}\n`);
})().catch((err) => fail(err.message));
