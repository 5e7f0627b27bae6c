// Crash consistency: SIGKILL at random instants, during the install (a
// multi-MB binary being copied, the config and kubeconfig being written) and
// during the watch loop's reactions (master edits, switches, token
// rotations, generated files deleted or changed by someone else). After each
// kill, what a runtime would read must be whole and either the old or the new
// state; a restart with --once must converge to the right files.
import { randomBytes } from 'node:crypto';
import { watch } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { jwt, NODE, startTokenApi } from './token-api.js';
import {
  configsParse, DIST, exists, INVALIDATED_CONFIG, hostAt, inParallel, leftoverTemps, makeRng, median, newRootDir, readKubeconfig, readOr,
  runProgram, sha256, sleep, startProgram, TEMP_PREFIX, FIXTURES, TOKEN, writeAtomic, writeServiceAccount,
} from './lib.js';

const { parseCommandLine } = await import(join(DIST, 'cli', 'command-line.js'));
const { renderMultusConfig } = await import(join(DIST, 'core', 'multus-config.js'));

const BIN_MIB = Number(process.env.RELIABILITY_BIN_MIB || 8);
const FLANNEL = await fsp.readFile(join(FIXTURES, 'masters/10-flannel.conflist'), 'utf8');
const CILIUM = await fsp.readFile(join(FIXTURES, 'masters/05-cilium.conflist'), 'utf8');
const PODMAN = await fsp.readFile(join(FIXTURES, 'masters/87-podman-bridge.conf'), 'utf8');
const CA0 = 'CA-0\n';

/** Byte order of names, as the runtimes (and the program) rank configs. */
const byteOrder = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b));

function versionAtLeast1(v) {
  const [a = 0] = v.split('.').map(Number);
  return a >= 1;
}

/**
 * What a restart must converge to, from the masters on disk (all valid by
 * construction): the first by byte order is the master; the expected bytes
 * come from the built renderer, and the semantics are checked on their own.
 */
function expectedConfig(masters, args, env) {
  const name = [...masters.keys()].sort(byteOrder)[0];
  const parsed = parseCommandLine(args, env);
  const master = JSON.parse(masters.get(name));
  const r = renderMultusConfig(name, master, parsed.options);
  return { master: name, masterJson: master, fileName: r.fileName, twinName: r.twinName, content: r.content };
}

/** Semantic check of a generated config against its master, independent of the renderer. */
function configMatchesMaster(text, masterJson, fileName) {
  let c;
  try { c = JSON.parse(text); } catch { return 'generated config does not parse'; }
  const conflist = versionAtLeast1(masterJson.cniVersion);
  if (conflist !== fileName.endsWith('.conflist')) return `wrong file kind ${fileName} for cniVersion ${masterJson.cniVersion}`;
  const plugin = conflist ? c.plugins?.[0] : c;
  if (plugin?.type !== 'multus') return 'generated config is not of type multus';
  if (!isDeepStrictEqual(plugin.delegates?.[0], masterJson)) return 'delegates[0] is not the master';
  return undefined;
}

// ---------------------------------------------------------------- fixtures

/** Shared inputs: two different binaries and the template of a node configured once. */
export async function makeFixtures(log) {
  const dir = await newRootDir('fixtures');
  const oldBin = join(dir, 'old.bin');
  const newBin = join(dir, 'new.bin');
  for (const p of [oldBin, newBin]) {
    const fh = await fsp.open(p, 'w', 0o755);
    for (let i = 0; i < BIN_MIB; i++) await fh.write(randomBytes(1024 * 1024));
    await fh.close();
  }
  const template = join(dir, 'template');
  const h = hostAt(template);
  for (const d of [h.confDir, h.binDir]) await fsp.mkdir(d, { recursive: true });
  await writeServiceAccount(h.saDir, TOKEN, CA0);
  await fsp.writeFile(join(h.confDir, '10-flannel.conflist'), FLANNEL);
  const args = withBinary(h, oldBin);
  const first = await runProgram([...args, '--once'], h.env);
  if (first.code !== 0) throw new Error(`the first run of the template failed (exit ${first.code}):\n${first.stderr}`);
  const oldConfig = await fsp.readFile(join(h.confDir, '00-multus.conf'), 'utf8');
  log(`fixtures: two ${BIN_MIB} MiB binaries and a configured template in ${dir}`);
  return { dir, oldBin, newBin, oldHash: await sha256(oldBin), newHash: await sha256(newBin), template, oldConfig };
}

function withBinary(h, bin) {
  return h.args.map((a) => (a.startsWith('--multus-bin-file=') ? `--multus-bin-file=${bin}` : a));
}

async function cloneTemplate(fx, tag, { fresh = false } = {}) {
  const root = await newRootDir(tag);
  await fsp.cp(fx.template, root, {
    recursive: true,
    verbatimSymlinks: true,
    filter: (src) => !fresh || !/\/(00-multus\.conf(list)?|multus\.d|multus)$/.test(src),
  });
  return hostAt(root);
}

// ---------------------------------------------------------------- shared checks

/** What must hold right after a kill, whatever instant it hit. */
async function checkAfterKill(h, { configs, tokens, binHashes, binMayBeAbsent, kubeconfigMayBeAbsent }) {
  const faults = [...await configsParse(h.confDir)];
  for (const name of ['00-multus.conf', '00-multus.conflist']) {
    const text = await readOr(join(h.confDir, name));
    if (text !== undefined && configs && !configs.has(text)) faults.push(`${name} is neither the old nor a new config: ${text.slice(0, 200)}`);
  }
  const kc = await readKubeconfig(h.kubeconfig);
  if (kc === undefined) {
    if (!kubeconfigMayBeAbsent) faults.push('the kubeconfig that existed before is gone');
  } else if (kc.fault) {
    faults.push(kc.fault);
  } else if (!tokens.includes(kc.token)) {
    faults.push('the kubeconfig holds a token never written');
  }
  const bin = join(h.binDir, 'multus');
  if (await exists(bin)) {
    const hash = await sha256(bin);
    if (!binHashes.includes(hash)) faults.push(`the installed binary is neither the old nor the new one (sha256 ${hash.slice(0, 12)})`);
  } else if (!binMayBeAbsent) {
    faults.push('the installed binary is gone');
  }
  return faults;
}

/** The restart with --once and what it must converge to. */
async function restartConverges(h, args, expected, { token: wanted, ca, binHash, renamed, env = h.env }) {
  const r = await runProgram([...args, '--once'], env, { timeoutMs: 30_000 });
  const faults = [];
  // A node-bound token is known only once the restart asked for it.
  const token = typeof wanted === 'function' ? wanted() : wanted;
  if (r.timedOut) faults.push('the restart did not finish within 30 s');
  else if (r.code !== 0) faults.push(`the restart exited ${r.code ?? r.signal}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  if (token === undefined) faults.push('no token was issued to the restart');
  if (r.stderr.includes('never-log-me') || r.stdout.includes('never-log-me')) faults.push('a token shows in the output');
  const text = await readOr(join(h.confDir, expected.fileName));
  if (text !== expected.content) faults.push(`${expected.fileName} is not the expected config${text === undefined ? ' (absent)' : ''}`);
  else {
    const semantic = configMatchesMaster(text, expected.masterJson, expected.fileName);
    if (semantic) faults.push(semantic);
    const mode = (await fsp.stat(join(h.confDir, expected.fileName))).mode & 0o777;
    if (mode !== 0o600) faults.push(`${expected.fileName} mode ${mode.toString(8)}`);
  }
  if (await exists(join(h.confDir, expected.twinName))) faults.push(`the stale twin ${expected.twinName} is still there`);
  const kc = await readKubeconfig(h.kubeconfig);
  if (!kc || kc.fault) faults.push(`kubeconfig: ${kc?.fault ?? 'absent'}`);
  else {
    if (kc.token !== token) faults.push('the kubeconfig does not hold the last token');
    if (kc.ca !== Buffer.from(ca).toString('base64')) faults.push('the kubeconfig does not hold the last CA');
    if (kc.server !== `${env.KUBERNETES_SERVICE_PROTOCOL ?? 'https'}://${env.KUBERNETES_SERVICE_HOST}:${env.KUBERNETES_SERVICE_PORT}`) faults.push(`wrong server ${kc.server}`);
    const mode = (await fsp.stat(h.kubeconfig)).mode & 0o777;
    if (mode !== 0o600) faults.push(`kubeconfig mode ${mode.toString(8)}`);
  }
  const bin = join(h.binDir, 'multus');
  if (!(await exists(bin)) || (await sha256(bin)) !== binHash) faults.push('the installed binary is not the new one');
  else if (((await fsp.stat(bin)).mode & 0o777) !== 0o755) faults.push('the installed binary is not mode 0755');
  if (renamed) {
    if (await exists(join(h.confDir, expected.master))) faults.push(`${expected.master} was not renamed (--rename-conf-file)`);
    if (!(await exists(join(h.confDir, `${expected.master}.old`)))) faults.push(`${expected.master}.old is missing (--rename-conf-file)`);
  }
  const temps = await leftoverTemps(h.root);
  if (temps.length) faults.push(`temporary files left: ${temps.join(', ')}`);
  return faults;
}

// ---------------------------------------------------------------- install kills

/**
 * Time from start to a configured node and to the binary's install (its
 * log line comes right after the rename), measured with as many runs at
 * once as the kills will have, without disturbing them; the copy itself is
 * timed here (copy + fsync of the same file, as many at once).
 */
async function calibrate(fx, width, log) {
  const runs = await inParallel(Array.from({ length: width * 2 }), width, async (_x, i) => {
    const h = await cloneTemplate(fx, `cal${i}`);
    await writeServiceAccount(h.saDir, `${TOKEN}-cal`, 'CA-cal\n');
    const t0 = performance.now();
    const p = startProgram([...withBinary(h, fx.newBin), '--resync-interval=3600'], h.env);
    const installed = await p.waitForLog(/installed the multus binary/, 30_000);
    const tInstalled = performance.now() - t0;
    const ok = await p.waitForLog(/the node is configured/, 30_000);
    const t = performance.now() - t0;
    p.child.kill('SIGKILL');
    await p.exited;
    await fsp.rm(h.root, { recursive: true, force: true });
    if (!ok || !installed) throw new Error(`calibration run did not configure the node:\n${p.stderr()}`);
    return { t, tInstalled };
  });
  const copies = await inParallel(Array.from({ length: width }), width, async (_x, i) => {
    const dest = join(fx.dir, `copy-${i}`);
    const t0 = performance.now();
    await fsp.copyFile(fx.newBin, dest);
    const copied = performance.now() - t0;
    const fh = await fsp.open(dest, 'r+');
    await fh.sync();
    await fh.close();
    const t = performance.now() - t0;
    await fsp.rm(dest);
    return { t, copied };
  });
  const tConf = median(runs.map((r) => r.t));
  const tInst = median(runs.map((r) => r.tInstalled));
  const tCopy = median(copies.map((c) => c.t));
  const tCopyOnly = median(copies.map((c) => c.copied));
  const whole = Math.min(400, Math.max(60, Math.round(tConf * 1.15)));
  const copy = Math.max(10, Math.round(tCopy * 1.3));
  const copyOnly = Math.max(2, Math.round(tCopyOnly * 1.5));
  log(`install kills: start to binary installed ${Math.round(tInst)} ms, to configured node ${Math.round(tConf)} ms (medians of ${runs.length}), copy ${tCopyOnly.toFixed(1)} ms + fsync ${Math.round(tCopy - tCopyOnly)} ms; `
    + `half the kills land uniformly in 0-${whole} ms after the start, a quarter in 0-${copyOnly} ms and a quarter in 0-${copy} ms after the binary's temporary file appears`);
  return { whole, copy, copyOnly };
}

async function installKill(fx, i, rng, windows, scope) {
  const variant = rng.pick(['upgrade', 'upgrade', 'fresh', 'rename']);
  const h = await cloneTemplate(fx, `ik${i}`, { fresh: variant === 'fresh' });
  scope.root = h.root;
  const token1 = `${TOKEN}-install-${i}`;
  const ca1 = `CA-install-${i}\n`;
  await writeServiceAccount(h.saDir, token1, ca1);
  const masters = new Map([['10-flannel.conflist', FLANNEL]]);
  const change = rng.pick(['conflist-switch', 'new-first', 'edit']);
  if (change === 'conflist-switch') masters.set('10-flannel.conflist', FLANNEL.replace('"0.3.1"', '"1.0.0"'));
  if (change === 'new-first') masters.set('05-cilium.conflist', CILIUM);
  if (change === 'edit') masters.set('10-flannel.conflist', FLANNEL.replace('"cbr0"', `"cbr-${i}"`));
  for (const [name, text] of masters) await writeAtomic(join(h.confDir, name), text);

  const args = [...withBinary(h, fx.newBin), '--resync-interval=3600', ...(variant === 'rename' ? ['--rename-conf-file'] : [])];
  const expected = expectedConfig(masters, args, h.env);
  // Odd runs aim at the copy: the kill comes a random time after the
  // temporary file appears (seen with inotify, which costs the child nothing).
  const aimAtCopy = i % 2 === 1;
  const watcher = aimAtCopy ? watch(h.binDir) : undefined;
  const tempSeen = new Promise((resolve) => watcher?.on('change', (_e, name) => { if (String(name).startsWith(TEMP_PREFIX)) resolve(); }));
  const t0 = performance.now();
  const p = startProgram(args, h.env);
  scope.program = p;
  if (aimAtCopy) {
    await Promise.race([tempSeen, p.waitForLog(/the node is configured/, 10_000)]);
    watcher.close();
  }
  const window = !aimAtCopy ? windows.whole : i % 4 === 1 ? windows.copyOnly : windows.copy;
  const killAt = (aimAtCopy ? performance.now() - t0 : 0) + rng.next() * window;
  await sleep(Math.max(0, killAt - (performance.now() - t0)));
  const wasAlive = p.alive();
  p.child.kill('SIGKILL');
  const end = await p.exited;

  // Where the kill landed, from what it left.
  const binNames = await fsp.readdir(h.binDir).catch(() => []);
  const temp = binNames.find((n) => n.startsWith(TEMP_PREFIX));
  const tempSize = temp ? (await fsp.stat(join(h.binDir, temp))).size : 0;
  const binNow = (await exists(join(h.binDir, 'multus'))) ? await sha256(join(h.binDir, 'multus')) : undefined;
  const configNow = await readOr(join(h.confDir, expected.fileName));
  const phase = !wasAlive || end.signal !== 'SIGKILL' ? 'after exit (no kill)'
    : temp ? (tempSize < BIN_MIB * 1024 * 1024 ? 'mid-binary-copy' : 'binary copied, fsync/rename pending')
      : binNow !== fx.newHash ? 'before the copy'
        : configNow !== expected.content ? 'binary installed, config pending'
          : variant === 'rename' && (await exists(join(h.confDir, expected.master))) ? 'config written, master rename pending'
            : 'all written';

  const faults = await checkAfterKill(h, {
    configs: new Set([fx.oldConfig, expected.content]),
    tokens: [TOKEN, token1],
    binHashes: [fx.oldHash, fx.newHash],
    binMayBeAbsent: variant === 'fresh',
    kubeconfigMayBeAbsent: variant === 'fresh',
  });
  if (variant === 'rename') {
    const both = (await exists(join(h.confDir, expected.master))) + (await exists(join(h.confDir, `${expected.master}.old`)));
    if (both !== 1) faults.push(`${both} of ${expected.master} and ${expected.master}.old exist`);
  }
  faults.push(...await restartConverges(h, args, expected, { token: token1, ca: ca1, binHash: fx.newHash, renamed: variant === 'rename' }));
  return { kind: 'install', i, variant: `${variant}${aimAtCopy ? ', aimed at the copy' : ''}`, change, killAt: Math.round(killAt), phase, faults, root: h.root };
}

// ---------------------------------------------------------------- reconcile kills

const EXTRA_MASTERS = { '01-a.conf': PODMAN, '05-cilium.conflist': CILIUM, '20-b.conflist': FLANNEL, '99-z.conf': PODMAN };

function editedMaster(name, text, n, rng) {
  const json = JSON.parse(text);
  json.cniVersion = rng.pick(['0.3.1', '0.4.0', '1.0.0', '1.1.0']);
  json.edit = n;
  return `${JSON.stringify(json, null, rng.pick([0, 2]))}\n`;
}

async function reconcileKill(fx, i, rng, scope) {
  const h = await cloneTemplate(fx, `rk${i}`);
  scope.root = h.root;
  const args = [...withBinary(h, fx.oldBin), rng.chance(0.3) ? '--resync-interval=1' : '--resync-interval=3600'];
  const masters = new Map([['10-flannel.conflist', FLANNEL]]);
  const tokens = [TOKEN];
  let ca = CA0;
  const p = startProgram(args, h.env);
  scope.program = p;
  if (!(await p.waitForLog(/watching for changes/, 30_000))) {
    p.child.kill('SIGKILL');
    return { kind: 'reconcile', i, phase: 'did not start', faults: [`the program did not start watching:\n${p.stderr()}`], root: h.root };
  }
  const configs = new Set([fx.oldConfig]);
  const ops = Array.from({ length: rng.int(1, 8) }, () => rng.next() * 400).sort((a, b) => a - b);
  const killAt = rng.next() * 400;
  const t0 = performance.now();
  const done = [];
  let lastOpAt = -1;
  for (const [n, at] of ops.entries()) {
    if (at >= killAt) break;
    await sleep(Math.max(0, at - (performance.now() - t0)));
    const op = rng.pick(['edit-master', 'edit-master', 'add-master', 'remove-master', 'rotate', 'rotate', 'delete-config', 'tamper-config', 'delete-kubeconfig', 'rm-multus.d']);
    if (op === 'edit-master') {
      const name = rng.pick([...masters.keys()]);
      masters.set(name, editedMaster(name, masters.get(name), n, rng));
      await writeAtomic(join(h.confDir, name), masters.get(name));
    } else if (op === 'add-master') {
      const name = rng.pick(Object.keys(EXTRA_MASTERS));
      masters.set(name, EXTRA_MASTERS[name]);
      await writeAtomic(join(h.confDir, name), EXTRA_MASTERS[name]);
    } else if (op === 'remove-master') {
      if (masters.size < 2) continue;
      const name = rng.pick([...masters.keys()]);
      masters.delete(name);
      await fsp.rm(join(h.confDir, name));
    } else if (op === 'rotate') {
      tokens.push(`${TOKEN}-r${i}-${n}`);
      ca = `CA-r${i}-${n}\n`;
      await writeServiceAccount(h.saDir, tokens.at(-1), ca);
    } else if (op === 'delete-config') {
      await fsp.rm(join(h.confDir, '00-multus.conf'), { force: true });
      await fsp.rm(join(h.confDir, '00-multus.conflist'), { force: true });
    } else if (op === 'tamper-config') {
      const name = (await exists(join(h.confDir, '00-multus.conflist'))) ? '00-multus.conflist' : '00-multus.conf';
      const text = `{"tampered": ${n}}\n`;
      configs.add(text);
      await writeAtomic(join(h.confDir, name), text);
    } else if (op === 'delete-kubeconfig') {
      await fsp.rm(h.kubeconfig, { force: true });
    } else if (op === 'rm-multus.d') {
      // The program may be writing into it meanwhile: retry on ENOTEMPTY.
      await fsp.rm(h.multusD, { recursive: true, force: true, maxRetries: 10, retryDelay: 2 });
    }
    done.push(op);
    lastOpAt = performance.now() - t0;
    // Any master content that was on disk may have been read and rendered (the
    // program lists, then reads): every such rendering is a legal outcome.
    for (const [name, text] of masters) configs.add(expectedConfig(new Map([[name, text]]), args, h.env).content);
  }
  await sleep(Math.max(0, killAt - (performance.now() - t0)));
  const sinceOp = lastOpAt < 0 ? Infinity : performance.now() - t0 - lastOpAt;
  p.child.kill('SIGKILL');
  await p.exited;
  const temps = await leftoverTemps(h.root);
  const phase = temps.length ? 'mid-write (temporary file present)' : sinceOp < 40 ? 'within 40 ms of an edit' : lastOpAt < 0 ? 'before any edit' : 'idle after edits';
  const faults = await checkAfterKill(h, {
    configs, tokens, binHashes: [fx.oldHash], binMayBeAbsent: false, kubeconfigMayBeAbsent: true,
  });
  const expected = expectedConfig(masters, args, h.env);
  faults.push(...await restartConverges(h, args, expected, { token: tokens.at(-1), ca, binHash: fx.oldHash, renamed: false }));
  return { kind: 'reconcile', i, ops: done, killAt: Math.round(killAt), phase, faults, root: h.root };
}

// ---------------------------------------------------------------- token renewal kills

/**
 * The kubeconfig carries a node-bound token (NODE_NAME set, a TokenRequest
 * stand-in that answers after a random delay). Killed during the first
 * request at start, or during renewals set off by rotations of the mounted
 * token: the kubeconfig must stay whole with a token that was mounted or
 * issued, and a restart must carry a freshly issued one.
 */
async function tokenKill(fx, i, rng, scope) {
  const h = await cloneTemplate(fx, `tk${i}`);
  scope.root = h.root;
  const api = await startTokenApi({ rng: makeRng(rng.int(0, 2 ** 31)) });
  scope.api = api;
  const mounted = [jwt({ pod: `multus-${i}`, node: NODE, tag: `mounted-${i}-0` })];
  api.accept(mounted[0]);
  let ca = `CA-token-${i}\n`;
  await writeServiceAccount(h.saDir, mounted[0], ca);
  const env = { ...h.env, NODE_NAME: NODE, KUBERNETES_SERVICE_PROTOCOL: 'http', KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(api.port) };
  const args = [...withBinary(h, fx.oldBin), '--resync-interval=3600', '--kubeconfig-token-expiration=600'];
  const when = rng.pick(['start', 'renewal', 'renewal']);
  const p = startProgram(args, env);
  scope.program = p;
  const t0 = performance.now();
  let killAt;
  if (when === 'start') {
    killAt = rng.next() * 400;
  } else {
    if (!(await p.waitForLog(/watching for changes/, 30_000))) {
      p.child.kill('SIGKILL');
      await api.close();
      return { kind: 'token', i, phase: 'did not start', faults: [`the program did not start watching:\n${p.stderr()}`], root: h.root };
    }
    // 1-3 rotations of the mounted token, each renewing the node-bound one at once.
    const rotations = rng.int(1, 3);
    killAt = performance.now() - t0 + rng.next() * 300;
    for (let n = 1; n <= rotations; n++) {
      await sleep(rng.next() * 80);
      if (performance.now() - t0 >= killAt) break;
      mounted.push(jwt({ pod: `multus-${i}`, node: NODE, tag: `mounted-${i}-${n}` }));
      api.accept(mounted.at(-1));
      ca = rng.chance(0.3) ? `CA-token-${i}-${n}\n` : ca;
      await writeServiceAccount(h.saDir, mounted.at(-1), ca);
    }
  }
  await sleep(Math.max(0, killAt - (performance.now() - t0)));
  const issuedBefore = api.issued.length;
  p.child.kill('SIGKILL');
  await p.exited;
  const kc = await readKubeconfig(h.kubeconfig);
  const phase = (await leftoverTemps(h.root)).length ? 'mid-write (temporary file present)'
    : kc && !kc.fault && api.issued.includes(kc.token) ? (kc.token === api.issued.at(-1) ? 'latest issued token written' : 'an older issued token written')
      : issuedBefore > 0 ? 'token issued, not yet written' : 'before any token was issued';
  const faults = await checkAfterKill(h, {
    configs: new Set([fx.oldConfig]),
    tokens: [TOKEN, ...mounted, ...api.issued],
    binHashes: [fx.oldHash],
    binMayBeAbsent: false,
    kubeconfigMayBeAbsent: false,
  });
  const expected = expectedConfig(new Map([['10-flannel.conflist', FLANNEL]]), args, env);
  const restart = await restartConverges(h, args, expected, { token: () => (api.issued.length > issuedBefore ? api.issued.at(-1) : undefined), ca, binHash: fx.oldHash, renamed: false, env });
  faults.push(...restart);
  await api.close();
  return { kind: 'token', i, variant: when, killAt: Math.round(killAt), phase, faults, root: h.root };
}

// ---------------------------------------------------------------- readiness wait kills

/**
 * Started with --readiness-indicator-file missing (its directory too) and a
 * changed master: killed while it waits, while the file appears (and maybe
 * goes again), or while it writes. Before the file ever existed the node
 * must hold its old config; after, the old or the new one. A restart with
 * the file present converges.
 */
async function readinessKill(fx, i, rng, scope) {
  const h = await cloneTemplate(fx, `rw${i}`);
  scope.root = h.root;
  const master = FLANNEL.replace('"cbr0"', `"cbr-ready-${i}"`);
  await writeAtomic(join(h.confDir, '10-flannel.conflist'), master);
  const indicator = join(h.root, 'run/flannel/subnet.env');
  const args = [...withBinary(h, fx.oldBin), '--resync-interval=3600', `--readiness-indicator-file=${indicator}`, ...(rng.chance(0.5) ? ['--cleanup-config-on-exit'] : [])];
  const p = startProgram(args, h.env);
  scope.program = p;
  if (!(await p.waitForLog(/waiting for the readiness indicator file/, 30_000))) {
    p.child.kill('SIGKILL');
    return { kind: 'readiness', i, phase: 'did not wait', faults: [`the program did not wait for the readiness indicator file:\n${p.stderr()}`], root: h.root };
  }
  const t0 = performance.now();
  const killAt = rng.next() * 400;
  const appearAt = rng.chance(0.75) ? rng.next() * 300 : Infinity;
  const goneAt = rng.chance(0.3) ? appearAt + rng.next() * 100 : Infinity;
  let appeared = false;
  for (const [at, op] of [[appearAt, 'appear'], [goneAt, 'gone']]) {
    if (at >= killAt) break;
    await sleep(Math.max(0, at - (performance.now() - t0)));
    if (op === 'appear') {
      await fsp.mkdir(join(h.root, 'run/flannel'), { recursive: true });
      await writeAtomic(indicator, 'FLANNEL_NETWORK=10.244.0.0/16\n');
      appeared = true;
    } else {
      await fsp.rm(indicator, { force: true });
    }
  }
  await sleep(Math.max(0, killAt - (performance.now() - t0)));
  p.child.kill('SIGKILL');
  await p.exited;
  const expected = expectedConfig(new Map([['10-flannel.conflist', master]]), args, h.env);
  const now = await readOr(join(h.confDir, '00-multus.conf'));
  const phase = !appeared ? 'waiting (the file never appeared)' : now === expected.content ? 'configured' : 'the file appeared, config pending';
  const faults = await checkAfterKill(h, {
    // The invalidated config is legal only once a config was written and the file went again, with --cleanup-config-on-exit.
    configs: new Set(appeared ? [fx.oldConfig, expected.content, ...(goneAt < killAt && args.includes('--cleanup-config-on-exit') ? [INVALIDATED_CONFIG] : [])] : [fx.oldConfig]),
    tokens: [TOKEN],
    binHashes: [fx.oldHash],
    binMayBeAbsent: false,
    kubeconfigMayBeAbsent: false,
  });
  await fsp.mkdir(join(h.root, 'run/flannel'), { recursive: true });
  await writeAtomic(indicator, 'FLANNEL_NETWORK=10.244.0.0/16\n');
  faults.push(...await restartConverges(h, args, expected, { token: TOKEN, ca: CA0, binHash: fx.oldHash, renamed: false }));
  return { kind: 'readiness', i, variant: appeared ? (goneAt < killAt ? 'appeared and went' : 'appeared') : 'never appeared', killAt: Math.round(killAt), phase, faults, root: h.root };
}

// ---------------------------------------------------------------- the phase

export async function killsPhase({ kills, width, rng, log, keep }) {
  const fx = await makeFixtures(log);
  // 35% install, 35% reconcile, 15% token renewal, 15% readiness wait.
  const nToken = Math.floor(kills * 0.15);
  const nReadiness = Math.floor(kills * 0.15);
  const nInstall = Math.ceil((kills - nToken - nReadiness) / 2);
  const nReconcile = kills - nToken - nReadiness - nInstall;
  const results = [];
  const finish = async (r) => {
    if (r.faults.length) {
      log(`  FAIL ${r.kind} kill #${r.i} at ${r.killAt} ms (${r.phase}${r.variant ? `, ${r.variant}/${r.change}` : ''}${r.ops ? `, ops ${r.ops.join(',')}` : ''}):\n    ${r.faults.join('\n    ')}${keep ? `\n    kept: ${r.root}` : ''}`);
    }
    // A leftover root is not a verdict on the program: never let cleanup end the phase.
    if (r.root && !(keep && r.faults.length)) await fsp.rm(r.root, { recursive: true, force: true, maxRetries: 10, retryDelay: 2 }).catch(() => undefined);
    results.push(r);
    return r;
  };
  /** A fault of the harness itself fails that run, not the phase; its program is killed, its root removed. */
  const guarded = (kind, run) => async (s, i) => {
    const scope = {};
    try {
      return await finish(await run(s, i, scope));
    } catch (err) {
      if (scope.program?.alive()) { scope.program.child.kill('SIGKILL'); await scope.program.exited; }
      await scope.api?.close().catch(() => undefined);
      return finish({ kind, i, phase: 'harness error', faults: [`harness: ${err.stack ?? err}`], root: scope.root });
    }
  };
  try {
    const windows = await calibrate(fx, width, log);
    const seeds = Array.from({ length: kills }, () => Math.floor(rng.next() * 2 ** 32));
    await inParallel(seeds.slice(0, nInstall), width, guarded('install', (s, i, scope) => installKill(fx, i, makeRng(s), windows, scope)));
    let at = nInstall;
    await inParallel(seeds.slice(at, at += nReconcile), width, guarded('reconcile', (s, i, scope) => reconcileKill(fx, i, makeRng(s), scope)));
    await inParallel(seeds.slice(at, at += nToken), width, guarded('token', (s, i, scope) => tokenKill(fx, i, makeRng(s), scope)));
    await inParallel(seeds.slice(at), width, guarded('readiness', (s, i, scope) => readinessKill(fx, i, makeRng(s), scope)));
  } finally {
    await fsp.rm(fx.dir, { recursive: true, force: true });
  }
  for (const kind of ['install', 'reconcile', 'token', 'readiness']) {
    const mine = results.filter((r) => r.kind === kind);
    const phases = {};
    for (const r of mine) phases[r.phase] = (phases[r.phase] ?? 0) + 1;
    log(`${kind} kills: ${mine.filter((r) => !r.faults.length).length}/${mine.length} consistent; landed: ${Object.entries(phases).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
  return { ok: results.filter((r) => !r.faults.length).length, total: results.length };
}
