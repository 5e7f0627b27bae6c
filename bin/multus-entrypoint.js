#!/usr/bin/env node
// The command. It runs dist/bundle/cli.cjs, the whole program in one
// CommonJS file (npm run build), compiled with the V8 code cache the build
// made for it by running the program (scripts/code-cache.cjs). Under the
// DaemonSet's 100m CPU quota, compiling the bundle afresh would cost more
// than the work it does. The cache holds the functions a start and a
// reaction ran, not only the top level, which Node's own compile cache
// (NODE_COMPILE_CACHE) keeps; it is only read, so a read-only root
// filesystem is fine. V8 checks it against its own version and flags and
// ignores it when they differ; the file name carries the bundle's hash, so
// a rebuilt bundle never meets an old cache. Without it, the bundle still
// runs, only slower.
//
// MULTUS_ENTRYPOINT_CODE_CACHE=write (the build only) writes the cache at
// exit and says on stderr whether the one found was used; =off ignores it.
'use strict';
const { readFileSync, renameSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { dirname, join } = require('node:path');
const { compileFunction } = require('node:vm');

const bundle = join(__dirname, '../dist/bundle/cli.cjs');
// latin1: esbuild writes ASCII only (its default charset), and a one-byte
// string is made without decoding UTF-8.
const source = readFileSync(bundle, 'latin1');
// The build ends the bundle with `//# bundle-hash=<hex>`.
const hash = /\/\/# bundle-hash=([0-9a-f]+)\n?$/.exec(source.slice(-100))?.[1];
const cacheFile = hash ? `${bundle}.${hash}.v8cache` : undefined;
const mode = process.env.MULTUS_ENTRYPOINT_CODE_CACHE;
let cachedData;
if (cacheFile && mode !== 'off') {
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    // No cache (a build without one): compile from source.
  }
}
// Compiled as the body of the CommonJS wrapper, as require() compiles a
// module. (A vm.Script made the same way arms V8's memory reducer: two
// full GCs some 10 s after start, a visible share of idle CPU at 100m.)
const params = ['exports', 'require', 'module', '__filename', '__dirname'];
const fn = compileFunction(source, params, { filename: bundle, cachedData });
if (mode === 'write' && cacheFile) {
  process.stderr.write(`code cache: ${cachedData ? (fn.cachedDataRejected ? 'rejected' : 'used') : 'none'}\n`);
  process.on('exit', () => {
    // Compiling the same text again in this process gets V8's compiled
    // function back, with every inner function this run compiled.
    const again = compileFunction(source, params, { filename: bundle, produceCachedData: true });
    writeFileSync(`${cacheFile}.tmp`, again.cachedData);
    renameSync(`${cacheFile}.tmp`, cacheFile);
  });
}
const mod = { exports: {} };
fn(mod.exports, createRequire(bundle), mod, bundle, dirname(bundle));
