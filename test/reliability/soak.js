// Rotation soak: the program watches while the service-account token and CA
// are rotated the kubelet's way ("..data" symlink swap) many times at random
// short intervals. Rotations come in bursts; after each burst the kubeconfig
// must hold that burst's last token and CA. Meanwhile every read of the
// kubeconfig must be a whole one, and the child's RSS is sampled.
//
// Then a leak probe: RSS cannot tell a slow leak from V8 growing its heap (or
// compiling more code) while nothing forces a collection, so a second run of
// the program, started with --jitless (no code generated, so the heap holds
// only data) and the inspector, is weighed after full GCs over more rotations.
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import {
  heapAfterGc, hostAt, leftoverTemps, mean, newRootDir, readKubeconfig, sleep, startProgram, FIXTURES, TOKEN,
  writeServiceAccount,
} from './lib.js';

/** Heap growth tolerated per rotation after a full GC, bytes. Masking every rotated token in logs costs ~90. */
const HEAP_BYTES_PER_ROTATION = 200;
const PROBE_WARMUP = 100;
const PROBE_ROTATIONS = 500;

async function rssKiB(pid) {
  const status = await fsp.readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return m ? Number(m[1]) : undefined;
}

/**
 * Rotates `count` times in bursts of 1-12 (0-10 ms apart); after each burst
 * waits up to 5 s for the kubeconfig to hold its last token and CA. Gives
 * how many rotations converged; faults go into `faults`.
 */
async function rotate(h, { count, rng, tokens, faults, label, afterBurst, afterRotation }) {
  let done = 0;
  let converged = 0;
  let slowest = 0;
  while (done < count && faults.length === 0) {
    const burst = Math.min(count - done, rng.int(1, 12));
    let token;
    let ca;
    for (let b = 0; b < burst; b++) {
      token = `${TOKEN}-${label}-${done + b}-${rng.hex(8)}`;
      ca = `-----BEGIN CERTIFICATE-----\nCA-${done + b}-${rng.hex(16)}\n-----END CERTIFICATE-----\n`;
      tokens.add(token);
      await writeServiceAccount(h.saDir, token, ca);
      await afterRotation?.();
      await sleep(rng.int(0, 10));
    }
    done += burst;
    const tb = performance.now();
    const want = Buffer.from(ca).toString('base64');
    let kc;
    for (;;) {
      kc = await readKubeconfig(h.kubeconfig);
      if (kc?.token === token && kc.ca === want) break;
      if (performance.now() - tb > 5_000) break;
      await sleep(5);
    }
    slowest = Math.max(slowest, performance.now() - tb);
    if (kc?.token === token && kc.ca === want) converged += burst;
    else faults.push(`after rotation ${done} (${label}) the kubeconfig did not hold the last token and CA within 5 s`);
    await afterBurst?.(done, burst);
  }
  return { done, converged, slowest };
}

async function startWatching(h, nodeFlags, log) {
  const p = startProgram([...h.args, '--resync-interval=3600'], h.env, { timeoutMs: 30 * 60_000, nodeFlags });
  if (await p.waitForLog(/watching for changes/, 30_000)) return p;
  p.child.kill('SIGKILL');
  log(`  FAIL the program did not start watching:\n${p.stderr()}`);
  return undefined;
}

/** SIGTERM, exit 0, and no token of the soak anywhere in the output. */
async function stop(p, tokens, faults) {
  p.child.kill('SIGTERM');
  const end = await p.exited;
  if (end.code !== 0) faults.push(`SIGTERM gave exit ${end.code ?? end.signal}`);
  if ([...tokens].some((t) => (end.stdout + end.stderr).includes(t))) faults.push('a token shows in the output');
  return end;
}

/** The leak probe: heap after full GC, --jitless, warm-up then PROBE_ROTATIONS rotations. */
async function leakProbe(h, { rng, tokens, faults, log }) {
  const p = await startWatching(h, ['--jitless', '--inspect=127.0.0.1:0'], log);
  if (!p) { faults.push('the leak probe did not start'); return; }
  const inspector = /Debugger listening on (ws:\/\/\S+)/.exec(p.stderr())?.[1];
  if (!inspector) {
    log('  leak probe: skipped, the inspector did not start');
    await stop(p, tokens, faults);
    return;
  }
  await rotate(h, { count: PROBE_WARMUP, rng, tokens, faults, label: 'warm' });
  const heap = [[0, await heapAfterGc(inspector)]];
  let next = 100;
  await rotate(h, {
    count: PROBE_ROTATIONS, rng, tokens, faults, label: 'probe',
    afterBurst: async (done) => { if (done >= next) { next += 100; heap.push([done, await heapAfterGc(inspector)]); } },
  });
  await stop(p, tokens, faults);
  const [[a0, h0], [a1, h1]] = [heap[0], heap.at(-1)];
  const perRotation = (h1 - h0) / Math.max(1, a1 - a0);
  log(`  leak probe (--jitless, after ${PROBE_WARMUP} warm-up rotations): heap after full GC (KiB) ${heap.map(([at, used]) => `${at}: ${(used / 1024).toFixed(0)}`).join(', ')}; `
    + `${perRotation >= 0 ? '+' : ''}${perRotation.toFixed(0)} bytes per rotation (allowed ${HEAP_BYTES_PER_ROTATION})`);
  if (perRotation > HEAP_BYTES_PER_ROTATION) faults.push(`the heap grows ${perRotation.toFixed(0)} bytes per rotation after a full GC (leak probe)`);
}

export async function soakPhase({ rotations, rng, log, keep }) {
  const root = await newRootDir('soak');
  const h = hostAt(root);
  for (const d of [h.confDir, h.binDir, join(root, 'image')]) await fsp.mkdir(d, { recursive: true });
  await writeServiceAccount(h.saDir, TOKEN, 'CA-0\n');
  await fsp.writeFile(h.srcBinary, '#!/bin/sh\necho fake multus\n', { mode: 0o755 });
  await fsp.copyFile(join(FIXTURES, 'masters/10-flannel.conflist'), join(h.confDir, '10-flannel.conflist'));

  const faults = [];
  const tokens = new Set([TOKEN]);
  const p = await startWatching(h, [], log);
  if (!p) return { ok: 0, total: rotations };

  // VmRSS is sampled at every rotation; a kubeconfig reader runs beside the rotations.
  const rss = [];
  let reads = 0;
  let stopping = false;
  const sampleRss = async () => { const v = await rssKiB(p.child.pid); if (v !== undefined) rss.push(v); };
  const reader = (async () => {
    while (!stopping) {
      const kc = await readKubeconfig(h.kubeconfig);
      reads++;
      if (kc === undefined) faults.push('the kubeconfig was absent during the soak');
      else if (kc.fault) faults.push(kc.fault);
      else if (!tokens.has(kc.token)) faults.push('the kubeconfig held a token never written');
      if (faults.length > 20) return;
      await sleep(rng.int(1, 10));
    }
  })();

  const t0 = performance.now();
  const { done, converged, slowest } = await rotate(h, { count: rotations, rng, tokens, faults, label: 'soak', afterRotation: sampleRss });
  const elapsed = (performance.now() - t0) / 1000;
  await sleep(300);
  stopping = true;
  await reader;

  if (!p.alive()) faults.push(`the program died: ${p.stderr().trim().split('\n').slice(-3).join(' | ')}`);
  const temps = await leftoverTemps(root);
  if (temps.length) faults.push(`temporary files left: ${temps.join(', ')}`);
  const kc = await readKubeconfig(h.kubeconfig);
  if (kc?.token !== [...tokens].at(-1)) faults.push('at the end the kubeconfig does not hold the last token');

  // Mean of the first 100 samples against the last 100 (halves when fewer than 200 rotations ran).
  const win = Math.max(1, Math.min(100, Math.floor(rss.length / 2)));
  const first100 = mean(rss.slice(0, win)) / 1024;
  const last100 = mean(rss.slice(-win)) / 1024;
  // Slack for V8 warming up and sizing its heap: 50 % + 10 MiB.
  const limit = first100 * 1.5 + 10;
  if (rss.length < Math.min(done, 2)) faults.push(`only ${rss.length} RSS samples`);
  else if (last100 > limit) faults.push(`RSS grew: first ${win} samples ${first100.toFixed(1)} MiB, last ${win} ${last100.toFixed(1)} MiB (limit ${limit.toFixed(1)})`);

  const end = await stop(p, tokens, faults);
  const rewrites = (end.stderr.match(/updated the kubeconfig/g) ?? []).length;
  const errors = end.stderr.split('\n').filter((l) => / ERROR /.test(l));
  log(`rotations: ${done} in ${elapsed.toFixed(1)} s, ${converged} converged (slowest burst ${Math.round(slowest)} ms), ${rewrites} kubeconfig rewrites, ${reads} kubeconfig reads, ${errors.length} ERROR lines`);
  const tenths = Array.from({ length: 10 }, (_, k) => mean(rss.slice(Math.floor((k * rss.length) / 10), Math.floor(((k + 1) * rss.length) / 10))) / 1024);
  log(`  RSS (VmRSS, ${rss.length} samples, one per rotation): first ${win} mean ${first100.toFixed(1)} MiB, last ${win} mean ${last100.toFixed(1)} MiB (limit ${limit.toFixed(1)}), max ${(Math.max(...rss) / 1024).toFixed(1)} MiB; by tenth: ${tenths.map((v) => v.toFixed(1)).join(' ')}`);
  for (const e of errors.slice(0, 3)) log(`  logged: ${e}`);

  if (faults.length === 0 && process.env.RELIABILITY_LEAK_PROBE !== '0') await leakProbe(h, { rng, tokens, faults, log });
  if (faults.length === 0) {
    const temps2 = await leftoverTemps(root);
    if (temps2.length) faults.push(`temporary files left after the leak probe: ${temps2.join(', ')}`);
  }

  for (const f of [...new Set(faults)].slice(0, 10)) log(`  FAIL ${f}`);
  if (keep && faults.length) log(`  kept: ${root}`);
  else await fsp.rm(root, { recursive: true, force: true });
  // A fault of the whole soak (a leak, a lost token, a torn read, a crash) fails every rotation.
  return { ok: faults.length ? 0 : converged, total: rotations };
}
