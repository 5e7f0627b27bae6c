// See load-ts.js for why this shim is JavaScript.
import { lifecycle } from './load-ts.js';

export default async function globalTeardown() {
  await (await lifecycle()).teardownRun();
}
