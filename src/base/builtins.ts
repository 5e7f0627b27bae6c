// Node's network modules, loaded when first needed and through the CommonJS
// loader. `import ... from 'node:http'` (static or `import()`) builds the
// module's ESM facade, which reads every export and so loads undici, tls,
// http2 and more: ~70 ms of CPU at start under the DaemonSet's 100m (Node
// issues #57649, #59686). process.getBuiltinModule() returns the module
// itself, as require() would. Use these (or `import type`) for node:http and
// node:https; new modules of the same weight belong here too.
import type * as Http from 'node:http';
import type * as Https from 'node:https';

export function nodeHttp(): typeof Http {
  return process.getBuiltinModule('node:http');
}

export function nodeHttps(): typeof Https {
  return process.getBuiltinModule('node:https');
}
