// node:child_process for the bundle, loaded on first use (npm run build
// aliases it here). commander imports it at load for subcommands, which
// this program has none of, and it pulls in net, dgram and streams: ~5% of
// the start-up CPU. esbuild's ESM interop lists a module's keys when it is
// imported, so the keys are listed here without loading it; every access
// (execa, for --restart-crio) gets the real module.
'use strict';
const KEYS = ['ChildProcess', '_forkChild', 'exec', 'execFile', 'execFileSync', 'execSync', 'fork', 'spawn', 'spawnSync'];
let real;
const load = () => (real ??= process.getBuiltinModule('node:child_process'));
module.exports = new Proxy({}, {
  get: (_, key) => load()[key],
  has: (_, key) => key in load(),
  ownKeys: () => [...KEYS],
  getOwnPropertyDescriptor: (_, key) => (KEYS.includes(key) ? { configurable: true, enumerable: true, get: () => load()[key] } : undefined),
});
