// Jest imports globalSetup/globalTeardown with Node's own module loader, not
// through its transform and moduleNameMapper, so the TypeScript harness's
// `./x.js` imports would not resolve there. Node 24 runs TypeScript by
// stripping types; this resolve hook adds the one thing missing: a `./x.js`
// imported from a .ts file means the sibling `./x.ts`, as in the sources.
// (The harness therefore uses only erasable syntax: no enums, no
// constructor parameter properties.)
import fs from 'node:fs';
import { registerHooks } from 'node:module';

let registered = false;

export function registerTsResolution() {
  if (registered) return;
  registered = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
        const ts = new URL(specifier.replace(/\.js$/, '.ts'), context.parentURL);
        if (fs.existsSync(ts)) return nextResolve(ts.href, context);
      }
      return nextResolve(specifier, context);
    },
  });
}

/** @returns {Promise<{setupRun: () => Promise<void>, teardownRun: () => Promise<void>}>} */
export async function lifecycle() {
  registerTsResolution();
  return import('../harness/lifecycle.ts');
}
