// node:child_process for the bundle, loaded on first use (npm run build
// aliases it here). commander requires it at load for subcommands, which
// this program has none of, and it pulls in net, dgram and streams: ~5% of
// the start-up CPU. execa (--restart-crio) gets the real module the moment
// it touches it.
'use strict';
let real;
const load = () => (real ??= process.getBuiltinModule('node:child_process'));
module.exports = new Proxy({}, {
  get: (_, key) => load()[key],
  has: (_, key) => key in load(),
  ownKeys: () => Reflect.ownKeys(load()),
  getOwnPropertyDescriptor: (_, key) => {
    const d = Reflect.getOwnPropertyDescriptor(load(), key);
    return d && { ...d, configurable: true };
  },
});
