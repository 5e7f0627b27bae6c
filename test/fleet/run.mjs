// Entry of `npm run test:fleet`: Node 24 runs the TypeScript suite by
// stripping types, with the e2e suite's resolve hook (a `./x.js` import from
// a .ts file means `./x.ts`), as test/real-node/run.mjs does.
import { registerTsResolution } from '../e2e/load-ts.js';

registerTsResolution();
await import('./main.ts');
