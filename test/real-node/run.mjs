// Entry of `npm run test:real-node`: Node 24 runs the TypeScript suite by
// stripping types; the e2e suite's resolve hook maps its `./x.js` imports to
// the `./x.ts` sources (so the harness, shared with test/e2e, stays erasable
// TypeScript).
import { registerTsResolution } from '../e2e/load-ts.js';

registerTsResolution();
await import('./main.ts');
