#!/usr/bin/env node
// The command. It runs dist/bundle/cli.cjs, src/ in one CommonJS file (npm
// run build), which loads the third-party packages from
// dist/bundle/vendor/<pkg>.cjs on first use (scripts/build.mjs says why).
// Each of these files is compiled with the V8 code cache the build made for
// it by running the program (scripts/code-cache.cjs): under the DaemonSet's
// 100m CPU quota, compiling afresh would cost more than the work itself.
// A cache holds the functions a start and a reaction ran, not only the top
// level, which Node's own compile cache (NODE_COMPILE_CACHE) keeps; it is
// only read, so a read-only root filesystem is fine. V8 checks it against
// its own version and flags and ignores it when they differ; the file name
// carries the bundle's hash, so a rebuilt bundle never meets an old cache.
// Without a cache, a file still runs, only slower.
//
// MULTUS_ENTRYPOINT_CODE_CACHE=write (the build only) writes the caches at
// exit and says on stderr whether the ones found were used; =off ignores them.
'use strict';
const { readFileSync, renameSync, writeFileSync, writeSync } = require('node:fs');
const { dirname, join } = require('node:path');
const { compileFunction } = require('node:vm');

const mode = process.env.MULTUS_ENTRYPOINT_CODE_CACHE;
// Compiled as the body of the CommonJS wrapper, as require() compiles a
// module. (A vm.Script made the same way arms V8's memory reducer: two
// full GCs some 10 s after start, a visible share of idle CPU at 100m.)
const params = ['exports', 'require', 'module', '__filename', '__dirname'];
const loaded = new Map();

/** Runs a bundle once, like require(); gives its module. */
function load(file) {
  const known = loaded.get(file);
  if (known) return known;
  // latin1: esbuild writes ASCII only (its default charset), and a one-byte
  // string is made without decoding UTF-8.
  const source = readFileSync(file, 'latin1');
  // The build ends each bundle with `//# bundle-hash=<hex>`.
  const hash = /\/\/# bundle-hash=([0-9a-f]+)\n?$/.exec(source.slice(-100))?.[1];
  const cacheFile = hash ? `${file}.${hash}.v8cache` : undefined;
  let cachedData;
  if (cacheFile && mode !== 'off') {
    try {
      cachedData = readFileSync(cacheFile);
    } catch {
      // No cache (a build without one, or a file the build never ran): compile from source.
    }
  }
  const fn = compileFunction(source, params, { filename: file, cachedData });
  if (mode === 'write' && cacheFile) {
    // fd 2 directly, as the program logs: the lines keep their order.
    writeSync(2, `code cache: ${file.slice(file.lastIndexOf('/bundle/') + 8)}: ${cachedData ? (fn.cachedDataRejected ? 'rejected' : 'used') : 'none'}\n`);
    process.on('exit', () => {
      // Compiling the same text again in this process gets V8's compiled
      // function back, with every inner function this run compiled.
      const again = compileFunction(source, params, { filename: file, produceCachedData: true });
      writeFileSync(`${cacheFile}.tmp`, again.cachedData);
      renameSync(`${cacheFile}.tmp`, cacheFile);
    });
  }
  const mod = { exports: {} };
  loaded.set(file, mod);
  const dir = dirname(file);
  // The bundles require only Node's modules (this file's require gives them,
  // without loading node:module for a createRequire) and, from cli.cjs,
  // ./vendor/<pkg>.cjs.
  const requireHere = (id) => (id.startsWith('./vendor/') ? load(join(dir, id)).exports : require(id));
  fn(mod.exports, requireHere, mod, file, dir);
  return mod;
}

load(join(__dirname, '../dist/bundle/cli.cjs'));
