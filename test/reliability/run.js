#!/usr/bin/env node
// The torture suite (npm run test:reliability, after npm run build): crash
// consistency under SIGKILL, a bad-input corpus, property-based fuzzing of
// the pure core, and a token-rotation soak. Ends with exactly one line:
//   reliability: kills N/N consistent; bad inputs N/N clear, K skipped; fuzz N/N; rotations N/N
// and a non-zero exit if anything failed. A bad-input case this machine
// cannot set up (no mount, no chattr) is skipped and counted in the total;
// under CI=true a skipped case fails the run. Knobs (environment):
//   RELIABILITY_SEED      seed of every random choice (default: time-based, printed)
//   RELIABILITY_QUICK=1   small counts (20 kills, 500 fuzz, 200 rotations) for a quick look
//   RELIABILITY_KILLS     crash runs: 35% install, 35% reconcile, 15% token renewal, 15% readiness wait (1000)
//   RELIABILITY_FUZZ      generated master configs (10000)
//   RELIABILITY_ROTATIONS token/CA rotations in the soak (1000)
//   RELIABILITY_PARALLEL  programs run at once in the crash and bad-input phases (4)
//   RELIABILITY_ONLY      comma list of phases: kills,bad,fuzz,soak (all)
//   RELIABILITY_BIN_MIB   size of the binary the install kills copy (8)
//   RELIABILITY_KEEP=1    keep the host roots of failed runs
//   RELIABILITY_VERBOSE=1 print every bad-input case's message
// As root it re-runs itself in a private mount namespace (unshare -m), so the
// read-only bind mounts and tiny tmpfs of the bad-input corpus never leak.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { skipFailsUnderCi } from '../ci.js';
import { COMMAND, makeRng, prepareCommand, probeAbilities } from './lib.js';

const self = fileURLToPath(import.meta.url);
if (process.getuid?.() === 0 && !process.env.RELIABILITY_IN_NS && !process.env.RELIABILITY_NO_NS
  && spawnSync('unshare', ['-m', '--propagation', 'private', 'true'], { stdio: 'ignore' }).status === 0) {
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', process.execPath, self, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, RELIABILITY_IN_NS: '1' },
  });
  process.exit(r.status ?? 1);
}

const num = (name, dflt) => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  if (!/^\d+$/.test(v)) { console.error(`${name}: "${v}" is not a whole number`); process.exit(2); }
  return Number(v);
};
const seed = num('RELIABILITY_SEED', Date.now() % 2 ** 31);
// RELIABILITY_QUICK=1: small counts for a quick look (about 30 s); each count can still be set on its own.
const quick = process.env.RELIABILITY_QUICK === '1';
const kills = num('RELIABILITY_KILLS', quick ? 20 : 1000);
const fuzzRuns = num('RELIABILITY_FUZZ', quick ? 500 : 10_000);
const rotations = num('RELIABILITY_ROTATIONS', quick ? 200 : 1000);
const width = Math.max(1, num('RELIABILITY_PARALLEL', 4));
const only = new Set((process.env.RELIABILITY_ONLY || 'kills,bad,fuzz,soak').split(',').map((s) => s.trim().replace(/^crash$/, 'kills')));
const keep = process.env.RELIABILITY_KEEP === '1';
const verbose = process.env.RELIABILITY_VERBOSE === '1';

const started = performance.now();
// The command and every built module are fixed now: a rebuild of the
// working tree during the run cannot change (or break) what is tested.
await prepareCommand();
const phases = {
  kills: await import('./kills.js'),
  bad: await import('./bad-inputs.js'),
  fuzz: await import('./fuzz.js'),
  soak: await import('./soak.js'),
};
const log = (line) => process.stderr.write(`${line}\n`);
const rng = makeRng(seed);
const abilities = await probeAbilities();
log(`reliability: seed ${seed} (RELIABILITY_SEED=${seed} repeats the random choices), node ${process.version}, ${width} at once; `
  + `root ${abilities.isRoot}, mount ${abilities.canMount}, chattr ${abilities.canChattr}, drop capabilities ${abilities.canDropCaps}`);
log(`command under test: ${COMMAND}${process.env.RELIABILITY_COMMAND ? '' : ' (a copy of bin/ and dist/bundle taken at the start)'}`);

const results = {};
let failed = false;
async function phase(key, planned, body) {
  if (!only.has(key)) { results[key] = { ok: 0, total: 0 }; return; }
  const t0 = performance.now();
  log(`--- ${key}`);
  try {
    results[key] = await body();
  } catch (err) {
    log(`  FAIL ${key}: the phase itself failed: ${err.stack ?? err}`);
    results[key] = { ok: 0, total: planned };
    failed = true;
  }
  const { ok, total, skipped = 0 } = results[key];
  if (ok + skipped !== total) failed = true;
  const ciFailure = skipped > 0 ? skipFailsUnderCi(`reliability ${key}`, `${skipped} case(s) skipped`) : undefined;
  if (ciFailure) {
    log(`  FAIL ${ciFailure}`);
    failed = true;
  }
  log(`--- ${key}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

// Each phase gets its own seed from the first, so skipping one does not change another.
const seeds = { kills: rng.int(0, 2 ** 31), bad: rng.int(0, 2 ** 31), fuzz: rng.int(0, 2 ** 31), soak: rng.int(0, 2 ** 31) };

await phase('kills', kills, () => phases.kills.killsPhase({ kills, width, rng: makeRng(seeds.kills), log, keep }));
await phase('bad', 0, () => phases.bad.badInputPhase({ abilities, width, log, verbose }));
await phase('fuzz', fuzzRuns, () => phases.fuzz.fuzzPhase({ runs: fuzzRuns, seed: seeds.fuzz, log }));
await phase('soak', rotations, () => phases.soak.soakPhase({ rotations, rng: makeRng(seeds.soak), log, keep }));

log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);
const r = (k) => `${results[k].ok}/${results[k].total}`;
process.stdout.write(`reliability: kills ${r('kills')} consistent; bad inputs ${r('bad')} clear, ${results.bad.skipped ?? 0} skipped; fuzz ${r('fuzz')}; rotations ${r('soak')}\n`);
process.exit(failed ? 1 : 0);
