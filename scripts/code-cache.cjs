#!/usr/bin/env node
// Makes the V8 code cache bin/multus-entrypoint.js loads the bundle with:
// stamps dist/bundle/cli.cjs with its hash (once), then runs the program
// twice on a scratch host root in a temporary dir, as a pod starts: a first
// install, a master edit and a token rotation it reacts to, SIGTERM; then a
// start with the binary already installed. At exit each run writes the
// cache of every function it compiled (MULTUS_ENTRYPOINT_CODE_CACHE=write).
// The cache is only valid for the node binary that made it: the build runs
// this with the node that runs the program (npm run build; the Dockerfile
// again in the runtime image, with its own node).
//
//   node scripts/code-cache.cjs [app dir, default: this repository]
'use strict';
const { spawn } = require('node:child_process');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const app = path.resolve(process.argv[2] ?? path.join(__dirname, '..'));
const bundle = path.join(app, 'dist/bundle/cli.cjs');
const entry = path.join(app, 'bin/multus-entrypoint.js');
const TIMEOUT_MS = 120_000; // the machine may be busy; a healthy run takes well under a second
const fail = (msg) => { process.stderr.write(`code-cache: ${msg}\n`); process.exit(1); };

// 1. Stamp: the loader finds the cache by this hash, so a rebuilt bundle
//    never meets a cache made for another one.
let source = fs.readFileSync(bundle, 'utf8');
// The loader reads the bundle as latin1 (no UTF-8 decoding): esbuild's
// default charset keeps it ASCII.
if (/[^\x00-\x7f]/.test(source)) fail(`${bundle}: not ASCII (was esbuild run with --charset=utf8?)`);
if (!/\/\/# bundle-hash=[0-9a-f]+\n$/.test(source)) {
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  source += `\n//# bundle-hash=${hash}\n`;
  fs.writeFileSync(bundle, source);
}
for (const f of fs.readdirSync(path.dirname(bundle))) {
  if (f.endsWith('.v8cache')) fs.rmSync(path.join(path.dirname(bundle), f));
}

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

async function until(what, pred, child) {
  const deadline = Date.now() + TIMEOUT_MS;
  while (!pred()) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the program exited before ${what}`);
    if (Date.now() > deadline) throw new Error(`no ${what} within ${TIMEOUT_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function run(label, expectCache) {
  let stderr = '';
  const child = spawn(process.execPath, [entry, ...flags], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.on('data', (c) => { stderr += c; });
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? signal)));
  try {
    await until('config', () => conf().includes('"cbr0"') && kubeconfig().includes(`token-${tokens}`), child);
    master.plugins[0].delegate.hairpinMode = !master.plugins[0].delegate.hairpinMode;
    writeMaster();
    await until('reaction to a master edit', () => conf().includes(`"hairpinMode": ${master.plugins[0].delegate.hairpinMode}`), child);
    rotate();
    await until('reaction to a token rotation', () => kubeconfig().includes(`token-${tokens}`), child);
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`${label}: ${err.message}; stderr:\n${stderr}`);
  }
  child.kill('SIGTERM');
  const code = await exited;
  if (code !== 0) throw new Error(`${label}: exit ${code}; stderr:\n${stderr}`);
  const said = /^code cache: (\w+)$/m.exec(stderr)?.[1];
  if (said !== expectCache) throw new Error(`${label}: the loader said the code cache was ${said ?? '(nothing)'}, expected ${expectCache}`);
}

(async () => {
  try {
    await run('first install', 'none');
    fs.rmSync(at('net.d/00-multus.conf'));
    await run('start with the binary installed', 'used');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  const made = fs.readdirSync(path.dirname(bundle)).filter((f) => f.endsWith('.v8cache'));
  if (made.length !== 1) fail(`expected one .v8cache next to ${bundle}, found ${made.length}`);
  const size = fs.statSync(path.join(path.dirname(bundle), made[0])).size;
  process.stderr.write(`code-cache: ${made[0]} (${Math.round(size / 1024)} KiB) for node ${process.version}\n`);
})().catch((err) => fail(err.message));
