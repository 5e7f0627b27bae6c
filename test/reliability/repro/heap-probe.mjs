// Heap after full GC of a watching program (--jitless, inspector) while one
// kind of event repeats, 100 at a time: a reproduction of the soak's leak.
//   node test/reliability/repro/heap-probe.mjs idle|touch|same|rotate
// idle: nothing happens; touch: a .txt file in the autoconfig dir is
// rewritten (a wake-up with nothing to do); same: the service account is
// rewritten with the same token; rotate: a new token and CA each time.
// RELIABILITY_COMMAND=<other bin/multus-entrypoint.js> weighs another build.
// Found (build of 13481d1): idle flat; touch ~120 B and same ~300 B per
// event after warm-up (the Promise.race([trigger.wait(), stop]) of
// src/run/run.ts keeps a reaction on the never-settled stop promise per wake-up);
// rotate ~500 B (also src/observe/log.ts keeps every token ever seen to mask them).
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { heapAfterGc, hostAt, newRootDir, sleep, startProgram, FIXTURES, TOKEN, writeServiceAccount } from '../lib.js';
const mode = process.argv[2];
const root = await newRootDir('probe');
const h = hostAt(root);
for (const d of [h.confDir, h.binDir, join(root, 'image')]) await fsp.mkdir(d, { recursive: true });
await writeServiceAccount(h.saDir, TOKEN, 'CA-0\n');
await fsp.writeFile(h.srcBinary, '#!/bin/sh\n', { mode: 0o755 });
await fsp.copyFile(join(FIXTURES, 'masters/10-flannel.conflist'), join(h.confDir, '10-flannel.conflist'));
const p = startProgram([...h.args, '--resync-interval=3600'], h.env, { nodeFlags: ['--jitless', '--inspect=127.0.0.1:0'] });
await p.waitForLog(/watching for changes/, 30_000);
const ws = /Debugger listening on (ws:\/\/\S+)/.exec(p.stderr())[1];
const out = [];
for (let k = 0; k < 6; k++) {
  out.push(Math.round((await heapAfterGc(ws)) / 1024));
  for (let i = 0; i < 100; i++) {
    if (mode === 'same') await writeServiceAccount(h.saDir, TOKEN, 'CA-0\n');
    else if (mode === 'rotate') await writeServiceAccount(h.saDir, `${TOKEN}-${k}-${i}`, `CA-${k}-${i}\n`);
    else if (mode === 'touch') await fsp.writeFile(join(h.confDir, '99-other.txt'), String(i));
    else await sleep(10);
    await sleep(10);
  }
  await sleep(200);
}
// The first 100 events warm up (code, caches); growth is measured over the 400 after them.
console.log(`${mode}: heap after full GC (KiB, every 100 events) ${out.join(' ')}; ${Math.round(((out.at(-1) - out[1]) * 1024) / 400)} B per event after warm-up`);
p.child.kill('SIGKILL'); await fsp.rm(root, { recursive: true, force: true });
process.exit(0);
